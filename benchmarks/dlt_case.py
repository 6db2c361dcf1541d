"""The dlt cases; runs in dlt's own venv (benchmarks/.work/dlt-venv), one per child process.

`python benchmarks/dlt_case.py {default,tuned} --rows N --seed S --workdir DIR --result FILE`
loads the dict generator of benchmarks/dataset.py (imported by path) into DuckDB and writes the
seconds and loaded row counts to FILE as JSON, like cases.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import traceback
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

DLT_VERSION = "1.31.0"
PAGE_ROWS = 5_000  # tuned: yield lists of rows ("pages"), as dlt's performance guide advises
# Settings of both cases: no telemetry (this machine has no internet), no progress output.
COMMON_ENV = {"RUNTIME__DLTHUB_TELEMETRY": "false", "RUNTIME__LOG_LEVEL": "WARNING"}


def tuned_env(rows: int) -> dict[str, str]:
    """dlt's performance guide, applied: parallel normalize needs rotated extract files."""
    file_rows = str(max(PAGE_ROWS, rows // 4))  # >= 2 files per normalize worker
    return {
        "NORMALIZE__WORKERS": "2",
        "NORMALIZE__START_METHOD": "fork",
        "DATA_WRITER__BUFFER_MAX_ITEMS": str(PAGE_ROWS * 4),
        "EXTRACT__DATA_WRITER__FILE_MAX_ITEMS": file_rows,
        "DATA_WRITER__DISABLE_COMPRESSION": "true",
    }


def _load_dataset() -> Any:
    path = Path(__file__).with_name("dataset.py")
    spec = importlib.util.spec_from_file_location("ladle_bench_dataset", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def run(tuned: bool, rows: int, seed: int, workdir: Path) -> tuple[float, dict[str, int]]:
    os.environ.update(COMMON_ENV | (tuned_env(rows) if tuned else {}))
    import dlt

    if dlt.__version__ != DLT_VERSION:
        raise RuntimeError(f"expected dlt {DLT_VERSION}, got {dlt.__version__}")
    dataset = _load_dataset()
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
    started = time.perf_counter()
    info = pipeline.run(data, table_name=dataset.ROOT_TABLE, loader_file_format=file_format)
    seconds = time.perf_counter() - started
    info.raise_on_failed_jobs()
    tables = [dataset.ROOT_TABLE, dataset.COMMITS_TABLE, dataset.LABELS_TABLE]
    return seconds, _table_counts(db, tables)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("variant", choices=["default", "tuned"])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    try:
        seconds, row_counts = run(args.variant == "tuned", args.rows, args.seed, args.workdir)
    except Exception as error:
        traceback.print_exc()
        args.result.write_text(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    args.result.write_text(json.dumps({"seconds": seconds, "row_counts": row_counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
