"""The DAGs of the Airflow tests, built from plain specs so a DAG file can rebuild them.

A test calls `runner.run(spec)`: it writes `<dags folder>/<dag_id>.py`, which builds the DAG from
the same spec (Airflow parses that file to serialize the DAG), then runs the test's own DAG
object with `dag.test()` and returns what each task did.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, DeltaDataIntervalTimetable

import ladle
from ladle.orchestration import Plan
from ladle.testing.adapter_suite import conformance_source, racing_source
from ladle_airflow import LadleOperator, LadleTaskGroup

UTC = datetime.timezone.utc
GROUP = "crm"


@dataclass(frozen=True)
class DagSpec:
    """A DAG with one LadleTaskGroup over `conformance_source` (events, users, user_tags)."""

    dag_id: str
    data_dir: str
    pipelines_dir: str
    destination: str = ""  # "duckdb:<path>" or "postgres:<dsn>"; "" with a conn_id
    mode: str = "parallel"
    conn_id: str | None = None
    fail: str | None = None
    use_data_interval: bool = True
    daily: bool = False  # runs with a data interval of one day; else manual runs only
    retries: int = 0
    plan_file: str | None = None  # a pickled Plan to run instead of plan(source)
    resources: list[str] | None = None  # a lone LadleOperator (task "load") for these resources
    pipeline_name: str = "crm"
    dataset_name: str = "crm"
    racing: bool = False  # `events` only, and another worker commits it while the task runs


def build_dag(spec: DagSpec) -> DAG:
    if spec.racing:
        rival = ladle.pipeline(
            spec.pipeline_name,
            destination=_destination(spec.destination),
            dataset_name=spec.dataset_name,
            pipelines_dir=str(Path(spec.data_dir) / "rival"),
            progress=False,
        )
        source = racing_source(spec.data_dir, rival)
    else:
        source = conformance_source(spec.data_dir, fail=spec.fail)
    pipeline = ladle.pipeline(
        spec.pipeline_name,
        destination=_destination(spec.destination),
        dataset_name=spec.dataset_name,
        pipelines_dir=spec.pipelines_dir,
        progress=False,
    )
    work: Plan | None = None
    if spec.plan_file is not None:
        work = pickle.loads(Path(spec.plan_file).read_bytes())
    with DAG(
        spec.dag_id,
        schedule=DeltaDataIntervalTimetable(datetime.timedelta(days=1)) if spec.daily else None,
        start_date=datetime.datetime(2024, 1, 1, tzinfo=UTC),
        catchup=False,
    ) as dag:
        if spec.resources is not None:
            LadleOperator(
                task_id="load",
                source=source,
                pipeline=pipeline,
                resources=spec.resources,
                use_data_interval=spec.use_data_interval,
                conn_id=spec.conn_id,
            )
        else:
            LadleTaskGroup(
                GROUP,
                source=source,
                pipeline=pipeline,
                mode=spec.mode,  # type: ignore[arg-type]
                use_data_interval=spec.use_data_interval,
                retries=spec.retries,
                retry_delay=datetime.timedelta(0),
                conn_id=spec.conn_id,
                plan=work,
            )
    return dag


def _destination(spec: str) -> Any:
    kind, _, where = spec.partition(":")
    if kind == "duckdb":
        return ladle.destinations.duckdb(where)
    if kind == "postgres":
        return ladle.destinations.postgres(where)
    return ladle.destinations.duckdb(":memory:")  # replaced by the conn_id's destination


@dataclass(frozen=True)
class DagResult:
    """What one `dag.test()` run did."""

    state: str
    task_states: dict[str, str]  # task id (without the group) -> state
    xcom: dict[str, Any]  # task id -> the task's return value (None if it failed)
    upstream: dict[str, set[str]]  # task id -> the task ids it waits for
    tries: dict[str, int]  # task id -> attempts made

    def outcome(self) -> dict[str, Any]:
        """The conformance suite's view: each task that ran, with its LoadInfo or None."""
        ran = ("success", "failed")
        return {task: self.xcom[task] for task, state in self.task_states.items() if state in ran}


class DagRunner:
    """Writes DAG files for specs, runs them with `dag.test()`, removes the files at the end."""

    def __init__(self, dags_folder: Path) -> None:
        self.dags_folder = dags_folder
        self.written: list[Path] = []

    def run(
        self,
        spec: DagSpec,
        logical_date: datetime.datetime | None = None,
        mark_success: str | None = None,
    ) -> DagResult:
        """Run the spec's DAG once; `mark_success` (a regex of task ids) skips those tasks, as if
        only the others had been cleared."""
        path = self.dags_folder / f"{spec.dag_id}.py"
        if not path.exists():
            # "airflow" and "DAG" must appear in the file: Airflow's safe mode skips others.
            params = json.dumps(dataclasses.asdict(spec))
            path.write_text(
                "# An airflow DAG written by the ladle-airflow tests.\n"
                "import json\n"
                "from tests.integrations.airflow.dag_factory import DagSpec, build_dag\n"
                f"dag = build_dag(DagSpec(**json.loads({params!r})))\n"
            )
            self.written.append(path)
        dag = build_dag(spec)
        run = dag.test(logical_date=logical_date, mark_success_pattern=mark_success)
        prefix = f"{GROUP}."
        task_states: dict[str, str] = {}
        xcom: dict[str, Any] = {}
        tries: dict[str, int] = {}
        for ti in run.get_task_instances():
            name = ti.task_id.removeprefix(prefix)
            task_states[name] = str(ti.state)
            tries[name] = ti.try_number
            xcom[name] = ti.xcom_pull(task_ids=ti.task_id) if ti.state == "success" else None
        upstream = {
            task_id.removeprefix(prefix): {t.removeprefix(prefix) for t in task.upstream_task_ids}
            for task_id, task in dag.task_dict.items()
        }
        return DagResult(str(run.state), task_states, xcom, upstream, tries)

    def close(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)
