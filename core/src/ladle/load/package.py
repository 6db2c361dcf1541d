"""Load packages: one folder per load in the pipeline's working directory.

    packages/<load_id>/manifest.json   what is in the package and how far it got
    packages/<load_id>/extracted/      items as resources yielded them (pickle frames, Arrow IPC)
    packages/<load_id>/normalized/     typed Arrow IPC files, one or more per table
    packages/<load_id>/schema.json     the schema the normalized files follow

A package is built in `.<load_id>.partial/` and renamed into place when extraction finished, so a
crash mid-extract leaves nothing that a later run would load. The manifest is replaced atomically
at each stage; a package whose manifest says `normalized` is ready to load.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from ladle.schema.naming import shorten
from ladle.schema.schema import Schema

PackageStage = Literal["extracted", "normalized"]
MANIFEST = "manifest.json"
SCHEMA_FILE = "schema.json"
PARTIAL_SUFFIX = ".partial"


def file_stem(table: str) -> str:
    """A file name stem for a table: table names can outgrow what file systems allow."""
    return shorten(table, 80)


def new_load_id() -> str:
    """Sortable by creation time, unique across workers."""
    return f"{time.time_ns() // 1000}{secrets.token_hex(3)}"


def write_atomic(path: Path, body: bytes) -> None:
    """Write to a temp file, fsync, then rename over the target: readers see old or new."""
    temp = path.with_name(f".{path.name}.tmp")
    with temp.open("wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


@dataclass(frozen=True)
class PackageFile:
    """One data file of a package: its path inside the package, table, format and row count."""

    path: str
    table: str
    format: Literal["records", "arrow"]
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "table": self.table, "format": self.format, "rows": self.rows}


@dataclass
class Manifest:
    load_id: str
    schema_name: str
    stage: PackageStage
    # Per table: the resource hints the normalizer applies (JSON-able dicts).
    tables: dict[str, dict[str, Any]]
    extracted: list[PackageFile]
    normalized: list[PackageFile] = field(default_factory=list)
    # Tables whose data this load replaces (root tables of `replace` resources), with families.
    replace_tables: list[str] = field(default_factory=list)
    schema_changes: list[str] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    pipeline_name: str = ""
    # State scopes this load commits: {"scope", "base_version", "value"} (see ladle.state).
    state_changes: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "load_id": self.load_id,
                "schema_name": self.schema_name,
                "stage": self.stage,
                "tables": self.tables,
                "extracted": [f.to_dict() for f in self.extracted],
                "normalized": [f.to_dict() for f in self.normalized],
                "replace_tables": self.replace_tables,
                "schema_changes": self.schema_changes,
                "created_at": self.created_at,
                "pipeline_name": self.pipeline_name,
                "state_changes": self.state_changes,
            },
            option=orjson.OPT_INDENT_2,
        )

    @classmethod
    def from_json(cls, body: bytes) -> Manifest:
        data = orjson.loads(body)
        return cls(
            load_id=data["load_id"],
            schema_name=data["schema_name"],
            stage=data["stage"],
            tables=data["tables"],
            extracted=[PackageFile(**f) for f in data["extracted"]],
            normalized=[PackageFile(**f) for f in data["normalized"]],
            replace_tables=data.get("replace_tables", []),
            schema_changes=data.get("schema_changes", []),
            created_at=data.get("created_at", 0.0),
            pipeline_name=data.get("pipeline_name", ""),
            state_changes=data.get("state_changes", []),
        )

    def row_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in self.normalized:
            counts[item.table] = counts.get(item.table, 0) + item.rows
        return counts


class LoadPackage:
    """A package folder with its manifest."""

    def __init__(self, root: Path, manifest: Manifest) -> None:
        self.root = root
        self.manifest = manifest

    @property
    def load_id(self) -> str:
        return self.manifest.load_id

    def file(self, relative: str) -> Path:
        return self.root / relative

    def save(self) -> None:
        write_atomic(self.root / MANIFEST, self.manifest.to_json())

    def schema(self) -> Schema:
        return Schema.from_json((self.root / SCHEMA_FILE).read_bytes())

    def delete(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class PackageStore:
    """The `packages/` folder of a pipeline's working directory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def start(self, load_id: str) -> Path:
        """A fresh partial folder to extract into."""
        partial = self.folder / f".{load_id}{PARTIAL_SUFFIX}"
        shutil.rmtree(partial, ignore_errors=True)
        (partial / "extracted").mkdir(parents=True)
        return partial

    def commit(self, partial: Path, manifest: Manifest) -> LoadPackage:
        """Make a package visible: manifest first, then the atomic folder rename."""
        write_atomic(partial / MANIFEST, manifest.to_json())
        final = self.folder / manifest.load_id
        os.replace(partial, final)
        return LoadPackage(final, manifest)

    def discard_partials(self) -> None:
        if not self.folder.is_dir():
            return
        for entry in self.folder.iterdir():
            if entry.name.endswith(PARTIAL_SUFFIX):
                shutil.rmtree(entry, ignore_errors=True)

    def pending(self) -> list[LoadPackage]:
        """Packages not yet loaded, oldest first."""
        if not self.folder.is_dir():
            return []
        packages = []
        for entry in sorted(self.folder.iterdir()):
            manifest_path = entry / MANIFEST
            if entry.name.startswith(".") or not manifest_path.is_file():
                continue
            packages.append(LoadPackage(entry, Manifest.from_json(manifest_path.read_bytes())))
        return packages
