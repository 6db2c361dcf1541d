"""Content hashes of source records, for the scd2 merge strategy: a row version is identified by
what its source record held (nested objects and lists included), not by its `_ladle_id`."""

from __future__ import annotations

import decimal
import hashlib
from typing import Any

import orjson
import pyarrow as pa

from ladle.duckdb_results import arrow_result
from ladle.duckdb_scratch import scratch_cursor
from ladle.normalize.plain_values import plain_value

_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def record_hash(record: dict[Any, Any]) -> str:
    """A stable hash of one record: equal for records that hold equal values, in any key order."""
    body = orjson.dumps(record, default=_hashable, option=_OPTIONS)
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def _hashable(value: Any) -> Any:
    held = plain_value(value)  # a numpy value hashes as the Python value it holds
    if held is not value:
        return held
    if isinstance(value, decimal.Decimal):
        return f"decimal:{value}"
    if isinstance(value, (bytes, bytearray)):
        return f"binary:{value.hex()}"
    if isinstance(value, (set, frozenset)):
        return sorted(map(repr, value))
    if isinstance(value, tuple):
        return list(value)
    return f"{type(value).__name__}:{value!r}"


def arrow_row_hashes(data: pa.Table) -> pa.Array:
    """The hash of every row of an Arrow table, struct and list columns included, vectorized by
    DuckDB (rows keep their order: the projection has no join or sort)."""
    with scratch_cursor() as connection:
        connection.register("ladle_rows", data)
        relation = connection.sql("SELECT md5(to_json(r)::VARCHAR) AS h FROM ladle_rows r")
        return arrow_result(relation).column("h").combine_chunks().cast(pa.string())
