"""Writing Parquet: the rotating per-table writer, its size settings and the fsync helpers."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

DEFAULT_FILE_MAX_BYTES = 128 * 2**20
DEFAULT_ROW_GROUP_MAX_BYTES = 32 * 2**20


@dataclass(frozen=True)
class WriteSettings:
    """Parquet files rotate after `file_max_bytes`; row groups buffer up to `row_group_max_bytes`
    of Arrow data (which bounds the memory a load needs)."""

    file_max_bytes: int = DEFAULT_FILE_MAX_BYTES
    row_group_max_bytes: int = DEFAULT_ROW_GROUP_MAX_BYTES
    compression: str = "zstd"


class RotatingWriter:
    """Writes the batches of one table into `<load_id>.<n>.parquet` files: batches buffer into
    row groups of up to `row_group_max_bytes`, a new file starts after `file_max_bytes` or when
    the columns change."""

    def __init__(
        self, folder: Path, load_id: str, settings: WriteSettings, written: list[Path]
    ) -> None:
        self.folder = folder
        self.load_id = load_id
        self.settings = settings
        self.written = written  # every file started, for cleanup on failure
        self.paths: list[Path] = []
        self.rows = 0
        self.columns: list[str] = []
        self._buffer: list[pa.RecordBatch] = []
        self._buffered_bytes = 0
        self._schema: pa.Schema | None = None
        self._sink: Any = None
        self._writer: Any = None

    def write(self, batch: pa.RecordBatch) -> None:
        if batch.num_rows == 0:
            return
        if self._schema is not None and not batch.schema.equals(self._schema):
            self._flush()
            self._close_file()
        if self._schema is None:
            self._schema = batch.schema
            self.columns.extend(n for n in batch.schema.names if n not in self.columns)
        self._buffer.append(batch)
        self._buffered_bytes += batch.nbytes
        self.rows += batch.num_rows
        if self._buffered_bytes >= self.settings.row_group_max_bytes:
            self._flush()

    def close(self) -> None:
        self._flush()
        self._close_file()

    def abort(self) -> None:
        """Release the open file without finishing it (the caller deletes what was written)."""
        self._buffer = []
        sink, self._writer, self._sink = self._sink, None, None
        if sink is not None:
            with contextlib.suppress(Exception):
                sink.close()

    def _flush(self) -> None:
        if not self._buffer:
            return
        if self._writer is None:
            self._open_file()
        table = pa.Table.from_batches(self._buffer, schema=self._schema)
        self._buffer = []
        self._buffered_bytes = 0
        self._writer.write_table(table, row_group_size=max(table.num_rows, 1))
        if self._sink.tell() >= self.settings.file_max_bytes:
            self._close_file(keep_schema=True)

    def _open_file(self) -> None:
        path = self.folder / f"{self.load_id}.{len(self.paths)}.parquet"
        self.written.append(path)
        self._sink = pa.OSFile(str(path), "wb")
        self.paths.append(path)
        self._writer = pq.ParquetWriter(
            self._sink, self._schema, compression=self.settings.compression
        )

    def _close_file(self, *, keep_schema: bool = False) -> None:
        writer, sink = self._writer, self._sink
        self._writer = self._sink = None
        if not keep_schema:
            self._schema = None
        if writer is None:
            return
        try:
            writer.close()
        finally:
            sink.close()
        fsync_file(self.paths[-1])


def fsync_file(path: Path, flags: int = os.O_RDWR) -> None:
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_folder(path: Path) -> None:
    """Make renames and new files in a folder durable (POSIX; a no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fsync_file(path, os.O_RDONLY)
