"""The columnar path for dict records: JSON lines to Arrow per batch, unnested by kernels.

Each record is written as a JSON line by orjson as it arrives (a deep snapshot in C: the
generator may reuse its dicts, and the garbage collector has no dicts to scan again). A batch
of lines is parsed by pyarrow's JSON reader (in C++, on a thread of its own while the
resource goes on: see `_RootTableRun._flush_lines`); nested structs then flatten
into `parent__child` columns and lists unnest into child tables with vectorized kernels. The
result is the one the row path (`Flattener` + `TableBuilder`) gives, in about half the time.

Only JSON values take this path: `json_line` refuses datetimes, decimals, bytes, sets, dict
and str subclasses, ints beyond 2**53 (the reader would round them in a double column), cycles
and non-string keys; a batch holding such a record goes row by row. NaN and infinities are
null here as in JSON, and the row path does the same. A batch is declined as a whole (`read` or
`columns` returns None, having changed nothing) when the row path would decide something value
by value: a value that does not fit its column, a name that needs a collision suffix, a
container kept whole as json. Only column order may differ: a new table's columns come in the
order the reader found the keys (by nesting level) rather than row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.types as pat

from ladle.arrow_arrays import int32_scalar, int64_range
from ladle.normalize.column_values import FLOAT_EXACT_INT, strings_to_timestamps, timestamps_if_all
from ladle.normalize.flatten import VALUE_COLUMN, Flattener
from ladle.normalize.plain_values import json_default
from ladle.schema.schema import LIST_INDEX, PARENT_ID, ROOT_ID, ROW_ID, Column

_MAX_BLOCK = (1 << 31) - 1  # pyarrow's limit: a bigger batch fails to read, so goes row by row
# Arrow types of JSON scalars, and the data type a new column of them gets.
_SCALAR_TYPES = {pa.int64(): "bigint", pa.float64(): "double", pa.bool_(): "bool"}
_JSON_OPTIONS = (
    orjson.OPT_STRICT_INTEGER
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def json_line(record: dict[str, Any]) -> bytes | None:
    """The record as one JSON line, or None if it holds anything but plain JSON values."""
    try:
        return orjson.dumps(record, default=json_default, option=_JSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one
        return None


@dataclass(frozen=True)
class TableColumns:
    """A batch's rows of one table: their system and data columns, by column name."""

    table: str
    size: int
    arrays: dict[str, pa.Array]


@dataclass
class TablePart:
    """One table's share of a batch: its rows' columns, and where each row's parent is."""

    table: str
    size: int
    columns: dict[tuple[str, ...], pa.Array] = field(default_factory=dict)
    # Child tables: the parent part, the list's key path there, each row's parent row and
    # position in its list.
    parent: TablePart | None = None
    list_path: tuple[str, ...] = ()
    parent_rows: pa.Array | None = None
    list_index: pa.Array | None = None
    ids: pa.Array | None = None
    root_ids: pa.Array | None = None


class ColumnarFlattener:
    """Normalizes batches of records into typed Arrow columns per table, or declines a batch."""

    def __init__(
        self,
        flattener: Flattener,
        columns_of: Callable[[str], Mapping[str, Column]],
        new_ids: Callable[[int], pa.Array],
    ) -> None:
        self.flattener = flattener
        self.columns_of = columns_of  # a table's current columns (empty for a new table)
        self.new_ids = new_ids
        self._schema: pa.Schema | None = None  # the last batch's, timestamps read as strings

    def read(self, lines: list[bytes]) -> pa.Table | None:
        """The batch as an Arrow table; None if its records' types clash."""
        data = b"\n".join(lines)
        # One block for the whole batch (at most COLUMNAR_BATCH_BYTES): the reader infers types
        # block by block and fails on real data whose first block saw a field as nulls only
        # (GitHub events did); a block must also hold its longest record. One thread, so the
        # resource keeps the other core: one block parses as fast as many.
        options = pa_json.ReadOptions(use_threads=False, block_size=min(len(data) + 1, _MAX_BLOCK))
        return self._read(data, options)

    def columns(self, table: pa.Table) -> list[TableColumns] | None:
        """A read batch's columns per table, parents before children; None when declined."""
        root = TablePart(self.flattener.root_table, table.num_rows)
        parts = [root]
        columns = zip(table.column_names, table.columns, strict=True)
        fields = [(name, chunks.combine_chunks()) for name, chunks in columns]
        if not _Planner(self, parts).fields(root, (), fields, 0):
            return None
        return self._name_and_link(parts)

    def _read(self, data: bytes, options: pa_json.ReadOptions) -> pa.Table | None:
        """Parse with the last batch's types (one pass while the keys stay the same). A second
        pass, with the types the first one found, reads strings the reader took for timestamps
        as strings (so that the row path's own detection decides), and mends lists whose first
        item was null: the reader builds those broken when it infers their type."""
        table = None
        if self._schema is not None:
            table = _parse(data, options, self._schema)
        if table is None:
            table = _parse(data, options, None)
        if table is None:
            return None
        if any(map(_needs_second_read, table.schema.types)) or not _valid(table):
            as_read = [f.with_type(_second_read_type(f.type)) for f in table.schema]
            table = _parse(data, options, pa.schema(as_read))
            if table is None or not _valid(table):
                return None
        self._schema = table.schema
        return table

    def _name_and_link(self, parts: list[TablePart]) -> list[TableColumns]:
        """Name the columns and child tables, and give every row its ids (the batch is taken)."""
        flattener = self.flattener
        out = []
        for part in parts:
            if part.parent is not None:
                part.table = flattener.child_table(part.parent.table, part.list_path)
            names = flattener.names_of(part.table)
            part.ids = self.new_ids(part.size)
            arrays = {names.column_for(path): array for path, array in part.columns.items()}
            arrays[ROW_ID] = part.ids
            if part.parent is None:
                if flattener.root_ids:
                    part.root_ids = part.ids
            else:
                parent_ids, rows, index = part.parent.ids, part.parent_rows, part.list_index
                assert parent_ids is not None
                assert rows is not None
                assert index is not None
                arrays[PARENT_ID] = parent_ids.take(rows)
                arrays[LIST_INDEX] = index
                if part.parent.root_ids is not None:
                    part.root_ids = part.parent.root_ids.take(part.parent_rows)
                    arrays[ROOT_ID] = part.root_ids
            out.append(TableColumns(part.table, part.size, arrays))
        return out


class _Planner:
    """Walks a batch's struct arrays, checking and typing every leaf; changes nothing."""

    def __init__(self, owner: ColumnarFlattener, parts: list[TablePart]) -> None:
        self.flattener = owner.flattener
        self.columns_of = owner.columns_of
        self.parts = parts
        self.new_names: dict[str, dict[str, tuple[str, ...]]] = {}  # table -> name -> path
        self.new_tables: set[str] = set()

    def fields(
        self,
        part: TablePart,
        path: tuple[str, ...],
        fields: list[tuple[str, pa.Array]],
        depth: int,
    ) -> bool:
        """The fields of one object level of `part`: nested objects stay in its row."""
        keys = {key for key, _ in fields}
        if keys & self.flattener.json_keys(part.table, path):
            return False  # declared json: kept whole
        containers = any(pat.is_struct(a.type) or pat.is_list(a.type) for _, a in fields)
        if containers and depth >= self.flattener.max_depth:
            return False  # too deep: kept whole as json
        for key, values in fields:
            key_path = (*path, key)
            if pat.is_struct(values.type):
                if not self.fields(part, key_path, _struct_fields(values), depth + 1):
                    return False
            elif pat.is_list(values.type):
                if not self.list(part, key_path, values, depth + 1):
                    return False
            elif not self.leaf(part, key_path, values):
                return False
        return True

    def list(
        self, parent: TablePart, path: tuple[str, ...], array: pa.ListArray, depth: int
    ) -> bool:
        """A list column: its items become a child table (scalars in a `value` column)."""
        items = pc.list_flatten(array)
        if len(items) == 0:
            return True  # only empty lists: no child rows, no child table
        name = self.flattener.child_table_without_suffix(parent.table, path)
        if name is None or name in self.new_tables:
            return False
        self.new_tables.add(name)
        parent_rows = pc.list_parent_indices(array)
        lengths = pc.list_value_length(array)
        lengths = pc.fill_null(lengths, int32_scalar(0).cast(lengths.type))
        starts = pc.subtract(pc.cumulative_sum(lengths), lengths).take(parent_rows)
        positions = int64_range(0, len(items))
        child = TablePart(
            name,
            len(items),
            parent=parent,
            list_path=path,
            parent_rows=parent_rows,
            list_index=pc.subtract(positions, starts),
        )
        self.parts.append(child)
        if pat.is_struct(items.type):
            return self.fields(child, (), _struct_fields(items), depth)
        if items.null_count == len(items):
            return True  # only None items: rows with ids alone, as the row path makes them
        if pat.is_list(items.type):
            return False  # lists of lists: the row path keeps the inner lists as json
        return self.leaf(child, (VALUE_COLUMN,), items)

    def leaf(self, part: TablePart, path: tuple[str, ...], values: pa.Array) -> bool:
        """A scalar column, typed as the row path types it; False if that needs the row path."""
        if values.null_count == len(values):
            return True  # no value yet: not named, as in the row path
        name = self._name(part.table, path)
        if name is None:
            return False
        column = self.columns_of(part.table).get(name)
        typed = _typed(values, column)
        if typed is None:
            return False
        part.columns[path] = typed
        return True

    def _name(self, table: str, path: tuple[str, ...]) -> str | None:
        name = self.flattener.names_of(table).name_without_suffix(path)
        if name is None:
            return None
        claimed = self.new_names.setdefault(table, {})
        if claimed.setdefault(name, path) != path:
            return None  # two new keys that normalize alike: suffixes follow row order
        return name


def _typed(values: pa.Array, column: Column | None) -> pa.Array | None:
    """`values` as the row path stores them in `column` (or a new column); None when some
    value would need a variant, a widening or another decision made value by value."""
    new_type = _SCALAR_TYPES.get(values.type)
    if pat.is_string(values.type):
        if column is None:
            first = pc.drop_null(values)
            if len(first) == 0:
                return values
            as_timestamps = timestamps_if_all(first[0].as_py(), values)
            return values if as_timestamps is None else as_timestamps
        if column.data_type == "text":
            return values
        if column.data_type == "timestamp":
            return strings_to_timestamps(values)
        return None
    if new_type is None:
        return None  # datetimes, decimals, bytes...: the row path has the rules
    if column is None or column.data_type == new_type:
        return values
    if column.data_type == "double" and new_type == "bigint":
        bounds = pc.min_max(values)
        low, high = bounds["min"].as_py(), bounds["max"].as_py()
        if low is None or (low >= -FLOAT_EXACT_INT and high <= FLOAT_EXACT_INT):
            return values.cast(pa.float64())
    return None


def _struct_fields(array: pa.StructArray) -> list[tuple[str, pa.Array]]:
    """(key, values) of a struct array; a null struct makes its fields null."""
    names = [array.type.field(i).name for i in range(array.type.num_fields)]
    return list(zip(names, array.flatten(), strict=True))


def _parse(data: bytes, options: pa_json.ReadOptions, schema: pa.Schema | None) -> pa.Table | None:
    parsing = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    try:
        return pa_json.read_json(pa.BufferReader(data), options, parsing)
    except pa.ArrowException:
        return None  # e.g. types that differ between records: the row path's rules decide


def _valid(table: pa.Table) -> bool:
    try:
        table.validate(full=True)
    except pa.ArrowException:
        return False
    return True


def _needs_second_read(arrow_type: pa.DataType) -> bool:
    """Timestamps (that were strings) or lists of only nulls (which pyarrow's JSON reader
    builds broken: their items array is too short) anywhere in the type."""
    if pat.is_timestamp(arrow_type):
        return True
    if pat.is_struct(arrow_type):
        return any(_needs_second_read(f.type) for f in arrow_type)
    if pat.is_list(arrow_type):
        return pat.is_null(arrow_type.value_type) or _needs_second_read(arrow_type.value_type)
    return False


def _second_read_type(arrow_type: pa.DataType) -> pa.DataType:
    """The type with timestamps read as strings, and null list items as (null) strings."""
    if pat.is_timestamp(arrow_type):
        return pa.string()
    if pat.is_struct(arrow_type):
        return pa.struct([f.with_type(_second_read_type(f.type)) for f in arrow_type])
    if pat.is_list(arrow_type):
        items = arrow_type.value_type
        return pa.list_(pa.string() if pat.is_null(items) else _second_read_type(items))
    return arrow_type
