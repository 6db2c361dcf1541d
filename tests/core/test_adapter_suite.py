"""The adapter conformance suite, run against the smallest orchestrator: a loop in this process.

It checks the suite itself (a plugin that fails it should be at fault, not the suite) and shows
a plugin author what `orchestrate` has to do: render the plan, run each unit with `run_unit`
after the units it depends on, and report each unit's LoadInfo as a dict (None when it failed).
"""

from __future__ import annotations

import pytest

import ladle
from ladle.orchestration import run_unit
from ladle.testing import AdapterSuite, Orchestrate, Orchestration, Outcome


def run_in_process(job: Orchestration) -> Outcome:
    assert job.plan.source_ref is not None
    source = job.plan.source_ref.load()  # as a worker in another process would
    outcome: dict[str, dict[str, object] | None] = {}
    for unit in job.plan.ordered():
        if any(outcome.get(needed) is None for needed in unit.depends_on):
            continue  # an upstream unit failed: this one does not run
        try:
            outcome[unit.id] = run_unit(job.pipeline, source, unit, job.window).asdict()
        except ladle.LadleError:
            outcome[unit.id] = None
    return outcome


class TestInProcessLoop(AdapterSuite):
    @pytest.fixture
    def orchestrate(self) -> Orchestrate:
        return run_in_process
