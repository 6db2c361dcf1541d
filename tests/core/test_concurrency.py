"""Workers with separate working directories on one destination at the same time, or in turns.

Different resources of one source load side by side (state scopes and schemas merge); the same
resource loaded twice from the same state commits once, and the other load fails with
`StateConflict`, commits nothing, and its retry loads only what is still missing.

The parallel cases run real processes (tests/core/shop.py) against PostgreSQL, held with
`LADLE_PAUSE_AT=extracted` until both have extracted from the same state, then let go together.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

import ladle
from ladle.schema.schema import Schema
from tests.core.conftest import assert_loaded_once, cursor, new_rows, tally
from tests.core.shop import STATE_CONFLICT_EXIT, Target, orders_rows, shop, worker_env

SEEDED = 200
ORDERS = 302
MORE = 351
ON_POSTGRES = pytest.mark.parametrize("target", ["postgres"], indirect=True)
Outcomes = dict[str, tuple[int, str]]


def run_together(target: Target, workers: dict[str, list[str]], tmp_path: Path) -> Outcomes:
    """Start a worker process per name (in `tmp_path/<name>`, with these options), hold each
    once its package is extracted, let all load at the same moment; each one's exit code and
    output."""
    release = tmp_path / "release"
    env = worker_env(LADLE_PAUSE_AT="extracted", LADLE_PAUSE_UNTIL=str(release))
    started = {
        name: subprocess.Popen(
            target.worker_args(tmp_path / name, ORDERS, *options),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, options in workers.items()
    }
    try:
        deadline = time.monotonic() + 60
        while not all(target.pipeline(tmp_path / name).packages.pending() for name in started):
            for name, process in started.items():
                if process.poll() is not None:
                    output = process.communicate()[0]
                    pytest.fail(f"worker {name} ended before it extracted: {output}")
            assert time.monotonic() < deadline, "the workers did not extract within 60 s"
            time.sleep(0.01)  # the poll interval; the condition above is what synchronises
        release.touch()
        outputs = {name: process.communicate(timeout=60)[0] for name, process in started.items()}
        return {name: (started[name].returncode, output) for name, output in outputs.items()}
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@ON_POSTGRES
def test_workers_on_different_resources_both_commit(target: Target, tmp_path: Path) -> None:
    outcomes = run_together(
        target,
        {"orders": ["--resources", "orders"], "customers": ["--resources", "customers"]},
        tmp_path,
    )
    assert {name: code for name, (code, _) in outcomes.items()} == {"orders": 0, "customers": 0}
    assert printed_counts(outcomes["orders"][1]) == new_rows(0, ORDERS, ("orders",))
    assert printed_counts(outcomes["customers"][1]) == new_rows(0, ORDERS, ("customers",))

    observer = target.pipeline(tmp_path / "observer")
    with observer.sql_client() as client:
        scopes = tally(client, "SELECT scope, version FROM _ladle_state")
        newest = client.query(
            "SELECT schema FROM _ladle_schemas ORDER BY version DESC, inserted_at DESC LIMIT 1"
        )
    assert scopes == Counter([("resource:shop.orders", 1), ("resource:shop.customers", 1)])
    # Each worker stored its own tables: merged into the newest schema, not overwritten.
    stored = Schema.from_json(newest.column(0)[0].as_py())
    assert {"orders", "orders__items", "customers"} <= set(stored.tables)

    # A third worker, fresh, running the whole source: everything is there already.
    third = target.pipeline(tmp_path / "third")
    assert third.run(shop(ORDERS)).row_counts == {}
    assert_loaded_once(third, ORDERS)
    assert {"orders", "orders__items", "customers"} <= set(third.schema.tables)


@ON_POSTGRES
def test_workers_on_the_same_resource_one_commits_the_other_conflicts(
    target: Target, tmp_path: Path
) -> None:
    # An earlier load made the tables and moved the cursor: the two loads need no DDL, so they
    # really run at the same time, both extracted from state version 1 and both write version 2.
    target.pipeline(tmp_path / "earlier").run(shop(SEEDED).with_resources("orders"))
    same = ["--resources", "orders"]
    outcomes = run_together(target, {"worker_1": same, "worker_2": same}, tmp_path)
    codes = {name: code for name, (code, _) in outcomes.items()}
    assert sorted(codes.values()) == [0, STATE_CONFLICT_EXIT], outcomes
    loser = next(name for name, code in codes.items() if code == STATE_CONFLICT_EXIT)
    winner = next(name for name in codes if name != loser)
    assert printed_counts(outcomes[winner][1]) == new_rows(SEEDED, ORDERS, ("orders",))
    assert outcomes[loser][1].splitlines()[-1] == "StateConflict"

    observer = target.pipeline(tmp_path / "observer")
    observer.sync_destination()
    assert_loaded_once(observer, ORDERS, ("orders",))
    with observer.sql_client() as client:
        assert tally(client, "SELECT scope, version FROM _ladle_state") == Counter(
            [("resource:shop.orders", 1), ("resource:shop.orders", 2)]
        )
        assert len(tally(client, "SELECT load_id FROM _ladle_loads")) == 2

    # The loser kept nothing; its retry loads only what is still missing.
    retry = target.pipeline(tmp_path / loser)
    assert retry.packages.pending() == []
    assert retry.run(shop(ORDERS).with_resources("orders")).row_counts == {}
    assert retry.run(shop(MORE).with_resources("orders")).row_counts == new_rows(
        ORDERS, MORE, ("orders",)
    )
    assert_loaded_once(retry, MORE, ("orders",))


def test_a_load_that_lost_the_race_commits_nothing_and_its_retry_loads_the_rest(
    target: Target, tmp_path: Path
) -> None:
    first = target.pipeline(tmp_path / "worker_1")
    second = target.pipeline(tmp_path / "worker_2")
    first.extract(shop(ORDERS))
    second.extract(shop(ORDERS))  # from the same (empty) state
    first.normalize()  # load() takes normalized packages only
    second.normalize()
    assert first.load().row_counts == new_rows(0, ORDERS)
    with pytest.raises(ladle.StateConflict, match="Run again") as caught:
        second.load()
    conflict = caught.value
    assert conflict.retryable
    assert (conflict.base_version, conflict.current_version) == (0, 1)  # type: ignore[attr-defined]
    assert type(pickle.loads(pickle.dumps(conflict))) is ladle.StateConflict
    assert second.packages.pending() == []  # the package can never load: it is gone
    assert_loaded_once(first, ORDERS)

    assert second.run(shop(MORE)).row_counts == new_rows(ORDERS, MORE)
    assert_loaded_once(second, MORE)


@pytest.mark.parametrize(
    ("other_commits", "resume"),
    [("before_second_extract", "load"), ("after_second_extract", "run")],
)
def test_packages_extracted_on_top_of_a_losing_package_are_dropped_with_it(
    target: Target, tmp_path: Path, other_commits: str, resume: str
) -> None:
    """A second `extract` before `load` continues from the first package's cursor. If that
    package loses the race, the second one's rows start at a cursor that never committed:
    loading it would duplicate what the other worker loaded (its base version number matches
    the other worker's version, but not its state)."""
    slow = target.pipeline(tmp_path / "slow")
    other = target.pipeline(tmp_path / "other")
    slow.extract(shop(100))
    if other_commits == "before_second_extract":
        other.run(shop(150))
    slow.extract(shop(200))
    if other_commits == "after_second_extract":
        other.run(shop(150))
    slow.normalize()
    if resume == "load":
        with pytest.raises(ladle.StateConflict):
            slow.load()
    else:
        assert slow.run().row_counts == {}  # both packages dropped, nothing loaded
    assert slow.packages.pending() == []
    assert slow.run(shop(ORDERS)).row_counts == new_rows(150, ORDERS)
    assert_loaded_once(slow, ORDERS)


def test_workers_taking_turns_continue_from_the_destination(target: Target, tmp_path: Path) -> None:
    worker_a = target.pipeline(tmp_path / "worker_a")
    worker_b = target.pipeline(tmp_path / "worker_b")
    assert worker_a.run(shop(100)).row_counts == new_rows(0, 100)
    assert worker_b.run(shop(200)).row_counts == new_rows(100, 200)
    # Worker A's own directory still has its cursor; the destination holds B's newer one.
    assert cursor(worker_a, "orders") == orders_rows(100)[-1]["updated_at"]
    assert worker_a.run(shop(ORDERS)).row_counts == new_rows(200, ORDERS)
    assert_loaded_once(worker_a, ORDERS)


def printed_counts(output: str) -> dict[str, int]:
    """The row counts a worker printed (its last line)."""
    counts: dict[str, int] = json.loads(output.splitlines()[-1])
    return counts
