"""Destinations: where loaded data lands. `ladle.destinations.duckdb(...)` and friends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ladle.destinations.base import Capabilities, Destination, DestinationClient
from ladle.destinations.duckdb import DuckDbDestination
from ladle.errors import UnknownDestination

_BY_NAME: dict[str, type[Destination]] = {"duckdb": DuckDbDestination}


def duckdb(path_or_connection: str | Path | Any = None) -> DuckDbDestination:
    """DuckDB at a file path (default `./<pipeline_name>.duckdb`) or on an open connection."""
    return DuckDbDestination(path_or_connection)


def resolve(destination: str | Destination) -> Destination:
    """A destination object from a name (`"duckdb"`) or an object with the Destination API."""
    if isinstance(destination, Destination):
        return destination
    if isinstance(destination, str) and destination in _BY_NAME:
        return _BY_NAME[destination]()
    raise UnknownDestination(
        f"unknown destination {destination!r}: use one of {sorted(_BY_NAME)} or a "
        "ladle.destinations factory such as ladle.destinations.duckdb('file.duckdb')",
        destination=str(destination),
    )


__all__ = [
    "Capabilities",
    "Destination",
    "DestinationClient",
    "DuckDbDestination",
    "duckdb",
    "resolve",
]
