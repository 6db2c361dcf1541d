"""Shared fixtures: every test runs in its own temp dir with its own DuckDB file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# The conformance suites in ladle.testing assert like tests: show their failures like tests.
pytest.register_assert_rewrite("ladle.testing")

import ladle  # noqa: E402
from ladle.normalize.columnar import ColumnarFlattener  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


PipelineFactory = Callable[..., ladle.Pipeline]

# Real-world material nobody on this team wrote (OpenAPI specs, API responses), read in place
# from `../shared` beside the repository; a fresh clone without it skips those tests.
REALWORLD = Path(__file__).resolve().parents[1].parent / "shared" / "realworld"


def needs_realworld(folder: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not (REALWORLD / folder).is_dir(),
        reason=f"the real-world material is not here ({REALWORLD / folder}); CI has it",
    )


@pytest.fixture
def make_pipeline(tmp_path: Path) -> PipelineFactory:
    """`make_pipeline(name="p", workdir="a")`: a DuckDB pipeline; `workdir` names a fresh worker."""

    def make(name: str = "p", workdir: str = "work", **kwargs: object) -> ladle.Pipeline:
        kwargs.setdefault(
            "destination", ladle.destinations.duckdb(str(tmp_path / f"{name}.duckdb"))
        )
        kwargs.setdefault("progress", False)
        return ladle.pipeline(name, pipelines_dir=str(tmp_path / workdir), **kwargs)  # type: ignore[arg-type]

    return make


def rows(pipeline: ladle.Pipeline, sql: str) -> list[dict[str, object]]:
    return pipeline.dataset(sql).to_pylist()  # type: ignore[no-any-return]


def count_columnar_batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of each batch the columnar path takes, in order; 0 for a declined batch."""
    taken: list[int] = []
    read, columns = ColumnarFlattener.read, ColumnarFlattener.columns

    def counted_read(self: ColumnarFlattener, lines: list[bytes]) -> Any:
        table = read(self, lines)
        if table is None:
            taken.append(0)
        return table

    def counted_columns(self: ColumnarFlattener, table: Any) -> Any:
        result = columns(self, table)
        taken.append(table.num_rows if result is not None else 0)
        return result

    monkeypatch.setattr(ColumnarFlattener, "read", counted_read)
    monkeypatch.setattr(ColumnarFlattener, "columns", counted_columns)
    return taken
