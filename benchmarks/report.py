"""Row-count checks, the results table, the targets and the JSON output."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import platform
from collections.abc import Sequence
from pathlib import Path

from harness import Measurement

# Cases fed by the dict generator.
DICT_CASES = ("ladle-dicts", "ladle-dicts-incremental", "dlt-default", "dlt-tuned")
# (case, baseline, minimum ratio of rows/s): the targets of benchmarks/README.md
TARGETS = (
    ("ladle-dicts", "dlt-tuned", 5.0),
    ("ladle-dicts", "duckdb-read_json", 1 / 3),
    ("ladle-arrow", "duckdb-arrow-insert", 0.8),
    ("ladle-postgres-load", "postgres-copy", 0.5),
)
MAX_RSS_MIB_AT_1M = 1024.0


def check_rows(m: Measurement, expected: dict[str, int], all_tables: bool) -> None:
    """Record (and print loudly) every table whose loaded rows differ from the data set's."""
    tables = expected if all_tables else {t: n for t, n in expected.items() if t in m.row_counts}
    root = next(iter(expected))
    for table, want in (tables | {root: expected[root]}).items():
        got = m.row_counts.get(table)
        if got != want:
            m.mismatches.append(f"{table}: loaded {got}, expected {want}")
    for line in m.mismatches:
        print(f"  !!! ROW COUNT MISMATCH in {m.case} ({m.rows} rows): {line} !!!")


def _ratio(m: Measurement, base: Measurement | None) -> str:
    if base is None or not m.rows_per_s or not base.rows_per_s:
        return "-"
    return f"{m.rows_per_s / base.rows_per_s:.2f}x"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


HEADER = (
    "case", "rows", "seconds", "cpu s", "rows/s", "net rows/s", "peak RSS MiB", "tree PSS MiB",
    "vs dlt-tuned", "vs read_json", "vs arrow-insert", "rows ok",
)  # fmt: skip


def _row(m: Measurement, results: Sequence[Measurement]) -> tuple[str, ...]:
    by_case = {r.case: r for r in results if r.rows == m.rows and r.seconds}
    gen = by_case.get("python-generate")
    net = None
    if m.case in DICT_CASES and m.seconds and gen and gen.seconds and m.seconds > gen.seconds:
        net = m.rows / (m.seconds - gen.seconds)
    arrow = by_case.get("duckdb-arrow-insert") if m.case == "ladle-arrow" else None
    return (
        m.case, str(m.rows), _num(m.seconds, ".2f"), _num(m.cpu_seconds, ".1f"),
        _num(m.rows_per_s, ",.0f"),
        _num(net, ",.0f"), _num(m.peak_rss_mib, ".0f"), _num(m.tree_pss_mib, ".0f"),
        _ratio(m, by_case.get("dlt-tuned")), _ratio(m, by_case.get("duckdb-read_json")),
        _ratio(m, arrow) if arrow else "-",
        "FAILED" if m.error else ("MISMATCH" if m.mismatches else "yes"),
    )  # fmt: skip


def print_table(results: Sequence[Measurement]) -> None:
    lines = [HEADER, *(_row(m, results) for m in results)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    lines.insert(1, tuple("-" * w for w in widths))
    for line in lines:
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        print("  ".join(cells))
    print("net rows/s: rows / (seconds - python-generate seconds), for the dict-fed cases")


def targets(results: Sequence[Measurement]) -> list[str]:
    """One line per target that the results can judge: met or MISSED."""
    lines = []
    for rows in sorted({m.rows for m in results}):
        by_case = {m.case: m for m in results if m.rows == rows and m.rows_per_s and not m.error}
        for case, base, minimum in TARGETS:
            if case in by_case and base in by_case:
                ratio = by_case[case].rows_per_s / by_case[base].rows_per_s  # type: ignore[operator]
                verdict = "met" if ratio >= minimum else "MISSED"
                want = f"want >= {minimum:.2f}x -> {verdict}"
                lines.append(f"{rows} rows: {case} vs {base}: {ratio:.2f}x, {want}")
        for case in ("ladle-dicts", "ladle-arrow"):
            m = by_case.get(case)
            if rows >= 1_000_000 and m and m.peak_rss_mib is not None:
                verdict = "met" if m.peak_rss_mib < MAX_RSS_MIB_AT_1M else "MISSED"
                want = f"want < {MAX_RSS_MIB_AT_1M:.0f} MiB -> {verdict}"
                lines.append(f"{rows} rows: {case} peak RSS {m.peak_rss_mib:.0f} MiB, {want}")
    return lines


def write_json(path: Path, results: Sequence[Measurement], settings: dict[str, object]) -> None:
    machine = {"python": platform.python_version(), "platform": platform.platform()}
    for package in ("ladle", "duckdb", "pyarrow"):
        try:
            machine[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            machine[package] = "missing"
    rows = [dataclasses.asdict(m) | {"rows_per_s": m.rows_per_s} for m in results]
    document = {
        "settings": settings,
        "machine": machine,
        "results": rows,
        "targets": targets(results),
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
