"""`response_actions`: what to do with particular answers instead of failing, e.g.

[{"status_code": 404, "action": "ignore"},          # a missing child: no records, no error
 {"content": "not available", "action": "ignore"}]  # matched against the body's text
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import requests

from ladle.errors import ConfigError

Action = Literal["ignore"]


@dataclass(frozen=True)
class ResponseAction:
    """Match on status code and/or a text the body contains; `ignore` ends the endpoint's run
    with the records read so far."""

    action: Action
    status_code: int | None = None
    content: str | None = None

    def matches(self, response: requests.Response) -> bool:
        if self.status_code is not None and response.status_code != self.status_code:
            return False
        return self.content is None or self.content in response.text


def parse_actions(config: Any, owner: str) -> tuple[ResponseAction, ...]:
    if config is None:
        return ()
    if not isinstance(config, Sequence) or isinstance(config, str):
        raise ConfigError(f"{owner}: response_actions must be a list", key="response_actions")
    actions = []
    for entry in config:
        if not isinstance(entry, dict) or set(entry) - {"status_code", "content", "action"}:
            raise ConfigError(
                f"{owner}: each response action is a dict of status_code, content and action; "
                f"got {entry!r}",
                key="response_actions",
            )
        if entry.get("action") != "ignore":
            raise ConfigError(
                f"{owner}: response action {entry.get('action')!r} is not supported (use 'ignore')",
                key="response_actions.action",
            )
        if entry.get("status_code") is None and entry.get("content") is None:
            raise ConfigError(
                f"{owner}: a response action needs a status_code or a content to match",
                key="response_actions",
            )
        actions.append(ResponseAction("ignore", entry.get("status_code"), entry.get("content")))
    return tuple(actions)
