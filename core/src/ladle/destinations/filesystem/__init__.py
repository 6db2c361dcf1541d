"""Filesystem: Parquet files per table per load in a local folder, committed by a marker file.

    <bucket>/<dataset>/<table>/<load_id>.<n>.parquet              data (rotated by size)
    <bucket>/<dataset>/_ladle_schemas/<schema>.<version>.<hash>.json
    <bucket>/<dataset>/_ladle_loads/<load_id>.json                 the commit marker

A load writes its Parquet files and its schema first and its marker last (temp file, fsync,
rename). The marker lists the files of the load per table, so a load is visible exactly when
its marker exists: data files of a load without a marker (a crash mid-load) are never read, and
a rerun of the package deletes them before writing its files again under the same load id.

`replace` writes the new generation and records the replaced tables in its marker; readers see,
per table, only the files of the newest committed load that replaced it and of loads committed
after it. Older generations are deleted after the marker is written (best effort).

Reading back (`query`) opens an in-memory DuckDB with one view per table over exactly the
committed files; `committed_files()` gives the same file lists to other readers.

The package: this module (the destination factory and its bucket URL), `markers` (the commit
protocol), `client` (loading and reading a dataset folder), `parquet_writer` (rotating Parquet
files, fsync) and `views` (DuckDB views over committed files for `query`).
"""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from pathlib import Path

from ladle.configuration import config
from ladle.destinations.base import Capabilities, Destination
from ladle.destinations.filesystem.client import FilesystemClient
from ladle.destinations.filesystem.markers import (
    MARKER_FORMAT,
    LoadMarker,
    TableFiles,
    visible_files,
)
from ladle.destinations.filesystem.parquet_writer import (
    DEFAULT_FILE_MAX_BYTES,
    DEFAULT_ROW_GROUP_MAX_BYTES,
    WriteSettings,
)
from ladle.errors import ConfigError

BUCKET_URL_KEY = "destination.filesystem.bucket_url"

CAPABILITIES = Capabilities(
    transactions=False,  # atomicity comes from the commit marker instead
    merge=False,
    # Table names are folder names: most file systems cap a name at 255 bytes.
    max_identifier_length=200,
    preferred_file_format="parquet",
    max_decimal_precision=38,
)


def local_path(bucket_url: str | os.PathLike[str]) -> Path:
    """An absolute local path from a plain path or a `file://` URL; other schemes are refused."""
    if isinstance(bucket_url, os.PathLike):
        return Path(bucket_url).expanduser().absolute()
    text = str(bucket_url).strip()
    if not text:
        raise ConfigError("filesystem bucket_url is empty", key=BUCKET_URL_KEY)
    parts = urllib.parse.urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(
                f"filesystem bucket_url {text!r}: a file:// URL names a local path, as in "
                f"file:///absolute/path (got host {parts.netloc!r})",
                key=BUCKET_URL_KEY,
            )
        return Path(urllib.request.url2pathname(parts.path)).expanduser().absolute()
    # A one-letter "scheme" is a Windows drive (C:\data), not a URL.
    if scheme and len(scheme) > 1:
        raise ConfigError(
            f"filesystem bucket_url {text!r}: only local paths and file:// URLs are supported "
            f"(not {scheme}://)",
            key=BUCKET_URL_KEY,
            scheme=scheme,
        )
    return Path(text).expanduser().absolute()


class FilesystemDestination(Destination):
    """`ladle.destinations.filesystem(bucket_url)`: Parquet files in a local folder.

    `bucket_url` is a path or a `file://` URL. Without it, it comes from
    `ladle.config["destination.filesystem.bucket_url"]` (env `DESTINATION__FILESYSTEM__BUCKET_URL`,
    then `.ladle/config.toml`). Files of a table rotate after `file_max_bytes`; row groups buffer
    up to `row_group_max_bytes` of Arrow data.
    """

    name = "filesystem"
    capabilities = CAPABILITIES

    def __init__(
        self,
        bucket_url: str | os.PathLike[str] | None = None,
        *,
        file_max_bytes: int = DEFAULT_FILE_MAX_BYTES,
        row_group_max_bytes: int = DEFAULT_ROW_GROUP_MAX_BYTES,
        compression: str = "zstd",
    ) -> None:
        if bucket_url is None:
            bucket_url = str(config[BUCKET_URL_KEY])
        for option, value in (
            ("file_max_bytes", file_max_bytes),
            ("row_group_max_bytes", row_group_max_bytes),
        ):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"filesystem {option} must be a positive int, got {value!r}")
        self.bucket_path = local_path(bucket_url)
        self.settings = WriteSettings(file_max_bytes, row_group_max_bytes, compression)

    def client(self, pipeline_name: str, dataset_name: str) -> FilesystemClient:
        return FilesystemClient(self.bucket_path, dataset_name, self.settings)

    def __repr__(self) -> str:
        return f"<destination filesystem {self.bucket_path}>"


__all__ = [
    "BUCKET_URL_KEY",
    "CAPABILITIES",
    "DEFAULT_FILE_MAX_BYTES",
    "DEFAULT_ROW_GROUP_MAX_BYTES",
    "MARKER_FORMAT",
    "FilesystemClient",
    "FilesystemDestination",
    "LoadMarker",
    "TableFiles",
    "WriteSettings",
    "local_path",
    "visible_files",
]
