"""Benchmark cases for the other destinations: PostgreSQL and filesystem (Parquet).

`postgres-copy` is the floor for PostgreSQL: a plain `COPY ... FROM STDIN` of the very rows ladle
loads (ladle's normalized files, written as CSV beforehand, untimed). `ladle-postgres-load` times
only ladle's load stage of the same package, so the two compare like for like.
"""

from __future__ import annotations

import contextlib
import io
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dataset
from child import Outcome, Timer

if TYPE_CHECKING:
    from cases import Context

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    import psycopg

    name = f"ladle_bench_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_pipeline(ctx: Context, destination: Any) -> Any:
    import ladle

    return ladle.pipeline(
        pipeline_name="bench",
        destination=destination,
        dataset_name="bench",
        pipelines_dir=str(ctx.workdir / "pipelines"),
        progress=False,
    )


def row_counts(info: Any) -> dict[str, int]:
    return {str(table): int(n) for table, n in info.row_counts.items()}


def ladle_postgres(ctx: Context) -> Outcome:
    import ladle

    with throwaway_database() as dsn:
        pipeline = bench_pipeline(ctx, ladle.destinations.postgres(dsn))
        items = dataset.iter_events(ctx.rows, ctx.seed)
        with Timer() as timer:
            info = pipeline.run(items, table_name=dataset.ROOT_TABLE)
    return timer, row_counts(info)


def ladle_postgres_load(ctx: Context) -> Outcome:
    """Only the load stage: extract and normalize run first, untimed."""
    import ladle

    with throwaway_database() as dsn:
        pipeline = bench_pipeline(ctx, ladle.destinations.postgres(dsn))
        pipeline.extract(dataset.iter_events(ctx.rows, ctx.seed), table_name=dataset.ROOT_TABLE)
        pipeline.normalize()
        with Timer() as timer:
            info = pipeline.load()
    return timer, row_counts(info)


def postgres_copy(ctx: Context) -> Outcome:
    """Plain COPY FROM STDIN of ladle's normalized rows, as CSV prepared beforehand."""
    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    import ladle

    pipeline = bench_pipeline(ctx, ladle.destinations.duckdb(str(ctx.workdir / "unused.duckdb")))
    pipeline.extract(dataset.iter_events(ctx.rows, ctx.seed), table_name=dataset.ROOT_TABLE)
    (package,) = pipeline.normalize()
    schema = package.schema()
    options = pa_csv.WriteOptions(include_header=False)
    prepared: list[tuple[str, list[str], bytes, int]] = []
    for file in package.manifest.normalized:
        with pa.OSFile(str(package.file(file.path))) as source:
            table = pa.ipc.open_file(source).read_all()
        sink = io.BytesIO()
        pa_csv.write_csv(table, sink, write_options=options)
        prepared.append((file.table, table.column_names, sink.getvalue(), table.num_rows))
    with throwaway_database() as dsn, psycopg.connect(dsn) as connection:
        for name, table in schema.tables.items():
            columns = ", ".join(f'"{c.name}" {_pg_type(c)}' for c in table.columns.values())
            connection.execute(f'CREATE TABLE "{name}" ({columns})')
        connection.commit()
        counts: dict[str, int] = {}
        with Timer() as timer:
            for name, columns, body, rows in prepared:
                quoted = ", ".join(f'"{c}"' for c in columns)
                with connection.cursor().copy(
                    f'COPY "{name}" ({quoted}) FROM STDIN (FORMAT csv)'
                ) as copy:
                    copy.write(body)
                counts[name] = counts.get(name, 0) + rows
            connection.commit()
    return timer, counts


def _pg_type(column: Any) -> str:
    from ladle.destinations.postgres.client import PostgresClient

    if column.data_type == "decimal":
        return "numeric({},{})".format(*column.decimal_shape)
    return str(PostgresClient.type_names[column.data_type])


def ladle_filesystem(ctx: Context) -> Outcome:
    import ladle

    pipeline = bench_pipeline(ctx, ladle.destinations.filesystem(Path(ctx.workdir) / "lake"))
    items = dataset.iter_events(ctx.rows, ctx.seed)
    with Timer() as timer:
        info = pipeline.run(items, table_name=dataset.ROOT_TABLE)
    return timer, row_counts(info)


CASES = {
    "ladle-postgres": ladle_postgres,
    "ladle-postgres-load": ladle_postgres_load,
    "postgres-copy": postgres_copy,
    "ladle-filesystem": ladle_filesystem,
}
