"""LadleTaskGroup and LadleOperator on real Airflow (`dag.test()`, SQLite metadata DB).

The DAG loads `conformance_source` (events: incremental; users: replace; user_tags: a
transformer of users) into DuckDB or the test PostgreSQL server. Every DAG run uses the
working directory its spec names, so a new `workdir` is a worker with an empty disk.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from psycopg.conninfo import conninfo_to_dict

import ladle
from ladle.testing.adapter_suite import ConformanceData
from tests.core.destinations.postgres_server import fresh_postgres_dsn
from tests.integrations.airflow.dag_factory import DagResult, DagRunner, DagSpec, build_dag

UTC = datetime.timezone.utc
SpecMaker = Callable[..., DagSpec]
_dag_ids = itertools.count()

ALL_TABLES = {"events": 3, "users": 2, "users__tags": 3, "user_tags": 3}


@pytest.fixture
def data(tmp_path: Path) -> ConformanceData:
    made = ConformanceData(tmp_path / "data")
    made.add_events(3)
    return made


@pytest.fixture(params=["duckdb", "postgres"])
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "duckdb":
        return f"duckdb:{tmp_path / 'crm.duckdb'}"
    return f"postgres:{fresh_postgres_dsn()}"


@pytest.fixture
def make_spec(tmp_path: Path, data: ConformanceData) -> SpecMaker:
    """`make_spec(workdir="a", **fields)`: a spec with a DAG id of its own, on DuckDB."""

    def make(workdir: str = "worker", **fields: Any) -> DagSpec:
        fields.setdefault("destination", f"duckdb:{tmp_path / 'crm.duckdb'}")
        return DagSpec(
            dag_id=f"ladle_test_{next(_dag_ids)}",
            data_dir=str(data.folder),
            pipelines_dir=str(tmp_path / workdir),
            **fields,
        )

    return make


def pipeline_of(spec: DagSpec) -> ladle.Pipeline:
    """The DAG's pipeline, for reading back what it loaded."""
    kind, _, where = spec.destination.partition(":")
    destination = ladle.destinations.duckdb(where) if kind == "duckdb" else where
    if kind == "postgres":
        destination = ladle.destinations.postgres(where)
    return ladle.pipeline("crm", destination=destination, dataset_name="crm", progress=False)


def counts(spec: DagSpec, *tables: str) -> dict[str, int]:
    pipeline = pipeline_of(spec)
    return {
        t: pipeline.dataset(f"SELECT count(*) AS n FROM {t}").to_pylist()[0]["n"] for t in tables
    }


def row_counts(result: DagResult, task: str) -> dict[str, int]:
    info = result.xcom[task]
    assert info is not None, result
    return info["row_counts"]  # type: ignore[no-any-return]


# -- modes, task ids, XCom -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "upstream"),
    [
        ("parallel", {"events": set(), "users": set()}),
        ("serial", {"events": set(), "users": {"events"}}),
        ("single", {"conformance": set()}),
    ],
)
def test_each_mode_loads_the_source_with_a_task_per_unit(
    mode: str,
    upstream: dict[str, set[str]],
    destination: str,
    make_spec: SpecMaker,
    dag_runner: DagRunner,
) -> None:
    spec = make_spec(mode=mode, destination=destination)
    result = dag_runner.run(spec)
    assert result.state == "success"
    assert result.upstream == upstream  # task ids are the unit ids, inside the group "crm"
    loaded: dict[str, int] = {}
    for task in upstream:
        info = result.xcom[task]
        assert info["pipeline_name"] == "crm"
        assert info["load_ids"]
        loaded.update(info["row_counts"])
    assert loaded == ALL_TABLES
    assert counts(spec, *ALL_TABLES) == ALL_TABLES


def test_load_info_goes_to_the_task_log(
    make_spec: SpecMaker, dag_runner: DagRunner, capsys: pytest.CaptureFixture[str]
) -> None:
    dag_runner.run(make_spec(mode="single"))
    printed = capsys.readouterr()
    assert "pipeline crm: 1 load(s) into duckdb dataset crm" in printed.out + printed.err


def test_building_the_dag_runs_no_resource(make_spec: SpecMaker, data: ConformanceData) -> None:
    dag = build_dag(make_spec(mode="parallel"))
    assert sorted(dag.task_dict) == ["crm.events", "crm.users"]
    assert "Every event" in (dag.task_dict["crm.events"].doc_md or "")
    assert data.started() == []


def test_a_lone_operator_loads_the_resources_it_names(
    make_spec: SpecMaker, dag_runner: DagRunner
) -> None:
    result = dag_runner.run(make_spec(resources=["users"]))
    assert result.state == "success"
    assert row_counts(result, "load") == {"users": 2, "users__tags": 3}  # not the transformer


# -- incremental runs, workers, windows --------------------------------------------------------
def test_second_run_on_a_fresh_worker_loads_only_new_rows(
    make_spec: SpecMaker, dag_runner: DagRunner, data: ConformanceData
) -> None:
    dsn = fresh_postgres_dsn()
    first = dag_runner.run(make_spec("worker_a", destination=f"postgres:{dsn}"))
    assert row_counts(first, "events") == {"events": 3}
    data.add_events(2)
    spec = make_spec("worker_b", destination=f"postgres:{dsn}")
    second = dag_runner.run(spec)
    assert row_counts(second, "events") == {"events": 2}
    assert counts(spec, "events", "users") == {"events": 5, "users": 2}


def test_a_data_interval_backfill_loads_its_window_and_leaves_the_cursor(
    make_spec: SpecMaker, dag_runner: DagRunner, data: ConformanceData
) -> None:
    manual = make_spec()  # schedule None: a manual run's interval is empty, so no window
    dag_runner.run(manual)  # events 1..3, the cursor at event 3
    data.add_events(2)
    daily = make_spec(daily=True)
    backfill = dag_runner.run(daily, logical_date=datetime.datetime(2024, 1, 3, tzinfo=UTC))
    assert row_counts(backfill, "events") == {"events": 1}  # [Jan 2, Jan 3): event 2 only
    after = dag_runner.run(manual)
    assert row_counts(after, "events") == {"events": 2}  # the cursor stayed at event 3
    pipeline = pipeline_of(manual)
    ids = pipeline.dataset("SELECT id FROM events ORDER BY id").to_pylist()
    assert [row["id"] for row in ids] == [1, 2, 2, 3, 4, 5]  # append: the backfill re-adds 2


def test_without_use_data_interval_a_scheduled_run_is_not_bounded(
    make_spec: SpecMaker, dag_runner: DagRunner
) -> None:
    spec = make_spec(daily=True, use_data_interval=False)
    result = dag_runner.run(spec, logical_date=datetime.datetime(2024, 1, 3, tzinfo=UTC))
    assert row_counts(result, "events") == {"events": 3}


# -- failures and retries ------------------------------------------------------------------------
def test_a_failing_resource_fails_only_its_task(
    make_spec: SpecMaker, dag_runner: DagRunner, data: ConformanceData
) -> None:
    broken = dag_runner.run(make_spec(fail="users"))
    assert broken.state == "failed"
    assert broken.task_states == {"events": "success", "users": "failed"}
    assert row_counts(broken, "events") == {"events": 3}
    # Fixed; only the failed task runs again (the other is marked done, as after a clear).
    fixed = make_spec()
    again = dag_runner.run(fixed, mark_success=r"crm\.events")
    assert again.state == "success"
    assert row_counts(again, "users") == {"users": 2, "users__tags": 3, "user_tags": 3}
    assert counts(fixed, *ALL_TABLES) == ALL_TABLES


def test_a_state_conflict_is_retried_and_loads_nothing_twice(
    make_spec: SpecMaker, dag_runner: DagRunner
) -> None:
    spec = make_spec(racing=True, retries=1)
    result = dag_runner.run(spec)
    assert result.state == "success"
    assert result.tries["events"] == 2  # the first attempt lost the race
    assert row_counts(result, "events") == {}  # the rival had loaded everything
    assert counts(spec, "events") == {"events": 3}


def test_an_error_a_retry_cannot_fix_fails_at_once(
    make_spec: SpecMaker, dag_runner: DagRunner
) -> None:
    result = dag_runner.run(make_spec(mode="single", conn_id="nowhere", retries=2))
    assert result.task_states == {"conformance": "failed"}
    assert result.tries["conformance"] == 1  # a ConfigError: no retries


# -- credentials from an Airflow Connection -------------------------------------------------------
def test_destination_from_an_airflow_connection(
    make_spec: SpecMaker,
    dag_runner: DagRunner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dsn = fresh_postgres_dsn()
    parts = conninfo_to_dict(dsn)  # trust auth: the password below is sent, never needed
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE",
        f"postgresql://{parts['user']}:s3cr3t-pw@{parts['host']}:{parts['port']}/{parts['dbname']}",
    )
    spec = make_spec(mode="single", conn_id="warehouse", destination="")
    result = dag_runner.run(spec)
    assert result.state == "success"
    info = result.xcom["conformance"]
    assert info["destination"] == "postgres"
    loaded = ladle.pipeline("crm", destination=ladle.destinations.postgres(dsn), dataset_name="crm")
    assert loaded.dataset("SELECT count(*) AS n FROM events").to_pylist() == [{"n": 3}]
    printed = capsys.readouterr()
    assert "destination from connection 'warehouse'" in printed.out + printed.err
    assert "s3cr3t-pw" not in printed.out + printed.err + repr(info)


# -- the provider --------------------------------------------------------------------------------
def test_registered_as_an_airflow_provider(airflow_db: Path) -> None:
    from airflow.providers_manager import ProvidersManager

    providers = ProvidersManager().providers
    assert "ladle-airflow" in providers
    assert providers["ladle-airflow"].data["name"] == "ladle"
