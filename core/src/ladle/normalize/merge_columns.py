"""What a `merge` table family carries beyond its data: `_ladle_root_id` in every descendant
table (so the loader replaces a root row together with all its descendants), the scd2 columns
of the root, and key hints that are those of the current load."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ladle.schema.schema import (
    ROOT_ID,
    ROW_HASH,
    VALID_FROM,
    VALID_TO,
    Column,
    MergeStrategy,
    Table,
)

# Nullable: a table that later leaves `merge` gets rows without them.
MERGE_SYSTEM_COLUMNS = {
    ROOT_ID: Column(ROOT_ID, "text"),
    ROW_HASH: Column(ROW_HASH, "text"),
    VALID_FROM: Column(VALID_FROM, "timestamp"),
    VALID_TO: Column(VALID_TO, "timestamp"),
}
SCD2_COLUMNS = (ROW_HASH, VALID_FROM, VALID_TO)
# Hints that tell the loader which rows a merge replaces.
MERGE_HINTS = frozenset({"primary_key", "merge_key", "hard_delete"})


def merge_strategy_of(hints: dict[str, Any]) -> MergeStrategy | None:
    """The merge strategy of a root table's hints; None when its disposition is not merge."""
    if hints.get("write_disposition") != "merge":
        return None
    strategy: MergeStrategy = hints.get("merge_strategy") or "delete-insert"
    return strategy


def merge_root_columns(
    table: Table, declared: list[Column], strategy: MergeStrategy
) -> list[Column]:
    """Columns to add to (or replace in) a merge root table: the declared ones, the other
    columns without key hints of earlier loads (a load replaces rows by its own keys, so a key
    dropped from the resource stops counting), and for scd2 the validity and hash columns."""
    columns = list(declared)
    names = {column.name for column in declared}
    for column in table.columns.values():
        if column.name not in names and (column.hints & MERGE_HINTS or column.dedup_sort):
            columns.append(replace(column, hints=column.hints - MERGE_HINTS, dedup_sort=None))
    if strategy == "scd2":
        columns.extend(MERGE_SYSTEM_COLUMNS[n] for n in SCD2_COLUMNS if n not in table.columns)
    return columns


def with_root_id(table: Table) -> Table:
    """A descendant table of a merge root, with its `_ladle_root_id` column."""
    if ROOT_ID in table.columns:
        return table
    return table.with_columns([MERGE_SYSTEM_COLUMNS[ROOT_ID]])
