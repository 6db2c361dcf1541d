"""A deterministic incremental source, and a worker process that runs it, for the crash-safety
and concurrency tests.

The fake shop API serves `orders` (each with a list of `items`: a child table) and `customers`,
in pages, every row with `updated_at` at or after the `since` it is asked for, as a real API
would. Both resources are `append` with `ladle.incremental("updated_at")`, and several rows share
each timestamp, so rows at the stored cursor are served again and must be deduplicated.

    python -m tests.core.shop duckdb /tmp/x/shop.duckdb /tmp/x/worker_a --orders 302
    python -m tests.core.shop postgres postgresql://... /tmp/x/worker_b --resources orders
    python -m tests.core.shop duckdb /tmp/x/shop.duckdb /tmp/x/worker_c --orders 302 \
        --stages extract+normalize       # leave a normalized package, do not load it

prints the loaded row counts as JSON and exits 0; on `StateConflict` it prints
`StateConflict` and exits 3. `LADLE_CRASH_AT` / `LADLE_PAUSE_AT` (ladle.crash_points) make it
die or wait at a named point.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ladle

PIPELINE = "shop"
PAGE_SIZE = 40
STATE_CONFLICT_EXIT = 3
START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
INITIAL = "2024-01-01T00:00:00Z"


def stamp(minute: int) -> str:
    return (START + datetime.timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")


def orders_rows(count: int) -> list[dict[str, Any]]:
    """Orders 0..count-1, three per minute, with 1-3 items each."""
    return [
        {
            "id": i,
            "updated_at": stamp(i // 3),
            "customer": {"name": f"c{i % 7}"},
            "items": [{"sku": f"sku-{i}-{k}", "qty": k + 1} for k in range(i % 3 + 1)],
        }
        for i in range(count)
    ]


def customers_rows(orders: int) -> list[dict[str, Any]]:
    """Half as many customers as orders, two per minute."""
    return [{"id": i, "updated_at": stamp(i // 2), "name": f"c{i}"} for i in range(orders // 2)]


def served(rows: list[dict[str, Any]], since: str) -> Iterator[list[dict[str, Any]]]:
    """Pages of the rows updated at or after `since` (ISO strings of one form sort as times)."""
    fresh = [row for row in rows if row["updated_at"] >= since]
    for start in range(0, len(fresh), PAGE_SIZE):
        yield fresh[start : start + PAGE_SIZE]


@ladle.source
def shop(orders: int) -> Any:
    @ladle.resource(name="orders", primary_key="id", write_disposition="append")
    def orders_resource(
        updated_at: ladle.Incremental = ladle.incremental("updated_at", initial_value=INITIAL),
    ) -> Any:
        yield from served(orders_rows(orders), updated_at.last_value)

    @ladle.resource(name="customers", primary_key="id", write_disposition="append")
    def customers_resource(
        updated_at: ladle.Incremental = ladle.incremental("updated_at", initial_value=INITIAL),
    ) -> Any:
        yield from served(customers_rows(orders), updated_at.last_value)

    return orders_resource, customers_resource


@dataclass(frozen=True)
class Target:
    """A destination that this process and worker processes reach alike."""

    kind: str  # "duckdb" or "postgres"
    location: str  # the DuckDB file, or the PostgreSQL DSN
    dataset: str = f"{PIPELINE}_dataset"

    def destination(self) -> ladle.destinations.Destination:
        if self.kind == "duckdb":
            return ladle.destinations.duckdb(self.location)
        return ladle.destinations.postgres(self.location)

    def pipeline(self, workdir: Path, dataset_name: str | None = None) -> ladle.Pipeline:
        """The shop pipeline of a worker whose working directory lives under `workdir`."""
        return ladle.pipeline(
            PIPELINE,
            destination=self.destination(),
            dataset_name=dataset_name or self.dataset,
            pipelines_dir=workdir,
            progress=False,
        )

    def worker_args(self, workdir: Path, orders: int, *options: str) -> list[str]:
        """The command line of a worker process (see the module doc)."""
        return [
            sys.executable,
            "-m",
            "tests.core.shop",
            self.kind,
            self.location,
            str(workdir),
            "--dataset",
            self.dataset,
            "--orders",
            str(orders),
            *options,
        ]


def worker_env(**variables: str) -> dict[str, str]:
    """The environment of a worker process: this one's, with its import path, plus `variables`."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **variables}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.core.shop")
    parser.add_argument("kind", choices=["duckdb", "postgres"])
    parser.add_argument("location")
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--dataset", default=Target.dataset)
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--resources", default="", help="comma-separated; default: all")
    parser.add_argument(
        "--stages",
        choices=["run", "extract", "extract+normalize"],
        default="run",
        help="run, or only extract (and normalize) into a package left for a later run",
    )
    args = parser.parse_args(argv)
    pipeline = Target(args.kind, args.location, args.dataset).pipeline(args.workdir)
    source = shop(args.orders)
    if args.resources:
        source = source.with_resources(*args.resources.split(","))
    try:
        if args.stages == "run":
            print(json.dumps(pipeline.run(source).row_counts))
            return 0
        pipeline.extract(source)
        if args.stages == "extract+normalize":
            pipeline.normalize()
    except ladle.StateConflict:
        print("StateConflict")
        return STATE_CONFLICT_EXIT
    return 0


if __name__ == "__main__":
    sys.exit(main())
