"""The docs stay true: the custom destination example runs, and passes the destination suite."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import pytest

from ladle.destinations.base import Destination
from ladle.testing import DestinationSuite

DOC = Path(__file__).resolve().parents[1] / "docs" / "custom_destination.md"


def run_example() -> dict[str, Any]:
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)[0]
    namespace: dict[str, Any] = {"__name__": "custom_destination_doc"}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, str(DOC), "exec"), namespace)
    namespace["printed"] = output.getvalue()
    return namespace


def test_custom_destination_example_runs() -> None:
    assert "[{'id': 1, 'text': 'hello'}]" in run_example()["printed"]


class TestSqliteExampleDestination(DestinationSuite):
    """The example is a real destination: it passes the suite, bar what SQLite cannot type."""

    @pytest.fixture
    def destination(self, tmp_path: Path) -> Destination:
        sqlite_destination: type[Destination] = run_example()["SqliteDestination"]
        return sqlite_destination(str(tmp_path / "sqlite"))  # type: ignore[call-arg]

    @pytest.mark.skip(reason="SQLite stores timestamps, dates and decimals as text")
    def test_all_types_round_trip_exactly(self) -> None: ...
