"""Untimed preparation: the data set written once as NDJSON and Arrow IPC, plus its row counts.

Cached under benchmarks/.work/data/, keyed on the data set version, seed and row count.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import dataset
import orjson
import pyarrow as pa

BATCH_ROWS = 50_000


def data_dir(work: Path, rows: int, seed: int) -> Path:
    return work / "data" / f"v{dataset.VERSION}-seed{seed}-rows{rows}"


def arrow_path(data: Path, flat: bool) -> Path:
    return data / ("events-flat.arrow" if flat else "events.arrow")


def expected_counts(data: Path) -> dict[str, int]:
    """Rows per table that a full load of the prepared data set must produce."""
    counts: dict[str, int] = json.loads((data / "counts.json").read_text())
    return counts


def prepare(work: Path, rows: int, seed: int) -> Path:
    """Write NDJSON, nested and flat Arrow IPC files and counts.json if missing; their folder."""
    data = data_dir(work, rows, seed)
    if (data / "counts.json").exists():
        return data
    started = time.perf_counter()
    tmp = data.with_name(data.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    counts = {dataset.ROOT_TABLE: 0, dataset.COMMITS_TABLE: 0, dataset.LABELS_TABLE: 0}
    nested_schema, flat_schema = dataset.arrow_schema(), dataset.arrow_schema(flat=True)
    events = dataset.iter_events(rows, seed)
    with (
        (tmp / "events.ndjson").open("wb") as ndjson,
        pa.ipc.new_file(str(arrow_path(tmp, False)), nested_schema) as nested,
        pa.ipc.new_file(str(arrow_path(tmp, True)), flat_schema) as flat,
    ):
        while batch := list(islice(events, BATCH_ROWS)):
            ndjson.writelines(orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in batch)
            nested.write_table(dataset.rows_to_arrow(batch))
            flat.write_table(dataset.rows_to_arrow(batch, flat=True))
            counts[dataset.ROOT_TABLE] += len(batch)
            counts[dataset.COMMITS_TABLE] += sum(len(row["payload"]["commits"]) for row in batch)
            counts[dataset.LABELS_TABLE] += sum(len(row["labels"]) for row in batch)
    (tmp / "counts.json").write_text(json.dumps(counts))
    shutil.rmtree(data, ignore_errors=True)
    tmp.rename(data)
    print(f"prepared {rows} rows in {data} ({time.perf_counter() - started:.1f} s, untimed)")
    return data


def iter_arrow_tables(path: Path) -> Iterator[pa.Table]:
    """One pa.Table per batch of a prepared Arrow IPC file, read one at a time (no mmap)."""
    with pa.OSFile(str(path)) as source:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield pa.Table.from_batches([reader.get_batch(i)])
