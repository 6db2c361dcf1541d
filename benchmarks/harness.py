"""Runs one case in a child process and measures it: wall time, loaded rows, peak memory.

Peak memory is measured twice: `peak_rss_mib` is the largest peak RSS of any one process of the
case (the child's VmHWM and its RUSAGE_CHILDREN, as it reports them; getrusage of the child from
here would include this harness's own RSS, which Linux carries over exec), `tree_pss_mib` is the
peak of the summed PSS of the case's whole process tree, sampled every 0.1 s or less often (so
that sampling costs at most 2% of a core; it counts the worker processes that dlt-tuned forks,
without double-counting pages they share).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SAMPLE_SECONDS = 0.1  # at least; more while a sample costs over 2% of that time
BUSY_LOAD = 0.7  # 1-minute load average above which another job competes for the 2 cores


@dataclass
class Measurement:
    case: str
    rows: int
    seconds: float | None = None
    peak_rss_mib: float | None = None
    tree_pss_mib: float | None = None
    cpu_seconds: float | None = None  # user + system of the timed part, worker processes too
    load_before: float | None = None  # 1-minute load average when the case started
    row_counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    mismatches: list[str] = field(default_factory=list)

    @property
    def rows_per_s(self) -> float | None:
        return self.rows / self.seconds if self.seconds else None


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _tree_pss_kib(root: int) -> int:
    total = 0
    for pid in _descendants(root):
        try:
            with open(f"/proc/{pid}/smaps_rollup") as rollup:
                for line in rollup:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            continue
    return total


def run_child(
    command: list[str], log: Path, timeout: float, max_mem_gib: float, env: dict[str, str]
) -> tuple[int, resource.struct_rusage, float, str | None]:
    """Run `command` to its end: exit code, rusage, peak tree PSS KiB, why it was killed."""
    with log.open("wb") as out:
        child = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    deadline, peak_pss, killed = time.monotonic() + timeout, 0, None
    try:
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            sampled = time.perf_counter()
            peak_pss = max(peak_pss, _tree_pss_kib(child.pid))
            sample_cost = time.perf_counter() - sampled
            if killed is None and peak_pss > max_mem_gib * 2**20:
                killed = f"killed: memory over {max_mem_gib:g} GiB"
            elif killed is None and time.monotonic() > deadline:
                killed = f"killed: still running after {timeout:g} s"
            if killed:
                os.killpg(child.pid, signal.SIGKILL)  # the session it leads: this case's tree
            time.sleep(max(SAMPLE_SECONDS, 50 * sample_cost))  # the sampler: <= 2% of a core
    except BaseException:  # Ctrl-C: its own session does not get the SIGINT, so end it here
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        raise
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, usage, peak_pss, killed


def measure(
    case: str,
    rows: int,
    command: list[str],
    workdir: Path,
    limits: tuple[float, float],
    env: dict[str, str] | None = None,
) -> Measurement:
    """Run one case's child process in a fresh `workdir`; its result file and measurements."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    result_file, log = workdir / "result.json", workdir / "output.log"
    command = [*command, "--workdir", str(workdir), "--result", str(result_file)]
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        print(f"  warning: load average {load:.1f} before {case}: timings will be noisy")
    code, usage, pss, killed = run_child(command, log, *limits, env or dict(os.environ))
    result = json.loads(result_file.read_text()) if result_file.exists() else {}
    maxrss = result.get("peak_rss_kib", usage.ru_maxrss)  # wait4's has the harness's RSS
    m = Measurement(case, rows, peak_rss_mib=maxrss / 1024, tree_pss_mib=pss / 1024)
    m.load_before = load
    m.error = killed or result.get("error")
    if m.error is None and (code != 0 or "seconds" not in result):
        m.error = f"exit code {code}, no result"
    if m.error is None:
        m.seconds, m.cpu_seconds = result["seconds"], result["cpu_seconds"]
        m.row_counts = result["row_counts"]
    else:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        print(f"  {case} FAILED: {m.error}", *(f"    {line}" for line in tail), sep="\n")
    return m
