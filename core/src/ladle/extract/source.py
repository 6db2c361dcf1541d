"""Sources: a named group of resources that share a schema, made by `@ladle.source`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, overload

from ladle.errors import ConfigError
from ladle.extract.resource import Resource, resource
from ladle.schema.contract import SchemaContract, SchemaContractLike

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Source:
    """Resources sharing one schema. Reach a resource as `source.users` or `source.resources`."""

    name: str
    resources: dict[str, Resource]
    max_table_nesting: int | None = None
    schema_contract: SchemaContract | None = None
    # How a worker process can rebuild this source: "module:function", with its arguments.
    origin: str | None = None
    call_args: tuple[tuple[Any, ...], dict[str, Any]] = field(default_factory=lambda: ((), {}))

    def __getattr__(self, name: str) -> Resource:
        resources = self.__dict__.get("resources", {})
        if name in resources:
            return resources[name]  # type: ignore[no-any-return]
        raise AttributeError(f"source '{self.__dict__.get('name')}' has no resource '{name}'")

    def __dir__(self) -> Iterable[str]:
        return [*super().__dir__(), *self.resources]

    @property
    def selected_resources(self) -> dict[str, Resource]:
        return {name: r for name, r in self.resources.items() if r.selected}

    def with_resources(self, *names: str) -> Source:
        """A copy of the source with only these resources selected (their parents still run)."""
        unknown = [name for name in names if name not in self.resources]
        if unknown:
            raise ConfigError(
                f"source '{self.name}' has no resource {unknown}; it has {list(self.resources)}",
                key="resources",
            )
        copies = {name: r.copy() for name, r in self.resources.items()}
        for name, copied in copies.items():
            copied.selected = name in names
        _relink_parents(copies)
        return replace(self, resources=copies)

    def __iter__(self) -> Iterator[Any]:
        raise ConfigError(f"source '{self.name}' is loaded with pipeline.run(source), not iterated")


def _relink_parents(resources: dict[str, Resource]) -> None:
    """Point transformers at the copied parents, so hints applied to a copy are seen."""
    for item in resources.values():
        if item.parent is not None and item.parent.name in resources:
            item.parent = resources[item.parent.name]


@overload
def source(fn: F, /) -> Callable[..., Source]: ...


@overload
def source(
    fn: None = None,
    /,
    *,
    name: str | None = None,
    max_table_nesting: int | None = None,
    schema_contract: SchemaContractLike = None,
) -> Callable[[F], Callable[..., Source]]: ...


def source(
    fn: Any = None,
    /,
    *,
    name: str | None = None,
    max_table_nesting: int | None = None,
    schema_contract: SchemaContractLike = None,
) -> Any:
    """Make a source function: calling it returns a `Source` of the resources it returns.

    >>> @ladle.source
    ... def crm(api_key: str | None = None):
    ...     return users, user_details
    """

    def wrap(function: Callable[..., Any]) -> Callable[..., Source]:
        source_name = name or function.__name__
        contract = SchemaContract.parse(schema_contract, owner=f"source {source_name}")

        @functools.wraps(function)
        def make_source(*args: Any, **kwargs: Any) -> Source:
            returned = function(*args, **kwargs)
            return Source(
                name=source_name,
                resources=_collect_resources(returned, source_name),
                max_table_nesting=max_table_nesting,
                schema_contract=contract,
                origin=f"{function.__module__}:{function.__qualname__}",
                call_args=(args, kwargs),
            )

        return make_source

    if fn is not None:
        return wrap(fn)
    return wrap


def source_of_resources(name: str, resources: list[Resource]) -> Source:
    """A source around loose resources (what `pipeline.run(resource)` loads)."""
    return Source(name=name, resources=_collect_resources(resources, name))


def _collect_resources(returned: Any, source_name: str) -> dict[str, Resource]:
    """A source function may return a resource, several, or plain data (one resource)."""
    if isinstance(returned, Resource):
        items: list[Any] = [returned]
    elif isinstance(returned, (list, tuple)) and all(isinstance(r, Resource) for r in returned):
        items = list(returned)
    else:
        items = [resource(returned, name=source_name)]
    resources: dict[str, Resource] = {}
    for item in items:
        copied = item.copy()
        if copied.name in resources:
            raise ConfigError(f"source '{source_name}' has two resources named '{copied.name}'")
        resources[copied.name] = copied
    _relink_parents(resources)
    # A transformer's parent that the function did not return still runs, unselected.
    for item in list(resources.values()):
        child = item
        while child.parent is not None and child.parent.name not in resources:
            hidden = child.parent.copy()
            hidden.selected = False
            resources[hidden.name] = hidden
            child.parent = hidden
            child = hidden
    return resources
