"""`LadleOperator`: one Airflow task that runs one unit of a ladle source.

The operator holds the source and the pipeline as built by the DAG file, and the unit it runs
(plain data from `ladle.orchestration.plan`). Building it reads the plan only; extraction starts
in `execute`, on the worker. Airflow re-parses DAG files often, so a DAG file must make sources
cheaply: resource functions run only when a task runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

import ladle
from ladle.orchestration import Unit, plan, retry_can_help, run_unit
from ladle_airflow.connections import destination_from_connection


class LadleOperator(BaseOperator):
    """Run a ladle source, some of its resources, or one unit of its plan, as one task.

    >>> LadleOperator(task_id="crm", source=crm(), pipeline=ladle.pipeline("crm"))

    - `resources`: load only these (their parents still run); default: the selected ones.
    - `unit`: a unit of `ladle.orchestration.plan(source)` (what `LadleTaskGroup` passes).
    - `use_data_interval`: bound incremental resources by the run's data interval (a backfill
      leaves stored cursors alone). An empty interval (a manual run, or a schedule without data
      intervals such as a plain cron string in Airflow 3) runs from the stored cursors.
    - `conn_id`: build the destination from this Airflow Connection instead of the pipeline's.

    The LoadInfo goes to the task log and, as JSON (`LoadInfo.asdict()`), to XCom. Errors that
    a retry cannot fix (configuration, schema contracts) fail the task without retries; the
    others (a `StateConflict`, a destination or resource error) use the task's retries.
    """

    ui_color = "#f5e6c8"
    # Sources hold functions and generators: Airflow's copies of a task keep the same objects.
    shallow_copy_attrs: Sequence[str] = ("source", "pipeline", "unit")

    def __init__(
        self,
        *,
        source: ladle.Source,
        pipeline: ladle.Pipeline,
        resources: Sequence[str] | None = None,
        unit: Unit | None = None,
        use_data_interval: bool = False,
        conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        if unit is not None and resources is not None:
            raise ladle.ConfigError("pass `resources` or `unit`, not both", key="resources")
        if unit is None:
            selected = source.with_resources(*resources) if resources is not None else source
            whole = plan(selected).as_single_unit()
            if not whole.units:
                raise ladle.ConfigError(
                    f"source '{source.name}' has no selected resources to run", key="resources"
                )
            unit = whole.units[0]
        kwargs.setdefault("doc_md", unit.description)
        super().__init__(**kwargs)
        self.source = source
        self.pipeline = pipeline
        self.unit = unit
        self.use_data_interval = use_data_interval
        self.conn_id = conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            info = self._run(context)
        except ladle.LadleError as error:
            if retry_can_help(error):
                raise  # Airflow retries: a conflict, a flaky API or database can pass next time
            raise AirflowFailException(f"{type(error).__name__}: {error}") from error
        self.log.info("%s", info)
        return info.asdict()

    def _run(self, context: Context) -> ladle.LoadInfo:
        window = self._window(context) if self.use_data_interval else None
        destination = None
        if self.conn_id is not None:
            destination = destination_from_connection(self.conn_id)
            self.log.info("destination from connection '%s': %r", self.conn_id, destination)
        return run_unit(self.pipeline, self.source, self.unit, window, destination=destination)

    def _window(self, context: Context) -> tuple[Any, Any] | None:
        start = context.get("data_interval_start")
        end = context.get("data_interval_end")
        if start is None or end is None or not start < end:
            self.log.info(
                "the data interval of this run is empty (%s to %s): loading from the stored "
                "cursors, without a window",
                start,
                end,
            )
            return None
        self.log.info("window from the data interval: %s <= cursor < %s", start, end)
        return (start, end)


__all__ = ["LadleOperator"]
