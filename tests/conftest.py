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


def loaded_snapshot(pipeline: ladle.Pipeline, *root_keys: str) -> dict[str, Any]:
    """Every table's column types and rows, each row keyed by its place: its root row's
    `root_keys` values and the list positions down to it (generated ids differ between loads,
    so they are left out). Two loads of the same data compare equal."""
    schema = pipeline.schema
    types = {
        table.name: {c.name: c.data_type for c in table.columns.values()}
        for table in schema.tables.values()
    }
    loaded = {name: rows(pipeline, f'SELECT * FROM "{name}"') for name in schema.tables}
    by_id = {row["_ladle_id"]: row for table_rows in loaded.values() for row in table_rows}

    def place(row: dict[str, Any]) -> tuple[Any, ...]:
        parent = row.get("_ladle_parent_id")
        if parent is None:
            return tuple(row.get(key) for key in root_keys)
        return (*place(by_id[parent]), row["_ladle_list_idx"])

    data = {
        name: sorted(
            repr(place(row))
            + repr(sorted((k, repr(v)) for k, v in row.items() if not k.startswith("_ladle_")))
            for row in table_rows
        )
        for name, table_rows in loaded.items()
    }
    return {"types": types, "data": data}
