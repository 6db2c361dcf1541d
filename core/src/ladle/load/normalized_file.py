"""Reading a normalized file of a load package: Arrow IPC record batches, one at a time."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pyarrow as pa

from ladle.load.package import LoadPackage, PackageFile


@contextlib.contextmanager
def record_batches(
    package: LoadPackage, file: PackageFile
) -> Iterator[tuple[pa.Schema, Iterator[pa.RecordBatch]]]:
    """The file's schema and its batches, read lazily: one batch in memory at a time."""
    with pa.OSFile(str(package.file(file.path))) as source:
        reader = pa.ipc.open_file(source)
        yield reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches))
