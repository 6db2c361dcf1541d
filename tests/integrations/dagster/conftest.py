"""Dagster for the tests: each test gets an ephemeral Dagster instance in its own temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ladle.testing.adapter_suite import ConformanceData


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    # An instance in the test's folder (Dagster's default one cleans up a temp dir at exit).
    with dg.DagsterInstance.ephemeral(tempdir=str(tmp_path / "dagster")) as made:
        yield made


@pytest.fixture
def data(tmp_path: Path) -> ConformanceData:
    """Rows of `conformance_source`: 3 events (one a day, 2024-01-01..03) and 2 users."""
    made = ConformanceData(tmp_path / "data")
    made.add_events(3)
    return made
