"""Running one unit of a plan: what every orchestrator task does.

`run_unit` loads the unit's resources with a pipeline that works in a directory of its own
(`<working dir>/units/<unit id>`): tasks of one source that run side by side on one machine must
not share load packages, and two runs of the same unit there (a backfill next to a scheduled
run) take turns on a file lock. State and schema come from the destination first, so the task
resumes where the last committed load stopped, whichever worker made it; a package a killed run
left behind is loaded by the unit's next run on that machine.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from ladle.destinations.base import Destination
from ladle.errors import ConfigError, ExtractError, LadleError
from ladle.extract.source import Source
from ladle.orchestration.plan import Unit
from ladle.pipeline.load_info import LoadInfo
from ladle.pipeline.pipeline import Pipeline, WindowLike
from ladle.pipeline.pipeline import pipeline as make_pipeline

logger = logging.getLogger("ladle.orchestration")


def run_unit(
    pipeline: Pipeline,
    source: Source,
    unit: Unit,
    window: WindowLike = None,
    *,
    destination: Destination | None = None,
) -> LoadInfo:
    """Extract, normalize and load the resources of `unit`, committing once; returns what loaded.

    `window=(start, end)` bounds every incremental resource to `start <= cursor < end` without
    moving stored cursors (an orchestrator's data interval or partition). `destination`
    replaces the pipeline's (e.g. one built from an orchestrator's connection store).

    >>> from ladle.orchestration import plan, run_unit
    >>> work = plan(crm())
    >>> info = run_unit(ladle.pipeline("crm"), crm(), work.unit("users"))
    """
    if unit.source_name != source.name:
        raise ConfigError(
            f"unit '{unit.id}' belongs to source '{unit.source_name}', not '{source.name}'",
            key="source",
        )
    worker = unit_pipeline(pipeline, unit, destination)
    selected = source.with_resources(*unit.resources)
    with _exclusive(worker.working_dir.parent / "lock"):
        info = worker.run(selected, window=window)
    logger.info("unit %s of source %s: %s", unit.id, source.name, info)
    return info


def unit_pipeline(
    pipeline: Pipeline, unit: Unit, destination: Destination | None = None
) -> Pipeline:
    """A copy of `pipeline` (same name, destination and dataset) working in the unit's folder."""
    return make_pipeline(
        pipeline.pipeline_name,
        destination=destination if destination is not None else pipeline.destination,
        dataset_name=pipeline.dataset_name,
        pipelines_dir=pipeline.working_dir / "units" / unit.id,
        progress=pipeline.progress_mode,
    )


def retry_can_help(error: BaseException) -> bool:
    """Whether an orchestrator should retry a unit that raised `error`.

    Yes for retryable ladle errors (a `StateConflict`, destination errors), for resource errors
    (a flaky API can pass next time) and for errors ladle does not know; no for configuration
    and schema errors, which fail the same way every time.
    """
    if isinstance(error, LadleError):
        return error.retryable or isinstance(error, ExtractError)
    return True


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a no-op where fcntl is missing, i.e. Windows)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: one run per unit at a time is on the user
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


__all__ = ["retry_can_help", "run_unit", "unit_pipeline"]
