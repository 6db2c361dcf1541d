"""The DAG through Airflow's own services: scheduler with the LocalExecutor, DAG processor and API
server, each a process of its own, with a PostgreSQL metadata DB, loading into PostgreSQL.

Every task runs in a process the LocalExecutor starts, reads the DAG file itself and reaches
Airflow only through the execution API, as on a production deployment. The services start once
for the module (about half a minute: a metadata DB migration and three processes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ladle.testing.adapter_suite import ConformanceData
from tests.core.destinations.postgres_server import ADMIN_DSN, fresh_postgres_dsn
from tests.integrations.airflow.dag_factory import DagSpec

ROOT = Path(__file__).resolve().parents[3]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAG_ID = "ladle_scheduled"
STARTUP_TIMEOUT = 120.0  # seconds until the DAG processor has registered the DAG
RUN_TIMEOUT = 180.0  # seconds for one DAG run


class AirflowServices:
    """A running Airflow (scheduler, DAG processor, API server) and its metadata DB."""

    def __init__(self, home: Path, metadata_dsn: str) -> None:
        self.home = home
        self.metadata_dsn = metadata_dsn
        port = _free_port()
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _sqlalchemy_url(metadata_dsn),
            # Every process signs and checks the tasks' tokens with this one key.
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "PYTHONPATH": str(ROOT),  # the DAG file imports the tests' DAG factory
        }
        self.port = port
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self._airflow("db", "migrate")
        for name, args in (
            ("api-server", ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]),
            ("dag-processor", []),
            ("scheduler", []),
        ):
            with (self.home / f"{name}.log").open("wb") as log:  # the child keeps its copy
                self.processes.append(
                    subprocess.Popen(
                        [AIRFLOW, name, *args],
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # stopped as a group: uvicorn, executor workers
                    )
                )
        self._wait_for(
            lambda: self.query("SELECT is_paused FROM dag WHERE dag_id = %s", DAG_ID) == [(False,)],
            STARTUP_TIMEOUT,
            "the DAG processor to register the DAG",
        )

    def stop(self) -> None:
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def run_dag(self, run_id: str) -> str:
        """Trigger a manual run and wait until it ends; returns its state."""
        self._airflow("dags", "trigger", DAG_ID, "--run-id", run_id)
        states: list[tuple[Any, ...]] = []

        def ended() -> bool:
            nonlocal states
            states = self.query("SELECT state FROM dag_run WHERE run_id = %s", run_id)
            return bool(states) and states[0][0] in ("success", "failed")

        self._wait_for(ended, RUN_TIMEOUT, f"DAG run {run_id} to end")
        return str(states[0][0])

    def tasks(self, run_id: str) -> dict[str, dict[str, Any]]:
        """task id -> state, pid and XCom return value of each task of the run."""
        rows = self.query(
            "SELECT ti.task_id, ti.state, ti.pid, x.value FROM task_instance ti "
            "LEFT JOIN xcom x ON x.dag_id = ti.dag_id AND x.run_id = ti.run_id "
            "AND x.task_id = ti.task_id AND x.key = 'return_value' WHERE ti.run_id = %s",
            run_id,
        )
        return {
            task: {"state": state, "pid": pid, "xcom": value} for task, state, pid, value in rows
        }

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.metadata_dsn, autocommit=True) as connection:
            try:
                return connection.execute(sql, params).fetchall()
            except psycopg.errors.UndefinedTable:  # before the migration created it
                return []

    def logs(self) -> str:
        """The end of each service's log, for a failing assertion's message."""
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}"
            for log in sorted(self.home.glob("*.log"))
        )

    def _airflow(self, *args: str) -> None:
        done = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, timeout=180, check=False
        )
        assert done.returncode == 0, f"airflow {' '.join(args)}: {done.stderr.decode()[-3000:]}"

    def _wait_for(self, condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            dead = [p.args for p in self.processes if p.poll() is not None]
            assert not dead, f"Airflow service(s) exited: {dead}\n{self.logs()}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}\n{self.logs()}"
            time.sleep(1)


@pytest.fixture(scope="module")
def destination_dsn() -> str:
    return fresh_postgres_dsn()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ConformanceData:
    made = ConformanceData(tmp_path_factory.mktemp("data"))
    made.add_events(3)
    return made


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker")


@pytest.fixture(scope="module")
def airflow(
    tmp_path_factory: pytest.TempPathFactory,
    destination_dsn: str,
    data: ConformanceData,
    workdir: Path,
) -> Iterator[AirflowServices]:
    home = tmp_path_factory.mktemp("airflow-home")
    (home / "dags").mkdir()
    spec = DagSpec(
        dag_id=DAG_ID,
        data_dir=str(data.folder),
        pipelines_dir=str(workdir),
        destination=f"postgres:{destination_dsn}",
        mode="parallel",
        retries=1,
    )
    (home / "dags" / f"{DAG_ID}.py").write_text(
        "# An airflow DAG written by the ladle-airflow scheduler test.\n"
        "import json\n"
        "from tests.integrations.airflow.dag_factory import DagSpec, build_dag\n"
        f"dag = build_dag(DagSpec(**json.loads({json.dumps(dataclasses.asdict(spec))!r})))\n"
    )
    database = f"ladle_airflow_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    services = AirflowServices(home, make_conninfo(ADMIN_DSN, dbname=database))
    try:
        services.start()
        yield services
    finally:
        services.stop()
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_the_scheduler_runs_each_unit_in_a_process_of_its_own(
    airflow: AirflowServices, destination_dsn: str, data: ConformanceData, workdir: Path
) -> None:
    assert airflow.run_dag("first") == "success", airflow.logs()
    first = airflow.tasks("first")
    assert {task: t["state"] for task, t in first.items()} == {
        "crm.events": "success",
        "crm.users": "success",
    }
    pids = {t["pid"] for t in first.values()}
    assert len(pids) == 2  # a process per task
    assert os.getpid() not in pids
    assert first["crm.events"]["xcom"]["row_counts"] == {"events": 3}
    assert first["crm.users"]["xcom"]["row_counts"] == {
        "users": 2,
        "users__tags": 3,
        "user_tags": 3,
    }

    # The next run lands on a worker with an empty disk: state comes from the destination.
    shutil.rmtree(workdir)
    data.add_events(2)
    assert airflow.run_dag("second") == "success", airflow.logs()
    second = airflow.tasks("second")
    assert second["crm.events"]["xcom"]["row_counts"] == {"events": 2}
    with psycopg.connect(destination_dsn) as connection:
        ids = connection.execute("SELECT id FROM crm.events ORDER BY id").fetchall()
    assert [row[0] for row in ids] == [1, 2, 3, 4, 5]


def _sqlalchemy_url(dsn: str) -> str:
    parts = conninfo_to_dict(dsn)
    login = quote(str(parts.get("user", "postgres")), safe="")
    if parts.get("password"):
        login += ":" + quote(str(parts["password"]), safe="")
    host, port = parts.get("host", "127.0.0.1"), parts.get("port", 5432)
    return f"postgresql+psycopg://{login}@{host}:{port}/{parts['dbname']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
