"""The commit-marker protocol: `_ladle_loads/<load_id>.json` commits a load and lists its files.

A load is visible exactly when its marker exists; `visible_files` says, per table, which
committed files readers see once `replace` loads have started tables over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from ladle.errors import DestinationError
from ladle.state.scopes import ScopeState, StateChange

MARKER_FORMAT = 1


@dataclass(frozen=True)
class TableFiles:
    """What one load wrote for one table: files relative to the dataset folder, rows, columns."""

    files: list[str]
    rows: int
    columns: list[str]


@dataclass(frozen=True)
class LoadMarker:
    """The content of `_ladle_loads/<load_id>.json`: a committed load and its files."""

    load_id: str
    schema_name: str
    schema_version: int
    schema_version_hash: str
    schema_file: str
    inserted_at: str
    # Commit order: one more than the highest sequence committed before (a logical clock, so a
    # wall clock that steps back cannot reorder generations).
    sequence: int
    replaced_tables: list[str] = field(default_factory=list)
    tables: dict[str, TableFiles] = field(default_factory=dict)
    pipeline_name: str = ""
    # State scopes this load committed: {"scope", "base_version", "value"} (see ladle.state).
    state_changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def order(self) -> tuple[int, str, str]:
        return (self.sequence, self.inserted_at, self.load_id)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "format": MARKER_FORMAT,
                "load_id": self.load_id,
                "schema_name": self.schema_name,
                "schema_version": self.schema_version,
                "schema_version_hash": self.schema_version_hash,
                "schema_file": self.schema_file,
                "inserted_at": self.inserted_at,
                "sequence": self.sequence,
                "replaced_tables": self.replaced_tables,
                "pipeline_name": self.pipeline_name,
                "state_changes": self.state_changes,
                "tables": {
                    name: {"files": t.files, "rows": t.rows, "columns": t.columns}
                    for name, t in self.tables.items()
                },
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def from_json(cls, body: bytes) -> LoadMarker:
        data = orjson.loads(body)
        return cls(
            load_id=data["load_id"],
            schema_name=data["schema_name"],
            schema_version=data["schema_version"],
            schema_version_hash=data["schema_version_hash"],
            schema_file=data["schema_file"],
            inserted_at=data["inserted_at"],
            sequence=data["sequence"],
            replaced_tables=list(data.get("replaced_tables", [])),
            pipeline_name=data.get("pipeline_name", ""),
            state_changes=list(data.get("state_changes", [])),
            tables={
                name: TableFiles(list(t["files"]), t["rows"], list(t["columns"]))
                for name, t in data.get("tables", {}).items()
            },
        )


def marker_path(loads_path: Path, load_id: str) -> Path:
    """Where the marker of `load_id` is (or will be) written."""
    return loads_path / f"{load_id}.json"


def read_markers(loads_path: Path) -> list[LoadMarker]:
    """The committed loads in a `_ladle_loads` folder, in commit order."""
    if not loads_path.is_dir():
        return []
    markers = []
    for path in loads_path.glob("*.json"):
        if path.name.startswith("."):
            continue  # a marker being written
        try:
            markers.append(LoadMarker.from_json(path.read_bytes()))
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise DestinationError(
                f"cannot read the load marker {path}: {type(exc).__name__}: {exc}",
                destination="filesystem",
                path=str(path),
            ) from exc
    return sorted(markers, key=lambda m: m.order)


def visible_files(markers: Iterable[LoadMarker]) -> dict[str, list[str]]:
    """Per table, the files readers see: committed loads in commit order, each `replace`
    starting the table over."""
    files: dict[str, list[str]] = {}
    for marker in sorted(markers, key=lambda m: m.order):
        for table in marker.replaced_tables:
            files[table] = []
        for table, written in marker.tables.items():
            files.setdefault(table, []).extend(written.files)
    return files


def newest_state(markers: Iterable[LoadMarker], pipeline_name: str) -> dict[str, ScopeState]:
    """The newest committed version of each state scope of a pipeline."""
    newest: dict[str, ScopeState] = {}
    for marker in markers:
        if marker.pipeline_name != pipeline_name:
            continue
        for change in map(StateChange.from_dict, marker.state_changes):
            known = newest.get(change.scope)
            if known is None or change.version > known.version:
                newest[change.scope] = ScopeState(change.version, change.value, marker.load_id)
    return newest
