"""The dlt cases; runs in dlt's own venv (benchmarks/.work/dlt-venv), one per child process.

`python benchmarks/dlt_case.py {default,tuned} --rows N --seed S --workdir DIR --result FILE`
loads the dict generator of benchmarks/dataset.py (imported from this file's folder, so dlt gets
the very same rows) into DuckDB and writes the seconds and loaded row counts to FILE as JSON, like
cases.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import child
import dataset  # benchmarks/dataset.py: this script's folder is first on sys.path
from child import Outcome, Timer

DLT_VERSION = "1.31.0"
PAGE_ROWS = 5_000  # tuned: yield lists of rows ("pages"), as dlt's performance guide advises
# Settings of both cases: no telemetry (this machine has no internet), no progress output.
COMMON_ENV = {"RUNTIME__DLTHUB_TELEMETRY": "false", "RUNTIME__LOG_LEVEL": "WARNING"}


def tuned_env(rows: int) -> dict[str, str]:
    """dlt's performance guide, applied and measured on this data set (see README.md)."""
    return {
        "NORMALIZE__WORKERS": "2",
        # parallel normalize needs several extract files: rotate them (>= 2 per worker); the
        # extract stage reads [sources.data_writer], not [extract.data_writer]
        "SOURCES__DATA_WRITER__FILE_MAX_ITEMS": str(max(PAGE_ROWS, rows // 4)),
        # no gzip of the intermediate files: the extract stage spends most of its time there
        "DATA_WRITER__DISABLE_COMPRESSION": "true",
        # bigger write buffers than the default 5,000 items, as the guide suggests
        "DATA_WRITER__BUFFER_MAX_ITEMS": str(PAGE_ROWS * 4),
    }


def _pages(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while page := list(islice(rows, PAGE_ROWS)):
        yield page


def _table_counts(db: Path, tables: list[str]) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        sql = 'SELECT count(*) FROM bench."{}"'
        return {t: int(con.execute(sql.format(t)).fetchall()[0][0]) for t in tables}
    finally:
        con.close()


def run(tuned: bool, rows: int, seed: int, workdir: Path) -> Outcome:
    os.environ.update(COMMON_ENV | (tuned_env(rows) if tuned else {}))
    import dlt

    if dlt.__version__ != DLT_VERSION:
        raise RuntimeError(f"expected dlt {DLT_VERSION}, got {dlt.__version__}")
    db = workdir / "db.duckdb"
    pipeline = dlt.pipeline(
        pipeline_name="bench",
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="bench",
        pipelines_dir=str(workdir / "pipelines"),
    )
    events = dataset.iter_events(rows, seed)
    data = _pages(events) if tuned else events
    file_format = "parquet" if tuned else None
    with Timer() as timer:
        info = pipeline.run(data, table_name=dataset.ROOT_TABLE, loader_file_format=file_format)
    info.raise_on_failed_jobs()
    tables = [dataset.ROOT_TABLE, dataset.COMMITS_TABLE, dataset.LABELS_TABLE]
    return timer, _table_counts(db, tables)


def _run(args: argparse.Namespace) -> Outcome:
    return run(args.variant == "tuned", args.rows, args.seed, args.workdir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("variant", choices=["default", "tuned"])
    sys.exit(child.main(parser, _run))
