"""run_source and source_flow on a real Prefect server (`prefect_test_harness`).

The flows load `conformance_source` (events: incremental; users: replace; user_tags: a
transformer of users) into a DuckDB file or the test PostgreSQL server. What a run did is read
back through Prefect's API: task runs (names, states, attempts), artifacts and logs.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from psycopg.conninfo import conninfo_to_dict

import ladle
from ladle.testing.adapter_suite import ConformanceData, conformance_source, racing_source
from ladle_prefect import run_source, source_flow
from tests.core.destinations.postgres_server import fresh_postgres_dsn
from tests.integrations.prefect.prefect_runs import FlowRunRecord, run_flow

UTC = datetime.timezone.utc
ALL_TABLES = {"events": 3, "users": 2, "users__tags": 3, "user_tags": 3}
PipelineMaker = Callable[..., ladle.Pipeline]


@pytest.fixture
def data(tmp_path: Path) -> ConformanceData:
    made = ConformanceData(tmp_path / "data")
    made.add_events(3)
    return made


@pytest.fixture
def make_pipeline(tmp_path: Path) -> PipelineMaker:
    """`make_pipeline("worker", destination=...)`: another working dir is a worker's empty disk."""

    def make(workdir: str = "worker", destination: Any = None) -> ladle.Pipeline:
        if destination is None:
            destination = ladle.destinations.duckdb(str(tmp_path / "crm.duckdb"))
        return ladle.pipeline(
            "crm",
            destination=destination,
            dataset_name="crm",
            pipelines_dir=str(tmp_path / workdir),
            progress=False,
        )

    return make


def load_flow(source: Callable[[], ladle.Source], pipeline: ladle.Pipeline, **options: Any) -> Any:
    """A user's flow that calls run_source; serial unless a test says otherwise."""
    options.setdefault("mode", "serial")
    options.setdefault("retry_delay_seconds", 1)

    @flow(name="crm-test")
    def crm_flow() -> dict[str, Any]:
        return run_source(source(), pipeline, **options)

    return crm_flow


def counts(pipeline: ladle.Pipeline, *tables: str) -> dict[str, int]:
    return {
        t: pipeline.dataset(f"SELECT count(*) AS n FROM {t}").to_pylist()[0]["n"] for t in tables
    }


def loaded_rows(run: FlowRunRecord) -> dict[str, int]:
    merged: dict[str, int] = {}
    for info in run.result().values():
        merged.update(info["row_counts"])
    return merged


# -- modes: a task per unit, named after it ----------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "tasks"),
    [
        ("parallel", ["events", "users"]),
        ("serial", ["events", "users"]),
        ("single", ["conformance"]),
    ],
)
@pytest.mark.parametrize("where", ["duckdb", "postgres"])
def test_each_mode_loads_the_source_with_a_task_per_unit(
    mode: str, tasks: list[str], where: str, make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    destination = ladle.destinations.postgres(fresh_postgres_dsn()) if where == "postgres" else None
    pipeline = make_pipeline(destination=destination)
    run = run_flow(load_flow(data.source, pipeline, mode=mode))
    assert run.state.is_completed(), run.state
    assert run.task_states == dict.fromkeys(tasks, "Completed")
    assert sorted(run.result()) == tasks
    # (A parallel first load into a new DuckDB file may be retried: then LoadInfo counts the
    # rows of both attempts' packages, and the destination holds them once.)
    assert loaded_rows(run).keys() == ALL_TABLES.keys()
    assert counts(pipeline, *ALL_TABLES) == ALL_TABLES
    for name in tasks:
        assert "ladle" in run.task_runs[name].tags
        assert "ladle-source:conformance" in run.task_runs[name].tags
    if mode == "serial":  # one after the other, in the plan's order
        first, second = run.task_runs["events"], run.task_runs["users"]
        assert first.end_time is not None
        assert second.start_time is not None
        assert first.end_time <= second.start_time


def test_load_info_goes_to_artifacts_and_the_run_logger(
    make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    run = run_flow(load_flow(data.source, make_pipeline(), mode="serial"))
    users = run.artifact("ladle-crm-users")
    assert users.type == "markdown"
    assert users.task_run_id == run.task_runs["users"].id
    text = str(users.data)
    assert "### ladle: conformance / users" in text
    assert "into duckdb dataset `crm`" in text
    assert "| users | 2 |" in text
    assert "| user_tags | 3 |" in text
    assert "- new table user_tags" in text  # schema changes
    assert run.result()["users"]["load_ids"][0] in text
    table = run.artifact("ladle-crm-row-counts")
    assert table.type == "table"
    assert table.task_run_id is None  # the flow run's own
    rows = json.loads(str(table.data))
    assert {(r["unit"], r["table"], r["rows"]) for r in rows} == {
        ("events", "events", 3),
        ("users", "users", 2),
        ("users", "users__tags", 3),
        ("users", "user_tags", 3),
    }
    logs = run.logs()
    assert "ladle source conformance, serial: events, users" in logs
    assert "pipeline crm: 1 load(s) into duckdb dataset crm" in logs


# -- failures and retries ----------------------------------------------------------------------
def test_a_failing_resource_fails_its_task_and_the_flow(
    make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    pipeline = make_pipeline()
    broken = run_flow(load_flow(lambda: data.source(fail="users"), pipeline, retries=0))
    assert broken.state.is_failed()
    assert "resource users failed on purpose" in str(broken.state.message)
    assert broken.task_states == {"events": "Completed", "users": "Failed"}
    assert counts(pipeline, "events") == {"events": 3}  # committed although users failed
    table = json.loads(str(broken.artifact("ladle-crm-row-counts").data))
    assert {"unit": "users", "table": "", "rows": 0, "state": "failed"} in table
    fixed = run_flow(load_flow(data.source, pipeline))
    assert fixed.state.is_completed()
    assert fixed.result()["users"]["row_counts"] == {"users": 2, "users__tags": 3, "user_tags": 3}
    assert fixed.result()["events"]["row_counts"] == {}  # nothing new: no duplicates
    assert counts(pipeline, *ALL_TABLES) == ALL_TABLES


def test_in_serial_mode_the_units_after_a_failure_do_not_run(
    make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    run = run_flow(
        load_flow(lambda: data.source(fail="events"), make_pipeline(), mode="serial", retries=0)
    )
    assert run.state.is_failed()
    assert run.task_states == {"events": "Failed", "users": "NotReady"}
    assert data.started() == ["events"]


@ladle.source(name="conformance")
def flaky_source(data_dir: str) -> Any:
    """`events`, which fails on its first run (a flaky API)."""

    @ladle.resource(primary_key="id")
    def events(at: Any = ladle.incremental("at", initial_value="2024-01-01T00:00:00Z")) -> Any:
        marker = Path(data_dir) / "failed_once"
        if not marker.exists():
            marker.touch()
            raise ConnectionError("the API hung up")
        yield json.loads((Path(data_dir) / "events.json").read_text())

    return events


def test_a_resource_failing_once_is_retried(
    make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    pipeline = make_pipeline()
    run = run_flow(
        load_flow(
            lambda: flaky_source(str(data.folder)), pipeline, retries=1, retry_delay_seconds=0
        )
    )
    assert run.state.is_completed()
    assert run.task_states == {"events": "Completed"}
    assert run.task_runs["events"].run_count == 2
    assert run.result()["events"]["row_counts"] == {"events": 3}


def test_a_state_conflict_is_retried_and_loads_nothing_twice(
    make_pipeline: PipelineMaker, data: ConformanceData, tmp_path: Path
) -> None:
    pipeline = make_pipeline()
    rival = ladle.pipeline(
        "crm",
        destination=ladle.destinations.duckdb(str(tmp_path / "crm.duckdb")),
        dataset_name="crm",
        pipelines_dir=str(tmp_path / "rival"),
        progress=False,
    )
    source = lambda: racing_source(str(data.folder), rival)  # noqa: E731
    run = run_flow(load_flow(source, pipeline, retries=1, retry_delay_seconds=0))
    assert run.state.is_completed()
    assert run.task_runs["events"].run_count == 2  # the first attempt lost the race
    assert run.result()["events"]["row_counts"] == {}  # the rival had loaded everything
    assert counts(pipeline, "events") == {"events": 3}


def test_an_error_a_retry_cannot_fix_fails_at_once(
    make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    flow_ = load_flow(
        data.source, make_pipeline(), mode="single", destination_block="nowhere", retries=2
    )
    run = run_flow(flow_)
    assert run.task_states == {"conformance": "Failed"}
    assert run.task_runs["conformance"].run_count == 1  # a ConfigError: no retries
    error = run.result()
    assert isinstance(error, ladle.ConfigError)
    assert error.key == "destination_block"
    assert "Prefect Secret block 'nowhere' is not defined" in str(error)


# -- windows and workers ---------------------------------------------------------------------
def test_source_flow_parameters_set_a_backfill_window(
    make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    pipeline = make_pipeline()
    crm = source_flow(
        conformance_source,
        pipeline=pipeline,
        name="crm",
        source_kwargs={"data_dir": str(data.folder)},
        mode="serial",
    )
    assert set(crm.parameters.properties) == {"start", "end"}
    first = run_flow(crm)  # no window: from the stored cursor
    assert first.result()["events"]["row_counts"] == {"events": 3}
    data.add_events(2)
    backfill = run_flow(crm, start="2024-01-02", end=datetime.datetime(2024, 1, 3, tzinfo=UTC))
    assert backfill.state.is_completed()
    assert backfill.result()["events"]["row_counts"] == {"events": 1}  # event 2 only
    after = run_flow(crm)
    assert after.result()["events"]["row_counts"] == {"events": 2}  # the cursor stayed at 3
    ids = pipeline.dataset("SELECT id FROM events ORDER BY id").to_pylist()
    assert [row["id"] for row in ids] == [1, 2, 2, 3, 4, 5]  # append: the backfill re-adds 2


def test_a_rerun_from_an_empty_working_directory_resumes_from_the_destination(
    make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    postgres = ladle.destinations.postgres(fresh_postgres_dsn())
    first = run_flow(load_flow(data.source, make_pipeline("worker_a", postgres), mode="parallel"))
    assert first.result()["events"]["row_counts"] == {"events": 3}
    data.add_events(2)
    fresh = make_pipeline("worker_b", postgres)  # another machine: nothing on its disk
    second = run_flow(load_flow(data.source, fresh, mode="parallel"))
    assert second.result()["events"]["row_counts"] == {"events": 2}
    assert counts(fresh, "events", "users") == {"events": 5, "users": 2}


# -- credentials from a Prefect Secret block ------------------------------------------------------
def test_destination_from_a_secret_block_keeps_the_password_out_of_sight(
    make_pipeline: PipelineMaker, data: ConformanceData, capsys: pytest.CaptureFixture[str]
) -> None:
    from prefect.blocks.system import Secret

    dsn = fresh_postgres_dsn()
    parts = conninfo_to_dict(dsn)  # trust auth: the password below is sent, never needed
    Secret(
        value=f"postgresql://{parts['user']}:s3cr3t-pw@{parts['host']}:{parts['port']}/"
        f"{parts['dbname']}"
    ).save("ladle-test-warehouse", overwrite=True)
    pipeline = ladle.pipeline("crm", dataset_name="crm", progress=False)  # no destination set
    flow_ = load_flow(
        data.source, pipeline, mode="parallel", destination_block="ladle-test-warehouse"
    )
    run = run_flow(flow_)
    assert run.state.is_completed(), run.state
    assert {info["destination"] for info in run.result().values()} == {"postgres"}
    loaded = ladle.pipeline("crm", destination=ladle.destinations.postgres(dsn), dataset_name="crm")
    assert counts(loaded, "events", "users") == {"events": 3, "users": 2}
    logs = run.logs()
    assert "destination from Prefect Secret block 'ladle-test-warehouse'" in logs
    printed = capsys.readouterr()
    shown = [logs, printed.out, printed.err, repr(run.result())]
    shown += [str(artifact.data) for artifact in run.artifacts]
    assert not [text for text in shown if "s3cr3t-pw" in text]


# -- input a flow cannot run ---------------------------------------------------------------------
def test_run_source_outside_a_flow_is_refused(
    make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    with pytest.raises(ladle.ConfigError, match="inside a @flow") as caught:
        run_source(data.source(), make_pipeline())
    assert caught.value.key == "flow"


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"mode": "fast"}, "mode"),
        ({"retries": -1}, "retries"),
        ({"pipeline": "crm"}, "pipeline"),
        ({"destination_block": ""}, "destination_block"),
    ],
)
def test_source_flow_refuses_bad_options(
    options: dict[str, Any], key: str, make_pipeline: PipelineMaker
) -> None:
    options.setdefault("pipeline", make_pipeline())
    with pytest.raises(ladle.ConfigError) as caught:
        source_flow(conformance_source, **options)
    assert caught.value.key == key


def test_an_empty_window_fails_the_flow(
    make_pipeline: PipelineMaker, data: ConformanceData
) -> None:
    crm = source_flow(
        conformance_source, pipeline=make_pipeline(), source_kwargs={"data_dir": str(data.folder)}
    )
    run = run_flow(crm, start="2024-01-03", end="2024-01-02")
    assert run.state.is_failed()
    error = run.result()
    assert isinstance(error, ladle.ConfigError)
    assert error.key == "end"
    assert data.started() == []


@pytest.mark.parametrize(
    ("make_source", "options", "key"),
    [
        (lambda data: data.source(), {"mode": "fast"}, "mode"),
        (lambda data: data.source(), {"pipeline": "crm"}, "pipeline"),
        (lambda data: [{"id": 1}], {}, "source"),
        (lambda data: data.source().with_resources(), {}, "resources"),
    ],
)
def test_run_source_refuses_bad_input_before_any_task(
    make_source: Callable[[ConformanceData], Any],
    options: dict[str, Any],
    key: str,
    make_pipeline: PipelineMaker,
    data: ConformanceData,
) -> None:
    pipeline = options.pop("pipeline", make_pipeline())

    @flow(name="crm-bad-input")
    def crm_flow() -> dict[str, Any]:
        return run_source(make_source(data), pipeline, **options)

    run = run_flow(crm_flow)
    assert run.state.is_failed()
    error = run.result()
    assert isinstance(error, ladle.ConfigError)
    assert error.key == key
    assert run.task_runs == {}
