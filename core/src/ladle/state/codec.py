"""State values as JSON: datetimes, dates, times, decimals and bytes keep their type.

State is user data (cursors, tokens, page numbers) that must survive a trip through a
destination's text column and come back as the same Python values, so typed values are stored
as tagged objects: `{"__ladle_type__": "datetime", "value": "2024-01-01T00:00:00+00:00"}`.
"""

from __future__ import annotations

import base64
import datetime
import decimal
from collections.abc import Callable
from typing import Any

import orjson

from ladle.errors import ConfigError

TAG = "__ladle_type__"

_DECODERS: dict[str, Callable[[str], Any]] = {
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "decimal": decimal.Decimal,
    "bytes": base64.b64decode,
    "int": int,
}
_INT64 = range(-(2**63), 2**63)


def _tagged(value: Any) -> dict[str, str]:
    # datetime before date: a datetime is a date too.
    if isinstance(value, datetime.datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, datetime.date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, datetime.time):
        return {TAG: "time", "value": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {TAG: "decimal", "value": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "value": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (set, frozenset)):
        return sorted(value)  # type: ignore[return-value]
    raise TypeError(f"{type(value).__name__} is not a state value")


def _wide_ints_tagged(value: Any) -> Any:
    """orjson stops at 64-bit integers; wider ones (block amounts) are tagged as text."""
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
        return {TAG: "int", "value": str(value)}
    if isinstance(value, dict):
        return {key: _wide_ints_tagged(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wide_ints_tagged(item) for item in value]
    return value


def dumps(value: Any, *, owner: str) -> bytes:
    """JSON of a state value; ConfigError naming `owner` if it holds something JSON cannot."""
    options = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_SORT_KEYS
    try:
        try:
            return orjson.dumps(value, default=_tagged, option=options)
        except TypeError as exc:
            if "64-bit" not in str(exc):
                raise
            return orjson.dumps(_wide_ints_tagged(value), default=_tagged, option=options)
    except TypeError as exc:
        raise ConfigError(
            f"{owner}: state must hold JSON-like values (dicts with string keys, lists, "
            f"numbers, strings, dates, decimals, bytes): {exc}",
            key="state",
        ) from exc


def loads(body: bytes | str) -> Any:
    return restore(orjson.loads(body))


def to_jsonable(value: Any, *, owner: str) -> Any:
    """The value as plain JSON data (tags included), e.g. to embed in a manifest."""
    return orjson.loads(dumps(value, owner=owner))


def restore(data: Any) -> Any:
    """Plain JSON data with tags back to Python values."""
    if isinstance(data, dict):
        tag = data.get(TAG)
        if isinstance(tag, str) and tag in _DECODERS and len(data) == 2:
            return _DECODERS[tag](data["value"])
        return {key: restore(item) for key, item in data.items()}
    if isinstance(data, list):
        return [restore(item) for item in data]
    return data
