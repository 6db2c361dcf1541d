"""Query results as Arrow: column types come from the result's type OIDs, not from the values,
so an empty result keeps its schema and a numeric(38,9) column stays decimal128(38, 9)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from psycopg import Column

# PostgreSQL type OIDs (fixed in the system catalogs) -> Arrow types.
_ARROW_BY_OID: dict[int, pa.DataType] = {
    16: pa.bool_(),  # bool
    17: pa.binary(),  # bytea
    20: pa.int64(),  # int8
    21: pa.int16(),  # int2
    23: pa.int32(),  # int4
    26: pa.int64(),  # oid
    700: pa.float32(),  # float4
    701: pa.float64(),  # float8
    1082: pa.date32(),  # date
    1083: pa.time64("us"),  # time
    1114: pa.timestamp("us"),  # timestamp
    1184: pa.timestamp("us", tz="UTC"),  # timestamptz (the session runs in UTC)
    1186: pa.duration("us"),  # interval
}
# Values returned as Python str (json and jsonb are loaded as text, uuid is stringified).
_TEXT_OIDS = frozenset({18, 19, 25, 114, 142, 1042, 1043, 2950, 3802})  # char..jsonb
NUMERIC_OID = 1700
MAX_DECIMAL128 = 38
MAX_DECIMAL256 = 76


def arrow_table(description: Sequence[Column] | None, rows: Sequence[Sequence[Any]]) -> pa.Table:
    """A result (its cursor description and all its rows) as one Arrow table."""
    if not description:
        return pa.table({})
    columns: list[Sequence[Any]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in description]
    )
    arrays = [_array(c, values) for c, values in zip(description, columns, strict=True)]
    return pa.Table.from_arrays(arrays, names=[column.name for column in description])


def _array(column: Column, values: Sequence[Any]) -> pa.Array:
    oid = column.type_code
    if oid in _TEXT_OIDS:
        return pa.array([None if v is None else str(v) for v in values], pa.string())
    if oid == NUMERIC_OID:
        return _numeric(column, values)
    arrow = _ARROW_BY_OID.get(oid)
    if arrow is not None:
        try:
            return pa.array(values, arrow)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            pass  # e.g. a time with a zone: fall back to inference, then to text
    return _inferred(values)


def _numeric(column: Column, values: Sequence[Any]) -> pa.Array:
    precision, scale = column.precision, column.scale
    if precision is not None and scale is not None and 0 <= scale <= precision <= MAX_DECIMAL256:
        arrow = (
            pa.decimal128(precision, scale)
            if precision <= MAX_DECIMAL128
            else pa.decimal256(precision, scale)
        )
        try:
            return pa.array(values, arrow)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # NaN has no decimal form
    return _inferred(values)  # numeric without a declared precision, e.g. sum(...)


def _inferred(values: Sequence[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _text(value: Any) -> str:
    if isinstance(value, (datetime.date, datetime.time, datetime.datetime)):
        return value.isoformat()
    return str(value)
