"""The benchmark cases that run in the workspace venv, one per child process.

`python benchmarks/cases.py CASE --rows N --seed S --data DIR --workdir DIR --result FILE`
runs one case and writes its seconds and loaded row counts to FILE as JSON. The timer runs from
the first generated (or read) row to the committed load; imports and setup are untimed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import child
import dataset
import destination_cases
import duckdb
import merge_cases
import prepare
from child import Outcome, Timer


@dataclass(frozen=True)
class Context:
    rows: int
    seed: int
    data: Path  # the prepared NDJSON / Arrow files
    workdir: Path  # fresh and empty, for this case's database and state
    flat: bool  # Arrow cases use the flat (root-only) Arrow tables


def _python_generate(ctx: Context) -> Outcome:
    with Timer() as timer:
        rows = sum(1 for _ in dataset.iter_events(ctx.rows, ctx.seed))
    return timer, {dataset.ROOT_TABLE: rows}


def _arrow_generate(ctx: Context) -> Outcome:
    with Timer() as timer:
        tables = dataset.iter_arrow_batches(ctx.rows, ctx.seed, prepare.BATCH_ROWS, ctx.flat)
        rows = sum(table.num_rows for table in tables)
    return timer, {dataset.ROOT_TABLE: rows}


def _ladle(ctx: Context, data: Callable[[], Iterable[Any]]) -> Outcome:
    import ladle

    pipeline = ladle.pipeline(
        pipeline_name="bench",
        destination=ladle.destinations.duckdb(str(ctx.workdir / "db.duckdb")),
        dataset_name="bench",
        pipelines_dir=str(ctx.workdir / "pipelines"),
        progress=False,
    )
    items = data()
    with Timer() as timer:
        info = pipeline.run(items, table_name=dataset.ROOT_TABLE)
    return timer, {str(table): int(n) for table, n in info.row_counts.items()}


def _ladle_dicts(ctx: Context) -> Outcome:
    return _ladle(ctx, lambda: dataset.iter_events(ctx.rows, ctx.seed))


def _ladle_dicts_incremental(ctx: Context) -> Outcome:
    """The dict path with a cursor on `created_at` that every row passes: its cost per row."""
    import ladle

    def events(created_at: Any = ladle.incremental("created_at")) -> Iterable[Any]:
        yield from dataset.iter_events(ctx.rows, ctx.seed)

    return _ladle(ctx, lambda: ladle.resource(events, name=dataset.ROOT_TABLE))


def _ladle_arrow(ctx: Context) -> Outcome:
    return _ladle(ctx, lambda: prepare.iter_arrow_tables(prepare.arrow_path(ctx.data, ctx.flat)))


def _count_tables(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> dict[str, int]:
    return {t: int(con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]) for t in tables}


def _read_json_sql(con: duckdb.DuckDBPyConnection, ndjson: Path) -> list[str]:
    """DuckDB's own NDJSON load: read into a temp table, then flatten and UNNEST from it."""
    schema = dataset.arrow_schema()
    types = con.from_arrow(schema.empty_table()).types
    columns = ", ".join(f"'{name}': '{t}'" for name, t in zip(schema.names, types, strict=True))
    path = str(ndjson).replace("'", "''")
    root = ", ".join(
        ".".join(f'"{part}"' for part in name.split("__")) + f' AS "{name}"'
        for name in dataset.arrow_schema(flat=True).names
    )
    return [
        "CREATE TEMP TABLE raw AS SELECT * FROM "
        f"read_json('{path}', format = 'newline_delimited', columns = {{{columns}}})",
        f'CREATE TABLE "{dataset.ROOT_TABLE}" AS SELECT {root} FROM raw',
        f'CREATE TABLE "{dataset.COMMITS_TABLE}" AS SELECT _parent_id, _idx, c.sha, c.message,'
        ' c."distinct", c.author.name AS author__name, c.author.email AS author__email FROM'
        " (SELECT id AS _parent_id, UNNEST(payload.commits) AS c,"
        " generate_subscripts(payload.commits, 1) AS _idx FROM raw)",
        f'CREATE TABLE "{dataset.LABELS_TABLE}" AS SELECT id AS _parent_id,'
        " generate_subscripts(labels, 1) AS _idx, UNNEST(labels) AS value FROM raw",
        "DROP TABLE raw",
    ]


def _duckdb_read_json(ctx: Context) -> Outcome:
    db = str(ctx.workdir / "db.duckdb")
    con = duckdb.connect(db)
    statements = _read_json_sql(con, ctx.data / "events.ndjson")
    with Timer() as timer:
        con.execute("BEGIN")
        for statement in statements:
            con.execute(statement)
        con.execute("COMMIT")
        con.close()
    tables = (dataset.ROOT_TABLE, dataset.COMMITS_TABLE, dataset.LABELS_TABLE)
    with duckdb.connect(db, read_only=True) as check:
        return timer, _count_tables(check, tables)


def _duckdb_arrow_insert(ctx: Context) -> Outcome:
    db = str(ctx.workdir / "db.duckdb")
    con = duckdb.connect(db)
    table = dataset.ROOT_TABLE
    batches = prepare.iter_arrow_tables(prepare.arrow_path(ctx.data, ctx.flat))
    with Timer() as timer:
        con.execute("BEGIN")
        for i, batch in enumerate(batches):
            con.register("batch", batch)
            verb = f'CREATE TABLE "{table}" AS' if i == 0 else f'INSERT INTO "{table}"'
            con.execute(f"{verb} SELECT * FROM batch")
            con.unregister("batch")
        con.execute("COMMIT")
        con.close()
    with duckdb.connect(db, read_only=True) as check:
        return timer, _count_tables(check, [table])


CASES: dict[str, Callable[[Context], Outcome]] = {
    "python-generate": _python_generate,
    "python-arrow-generate": _arrow_generate,
    "duckdb-read_json": _duckdb_read_json,
    "duckdb-arrow-insert": _duckdb_arrow_insert,
    "ladle-dicts": _ladle_dicts,
    "ladle-dicts-incremental": _ladle_dicts_incremental,
    "ladle-arrow": _ladle_arrow,
    **destination_cases.CASES,
    **merge_cases.CASES,
}


def _run(args: argparse.Namespace) -> Outcome:
    ctx = Context(args.rows, args.seed, args.data, args.workdir, args.flat)
    return CASES[args.case](ctx)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--flat", action="store_true")
    sys.exit(child.main(parser, _run))
