"""ladle-prefect passes the adapter conformance suite, in the modes that make a task per unit.

The orchestrator is a real Prefect flow run on the session's test server: `run_source` submits
a task per unit of the suite's plan to the flow's task runner and passes the suite's window.
Parallel tasks (threads of one process) load into one DuckDB file, taking turns on its writer
lock; serial ones load into PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prefect import flow

import ladle
from ladle.destinations.base import Destination
from ladle.testing import AdapterSuite, Orchestrate, Orchestration, Outcome
from ladle_prefect import run_source
from tests.core.destinations.postgres_server import fresh_postgres_destination


class TestPrefectParallel(AdapterSuite):
    mode = "parallel"

    @pytest.fixture
    def destination(self, tmp_path: Path) -> Destination:
        return ladle.destinations.duckdb(str(tmp_path / "conformance.duckdb"))

    @pytest.fixture
    def orchestrate(self) -> Orchestrate:
        def run(job: Orchestration) -> Outcome:
            @flow(name=f"ladle-conformance-{self.mode}")
            def conformance() -> dict[str, Any]:
                return run_source(
                    job.source,
                    job.pipeline,
                    mode=self.mode,  # type: ignore[arg-type]
                    plan=job.plan,
                    window=job.window,
                    retries=0,  # the suite's failing unit fails at once
                    raise_on_failure=False,  # the suite wants the other units' results
                )

            outcome: Outcome = conformance()
            return outcome

        return run


class TestPrefectSerial(TestPrefectParallel):
    mode = "serial"

    @pytest.fixture
    def destination(self, tmp_path: Path) -> Destination:
        return fresh_postgres_destination()
