"""Schema contracts: per entity (tables, columns, data_type) a mode (evolve, freeze, discard_row,
discard_value), set on a resource or on a source (the resource's contract wins).

The first run loads a base table `items` (with a child table `items__tags`); a second run brings,
next to a conforming row 4, one row per entity that changes the schema:

    columns    row 3: a new column `extra`
    data_type  row 6: a text value in the bigint column `score` (variant `score__v_text`)
    tables     row 7: a new list field `notes` (a new child table `items__notes`)

Each changed row carries one tag (`t<id>`) in the existing child table `items__tags`, so dropping
a row must drop its child rows too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ladle

PipelineMaker = Callable[..., ladle.Pipeline]

BASE = [
    {"id": 1, "name": "a", "score": 10, "tags": ["t1"]},
    {"id": 2, "name": "b", "score": 20, "tags": ["t2a", "t2b"]},
]
BASE_TAGS = ["t1", "t2a", "t2b"]
GOOD_ROW = {"id": 4, "name": "d", "score": 40, "tags": ["t4"]}
CONFORMING_ROW = {"id": 5, "name": "e", "score": 50, "tags": ["t5"]}
ENTITIES = ["columns", "data_type", "tables"]
LEVELS = ["resource", "source"]


@dataclass(frozen=True)
class Change:
    """The row that brings one entity's change, and where the change shows up once evolved."""

    entity: str
    row: dict[str, Any]
    thing: str  # the new column / variant column of `items`, or the new child table
    column: str  # the field a violation must name
    value_type: str  # the Python type of the offending value
    evolved: dict[str, Any]  # the row as stored when the change is accepted
    discarded_value: dict[str, Any]  # the row as stored when only the value is dropped

    @property
    def id(self) -> int:
        return int(self.row["id"])


CHANGES = {
    "columns": Change(
        "columns",
        {"id": 3, "name": "c", "score": 30, "tags": ["t3"], "extra": "e"},
        thing="extra",
        column="extra",
        value_type="str",
        evolved={"id": 3, "name": "c", "score": 30, "extra": "e"},
        discarded_value={"id": 3, "name": "c", "score": 30},
    ),
    "data_type": Change(
        "data_type",
        {"id": 6, "name": "f", "score": "high", "tags": ["t6"]},
        thing="score__v_text",
        column="score",
        value_type="str",
        evolved={"id": 6, "name": "f", "score": None, "score__v_text": "high"},
        discarded_value={"id": 6, "name": "f", "score": None},
    ),
    "tables": Change(
        "tables",
        {
            "id": 7,
            "name": "g",
            "score": 70,
            "tags": ["t7"],
            "notes": [{"text": "n1"}, {"text": "n2"}],
        },
        thing="items__notes",
        column="notes",
        value_type="list",
        evolved={"id": 7, "name": "g", "score": 70},
        discarded_value={"id": 7, "name": "g", "score": 70},
    ),
}


@dataclass(frozen=True)
class Outcome:
    """What happens to one entity's change under one mode."""

    row_kept: bool  # the changed row (and its tag) is stored
    thing_added: bool  # the new column / variant / child table exists


EXPECTED: dict[tuple[str, str], Outcome] = {
    **{(entity, "evolve"): Outcome(row_kept=True, thing_added=True) for entity in ENTITIES},
    ("columns", "discard_row"): Outcome(row_kept=False, thing_added=False),
    ("data_type", "discard_row"): Outcome(row_kept=False, thing_added=False),
    # For `tables` the offending rows are those of the new child table (as in dlt): they are
    # dropped and the table is not created; row 7 itself fits the schema and is kept.
    ("tables", "discard_row"): Outcome(row_kept=True, thing_added=False),
    **{(entity, "discard_value"): Outcome(row_kept=True, thing_added=False) for entity in ENTITIES},
}


@pytest.fixture
def new_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PipelineMaker:
    monkeypatch.chdir(tmp_path)

    def make(name: str = "contracts") -> ladle.Pipeline:
        return ladle.pipeline(
            name,
            destination=ladle.destinations.duckdb(str(tmp_path / "x.duckdb")),
            pipelines_dir=str(tmp_path / "pipelines"),
            progress=False,
        )

    return make


def rows(pipeline: ladle.Pipeline, sql: str) -> list[dict[str, Any]]:
    return pipeline.dataset(sql).to_pylist()  # type: ignore[no-any-return]


@dataclass(frozen=True)
class State:
    """What the dataset holds, read in one connection."""

    columns: dict[str, set[str]]  # per table
    items: dict[int, dict[str, Any]]  # rows of `items` by id, data columns only
    tags: list[str]  # of `items__tags`
    notes: list[str]  # of `items__notes`, if it exists
    loads: int  # rows of `_ladle_loads`
    orphans: int  # child rows whose parent row is missing

    @property
    def tables(self) -> set[str]:
        return set(self.columns)

    @property
    def ids(self) -> list[int]:
        return sorted(self.items)


def state(pipeline: ladle.Pipeline) -> State:
    with pipeline.sql_client() as client:
        found = client.query(
            "SELECT table_name, column_name FROM information_schema.columns "
            f"WHERE table_schema = '{pipeline.dataset_name}'"
        ).to_pylist()
        columns: dict[str, set[str]] = {}
        for r in found:
            columns.setdefault(r["table_name"], set()).add(r["column_name"])

        def values(sql: str, table: str) -> list[Any]:
            if table not in columns:
                return []
            return [next(iter(r.values())) for r in client.query(sql).to_pylist()]

        orphans = sum(
            values(
                f'SELECT count(*) FROM "{child}" c LEFT JOIN "{parent}" p '
                "ON c._ladle_parent_id = p._ladle_id WHERE p._ladle_id IS NULL",
                child,
            )[0]
            for child, parent in _child_tables(pipeline, columns)
        )
        items = client.query("SELECT * FROM items").to_pylist()
        return State(
            columns=columns,
            items={
                r["id"]: {k: v for k, v in r.items() if not k.startswith("_ladle_")} for r in items
            },
            tags=values("SELECT value FROM items__tags ORDER BY value", "items__tags"),
            notes=values("SELECT text FROM items__notes ORDER BY _ladle_list_idx", "items__notes"),
            loads=values("SELECT count(*) FROM _ladle_loads", "_ladle_loads")[0],
            orphans=orphans,
        )


def _child_tables(pipeline: ladle.Pipeline, columns: dict[str, set[str]]) -> list[tuple[str, str]]:
    tables = pipeline.schema.tables
    return [
        (name, tables[name].parent)  # type: ignore[misc]
        for name in columns
        if name in tables and tables[name].parent is not None
    ]


def with_contract(level: str, contract: Any, data: list[dict[str, Any]]) -> Any:
    """`data` as resource `items`, with `contract` on the resource or on its source."""
    if level == "resource":
        return ladle.resource(data, name="items", schema_contract=contract)

    @ladle.source(schema_contract=contract)
    def shop() -> Any:
        return ladle.resource(data, name="items")

    return shop()


def thing_exists(got: State, change: Change) -> bool:
    if change.entity == "tables":
        return change.thing in got.tables
    return change.thing in got.columns["items"]


def in_local_schema(pipeline: ladle.Pipeline, change: Change) -> bool:
    tables = pipeline.schema.tables
    if change.entity == "tables":
        return change.thing in tables
    return change.thing in tables["items"].columns


def load_base(pipeline: ladle.Pipeline, level: str, contract: Any) -> State:
    info = pipeline.run(with_contract(level, contract, BASE))
    assert info.row_counts == {"items": 2, "items__tags": 3}
    return state(pipeline)


# -- the entity x mode matrix --------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("mode", ["evolve", "discard_row", "discard_value"])
def test_contract_mode_per_entity(new_pipeline: PipelineMaker, mode: str, level: str) -> None:
    """One run brings every entity's change (each in its own row); the table of EXPECTED says,
    per entity and mode, whether the row is kept and whether the schema changes."""
    pipeline = new_pipeline()
    load_base(pipeline, level, mode)
    changes = list(CHANGES.values())

    info = pipeline.run(with_contract(level, mode, [GOOD_ROW, *(c.row for c in changes)]))

    got = state(pipeline)
    kept = [c for c in changes if EXPECTED[(c.entity, mode)].row_kept]
    assert got.ids == sorted([1, 2, 4, *(c.id for c in kept)])
    assert got.tags == sorted([*BASE_TAGS, "t4", *(f"t{c.id}" for c in kept)])
    assert got.orphans == 0
    assert got.loads == 2
    assert info.row_counts["items"] == 1 + len(kept)
    assert info.row_counts["items__tags"] == 1 + len(kept)
    assert {k: v for k, v in got.items[4].items() if v is not None} == {
        "id": 4,
        "name": "d",
        "score": 40,
    }
    for change in changes:
        expected = EXPECTED[(change.entity, mode)]
        assert thing_exists(got, change) is expected.thing_added, change.entity
        assert in_local_schema(pipeline, change) is expected.thing_added, change.entity
        if not expected.row_kept:
            assert change.id not in got.items, change.entity
            continue
        stored = {k: v for k, v in got.items[change.id].items() if v is not None}
        wanted = change.evolved if expected.thing_added else change.discarded_value
        assert stored == {k: v for k, v in wanted.items() if v is not None}, change.entity
    if mode == "evolve":
        assert got.notes == ["n1", "n2"]
        assert info.row_counts["items__notes"] == 2
        for change in changes:
            assert any(change.thing in c for c in info.schema_changes), change.entity
    else:
        assert "items__notes" not in info.row_counts


@pytest.mark.parametrize("level", LEVELS)
def test_freeze_raises_per_entity_and_loads_nothing(
    new_pipeline: PipelineMaker, level: str
) -> None:
    pipeline = new_pipeline()
    before = load_base(pipeline, level, "freeze")

    for change in CHANGES.values():
        with pytest.raises(ladle.ContractViolation) as raised:
            pipeline.run(with_contract(level, "freeze", [GOOD_ROW, change.row]))
        assert_violation(raised.value, change)
        assert not in_local_schema(pipeline, change)

    # Nothing of those runs was loaded (not even the good row 4), nothing is left pending.
    assert state(pipeline) == before
    assert pipeline.run().load_ids == ()
    # The next good run still works, under the same contract.
    info = pipeline.run(with_contract(level, "freeze", [CONFORMING_ROW]))
    assert info.row_counts == {"items": 1, "items__tags": 1}
    assert state(pipeline).ids == [1, 2, 5]


def assert_violation(err: ladle.ContractViolation, change: Change) -> None:
    message = str(err)
    assert isinstance(err, ladle.SchemaError)
    assert err.entity == change.entity
    assert f"{change.entity}='freeze'" in message
    assert "'items" in message  # names the table
    assert change.column in message  # names the field
    if change.entity == "tables":
        assert f"'{change.thing}'" in message
    else:
        assert (err.table, err.column) == ("items", change.column)
        assert f"'{change.column}'" in message
        assert f"value type {change.value_type}" in message


@pytest.mark.parametrize("frozen", ENTITIES)
def test_contract_dict_governs_only_its_entity(new_pipeline: PipelineMaker, frozen: str) -> None:
    contract = {frozen: "freeze"}
    pipeline = new_pipeline()
    load_base(pipeline, "resource", contract)
    change = CHANGES[frozen]
    others = [c for c in CHANGES.values() if c.entity != frozen]

    with pytest.raises(ladle.ContractViolation, match=f"{frozen}='freeze'"):
        pipeline.run(with_contract("resource", contract, [GOOD_ROW, change.row]))
    pipeline.run(with_contract("resource", contract, [GOOD_ROW, *(c.row for c in others)]))

    got = state(pipeline)
    assert got.ids == sorted([1, 2, 4, *(c.id for c in others)])
    assert not thing_exists(got, change)
    assert all(thing_exists(got, c) for c in others)


def test_freeze_allows_the_first_load_of_a_table(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    info = pipeline.run(with_contract("resource", "freeze", BASE))
    assert info.row_counts == {"items": 2, "items__tags": 3}


ARROW_EXPECTED: dict[str, tuple[list[int], set[str]]] = {
    # mode: (ids stored after the second run, new columns of `items`)
    "evolve": ([1, 2, 3, 4, 5], {"extra", "score__v_text"}),
    "freeze": ([1, 2], set()),
    "discard_row": ([1, 2, 4], set()),
    "discard_value": ([1, 2, 3, 4, 5], set()),
}


def test_a_frozen_table_refuses_a_new_arrow_column_that_holds_only_nulls(
    new_pipeline: PipelineMaker,
) -> None:
    # Typed by Arrow, the column would change the schema even without a value.
    pipeline = new_pipeline()
    pipeline.run(ladle.resource(pa.table({"id": [1]}), name="items", schema_contract="freeze"))
    late = pa.table({"id": [2], "extra": pa.array([None], pa.string())})
    with pytest.raises(ladle.ContractViolation, match=r"'extra' \(text, value type null\)"):
        pipeline.run(ladle.resource(late, name="items", schema_contract="freeze"))


@pytest.mark.parametrize("mode", list(ARROW_EXPECTED))
def test_contract_applies_to_arrow_tables(new_pipeline: PipelineMaker, mode: str) -> None:
    def items(*tables: Any) -> ladle.Resource:
        @ladle.resource(name="items", schema_contract=mode)
        def produce() -> Iterator[Any]:
            yield from tables

        return produce()

    pipeline = new_pipeline()
    pipeline.run(items(pa.table({"id": [1, 2], "score": [10, 20]})))
    before = state(pipeline)
    new_column = pa.table({"id": [3, 4], "score": [30, 40], "extra": ["e", None]})
    new_type = pa.table({"id": [5], "score": ["high"]})

    if mode == "freeze":
        with pytest.raises(ladle.ContractViolation, match=r"'extra'.*value type str"):
            pipeline.run(items(new_column, new_type))
        assert state(pipeline) == before
    else:
        pipeline.run(items(new_column, new_type))

    got = state(pipeline)
    ids, added = ARROW_EXPECTED[mode]
    assert got.ids == ids
    assert {c for c in got.columns["items"] if not c.startswith("_ladle_")} == {
        "id",
        "score",
        *added,
    }
    if mode == "discard_value":
        assert got.items[3] == {"id": 3, "score": 30}
        assert got.items[5] == {"id": 5, "score": None}


# -- discarding in nested data -------------------------------------------------------------------


def test_discard_row_drops_grandchildren_too(new_pipeline: PipelineMaker) -> None:
    contract = {"columns": "discard_row"}
    base = [{"id": 1, "orders": [{"sku": "a", "lines": [{"n": 1}, {"n": 2}]}]}]
    pipeline = new_pipeline()
    pipeline.run(ladle.resource(base, name="items", schema_contract=contract))

    bad = {"id": 2, "extra": "x", "orders": [{"sku": "b", "lines": [{"n": 3}]}]}
    good = {"id": 3, "orders": [{"sku": "c", "lines": [{"n": 4}]}]}
    info = pipeline.run(ladle.resource([bad, good], name="items", schema_contract=contract))

    assert info.row_counts == {"items": 1, "items__orders": 1, "items__orders__lines": 1}
    got = state(pipeline)
    assert got.ids == [1, 3]
    assert got.orphans == 0
    skus = rows(pipeline, "SELECT sku FROM items__orders ORDER BY sku")
    assert skus == [{"sku": "a"}, {"sku": "c"}]
    lines = rows(pipeline, "SELECT n FROM items__orders__lines ORDER BY n")
    assert lines == [{"n": 1}, {"n": 2}, {"n": 4}]


def test_discard_row_in_a_child_table_drops_that_child_row(new_pipeline: PipelineMaker) -> None:
    contract = {"columns": "discard_row"}
    base = [{"id": 1, "orders": [{"sku": "a"}]}]
    pipeline = new_pipeline()
    pipeline.run(ladle.resource(base, name="items", schema_contract=contract))

    data = [{"id": 2, "orders": [{"sku": "b", "gift": True}, {"sku": "c"}]}]
    pipeline.run(ladle.resource(data, name="items", schema_contract=contract))

    got = state(pipeline)
    assert got.ids == [1, 2]
    assert got.orphans == 0
    assert "gift" not in got.columns["items__orders"]
    skus = rows(pipeline, "SELECT sku FROM items__orders ORDER BY sku")
    assert skus == [{"sku": "a"}, {"sku": "c"}]


# -- resource vs source --------------------------------------------------------------------------


# (source contract, resource contract, whether a new column is refused)
PRECEDENCE: list[tuple[Any, Any, bool]] = [
    ("freeze", "evolve", False),
    ("evolve", "freeze", True),
    ({"columns": "freeze"}, {"columns": "evolve"}, False),
    ({"columns": "evolve"}, {"columns": "freeze"}, True),
    ("freeze", {"columns": "discard_value"}, False),
    ("freeze", None, True),
    (None, "freeze", True),
    (None, None, False),
]


def _shop(source_contract: Any, resources: dict[str, tuple[list[dict[str, Any]], Any]]) -> Any:
    """Source `shop` with resources name -> (data, resource contract)."""

    @ladle.source(schema_contract=source_contract)
    def shop() -> Any:
        return [
            ladle.resource(data, name=name, schema_contract=contract)
            for name, (data, contract) in resources.items()
        ]

    return shop()


def test_resource_contract_wins_over_source(new_pipeline: PipelineMaker) -> None:
    """Each case has its own table `items_<n>` in one dataset; all are loaded first."""
    pipeline = new_pipeline()
    names = [f"items_{n}" for n in range(len(PRECEDENCE))]
    pipeline.run(_shop(None, {name: (BASE, None) for name in names}))
    new_column = CHANGES["columns"].row

    for name, (source_contract, resource_contract, refused) in zip(names, PRECEDENCE, strict=True):
        second = _shop(source_contract, {name: ([new_column], resource_contract)})
        if refused:
            with pytest.raises(ladle.ContractViolation, match=rf"table '{name}'.*'extra'"):
                pipeline.run(second)
        else:
            pipeline.run(second)

    with pipeline.sql_client() as client:
        for name, case in zip(names, PRECEDENCE, strict=True):
            stored = client.query(f"SELECT * FROM {name} ORDER BY id").to_pylist()
            if case[2]:
                assert [r["id"] for r in stored] == [1, 2], case
            else:
                assert [r["id"] for r in stored] == [1, 2, 3], case
                expected_extra = None if case[1] == {"columns": "discard_value"} else "e"
                assert stored[-1].get("extra") == expected_extra, case


def test_apply_hints_and_run_argument_set_the_contract(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    pipeline.run(ladle.resource(BASE, name="items"))
    new_column = CHANGES["columns"].row

    hinted = ladle.resource([new_column], name="items").apply_hints(schema_contract="freeze")
    with pytest.raises(ladle.ContractViolation, match="'extra'"):
        pipeline.run(hinted)
    with pytest.raises(ladle.ContractViolation, match="'extra'"):
        pipeline.run([new_column], table_name="items", schema_contract={"columns": "freeze"})

    assert state(pipeline).ids == [1, 2]
    pipeline.run([new_column], table_name="items", schema_contract={"columns": "discard_value"})
    got = state(pipeline)
    assert got.ids == [1, 2, 3]
    assert "extra" not in got.columns["items"]


# -- invalid contracts ---------------------------------------------------------------------------


def _set_contract(where: str, contract: Any, pipeline: ladle.Pipeline) -> None:
    items = ladle.resource(BASE, name="items")
    if where == "resource":
        ladle.resource(BASE, name="items", schema_contract=contract)
    elif where == "source":

        def shop() -> Any:
            return items

        ladle.source(schema_contract=contract)(shop)
    elif where == "apply_hints":
        items.apply_hints(schema_contract=contract)
    elif where == "run":
        pipeline.run(items, schema_contract=contract)
    else:

        def details(item: Any) -> Iterator[Any]:
            yield item

        ladle.transformer(data_from=items, schema_contract=contract)(details)


@pytest.mark.parametrize(
    ("contract", "named"),
    [
        ("frozen", "'frozen'"),
        ("FREEZE", "'FREEZE'"),
        ("", "''"),
        ({"columns": "nope"}, "columns='nope'"),
        ({"data_type": None}, "data_type=None"),
        ({"colums": "freeze"}, "colums"),
        (42, "42"),
        (["freeze"], "freeze"),
    ],
)
@pytest.mark.parametrize("where", ["resource", "source", "apply_hints", "run", "transformer"])
def test_invalid_contract_is_config_error(
    new_pipeline: PipelineMaker, contract: Any, named: str, where: str
) -> None:
    pipeline = new_pipeline()

    with pytest.raises(ladle.ConfigError) as raised:
        _set_contract(where, contract, pipeline)

    err = raised.value
    assert err.key == "schema_contract"
    assert named in str(err)
    owner = {"source": "source shop", "transformer": "resource details"}.get(
        where, "resource items"
    )
    assert owner in str(err)
    assert pipeline.run().load_ids == ()
