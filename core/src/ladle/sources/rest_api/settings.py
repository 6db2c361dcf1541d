"""Build a paginator or an auth from a config dict, naming the keys that are wrong."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ladle.errors import ConfigError

T = TypeVar("T")


def build(factory: Callable[..., T], settings: Mapping[str, Any], owner: str, key: str) -> T:
    """`factory(**settings)`, or a ConfigError naming unknown and missing keys (never values:
    settings may hold secrets)."""
    parameters = inspect.signature(factory).parameters
    unknown = sorted(set(settings) - set(parameters))
    missing = sorted(
        name
        for name, parameter in parameters.items()
        if parameter.default is inspect.Parameter.empty and name not in settings
    )
    if unknown or missing:
        problems = []
        if unknown:
            problems.append(f"unknown keys {unknown}")
        if missing:
            problems.append(f"missing keys {missing}")
        raise ConfigError(
            f"{owner}: {key} {'; '.join(problems)} (it takes {sorted(parameters)})",
            key=f"{key}.{(unknown or missing)[0]}",
        )
    return factory(**settings)
