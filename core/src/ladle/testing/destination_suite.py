"""The destination conformance suite: every destination, built in or third party, passes it.

Subclass it in a test module and provide a `destination` fixture:

    class TestMyDestination(DestinationSuite):
        @pytest.fixture
        def destination(self, tmp_path):
            return MyDestination(tmp_path / "data")

Each test loads through a real pipeline and reads back with `pipeline.dataset(...)`.
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
