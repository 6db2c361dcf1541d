"""The README's Prefect example is a working flow file: its flows run, it serves a deployment."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import ladle
from tests.core.destinations.postgres_server import fresh_postgres_dsn
from tests.integrations.prefect.prefect_runs import run_flow

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "integrations" / "prefect" / "examples" / "crm_flow.py"
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
PREFECT_BLOCKS = [block for block in BLOCKS if "ladle_prefect" in block]


def test_the_readme_shows_the_example_flow_file() -> None:
    assert [EXAMPLE.read_text()] == PREFECT_BLOCKS


@pytest.fixture
def warehouse() -> str:
    """The example's Secret block `crm-warehouse`: the URL of an empty PostgreSQL database."""
    from prefect.blocks.system import Secret

    dsn = fresh_postgres_dsn()
    Secret(value=dsn).save("crm-warehouse", overwrite=True)
    return dsn


@pytest.fixture
def example_file(tmp_path: Path) -> Path:
    path = tmp_path / "crm_flow.py"
    path.write_text(PREFECT_BLOCKS[0])
    return path


def tickets(dsn: str) -> list[int]:
    pipeline = ladle.pipeline(
        "crm", destination=ladle.destinations.postgres(dsn), dataset_name="raw_crm"
    )
    return [row["id"] for row in pipeline.dataset("SELECT id FROM tickets ORDER BY id").to_pylist()]


def test_the_example_flows_backfill_a_day_then_load_from_the_cursor(
    warehouse: str, example_file: Path
) -> None:
    flows = runpy.run_path(str(example_file))  # not __main__: nothing is served
    backfill = run_flow(flows["crm_flow"], start="2024-05-02", end="2024-05-03")
    assert backfill.state.is_completed(), backfill.state
    assert set(backfill.task_runs) == {"users", "tickets"}
    assert backfill.result()["tickets"]["row_counts"] == {"tickets": 1}  # May 2 only
    assert backfill.result()["users"]["row_counts"] == {"users": 2, "user_emails": 2}
    report = run_flow(flows["crm_report"])
    assert report.state.is_completed(), report.state
    assert "'tickets': {'tickets': 7}" in report.logs()  # printed; the cursor had not moved
    assert tickets(warehouse) == [1, 2, 2, 3, 4, 5, 6, 7]


@pytest.fixture
def served(example_file: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python crm_flow.py`: serves the deployment `crm/crm-nightly` from the test server."""
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"  # pick a run up within a second
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(example_file)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_the_example_serves_a_deployment_that_backfills(
    warehouse: str, served: subprocess.Popen[bytes], tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    deadline = time.monotonic() + 60
    with get_client(sync_client=True) as client:
        while True:
            try:
                client.read_deployment_by_name("crm/crm-nightly")
                break
            except ObjectNotFound:
                log = (tmp_path / "serve.log").read_text()
                assert served.poll() is None, log
                assert time.monotonic() < deadline, log
                time.sleep(0.2)
    flow_run = run_deployment(
        "crm/crm-nightly",
        parameters={"start": "2024-05-02", "end": "2024-05-03"},
        timeout=90,
        poll_interval=0.5,
        as_subflow=False,
    )
    assert flow_run.state is not None
    assert flow_run.state.is_completed(), (tmp_path / "serve.log").read_text()
    assert tickets(warehouse) == [2]
