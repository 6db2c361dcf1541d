"""Column hints given to a resource: a dict per column, or a Pydantic model class."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from ladle.errors import ConfigError
from ladle.schema.data_types import DATA_TYPES, PYTHON_TYPES
from ladle.schema.schema import COLUMN_HINTS

_COLUMN_KEYS = {"data_type", "nullable", "precision", "scale", *COLUMN_HINTS}


def key_list(keys: str | Sequence[str] | None) -> list[str]:
    if keys is None:
        return []
    return [keys] if isinstance(keys, str) else list(keys)


def columns_from_hint(hint: Any, resource: str) -> dict[str, dict[str, Any]]:
    """Column hints as JSON-able dicts keyed by the column's name in the data."""
    if hint is None:
        return {}
    if isinstance(hint, type) and hasattr(hint, "model_fields"):
        return _from_pydantic(hint)
    if not isinstance(hint, Mapping):
        raise ConfigError(
            f"resource '{resource}': columns must be a dict of column hints or a Pydantic model",
            key="columns",
            resource=resource,
        )
    out: dict[str, dict[str, Any]] = {}
    for name, spec in hint.items():
        unknown = set(spec) - _COLUMN_KEYS
        data_type = spec.get("data_type")
        if unknown or (data_type is not None and data_type not in DATA_TYPES):
            problem = f"unknown keys {sorted(unknown)}" if unknown else f"data_type {data_type!r}"
            raise ConfigError(
                f"resource '{resource}', column '{name}': {problem}; data types are "
                f"{sorted(DATA_TYPES)}",
                key=f"columns.{name}",
                resource=resource,
            )
        _check_merge_flags(name, spec, resource)
        out[name] = dict(spec)
    return out


def _check_merge_flags(name: str, spec: Mapping[str, Any], resource: str) -> None:
    """`dedup_sort` is a direction; `hard_delete` (like the key hints) is a flag."""
    problem = None
    if "dedup_sort" in spec and spec["dedup_sort"] not in ("asc", "desc"):
        problem = f"dedup_sort must be 'asc' or 'desc', not {spec['dedup_sort']!r}"
    elif "hard_delete" in spec and not isinstance(spec["hard_delete"], bool):
        problem = f"hard_delete must be True or False, not {spec['hard_delete']!r}"
    if problem is not None:
        raise ConfigError(
            f"resource '{resource}', column '{name}': {problem}",
            key=f"columns.{name}",
            resource=resource,
        )


def _from_pydantic(model: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, field in model.model_fields.items():
        annotation, nullable = _unwrap_optional(field.annotation)
        data_type = PYTHON_TYPES.get(annotation)
        if data_type is None or data_type == "json":
            continue  # nested models and lists unnest from the data like any dict or list
        out[field.alias or name] = {"data_type": data_type, "nullable": nullable}
    return out


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False
