"""Destinations: where loaded data lands. `ladle.destinations.duckdb(...)` and friends."""

from __future__ import annotations

import os

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
# `ladle.destinations.postgres("postgresql://...")` (one signature each, documented there).
duckdb = DuckDbDestination
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
