"""Incremental cursors: each row loaded once across runs, windows that leave the cursor alone,
early stops, lag, nested cursors, Arrow tables, and the errors a user gets."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pendulum
import pyarrow as pa
import pytest

import ladle
from tests.conftest import PipelineFactory, rows

UTC = datetime.timezone.utc


def events(first: int, last: int) -> list[dict[str, Any]]:
    """Rows 1..n with one per day, in pages of 3, `updated_at` as an ISO string."""
    return [
        {"id": i, "updated_at": f"2024-01-{i:02d}T00:00:00Z", "meta": {"seq": i}}
        for i in range(first, last + 1)
    ]


class Api:
    """A fake paginated API over a growing list; records which `since` it was asked for."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.asked: list[Any] = []
        self.yielded = 0

    def pages(self, since: Any) -> Iterator[list[dict[str, Any]]]:
        self.asked.append(since)
        for start in range(0, len(self.rows), 3):
            self.yielded += 1
            yield self.rows[start : start + 3]


def issues_resource(api: Api, **cursor: Any) -> ladle.Resource:
    cursor.setdefault("initial_value", "2024-01-01T00:00:00Z")

    @ladle.resource(name="issues", primary_key="id")
    def issues(updated_at: ladle.Incremental = ladle.incremental("updated_at", **cursor)) -> Any:
        yield from api.pages(updated_at.last_value)

    return issues


def ids(pipeline: ladle.Pipeline, table: str = "issues") -> list[int]:
    return [r["id"] for r in rows(pipeline, f"SELECT id FROM {table} ORDER BY id")]  # type: ignore[misc]


def cursor_of(pipeline: ladle.Pipeline, resource: str = "issues") -> Any:
    scope = f"resource:{pipeline.pipeline_name}.{resource}"
    return pipeline.state[scope]["incremental"]["updated_at"]["last_value"]


def test_three_runs_load_each_row_exactly_once(make_pipeline: PipelineFactory) -> None:
    api = Api()
    pipeline = make_pipeline()
    for last in (4, 9, 12):
        api.rows = events(1, last)  # the API returns everything; the cursor filters
        pipeline.run(issues_resource(api))
    assert ids(pipeline) == list(range(1, 13))
    assert cursor_of(pipeline) == "2024-01-12T00:00:00Z"
    # The resource saw where to start: the stored cursor, in the data's own form.
    assert api.asked == ["2024-01-01T00:00:00Z", "2024-01-04T00:00:00Z", "2024-01-09T00:00:00Z"]
    assert pipeline.run(issues_resource(api)).row_counts == {}


def test_a_numpy_cursor_is_stored_as_the_python_value_it_holds(
    make_pipeline: PipelineFactory,
) -> None:
    np = pytest.importorskip("numpy")
    pipeline = make_pipeline()

    def seq(last: int) -> ladle.Resource:
        @ladle.resource(name="ticks", primary_key="id")
        def ticks(seq: ladle.Incremental = ladle.incremental("seq")) -> Any:
            yield [{"id": np.int64(i), "seq": np.int32(i * 10)} for i in range(1, last + 1)]

        return ticks

    assert pipeline.run(seq(3)).row_counts == {"ticks": 3}
    assert pipeline.run(seq(5)).row_counts == {"ticks": 2}  # 40 and 50; 30 is remembered
    stored = pipeline.state[f"resource:{pipeline.pipeline_name}.ticks"]["incremental"]["seq"]
    assert stored["last_value"] == 50
    assert type(stored["last_value"]) is int


def test_rows_at_the_cursor_are_deduplicated_by_primary_key(
    make_pipeline: PipelineFactory,
) -> None:
    api = Api()
    pipeline = make_pipeline()
    api.rows = [{"id": 1, "updated_at": "2024-01-05T00:00:00Z"}]
    pipeline.run(issues_resource(api))
    # A second row with the same timestamp arrives later: it loads, the first does not again.
    api.rows = [*api.rows, {"id": 2, "updated_at": "2024-01-05T00:00:00Z"}]
    assert pipeline.run(issues_resource(api)).row_counts == {"issues": 1}
    assert ids(pipeline) == [1, 2]
    # A third run at the same cursor remembers both rows, not only the second run's.
    api.rows = [*api.rows, {"id": 3, "updated_at": "2024-01-05T00:00:00Z"}]
    assert pipeline.run(issues_resource(api)).row_counts == {"issues": 1}
    assert pipeline.run(issues_resource(api)).row_counts == {}
    assert ids(pipeline) == [1, 2, 3]


def test_without_primary_key_rows_at_the_cursor_are_deduplicated_by_content(
    make_pipeline: PipelineFactory,
) -> None:
    data = [{"at": 5, "v": "a"}]

    @ladle.resource
    def readings(at: ladle.Incremental = ladle.incremental("at")) -> Any:
        yield data

    pipeline = make_pipeline()
    pipeline.run(readings())
    data.append({"at": 5, "v": "b"})
    pipeline.run(readings())
    values = rows(pipeline, "SELECT v FROM readings ORDER BY v")
    assert values == [{"v": "a"}, {"v": "b"}]


def test_many_rows_at_the_last_cursor_value_are_each_remembered(
    make_pipeline: PipelineFactory,
) -> None:
    # More rows share the last cursor value than wait unkeyed at once (keys are made in
    # chunks), and the generator reuses its dict: every one of them must be remembered as it was.
    count = 700

    @ladle.resource
    def readings(at: ladle.Incremental = ladle.incremental("at")) -> Any:
        row: dict[str, Any] = {}
        for at, v in [(1, -1), *((5, n) for n in range(count))]:
            row["at"], row["v"] = at, v
            yield row

    pipeline = make_pipeline()
    assert pipeline.run(readings()).row_counts == {"readings": count + 1}
    count += 3
    assert pipeline.run(readings()).row_counts == {"readings": 3}
    values = [r["v"] for r in rows(pipeline, "SELECT v FROM readings ORDER BY v")]
    assert values == list(range(-1, count))


def test_primary_key_off_loads_every_row_at_the_cursor(make_pipeline: PipelineFactory) -> None:
    # `primary_key=()` turns boundary dedup off: rows at the stored cursor load again, and a new
    # row at that cursor must not be taken for one loaded before.
    data = [{"at": 5, "v": "a"}]

    @ladle.resource
    def readings(at: ladle.Incremental = ladle.incremental("at", primary_key=())) -> Any:
        yield data

    pipeline = make_pipeline()
    pipeline.run(readings())
    data.append({"at": 5, "v": "b"})
    assert pipeline.run(readings()).row_counts == {"readings": 2}
    values = rows(pipeline, "SELECT v FROM readings ORDER BY v")
    assert values == [{"v": "a"}, {"v": "a"}, {"v": "b"}]


def test_end_value_backfills_a_window_and_leaves_the_cursor(
    make_pipeline: PipelineFactory,
) -> None:
    api = Api()
    api.rows = events(1, 10)
    pipeline = make_pipeline()
    pipeline.run(issues_resource(api, initial_value="2024-01-08T00:00:00Z"))
    assert ids(pipeline) == [8, 9, 10]
    backfill = issues_resource(
        api, initial_value="2024-01-02T00:00:00Z", end_value="2024-01-05T00:00:00Z"
    )
    pipeline.run(backfill)
    assert ids(pipeline) == [2, 3, 4, 8, 9, 10]  # start included, end excluded
    assert cursor_of(pipeline) == "2024-01-10T00:00:00Z"


def test_a_run_window_bounds_every_incremental_resource(make_pipeline: PipelineFactory) -> None:
    api = Api()
    api.rows = events(1, 10)

    @ladle.resource(primary_key="id")
    def comments(at: ladle.Incremental = ladle.incremental("meta.seq", initial_value=0)) -> Any:
        yield [{"id": i, "meta": {"seq": i}} for i in range(1, 11)]

    @ladle.source
    def tracker() -> Any:
        return issues_resource(api), comments

    pipeline = make_pipeline()
    pipeline.run(tracker())
    before = pipeline.state
    window = (pendulum.datetime(2024, 1, 3), pendulum.datetime(2024, 1, 5))
    info = pipeline.run(tracker().with_resources("issues"), window=window)
    assert info.row_counts == {"issues": 2}
    assert api.asked[-1] == window[0]  # the resource sees the window's start
    assert pipeline.state == before  # the window moved no cursor
    # A numeric cursor takes a numeric window.
    assert pipeline.run(tracker().with_resources("comments"), window=(3, 5)).row_counts == {
        "comments": 2
    }


def test_row_order_asc_stops_reading_past_the_end(make_pipeline: PipelineFactory) -> None:
    api = Api()
    api.rows = events(1, 30)
    pipeline = make_pipeline()
    resource = issues_resource(
        api,
        initial_value="2024-01-01T00:00:00Z",
        end_value="2024-01-05T00:00:00Z",
        row_order="asc",
    )
    pipeline.run(resource)
    assert ids(pipeline) == [1, 2, 3, 4]
    assert api.yielded == 2  # the page with day 5 was the last one read, of 10


def test_row_order_desc_stops_reading_before_the_start(make_pipeline: PipelineFactory) -> None:
    api = Api()
    api.rows = list(reversed(events(1, 30)))
    pipeline = make_pipeline()
    pipeline.run(issues_resource(api, initial_value="2024-01-28T00:00:00Z", row_order="desc"))
    assert ids(pipeline) == [28, 29, 30]
    assert api.yielded == 2


def test_lag_rereads_a_trailing_window(make_pipeline: PipelineFactory) -> None:
    api = Api()
    api.rows = events(1, 5)
    pipeline = make_pipeline()
    pipeline.run(issues_resource(api, lag=datetime.timedelta(days=2)))
    info = pipeline.run(issues_resource(api, lag=datetime.timedelta(days=2)))
    assert api.asked[-1] == "2024-01-03T00:00:00Z"
    assert info.row_counts == {"issues": 3}  # days 3..5 again: pair lag with merge
    assert cursor_of(pipeline) == "2024-01-05T00:00:00Z"


def test_cursor_values_compare_by_meaning(make_pipeline: PipelineFactory) -> None:
    data: list[dict[str, Any]] = [
        {"id": 1, "updated_at": datetime.datetime(2024, 1, 1, 12, tzinfo=UTC)},
        {"id": 2, "updated_at": "2024-01-01T13:00:00+00:00"},
        {"id": 3, "updated_at": pendulum.datetime(2024, 1, 1, 14)},
        {"id": 4, "updated_at": datetime.datetime(2024, 1, 1, 15)},  # naive means UTC
    ]

    @ladle.resource(primary_key="id")
    def mixed(
        updated_at: ladle.Incremental = ladle.incremental(
            "updated_at", initial_value="2024-01-01T12:30:00Z"
        ),
    ) -> Any:
        yield data

    pipeline = make_pipeline()
    pipeline.run(mixed())
    assert ids(pipeline, "mixed") == [2, 3, 4]


def test_missing_cursor_values(make_pipeline: PipelineFactory) -> None:
    data = [{"id": 1, "at": 1}, {"id": 2}]

    def resource(policy: Any) -> ladle.Resource:
        @ladle.resource(name="things", primary_key="id")
        def things(
            at: ladle.Incremental = ladle.incremental("at", on_cursor_value_missing=policy),
        ) -> Any:
            yield data

        return things

    pipeline = make_pipeline()
    with pytest.raises(ladle.ExtractError, match=r"'things'.*cursor 'at'") as caught:
        pipeline.run(resource("raise"))
    assert caught.value.resource == "things"  # type: ignore[attr-defined]
    assert pipeline.run(resource("exclude")).row_counts == {"things": 1}
    pipeline.run(resource("include"), write_disposition="replace")
    assert ids(pipeline, "things") == [2]  # 1 is at the stored cursor: loaded before


def test_incomparable_cursor_values_name_the_resource(make_pipeline: PipelineFactory) -> None:
    @ladle.resource
    def odd(at: ladle.Incremental = ladle.incremental("at", initial_value=10)) -> Any:
        yield {"at": "not a number"}

    with pytest.raises(ladle.ExtractError, match=r"resource 'odd'.*cursor 'at'.*int"):
        make_pipeline().run(odd())


def test_bad_incremental_configuration_is_a_config_error() -> None:
    with pytest.raises(ladle.ConfigError, match="row_order"):
        ladle.incremental("at", row_order="sideways")  # type: ignore[arg-type]
    with pytest.raises(ladle.ConfigError, match="end_value needs an initial_value"):
        ladle.incremental("at", end_value=5)
    with pytest.raises(ladle.ConfigError, match="on_cursor_value_missing"):
        ladle.incremental("at", on_cursor_value_missing="skip")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "column",
    [
        pa.array([datetime.datetime(2024, 1, d, tzinfo=UTC) for d in range(1, 7)]),
        pa.array([f"2024-01-{d:02d}T00:00:00Z" for d in range(1, 7)]),
        pa.array([datetime.date(2024, 1, d) for d in range(1, 7)]),
    ],
    ids=["timestamp", "iso-string", "date"],
)
def test_arrow_tables_filter_by_column(make_pipeline: PipelineFactory, column: pa.Array) -> None:
    table = pa.table({"id": list(range(1, 7)), "updated_at": column})
    shown = {"upto": 3}

    @ladle.resource(primary_key="id")
    def batches(
        updated_at: ladle.Incremental = ladle.incremental(
            "updated_at", initial_value="2024-01-02T00:00:00Z"
        ),
    ) -> Any:
        yield table.slice(0, shown["upto"])

    pipeline = make_pipeline()
    assert pipeline.run(batches()).row_counts == {"batches": 2}
    shown["upto"] = 6
    assert pipeline.run(batches()).row_counts == {"batches": 3}  # day 3 not again
    assert ids(pipeline, "batches") == [2, 3, 4, 5, 6]


def test_arrow_numeric_cursor_in_a_struct(make_pipeline: PipelineFactory) -> None:
    table = pa.table({"id": [1, 2, 3], "meta": [{"seq": 1}, {"seq": 2}, {"seq": 3}]})

    @ladle.resource(primary_key="id")
    def nested(seq: ladle.Incremental = ladle.incremental("meta.seq", initial_value=2)) -> Any:
        yield table

    pipeline = make_pipeline()
    pipeline.run(nested())
    assert ids(pipeline, "nested") == [2, 3]
    scope = pipeline.state[f"resource:{pipeline.pipeline_name}.nested"]
    assert scope["incremental"]["meta.seq"]["last_value"] == 3
    assert pipeline.run(nested()).row_counts == {}


def test_a_transformer_keeps_one_cursor_across_parent_items(
    make_pipeline: PipelineFactory,
) -> None:
    @ladle.resource
    def repos() -> Any:
        yield {"name": "a"}
        yield {"name": "b"}

    days = {"a": [1, 2], "b": [3]}

    @ladle.transformer(data_from=repos)
    def commits(
        repo: dict[str, Any], at: ladle.Incremental = ladle.incremental("day", initial_value=0)
    ) -> Any:
        yield [{"repo": repo["name"], "day": d} for d in days[repo["name"]]]

    @ladle.source
    def code() -> Any:
        return repos, commits

    pipeline = make_pipeline()
    pipeline.run(code().with_resources("commits"))
    days["a"].append(4)
    assert pipeline.run(code().with_resources("commits")).row_counts == {"commits": 1}
    scope = pipeline.state["resource:code.commits"]
    assert scope["incremental"]["day"]["last_value"] == 4


def test_a_failing_run_moves_no_cursor(make_pipeline: PipelineFactory) -> None:
    api = Api()
    api.rows = events(1, 3)
    pipeline = make_pipeline()
    pipeline.run(issues_resource(api))
    api.rows = [*events(1, 6), {"id": 7}]  # no cursor: the run fails after reading days 4-6
    with pytest.raises(ladle.ExtractError):
        pipeline.run(issues_resource(api))
    assert cursor_of(pipeline) == "2024-01-03T00:00:00Z"
    api.rows = events(1, 6)
    assert pipeline.run(issues_resource(api)).row_counts == {"issues": 3}


def test_iterating_a_resource_outside_a_pipeline_starts_at_the_initial_value() -> None:
    api = Api()
    api.rows = events(1, 5)
    resource = issues_resource(api, initial_value="2024-01-04T00:00:00Z")
    assert [r["id"] for page in resource for r in page] == [4, 5]
