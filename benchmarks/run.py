"""ladle benchmarks: ladle vs DuckDB's own loaders vs dlt, each case in its own process.

Run with `make bench BENCH_ARGS="--rows 1000000"` or
`uv run --frozen --no-sync python benchmarks/run.py --rows 100000 --cases ladle-dicts,dlt-tuned`.
See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import dlt_case
import report
from dltenv import ensure_dlt_python
from harness import BENCH_DIR, Measurement, measure
from prepare import expected_counts, prepare

WORK = BENCH_DIR / ".work"
DLT_CASES = ("dlt-default", "dlt-tuned")
ALL_CASES = (
    "python-generate", "python-arrow-generate", "duckdb-read_json", "duckdb-arrow-insert",
    "ladle-dicts", "ladle-dicts-incremental", "ladle-arrow", "ladle-filesystem", "ladle-postgres",
    "ladle-postgres-load", "postgres-copy", "ladle-merge", "ladle-postgres-merge", *DLT_CASES,
)  # fmt: skip
ROOT_ONLY = ("python-generate", "python-arrow-generate", "duckdb-arrow-insert", "ladle-arrow")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", default="100000", help="rows per case; a list: 100000,1000000")
    parser.add_argument("--cases", default=",".join(ALL_CASES), help="comma-separated")
    parser.add_argument("--skip-dlt", action="store_true", help="leave out dlt-default/tuned")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest counts")
    flat_help = "Arrow cases get flat root-only tables, not struct/list columns"
    parser.add_argument("--arrow-flat", action="store_true", help=flat_help)
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per case run")
    parser.add_argument("--max-mem-gib", type=float, default=16.0, help="kill a case above it")
    parser.add_argument("--keep", action="store_true", help="keep each case's work folder")
    args = parser.parse_args(argv)
    args.rows = [int(r.replace("_", "")) for r in args.rows.split(",")]
    args.cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(args.cases) - set(ALL_CASES))
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {', '.join(ALL_CASES)}")
    if args.skip_dlt:
        args.cases = [c for c in args.cases if c not in DLT_CASES]
    return args


def _command(case: str, rows: int, data: Path, args: argparse.Namespace) -> tuple[list[str], dict]:
    """The child command line of a case, and its environment."""
    env = dict(os.environ)
    common = ["--rows", str(rows), "--seed", str(args.seed)]
    if case in DLT_CASES:
        python = ensure_dlt_python(WORK)
        env.pop("VIRTUAL_ENV", None)
        script = str(BENCH_DIR / "dlt_case.py")
        return [str(python), script, case.removeprefix("dlt-"), *common], env
    flat = ["--flat"] if args.arrow_flat else []
    return [
        sys.executable,
        str(BENCH_DIR / "cases.py"),
        case,
        *common,
        "--data",
        str(data),
        *flat,
    ], env


def _run_case(case: str, rows: int, data: Path, args: argparse.Namespace) -> Measurement:
    workdir = WORK / "runs" / f"{case}-{rows}"
    best: Measurement | None = None
    for _ in range(args.repeat):
        try:
            command, env = _command(case, rows, data, args)
        except Exception as error:  # e.g. the dlt venv could not be made
            return Measurement(case, rows, error=f"{type(error).__name__}: {error}")
        m = measure(case, rows, command, workdir, (args.timeout, args.max_mem_gib), env)
        if m.error:
            return m
        if best is None or (m.seconds or 0) < (best.seconds or 0):
            best = m
    assert best is not None
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return best


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    results: list[Measurement] = []
    for rows in args.rows:
        data = prepare(WORK, rows, args.seed)
        expected = expected_counts(data)
        for case in args.cases:
            print(f"running {case} with {rows} rows ...", flush=True)
            m = _run_case(case, rows, data, args)
            if not m.error:
                check_all = case not in ROOT_ONLY
                report.check_rows(m, expected, check_all)
                speed = f"{m.seconds:.2f} s, {m.rows_per_s:,.0f} rows/s"
                print(f"  {speed}, peak RSS {m.peak_rss_mib:.0f} MiB", flush=True)
            results.append(m)
    print()
    report.print_table(results)
    lines = report.targets(results)
    if lines:
        print("\ntargets:\n  " + "\n  ".join(lines))
    if args.json:
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        report.write_json(args.json, results, settings | {"dlt": dlt_case.DLT_VERSION})
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
