"""The data types a column can have, and how Python values map onto them."""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import Literal, get_args

DataType = Literal[
    "bigint", "double", "bool", "text", "decimal", "timestamp", "date", "time", "json", "binary"
]
DATA_TYPES: frozenset[str] = frozenset(get_args(DataType))

# Exact Python type -> data type. Looked up with `type(value)` on the hot path; subclasses
# (pendulum.DateTime, IntEnum, ...) fall back to `data_type_of_instance`.
PYTHON_TYPES: dict[type, DataType] = {
    int: "bigint",
    float: "double",
    bool: "bool",
    str: "text",
    decimal.Decimal: "decimal",
    datetime.datetime: "timestamp",
    datetime.date: "date",
    datetime.time: "time",
    bytes: "binary",
    bytearray: "binary",
    dict: "json",
    list: "json",
    tuple: "json",
    uuid.UUID: "text",
}

BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1
DEFAULT_DECIMAL = (38, 9)
WIDE_INT_DECIMAL = (38, 0)


def data_type_of_instance(value: object) -> DataType | None:
    """The data type of a value whose exact type is not in PYTHON_TYPES, or None."""
    for python_type, data_type in PYTHON_TYPES.items():
        if isinstance(value, python_type):
            return data_type
    return None
