"""Prefect for the tests: a throwaway PREFECT_HOME and one real, temporary Prefect server.

Prefect reads its settings when it is first imported, so the environment is set here, at
collection, before any test module imports Prefect: its home, profiles and database live in a
temporary folder (never ~/.prefect), nothing points at a user's server or Prefect Cloud, and the
server sends no telemetry. `prefect_test_harness` starts the server (a subprocess with a SQLite
database; a few seconds) once per session, for every Prefect test.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_HOME = Path(tempfile.mkdtemp(prefix="ladle-prefect-home-"))
for _name in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "PREFECT_HOME": str(_HOME),
        "PREFECT_PROFILES_PATH": str(_HOME / "profiles.toml"),
        # Prefect derives these from ~/.prefect, not from PREFECT_HOME: name them too.
        "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(_HOME / "storage"),
        "PREFECT_SERVER_MEMO_STORE_PATH": str(_HOME / "memo_store.toml"),
        "PREFECT_LOGGING_CONFIG_PATH": str(_HOME / "logging.yml"),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{_HOME / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
)
atexit.register(shutil.rmtree, _HOME, True)

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """The session's Prefect server; every test in this folder runs against it."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # No flow run heartbeats (they detect crashed runs on long-lived servers): ending a flow run
    # waits up to 2 s for the heartbeat thread, and these tests make dozens of short runs.
    with (
        prefect_test_harness(server_startup_timeout=60),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


@pytest.fixture(autouse=True)
def _prefect(prefect_server: None) -> None:
    """Every Prefect test talks to the session's server."""
