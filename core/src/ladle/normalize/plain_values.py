"""Values that load as their JSON would: an enum member as its value, a numpy scalar or array
as the Python value or list it holds (a float NaN in either then loads as null).

Both ways dict records are normalized use this, so they agree: the row path converts each value
in the flattener, and the columnar path's JSON encoder asks `json_default` for the values it
cannot encode itself.
"""

from __future__ import annotations

import enum
from typing import Any

# Types that need no conversion: the common ones, checked by exact type (that is fast).
PLAIN_TYPES = frozenset({str, int, float, bool, type(None), dict, list, tuple})
# numpy kinds JSON holds as they are: bool, signed and unsigned ints, floats.
_JSON_KINDS = frozenset("biuf")


def plain_value(value: Any) -> Any:
    """`value` as the Python value it stands for (itself unless it is an enum member or a
    numpy value). A numpy timedelta, or a datetime beyond the years 1-9999, stays as it is:
    ladle has no type for it, so it is an error naming its column."""
    if isinstance(value, enum.Enum):
        return value.value
    dtype = getattr(value, "dtype", None)
    if dtype is None or type(value).__module__ != "numpy":
        return value
    if dtype.kind == "M":  # datetime64, of any unit: microseconds, as timestamps are stored
        held = value.astype("datetime64[us]").tolist()
        # numpy gives an int for times outside years 1-9999: no timestamp, so not converted
        return value if _has_int(held) else held
    if dtype.kind == "m":
        return value
    return value.tolist()


def plain_or_text(value: Any) -> Any:
    """For orjson's `default` where every value must encode (keys, hashes): the Python value a
    numpy value or enum member holds, else its text."""
    held = plain_value(value)
    return str(value) if held is value else held


def json_default(value: Any) -> Any:
    """For orjson's `default`: numpy numbers and bools (and arrays of them) as Python values;
    anything else raises TypeError, so the record takes the row path."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and dtype.kind in _JSON_KINDS and type(value).__module__ == "numpy":
        return value.tolist()
    raise TypeError(type(value).__name__)


def _has_int(held: Any) -> bool:
    if isinstance(held, list):
        return any(map(_has_int, held))
    return isinstance(held, int)
