"""The demo's bookshop source (the README's first example), loaded from the demo API, twice."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import ladle

DEMO_DIR = Path(__file__).resolve().parents[2] / "examples" / "demo"


@pytest.fixture
def api_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The demo API on a free port of 127.0.0.1, for the length of one test."""
    monkeypatch.syspath_prepend(str(DEMO_DIR))
    from api_server import ApiServer

    with ApiServer() as server:
        yield server.url


@pytest.fixture
def pipeline(tmp_path: Path) -> ladle.Pipeline:
    return ladle.pipeline(
        pipeline_name="bookshop",
        destination=ladle.destinations.duckdb(tmp_path / "bookshop.duckdb"),
        pipelines_dir=tmp_path / "pipelines",
        progress=False,
    )


def table_counts(pipeline: ladle.Pipeline) -> dict[str, int]:
    tables = ["customers", "customers__tags", "orders", "orders__items", "reviews"]
    sql = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in tables)
    return {row["t"]: row["n"] for row in pipeline.dataset(sql).to_pylist()}


def test_demo_loads_v1_then_v2_adds_a_column(api_url: str, pipeline: ladle.Pipeline) -> None:
    from bookshop import bookshop

    first = pipeline.run(bookshop(f"{api_url}/v1"))
    v1_counts = {
        "customers": 6,
        "customers__tags": 9,
        "orders": 8,
        "orders__items": 15,
        "reviews": 8,
    }
    assert first.row_counts == v1_counts
    assert table_counts(pipeline) == v1_counts
    customers = pipeline.schema.tables["customers"]
    assert "loyalty_tier" not in customers.columns
    assert customers.columns["address__city"].data_type == "text"
    assert customers.columns["signed_up_at"].data_type == "timestamp"
    # `total` is 24 on page 1 and 20.5 on page 2: the column is a double holding both.
    assert pipeline.schema.tables["orders"].columns["total"].data_type == "double"
    totals = pipeline.dataset("SELECT total FROM orders WHERE id IN (1001, 1005) ORDER BY id")
    assert totals.column("total").to_pylist() == [24.0, 20.5]

    second = pipeline.run(bookshop(f"{api_url}/v2"))
    assert list(second.schema_changes) == ["new column customers.loyalty_tier (text)"]
    # v2 sends every record again; replace keeps v2 only.
    assert table_counts(pipeline) == {
        "customers": 7,
        "customers__tags": 11,
        "orders": 11,
        "orders__items": 22,
        "reviews": 9,
    }
    rows = pipeline.dataset(
        "SELECT id, address__city, loyalty_tier FROM customers WHERE id IN (2, 7) ORDER BY id"
    ).to_pylist()
    assert rows == [
        {"id": 2, "address__city": "Lisbon", "loyalty_tier": "silver"},
        {"id": 7, "address__city": "Cork", "loyalty_tier": "bronze"},
    ]


def test_make_demo_script_runs(tmp_path: Path) -> None:
    """What `make demo` runs, as a user would run it."""
    done = subprocess.run(
        [sys.executable, str(DEMO_DIR / "run_demo.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "new column customers.loyalty_tier (text)" in done.stdout
    assert "orders__items" in done.stdout
