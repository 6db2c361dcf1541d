"""The plan of a source: units of work an orchestrator runs as tasks, as plain frozen data.

A unit is one selected resource together with the selected transformers that feed on it (they
need its items, so they run in the same task). A selected transformer whose parent is not
selected is a unit of its own: its parent runs inside it, unselected (extracted, not loaded).
Units made this way need nothing from each other, so `depends_on` is empty; a plan is data, so
a caller may still order units (`dataclasses.replace(unit, depends_on=(...))`) and every
adapter honours it.

Building a plan reads the source's resources only: no resource function is called and no
generator is started, so it is safe where DAG files are parsed every few seconds.

    >>> from ladle.orchestration import plan
    >>> for unit in plan(crm()).units:
    ...     print(unit.id, unit.resources, unit.tables)
    users ('users', 'user_details') ('users', 'user_details')
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ladle.errors import ConfigError
from ladle.extract.column_hints import key_list
from ladle.extract.incremental import Incremental
from ladle.extract.resource import Resource
from ladle.extract.source import Source
from ladle.orchestration.source_ref import SourceRef
from ladle.schema.naming import make_unique, normalize_identifier


@dataclass(frozen=True)
class ResourceSpec:
    """One resource of the source, as an orchestrator sees it."""

    name: str
    # The table it writes, as named in the destination; None when a function picks the table
    # per item (then the tables are known only after a run).
    table: str | None
    write_disposition: str
    incremental: bool
    selected: bool
    parent: str | None = None  # the resource a transformer feeds on
    primary_key: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Unit:
    """A unit of work: resources extracted, normalized and loaded together in one task."""

    id: str  # a sanitized name (snake_case ASCII): usable as a task, step or asset name
    source_name: str
    resources: tuple[str, ...]  # the selected resources it loads, each parent before its children
    tables: tuple[str, ...]  # root tables it writes (child tables of nested lists come on top)
    dynamic_tables: bool = False  # a resource names its table per item: more tables, not known
    also_runs: tuple[str, ...] = ()  # unselected parents it extracts to feed its transformers
    depends_on: tuple[str, ...] = ()  # ids of units that must finish first
    description: str = ""
    incremental: bool = False  # a resource it runs has a cursor: a window bounds it
    write_disposition: str | None = None  # of all its resources; None when they differ


@dataclass(frozen=True)
class Plan:
    """The units of one source, in the source's order, with every resource described."""

    source_name: str
    units: tuple[Unit, ...]
    resources: tuple[ResourceSpec, ...] = ()
    # How another process rebuilds the source: `plan.source_ref.load()`; None for sources
    # made from loose resources or data.
    source_ref: SourceRef | None = None

    def __post_init__(self) -> None:
        ids = [unit.id for unit in self.units]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ConfigError(f"plan of source '{self.source_name}': unit ids {duplicates} repeat")
        for unit in self.units:
            unknown = [d for d in unit.depends_on if d not in ids]
            if unknown:
                raise ConfigError(
                    f"plan of source '{self.source_name}': unit '{unit.id}' depends on unknown "
                    f"unit(s) {unknown}; units are {ids}",
                    key="depends_on",
                )
        self.waves()  # refuses cycles now rather than in a worker

    @property
    def unit_ids(self) -> tuple[str, ...]:
        return tuple(unit.id for unit in self.units)

    def unit(self, unit_id: str) -> Unit:
        for unit in self.units:
            if unit.id == unit_id:
                return unit
        raise ConfigError(
            f"plan of source '{self.source_name}' has no unit '{unit_id}'; it has "
            f"{list(self.unit_ids)}",
            key="unit",
        )

    def resource(self, name: str) -> ResourceSpec:
        for spec in self.resources:
            if spec.name == name:
                return spec
        raise ConfigError(f"source '{self.source_name}' has no resource '{name}'", key="resource")

    def waves(self) -> tuple[tuple[Unit, ...], ...]:
        """Units in waves: each wave needs only units of earlier waves (run a wave in parallel)."""
        done: set[str] = set()
        waves: list[tuple[Unit, ...]] = []
        left = list(self.units)
        while left:
            wave = tuple(u for u in left if all(d in done for d in u.depends_on))
            if not wave:
                raise ConfigError(
                    f"plan of source '{self.source_name}': units {[u.id for u in left]} depend "
                    "on each other in a cycle",
                    key="depends_on",
                )
            waves.append(wave)
            done.update(u.id for u in wave)
            left = [u for u in left if u.id not in done]
        return tuple(waves)

    def ordered(self) -> tuple[Unit, ...]:
        """Every unit once, each after the units it depends on (the order of a serial run)."""
        return tuple(unit for wave in self.waves() for unit in wave)

    def as_single_unit(self) -> Plan:
        """This plan as one unit that runs every selected resource (the whole source)."""
        if not self.units:
            return self
        resources = tuple(name for unit in self.ordered() for name in unit.resources)
        loaded = set(resources)
        also_runs = _unique(n for u in self.units for n in u.also_runs if n not in loaded)
        dispositions = {u.write_disposition for u in self.units}
        whole = Unit(
            id=normalize_identifier(self.source_name),
            source_name=self.source_name,
            resources=resources,
            tables=_unique(table for unit in self.units for table in unit.tables),
            dynamic_tables=any(unit.dynamic_tables for unit in self.units),
            also_runs=also_runs,
            description=f"All of source '{self.source_name}': {', '.join(resources)}",
            incremental=any(unit.incremental for unit in self.units),
            write_disposition=dispositions.pop() if len(dispositions) == 1 else None,
        )
        return replace(self, units=(whole,))


def plan(source: Source) -> Plan:
    """The units of work of `source`'s selected resources (see the module doc).

    Select resources first to plan a part: `plan(source.with_resources("users", "orders"))`.
    """
    if not isinstance(source, Source):
        raise ConfigError(
            f"plan() takes a source made by @ladle.source, not {type(source).__name__}",
            key="source",
        )
    resources = source.resources
    specs = tuple(_spec(item) for item in resources.values())
    members: dict[str, list[Resource]] = {}
    for item in resources.values():
        if item.selected:
            members.setdefault(_unit_root(item).name, []).append(item)
    taken: set[str] = set()
    units = []
    for root_name, group in members.items():
        unit_id = make_unique(normalize_identifier(root_name), taken, None)
        taken.add(unit_id)
        units.append(_unit(unit_id, source.name, resources[root_name], group))
    ref = SourceRef(source.origin, *source.call_args) if source.origin is not None else None
    return Plan(source.name, tuple(units), specs, ref)


def _unit_root(item: Resource) -> Resource:
    """The resource a unit is named after: the top of the chain of selected parents."""
    while item.parent is not None and item.parent.selected:
        item = item.parent
    return item


def _unit(unit_id: str, source_name: str, root: Resource, group: list[Resource]) -> Unit:
    also_runs: list[str] = []
    parent = root.parent
    while parent is not None:  # unselected: extracted to feed the unit, not loaded
        also_runs.insert(0, parent.name)
        parent = parent.parent
    ran = [*group, *(item for item in _ancestors(root))]
    tables = _unique(
        normalize_identifier(item.table_name) for item in group if isinstance(item.table_name, str)
    )
    dispositions = {item.hints.write_disposition for item in group}
    return Unit(
        id=unit_id,
        source_name=source_name,
        resources=tuple(item.name for item in group),
        tables=tables,
        dynamic_tables=any(callable(item.table_name) for item in group),
        also_runs=tuple(also_runs),
        description=_describe(group, also_runs),
        incremental=any(_is_incremental(item) for item in ran),
        write_disposition=dispositions.pop() if len(dispositions) == 1 else None,
    )


def _ancestors(item: Resource) -> list[Resource]:
    found = []
    while item.parent is not None:
        item = item.parent
        found.append(item)
    return found


def _spec(item: Resource) -> ResourceSpec:
    table = item.table_name
    return ResourceSpec(
        name=item.name,
        table=normalize_identifier(table) if isinstance(table, str) else None,
        write_disposition=item.hints.write_disposition,
        incremental=_is_incremental(item),
        selected=item.selected,
        parent=item.parent.name if item.parent is not None else None,
        primary_key=tuple(key_list(item.hints.primary_key)),
        description=_docstring(item),
    )


def _describe(group: list[Resource], also_runs: list[str]) -> str:
    parts = []
    for item in group:
        table = item.table_name
        target = f"table {normalize_identifier(table)}" if isinstance(table, str) else "tables"
        doc = _docstring(item)
        parts.append(f"{item.name} -> {target}" + (f": {doc}" if doc else ""))
    text = "; ".join(parts)
    if also_runs:
        text += f" (fed by {', '.join(also_runs)}, extracted but not loaded)"
    return text


def _docstring(item: Resource) -> str:
    """The first line of the resource function's docstring, if it has one."""
    producer = item.producer
    if not inspect.isfunction(producer):
        return ""
    doc = inspect.getdoc(producer) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _is_incremental(item: Resource) -> bool:
    """Whether the resource's function gets a `ladle.incremental` cursor (without calling it)."""
    if not callable(item.producer):
        return False
    try:
        signature = inspect.signature(item.producer)
    except (TypeError, ValueError):  # builtins and the like take no cursors
        return False
    # A transformer's function gets the parent's item first.
    args = (None, *item.args) if item.is_transformer else item.args
    try:
        bound = signature.bind_partial(*args, **item.kwargs).arguments
    except TypeError:  # arguments that do not fit fail when the resource runs, not here
        bound = {}
    return any(
        isinstance(bound.get(name, parameter.default), Incremental)
        for name, parameter in signature.parameters.items()
    )


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


__all__ = ["Plan", "ResourceSpec", "Unit", "plan"]
