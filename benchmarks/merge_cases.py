"""Benchmark cases for `merge`: N rows merged into a table that already holds 10 x N.

The table is first loaded (untimed) with the first 10 x N rows of the data set, as a merge table
with primary key `id`. The timed part merges the first N rows again: every row replaces its
stored version, with its commits and labels (old child rows deleted, new ones inserted), so the
load's row counts are the data set's counts for N rows. rows/s is merged rows per second.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dataset
from child import Outcome, Timer
from destination_cases import bench_pipeline, row_counts, throwaway_database

if TYPE_CHECKING:
    from cases import Context

EXISTING_FACTOR = 10


def _merge(ctx: Context, destination: Any) -> Outcome:
    import ladle

    pipeline = bench_pipeline(ctx, destination)

    def events(rows: int) -> ladle.Resource:
        data = dataset.iter_events(rows, ctx.seed)
        return ladle.resource(
            data, name=dataset.ROOT_TABLE, primary_key="id", write_disposition="merge"
        )

    pipeline.run(events(ctx.rows * EXISTING_FACTOR))
    with Timer() as timer:
        info = pipeline.run(events(ctx.rows))
    return timer, row_counts(info)


def ladle_merge(ctx: Context) -> Outcome:
    import ladle

    return _merge(ctx, ladle.destinations.duckdb(str(ctx.workdir / "db.duckdb")))


def ladle_postgres_merge(ctx: Context) -> Outcome:
    import ladle

    with throwaway_database() as dsn:
        return _merge(ctx, ladle.destinations.postgres(dsn))


CASES = {"ladle-merge": ladle_merge, "ladle-postgres-merge": ladle_postgres_merge}
