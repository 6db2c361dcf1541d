"""Shared fixtures: every test runs in its own temp dir with its own DuckDB file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# The conformance suites in ladle.testing assert like tests: show their failures like tests.
pytest.register_assert_rewrite("ladle.testing")

import ladle  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


PipelineFactory = Callable[..., ladle.Pipeline]


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
