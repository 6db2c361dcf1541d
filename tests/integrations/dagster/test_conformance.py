"""ladle-dagster passes the adapter conformance suite.

The orchestrator is real Dagster (`dagster.materialize`): the suite's plan becomes the assets'
plan, and a window (a whole UTC day) becomes a daily partition of the run.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from ladle.testing import AdapterSuite, Orchestrate, Orchestration, Outcome
from ladle_dagster import LadleResource, ladle_assets

DAILY = dg.DailyPartitionsDefinition(start_date="2024-01-01", timezone="UTC")


class TestDagster(AdapterSuite):
    @pytest.fixture
    def orchestrate(self, tmp_path: Path) -> Orchestrate:
        def run(job: Orchestration) -> Outcome:
            partition_key = None
            if job.window is not None:
                start, end = job.window
                assert end - start == datetime.timedelta(days=1), "the suite's windows are days"
                partition_key = start.strftime("%Y-%m-%d")

            @ladle_assets(
                source=job.source,
                pipeline=job.pipeline,
                plan=job.plan,
                partitions_def=DAILY if partition_key else None,
            )
            def suite_assets(context: dg.AssetExecutionContext, ladle: LadleResource) -> Any:
                yield from ladle.run(context=context)

            with dg.DagsterInstance.ephemeral(tempdir=str(tmp_path / "dagster")) as instance:
                result = dg.materialize(
                    [suite_assets],
                    instance=instance,
                    resources={"ladle": LadleResource()},
                    partition_key=partition_key,
                    raise_on_error=False,
                )
            # Every unit of the plan ran: one that materialized nothing failed (None).
            unit_of = {r: unit.id for unit in job.plan.units for r in unit.resources}
            resource_of = {spec.key: spec.metadata["ladle/resource"] for spec in suite_assets.specs}
            outcome: dict[str, Any] = dict.fromkeys(unit_of.values())
            for event in result.get_asset_materialization_events():
                assert event.asset_key is not None
                unit = unit_of[resource_of[event.asset_key]]
                outcome[unit] = event.materialization.metadata["ladle/load_info"].value
            return outcome

        return run
