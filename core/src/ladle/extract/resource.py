"""Resources: named producers of data items, and transformers that feed on a parent resource.

A resource wraps a generator function, a generator, or plain data (a list, an Arrow table, a
DataFrame). `@ladle.resource` turns a function into a resource; calling the resource with
arguments binds them and returns a new resource. `@ladle.transformer(data_from=parent)` makes a
resource whose function receives each item (or page) the parent yields.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar, overload

from ladle.errors import ConfigError
from ladle.extract.resource_state import ResourceRun
from ladle.extract.write_disposition import WriteDispositionLike, parse_write_disposition
from ladle.schema.contract import SchemaContract, SchemaContractLike
from ladle.schema.naming import normalize_identifier
from ladle.schema.schema import MergeStrategy, WriteDisposition

TableName = str | Callable[[Any], str]
ColumnsHint = Mapping[str, Mapping[str, Any]] | type | None
KeyHint = str | Sequence[str] | None
Step = tuple[Literal["map", "filter", "limit"], Any]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ResourceHints:
    """How a resource's data lands: table, disposition, keys, column types, nesting, contract."""

    table_name: TableName | None = None
    write_disposition: WriteDisposition = "append"
    primary_key: KeyHint = None
    merge_key: KeyHint = None
    columns: ColumnsHint = None
    max_table_nesting: int | None = None
    schema_contract: SchemaContract | None = None
    # Set with the dict form of `write_disposition`; "delete-insert" for a plain "merge".
    merge_strategy: MergeStrategy | None = None

    def validated(self, owner: str) -> ResourceHints:
        if self.max_table_nesting is not None and (
            not isinstance(self.max_table_nesting, int) or self.max_table_nesting < 0
        ):
            raise ConfigError(
                f"resource '{owner}': max_table_nesting must be a whole number >= 0",
                key="max_table_nesting",
                resource=owner,
            )
        return self


@dataclass
class Resource:
    """A named source of data items. Iterate it to get its items after maps, filters and limits."""

    name: str
    hints: ResourceHints
    producer: Callable[..., Any] | Iterable[Any]
    parent: Resource | None = None
    selected: bool = True
    parallelized: bool = False
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    # -- binding ------------------------------------------------------------------------------
    def __call__(self, *args: Any, **kwargs: Any) -> Resource:
        """Bind arguments to the resource function; returns a new resource."""
        if not callable(self.producer):
            raise ConfigError(f"resource '{self.name}' wraps data and takes no arguments")
        return replace(self, args=args, kwargs=kwargs, steps=list(self.steps))

    @property
    def is_transformer(self) -> bool:
        return self.parent is not None

    @property
    def table_name(self) -> TableName:
        return self.hints.table_name or self.name

    # -- patching: each returns the resource so calls chain --------------------------------------
    def add_map(self, fn: Callable[[Any], Any]) -> Resource:
        """Apply `fn` to every record (pages are mapped record by record)."""
        self.steps.append(("map", fn))
        return self

    def add_filter(self, fn: Callable[[Any], bool]) -> Resource:
        """Keep only records for which `fn` returns true."""
        self.steps.append(("filter", fn))
        return self

    def add_limit(self, max_items: int) -> Resource:
        """Stop after `max_items` yields (items or pages): handy to sample a big API."""
        if max_items < 0:
            raise ConfigError(f"resource '{self.name}': add_limit needs a number >= 0")
        self.steps.append(("limit", max_items))
        return self

    def apply_hints(
        self,
        *,
        table_name: TableName | None = None,
        write_disposition: WriteDispositionLike | None = None,
        primary_key: KeyHint = None,
        merge_key: KeyHint = None,
        columns: ColumnsHint = None,
        max_table_nesting: int | None = None,
        schema_contract: SchemaContractLike = None,
    ) -> Resource:
        """Change how the resource's data lands; only the given hints change.

        `write_disposition` is a name or `{"disposition": "merge", "strategy": "scd2"}`."""
        changes: dict[str, Any] = {
            "table_name": table_name,
            "primary_key": primary_key,
            "merge_key": merge_key,
            "columns": columns,
            "max_table_nesting": max_table_nesting,
            "schema_contract": SchemaContract.parse(schema_contract, owner=f"resource {self.name}"),
        }
        given = {key: value for key, value in changes.items() if value is not None}
        if write_disposition is not None:
            disposition, strategy = parse_write_disposition(write_disposition, self.name)
            given.update(write_disposition=disposition, merge_strategy=strategy)
        self.hints = replace(self.hints, **given).validated(self.name)
        return self

    # -- producing items -------------------------------------------------------------------------
    def items(self, parent_item: Any = None, run: ResourceRun | None = None) -> Iterator[Any]:
        """The items of this resource (for a transformer: of one parent item), steps applied.

        `run` carries the resource's state in a pipeline; without one, incremental cursors
        start at their initial values."""
        if run is None:
            run = ResourceRun(self, {}, {}, None)
        return self._apply_steps(run.filtered(self._produce(parent_item, run)))

    def __iter__(self) -> Iterator[Any]:
        if self.is_transformer:
            raise ConfigError(f"transformer '{self.name}' runs inside its source, not on its own")
        return self.items()

    def _produce(self, parent_item: Any, run: ResourceRun) -> Iterator[Any]:
        producer = self.producer
        if self.is_transformer:
            assert callable(producer)
            produced = run.call(producer, (parent_item, *self.args), self.kwargs)
        elif callable(producer):
            produced = run.call(producer, self.args, self.kwargs)
        else:
            produced = producer
        return _as_item_iterator(produced)

    def _apply_steps(self, items: Iterator[Any]) -> Iterator[Any]:
        for kind, arg in self.steps:
            if kind == "limit":
                items = itertools.islice(items, arg)
            elif kind == "map":
                items = map(functools.partial(_map_records, arg), items)
            else:  # a filtered-out item is dropped here, before later steps see it
                items = filter(_is_kept, map(functools.partial(_filter_records, arg), items))
        return (item for item in items if not _is_empty(item))

    def copy(self) -> Resource:
        return replace(self, steps=list(self.steps))


def _is_kept(item: Any) -> bool:
    return item is not None


def _is_empty(item: Any) -> bool:
    return item is None or (isinstance(item, list) and not item)


def _as_item_iterator(produced: Any) -> Iterator[Any]:
    """Generators iterate; lists are one page; a single dict/table/DataFrame is one item."""
    if produced is None:
        return iter(())
    if inspect.isgenerator(produced) or isinstance(produced, Iterator):
        return produced
    if isinstance(produced, list):
        # A list of records is one page; a list of tables or frames is several items.
        if produced and all(_is_table(item) for item in produced):
            return iter(produced)
        return iter([produced])
    if isinstance(produced, (tuple, range)) or (
        isinstance(produced, Iterable) and not _is_single_item(produced)
    ):
        return iter(produced)
    return iter([produced])


def _is_single_item(value: Any) -> bool:
    """Dicts, strings, Arrow tables and DataFrames are items, even though they are iterable."""
    return isinstance(value, (dict, str, bytes)) or _is_table(value)


def _is_table(value: Any) -> bool:
    return type(value).__module__.startswith(("pyarrow", "pandas"))


def _map_records(fn: Callable[[Any], Any], item: Any) -> Any:
    if isinstance(item, list):
        return [fn(record) for record in item]
    return fn(item)


def _filter_records(fn: Callable[[Any], bool], item: Any) -> Any:
    if isinstance(item, list):
        return [record for record in item if fn(record)]
    return item if fn(item) else None


# -- decorators ---------------------------------------------------------------------------------


@overload
def resource(data: F, /) -> Resource: ...


@overload
def resource(
    data: None = None,
    /,
    *,
    name: str | None = None,
    table_name: TableName | None = None,
    write_disposition: WriteDispositionLike = "append",
    primary_key: KeyHint = None,
    merge_key: KeyHint = None,
    columns: ColumnsHint = None,
    max_table_nesting: int | None = None,
    schema_contract: SchemaContractLike = None,
    selected: bool = True,
    parallelized: bool = False,
) -> Callable[[Callable[..., Any]], Resource]: ...


@overload
def resource(
    data: Iterable[Any],
    /,
    *,
    name: str | None = None,
    table_name: TableName | None = None,
    write_disposition: WriteDispositionLike = "append",
    primary_key: KeyHint = None,
    merge_key: KeyHint = None,
    columns: ColumnsHint = None,
    max_table_nesting: int | None = None,
    schema_contract: SchemaContractLike = None,
    selected: bool = True,
    parallelized: bool = False,
) -> Resource: ...


def resource(
    data: Any = None,
    /,
    *,
    name: str | None = None,
    table_name: TableName | None = None,
    write_disposition: WriteDispositionLike = "append",
    primary_key: KeyHint = None,
    merge_key: KeyHint = None,
    columns: ColumnsHint = None,
    max_table_nesting: int | None = None,
    schema_contract: SchemaContractLike = None,
    selected: bool = True,
    parallelized: bool = False,
) -> Any:
    """Make a resource from a generator function (as a decorator) or from data.

    `write_disposition` is "append", "replace" or "merge" (rows replace stored rows by
    `primary_key` and/or `merge_key`), or `{"disposition": "merge", "strategy": "scd2"}`.

    >>> @ladle.resource(primary_key="id")
    ... def users():
    ...     yield {"id": 1, "name": "Ada", "address": {"city": "London"}}
    """

    def build(producer: Any, resource_name: str | None) -> Resource:
        if resource_name is None:
            raise ConfigError(
                "a resource made from data needs a name: ladle.resource(data, name=...)"
            )
        disposition, strategy = parse_write_disposition(write_disposition, resource_name)
        hints = ResourceHints(
            table_name=table_name,
            write_disposition=disposition,
            merge_strategy=strategy,
            primary_key=primary_key,
            merge_key=merge_key,
            columns=columns,
            max_table_nesting=max_table_nesting,
            schema_contract=SchemaContract.parse(
                schema_contract, owner=f"resource {resource_name}"
            ),
        ).validated(resource_name)
        return Resource(
            name=resource_name,
            hints=hints,
            producer=producer,
            selected=selected,
            parallelized=parallelized,
        )

    if data is None:
        return lambda fn: build(fn, name or fn.__name__)
    if callable(data) and not isinstance(data, Resource):
        return build(data, name or data.__name__)
    return build(data, name or _name_of_data(data))


def transformer(
    *,
    data_from: Resource,
    name: str | None = None,
    table_name: TableName | None = None,
    write_disposition: WriteDispositionLike = "append",
    primary_key: KeyHint = None,
    merge_key: KeyHint = None,
    columns: ColumnsHint = None,
    max_table_nesting: int | None = None,
    schema_contract: SchemaContractLike = None,
    selected: bool = True,
) -> Callable[[Callable[..., Any]], Resource]:
    """Make a resource whose function receives each item (or page) that `data_from` yields.

    >>> @ladle.transformer(data_from=users)
    ... def user_details(user):
    ...     yield {"user_id": user["id"], "score": 1}
    """
    if not isinstance(data_from, Resource):
        raise ConfigError(
            f"transformer data_from must be a resource, not {type(data_from).__name__}"
        )

    def wrap(fn: Callable[..., Any]) -> Resource:
        made = resource(
            name=name,
            table_name=table_name,
            write_disposition=write_disposition,
            primary_key=primary_key,
            merge_key=merge_key,
            columns=columns,
            max_table_nesting=max_table_nesting,
            schema_contract=schema_contract,
            selected=selected,
        )(fn)
        return replace(made, parent=data_from)

    return wrap


def _name_of_data(data: Any) -> str | None:
    """A generator is named after its function; a list or table has no name of its own."""
    if inspect.isgenerator(data):
        return data.__name__
    return None


def resource_from_data(data: Any, table_name: str | None) -> Resource:
    """What `pipeline.run(data, table_name=...)` makes of plain data."""
    if isinstance(data, Resource):
        return data
    name = table_name or _name_of_data(data)
    if name is None:
        raise ConfigError(
            f"cannot name the table for data of type {type(data).__name__}: "
            "pass table_name=... to run/extract",
            key="table_name",
        )
    made: Resource = resource(data, name=normalize_identifier(name) if not table_name else name)
    return made
