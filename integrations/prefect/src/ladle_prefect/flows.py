"""A ladle source in a Prefect flow: `run_source` inside your flow, or `source_flow` ready-made.

    parallel   a task per unit, submitted at once to the flow's task runner; a unit waits only
               for the units it depends on
    serial     a task per unit, one after the other in the plan's order
    single     one task for the whole source

The plan comes from `ladle.orchestration.plan(source)`; each task runs one unit with
`ladle.orchestration.run_unit`, so it resumes from the destination's state on any worker. A
failing unit fails its task (and, in `serial`, the units after it do not run); the units that
loaded stay committed, and the flow fails once every task has finished.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from prefect import Flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, wait

import ladle
from ladle.orchestration import Plan, plan
from ladle_prefect.artifacts import publish_row_counts
from ladle_prefect.tasks import RetryDelay, Window, unit_task

Mode = Literal["parallel", "serial", "single"]
MODES = ("parallel", "serial", "single")
Results = dict[str, dict[str, Any] | None]


def run_source(
    source: ladle.Source,
    pipeline: ladle.Pipeline,
    *,
    mode: Mode = "parallel",
    window: Window | None = None,
    retries: int = 2,
    retry_delay_seconds: RetryDelay = 10,
    destination_block: str | None = None,
    plan: Plan | None = None,
    tags: Sequence[str] = (),
    raise_on_failure: bool = True,
) -> Results:
    """Load `source` with `pipeline` from inside a Prefect flow, a task per unit of its plan.

    >>> @flow
    ... def crm_flow():
    ...     run_source(crm(), ladle.pipeline("crm", destination="postgres"), mode="parallel")

    Returns `LoadInfo.asdict()` of every unit that ran, by unit id (None for a failed unit);
    units that never ran (after a failure, in `serial`) are absent. A failed unit raises its
    error once every task has finished, unless `raise_on_failure=False`.

    - `window=(start, end)`: bound incremental resources to `start <= cursor < end` without
      moving their stored cursors (a backfill); either end may be None.
    - `retries`, `retry_delay_seconds` (a number or a list, one per retry): every task's.
      A `ladle.StateConflict`, destination and resource errors are retried; configuration and
      schema errors fail at once.
    - `destination_block`: the name of a Prefect Secret block holding the PostgreSQL
      credentials (see `ladle_prefect.blocks`), loaded by each task; replaces the pipeline's.
    - `plan`: run this plan (units joined, ordered with `depends_on`) instead of `plan(source)`.
    - `tags`: more tags on every task (each has `ladle` and `ladle-source:<name>`), e.g. for a
      tag concurrency limit.
    """
    _check(mode, retries, pipeline, destination_block)
    if FlowRunContext.get() is None:
        raise ladle.ConfigError(
            "run_source() submits Prefect tasks: call it inside a @flow function (or use "
            "source_flow(...) for a ready-made flow)",
            key="flow",
        )
    work = plan if plan is not None else _plan(source)
    if not work.units:
        raise ladle.ConfigError(
            f"source '{work.source_name}' has no selected resources to run", key="resources"
        )
    if mode == "single":
        work = work.as_single_unit()
    logger = get_run_logger()
    logger.info(
        "ladle source %s, %s: %s", work.source_name, mode, ", ".join(work.unit_ids) or "no units"
    )
    futures: dict[str, PrefectFuture[dict[str, Any]]] = {}
    for unit in work.ordered():
        upstream = [futures[unit_id] for unit_id in unit.depends_on]
        if mode == "serial" and futures:
            upstream.append(list(futures.values())[-1])
        futures[unit.id] = unit_task(
            unit, retries=retries, retry_delay_seconds=retry_delay_seconds, tags=tags
        ).submit(source, pipeline, unit, window, destination_block, wait_for=upstream)
    wait(list(futures.values()))
    results: Results = {}
    failed: list[PrefectFuture[dict[str, Any]]] = []
    for unit_id, future in futures.items():
        state = future.state
        if state.is_completed():
            results[unit_id] = future.result()
        elif state.is_failed() or state.is_crashed():
            results[unit_id] = None
            failed.append(future)
            logger.error("unit %s failed: %s", unit_id, state.message)
        else:
            logger.warning("unit %s did not run: a unit before it failed", unit_id)
    publish_row_counts(pipeline.pipeline_name, work.source_name, results)
    if failed and raise_on_failure:
        failed[0].result()  # raises the unit's error: the flow fails with it
    return results


def source_flow(
    source_function: Callable[..., ladle.Source],
    *,
    pipeline: ladle.Pipeline,
    name: str | None = None,
    mode: Mode = "parallel",
    retries: int = 2,
    retry_delay_seconds: RetryDelay = 10,
    destination_block: str | None = None,
    source_kwargs: Mapping[str, Any] | None = None,
    **flow_options: Any,
) -> Flow[..., Results]:
    """A Prefect flow that loads the source `source_function(**source_kwargs)` makes.

    >>> crm_flow = source_flow(crm, pipeline=ladle.pipeline("crm"), name="crm", retries=2)
    >>> crm_flow()                                         # from the stored cursors
    >>> crm_flow(start="2024-05-02", end="2024-05-03")     # a backfill of one day

    The flow's parameters `start` and `end` (datetimes; naive ones are UTC) bound incremental
    resources to `start <= cursor < end` without moving stored cursors; without them it loads
    from the stored cursors. The source is made when the flow runs. The other arguments are
    `run_source`'s; `flow_options` go to `prefect.flow` (`task_runner`, `timeout_seconds`,
    `log_prints`, ...). Serve or deploy it like any flow: `crm_flow.serve(name="crm-daily",
    cron="0 2 * * *")`.
    """
    _check(mode, retries, pipeline, destination_block)
    if not callable(source_function):
        raise ladle.ConfigError(
            f"source_flow() takes a @ladle.source function, not {type(source_function).__name__}",
            key="source_function",
        )
    kwargs = dict(source_kwargs or {})
    flow_name = name or getattr(source_function, "__name__", "ladle")

    def load_source(
        start: datetime.datetime | None = None, end: datetime.datetime | None = None
    ) -> Results:
        start, end = _utc(start), _utc(end)
        if start is not None and end is not None and not start < end:
            raise ladle.ConfigError(
                f"flow parameter end ({end}) must be after start ({start})", key="end"
            )
        window = None if start is None and end is None else (start, end)
        return run_source(
            source_function(**kwargs),
            pipeline,
            mode=mode,
            window=window,
            retries=retries,
            retry_delay_seconds=retry_delay_seconds,
            destination_block=destination_block,
        )

    # Real types, not strings: `flow.serve` pickles the flow by value into another process,
    # where Prefect builds the model of its parameters from them.
    load_source.__annotations__ = {
        "start": datetime.datetime | None,
        "end": datetime.datetime | None,
        "return": Results,
    }
    load_source.__doc__ = (
        f"Load the ladle source {flow_name} ({mode}, a task per unit). `start`/`end` bound its "
        "incremental resources (a backfill); without them it loads from the stored cursors."
    )
    return Flow(load_source, name=flow_name, **flow_options)


def _utc(moment: datetime.datetime | None) -> datetime.datetime | None:
    """Naive flow parameters (`--param start=2024-05-02`) are UTC, as ladle's cursors."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=datetime.timezone.utc)


def _check(mode: str, retries: int, pipeline: Any, destination_block: Any) -> None:
    if mode not in MODES:
        raise ladle.ConfigError(f"mode must be one of {', '.join(MODES)}, not {mode!r}", key="mode")
    if not isinstance(retries, int) or retries < 0:
        raise ladle.ConfigError(
            f"retries must be a whole number >= 0, not {retries!r}", key="retries"
        )
    if not isinstance(pipeline, ladle.Pipeline):
        raise ladle.ConfigError(
            f"pipeline must be a ladle.pipeline(...), not {type(pipeline).__name__}",
            key="pipeline",
        )
    if destination_block is not None and (
        not isinstance(destination_block, str) or not destination_block
    ):
        raise ladle.ConfigError(
            f"destination_block must be the name of a Prefect Secret block, not "
            f"{destination_block!r}",
            key="destination_block",
        )


_plan = plan  # `plan` is also a keyword argument of run_source


__all__ = ["MODES", "Mode", "run_source", "source_flow"]
