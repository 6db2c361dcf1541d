"""The README's Airflow example is a working DAG file: Airflow parses it and runs it."""

from __future__ import annotations

import datetime
import re
import runpy
from pathlib import Path

import pytest

from tests.core.destinations.postgres_server import fresh_postgres_dsn

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "integrations" / "airflow" / "examples" / "crm_dag.py"
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
AIRFLOW_BLOCKS = [block for block in BLOCKS if "ladle_airflow" in block]


def test_the_readme_shows_the_example_dag_file() -> None:
    assert [EXAMPLE.read_text()] == AIRFLOW_BLOCKS


def test_the_example_dag_runs_a_day_of_tickets(
    dags_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The example's pipeline reads its PostgreSQL credentials from the environment.
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", fresh_postgres_dsn())
    path = dags_folder / "readme_crm_dag.py"
    path.write_text(AIRFLOW_BLOCKS[0])
    try:
        dag = runpy.run_path(str(path))["dag"]
        assert sorted(dag.task_dict) == ["crm.tickets", "crm.users"]
        run = dag.test(logical_date=datetime.datetime(2024, 5, 3, tzinfo=datetime.timezone.utc))
    finally:
        path.unlink()
    loaded = {ti.task_id: ti.xcom_pull(task_ids=ti.task_id) for ti in run.get_task_instances()}
    assert loaded["crm.tickets"]["row_counts"] == {"tickets": 1}  # May 2, the run's interval
    assert loaded["crm.users"]["row_counts"] == {"users": 2, "user_emails": 2}
