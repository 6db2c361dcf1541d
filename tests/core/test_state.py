"""Resource and source state: persisted with the data, restored on any worker, typed."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest

import ladle
from ladle.schema.schema import Column, Schema, Table
from ladle.state import codec
from tests.conftest import PipelineFactory, rows

UTC = datetime.timezone.utc


@ladle.source
def paged(fail: bool = False) -> Any:
    @ladle.resource
    def pages() -> Any:
        state = ladle.state()
        page = state.get("next_page", 1)
        yield {"page": page}
        state["next_page"] = page + 1
        state["seen_at"] = datetime.datetime(2024, 1, page, tzinfo=UTC)
        ladle.source_state()["runs"] = ladle.source_state().get("runs", 0) + 1
        if fail:
            raise RuntimeError("boom")

    return pages


def test_resource_state_carries_over_runs_and_workers(make_pipeline: PipelineFactory) -> None:
    first = make_pipeline(workdir="worker-a")
    first.run(paged())
    first.run(paged())
    # A second worker with an empty working directory continues from the destination.
    second = make_pipeline(workdir="worker-b")
    second.run(paged())
    assert [r["page"] for r in rows(second, "SELECT page FROM pages ORDER BY page")] == [1, 2, 3]
    assert second.state["resource:paged.pages"] == {
        "next_page": 4,
        "seen_at": datetime.datetime(2024, 1, 3, tzinfo=UTC),  # typed values stay typed
    }
    assert second.state["source:paged"] == {"runs": 3}


def test_state_versions_are_committed_with_each_load(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run(paged())
    pipeline.run(paged())
    stored = rows(
        pipeline,
        "SELECT scope, version FROM _ladle_state ORDER BY scope, version",
    )
    assert stored == [
        {"scope": "resource:paged.pages", "version": 1},
        {"scope": "resource:paged.pages", "version": 2},
        {"scope": "source:paged", "version": 1},
        {"scope": "source:paged", "version": 2},
    ]
    load_ids = {r["load_id"] for r in rows(pipeline, "SELECT load_id FROM _ladle_state")}
    loaded = {r["load_id"] for r in rows(pipeline, "SELECT load_id FROM _ladle_loads")}
    assert load_ids == loaded


def test_only_the_newest_state_versions_are_kept(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    for _ in range(12):
        pipeline.run(paged())
    stored = rows(
        pipeline,
        "SELECT min(version) AS oldest, max(version) AS newest, count(*) AS n FROM _ladle_state "
        "WHERE scope = 'resource:paged.pages'",
    )
    assert stored == [{"oldest": 3, "newest": 12, "n": 10}]
    assert pipeline.state["resource:paged.pages"]["next_page"] == 13


def test_a_failed_run_keeps_the_old_state(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run(paged())
    with pytest.raises(ladle.ExtractError, match="boom"):
        pipeline.run(paged(fail=True))
    assert pipeline.state["resource:paged.pages"]["next_page"] == 2


def test_a_state_that_does_not_change_writes_no_version(make_pipeline: PipelineFactory) -> None:
    @ladle.resource
    def still() -> Any:
        ladle.state().setdefault("fixed", 1)
        yield {"x": 1}

    pipeline = make_pipeline()
    pipeline.run(still())
    pipeline.run(still())
    assert rows(pipeline, "SELECT count(*) AS n FROM _ladle_state") == [{"n": 1}]


def test_state_outside_a_running_resource_is_a_clear_error() -> None:
    with pytest.raises(ladle.ConfigError, match=r"ladle.state\(\) works inside a resource"):
        ladle.state()
    with pytest.raises(ladle.ConfigError, match=r"source_state\(\)"):
        ladle.source_state()


def test_state_must_be_json_like_and_the_error_names_the_scope(
    make_pipeline: PipelineFactory,
) -> None:
    @ladle.resource
    def odd() -> Any:
        ladle.state()["handle"] = object()
        yield {"x": 1}

    with pytest.raises(ladle.ConfigError, match=r"resource:p\.odd.*JSON-like"):
        make_pipeline().run(odd())


def test_a_parent_that_only_feeds_a_transformer_keeps_its_cursor(
    make_pipeline: PipelineFactory,
) -> None:
    @ladle.resource
    def parents(at: ladle.Incremental = ladle.incremental("at", initial_value=0)) -> Any:
        yield [{"at": 1}, {"at": 2}]

    @ladle.transformer(data_from=parents)
    def kids(page: list[dict[str, Any]]) -> Any:
        yield [{"of": p["at"]} for p in page]

    @ladle.source
    def family() -> Any:
        return parents, kids

    pipeline = make_pipeline()
    pipeline.run(family().with_resources("kids"))
    assert "resource:family.parents" not in pipeline.state
    # Selected later, the parent still loads all its rows.
    assert pipeline.run(family().with_resources("parents")).row_counts == {"parents": 2}


def test_sync_takes_the_destination_as_the_truth(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run(paged())
    other = make_pipeline(workdir="other")
    other.run(paged())
    assert pipeline.state["resource:paged.pages"]["next_page"] == 2  # not synced yet
    pipeline.sync_destination()
    assert pipeline.state["resource:paged.pages"]["next_page"] == 3
    assert pipeline.schema.tables["pages"].columns["page"].data_type == "bigint"


def test_a_wiped_destination_starts_state_over(
    make_pipeline: PipelineFactory, tmp_path: Any
) -> None:
    pipeline = make_pipeline()
    pipeline.run(paged())
    (tmp_path / "p.duckdb").unlink()
    pipeline.run(paged())
    assert rows(pipeline, "SELECT page FROM pages") == [{"page": 1}]


def test_codec_round_trips_typed_values() -> None:
    value = {
        "at": datetime.datetime(2024, 5, 1, 1, 2, 3, 456789, tzinfo=UTC),
        "naive": datetime.datetime(2024, 5, 1),
        "day": datetime.date(2024, 2, 29),
        "clock": datetime.time(23, 59),
        "amount": decimal.Decimal("123456789012345678901234567890.5"),
        "raw": b"\x00\xff",
        "big": 2**70,
        "nested": [{"x": None, "ok": True}],
    }
    assert codec.loads(codec.dumps(value, owner="test")) == value


def test_schemas_of_two_workers_merge() -> None:
    base = Schema("s", {"a": Table("a", {"x": Column("x", "bigint")})}, version=3)
    theirs = base.with_tables([Table("b", {"y": Column("y", "text")})])
    ours = base.with_tables([Table("a", {"x": Column("x", "bigint"), "z": Column("z", "bool")})])
    merged = theirs.merged_with(ours)
    assert set(merged.tables) == {"a", "b"}
    assert list(merged.tables["a"].columns) == ["x", "z"]
    assert merged.version > max(theirs.version, ours.version)
    assert merged.merged_with(ours) is merged  # nothing new: the stored schema stays
    # A column both have with different types keeps the stored type (the table has it).
    clash = base.with_tables([Table("a", {"x": Column("x", "text")})])
    assert base.merged_with(clash).tables["a"].columns["x"].data_type == "bigint"
