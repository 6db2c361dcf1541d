"""Turn one column's Python values into a typed Arrow array, losslessly.

`infer_data_type` picks a type from all values of a batch (ints and floats together make a double;
ints beyond 64 bits a wide decimal; strings that are all ISO-8601 timestamps a timestamp).
`build_column` converts values to a column's type; a value that does not fit without loss is
split off into a variant (returned per data type), never cast with loss and never an error.
"""

from __future__ import annotations

import datetime
import decimal
import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ladle.normalize.plain_values import plain_value
from ladle.schema.data_types import (
    BIGINT_MAX,
    BIGINT_MIN,
    DEFAULT_DECIMAL,
    PYTHON_TYPES,
    WIDE_INT_DECIMAL,
    DataType,
    data_type_of_instance,
)
from ladle.schema.schema import Column

MAX_DECIMAL_PRECISION = 38
FLOAT_EXACT_INT = 2**53
_ISO_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
_SUB_MICROSECONDS = re.compile(r"\.\d{6}\d*[1-9]")
_MISS = object()

# Python types that pyarrow converts into the data type exactly, with no loss or truncation.
_EXACT_SOURCES: dict[str, frozenset[type]] = {
    "bigint": frozenset({int}),
    "double": frozenset({float, int}),
    "bool": frozenset({bool}),
    "text": frozenset({str}),
    "decimal": frozenset({decimal.Decimal, int}),
    "timestamp": frozenset({datetime.datetime}),
    "date": frozenset({datetime.date}),
    "time": frozenset({datetime.time}),
    "binary": frozenset({bytes, bytearray}),
}


class UnknownValueType(Exception):
    """A value of a Python type with no data type (raised with the offending type)."""

    def __init__(self, value_type: type) -> None:
        super().__init__(value_type.__name__)
        self.value_type = value_type


def arrow_type(column: Column) -> pa.DataType:
    data_type = column.data_type
    if data_type == "decimal":
        return pa.decimal128(*column.decimal_shape)
    return _ARROW_TYPES[data_type]


_ARROW_TYPES: dict[str, pa.DataType] = {
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "json": pa.string(),
    "binary": pa.binary(),
}


def value_data_type(value: Any) -> DataType:
    """The data type of one non-null value (its natural type, without detection)."""
    data_type = PYTHON_TYPES.get(type(value)) or data_type_of_instance(value)
    if data_type is None:
        raise UnknownValueType(type(value))
    if data_type == "bigint" and not BIGINT_MIN <= value <= BIGINT_MAX:
        # Beyond 64 bits: a wide decimal while it fits 38 digits, else exact text.
        return "decimal" if len(str(abs(value))) <= MAX_DECIMAL_PRECISION else "text"
    return data_type


def natural_value(value: Any, data_type: DataType) -> Any:
    """A value in the form its own (variant) data type stores it."""
    if data_type == "text" and not isinstance(value, str):
        return str(value)
    return value


def nan_as_null(values: list[Any]) -> list[Any]:
    """NaN and infinities as None: JSON has no such numbers, and dict rows load as JSON does
    (the same values take the columnar path as JSON)."""
    if not any(isinstance(v, float) and not math.isfinite(v) for v in values):
        return values
    return [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]


def value_types(values: Sequence[Any]) -> set[type]:
    """The Python types of the non-null values."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    return kinds


def infer_column(name: str, values: Sequence[Any], **fields: Any) -> Column | None:
    """A new column typed from all non-null values of a batch; None if all are null."""
    kinds = value_types(values)
    if not kinds:
        return None
    first = next(v for v in values if v is not None)
    data_type = value_data_type(first)
    if kinds <= {int, float} and float in kinds:
        data_type = "double"
    elif kinds <= {int, decimal.Decimal}:
        data_type = "decimal" if decimal.Decimal in kinds else _integer_type(values)
    elif data_type == "text" and kinds == {str} and _all_timestamps(values):
        data_type = "timestamp"
    precision, scale = decimal_shape(values, data_type)
    return Column(name=name, data_type=data_type, precision=precision, scale=scale, **fields)


def _integer_type(values: Sequence[Any]) -> DataType:
    ints = [v for v in values if v is not None]
    return "bigint" if min(ints) >= BIGINT_MIN and max(ints) <= BIGINT_MAX else "decimal"


def decimal_shape(values: Sequence[Any], data_type: str) -> tuple[int | None, int | None]:
    """Precision and scale holding every value: (38, 0) for wide ints, else (38, max(9, scale))."""
    if data_type != "decimal":
        return None, None
    scales = [
        -v.as_tuple().exponent  # type: ignore[operator]
        for v in values
        if isinstance(v, decimal.Decimal) and v.is_finite()
    ]
    if not scales:
        return WIDE_INT_DECIMAL
    return MAX_DECIMAL_PRECISION, min(max(DEFAULT_DECIMAL[1], *scales), MAX_DECIMAL_PRECISION)


def _all_timestamps(values: Sequence[Any]) -> bool:
    first = next(v for v in values if v is not None)
    return timestamps_if_all(first, pa.array(values, pa.string())) is not None


def timestamps_if_all(first: str, strings: pa.Array) -> pa.Array | None:
    """`strings` as timestamps when the first (non-null) one looks like an ISO-8601 timestamp
    and all of them parse: how a new text column is detected as a timestamp column."""
    if not _ISO_TIMESTAMP.match(first):
        return None
    return strings_to_timestamps(strings)


def _strings_to_timestamps(values: Sequence[Any]) -> pa.Array | None:
    return strings_to_timestamps(pa.array(values, pa.string()))


def strings_to_timestamps(strings: pa.Array) -> pa.Array | None:
    """ISO-8601 strings as UTC timestamps (strings without an offset are taken as UTC)."""
    try:
        return pc.cast(strings, pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        naive = pc.cast(strings, pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return naive.cast(pa.timestamp("us", tz="UTC"))


@dataclass
class BuiltColumn:
    """The column's array, plus values split off per data type (aligned, nulls elsewhere)."""

    array: pa.Array
    variants: dict[DataType, list[Any]]


def build_column(column: Column, values: list[Any], kinds: set[type] | None = None) -> BuiltColumn:
    """Convert `values` to the column's type; what does not fit goes into `variants`."""
    target = arrow_type(column)
    if kinds is None:
        kinds = value_types(values)
    if column.data_type == "json":
        return BuiltColumn(pa.array([_to_json(v) for v in values], pa.string()), {})
    if kinds <= _EXACT_SOURCES[column.data_type]:
        try:
            return BuiltColumn(pa.array(values, target), {})
        except (OverflowError, pa.ArrowInvalid, pa.ArrowTypeError):
            pass  # e.g. an int beyond 64 bits, a decimal with more scale: split value by value
    elif column.data_type == "timestamp" and kinds == {str}:
        converted = _strings_to_timestamps(values)
        if converted is not None:
            return BuiltColumn(converted, {})
    return _build_value_by_value(column, values, target)


def _build_value_by_value(column: Column, values: list[Any], target: pa.DataType) -> BuiltColumn:
    coerce = _COERCERS[column.data_type]
    fitted: list[Any] = []
    variants: dict[DataType, list[Any]] = {}
    for index, value in enumerate(values):
        if value is None:
            fitted.append(None)
            continue
        coerced = coerce(value, column)
        if coerced is _MISS:
            fitted.append(None)
            kind = value_data_type(value)
            bucket = variants.setdefault(kind, [None] * len(values))
            bucket[index] = value
        else:
            fitted.append(coerced)
    return BuiltColumn(pa.array(fitted, target), variants)


def _to_json(value: Any) -> str | None:
    if value is None:
        return None
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    plain = plain_value(value)  # e.g. a numpy number inside a json value
    if plain is not value:
        return plain
    raise TypeError(type(value).__name__)


# -- coercion of one value into a column type; _MISS when it would lose data ------------------


def _to_bigint(value: Any, column: Column) -> Any:
    if isinstance(value, int) and type(value) is not bool and BIGINT_MIN <= value <= BIGINT_MAX:
        return value
    if type(value) is float and value.is_integer() and BIGINT_MIN <= value <= BIGINT_MAX:
        return int(value)
    return _MISS


def _to_double(value: Any, column: Column) -> Any:
    if isinstance(value, float):
        return value
    if type(value) is int and -FLOAT_EXACT_INT <= value <= FLOAT_EXACT_INT:
        return float(value)
    return _MISS


def _to_decimal(value: Any, column: Column) -> Any:
    if type(value) is bool or not isinstance(value, (int, decimal.Decimal)):
        return _MISS
    number = decimal.Decimal(value)
    if not number.is_finite():
        return _MISS
    scale = column.scale or 0
    digits, exponent = len(number.as_tuple().digits), number.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > scale or digits + exponent > (column.precision or 38) - scale:
        return _MISS
    return number


def _to_timestamp(value: Any, column: Column) -> Any:
    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and _ISO_TIMESTAMP.match(value):
        if _SUB_MICROSECONDS.search(value):
            return _MISS  # nanoseconds would be cut: keep the exact text as a variant
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return _MISS
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)
    return _MISS


def _to_text(value: Any, column: Column) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    return _MISS


def _to_date(value: Any, column: Column) -> Any:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    return _MISS


def _exactly(*kinds: type) -> Callable[[Any, Column], Any]:
    def coerce(value: Any, column: Column) -> Any:
        return value if isinstance(value, kinds) and not _is_bool_as_int(value, kinds) else _MISS

    return coerce


def _is_bool_as_int(value: Any, kinds: tuple[type, ...]) -> bool:
    return type(value) is bool and bool not in kinds


_COERCERS: dict[str, Callable[[Any, Column], Any]] = {
    "bigint": _to_bigint,
    "double": _to_double,
    "bool": _exactly(bool),
    "text": _to_text,
    "decimal": _to_decimal,
    "timestamp": _to_timestamp,
    "date": _to_date,
    "time": _exactly(datetime.time),
    "binary": _exactly(bytes, bytearray),
}
