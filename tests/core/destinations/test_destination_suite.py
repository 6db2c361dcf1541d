"""Every built-in destination passes the shared conformance suite (ladle.testing)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ladle
from ladle.destinations.base import Destination
from ladle.testing import DestinationSuite
from tests.core.destinations.postgres_server import fresh_postgres_destination


class TestDuckDb(DestinationSuite):
    @pytest.fixture
    def destination(self, tmp_path: Path) -> Destination:
        return ladle.destinations.duckdb(str(tmp_path / "suite.duckdb"))


class TestFilesystem(DestinationSuite):
    @pytest.fixture
    def destination(self, tmp_path: Path) -> Destination:
        return ladle.destinations.filesystem(tmp_path / "lake")


class TestPostgres(DestinationSuite):
    @pytest.fixture
    def destination(self) -> Destination:
        return fresh_postgres_destination()
