"""SQL identifiers: how every SQL destination quotes table and column names."""

from __future__ import annotations


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
