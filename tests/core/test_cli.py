"""The `ladle` command: sync a fresh worker from the destination, inspect, drop pending."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ladle
from ladle.cli import main


@ladle.resource(name="events")
def events(cursor: ladle.Incremental = ladle.incremental("id", initial_value=0)) -> Any:
    yield [{"id": 1}, {"id": 2}]


def test_sync_restores_state_and_schema_on_a_fresh_worker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ladle.pipeline("shop", pipelines_dir=str(tmp_path / "first"), progress=False).run(events())
    fresh = str(tmp_path / "fresh")
    assert main(["pipeline", "shop", "sync", "--pipelines-dir", fresh]) == 0
    printed = capsys.readouterr().out
    assert "synced shop from duckdb" in printed
    assert "schema shop: version 1, tables events" in printed
    assert 'state resource:shop.events: {"incremental":{"id":{"last_value":2' in printed
    assert ladle.pipeline("shop", pipelines_dir=fresh).state["resource:shop.events"]


def test_info_and_drop_pending(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(tmp_path / "work")
    ladle.pipeline("shop", pipelines_dir=folder, progress=False).extract(events())
    assert main(["pipeline", "shop", "info", "--pipelines-dir", folder]) == 0
    assert "pending packages: 1" in capsys.readouterr().out
    assert main(["pipeline", "shop", "drop-pending", "--pipelines-dir", folder]) == 0
    assert "dropped 1 pending package(s)" in capsys.readouterr().out


def test_errors_are_short_and_exit_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pipeline", "shop", "sync", "--destination", "nosuchdb"]) == 1
    assert capsys.readouterr().err.startswith("error: ")


def test_the_installed_command_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ladle.cli", "pipeline", "shop", "info"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "pending packages: 0" in done.stdout
