"""The `merge` write disposition on DuckDB and PostgreSQL: delete-insert by primary key (with
in-load dedup), merge-key partitions, hard deletes, child tables kept consistent, and scd2.

The basics every merging destination shows are in `ladle.testing.DestinationSuite`; this module
covers the rest on real DuckDB files and the real PostgreSQL server.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ladle
from ladle.destinations.base import Destination
from ladle.destinations.postgres.client import PostgresClient
from tests.core.destinations.postgres_server import fresh_postgres_destination

MakePipeline = Callable[..., ladle.Pipeline]
SCD2 = {"disposition": "merge", "strategy": "scd2"}


@pytest.fixture(params=["duckdb", "postgres"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Destination:
    if request.param == "duckdb":
        return ladle.destinations.duckdb(str(tmp_path / "merge.duckdb"))
    return fresh_postgres_destination()


def worker(destination: Destination, workdir: Path) -> ladle.Pipeline:
    """A pipeline into the `merging` dataset; each working directory is another worker."""
    return ladle.pipeline(
        "merging",
        destination=destination,
        dataset_name="merging",
        pipelines_dir=str(workdir),
        progress=False,
    )


@pytest.fixture
def make_pipeline(destination: Destination, tmp_path: Path) -> MakePipeline:
    return lambda workdir="work": worker(destination, tmp_path / workdir)


@pytest.fixture
def pipeline(make_pipeline: MakePipeline) -> ladle.Pipeline:
    return make_pipeline()


def rows(pipeline: ladle.Pipeline, sql: str) -> list[dict[str, Any]]:
    return pipeline.dataset(sql).to_pylist()  # type: ignore[no-any-return]


def merged(name: str = "items", **hints: Any) -> Callable[[Iterable[Any]], ladle.Resource]:
    """A resource factory: `merged(primary_key="id")(rows)` loads `rows` into `name`."""
    hints.setdefault("write_disposition", "merge")

    def make(data: Iterable[Any]) -> ladle.Resource:
        return ladle.resource(
            list(data) if not isinstance(data, pa.Table) else data, name=name, **hints
        )

    return make


# -- delete-insert by primary key -----------------------------------------------------------------
def test_latest_yielded_row_wins_within_a_load_and_replaces_across_loads(
    pipeline: ladle.Pipeline,
) -> None:
    items = merged(primary_key="id")
    pipeline.run(items([{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 1, "v": "c"}]))
    assert rows(pipeline, "SELECT id, v FROM items ORDER BY id") == [
        {"id": 1, "v": "c"},
        {"id": 2, "v": "b"},
    ]
    pipeline.run(items([{"id": 2, "v": "B"}, {"id": 3, "v": "d"}]))
    assert rows(pipeline, "SELECT id, v FROM items ORDER BY id") == [
        {"id": 1, "v": "c"},
        {"id": 2, "v": "B"},
        {"id": 3, "v": "d"},
    ]


@pytest.mark.parametrize(("order", "kept"), [("desc", "newest"), ("asc", "oldest")])
def test_dedup_sort_keeps_the_highest_or_lowest(
    pipeline: ladle.Pipeline, order: str, kept: str
) -> None:
    items = merged(primary_key="id", columns={"updated": {"dedup_sort": order}})
    pipeline.run(
        items(
            [
                {"id": 1, "updated": 5, "v": "middle"},
                {"id": 1, "updated": 9, "v": "newest"},
                {"id": 1, "updated": None, "v": "no sort value: never preferred"},
                {"id": 1, "updated": 1, "v": "oldest"},
            ]
        )
    )
    assert rows(pipeline, "SELECT v FROM items") == [{"v": kept}]
    assert pipeline.schema.tables["items"].columns["updated"].dedup_sort == order


def test_composite_primary_key(pipeline: ladle.Pipeline) -> None:
    items = merged(primary_key=["shop", "sku"])
    pipeline.run(items([{"shop": 1, "sku": "a", "n": 1}, {"shop": 2, "sku": "a", "n": 2}]))
    pipeline.run(items([{"shop": 2, "sku": "a", "n": 20}, {"shop": 1, "sku": "b", "n": 3}]))
    got = rows(pipeline, "SELECT shop, sku, n FROM items ORDER BY shop, sku")
    assert got == [
        {"shop": 1, "sku": "a", "n": 1},
        {"shop": 1, "sku": "b", "n": 3},
        {"shop": 2, "sku": "a", "n": 20},
    ]


# -- merge key: partitions ------------------------------------------------------------------------
def test_merge_key_replaces_whole_partitions(pipeline: ladle.Pipeline) -> None:
    days = merged(name="events", merge_key="day")
    pipeline.run(days([{"day": 1, "n": 1}, {"day": 1, "n": 2}, {"day": 2, "n": 3}]))
    pipeline.run(days([{"day": 1, "n": 4}, {"day": 3, "n": 5}]))
    got = rows(pipeline, "SELECT day, n FROM events ORDER BY day, n")
    assert got == [{"day": 1, "n": 4}, {"day": 2, "n": 3}, {"day": 3, "n": 5}]


def test_merge_key_with_primary_key(pipeline: ladle.Pipeline) -> None:
    events = merged(name="events", primary_key="id", merge_key="day")
    pipeline.run(events([{"id": 1, "day": 1}, {"id": 2, "day": 1}, {"id": 3, "day": 2}]))
    # Day 1 is reloaded with only id 1; id 3 moves to day 3 (its old row goes by primary key).
    pipeline.run(events([{"id": 1, "day": 1}, {"id": 1, "day": 1}, {"id": 3, "day": 3}]))
    got = rows(pipeline, "SELECT id, day FROM events ORDER BY id")
    assert got == [{"id": 1, "day": 1}, {"id": 3, "day": 3}]


def test_keys_are_those_of_the_current_load(pipeline: ladle.Pipeline) -> None:
    pipeline.run(merged(name="events", merge_key="day")([{"id": 1, "day": 1}]))
    pipeline.run(merged(name="events", primary_key="id")([{"id": 2, "day": 1}]))
    assert rows(pipeline, "SELECT id FROM events ORDER BY id") == [{"id": 1}, {"id": 2}]
    hints = {c.name: c.hints for c in pipeline.schema.tables["events"].columns.values()}
    assert ("merge_key" in hints["day"], "primary_key" in hints["id"]) == (False, True)


# -- hard deletes ---------------------------------------------------------------------------------
def test_hard_delete_by_a_bool_or_any_non_null_value(pipeline: ladle.Pipeline) -> None:
    flagged = merged(primary_key="id", columns={"deleted": {"hard_delete": True}})
    pipeline.run(flagged([{"id": i, "tags": ["t"]} for i in range(1, 5)]))
    pipeline.run(
        flagged(
            [
                {"id": 1, "deleted": True},
                {"id": 2, "deleted": False, "v": "kept"},
                {"id": 9, "deleted": True},  # nothing to delete: not inserted either
            ]
        )
    )
    assert rows(pipeline, "SELECT id, v FROM items ORDER BY id") == [
        {"id": 2, "v": "kept"},
        {"id": 3, "v": None},
        {"id": 4, "v": None},
    ]
    assert rows(pipeline, "SELECT count(*) AS n FROM items__tags") == [{"n": 2}]
    stamped = merged(name="stamped", primary_key="id", columns={"gone_at": {"hard_delete": True}})
    pipeline.run(stamped([{"id": 1}, {"id": 2}]))
    pipeline.run(
        stamped([{"id": 1, "gone_at": "2024-05-01T00:00:00Z"}, {"id": 2, "gone_at": None}])
    )
    assert rows(pipeline, "SELECT id FROM stamped") == [{"id": 2}]


# -- child tables ---------------------------------------------------------------------------------
def test_child_tables_follow_their_parents(pipeline: ladle.Pipeline) -> None:
    orders = merged(name="orders", primary_key="id")
    pipeline.run(
        orders(
            [
                {"id": 1, "lines": [{"sku": "a", "parts": [1, 2]}, {"sku": "b"}]},
                {"id": 2, "lines": [{"sku": "c", "parts": [3]}]},
            ]
        )
    )
    pipeline.run(
        orders(
            [
                {"id": 1, "lines": [{"sku": "lost", "parts": [99]}]},  # a duplicate that loses
                {"id": 1, "lines": [{"sku": "z", "parts": [7, 8]}, {"sku": "y"}]},
                {"id": 3},
            ]
        )
    )
    got = rows(
        pipeline,
        "SELECT o.id, l.sku, l._ladle_list_idx AS idx FROM orders o "
        "JOIN orders__lines l ON l._ladle_parent_id = o._ladle_id ORDER BY o.id, idx",
    )
    assert got == [
        {"id": 1, "sku": "z", "idx": 0},
        {"id": 1, "sku": "y", "idx": 1},
        {"id": 2, "sku": "c", "idx": 0},
    ]
    parts = rows(
        pipeline,
        "SELECT l.sku, p.value FROM orders__lines l JOIN orders__lines__parts p "
        "ON p._ladle_parent_id = l._ladle_id ORDER BY l.sku, p._ladle_list_idx",
    )
    assert parts == [{"sku": "c", "value": 3}, {"sku": "z", "value": 7}, {"sku": "z", "value": 8}]
    assert _orphans(pipeline) == 0


def _orphans(pipeline: ladle.Pipeline) -> int:
    """Child rows whose parent row, or root row, is gone."""
    got = rows(
        pipeline,
        "SELECT (SELECT count(*) FROM orders__lines l WHERE NOT EXISTS (SELECT 1 FROM orders o "
        "WHERE o._ladle_id = l._ladle_parent_id)) + (SELECT count(*) FROM orders__lines__parts p "
        "WHERE NOT EXISTS (SELECT 1 FROM orders__lines l WHERE l._ladle_id = p._ladle_parent_id)"
        ") + (SELECT count(*) FROM orders__lines__parts p WHERE NOT EXISTS (SELECT 1 FROM orders "
        "o WHERE o._ladle_id = p._ladle_root_id)) AS n",
    )
    return int(got[0]["n"])


def test_switching_from_append_to_merge_replaces_the_children_appended_before(
    make_pipeline: MakePipeline,
) -> None:
    before = {"id": 1, "lines": [{"sku": "old", "parts": [1]}]}
    appended = make_pipeline()
    appended.run(ladle.resource([before, {"id": 2, "lines": [{"sku": "kept"}]}], name="orders"))
    pipeline = make_pipeline("merging_now")  # the same tables, now merged by id
    pipeline.run(merged(name="orders", primary_key="id")([{"id": 1, "lines": [{"sku": "new"}]}]))
    got = rows(pipeline, "SELECT sku FROM orders__lines ORDER BY sku")
    assert got == [{"sku": "kept"}, {"sku": "new"}]
    assert rows(pipeline, "SELECT count(*) AS n FROM orders__lines__parts") == [{"n": 0}]
    assert _orphans(pipeline) == 0


def test_rows_appended_between_merges_are_replaced_by_the_next_merge(
    make_pipeline: MakePipeline,
) -> None:
    orders = merged(name="orders", primary_key="id")
    pipeline = make_pipeline()
    pipeline.run(orders([{"id": 1, "lines": [{"sku": "first", "parts": [1]}]}]))
    appended = [{"id": 2, "lines": [{"sku": "appended", "parts": [2]}]}]
    pipeline.run(ladle.resource(appended, name="orders"))
    pipeline.run(orders([{"id": 2, "lines": [{"sku": "merged", "parts": [3]}]}]))
    got = rows(pipeline, "SELECT sku FROM orders__lines ORDER BY sku")
    assert got == [{"sku": "first"}, {"sku": "merged"}]
    assert _orphans(pipeline) == 0


def test_merge_into_a_table_that_does_not_exist_yet(pipeline: ladle.Pipeline) -> None:
    info = pipeline.run(merged(primary_key="id")([{"id": 1, "tags": ["a"]}, {"id": 1}]))
    assert info.row_counts == {"items": 2, "items__tags": 1}  # what was normalized
    assert rows(pipeline, "SELECT id FROM items") == [{"id": 1}]
    assert rows(pipeline, "SELECT count(*) AS n FROM items__tags") == [{"n": 0}]
    columns = pipeline.schema.tables["items__tags"].columns
    assert "_ladle_root_id" in columns


def test_schema_evolves_during_a_merge(pipeline: ladle.Pipeline) -> None:
    items = merged(primary_key="id")
    pipeline.run(items([{"id": 1, "v": "a"}, {"id": 2, "v": "b"}]))
    info = pipeline.run(items([{"id": 2, "v": "B", "colour": "red", "sizes": [1]}]))
    assert set(info.schema_changes) == {"new column items.colour (text)", "new table items__sizes"}
    assert rows(pipeline, "SELECT id, v, colour FROM items ORDER BY id") == [
        {"id": 1, "v": "a", "colour": None},
        {"id": 2, "v": "B", "colour": "red"},
    ]
    assert rows(pipeline, "SELECT value FROM items__sizes") == [{"value": 1}]


def test_arrow_tables_merge_too(pipeline: ladle.Pipeline) -> None:
    items = merged(primary_key="id")
    pipeline.run(items(pa.table({"id": [1, 2], "v": ["a", "b"]})))
    pipeline.run(items(pa.table({"id": [2, 2, 3], "v": ["x", "y", "c"]})))
    assert rows(pipeline, "SELECT id, v FROM items ORDER BY id") == [
        {"id": 1, "v": "a"},
        {"id": 2, "v": "y"},
        {"id": 3, "v": "c"},
    ]


def test_a_failing_merge_changes_nothing(
    make_pipeline: MakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = make_pipeline()
    orders = merged(name="orders", primary_key="id")
    pipeline.run(orders([{"id": i, "lines": [{"sku": f"s{i}"}]} for i in range(3)]))
    lines = (
        "SELECT id, l.sku FROM orders o LEFT JOIN orders__lines l "
        "ON l._ladle_parent_id = o._ladle_id ORDER BY id"
    )
    before = rows(pipeline, lines)
    real_open = pa.ipc.open_file
    opened = {"n": 0}

    def fail_on_second_file(*args: Any, **kwargs: Any) -> Any:
        # The root file is staged and merged (old rows deleted, new ones inserted) first.
        opened["n"] += 1
        if opened["n"] == 2:
            raise OSError("injected failure while loading the child table")
        return real_open(*args, **kwargs)

    monkeypatch.setattr(pa.ipc, "open_file", fail_on_second_file)
    with pytest.raises(ladle.LoadError):
        pipeline.run(orders([{"id": 1, "lines": [{"sku": "new"}]}, {"id": 7}]))
    monkeypatch.setattr(pa.ipc, "open_file", real_open)
    assert rows(make_pipeline(workdir="reader"), lines) == before
    pipeline.run()  # the pending package loads now, once
    assert rows(pipeline, lines) == [
        {"id": 0, "sku": "s0"},
        {"id": 1, "sku": "new"},
        {"id": 2, "sku": "s2"},
        {"id": 7, "sku": None},
    ]


# -- scd2 -----------------------------------------------------------------------------------------
def test_scd2_keeps_history_across_three_loads(pipeline: ladle.Pipeline) -> None:
    people = merged(name="people", write_disposition=SCD2)
    pipeline.run(
        people(
            [
                {"id": 1, "city": "Oslo", "pets": ["cat"]},
                {"id": 2, "city": "Rome"},
                {"id": 3, "city": "Lima"},
            ]
        )
    )
    first = _versions(pipeline)
    pipeline.run(people([{"id": 1, "city": "Bergen", "pets": ["dog"]}, {"id": 2, "city": "Rome"}]))
    second = _versions(pipeline)
    pipeline.run(people([{"id": 1, "city": "Oslo", "pets": ["cat"]}, {"id": 2, "city": "Rome"}]))
    third = _versions(pipeline)

    load1, load2, load3 = sorted({v["_ladle_valid_from"] for v in third})
    by_city = {(v["id"], v["city"], v["_ladle_valid_from"]): v for v in third}
    # Unchanged: id 2 is the very row of load 1, never touched.
    assert [v for v in third if v["id"] == 2] == [v for v in first if v["id"] == 2]
    # Retired when absent (id 3) or changed (id 1 Oslo, then Bergen).
    assert by_city[(3, "Lima", load1)]["_ladle_valid_to"] == load2
    assert by_city[(1, "Oslo", load1)]["_ladle_valid_to"] == load2
    assert by_city[(1, "Bergen", load2)]["_ladle_valid_to"] == load3
    # Changed back: a new version with its own id and its own children.
    back = by_city[(1, "Oslo", load3)]
    assert back["_ladle_valid_to"] is None
    assert back["_ladle_id"] != by_city[(1, "Oslo", load1)]["_ladle_id"]
    assert back["_ladle_row_hash"] == by_city[(1, "Oslo", load1)]["_ladle_row_hash"]
    pets = rows(
        pipeline,
        "SELECT p.city, p._ladle_valid_from AS since, x.value FROM people p "
        "JOIN people__pets x ON x._ladle_parent_id = p._ladle_id ORDER BY since",
    )
    assert pets == [
        {"city": "Oslo", "since": load1, "value": "cat"},
        {"city": "Bergen", "since": load2, "value": "dog"},
        {"city": "Oslo", "since": load3, "value": "cat"},
    ]
    assert (len(first), len(second), len(third)) == (3, 4, 5)
    active = rows(pipeline, "SELECT id, city FROM people WHERE _ladle_valid_to IS NULL ORDER BY id")
    assert active == [{"id": 1, "city": "Oslo"}, {"id": 2, "city": "Rome"}]


def _versions(pipeline: ladle.Pipeline) -> list[dict[str, Any]]:
    return rows(
        pipeline,
        "SELECT id, city, _ladle_id, _ladle_row_hash, _ladle_valid_from, _ladle_valid_to "
        "FROM people ORDER BY _ladle_valid_from, id",
    )


def _activity(pipeline: ladle.Pipeline) -> list[dict[str, Any]]:
    """Each version's id and whether it is the active one, oldest load first."""
    return rows(
        pipeline,
        "SELECT id, _ladle_valid_to IS NULL AS active FROM people ORDER BY _ladle_valid_from, id",
    )


def test_scd2_with_a_merge_key_retires_only_keys_in_the_load(pipeline: ladle.Pipeline) -> None:
    people = merged(name="people", write_disposition=SCD2, merge_key="id")
    pipeline.run(people([{"id": 1, "city": "Oslo"}, {"id": 2, "city": "Rome"}]))
    pipeline.run(people([{"id": 1, "city": "Bergen"}, {"id": 1, "city": "Bergen"}]))
    active = rows(pipeline, "SELECT id, city FROM people WHERE _ladle_valid_to IS NULL ORDER BY id")
    assert active == [{"id": 1, "city": "Bergen"}, {"id": 2, "city": "Rome"}]
    assert rows(pipeline, "SELECT count(*) AS n FROM people") == [{"n": 3}]


def test_scd2_from_arrow_tables(pipeline: ladle.Pipeline) -> None:
    people = merged(name="people", write_disposition=SCD2)
    pipeline.run(people(pa.table({"id": [1, 2], "tags": [["a"], ["b"]]})))
    pipeline.run(people(pa.table({"id": [1, 2], "tags": [["a"], ["c"]]})))
    got = _activity(pipeline)
    assert got == [
        {"id": 1, "active": True},
        {"id": 2, "active": False},
        {"id": 2, "active": True},
    ]


def test_scd2_versions_numpy_records_by_the_values_they_hold(pipeline: ladle.Pipeline) -> None:
    np = pytest.importorskip("numpy")
    people = merged(name="people", write_disposition=SCD2)
    many = np.arange(2000)  # longer than numpy prints in full
    changed = many.copy()
    changed[1000] = -1
    pipeline.run(people([{"id": 1, "xs": many}, {"id": 2, "n": 5}]))
    pipeline.run(
        people([{"id": np.int64(1), "xs": changed}, {"id": np.int64(2), "n": np.int64(5)}])
    )
    got = _activity(pipeline)
    # id 1 changed deep inside its array: a new version; id 2 holds the same values: untouched.
    assert got == [
        {"id": 1, "active": False},
        {"id": 2, "active": True},
        {"id": 1, "active": True},
    ]


# -- null keys ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [[{"id": 1}, {"id": None}], [{"v": 1}], pa.table({"id": [1, None]})],
    ids=["null", "missing", "arrow-null"],
)
def test_a_null_primary_key_is_refused_naming_table_and_column(
    pipeline: ladle.Pipeline, data: Any
) -> None:
    with pytest.raises(ladle.UnsupportedValue, match="table 'items', column 'id'") as caught:
        pipeline.run(merged(primary_key="id")(data))
    assert (caught.value.table, caught.value.column) == ("items", "id")  # type: ignore[attr-defined]
    pipeline.run(merged(primary_key="id")([{"id": 1}]))  # nothing pending blocks the next run
    assert rows(pipeline, "SELECT id FROM items") == [{"id": 1}]


# -- configuration --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("write_disposition", "columns", "message", "key"),
    [
        ({"disposition": "merge", "strategy": "upsert"}, None, "strategy 'upsert' is not one of",
         "write_disposition.strategy"),
        ({"disposition": "append", "strategy": "scd2"}, None, "needs disposition 'merge'",
         "write_disposition.strategy"),
        ({"strategy": "scd2"}, None, "no 'disposition' key", "write_disposition"),
        ({"disposition": "merge", "validity": "x"}, None, "unknown keys ['validity']",
         "write_disposition"),
        ("upsert", None, "write_disposition='upsert' is not one of", "write_disposition"),
        ("merge", {"at": {"dedup_sort": "newest"}}, "dedup_sort must be 'asc' or 'desc'",
         "columns.at"),
        ("merge", {"gone": {"hard_delete": "yes"}}, "hard_delete must be True or False",
         "columns.gone"),
    ],
)  # fmt: skip
def test_bad_merge_config_names_the_resource_and_the_key(
    write_disposition: Any, columns: Any, message: str, key: str
) -> None:
    def extract() -> None:  # some hints fail when given, column hints when extracting
        resource = ladle.resource(
            [{"id": 1}], name="items", write_disposition=write_disposition, columns=columns
        )
        ladle.pipeline("bad", progress=False).extract(resource)

    with pytest.raises(ladle.ConfigError, match=r"resource 'items'") as caught:
        extract()
    assert message in str(caught.value)
    assert caught.value.key == key  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("hints", "message", "key"),
    [
        ({"write_disposition": "merge"}, "needs a primary_key or a merge_key", "primary_key"),
        ({"write_disposition": "merge", "merge_key": "day",
          "columns": {"at": {"dedup_sort": "asc"}}},
         "dedup_sort picks one row per primary key", "columns.at.dedup_sort"),
        ({"write_disposition": SCD2, "columns": {"gone": {"hard_delete": True}}},
         "hard_delete does not apply to the scd2", "columns.gone.hard_delete"),
        ({"write_disposition": "merge", "primary_key": "id",
          "columns": {"a": {"hard_delete": True}, "b": {"hard_delete": True}}},
         "only one may be hard_delete", "columns"),
        ({"write_disposition": "merge", "primary_key": "id",
          "columns": {"id": {"nullable": True}}},
         "may not be nullable", "columns.id.nullable"),
    ],
)  # fmt: skip
def test_what_a_merge_needs_is_checked_before_extracting(
    hints: dict[str, Any], message: str, key: str, tmp_path: Path
) -> None:
    resource = ladle.resource([{"id": 1}], name="items").apply_hints(**hints)
    pipeline = ladle.pipeline("needs", pipelines_dir=str(tmp_path), progress=False)
    with pytest.raises(ladle.ConfigError, match=r"resource 'items'") as caught:
        pipeline.run(resource)
    assert message in str(caught.value)
    assert caught.value.key == key  # type: ignore[attr-defined]


def test_both_forms_of_write_disposition_are_accepted() -> None:
    resource = ladle.resource([{"id": 1}], name="items")
    resource.apply_hints(write_disposition=SCD2)
    assert (resource.hints.write_disposition, resource.hints.merge_strategy) == ("merge", "scd2")
    resource.apply_hints(write_disposition={"disposition": "merge", "strategy": "delete-insert"})
    assert resource.hints.merge_strategy == "delete-insert"
    resource.apply_hints(write_disposition="merge")
    assert resource.hints.merge_strategy == "delete-insert"
    resource.apply_hints(write_disposition="append")
    assert (resource.hints.write_disposition, resource.hints.merge_strategy) == ("append", None)


def test_the_filesystem_destination_refuses_merge(tmp_path: Path) -> None:
    pipeline = ladle.pipeline(
        "lake", destination=ladle.destinations.filesystem(tmp_path / "lake"), progress=False
    )
    with pytest.raises(ladle.ConfigError, match="not supported by filesystem") as caught:
        pipeline.run(merged(primary_key="id")([{"id": 1}]))
    assert caught.value.key == "write_disposition"  # type: ignore[attr-defined]


def test_concurrent_merges_into_one_table_keep_one_row_per_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers merging the same keys at once (PostgreSQL): without a lock, each would delete
    the stored rows (not seeing the other's new ones) and both would insert theirs."""
    destination = fresh_postgres_destination()
    commit = PostgresClient.commit

    def slow_commit(client: PostgresClient) -> None:
        time.sleep(0.2)  # so that the two workers' transactions overlap
        commit(client)

    def merge_rounds(name: str) -> None:
        pipeline = worker(destination, tmp_path / name)
        for _ in range(3):
            pipeline.run(merged(primary_key="id")({"id": i, "by": name} for i in range(1000)))

    merge_rounds("setup")  # tables exist: the workers below race on data, not on DDL
    monkeypatch.setattr(PostgresClient, "commit", slow_commit)
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(merge_rounds, ["a", "b"]))
    reader = worker(destination, tmp_path / "reader")
    got = rows(reader, "SELECT count(*) AS n, count(DISTINCT id) AS keys FROM items")
    assert got == [{"n": 1000, "keys": 1000}]
