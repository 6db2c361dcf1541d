"""Destinations: where loaded data lands. `ladle.destinations.duckdb(...)` and friends."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


def duckdb(
    path_or_connection: str | Path | Any = None, *, load_memory_limit: str | None = "512MB"
) -> DuckDbDestination:
    """DuckDB at a file path (default `./<pipeline_name>.duckdb`) or on an open connection.

    `load_memory_limit` caps DuckDB's memory on the connections ladle opens (None: DuckDB's
    default, 80% of RAM); an open connection you pass is left as you configured it.
    """
    return DuckDbDestination(path_or_connection, load_memory_limit=load_memory_limit)


# The factory is the class: `ladle.destinations.postgres("postgresql://...")` or parts
# (see PostgresDestination for where credentials come from when none are given).
postgres = PostgresDestination


def filesystem(
    bucket_url: str | os.PathLike[str] | None = None,
    *,
    file_max_bytes: int = 128 * 2**20,
    row_group_max_bytes: int = 32 * 2**20,
    compression: str = "zstd",
) -> FilesystemDestination:
    """Parquet files in a local folder: a path or a `file://` URL.

    Without `bucket_url` it comes from `ladle.config["destination.filesystem.bucket_url"]`
    (env `DESTINATION__FILESYSTEM__BUCKET_URL`, then `.ladle/config.toml`). Files of a table
    rotate after `file_max_bytes`; row groups buffer up to `row_group_max_bytes` of Arrow data.
    """
    return FilesystemDestination(
        bucket_url,
        file_max_bytes=file_max_bytes,
        row_group_max_bytes=row_group_max_bytes,
        compression=compression,
    )


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
