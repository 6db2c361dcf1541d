"""Run a flow on the test server and read back, through Prefect's API, what it did.

Prefect 3 records task run states from events, a moment after they happen: `run_flow` waits
until every task run of the flow run is in a final state (or a test's timeout) before it
returns, so tests read what the UI would show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import Artifact, State, TaskRun
from prefect.logging.handlers import APILogHandler

FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


@dataclass(frozen=True)
class FlowRunRecord:
    """A finished flow run as Prefect's API reports it."""

    id: UUID
    state: State[Any]
    task_runs: dict[str, TaskRun]  # by task run name
    artifacts: list[Artifact]

    @property
    def task_states(self) -> dict[str, str]:
        return {name: run.state_name or "" for name, run in self.task_runs.items()}

    def result(self) -> Any:
        return self.state.result(raise_on_failure=False)

    def artifact(self, key: str) -> Artifact:
        found = [a for a in self.artifacts if a.key == key]
        assert len(found) == 1, [a.key for a in self.artifacts]
        return found[0]

    def logs(self) -> str:
        """Every log line the flow run sent to the server."""
        APILogHandler().flush()  # send what is queued, then read
        with get_client(sync_client=True) as client:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[self.id]))
            )
        return "\n".join(log.message for log in logs)


def run_flow(flow: Flow[..., Any], timeout: float = 30, **parameters: Any) -> FlowRunRecord:
    state = flow(return_state=True, **parameters)
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
            )
            settled = all(_settled(run) for run in runs)
            if settled or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return FlowRunRecord(flow_run_id, state, {run.name: run for run in runs}, artifacts)


def _settled(run: TaskRun) -> bool:
    """Final, or NotReady: a task that will not run because a task it waits for failed."""
    kind = run.state_type.value if run.state_type is not None else ""
    return kind in FINAL or run.state_name == "NotReady"
