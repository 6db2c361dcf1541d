"""`ladle.state()` and `ladle.source_state()`: the persisted dicts of the running resource.

The extractor sets the current resource's context around every step of its generator (and of
transformers' generators), so the functions work wherever resource code runs, threads included.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from ladle.errors import ConfigError


@dataclass(frozen=True)
class ResourceContext:
    resource_name: str
    resource_state: dict[str, Any]
    source_state: dict[str, Any]


# Set by the extractor around each step of a resource's generator.
current_resource: ContextVar[ResourceContext | None] = ContextVar("ladle_resource", default=None)


def _context(function: str) -> ResourceContext:
    context = current_resource.get()
    if context is None:
        raise ConfigError(
            f"ladle.{function}() works inside a resource while a pipeline runs it "
            "(pipeline.run / pipeline.extract)",
            key="state",
        )
    return context


def state() -> dict[str, Any]:
    """The running resource's own state: a dict saved with its data when the load commits.

    >>> @ladle.resource
    ... def pages():
    ...     seen = ladle.state().setdefault("pages_seen", 0)
    ...     ladle.state()["pages_seen"] = seen + 1
    ...     yield {"page": seen + 1}

    The key "incremental" is ladle's own (cursors of `ladle.incremental`).
    """
    return _context("state").resource_state


def source_state() -> dict[str, Any]:
    """The state shared by all resources of the running source."""
    return _context("source_state").source_state
