"""Crashes at every point leave the dataset as it was; the next run loads what is pending once."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ladle
from ladle.destinations.duckdb import DuckDbClient
from ladle.load.package import LoadPackage
from tests.conftest import PipelineFactory, rows

DATA = [{"id": i, "tags": ["a", "b"]} for i in range(100)]


def counts(pipeline: ladle.Pipeline) -> dict[str, int]:
    got = rows(
        pipeline, "SELECT (SELECT count(*) FROM t) AS t, (SELECT count(*) FROM t__tags) AS tags"
    )
    return {"t": got[0]["t"], "tags": got[0]["tags"]}  # type: ignore[dict-item]


@pytest.mark.parametrize("stages_done", [["extract"], ["extract", "normalize"]])
def test_pending_package_is_loaded_by_the_next_run(
    make_pipeline: PipelineFactory, stages_done: list[str]
) -> None:
    first = make_pipeline()
    first.extract(DATA, table_name="t")
    if "normalize" in stages_done:
        first.normalize()
    # A new process (a new Pipeline object on the same working dir) finishes the work.
    info = make_pipeline().run()
    assert info.row_counts == {"t": 100, "t__tags": 200}
    assert counts(first) == {"t": 100, "tags": 200}
    assert make_pipeline().run().load_ids == ()


def test_failure_inside_the_load_transaction_changes_nothing(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = make_pipeline()
    pipeline.run([{"id": -1}], table_name="t")
    original = DuckDbClient.insert_file
    calls = {"n": 0}

    def failing_insert(self: DuckDbClient, *args: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk on fire")
        original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(DuckDbClient, "insert_file", failing_insert)
    with pytest.raises(ladle.LoadError, match="rolled back") as caught:
        pipeline.run(DATA, table_name="t")
    assert caught.value.retryable
    assert rows(pipeline, "SELECT count(*) AS n FROM t") == [{"n": 1}]
    assert rows(pipeline, "SELECT count(*) AS n FROM _ladle_loads") == [{"n": 1}]
    monkeypatch.setattr(DuckDbClient, "insert_file", original)
    info = pipeline.run()
    assert info.row_counts == {"t": 100, "t__tags": 200}
    assert counts(pipeline) == {"t": 101, "tags": 200}


def test_crash_after_commit_before_cleanup_does_not_load_twice(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = make_pipeline()

    def crash(self: LoadPackage) -> None:
        raise KeyboardInterrupt  # the process dies right after COMMIT

    monkeypatch.setattr(LoadPackage, "delete", crash)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(DATA, table_name="t")
    monkeypatch.undo()
    info = make_pipeline().run()
    assert info.row_counts == {}  # the pending package was recognised as committed
    assert counts(pipeline) == {"t": 100, "tags": 200}


KILL_DURING_LOAD = textwrap.dedent(
    """
    import os, sys
    import ladle
    from ladle.destinations.duckdb import DuckDbClient

    original = DuckDbClient.insert_file
    def insert_then_die(self, *args):
        original(self, *args)
        os._exit(9)  # killed mid-transaction, after the first file was inserted
    DuckDbClient.insert_file = insert_then_die
    pipeline = ladle.pipeline("p", destination=ladle.destinations.duckdb(sys.argv[1]),
                              pipelines_dir=sys.argv[2], progress=False)
    pipeline.run([{"id": i, "tags": ["a", "b"]} for i in range(100)], table_name="t")
    """
)


def test_process_killed_during_load_then_resumed(
    make_pipeline: PipelineFactory, tmp_path: Path
) -> None:
    script = tmp_path / "die.py"
    script.write_text(KILL_DURING_LOAD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "p.duckdb"), str(tmp_path / "work")],
        env=env,
        check=False,
        capture_output=True,
    )
    assert done.returncode == 9, done.stderr
    pipeline = make_pipeline()
    info = pipeline.run()
    assert info.row_counts == {"t": 100, "t__tags": 200}
    assert counts(pipeline) == {"t": 100, "tags": 200}


def test_fresh_working_dir_takes_the_schema_from_the_destination(
    make_pipeline: PipelineFactory,
) -> None:
    make_pipeline(workdir="worker_a").run([{"id": 1, "price": 10}], table_name="t")
    worker_b = make_pipeline(workdir="worker_b")
    worker_b.run([{"id": 2, "price": 10.5}], table_name="t")
    columns = worker_b.schema.tables["t"].columns
    assert columns["price"].data_type == "bigint"
    assert columns["price__v_double"].data_type == "double"
    assert rows(worker_b, "SELECT count(*) AS n FROM t") == [{"n": 2}]
