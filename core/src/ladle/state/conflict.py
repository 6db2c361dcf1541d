"""The error a load gets when another worker committed the same state scope first."""

from __future__ import annotations

from ladle.errors import StateConflict
from ladle.state.scopes import StateChange, describe_scope


def state_conflict(change: StateChange, current: int, load_id: str) -> StateConflict:
    return StateConflict(
        f"{describe_scope(change.scope)} was committed by another worker (state version "
        f"{current}) after this load's data was extracted from version {change.base_version}; "
        f"nothing of load {load_id} was committed. Run again: the retry starts from the newer "
        "state and loads only what is still missing",
        scope=change.scope,
        base_version=change.base_version,
        current_version=current,
        load_id=load_id,
    )
