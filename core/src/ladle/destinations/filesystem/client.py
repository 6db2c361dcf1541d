"""FilesystemClient: loads packages into one dataset folder and reads committed loads back."""

from __future__ import annotations

import contextlib
import datetime
import glob
from collections.abc import Iterable
from pathlib import Path

import duckdb as duckdb_lib
import pyarrow as pa

from ladle import crash_points
from ladle.destinations.base import DestinationClient
from ladle.destinations.filesystem.markers import (
    LoadMarker,
    TableFiles,
    marker_path,
    newest_state,
    read_markers,
    visible_files,
)
from ladle.destinations.filesystem.parquet_writer import (
    RotatingWriter,
    WriteSettings,
    fsync_folder,
)
from ladle.destinations.filesystem.views import create_views, loads_table, schemas_table
from ladle.destinations.sql import LOADS_TABLE, SCHEMAS_TABLE
from ladle.duckdb_results import arrow_result
from ladle.errors import DestinationError
from ladle.load.package import LoadPackage, PackageFile, write_atomic
from ladle.schema.naming import shorten
from ladle.schema.schema import Schema
from ladle.state.conflict import state_conflict
from ladle.state.scopes import ScopeState, StateChange


class FilesystemClient(DestinationClient):
    """One dataset folder of a filesystem destination."""

    def __init__(self, bucket_path: Path, dataset_name: str, settings: WriteSettings) -> None:
        _check_name(dataset_name, "dataset")
        self.bucket_path = bucket_path
        self.dataset_name = dataset_name
        self.settings = settings
        self.dataset_path = bucket_path / dataset_name
        self.loads_path = self.dataset_path / LOADS_TABLE
        self.schemas_path = self.dataset_path / SCHEMAS_TABLE

    # -- loading ----------------------------------------------------------------------------------
    def load_package(self, package: LoadPackage, schema: Schema) -> Schema | None:
        marker_file = marker_path(self.loads_path, package.load_id)
        if marker_file.exists():
            return None
        by_table = _files_by_table(package.manifest.normalized)
        replaced = list(dict.fromkeys(package.manifest.replace_tables))
        for table in [*by_table, *replaced]:
            _check_name(table, "table")
        earlier = self.markers()
        # Without transactions this check and the marker write below are not atomic: two
        # writers racing on one scope are caught only when their commits do not overlap.
        self._check_state(package, earlier)
        newest = self._newest_schemas(earlier).get(schema.name)
        stored = newest.merged_with(schema) if newest is not None else schema
        self.loads_path.mkdir(parents=True, exist_ok=True)
        # Files a crashed attempt of this very load left behind are not committed: drop them.
        self._discard_uncommitted(package.load_id, [*by_table, *replaced])
        written: list[Path] = []
        try:
            tables = {
                table: self._write_table(table, files, package, written)
                for table, files in by_table.items()
            }
            marker = LoadMarker(
                load_id=package.load_id,
                schema_name=stored.name,
                schema_version=stored.version,
                schema_version_hash=stored.version_hash,
                schema_file=self._store_schema(stored),
                inserted_at=datetime.datetime.now(datetime.timezone.utc).isoformat(
                    timespec="microseconds"
                ),
                sequence=max((m.sequence for m in earlier), default=0) + 1,
                replaced_tables=replaced,
                tables=tables,
                pipeline_name=package.manifest.pipeline_name,
                state_changes=package.manifest.state_changes,
            )
            crash_points.reached("load")
            # The commit: readers see all of the load from here on, or nothing of it before.
            write_atomic(marker_file, marker.to_json())
        except BaseException:
            for path in written:
                with contextlib.suppress(OSError):
                    path.unlink()
            raise
        fsync_folder(self.loads_path)
        self._drop_generations(earlier, replaced)
        return stored

    def _check_state(self, package: LoadPackage, earlier: list[LoadMarker]) -> None:
        committed = newest_state(earlier, package.manifest.pipeline_name)
        for change in map(StateChange.from_dict, package.manifest.state_changes):
            known = committed.get(change.scope)
            if not change.applies_to(known):
                current = known.version if known is not None else 0
                raise state_conflict(change, current, package.load_id)

    def _write_table(
        self, table: str, files: list[PackageFile], package: LoadPackage, written: list[Path]
    ) -> TableFiles:
        folder = self.dataset_path / table
        folder.mkdir(parents=True, exist_ok=True)
        writer = RotatingWriter(folder, package.load_id, self.settings, written)
        try:
            for file in files:
                # A plain file, not a memory map: buffered batches must outlive the file handle.
                with pa.OSFile(str(package.file(file.path))) as source:
                    reader = pa.ipc.open_file(source)
                    for index in range(reader.num_record_batches):
                        writer.write(reader.get_batch(index))
            writer.close()
        except BaseException:
            writer.abort()
            raise
        fsync_folder(folder)
        return TableFiles(
            files=[f"{table}/{path.name}" for path in writer.paths],
            rows=writer.rows,
            columns=writer.columns,
        )

    def _discard_uncommitted(self, load_id: str, tables: Iterable[str]) -> None:
        for table in dict.fromkeys(tables):
            folder = self.dataset_path / table
            if not folder.is_dir():
                continue
            for path in folder.glob(f"{glob.escape(load_id)}.*.parquet"):
                path.unlink(missing_ok=True)

    def _store_schema(self, schema: Schema) -> str:
        """Write the schema file (once per version and hash); returns its file name."""
        name = f"{shorten(schema.name, 120)}.{schema.version}.{schema.version_hash}.json"
        path = self.schemas_path / name
        if not path.exists():
            self.schemas_path.mkdir(parents=True, exist_ok=True)
            write_atomic(path, schema.to_json())
        return name

    def _drop_generations(self, earlier: list[LoadMarker], replaced: list[str]) -> None:
        """Best effort: delete the files of loads before this one in tables it replaced."""
        for marker in earlier:
            for table in replaced:
                written = marker.tables.get(table)
                for relative in written.files if written else ():
                    with contextlib.suppress(OSError):
                        (self.dataset_path / relative).unlink(missing_ok=True)

    # -- reading ----------------------------------------------------------------------------------
    def markers(self) -> list[LoadMarker]:
        """Committed loads, in commit order."""
        return read_markers(self.loads_path)

    def is_loaded(self, load_id: str) -> bool:
        return marker_path(self.loads_path, load_id).exists()

    def committed_files(self) -> dict[str, list[Path]]:
        """Per table, the Parquet files of committed loads a reader must read (and no others)."""
        return {
            table: [self.dataset_path / relative for relative in files]
            for table, files in visible_files(self.markers()).items()
        }

    def stored_schema(self, schema_name: str) -> Schema | None:
        return self._newest_schemas(self.markers()).get(schema_name)

    def stored_state(self, pipeline_name: str) -> dict[str, ScopeState]:
        return newest_state(self.markers(), pipeline_name)

    def _newest_schemas(self, markers: list[LoadMarker]) -> dict[str, Schema]:
        newest: dict[str, LoadMarker] = {}
        for marker in markers:  # in commit order: ties on version go to the later commit
            best = newest.get(marker.schema_name)
            if best is None or marker.schema_version >= best.schema_version:
                newest[marker.schema_name] = marker
        return {name: self._read_schema(m.schema_file) for name, m in newest.items()}

    def _read_schema(self, file_name: str) -> Schema:
        path = self.schemas_path / file_name
        try:
            return Schema.from_json(path.read_bytes())
        except OSError as exc:
            raise DestinationError(
                f"cannot read the stored schema {path}: {exc}", destination="filesystem"
            ) from exc

    def query(self, sql: str) -> pa.Table:
        markers = self.markers()
        connection = duckdb_lib.connect(":memory:")
        try:
            schemas = self._newest_schemas(markers).values()
            create_views(connection, self.dataset_path, markers, schemas)
            connection.register(LOADS_TABLE, loads_table(markers))
            if SCHEMAS_TABLE in sql.lower():
                connection.register(SCHEMAS_TABLE, schemas_table(markers, self._read_schema))
            relation = connection.sql(sql)
            if relation is None:
                return pa.table({})
            return arrow_result(relation)
        finally:
            connection.close()


def _files_by_table(files: list[PackageFile]) -> dict[str, list[PackageFile]]:
    by_table: dict[str, list[PackageFile]] = {}
    for file in files:
        by_table.setdefault(file.table, []).append(file)
    return by_table


def _check_name(name: str, kind: str) -> None:
    """Dataset and table names become folder names: refuse any that would leave their folder."""
    bad = (
        not name
        or name in (".", "..", LOADS_TABLE, SCHEMAS_TABLE)
        or name.startswith(".")
        or any(c in name for c in "/\\\x00")
    )
    if bad:
        raise DestinationError(
            f"{kind} name {name!r} cannot be a folder of the filesystem destination",
            destination="filesystem",
        )
