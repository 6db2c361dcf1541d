"""The `write_disposition` hint: a name ("append", "replace", "merge"), or dlt's dict form that
also picks a merge strategy: `{"disposition": "merge", "strategy": "scd2"}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from ladle.errors import ConfigError
from ladle.schema.schema import (
    MERGE_STRATEGIES,
    WRITE_DISPOSITIONS,
    MergeStrategy,
    WriteDisposition,
)

WriteDispositionLike = WriteDisposition | Mapping[str, Any]
_DICT_KEYS = ("disposition", "strategy")


def parse_write_disposition(
    value: WriteDispositionLike, owner: str
) -> tuple[WriteDisposition, MergeStrategy | None]:
    """(disposition, merge strategy); the strategy is None unless the disposition is `merge`,
    where it defaults to "delete-insert". ConfigError names the resource and the key."""
    strategy: Any = None
    disposition: Any = value
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(_DICT_KEYS))
        if unknown or "disposition" not in value:
            problem = f"unknown keys {unknown}" if unknown else "no 'disposition' key"
            raise _error(
                owner,
                f"write_disposition={dict(value)!r} has {problem}; it takes {list(_DICT_KEYS)}",
                "write_disposition",
            )
        disposition, strategy = value["disposition"], value.get("strategy")
    if disposition not in WRITE_DISPOSITIONS:
        raise _error(
            owner,
            f"write_disposition={disposition!r} is not one of {list(WRITE_DISPOSITIONS)}",
            "write_disposition",
        )
    if strategy is None:
        return disposition, "delete-insert" if disposition == "merge" else None
    if disposition != "merge":
        raise _error(
            owner,
            f"write_disposition strategy {strategy!r} needs disposition 'merge', not "
            f"{disposition!r}",
            "write_disposition.strategy",
        )
    if strategy not in MERGE_STRATEGIES:
        raise _error(
            owner,
            f"write_disposition strategy {strategy!r} is not one of {list(MERGE_STRATEGIES)}",
            "write_disposition.strategy",
        )
    return disposition, cast(MergeStrategy, strategy)


def _error(owner: str, problem: str, key: str) -> ConfigError:
    return ConfigError(f"resource '{owner}': {problem}", key=key, resource=owner)


def check_merge_hints(hints: Mapping[str, Any]) -> None:
    """What a merge needs from a table's hints (resource hints as the extractor records them:
    `primary_key` and `merge_key` lists, `columns` dicts); ConfigError naming what is wrong."""
    if hints.get("write_disposition") != "merge":
        return
    owner = hints["resource"]
    columns: Mapping[str, Mapping[str, Any]] = hints.get("columns") or {}
    flagged = {hint: [n for n, spec in columns.items() if spec.get(hint)] for hint in _FLAGS}
    for hint in ("hard_delete", "dedup_sort"):
        if hints.get("merge_strategy") == "scd2" and flagged[hint]:
            raise _error(
                owner,
                f"column '{flagged[hint][0]}': {hint} does not apply to the scd2 merge strategy "
                "(each load is a full snapshot)",
                f"columns.{flagged[hint][0]}.{hint}",
            )
        if len(flagged[hint]) > 1:
            raise _error(owner, f"columns {flagged[hint]}: only one may be {hint}", "columns")
    if hints.get("merge_strategy") == "scd2":
        return
    primary_key = [*hints.get("primary_key", ()), *flagged["primary_key"]]
    if not primary_key and not (hints.get("merge_key") or flagged["merge_key"]):
        raise _error(
            owner,
            "write_disposition='merge' needs a primary_key or a merge_key: they say which rows "
            "a load replaces",
            "primary_key",
        )
    for name in primary_key:
        if columns.get(name, {}).get("nullable") is True:
            raise _error(
                owner,
                f"column '{name}': a primary key of a merge table may not be nullable",
                f"columns.{name}.nullable",
            )
    if flagged["dedup_sort"] and not primary_key:
        name = flagged["dedup_sort"][0]
        raise _error(
            owner,
            f"column '{name}': dedup_sort picks one row per primary key, and there is no "
            "primary_key",
            f"columns.{name}.dedup_sort",
        )


_FLAGS = ("primary_key", "merge_key", "hard_delete", "dedup_sort")
