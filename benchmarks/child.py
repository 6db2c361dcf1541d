"""What both kinds of case process share (stdlib only: dlt's venv imports it too)."""

from __future__ import annotations

import argparse
import json
import resource
import time
import traceback
from collections.abc import Callable
from pathlib import Path


class Timer:
    """Wall and CPU seconds (this process's threads and the children it waited for) of a block."""

    seconds = cpu_seconds = 0.0

    @staticmethod
    def _cpu() -> float:
        own, children = (
            resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def __enter__(self) -> Timer:
        self._wall, self._cpu_start = time.perf_counter(), self._cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._wall
        self.cpu_seconds = self._cpu() - self._cpu_start


Outcome = tuple[Timer, dict[str, int]]  # the timed load, rows loaded per table


def peak_rss_kib() -> int:
    """Peak RSS of this process (VmHWM) or of any child it waited for, in KiB.

    Not getrusage(RUSAGE_SELF): Linux carries the spawning harness's RSS over exec into it.
    """
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)


def main(parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], Outcome]) -> int:
    """Parse the common arguments, run the case, write its result file; the exit code."""
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    try:
        timer, row_counts = run(args)
    except Exception as error:
        traceback.print_exc()
        args.result.write_text(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return 1
    result = {
        "seconds": timer.seconds,
        "cpu_seconds": timer.cpu_seconds,
        "row_counts": row_counts,
        "peak_rss_kib": peak_rss_kib(),
    }
    args.result.write_text(json.dumps(result))
    return 0
