"""Orchestrator-neutral plans: units of work of a source, and running one unit.

The Airflow, Dagster and Prefect plugins translate a `Plan` into their own tasks, steps or
assets, and call `run_unit` inside each; they contain translation only.

    >>> from ladle.orchestration import plan, run_unit
    >>> work = plan(crm())                 # reads the source, starts nothing
    >>> for unit in work.ordered():        # what a serial run does, one task per unit
    ...     info = run_unit(pipeline, crm(), unit, window=(start, end))
"""

from ladle.orchestration.plan import Plan, ResourceSpec, Unit, plan
from ladle.orchestration.run import retry_can_help, run_unit, unit_pipeline
from ladle.orchestration.source_ref import SourceRef

__all__ = [
    "Plan",
    "ResourceSpec",
    "SourceRef",
    "Unit",
    "plan",
    "retry_can_help",
    "run_unit",
    "unit_pipeline",
]
