"""The adapter conformance suite: every orchestrator plugin runs it against itself.

Subclass it in a test module and provide an `orchestrate` fixture: a function that runs an
`Orchestration` (a plan, its source, a pipeline and an optional window) through the real
orchestrator, one task per unit, and returns what each unit did:

    class TestMyOrchestrator(AdapterSuite):
        @pytest.fixture
        def orchestrate(self) -> Orchestrate:
            def run(job: Orchestration) -> Outcome:
                ...  # build the orchestrator's graph from job.plan, run it, collect results
                return {unit_id: load_info_dict_or_None, ...}
            return run

`Outcome` maps the id of every unit that ran to its `LoadInfo.asdict()` (as the plugin publishes
it), or to None if the unit failed; units that never ran are absent. The plugin must honour
`unit.depends_on` and pass `job.window` to `run_unit` the way it passes its own time windows
(e.g. an Airflow data interval: the suite's windows are whole UTC days).

The suite's source (`conformance_source`) is defined at module level so a worker in another
process rebuilds it from `job.plan.source_ref`. It reads its rows from JSON files in a data
folder, and each resource appends its name to `runs.log` there when it starts, so the suite sees
which units ran, how often and in which order, whichever process ran them.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

import ladle
from ladle.destinations.base import Destination
from ladle.orchestration import Plan, plan

UTC = datetime.timezone.utc
PipelineMaker = Callable[[str], ladle.Pipeline]
Outcome = Mapping[str, Mapping[str, Any] | None]


@dataclass(frozen=True)
class Orchestration:
    """What the suite asks a plugin to run: every unit of `plan`, one task each."""

    plan: Plan
    source: ladle.Source
    pipeline: ladle.Pipeline
    window: tuple[datetime.datetime, datetime.datetime] | None = None


Orchestrate = Callable[[Orchestration], Outcome]


@ladle.source(name="conformance")
def conformance_source(data_dir: str, fail: str | None = None) -> Any:
    """`events` (append, incremental on `at`), `users` (replace) and its transformer
    `user_tags`: two units. `fail` names a resource that raises when it runs."""
    folder = Path(data_dir)

    @ladle.resource(primary_key="id")
    def events(at: Any = ladle.incremental("at", initial_value="2024-01-01T00:00:00Z")) -> Any:
        """Every event; the cursor keeps those after the stored one (or in the window)."""
        _started(folder, "events", fail)
        yield _rows(folder, "events")  # the cursor drops what was loaded or is out of the window

    @ladle.resource(primary_key="id", write_disposition="replace")
    def users() -> Iterator[list[dict[str, Any]]]:
        """Every user, each time."""
        _started(folder, "users", fail)
        yield _rows(folder, "users")

    @ladle.transformer(data_from=users, write_disposition="replace")
    def user_tags(page: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The tags of each user."""
        for user in page:
            for tag in user["tags"]:
                yield {"user_id": user["id"], "tag": tag}

    return events, users, user_tags


@ladle.source(name="conformance")
def racing_source(data_dir: str, rival: ladle.Pipeline) -> Any:
    """`events` of `conformance_source`; on its first run, while it extracts, the `rival`
    pipeline (another worker) loads the same resource and commits first, so this run's commit
    is a `StateConflict`. Plugins use it to show that a conflict is retried and loads nothing
    twice."""
    folder = Path(data_dir)

    @ladle.resource(primary_key="id")
    def events(at: Any = ladle.incremental("at", initial_value="2024-01-01T00:00:00Z")) -> Any:
        raced = folder / "raced"
        if not raced.exists():
            raced.touch()
            rival.run(conformance_source(data_dir).with_resources("events"))
        yield _rows(folder, "events")

    return events


class ConformanceData:
    """The rows `conformance_source` reads, and the log of the resources that started."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.events = 0
        _write(folder, "events", [])
        _write(
            folder,
            "users",
            [{"id": 1, "tags": ["a", "b"]}, {"id": 2, "tags": ["c"]}],
        )

    def add_events(self, count: int) -> None:
        """One event per day: event n is at noon (UTC) on 2024-01-n."""
        rows = _rows(self.folder, "events")
        for n in range(self.events + 1, self.events + count + 1):
            rows.append({"id": n, "at": f"2024-01-{n:02d}T12:00:00Z"})
        self.events += count
        _write(self.folder, "events", rows)

    def source(self, fail: str | None = None) -> ladle.Source:
        return conformance_source(str(self.folder), fail=fail)

    def started(self) -> list[str]:
        """Resources in the order they started, since the last `forget_runs()`."""
        log = self.folder / "runs.log"
        return log.read_text().split() if log.is_file() else []

    def forget_runs(self) -> None:
        (self.folder / "runs.log").unlink(missing_ok=True)


def _started(folder: Path, name: str, fail: str | None) -> None:
    # One short O_APPEND write per line: lines from concurrent processes do not interleave.
    fd = os.open(folder / "runs.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, f"{name}\n".encode())
    finally:
        os.close(fd)
    if fail == name:
        raise RuntimeError(f"resource {name} failed on purpose (conformance suite)")


def _rows(folder: Path, name: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((folder / f"{name}.json").read_text())
    return rows


def _write(folder: Path, name: str, rows: list[dict[str, Any]]) -> None:
    (folder / f"{name}.json").write_text(json.dumps(rows))


class AdapterSuite:
    """Behaviour every orchestrator plugin must show. Provide the `orchestrate` fixture."""

    @pytest.fixture
    def orchestrate(self) -> Orchestrate:
        raise NotImplementedError("provide an `orchestrate` fixture in your subclass")

    @pytest.fixture
    def destination(self, tmp_path: Path) -> Destination:
        """Where the suite loads; override it to run the suite against another destination."""
        return ladle.destinations.duckdb(str(tmp_path / "conformance.duckdb"))

    @pytest.fixture
    def make_pipeline(self, destination: Destination, tmp_path: Path) -> PipelineMaker:
        """`make_pipeline("worker_a")`: a pipeline; another name is a worker with an empty disk."""

        def make(workdir: str) -> ladle.Pipeline:
            return ladle.pipeline(
                "conformance",
                destination=destination,
                dataset_name="conformance",
                pipelines_dir=str(tmp_path / workdir),
                progress=False,
            )

        return make

    @pytest.fixture
    def data(self, tmp_path: Path) -> ConformanceData:
        made = ConformanceData(tmp_path / "conformance_data")
        made.add_events(3)
        return made

    # -- helpers ----------------------------------------------------------------------------------
    def run(
        self,
        orchestrate: Orchestrate,
        pipeline: ladle.Pipeline,
        source: ladle.Source,
        work: Plan | None = None,
        window: tuple[datetime.datetime, datetime.datetime] | None = None,
    ) -> Outcome:
        work = work if work is not None else plan(source)
        return orchestrate(Orchestration(work, source, pipeline, window))

    @staticmethod
    def count(pipeline: ladle.Pipeline, table: str) -> int:
        found = pipeline.dataset(f"SELECT count(*) AS n FROM {table}").to_pylist()
        return int(found[0]["n"])

    @staticmethod
    def cursor(pipeline: ladle.Pipeline) -> Any:
        pipeline.sync_destination()
        state = pipeline.state.get("resource:conformance.events", {})
        return state.get("incremental", {}).get("at", {}).get("last_value")

    # -- the behaviour --------------------------------------------------------------------------
    def test_each_unit_runs_once_and_reports_its_load(
        self, orchestrate: Orchestrate, make_pipeline: PipelineMaker, data: ConformanceData
    ) -> None:
        pipeline = make_pipeline("worker")
        outcome = self.run(orchestrate, pipeline, data.source())
        assert set(outcome) == {"events", "users"}
        assert sorted(data.started()) == ["events", "users"]
        events, users = outcome["events"], outcome["users"]
        assert events is not None
        assert users is not None
        assert events["row_counts"] == {"events": 3}
        assert users["row_counts"] == {"users": 2, "users__tags": 3, "user_tags": 3}
        assert events["load_ids"]
        assert users["load_ids"]
        assert self.count(pipeline, "events") == 3
        assert self.count(pipeline, "user_tags") == 3

    def test_units_run_in_dependency_order(
        self, orchestrate: Orchestrate, make_pipeline: PipelineMaker, data: ConformanceData
    ) -> None:
        # Against the source's order, so an orchestrator that ignores depends_on shows it.
        source = data.source()
        work = plan(source)
        events = replace(work.unit("events"), depends_on=("users",))
        ordered = replace(work, units=(events, work.unit("users")))
        outcome = self.run(orchestrate, make_pipeline("worker"), source, ordered)
        assert set(outcome) == {"events", "users"}
        assert data.started() == ["users", "events"]

    def test_state_advances(
        self, orchestrate: Orchestrate, make_pipeline: PipelineMaker, data: ConformanceData
    ) -> None:
        pipeline = make_pipeline("worker")
        self.run(orchestrate, pipeline, data.source())
        assert self.cursor(pipeline) == "2024-01-03T12:00:00Z"

    def test_second_run_is_incremental(
        self, orchestrate: Orchestrate, make_pipeline: PipelineMaker, data: ConformanceData
    ) -> None:
        pipeline = make_pipeline("worker")
        self.run(orchestrate, pipeline, data.source())
        data.add_events(2)
        outcome = self.run(orchestrate, pipeline, data.source())
        events = outcome["events"]
        assert events is not None
        assert events["row_counts"] == {"events": 2}
        assert self.count(pipeline, "events") == 5
        assert self.count(pipeline, "users") == 2  # replace: the latest users, once
        assert self.cursor(pipeline) == "2024-01-05T12:00:00Z"

    def test_fresh_worker_resumes(
        self, orchestrate: Orchestrate, make_pipeline: PipelineMaker, data: ConformanceData
    ) -> None:
        self.run(orchestrate, make_pipeline("worker_a"), data.source())
        data.add_events(1)
        fresh = make_pipeline("worker_b")  # an empty working directory: state comes from the dest.
        outcome = self.run(orchestrate, fresh, data.source())
        events = outcome["events"]
        assert events is not None
        assert events["row_counts"] == {"events": 1}
        assert self.count(fresh, "events") == 4

    def test_failing_unit_fails_alone(
        self, orchestrate: Orchestrate, make_pipeline: PipelineMaker, data: ConformanceData
    ) -> None:
        pipeline = make_pipeline("worker")
        outcome = self.run(orchestrate, pipeline, data.source(fail="users"))
        assert outcome["users"] is None
        events = outcome["events"]
        assert events is not None
        assert events["row_counts"] == {"events": 3}  # committed although `users` failed
        # Once fixed, the failed unit loads; the other finds nothing new: no duplicates.
        outcome = self.run(orchestrate, pipeline, data.source())
        users, events = outcome["users"], outcome["events"]
        assert users is not None
        assert users["row_counts"] == {"users": 2, "users__tags": 3, "user_tags": 3}
        assert events is not None
        assert events["row_counts"].get("events", 0) == 0
        assert self.count(pipeline, "events") == 3

    def test_window_loads_its_rows_and_leaves_the_cursor(
        self, orchestrate: Orchestrate, make_pipeline: PipelineMaker, data: ConformanceData
    ) -> None:
        pipeline = make_pipeline("worker")
        source = data.source()
        work = replace(plan(source), units=(plan(source).unit("events"),))
        self.run(orchestrate, pipeline, source, work)  # the cursor is at event 3
        data.add_events(2)
        day_2 = (
            datetime.datetime(2024, 1, 2, tzinfo=UTC),
            datetime.datetime(2024, 1, 3, tzinfo=UTC),
        )
        outcome = self.run(orchestrate, pipeline, data.source(), work, window=day_2)
        events = outcome["events"]
        assert events is not None
        assert events["row_counts"] == {"events": 1}  # event 2 again, nothing past the window
        ids = pipeline.dataset("SELECT id FROM events ORDER BY id").to_pylist()
        assert [row["id"] for row in ids] == [1, 2, 2, 3]  # `events` appends: 2 twice
        assert self.cursor(pipeline) == "2024-01-03T12:00:00Z"  # not moved by the backfill


__all__ = [
    "AdapterSuite",
    "ConformanceData",
    "Orchestrate",
    "Orchestration",
    "Outcome",
    "conformance_source",
]
