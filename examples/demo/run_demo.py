"""The ladle demo, fully offline: load a small bookshop REST API into DuckDB, twice.

Run 1 loads v1 of the API, served from examples/demo/api/ on 127.0.0.1. Run 2 loads v2, which adds
a `loyalty_tier` field to customers, one new customer and a third page of orders: ladle adds the
new column to the schema and the table. Run it with `make demo`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
from api_server import ApiServer
from bookshop import bookshop

import ladle

WORK_DIR = Path(__file__).resolve().parent / ".ladle"  # git-ignored, wiped at every start


def print_table(title: str, table: pa.Table) -> None:
    """Print a query result as aligned text columns."""
    rows = [table.column_names, *([str(v) for v in row.values()] for row in table.to_pylist())]
    widths = [max(len(row[i]) for row in rows) for i in range(table.num_columns)]
    print(f"\n{title}:")
    for row in rows:
        cells = (value.ljust(width) for value, width in zip(row, widths, strict=True))
        print(("   " + "  ".join(cells)).rstrip())


def load(pipeline: ladle.Pipeline, base_url: str, title: str) -> None:
    print(f"\n=== {title} ===\n")
    info = pipeline.run(bookshop(base_url))
    print(info)  # tables, row counts and schema changes of this run


def main() -> None:
    shutil.rmtree(WORK_DIR, ignore_errors=True)
    pipeline = ladle.pipeline(
        pipeline_name="bookshop",
        destination=ladle.destinations.duckdb(WORK_DIR / "bookshop.duckdb"),
        pipelines_dir=WORK_DIR / "pipelines",
    )
    with ApiServer() as api:
        load(pipeline, f"{api.url}/v1", "Run 1: v1 of the bookshop API")
        print("\n" + pipeline.schema.to_pretty())
        print_table(
            "Customers by spend",
            pipeline.dataset(
                "SELECT c.name, c.address__city AS city, count(*) AS orders, sum(o.total) AS spent"
                " FROM customers c JOIN orders o ON o.customer_id = c.id"
                " GROUP BY ALL ORDER BY spent DESC"
            ),
        )

        load(pipeline, f"{api.url}/v2", "Run 2: v2 adds customers.loyalty_tier and more orders")
        print_table(
            "Customers now",
            pipeline.dataset(
                "SELECT id, name, address__city AS city, loyalty_tier FROM customers ORDER BY id"
            ),
        )
        print_table(
            "Best-selling books",
            pipeline.dataset(
                "SELECT title, sum(quantity) AS sold FROM orders__items"
                " GROUP BY title ORDER BY sold DESC, title LIMIT 5"
            ),
        )


if __name__ == "__main__":
    main()
