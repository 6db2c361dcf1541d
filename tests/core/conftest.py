"""Fixtures of the tests that run the shop source (tests/core/shop.py) in worker processes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import ladle
from ladle.destinations.base import DestinationClient
from tests.core.destinations.postgres_server import fresh_postgres_dsn
from tests.core.shop import PIPELINE, Target, customers_rows, orders_rows


@pytest.fixture(params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """A DuckDB file in tmp_path, or the emptied PostgreSQL test database. Narrow a test to one
    with `@pytest.mark.parametrize("target", ["postgres"], indirect=True)`."""
    if request.param == "duckdb":
        return Target("duckdb", str(tmp_path / "shop.duckdb"))
    return Target("postgres", fresh_postgres_dsn())


# -- what the destination should hold ------------------------------------------------------------
def assert_loaded_once(
    pipeline: ladle.Pipeline, orders: int, resources: tuple[str, ...] = ("orders", "customers")
) -> None:
    """Every row of `resources` of the shop with `orders` orders is there exactly once (items
    linked to their order), and their cursors stand at the newest row."""
    with pipeline.sql_client() as client:
        if "orders" in resources:
            expected = orders_rows(orders)
            assert tally(client, "SELECT id FROM orders") == Counter(range(orders))
            items = tally(
                client,
                "SELECT o.id, i.sku FROM orders__items i "
                "LEFT JOIN orders o ON o._ladle_id = i._ladle_parent_id",
            )
            assert items == Counter((o["id"], i["sku"]) for o in expected for i in o["items"])
            assert cursor(pipeline, "orders") == expected[-1]["updated_at"]
        if "customers" in resources:
            assert tally(client, "SELECT id FROM customers") == Counter(range(orders // 2))
            assert cursor(pipeline, "customers") == customers_rows(orders)[-1]["updated_at"]


def tally(client: DestinationClient, sql: str) -> Counter[Any]:
    """How often each row of the query's result occurs (a row of one column as its value)."""
    table = client.query(sql)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return Counter(columns[0] if len(columns) == 1 else zip(*columns, strict=True))


def cursor(pipeline: ladle.Pipeline, resource: str) -> Any:
    """The committed `updated_at` cursor of a resource, as the pipeline last synced it."""
    state = pipeline.state[f"resource:{PIPELINE}.{resource}"]
    return state["incremental"]["updated_at"]["last_value"]


def data_tables(pipeline: ladle.Pipeline) -> set[str]:
    """Tables of the pipeline's dataset, system tables left out."""
    with pipeline.sql_client() as client:
        found = tally(
            client,
            "SELECT table_name FROM information_schema.tables "
            f"WHERE table_schema = '{pipeline.dataset_name}'",
        )
    return {name for name in found if not name.startswith("_ladle")}


def new_rows(
    before: int, after: int, resources: tuple[str, ...] = ("orders", "customers")
) -> dict[str, int]:
    """The row counts a load of the shop grown from `before` to `after` orders must report."""
    counts = {}
    if "orders" in resources:
        added = orders_rows(after)[before:]
        counts["orders"] = len(added)
        counts["orders__items"] = sum(len(order["items"]) for order in added)
    if "customers" in resources:
        counts["customers"] = after // 2 - before // 2
    return {table: n for table, n in counts.items() if n}
