"""What a materialization of a ladle asset carries: rows, column schema, table name, load id.

Built from a unit's `LoadInfo` and the schema the unit's run left (plain data): Dagster's
standard keys (`dagster/row_count`, `dagster/column_schema`, `dagster/table_name`) and ladle's
own (`ladle/...`). Destination credentials are never part of it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dagster import MetadataValue, TableColumn, TableColumnConstraints, TableSchema

import ladle
from ladle.schema import Schema, Table
from ladle_dagster.asset_specs import LadleAsset


def resource_tables(schema: Schema, resource: str) -> list[str]:
    """The tables `resource` writes: its root table(s), each followed by its child tables."""
    roots = [t for t in schema.data_tables() if t.parent is None and t.resource == resource]
    return [table.name for root in roots for table in schema.family(root.name)]


def asset_tables(asset: LadleAsset, schema: Schema) -> list[str]:
    """The destination tables an asset stands for: its table, or all of its resource's."""
    return [asset.table] if asset.table is not None else resource_tables(schema, asset.resource)


def materialization_metadata(
    asset: LadleAsset,
    info: ladle.LoadInfo,
    schema: Schema,
    *,
    root_table: str | None,
    unclaimed: Iterable[str] = (),
) -> dict[str, Any]:
    """The metadata of `asset` after a run that returned `info` (see the module doc).

    `root_table` is the table the asset is named after (None when a function names tables);
    `unclaimed` are tables the run loaded for this asset's resource that have no asset.
    """
    tables = asset_tables(asset, schema)
    extra = [t for t in unclaimed if t not in tables]
    main = asset.table or root_table or (tables[0] if tables else None)
    metadata: dict[str, Any] = {
        "dagster/row_count": MetadataValue.int(info.row_counts.get(main, 0) if main else 0),
        "ladle/rows_by_table": MetadataValue.json(
            {t: info.row_counts.get(t, 0) for t in [*tables, *extra]}
        ),
        "ladle/load_id": MetadataValue.text(info.load_id or ""),
        "ladle/destination": MetadataValue.text(info.destination),
        "ladle/dataset": MetadataValue.text(info.dataset_name),
        "ladle/schema_changes": MetadataValue.json(_changes_of(info.schema_changes, tables)),
        # The whole LoadInfo of the unit that loaded the asset (all its tables), as JSON.
        "ladle/load_info": MetadataValue.json(info.asdict()),
    }
    if main is not None:
        metadata["dagster/table_name"] = MetadataValue.text(f"{info.dataset_name}.{main}")
        if main in schema.tables:
            metadata["dagster/column_schema"] = table_schema(schema.tables[main])
    for child in tables:
        if child != main and child in schema.tables:
            metadata[f"ladle/column_schema/{child}"] = table_schema(schema.tables[child])
    if extra:
        metadata["ladle/tables_without_asset"] = MetadataValue.json(extra)
    return metadata


def table_schema(table: Table) -> TableSchema:
    """Dagster's column schema of a ladle table: names, ladle types, nullability and hints."""
    return TableSchema(
        columns=[
            TableColumn(
                name=column.name,
                type=column.type_label,
                constraints=TableColumnConstraints(
                    nullable=column.nullable,
                    unique="unique" in column.hints,
                    other=sorted(column.hints - {"unique"}),
                ),
            )
            for column in table.columns.values()
        ]
    )


def _changes_of(changes: Iterable[str], tables: list[str]) -> list[str]:
    """The schema changes that touch these tables ("new table t", "new column t.c (type)")."""
    return [change for change in changes if _table_of(change) in tables]


def _table_of(change: str) -> str | None:
    words = change.split(" ")
    if len(words) < 3 or words[0] != "new":
        return None
    return words[2].split(".", 1)[0] if words[1] == "column" else words[2]


__all__ = ["asset_tables", "materialization_metadata", "resource_tables", "table_schema"]
