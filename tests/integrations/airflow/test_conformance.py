"""ladle-airflow passes the adapter conformance suite, in the modes that make a task per unit.

The orchestrator is real Airflow (`dag.test()`): the plan is pickled for the DAG file, the
source is rebuilt from `plan.source_ref`, and a window becomes the run's data interval.
"""

from __future__ import annotations

import datetime
import itertools
import pickle
from pathlib import Path

import pytest

from ladle.destinations.duckdb import DuckDbDestination
from ladle.testing import AdapterSuite, Orchestrate, Orchestration, Outcome
from tests.integrations.airflow.dag_factory import DagRunner, DagSpec

_dag_ids = itertools.count()


class TestAirflowParallel(AdapterSuite):
    mode = "parallel"

    @pytest.fixture
    def orchestrate(self, dag_runner: DagRunner, tmp_path: Path) -> Orchestrate:
        def run(job: Orchestration) -> Outcome:
            ref = job.plan.source_ref
            assert ref is not None
            assert isinstance(job.pipeline.destination, DuckDbDestination)
            plan_file = tmp_path / f"plan_{next(_dag_ids)}.pickle"
            plan_file.write_bytes(pickle.dumps(job.plan))
            spec = DagSpec(
                dag_id=f"ladle_suite_{plan_file.stem}",
                data_dir=ref.args[0],
                fail=ref.kwargs.get("fail"),
                pipelines_dir=str(job.pipeline.working_dir.parent),
                destination=f"duckdb:{job.pipeline.destination.target}",
                pipeline_name=job.pipeline.pipeline_name,
                dataset_name=job.pipeline.dataset_name,
                mode=self.mode,
                plan_file=str(plan_file),
                daily=job.window is not None,
            )
            logical_date = None
            if job.window is not None:
                start, end = job.window
                assert end - start == datetime.timedelta(days=1), "the suite's windows are days"
                logical_date = end  # a daily run's data interval ends at its logical date
            return dag_runner.run(spec, logical_date=logical_date).outcome()

        return run


class TestAirflowSerial(TestAirflowParallel):
    mode = "serial"
