"""What dropping resources removes: their tables (child tables too) and their state scopes.

`Pipeline.drop("users")` is a full refresh of `users`: its tables, their schema entries and its
state (incremental cursors, `ladle.state()`) go in one destination transaction, so its next run
starts from the initial values. The source's shared state (`ladle.source_state()`) stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ladle.errors import ConfigError
from ladle.schema.naming import normalize_identifier
from ladle.schema.schema import Schema

RESOURCE_SCOPE_PREFIX = "resource:"


@dataclass(frozen=True)
class DropPlan:
    """The tables (parents before children) and state scopes the drop removes."""

    tables: tuple[str, ...]
    scopes: tuple[str, ...]


def plan_drop(schema: Schema, scopes: Iterable[str], resources: Sequence[str]) -> DropPlan:
    """The tables and scopes of `resources` in `schema`; ConfigError naming an unknown one."""
    if not resources:
        raise ConfigError("name the resources to drop", key="resources")
    known = sorted({t.resource for t in schema.data_tables() if t.resource is not None})
    unknown = [name for name in resources if name not in known]
    if unknown:
        raise ConfigError(
            f"schema '{schema.name}' has no tables of resource(s) {unknown}; its resources are "
            f"{known or 'none'}",
            key="resources",
        )
    wanted = set(resources)
    roots = [t.name for t in schema.data_tables() if t.parent is None and t.resource in wanted]
    tables = tuple(table.name for root in roots for table in schema.family(root))
    return DropPlan(tables, tuple(s for s in scopes if _scope_of(s, schema.name, wanted)))


def _scope_of(scope: str, schema_name: str, resources: set[str]) -> bool:
    """Whether `scope` is `resource:<source>.<resource>` of one of `resources` in the schema."""
    if not scope.startswith(RESOURCE_SCOPE_PREFIX):
        return False
    qualified = scope[len(RESOURCE_SCOPE_PREFIX) :]
    return any(
        qualified.endswith(f".{name}")
        and normalize_identifier(qualified[: -len(name) - 1]) == schema_name
        for name in resources
    )


__all__ = ["DropPlan", "plan_drop"]
