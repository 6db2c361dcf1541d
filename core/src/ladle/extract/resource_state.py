"""The state one extraction reads and writes: a working copy per resource and for the source,
incremental cursors bound to it, and the changes to commit with the package."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ladle.extract.column_hints import key_list
from ladle.extract.incremental import STATE_KEY, Incremental, Window
from ladle.state import codec
from ladle.state.context import ResourceContext
from ladle.state.scopes import (
    ScopeState,
    StateChange,
    resource_scope,
    source_scope,
    working_copy,
)

if TYPE_CHECKING:
    from ladle.extract.resource import Resource


class ResourceRun:
    """One resource's part of an extraction: its state dict and its bound cursors."""

    def __init__(
        self,
        resource: Resource,
        state: dict[str, Any],
        source_state: dict[str, Any],
        window: Window | None,
    ) -> None:
        self.resource = resource
        self.state = state
        self.window = window
        self.context = ResourceContext(resource.name, state, source_state)
        self.incrementals: dict[str, Incremental] = {}
        self._signature: inspect.Signature | None = None

    def call(
        self, producer: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Call the resource function with its `ladle.incremental` arguments bound to state."""
        signature = self._signature_of(producer)
        if signature is None:
            return producer(*args, **kwargs)
        bound = signature.bind_partial(*args, **kwargs)
        for name, parameter in signature.parameters.items():
            given = bound.arguments.get(name, parameter.default)
            if isinstance(given, Incremental):
                bound.arguments[name] = self._bind(name, given)
        return producer(*bound.args, **bound.kwargs)

    def filtered(self, items: Iterator[Any]) -> Iterator[Any]:
        for cursor in self.incrementals.values():
            items = cursor.filter(items)
        return items

    def _signature_of(self, producer: Callable[..., Any]) -> inspect.Signature | None:
        if self._signature is None:
            try:
                self._signature = inspect.signature(producer)
            except (TypeError, ValueError):  # builtins and the like take no cursors
                return None
        return self._signature

    def _bind(self, name: str, cursor: Incremental) -> Incremental:
        bound = self.incrementals.get(name)
        if bound is None:  # once per run: transformers are called once per parent item
            stored = self.state.get(STATE_KEY, {}).get(cursor.cursor_path)
            bound = cursor.bind(
                self.resource.name, stored, self.window, key_list(self.resource.hints.primary_key)
            )
            self.incrementals[name] = bound
        return bound

    def finish(self) -> None:
        """Fold the cursors' new positions into the state."""
        for cursor in self.incrementals.values():
            update = cursor.state_update()
            if update is not None:
                self.state.setdefault(STATE_KEY, {})[cursor.cursor_path] = update


class ExtractionState:
    """State for one extraction of one source, starting from the committed `base` scopes."""

    def __init__(
        self,
        source_name: str,
        base: Mapping[str, ScopeState],
        window: Window | None = None,
        load_id: str = "",
    ) -> None:
        self.source_name = source_name
        self.load_id = load_id  # of the package these changes commit with
        self.base = base
        self.window = window
        self.source_scope = source_scope(source_name)
        self.source_state = working_copy(base, self.source_scope)
        self._runs: dict[str, ResourceRun] = {}
        self._lock = threading.Lock()  # parallelized resources start in threads

    def run_of(self, resource: Resource) -> ResourceRun:
        run = self._runs.get(resource.name)
        if run is None:
            with self._lock:
                run = self._runs.get(resource.name)
                if run is None:
                    scope = resource_scope(self.source_name, resource.name)
                    state = working_copy(self.base, scope)
                    run = ResourceRun(resource, state, self.source_state, self.window)
                    self._runs[resource.name] = run
        return run

    def changes(self, selected: Iterable[str]) -> list[StateChange]:
        """Scopes whose value changed. Resources that only fed a selected transformer keep
        their state: their data was not loaded, so their cursors must not move."""
        candidates = [(self.source_scope, self.source_state)]
        for name in selected:
            run = self._runs.get(name)
            if run is not None:
                run.finish()
                candidates.append((resource_scope(self.source_name, name), run.state))
        changes = []
        for scope, value in candidates:
            before = self.base.get(scope)
            old = before.value if before is not None else {}
            if codec.dumps(value, owner=f"state of {scope}") != codec.dumps(old, owner=scope):
                changes.append(
                    StateChange(
                        scope,
                        before.version if before else 0,
                        value,
                        before.load_id if before else "",
                        self.load_id,
                    )
                )
        return changes
