"""Airflow for the tests: a throwaway AIRFLOW_HOME with a SQLite metadata DB, made once.

Airflow reads its configuration when it is first imported, so the environment is set here, at
collection, before any test module imports Airflow. The metadata DB is created once per test
session (in-process, about a second); each test uses DAG ids of its own, so runs never meet.

`dag.test()` runs only DAGs it finds in the DAGs folder (it parses them to serialize them), so
`run_dag` writes a two-line DAG file that calls the same factory the test calls: the task that
runs is the test's, the DAG Airflow serialized is the same one, parsed from the file.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="ladle-airflow-home-"))
(_HOME / "dags").mkdir()
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(_HOME / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
)
atexit.register(shutil.rmtree, _HOME, True)

import pytest  # noqa: E402

from tests.integrations.airflow.dag_factory import DagRunner  # noqa: E402


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """The session's metadata DB, created on first use."""
    from airflow.utils import db

    db.initdb()
    return _HOME


@pytest.fixture
def dags_folder(airflow_db: Path) -> Path:
    return airflow_db / "dags"


@pytest.fixture
def dag_runner(dags_folder: Path) -> Iterator[DagRunner]:
    runner = DagRunner(dags_folder)
    yield runner
    runner.close()
