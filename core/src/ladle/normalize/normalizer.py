"""Normalize a load package: extracted items -> typed Arrow IPC files per table + a new schema."""

from __future__ import annotations

import pickle
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ladle import crash_points
from ladle.arrow_arrays import int64_range, string_scalar
from ladle.errors import ContractViolation, UnsupportedValue
from ladle.load.package import SCHEMA_FILE, Manifest, PackageFile, file_stem, write_atomic
from ladle.normalize.arrow_items import flatten_structs
from ladle.normalize.columnar import ColumnarFlattener, json_line
from ladle.normalize.flatten import VALUE_COLUMN, Flattener, TableNames
from ladle.normalize.merge_columns import (
    MERGE_HINTS,
    merge_root_columns,
    merge_strategy_of,
    with_root_id,
)
from ladle.normalize.row_hash import arrow_row_hashes
from ladle.normalize.table_builder import (
    EVOLVE,
    ColumnFlags,
    TableBatch,
    TableBuilder,
    new_table,
)
from ladle.pipeline.progress import Progress
from ladle.schema.contract import SchemaContract
from ladle.schema.schema import PARENT_ID, ROOT_ID, ROW_ID, Column, Schema, Table

RECORDS_PER_BATCH = 10_000
COLUMNAR_BATCH_BYTES = 64 << 20  # big records: a batch of JSON lines holds at most this much
ARROW_ROWS_PER_BATCH = 50_000


@dataclass(frozen=True)
class NormalizeSettings:
    max_identifier_length: int | None
    records_per_batch: int = RECORDS_PER_BATCH


class IpcWriters:
    """One Arrow IPC file per table, rotated when a table's columns change."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: list[PackageFile] = []
        self._open: dict[str, tuple[pa.ipc.RecordBatchFileWriter, pa.Schema, int, str]] = {}
        self._counter = 0

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        current = self._open.get(table)
        if current is not None and not current[1].equals(batch.schema):
            self._close(table)
            current = None
        if current is None:
            self._counter += 1
            relative = f"normalized/{file_stem(table)}.{self._counter}.arrow"
            writer = pa.ipc.new_file(self.folder / Path(relative).name, batch.schema)
            current = (writer, batch.schema, 0, relative)
        writer, schema, rows, relative = current
        writer.write_batch(batch)
        self._open[table] = (writer, schema, rows + batch.num_rows, relative)

    def _close(self, table: str) -> None:
        writer, _, rows, relative = self._open.pop(table)
        writer.close()
        self.files.append(PackageFile(relative, table, "arrow", rows))

    def close(self) -> list[PackageFile]:
        for table in list(self._open):
            self._close(table)
        return self.files


class PackageNormalizer:
    """Normalizes the data of one package against a starting schema.

    Data comes either from the package's extracted files (`normalize_extracted`) or straight
    from the extractor while resources run (`records` / `arrow`), which spares `pipeline.run`
    writing every item to disk and reading it back.
    """

    def __init__(
        self,
        package_root: Path,
        load_id: str,
        schema: Schema,
        settings: NormalizeSettings,
        progress: Progress,
    ) -> None:
        self.package_root = package_root
        self.load_id = load_id
        self.start_schema = schema
        self.settings = settings
        self.progress = progress
        self.tables: dict[str, Table] = dict(schema.tables)
        folder = package_root / "normalized"
        shutil.rmtree(folder, ignore_errors=True)  # a crashed normalize may have left files
        folder.mkdir(parents=True)
        self.writers = IpcWriters(folder)
        self._runs: dict[str, _RootTableRun] = {}

    def root_table(self, table_name: str, hints: dict[str, Any]) -> _RootTableRun:
        run = self._runs.get(table_name)
        if run is None:
            run = self._runs[table_name] = _RootTableRun(self, table_name, hints)
        return run

    def normalize_extracted(self, manifest: Manifest) -> None:
        for file in manifest.extracted:
            run = self.root_table(file.table, manifest.tables[file.table])
            path = self.package_root / file.path
            if file.format == "records":
                for records in _record_batches(path):
                    run.add_records(records)
            else:
                run.add_arrow_file(path)

    def finish(self, manifest: Manifest) -> Schema:
        """Flush every table, write the schema and mark the manifest normalized."""
        for run in self._runs.values():
            run.finish()
        manifest.normalized = self.writers.close()
        crash_points.reached("normalize")
        schema = self.start_schema.with_tables(self.tables.values())
        manifest.schema_changes = schema.changes_since(self.start_schema)
        manifest.replace_tables = [
            t.name for root in _replaced_roots(manifest.tables) for t in schema.family(root)
        ]
        write_atomic(self.package_root / SCHEMA_FILE, schema.to_json())
        manifest.stage = "normalized"
        return schema


def _has_root_ids(schema: Schema, root: str) -> bool:
    return any(ROOT_ID in table.columns for table in schema.family(root)[1:])


def _replaced_roots(tables: dict[str, dict[str, Any]]) -> list[str]:
    return [name for name, hints in tables.items() if hints.get("write_disposition") == "replace"]


class _RootTableRun:
    """Normalizes the files of one root table and the child tables its records unnest into."""

    def __init__(self, owner: PackageNormalizer, root: str, hints: dict[str, Any]) -> None:
        self.owner = owner
        self.root = root
        self.hints = hints
        self.contract = SchemaContract.parse(hints.get("schema_contract"), owner=f"table {root}")
        self.max_length = owner.settings.max_identifier_length
        self.merge_strategy = merge_strategy_of(hints)
        self.flattener = Flattener(
            root,
            owner.tables,
            hints.get("max_table_nesting"),
            self.max_length,
            # A family that was merged once keeps root ids even while it appends: the next
            # merge finds every child row of the rows it replaces.
            root_ids=self.merge_strategy is not None or _has_root_ids(owner.start_schema, root),
            row_hashes=self.merge_strategy == "scd2",
        )
        self.builders: dict[str, TableBuilder] = {}
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self._row_ids = _row_id_arrays()
        # Records as JSON lines, for the columnar path. A contract decides row by row (it may
        # drop rows), and scd2 hashes each source record: those take the row path only.
        self.lines: list[bytes] = []
        self.lines_size = 0
        self._reader: ThreadPoolExecutor | None = None
        self._reading: tuple[Future[pa.Table | None], list[bytes]] | None = None
        self.columnar: ColumnarFlattener | None = None
        if self.contract in (None, EVOLVE) and self.merge_strategy != "scd2":
            self.columnar = ColumnarFlattener(self.flattener, self._columns_of, self._row_ids)
        self._prepare_root()

    def _prepare_root(self) -> None:
        tables = self.owner.tables
        table = tables.get(self.root) or new_table(
            self.root,
            parent=None,
            resource=self.hints.get("resource"),
            hints=self.hints,
            contract=self.contract,
        )
        table = replace(
            table,
            write_disposition=self.hints.get("write_disposition", table.write_disposition),
            schema_contract=self.contract,
            merge_strategy=self.merge_strategy,
        )
        names = self.flattener.names_of(self.root)
        columns, self.column_flags = _hinted_columns(table, self.hints, names)
        if self.merge_strategy is not None:
            columns = merge_root_columns(table, columns, self.merge_strategy)
            for child in self.owner.start_schema.family(self.root)[1:]:
                tables[child.name] = with_root_id(tables[child.name])
        tables[self.root] = table.with_columns(columns)

    def add_records(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.add_record(record)

    def add_record(self, record: dict[str, Any]) -> None:
        """Take the record in at once (a generator may reuse and change the dict it yields):
        as a JSON line for the columnar path, or flattened for the row path. A batch goes one
        way as a whole, so that its columns are typed from all of its values either way."""
        batch_size = self.owner.settings.records_per_batch
        if self.columnar is not None and not self.rows:
            line = json_line(record)
            if line is not None:
                self.lines.append(line)
                self.lines_size += len(line)
                if len(self.lines) >= batch_size or self.lines_size >= COLUMNAR_BATCH_BYTES:
                    self._flush_lines()
                return
            # A record that is not plain JSON: this batch goes row by row.
            self._take_read()
            lines, self.lines, self.lines_size = self.lines, [], 0
            self._to_rows(lines)
        self.flattener.flatten((record,), self.rows)
        if len(self.rows[self.root]) >= batch_size:
            self._flush()

    def _to_rows(self, lines: list[bytes]) -> None:
        self.flattener.flatten(map(orjson.loads, lines), self.rows)

    def _flush_lines(self) -> None:
        """Hand the batch to the reader thread: pyarrow parses it on the other core, without
        the GIL, while the resource goes on. The batch before it is taken in first."""
        assert self.columnar is not None
        self._take_read()
        lines, self.lines, self.lines_size = self.lines, [], 0
        if self._reader is None:
            self._reader = ThreadPoolExecutor(1, thread_name_prefix="ladle-json")
        self._reading = (self._reader.submit(self.columnar.read, lines), lines)

    def _take_read(self) -> None:
        """Type and write the batch the reader thread parsed (batches keep their order)."""
        if self._reading is None:
            return
        assert self.columnar is not None
        (future, lines), self._reading = self._reading, None
        table = future.result()
        tables = None if table is None else self.columnar.columns(table)
        if tables is None:  # the batch needs the row path's value-by-value rules
            self._to_rows(lines)
            self._flush()
            return
        for part in tables:
            builder = self._builder(part.table)
            if builder is not None:
                self._emit(builder.build_columns(part.arrays, part.size))

    def _columns_of(self, table: str) -> Mapping[str, Column]:
        builder = self.builders.get(table)
        if builder is not None:
            return builder.columns
        known = self.owner.tables.get(table)
        return known.columns if known is not None else {}

    def finish(self) -> None:
        try:
            if self.lines:
                self._flush_lines()
            self._flush()
        finally:
            if self._reader is not None:
                self._reader.shutdown()
        for name, builder in self.builders.items():
            self.owner.tables[name] = builder.table
        root = self.builders.get(self.root)
        for name, flags in self.column_flags.items():
            if root is not None and "primary_key" in flags.hints and name not in root.columns:
                raise UnsupportedValue(
                    f"table '{self.root}', column '{name}': the primary key has no value in any "
                    "row; every row needs one",
                    table=self.root,
                    column=name,
                )

    def _flush(self) -> None:
        self._take_read()
        if self.rows:
            rows, self.rows = self.rows, {}
            self._write_rows(rows)

    def _write_rows(self, rows_by_table: dict[str, list[dict[str, Any]]]) -> None:
        dropped: set[str] = set()
        for table_name, rows in rows_by_table.items():
            if dropped:
                # Rows of dropped parents go too, and so (by their ids) do their own children.
                dropped.update(r[ROW_ID] for r in rows if r.get(PARENT_ID) in dropped)
                rows = [row for row in rows if row[ROW_ID] not in dropped]
            builder = self._builder(table_name)
            if builder is None or not rows:
                continue
            result = builder.build(rows)
            dropped |= result.dropped_ids
            self._emit(result)

    def add_arrow_file(self, path: Path) -> None:
        with pa.memory_map(str(path)) as source:
            for batch in pa.ipc.open_stream(source):
                self.add_arrow(batch)

    def add_arrow(self, batch: pa.RecordBatch) -> None:
        """Normalize in slices (zero-copy views), so a huge table yielded at once costs the
        memory of one slice's conversions, not of the whole table's."""
        if batch.num_rows <= ARROW_ROWS_PER_BATCH:  # an empty one too: it may add columns
            self._add_arrow_slice(batch)
            return
        for start in range(0, batch.num_rows, ARROW_ROWS_PER_BATCH):
            self._add_arrow_slice(batch.slice(start, ARROW_ROWS_PER_BATCH))

    def _add_arrow_slice(self, batch: pa.RecordBatch) -> None:
        self._take_read()  # a dict batch before it is typed first, as the row path would
        builder = self._builder(self.root)
        assert builder is not None
        row_ids = self._row_ids(batch.num_rows)
        hashes = None
        if self.merge_strategy == "scd2":
            hashes = arrow_row_hashes(pa.Table.from_batches([batch]))
        self._emit(builder.build_arrow(flatten_structs(batch), row_ids, hashes))

    def _emit(self, result: TableBatch) -> None:
        self.owner.writers.write(result.table, result.data)
        self.owner.progress.add("normalize", result.table, result.data.num_rows)

    def _builder(self, table_name: str) -> TableBuilder | None:
        builder = self.builders.get(table_name)
        if builder is not None:
            return builder
        tables = self.owner.tables
        existed = table_name in self.owner.start_schema.tables
        table = tables.get(table_name)
        if table is None:
            parent = self.flattener.new_child_tables[table_name]
            if not self._new_table_allowed(table_name):
                return None
            table = new_table(
                table_name,
                parent=parent,
                resource=self.hints.get("resource"),
                hints=self.hints,
                contract=None,
            )
            table = replace(table, write_disposition=tables[self.root].write_disposition)
        if self.merge_strategy is not None and table_name != self.root:
            table = with_root_id(table)
        builder = TableBuilder(
            table,
            existed=existed,
            names=self.flattener.names_of(table_name),
            contract=self.contract,
            load_id=self.owner.load_id,
            max_identifier_length=self.max_length,
            column_flags=self.column_flags if table_name == self.root else {},
        )
        self.builders[table_name] = builder
        return builder

    def _new_table_allowed(self, table_name: str) -> bool:
        """The `tables` contract governs child tables new to a root table that was loaded before."""
        mode = self.contract.tables if self.contract else "evolve"
        if mode == "evolve" or self.root not in self.owner.start_schema.tables:
            return True
        if mode == "freeze":
            raise ContractViolation(
                f"table '{self.root}': new child table '{table_name}' violates schema_contract "
                "tables='freeze'",
                table=table_name,
                entity="tables",
            )
        return False


def _hinted_columns(
    table: Table, hints: dict[str, Any], names: TableNames
) -> tuple[list[Column], dict[str, ColumnFlags]]:
    """Columns declared by the resource (`columns=`, `primary_key=`, `merge_key=`), and the
    flags of declared columns whose type comes from the data."""
    declared: dict[str, dict[str, Any]] = dict(hints.get("columns") or {})
    for hint in ("primary_key", "merge_key"):
        for key in hints.get(hint) or ():
            declared.setdefault(key, {})[hint] = True
    columns = []
    flags_of: dict[str, ColumnFlags] = {}
    for key, spec in declared.items():
        name = names.column_for(tuple(key.split("__")) if "__" in key else (key,))
        existing = table.columns.get(name)
        flags = frozenset(k for k, v in spec.items() if v is True and k != "nullable")
        data_type = spec.get("data_type") or (existing.data_type if existing else None)
        nullable = spec.get("nullable", not ({"primary_key"} & flags))
        if data_type is None:
            flags_of[name] = ColumnFlags(flags, nullable, spec.get("dedup_sort"))
            continue
        columns.append(
            Column(
                name,
                data_type,
                nullable=nullable,
                precision=spec.get("precision", existing.precision if existing else None),
                scale=spec.get("scale", existing.scale if existing else None),
                # Key hints are the current ones; other hints add up.
                hints=flags | (existing.hints - MERGE_HINTS if existing else frozenset()),
                source_path=names.path_of(name),
                dedup_sort=spec.get("dedup_sort"),
            )
        )
    return columns, flags_of


def as_records(item: Any) -> list[dict[str, Any]]:
    """An item (a record or a page of records) as records; scalars land in a `value` column."""
    items = item if isinstance(item, list) else (item,)
    return [r if isinstance(r, dict) else {VALUE_COLUMN: r} for r in items]


def _record_batches(path: Path) -> Iterator[list[dict[str, Any]]]:
    """The records of a file of pickle frames, item by item."""
    with path.open("rb") as handle:
        while True:
            try:
                item = pickle.load(handle)
            except EOFError:
                return
            yield as_records(item)


def _row_id_arrays() -> Callable[[int], pa.Array]:
    """Unique `_ladle_id`s for Arrow rows: a random prefix and a running number."""
    prefix, no_separator = string_scalar(secrets.token_urlsafe(9)), string_scalar("")
    offset = 0

    def next_ids(count: int) -> pa.Array:
        nonlocal offset
        numbers = int64_range(offset, count)
        offset += count
        return pc.binary_join_element_wise(prefix, pc.cast(numbers, pa.string()), no_separator)

    return next_ids
