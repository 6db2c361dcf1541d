"""Dropping resources: a full refresh of their tables and state, on DuckDB and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ladle
from ladle.cli import main
from tests.core.shop import Target


@ladle.source
def crm(first: int = 1, last: int = 3) -> Any:
    @ladle.resource(primary_key="id")
    def users(updated: ladle.Incremental = ladle.incremental("id", initial_value=0)) -> Any:
        yield [{"id": i, "tags": [f"t{i}"], "address": {"lines": ["a", "b"]}} for i in range(1, 4)]

    @ladle.resource
    def notes() -> Any:
        ladle.state()["runs"] = ladle.state().get("runs", 0) + 1
        yield [{"id": i} for i in range(first, last + 1)]

    return users, notes


def make_pipeline(target: Target, workdir: Path) -> ladle.Pipeline:
    return ladle.pipeline(
        "crm",
        destination=target.destination(),
        dataset_name="crm",
        pipelines_dir=str(workdir),
        progress=False,
    )


def tables(pipeline: ladle.Pipeline) -> set[str]:
    with pipeline.sql_client() as client:
        found = client.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'crm'"
        )
    return {name for name in found.column("table_name").to_pylist() if not name.startswith("_")}


def test_drop_removes_tables_schema_and_state_of_a_resource(target: Target, tmp_path: Path) -> None:
    pipeline = make_pipeline(target, tmp_path / "a")
    pipeline.run(crm())
    assert tables(pipeline) == {"users", "users__tags", "users__address__lines", "notes"}
    assert "resource:crm.users" in pipeline.state
    stale = make_pipeline(target, tmp_path / "b")
    stale.sync_destination()  # another worker, which knows the tables
    assert "users" in stale.schema.tables

    dropped = pipeline.drop("users")

    assert set(dropped) == {"users", "users__tags", "users__address__lines"}
    assert tables(pipeline) == {"notes"}
    assert {t.name for t in pipeline.schema.data_tables()} == {"notes"}
    assert "resource:crm.users" not in pipeline.state
    assert pipeline.state["resource:crm.notes"] == {"runs": 1}  # other resources keep theirs
    # The other worker's next sync forgets them too, so it cannot bring them back ...
    stale.sync_destination()
    assert "users" not in stale.schema.tables
    # ... and the next run loads the resource from its initial cursor.
    info = pipeline.run(crm().with_resources("users"))
    assert info.row_counts["users"] == 3
    assert tables(pipeline) == {"users", "users__tags", "users__address__lines", "notes"}


def test_drop_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    target = Target("duckdb", str(tmp_path / "crm.duckdb"))
    pipeline = make_pipeline(target, tmp_path / "a")
    pipeline.run(crm())
    with pytest.raises(ladle.ConfigError, match=r"no tables of resource\(s\) \['userz'\].*notes"):
        pipeline.drop("userz")
    with pytest.raises(ladle.ConfigError, match="name the resources"):
        pipeline.drop()
    pipeline.extract(crm().with_resources("notes"))
    with pytest.raises(ladle.ConfigError, match="1 package"):
        pipeline.drop("notes")
    assert tables(pipeline) == {"users", "users__tags", "users__address__lines", "notes"}

    files = ladle.pipeline(
        "crm",
        destination=ladle.destinations.filesystem(tmp_path / "lake"),
        pipelines_dir=str(tmp_path / "fs"),
    )
    files.run(crm())
    with pytest.raises(ladle.ConfigError, match="cannot drop tables"):
        files.drop("users")


def test_cli_drop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(tmp_path / "work")
    ladle.pipeline("crm", pipelines_dir=folder, progress=False).run(crm())
    assert (
        main(["pipeline", "crm", "drop", "notes", "--schema", "crm", "--pipelines-dir", folder])
        == 0
    )
    assert "dropped notes" in capsys.readouterr().out
    assert main(["pipeline", "crm", "drop", "--pipelines-dir", folder]) == 1
    assert "name the resources to drop" in capsys.readouterr().err
