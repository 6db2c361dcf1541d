"""Arrow record batches as CSV for `COPY ... FROM STDIN (FORMAT csv)`.

Arrow's CSV writer quotes every string and writes NULL as an unquoted empty field, which is
exactly how PostgreSQL's CSV COPY tells `''` from NULL. Other types are written in forms
PostgreSQL reads back exactly (shortest round-trip doubles, full decimals, ISO timestamps with
`Z`). Binary has no CSV form, so it becomes bytea hex text (`\\x0a1b`), vectorized in Arrow.
"""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

WRITE_OPTIONS = pa_csv.WriteOptions(include_header=False, batch_size=8192, quoting_style="needed")
# Bytes of Arrow data encoded per COPY write: bounds the CSV buffer for very large batches.
CHUNK_BYTES = 16 * 1024 * 1024

# byte -> its two hex digits as one uint16 whose memory is the two ASCII digits, so that
# `take` lays the hex text out directly.
_HEX_DIGITS = pa.Array.from_buffers(
    pa.uint16(), 256, [None, pa.py_buffer("".join(f"{b:02x}" for b in range(256)).encode())]
)


def csv_chunks(batch: pa.RecordBatch) -> Iterator[pa.Buffer]:
    """The batch as CSV (no header), in buffers of about CHUNK_BYTES of Arrow data each."""
    if batch.num_rows == 0:
        return
    rows_per_chunk = max(1, batch.num_rows * CHUNK_BYTES // max(batch.nbytes, 1))
    for start in range(0, batch.num_rows, rows_per_chunk):
        chunk = _for_csv(batch.slice(start, rows_per_chunk))
        sink = pa.BufferOutputStream()
        pa_csv.write_csv(chunk, sink, write_options=WRITE_OPTIONS)
        yield sink.getvalue()


def _for_csv(batch: pa.RecordBatch) -> pa.RecordBatch:
    arrays = list(batch.columns)
    changed = False
    for index, array in enumerate(arrays):
        kind = array.type
        if pa.types.is_dictionary(kind):
            array = array.cast(kind.value_type)
            kind = array.type
        if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
            array = bytea_hex(array)
        elif pa.types.is_fixed_size_binary(kind):
            array = bytea_hex(array.cast(pa.binary()))
        if array is not arrays[index]:
            arrays[index] = array
            changed = True
    if not changed:
        return batch
    return pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)


def bytea_hex(array: pa.Array) -> pa.Array:
    """Binary values as PostgreSQL bytea hex input (`\\x` + two hex digits per byte)."""
    if not pa.types.is_large_binary(array.type):
        array = array.cast(pa.large_binary())
    if array.offset:
        array = pa.concat_arrays([array])  # a copy that starts at offset 0
    validity, offsets_buffer, data_buffer = array.buffers()
    offsets = pa.Array.from_buffers(pa.int64(), len(array) + 1, [None, offsets_buffer])
    size = data_buffer.size if data_buffer is not None else 0
    data = pa.Array.from_buffers(pa.uint8(), size, [None, data_buffer])
    digits = _HEX_DIGITS.take(data)
    doubled = pc.multiply_checked(offsets, pa.scalar(2, pa.int64()))
    hexed = pa.Array.from_buffers(
        pa.large_string(),
        len(array),
        [validity, doubled.buffers()[1], digits.buffers()[1]],
        null_count=array.null_count,
    )
    prefix, separator = pa.scalar("\\x", pa.large_string()), pa.scalar("", pa.large_string())
    return pc.binary_join_element_wise(prefix, hexed, separator)
