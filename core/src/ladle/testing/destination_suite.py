"""The destination conformance suite: every destination, built in or third party, passes it.

Subclass it in a test module and provide a `destination` fixture:

    class TestMyDestination(DestinationSuite):
        @pytest.fixture
        def destination(self, tmp_path):
            return MyDestination(tmp_path / "data")

Each test loads through a real pipeline and reads back with `pipeline.dataset(...)`. The merge
cases run only for destinations whose capabilities say `merge=True`.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ladle
from ladle.destinations.base import Destination

UTC = datetime.timezone.utc
PipelineMaker = Callable[..., ladle.Pipeline]

# One row per data type, with the edge values that break naive loaders.
ROUND_TRIP_ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "big": 2**62,
        "ratio": 0.1,
        "flag": True,
        "name": "Zoë 東京 🚀",
        "empty": "",
        "missing": None,
        "at": datetime.datetime(2024, 3, 31, 1, 59, 59, 999999, tzinfo=UTC),
        "day": datetime.date(1999, 12, 31),
        "amount": decimal.Decimal("12345678901234567890123456789.123456789"),
        "blob": b"\x00\x01\xfe\xff",
        "meta": {"nested": [1, "two", None]},
    },
    {
        "id": 2,
        "big": -(2**62),
        "ratio": -2.5e-300,
        "flag": False,
        "name": "",
        "empty": None,
        "missing": None,
        "at": datetime.datetime(1970, 1, 1, tzinfo=UTC),
        "day": datetime.date(2024, 2, 29),
        "amount": decimal.Decimal("-0.000000001"),
        "blob": b"",
        "meta": {"nested": []},
    },
]
ROUND_TRIP_COLUMNS = {"meta": {"data_type": "json"}}


class DestinationSuite:
    """Behaviour every destination must show. Provide the `destination` fixture."""

    @pytest.fixture
    def destination(self) -> Destination:
        raise NotImplementedError("provide a `destination` fixture in your subclass")

    @pytest.fixture
    def make_pipeline(self, destination: Destination, tmp_path: Path) -> PipelineMaker:
        """`make_pipeline(workdir="a")`: a pipeline; another `workdir` is a fresh worker."""

        def make(workdir: str = "work", dataset_name: str = "suite") -> ladle.Pipeline:
            return ladle.pipeline(
                "suite",
                destination=destination,
                dataset_name=dataset_name,
                pipelines_dir=str(tmp_path / workdir),
                progress=False,
            )

        return make

    # -- create, append, replace ------------------------------------------------------------------
    def test_create_and_append(self, make_pipeline: PipelineMaker) -> None:
        pipeline = make_pipeline()
        first = pipeline.run([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], table_name="items")
        assert first.row_counts == {"items": 2}
        pipeline.run([{"id": 3, "name": "c"}], table_name="items")
        got = _rows(pipeline, "SELECT id, name FROM items ORDER BY id")
        assert got == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "c"}]
        loads = _rows(pipeline, "SELECT count(*) AS n FROM _ladle_loads")
        assert loads == [{"n": 2}]

    def test_replace_swaps_the_table_and_its_children(self, make_pipeline: PipelineMaker) -> None:
        pipeline = make_pipeline()
        pipeline.run(
            [{"id": 1, "tags": ["x", "y"]}], table_name="items", write_disposition="replace"
        )
        pipeline.run([{"id": 2}], table_name="items", write_disposition="replace")
        assert _rows(pipeline, "SELECT id FROM items") == [{"id": 2}]
        assert _rows(pipeline, "SELECT count(*) AS n FROM items__tags") == [{"n": 0}]

    # -- nesting and evolution --------------------------------------------------------------------
    def test_nested_data_links_children_to_parents(self, make_pipeline: PipelineMaker) -> None:
        pipeline = make_pipeline()
        pipeline.run(
            [{"id": 1, "owner": {"login": "ada"}, "lines": [{"sku": "a"}, {"sku": "b"}]}],
            table_name="orders",
        )
        got = _rows(
            pipeline,
            "SELECT o.id, o.owner__login, l.sku, l._ladle_list_idx AS idx FROM orders o "
            "JOIN orders__lines l ON l._ladle_parent_id = o._ladle_id ORDER BY idx",
        )
        assert got == [
            {"id": 1, "owner__login": "ada", "sku": "a", "idx": 0},
            {"id": 1, "owner__login": "ada", "sku": "b", "idx": 1},
        ]

    def test_schema_evolves_columns_child_tables_and_variants(
        self, make_pipeline: PipelineMaker
    ) -> None:
        pipeline = make_pipeline()
        pipeline.run([{"id": 1, "price": 10}], table_name="items")
        info = pipeline.run(
            [{"id": 2, "price": "n/a", "colour": "red", "parts": [{"n": 1}]}], table_name="items"
        )
        assert set(info.schema_changes) == {
            "new column items.price__v_text (text)",
            "new column items.colour (text)",
            "new table items__parts",
        }
        got = _rows(pipeline, "SELECT id, price, price__v_text, colour FROM items ORDER BY id")
        assert got == [
            {"id": 1, "price": 10, "price__v_text": None, "colour": None},
            {"id": 2, "price": None, "price__v_text": "n/a", "colour": "red"},
        ]
        assert _rows(pipeline, "SELECT n FROM items__parts") == [{"n": 1}]

    # -- exact round trip of every type -----------------------------------------------------------
    def test_all_types_round_trip_exactly(self, make_pipeline: PipelineMaker) -> None:
        pipeline = make_pipeline()
        pipeline.run(ROUND_TRIP_ROWS, table_name="types", columns=ROUND_TRIP_COLUMNS)
        columns = pipeline.schema.tables["types"].columns
        assert "missing" not in columns  # only nulls so far: no type, so no column yet
        typed = [name for name in ROUND_TRIP_ROWS[0] if name != "missing"]
        assert {name: columns[name].data_type for name in typed} == {
            "id": "bigint",
            "big": "bigint",
            "ratio": "double",
            "flag": "bool",
            "name": "text",
            "empty": "text",
            "at": "timestamp",
            "day": "date",
            "amount": "decimal",
            "blob": "binary",
            "meta": "json",
        }
        names = [n for n in ROUND_TRIP_ROWS[0] if n not in ("meta", "missing")]
        quoted = ", ".join(f'"{name}"' for name in names)
        got = _rows(pipeline, f"SELECT {quoted} FROM types ORDER BY id")
        for row, expected in zip(got, ROUND_TRIP_ROWS, strict=True):
            assert {n: _plain(row[n]) for n in names} == {n: expected[n] for n in names}
        meta = _rows(pipeline, "SELECT CAST(meta AS VARCHAR) AS meta FROM types ORDER BY id")
        assert [_json(r["meta"]) for r in meta] == [r["meta"] for r in ROUND_TRIP_ROWS]

    def test_identifiers_that_need_quoting(self, make_pipeline: PipelineMaker) -> None:
        pipeline = make_pipeline()
        long_name = "x" * 200
        pipeline.run(
            [{"select": 1, '"weird name"': "w", long_name: "long", "from": {"where": 2}}],
            table_name="order",
        )
        table = pipeline.schema.tables["order"]
        by_path = {c.source_path: c.name for c in table.columns.values() if c.source_path}
        names = [by_path[("select",)], by_path[('"weird name"',)], by_path[(long_name,)]]
        quoted = ", ".join(f'"{n}"' for n in names)
        got = _rows(pipeline, f'SELECT {quoted}, "from__where" FROM "order"')
        assert [list(row.values()) for row in got] == [[1, "w", "long", 2]]

    # -- state: committed with the data, resumed anywhere ------------------------------------------
    def test_incremental_state_resumes_on_a_fresh_worker(
        self, make_pipeline: PipelineMaker
    ) -> None:
        feed = _Feed()
        make_pipeline(workdir="worker_a").run(feed.source(upto=3).with_resources("events"))
        worker_b = make_pipeline(workdir="worker_b")
        assert worker_b.run(feed.source(upto=5).with_resources("events")).row_counts == {
            "events": 2
        }
        assert feed.asked == [0, 3]  # worker b started from worker a's cursor
        got = _rows(worker_b, "SELECT id FROM events ORDER BY id")
        assert [r["id"] for r in got] == [1, 2, 3, 4, 5]
        assert worker_b.state["resource:feed.events"]["incremental"]["id"]["last_value"] == 5

    def test_same_state_committed_twice_is_a_conflict(self, make_pipeline: PipelineMaker) -> None:
        feed = _Feed()
        worker_a, worker_b = make_pipeline(workdir="worker_a"), make_pipeline(workdir="worker_b")
        worker_a.extract(feed.source(upto=3).with_resources("events"))
        worker_b.extract(
            feed.source(upto=4).with_resources("events")
        )  # from the same cursor: rows 1-3 again
        worker_a.normalize()
        worker_b.normalize()
        worker_a.load()
        with pytest.raises(ladle.StateConflict, match="resource 'events' of source 'feed'"):
            worker_b.load()
        assert worker_b.run().load_ids == ()  # the stale package is gone
        assert worker_b.run(feed.source(upto=4).with_resources("events")).row_counts == {
            "events": 1
        }
        got = _rows(worker_b, "SELECT id FROM events ORDER BY id")
        assert [r["id"] for r in got] == [1, 2, 3, 4]

    def test_workers_on_different_resources_both_commit(self, make_pipeline: PipelineMaker) -> None:
        feed = _Feed()
        worker_a, worker_b = make_pipeline(workdir="worker_a"), make_pipeline(workdir="worker_b")
        worker_a.extract(feed.source(upto=2).with_resources("events"))
        worker_b.extract(feed.source(upto=2).with_resources("notes"))
        worker_a.normalize()
        worker_b.normalize()
        worker_a.load()
        worker_b.load()
        fresh = make_pipeline(workdir="worker_c")
        assert fresh.run(feed.source(upto=2)).row_counts == {}
        assert {"events", "notes"} <= set(fresh.schema.tables)  # both schema changes kept
        assert set(fresh.state) == {"resource:feed.events", "resource:feed.notes"}

    # -- merge (destinations with capabilities.merge) ----------------------------------------------
    def test_merge_replaces_rows_by_key_with_their_children(
        self, destination: Destination, make_pipeline: PipelineMaker
    ) -> None:
        _needs_merge(destination)
        pipeline = make_pipeline()
        hints: dict[str, Any] = {"primary_key": "id", "write_disposition": "merge"}
        first = [{"id": 1, "lines": ["a", "b"]}, {"id": 2, "lines": ["c"]}]
        pipeline.run(first, table_name="orders", **hints)
        # id 1 twice in one load: the latest yielded wins, and only its children land.
        second = [{"id": 1, "lines": ["x"]}, {"id": 1, "lines": ["y", "z"]}]
        pipeline.run(second, table_name="orders", **hints)
        got = _rows(
            pipeline,
            "SELECT o.id, l.value FROM orders o JOIN orders__lines l "
            "ON l._ladle_parent_id = o._ladle_id ORDER BY o.id, l._ladle_list_idx",
        )
        assert got == [{"id": 1, "value": "y"}, {"id": 1, "value": "z"}, {"id": 2, "value": "c"}]
        assert _rows(pipeline, "SELECT count(*) AS n FROM orders__lines") == [{"n": 3}]

    def test_merge_hard_deletes(
        self, destination: Destination, make_pipeline: PipelineMaker
    ) -> None:
        _needs_merge(destination)
        pipeline = make_pipeline()
        hints: dict[str, Any] = {
            "primary_key": "id",
            "write_disposition": "merge",
            "columns": {"deleted": {"hard_delete": True}},
        }
        pipeline.run([{"id": 1}, {"id": 2}], table_name="items", **hints)
        deletes = [{"id": 1, "deleted": True}, {"id": 3, "deleted": False}]
        pipeline.run(deletes, table_name="items", **hints)
        assert _rows(pipeline, "SELECT id FROM items ORDER BY id") == [{"id": 2}, {"id": 3}]

    def test_merge_scd2_keeps_history(
        self, destination: Destination, make_pipeline: PipelineMaker
    ) -> None:
        _needs_merge(destination)
        pipeline = make_pipeline()
        scd2 = {"disposition": "merge", "strategy": "scd2"}
        first = [{"id": 1, "city": "Oslo"}, {"id": 2, "city": "Rome"}]
        pipeline.run(first, table_name="people", write_disposition=scd2)
        second = [{"id": 1, "city": "Bergen"}, {"id": 2, "city": "Rome"}]
        pipeline.run(second, table_name="people", write_disposition=scd2)
        got = _rows(
            pipeline,
            "SELECT id, city, _ladle_valid_to IS NULL AS active FROM people "
            "ORDER BY _ladle_valid_from, id",
        )
        assert got == [
            {"id": 1, "city": "Oslo", "active": False},
            {"id": 2, "city": "Rome", "active": True},
            {"id": 1, "city": "Bergen", "active": True},
        ]

    # -- failures ---------------------------------------------------------------------------------
    def test_failure_mid_load_leaves_everything_as_before(
        self, make_pipeline: PipelineMaker, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pipeline = make_pipeline()
        pipeline.run([{"id": 0, "tags": ["a"]}], table_name="items")
        before = _snapshot(pipeline)
        real_open = pa.ipc.open_file
        opened = {"n": 0}

        def fail_on_second_file(*args: Any, **kwargs: Any) -> Any:
            opened["n"] += 1
            if opened["n"] == 2:
                raise OSError("injected failure while loading the second file")
            return real_open(*args, **kwargs)

        monkeypatch.setattr(pa.ipc, "open_file", fail_on_second_file)
        rows = [{"id": i, "tags": ["a", "b"]} for i in range(1, 51)]
        with pytest.raises(ladle.LadleError):
            pipeline.run(rows, table_name="items")
        monkeypatch.setattr(pa.ipc, "open_file", real_open)
        assert _snapshot(make_pipeline(workdir="reader")) == before
        info = pipeline.run()  # the pending package loads now, once
        assert info.row_counts == {"items": 50, "items__tags": 100}
        after = _snapshot(pipeline)
        assert after == {"items": 51, "items__tags": 101, "_ladle_loads": 2}

    def test_fresh_worker_resumes_schema_from_the_destination(
        self, make_pipeline: PipelineMaker
    ) -> None:
        make_pipeline(workdir="worker_a").run([{"id": 1, "price": 10}], table_name="items")
        worker_b = make_pipeline(workdir="worker_b")
        worker_b.run([{"id": 2, "price": 2.5}], table_name="items")
        assert worker_b.schema.tables["items"].columns["price"].data_type == "bigint"
        got = _rows(worker_b, "SELECT id, price, price__v_double FROM items ORDER BY id")
        assert got == [
            {"id": 1, "price": 10, "price__v_double": None},
            {"id": 2, "price": None, "price__v_double": 2.5},
        ]


class _Feed:
    """A source of two incremental resources over rows 1..upto; records where each run began."""

    def __init__(self) -> None:
        self.asked: list[Any] = []

    def source(self, upto: int) -> ladle.Source:
        asked = self.asked

        @ladle.resource(primary_key="id")
        def events(cursor: ladle.Incremental = ladle.incremental("id", initial_value=0)) -> Any:
            asked.append(cursor.last_value)
            yield [{"id": i, "kind": "event"} for i in range(1, upto + 1)]

        @ladle.resource(primary_key="id")
        def notes(cursor: ladle.Incremental = ladle.incremental("id", initial_value=0)) -> Any:
            yield [{"id": i, "text": f"note {i}"} for i in range(1, upto + 1)]

        @ladle.source(name="feed")
        def feed() -> Any:
            return events, notes

        return feed()


def _needs_merge(destination: Destination) -> None:
    if not destination.capabilities.merge:
        pytest.skip(f"{destination.name} does not merge (capabilities.merge is False)")


def _rows(pipeline: ladle.Pipeline, sql: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pipeline.dataset(sql).to_pylist()
    return rows


def _snapshot(pipeline: ladle.Pipeline) -> dict[str, int]:
    tables = ("items", "items__tags", "_ladle_loads")
    sql = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in tables)
    return {row["t"]: row["n"] for row in _rows(pipeline, sql)}


def _plain(value: Any) -> Any:
    """Values as Python compares them: bytes from memoryviews, timestamps in UTC."""
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value
