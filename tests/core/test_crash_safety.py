"""A worker killed (SIGKILL) at any point of a run loses and duplicates nothing: whichever
worker runs next, with a fresh or the same working directory, ends with every source row
exactly once (child rows linked to their parents) and the cursors at the newest row.

The worker is a real process (tests/core/shop.py) running an incremental source of two resources
(one with a child table) over several pages, killed at a named point by `LADLE_CRASH_AT`.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.core.conftest import assert_loaded_once, data_tables, new_rows
from tests.core.destinations.postgres_server import fresh_postgres_dsn, postgres_dsn
from tests.core.shop import Target, shop, worker_env

ORDERS = 302  # 8 pages of orders, 4 of customers
MORE = 351  # new rows after the crash, some at the same `updated_at` as the newest before

# Where the worker dies, and what it was running. The killed run leaves: a partial package; an
# extracted one; one half normalized by a standalone `normalize()`; a normalized one whose data
# was in an open transaction; one committed but not cleaned up.
CRASHES = {
    "extract": "run",
    "extracted": "extract",
    "normalize": "extract+normalize",
    "load": "run",
    "committed": "run",
}
CASES = [f"{kind}-{point}" for kind in ("duckdb", "postgres") for point in CRASHES]


@dataclass(frozen=True)
class KilledWorker:
    target: Target
    workdir: Path
    process: subprocess.Popen[str]

    def wait(self) -> None:
        output = self.process.communicate(timeout=60)[0]
        assert self.process.returncode == -signal.SIGKILL, output


@pytest.fixture(scope="module")
def killed_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, KilledWorker]]:
    """A worker per destination and crash point ("duckdb-load"), each on its own DuckDB file or
    PostgreSQL dataset, all started at once: each takes about a second, mostly to import."""
    root = tmp_path_factory.mktemp("killed")
    targets = {f"duckdb-{p}": Target("duckdb", str(root / f"{p}.duckdb")) for p in CRASHES}
    try:
        dsn = fresh_postgres_dsn()
    except pytest.skip.Exception:
        pass  # no server: the PostgreSQL cases skip
    else:
        targets.update({f"postgres-{p}": Target("postgres", dsn, f"shop_{p}") for p in CRASHES})
    workers = {}
    for case, target in targets.items():
        point = case.partition("-")[2]
        workdir = root / case
        process = subprocess.Popen(
            target.worker_args(workdir, ORDERS, "--stages", CRASHES[point]),
            env=worker_env(LADLE_CRASH_AT=point),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        workers[case] = KilledWorker(target, workdir, process)
    yield workers
    for worker in workers.values():
        if worker.process.poll() is None:
            worker.process.kill()
        worker.process.communicate()


@pytest.mark.parametrize("case", CASES)
def test_a_killed_worker_loses_and_duplicates_nothing(
    killed_workers: dict[str, KilledWorker], tmp_path: Path, case: str
) -> None:
    if case not in killed_workers:
        postgres_dsn()  # no PostgreSQL server: skips with the reason
    killed = killed_workers[case]
    killed.wait()
    point = case.partition("-")[2]
    target = killed.target
    after_crash = target.pipeline(tmp_path / "observer")
    if point == "committed":
        after_crash.sync_destination()
        assert_loaded_once(after_crash, ORDERS)
    else:
        assert data_tables(after_crash) == set()
        after_crash.sync_destination()
        assert after_crash.state == {}
        # Nothing was committed, so the killed worker's directory against an empty dataset is
        # the situation right after the crash: there, the killed worker resumes on its own.
        twin = f"{target.dataset}_twin"
        own = target.pipeline(shutil.copytree(killed.workdir, tmp_path / "same_dir"), twin)
        assert own.run(shop(ORDERS)).row_counts == new_rows(0, ORDERS)
        assert_loaded_once(own, ORDERS)
        then = target.pipeline(tmp_path / "twin_fresh", twin).run(shop(MORE))
        assert then.row_counts == new_rows(ORDERS, MORE)

    # A worker with an empty working directory takes over.
    fresh = target.pipeline(tmp_path / "fresh")
    info = fresh.run(shop(ORDERS))
    assert info.row_counts == ({} if point == "committed" else new_rows(0, ORDERS))
    assert_loaded_once(fresh, ORDERS)

    # The killed worker's directory runs again once the source has new rows: its leftover
    # package is dropped (another worker committed its state since) or known as committed, and
    # only the new rows load.
    again = target.pipeline(killed.workdir)
    assert again.run(shop(MORE)).row_counts == new_rows(ORDERS, MORE)
    assert_loaded_once(again, MORE)
    assert again.packages.pending() == []

    # A further run, anywhere, finds nothing new.
    assert target.pipeline(tmp_path / "last").run(shop(MORE)).row_counts == {}
