"""A small JSON path: `data.items`, `$.meta.next`, `links[0].href`. Enough to point at a list of
records or a next-page link in a response body, and nothing more (no filters, no wildcards)."""

from __future__ import annotations

import re
from typing import Any

from ladle.errors import ConfigError

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse(path: str) -> tuple[str | int, ...]:
    """`"$.data[0].id"` -> `("data", 0, "id")`; `"$"` and `""` are the whole document."""
    if not isinstance(path, str):
        raise ConfigError(f"a JSON path must be text, not {path!r}", key="json_path")
    text = path.strip()
    if text.startswith("$"):
        text = text[1:].lstrip(".")
    parts: list[str | int] = []
    position = 0
    while position < len(text):
        if text[position] == ".":
            position += 1
            continue
        match = _PART.match(text, position)
        if match is None:
            raise ConfigError(f"cannot read the JSON path {path!r}", key="json_path")
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    return tuple(parts)


def find(document: Any, path: str | tuple[str | int, ...]) -> Any:
    """The value at `path`, or None when any step is missing."""
    value = document
    for part in parse(path) if isinstance(path, str) else path:
        if isinstance(part, int):
            if not isinstance(value, list) or not -len(value) <= part < len(value):
                return None
            value = value[part]
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value
