"""Arrow tables and record batches yielded by resources: map their types onto the schema.

Struct columns flatten into `parent__child` columns (zero-copy); lists and maps are kept as json.
Columns are cast to the schema's Arrow type when that is lossless; otherwise the whole column of
the batch goes to a variant, as with dict data. A batch is a table's chunk, or a slice of at most
50,000 rows of a bigger one (normalizer.ARROW_ROWS_PER_BATCH).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from ladle.duckdb_results import arrow_result
from ladle.duckdb_scratch import scratch_cursor
from ladle.normalize.column_values import arrow_type
from ladle.normalize.flatten import TableNames
from ladle.schema.data_types import DataType
from ladle.schema.schema import Column


def as_arrow(item: Any) -> pa.Table | None:
    """An Arrow table, record batch or pandas DataFrame as an Arrow table; None for others."""
    if isinstance(item, pa.Table):
        return item
    if isinstance(item, pa.RecordBatch):
        return pa.Table.from_batches([item])
    if type(item).__module__.startswith("pandas") and type(item).__name__ == "DataFrame":
        return pa.Table.from_pandas(item, preserve_index=False)
    return None


def flatten_structs(batch: pa.RecordBatch) -> pa.Table:
    """Struct columns become one column per field, named `parent.child` (split by path later)."""
    table = pa.Table.from_batches([batch])
    while any(pat.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    return table


def data_type_of_arrow(arrow: pa.DataType) -> tuple[DataType, int | None, int | None] | None:
    """(data type, precision, scale) for an Arrow type; None for the null type."""
    if pat.is_dictionary(arrow):
        return data_type_of_arrow(arrow.value_type)
    if pat.is_null(arrow):
        return None
    if pat.is_boolean(arrow):
        return "bool", None, None
    if pat.is_integer(arrow):
        return ("decimal", 20, 0) if arrow == pa.uint64() else ("bigint", None, None)
    if pat.is_floating(arrow):
        return "double", None, None
    if pat.is_decimal(arrow):
        if arrow.precision > 38:
            return "text", None, None
        return "decimal", arrow.precision, arrow.scale
    for check, data_type in _SIMPLE_ARROW_TYPES:
        if check(arrow):
            return data_type, None, None
    return "json", None, None


_SIMPLE_ARROW_TYPES: tuple[tuple[Any, DataType], ...] = (
    (lambda t: pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t), "text"),
    (pat.is_timestamp, "timestamp"),
    (pat.is_date, "date"),
    (pat.is_time, "time"),
    (lambda t: pat.is_binary(t) or pat.is_large_binary(t) or pat.is_fixed_size_binary(t), "binary"),
)


def column_from_arrow(name: str, arrow: pa.DataType, names: TableNames) -> Column | None:
    shape = data_type_of_arrow(arrow)
    if shape is None:
        return None
    data_type, precision, scale = shape
    return Column(
        name, data_type, precision=precision, scale=scale, source_path=names.path_of(name)
    )


def to_column_type(array: pa.ChunkedArray, column: Column) -> pa.ChunkedArray | None:
    """`array` as the column's Arrow type, or None if the conversion would lose data."""
    target = arrow_type(column)
    if array.type == target:
        return array
    if pat.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if column.data_type == "json":
        return _to_json_text(array)
    if column.data_type == "timestamp" and pat.is_timestamp(array.type) and array.type.tz is None:
        array = pc.cast(array, pa.timestamp(array.type.unit))
        array = pc.assume_timezone(array, "UTC")
    try:
        return pc.cast(array, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def _to_json_text(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """Nested Arrow values (lists, maps, structs) as JSON text, vectorized by DuckDB."""
    with scratch_cursor() as connection:
        connection.register("ladle_values", pa.table({"v": array}))
        relation = connection.sql("SELECT to_json(v)::VARCHAR AS v FROM ladle_values")
        return arrow_result(relation).column("v")
