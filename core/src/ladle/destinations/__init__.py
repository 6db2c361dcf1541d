"""Destinations: where loaded data lands. `ladle.destinations.duckdb(...)` and friends."""

from __future__ import annotations

from ladle.destinations.base import Capabilities, Destination, DestinationClient
from ladle.destinations.duckdb import DuckDbDestination
from ladle.destinations.filesystem import FilesystemDestination
from ladle.destinations.postgres import PostgresDestination
from ladle.errors import UnknownDestination

_BY_NAME: dict[str, type[Destination]] = {
    "duckdb": DuckDbDestination,
    "postgres": PostgresDestination,
    "filesystem": FilesystemDestination,
}


# The factories are the classes: `ladle.destinations.duckdb("file.duckdb")`,
# `ladle.destinations.postgres("postgresql://...")`, `ladle.destinations.filesystem("lake/")`
# (one signature each, documented there).
duckdb = DuckDbDestination
postgres = PostgresDestination
filesystem = FilesystemDestination


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
    "filesystem",
    "postgres",
    "resolve",
]
