"""State scopes and their versions.

State is kept per pipeline and, within it, per scope: each source (`source:<name>`) and each
resource (`resource:<source>.<resource>`; incremental cursors live here). The destination
stores every committed version of a scope with the load that committed it. A load that changes
a scope writes version `base_version + 1`, and fails with `StateConflict` unless the scope's
newest version is still the one it started from: `base_version`, committed by `base_load_id`
(the number alone could match another worker's commit of the same number). A scope a load does
not change is not written, so loads of different resources do not conflict, unless they both
change their source's shared state (`ladle.source_state()`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ladle.load.package import write_atomic
from ladle.state import codec


def source_scope(source_name: str) -> str:
    return f"source:{source_name}"


def resource_scope(source_name: str, resource_name: str) -> str:
    return f"resource:{source_name}.{resource_name}"


@dataclass(frozen=True)
class ScopeState:
    """A committed version of one scope, and the load that committed it."""

    version: int
    value: dict[str, Any]
    load_id: str = ""


@dataclass(frozen=True)
class StateChange:
    """A scope's new value, to be committed as `base_version + 1` by load `load_id`."""

    scope: str
    base_version: int
    value: dict[str, Any]
    base_load_id: str
    load_id: str

    @property
    def version(self) -> int:
        return self.base_version + 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "base_version": self.base_version,
            "base_load_id": self.base_load_id,
            "load_id": self.load_id,
            "value": codec.to_jsonable(self.value, owner=f"state scope {self.scope}"),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StateChange:
        return cls(
            data["scope"],
            data["base_version"],
            codec.restore(data["value"]),
            data["base_load_id"],
            data["load_id"],
        )

    def applies_to(self, current: ScopeState | None) -> bool:
        """Whether the scope is still at the version this change started from."""
        if current is None:
            return self.base_version == 0
        return (current.version, current.load_id) == (self.base_version, self.base_load_id)


def with_changes(
    scopes: Mapping[str, ScopeState], changes: Iterable[StateChange]
) -> dict[str, ScopeState]:
    """Scopes as they will be once `changes` (of packages not yet loaded) are committed. A
    change that no longer applies (another worker committed its scope meanwhile) is left out:
    its package will fail with StateConflict, and new work starts from the newer state."""
    merged = dict(scopes)
    for change in changes:
        if change.applies_to(merged.get(change.scope)):
            merged[change.scope] = ScopeState(change.version, change.value, change.load_id)
    return merged


def working_copy(scopes: Mapping[str, ScopeState], scope: str) -> dict[str, Any]:
    """A private, mutable copy of a scope's value for user code to change."""
    found = scopes.get(scope)
    return copy.deepcopy(found.value) if found is not None else {}


class LocalState:
    """`state.json` in the working directory: the committed scopes as this worker last saw
    them (restored from the destination by every sync, updated by every load)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, ScopeState]:
        if not self.path.is_file():
            return {}
        data = codec.loads(self.path.read_bytes())
        return {
            scope: ScopeState(entry["version"], entry["value"], entry.get("load_id", ""))
            for scope, entry in data.items()
        }

    def write(self, scopes: Mapping[str, ScopeState]) -> None:
        body = {
            scope: {"version": s.version, "value": s.value, "load_id": s.load_id}
            for scope, s in scopes.items()
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, codec.dumps(body, owner="pipeline state"))


def describe_scope(scope: str) -> str:
    """A scope in words, for messages: "resource 'issues' of source 'github'"."""
    kind, _, name = scope.partition(":")
    if kind == "resource":
        source, _, resource = name.partition(".")
        return f"the state of resource '{resource}' of source '{source}'"
    if kind == "source":
        return f"the state of source '{name}'"
    return f"the {scope} state"
