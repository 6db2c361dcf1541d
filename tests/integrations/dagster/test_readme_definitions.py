"""The README's Dagster example is a working code location: Dagster loads, validates and runs it."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ladle_dagster import LadleResource
from tests.core.destinations.postgres_server import fresh_postgres_dsn

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "integrations" / "dagster" / "examples" / "crm_definitions.py"
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.DOTALL)
DAGSTER_BLOCKS = [block for block in BLOCKS if "ladle_dagster" in block]


def test_the_readme_shows_the_example_definitions() -> None:
    assert [EXAMPLE.read_text()] == DAGSTER_BLOCKS


def test_dagster_loads_and_validates_the_example_as_dagster_dev_would(tmp_path: Path) -> None:
    # `dagster definitions validate -f` loads the file as `dagster dev -f` does, in a process
    # of its own, and runs Dagster's checks of the definitions.
    env = {**os.environ, "DESTINATION__POSTGRES__CREDENTIALS": fresh_postgres_dsn()}
    env["DAGSTER_HOME"] = str(tmp_path)
    done = subprocess.run(
        [Path(sys.executable).parent / "dagster", "definitions", "validate", "-f", str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "All code locations passed validation" in output


def test_the_example_loads_a_day_of_tickets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", fresh_postgres_dsn())
    defs = runpy.run_path(str(EXAMPLE))["defs"]
    dg.Definitions.validate_loadable(defs)
    assets = list(defs.assets)
    keys = {key.to_user_string() for key in assets[0].keys}
    assert keys == {"crm/users", "crm/users__roles", "crm/tickets", "crm/user_emails"}
    with dg.DagsterInstance.ephemeral(tempdir=str(tmp_path / "dagster")) as instance:
        result = dg.materialize(
            assets,
            instance=instance,
            # The example as written, working in this test's folder instead of ~/.ladle.
            resources={"ladle": LadleResource(pipelines_dir=str(tmp_path / "work"))},
            partition_key="2024-05-02",
        )
    rows = {
        event.asset_key.to_user_string(): event.materialization.metadata["dagster/row_count"].value
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None
    }
    assert rows == {"crm/tickets": 1, "crm/users": 2, "crm/users__roles": 1, "crm/user_emails": 2}
