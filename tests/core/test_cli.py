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


LADLE = Path(sys.executable).with_name("ladle")  # the console script of the entry point


def test_version_and_help_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ladle {ladle.__version__}"
    for command in (["--help"], ["init", "--help"], ["pipeline", "--help"]):
        assert main(command) == 0
        assert "usage: ladle" in capsys.readouterr().out


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline", "shop", "explode"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main([]) == 2


def test_show_schema_and_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(tmp_path / "work")
    ladle.pipeline("shop", pipelines_dir=folder, progress=False).run(events())
    assert main(["pipeline", "shop", "show", "--pipelines-dir", folder]) == 0
    assert "events: 2 rows" in capsys.readouterr().out
    assert main(["pipeline", "shop", "schema", "--pipelines-dir", folder]) == 0
    assert "events" in capsys.readouterr().out
    assert main(["pipeline", "shop", "trace", "--pipelines-dir", folder]) == 0
    printed = capsys.readouterr().out
    assert "events" in printed
    assert "timings: extract_and_normalize" in printed
    assert main(["pipeline", "shop", "trace", "--json", "--pipelines-dir", folder]) == 0
    assert '"row_counts": {' in capsys.readouterr().out
    # A fresh worker has no trace of its own, but `show` syncs from the destination.
    fresh = str(tmp_path / "fresh")
    assert main(["pipeline", "shop", "trace", "--pipelines-dir", fresh]) == 1
    assert "has no run" in capsys.readouterr().err
    assert main(["pipeline", "shop", "show", "--pipelines-dir", fresh]) == 0
    assert "events: 2 rows" in capsys.readouterr().out
    other = ["--dataset-name", "other", "--pipelines-dir", str(tmp_path / "other")]
    assert main(["pipeline", "shop", "schema", *other]) == 1
    assert "has loaded nothing" in capsys.readouterr().err
    # A mistyped name is an error, and leaves no empty DuckDB file behind.
    assert main(["pipeline", "nothing", "schema", "--pipelines-dir", fresh]) == 1
    assert "there is no DuckDB file nothing.duckdb" in capsys.readouterr().err
    assert not Path("nothing.duckdb").exists()


@pytest.mark.parametrize("template", ["generic", "rest_api"])
def test_init_templates(template: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", template, "duckdb", "--dir", str(tmp_path / "p")]) == 0
    script = tmp_path / "p" / f"{template}_pipeline.py"
    assert script.is_file()
    assert (tmp_path / "p" / ".ladle" / "config.toml").is_file()
    compile(script.read_text(), str(script), "exec")
    assert main(["init", template, "duckdb", "--dir", str(tmp_path / "p")]) == 1
    assert "pass --force" in capsys.readouterr().err
    assert main(["init", template, "duckdb", "--dir", str(tmp_path / "p"), "--force"]) == 0


def test_init_rejects_unknown_template_and_destination(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "soap", "duckdb"]) == 1
    assert "unknown template 'soap'" in capsys.readouterr().err
    assert main(["init", "generic", "oracle"]) == 1
    assert "unknown destination 'oracle'" in capsys.readouterr().err
    assert main(["init", "--openapi", "missing.yaml", "--name", "x"]) == 1
    assert "cannot read the OpenAPI spec missing.yaml" in capsys.readouterr().err


def run_in(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a command in `folder` as a user would (HOME is the test's own: see conftest)."""
    done = subprocess.run(
        list(command),
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_the_console_script_inits_and_runs_a_generic_project(tmp_path: Path) -> None:
    run_in(tmp_path, str(LADLE), "init", "generic", "duckdb", "--dir", "proj")
    ran = run_in(tmp_path / "proj", sys.executable, "generic_pipeline.py")
    assert "items" in ran.stdout
    shown = run_in(
        tmp_path / "proj",
        str(LADLE),
        "pipeline",
        "generic",
        "show",
        "--dataset-name",
        "generic_data",
    )
    assert "items: 1 rows" in shown.stdout


def test_show_lists_only_what_the_destination_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = str(tmp_path / "work")
    shop = ladle.pipeline("shop", pipelines_dir=folder, progress=False)
    shop.run(events())
    shop.extract([{"sku": "a"}], table_name="products")  # normalized below, never loaded
    shop.normalize()
    assert main(["pipeline", "shop", "show", "--pipelines-dir", folder]) == 0
    printed = capsys.readouterr().out
    assert "events: 2 rows" in printed
    assert "products" not in printed
