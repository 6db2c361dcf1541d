"""The Prefect task that runs one unit of a ladle plan.

`unit_task(unit, ...)` is `load_unit` with the unit's name, description, retries and tags: its
task runs are named after the unit (the resource it loads). The task calls
`ladle.orchestration.run_unit` (state and schema from the destination first, one commit), logs
the LoadInfo through Prefect's run logger, publishes it as a Markdown artifact and returns
`LoadInfo.asdict()`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prefect import Task, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

import ladle
from ladle.orchestration import Unit, retry_can_help, run_unit
from ladle_prefect.artifacts import publish_unit
from ladle_prefect.blocks import destination_from_block

Window = tuple[Any, Any]
RetryDelay = float | Sequence[float]


# A load must never be skipped because an earlier run had the same inputs: no cache.
@task(cache_policy=NO_CACHE)
def load_unit(
    source: ladle.Source,
    pipeline: ladle.Pipeline,
    unit: Unit,
    window: Window | None = None,
    destination_block: str | None = None,
) -> dict[str, Any]:
    """Load one unit of a ladle plan (see `ladle.orchestration.run_unit`)."""
    logger = get_run_logger()
    destination = None
    if destination_block is not None:
        destination = destination_from_block(destination_block)
        logger.info(
            "destination from Prefect Secret block '%s': %r", destination_block, destination
        )
    if window is not None:
        logger.info("window: %s <= cursor < %s (stored cursors stay)", *window)
    info = run_unit(pipeline, source, unit, window, destination=destination)
    logger.info("%s", info)
    result = info.asdict()
    publish_unit(unit, result)
    return result


def unit_task(
    unit: Unit,
    *,
    retries: int = 2,
    retry_delay_seconds: RetryDelay = 10,
    tags: Sequence[str] = (),
) -> Task[..., dict[str, Any]]:
    """`load_unit` as the unit's own task: named after it, retried while a retry can help."""
    return load_unit.with_options(
        name=unit.id,
        task_run_name=unit.id,
        description=unit.description,
        retries=retries,
        retry_delay_seconds=_delays(retry_delay_seconds),
        retry_condition_fn=_retry_can_help,
        tags={"ladle", f"ladle-source:{unit.source_name}", *tags},
    )


def _retry_can_help(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry a StateConflict, a destination or resource error; not a config or schema error."""
    error = state.result(raise_on_failure=False)
    return not isinstance(error, BaseException) or retry_can_help(error)


def _delays(delay: RetryDelay) -> float | list[float]:
    return delay if isinstance(delay, (int, float)) else [float(d) for d in delay]


__all__ = ["load_unit", "unit_task"]
