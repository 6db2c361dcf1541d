"""`LadleTaskGroup`: a ladle source as an Airflow TaskGroup, a task per unit of its plan.

    parallel   a task per unit; tasks wait only for the units they depend on
    serial     a task per unit, chained in the plan's order
    single     one task for the whole source

Building the group reads the plan (`ladle.orchestration.plan`): no resource runs at DAG parse
time. Task ids are the unit ids (sanitized resource names) inside the group.

No task is needed up front to create the dataset: PostgreSQL loads serialize their DDL on an
advisory lock and DuckDB admits one writer at a time, so the first units to load create what
is missing. (Parallel tasks on one DuckDB file in separate processes take turns on its lock,
each waiting up to the destination's `lock_timeout`.)
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Literal

from airflow.sdk import TaskGroup

import ladle
from ladle.orchestration import Plan, plan
from ladle_airflow.operator import LadleOperator

Mode = Literal["parallel", "serial", "single"]
MODES = ("parallel", "serial", "single")


class LadleTaskGroup(TaskGroup):
    """A task per unit of `source`'s plan; see the module doc for `mode`.

    >>> with DAG("crm", schedule=CronDataIntervalTimetable("@daily", "UTC"), ...):
    ...     LadleTaskGroup("crm", source=crm(), pipeline=ladle.pipeline("crm"), mode="parallel")

    `retries`, `use_data_interval` and `conn_id` apply to every task (see `LadleOperator`);
    other keyword arguments (`retry_delay`, `pool`, `execution_timeout`, ...) too. `plan` runs a
    plan you changed (units joined, ordered with `depends_on`) instead of `plan(source)`.
    """

    def __init__(
        self,
        group_id: str,
        *,
        source: ladle.Source,
        pipeline: ladle.Pipeline,
        mode: Mode = "parallel",
        use_data_interval: bool = True,
        retries: int = 2,
        conn_id: str | None = None,
        plan: Plan | None = None,
        group_kwargs: Mapping[str, Any] | None = None,
        **task_kwargs: Any,
    ) -> None:
        if mode not in MODES:
            raise ladle.ConfigError(
                f"LadleTaskGroup mode must be one of {', '.join(MODES)}, not {mode!r}",
                key="mode",
            )
        work = plan if plan is not None else _plan(source)
        if mode == "single":
            work = work.as_single_unit()
        options = dict(group_kwargs or {})
        options.setdefault(
            "tooltip", f"ladle source {work.source_name}: {', '.join(work.unit_ids)}"
        )
        super().__init__(group_id=group_id, **options)
        self.ladle_plan = work
        self.mode = mode
        with self:
            tasks = {
                unit.id: LadleOperator(
                    task_id=unit.id,
                    source=source,
                    pipeline=pipeline,
                    unit=unit,
                    use_data_interval=use_data_interval,
                    conn_id=conn_id,
                    retries=retries,
                    **task_kwargs,
                )
                for unit in work.ordered()
            }
        for unit in work.units:
            for upstream in unit.depends_on:
                tasks[upstream] >> tasks[unit.id]
        if mode == "serial":
            ordered = [tasks[unit.id] for unit in work.ordered()]
            for before, after in itertools.pairwise(ordered):
                before >> after
        self.ladle_tasks = tasks


_plan = plan  # `plan` is also a keyword argument of LadleTaskGroup


__all__ = ["LadleTaskGroup", "Mode"]
