"""How a worker process rebuilds a source: the import path of its function and its arguments.

Orchestrators that run tasks in other processes (or on other machines) pass plain data, not live
sources. `@ladle.source` records where its function lives and how it was called; a `SourceRef`
holds that, pickles, and `load()` calls the function again in the worker.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ladle.errors import ConfigError
from ladle.extract.source import Source


@dataclass(frozen=True)
class SourceRef:
    """`"package.module:function"` and the arguments the source function was called with."""

    origin: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> Source:
        """Import the source function and call it with the recorded arguments.

        Changes made to the source object after it was made (selections, `add_map`,
        `apply_hints`) are not recorded: apply them in the source function, or pass the live
        source where the orchestrator allows it."""
        module_name, _, qualname = self.origin.partition(":")
        if "<locals>" in qualname or not qualname:
            raise ConfigError(
                f"source function {self.origin} is defined inside another function: define it "
                "at module level so a worker can import it",
                key="source",
            )
        try:
            found: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"cannot import source function {self.origin} in this process: {exc}",
                key="source",
            ) from exc
        made = found(*self.args, **dict(self.kwargs))
        if not isinstance(made, Source):
            raise ConfigError(
                f"{self.origin} returned {type(made).__name__}, not a source", key="source"
            )
        return made


__all__ = ["SourceRef"]
