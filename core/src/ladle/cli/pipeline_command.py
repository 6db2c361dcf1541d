"""`ladle pipeline <name> info | show | schema | trace | sync | drop [resources] | drop-pending`.

`--destination` (a name; credentials come from config and secrets as in code), `--dataset-name`
and `--pipelines-dir` say which pipeline is meant, with the same defaults as `ladle.pipeline`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

from ladle.destinations.duckdb import DuckDbDestination
from ladle.errors import ConfigError
from ladle.pipeline.pipeline import Pipeline, pipeline

# Actions that open the destination (the others read the working directory only).
READS_THE_DESTINATION = ("sync", "show", "schema", "drop")
ACTIONS = {
    "info": "what the working directory holds: pending packages, schemas, state",
    "show": "the dataset's tables in the destination, with row counts",
    "schema": "the schema's tables and columns",
    "trace": "the last run of this working directory: loads, rows, schema changes, timings",
    "sync": "restore state and schemas from the destination (what a fresh worker does first)",
    "drop": "drop the named resources' tables and state from the destination (full refresh)",
    "drop-pending": "delete load packages that were extracted but never loaded",
}


def add_parser(commands: Any) -> None:
    pipe = commands.add_parser(
        "pipeline",
        help="inspect or sync a pipeline",
        description="Inspect or sync a pipeline. Actions: "
        + "; ".join(f"{name}: {text}" for name, text in ACTIONS.items()),
    )
    pipe.add_argument("name", help="the pipeline name")
    pipe.add_argument("action", choices=list(ACTIONS), help="what to do")
    pipe.add_argument("resources", nargs="*", help="drop: the resources to drop")
    pipe.add_argument("--destination", default="duckdb", help="destination name (default duckdb)")
    pipe.add_argument("--dataset-name", default=None, help="default: <pipeline_name>_dataset")
    pipe.add_argument("--pipelines-dir", default=None, help="default: ~/.ladle/pipelines")
    pipe.add_argument("--json", action="store_true", help="trace: print the LoadInfo as JSON")
    pipe.add_argument(
        "--schema", default=None, help="drop: the source's schema (default: the main one)"
    )
    pipe.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    target = pipeline(
        args.name,
        destination=args.destination,
        dataset_name=args.dataset_name,
        pipelines_dir=args.pipelines_dir,
        progress=False,
    )
    if args.action in READS_THE_DESTINATION:
        _needs_database_file(target)
    if args.action == "sync":
        target.sync_destination()
        print(f"synced {target.pipeline_name} from {target.destination.name}")
        print(describe(target))
    elif args.action == "info":
        print(describe(target))
    elif args.action == "show":
        print(show(target))
    elif args.action == "schema":
        _needs_schema(target)
        print(target.schema.to_pretty())
    elif args.action == "trace":
        print(trace(target, as_json=args.json))
    elif args.action == "drop":
        dropped = target.drop(*args.resources, schema_name=args.schema)
        print(f"dropped {', '.join(args.resources)}: tables {', '.join(dropped)}")
    else:
        print(f"dropped {target.drop_pending_packages()} pending package(s)")
    return 0


def describe(target: Pipeline) -> str:
    """The working directory in a few lines: pending packages, schemas, state scopes."""
    lines = [repr(target)]
    pending = target.packages.pending()
    lines.append(f"pending packages: {len(pending)}")
    lines.extend(
        f"  {p.load_id} ({p.manifest.stage}, {sum(f.rows for f in p.manifest.extracted)} rows)"
        for p in pending
    )
    for name in target.schema_names():
        schema = target.schema_named(name)
        lines.append(
            f"schema {name}: version {schema.version}, tables "
            f"{', '.join(t.name for t in schema.data_tables()) or '-'}"
        )
    for scope, value in sorted(target.state.items()):
        lines.append(f"state {scope}: {orjson.dumps(value, default=str).decode()}")
    return "\n".join(lines)


def show(target: Pipeline) -> str:
    """Each data table of the pipeline's schemas with its row count in the destination."""
    if not target.schema_names():
        target.sync_destination()
    _needs_schema(target)
    lines = [f"{target.pipeline_name} -> {target.destination.name} dataset {target.dataset_name}"]
    with target.sql_client() as client:
        for name in target.schema_names():
            # The destination's schema: the local one may list tables not loaded yet.
            stored = client.stored_schema(name)
            for table in stored.data_tables() if stored is not None else ():
                if not table.columns:
                    continue
                found = client.query(f'SELECT count(*) AS n FROM "{table.name}"').to_pylist()
                lines.append(
                    f"  {table.name}: {found[0]['n']:,} rows, {len(table.columns)} columns"
                )
    return "\n".join(lines)


def trace(target: Pipeline, as_json: bool = False) -> str:
    info = target.last_run()
    if info is None:
        raise ConfigError(
            f"pipeline {target.pipeline_name} has no run in {target.working_dir}", key="name"
        )
    if as_json:
        return orjson.dumps(info.asdict(), option=orjson.OPT_INDENT_2).decode()
    timings = ", ".join(f"{stage} {seconds:.2f}s" for stage, seconds in info.timings.items())
    return f"{info}\n  timings: {timings or '-'}"


def _needs_database_file(target: Pipeline) -> None:
    """A mistyped name must not leave an empty `<name>.duckdb` behind."""
    destination = target.destination
    if not isinstance(destination, DuckDbDestination) or not isinstance(
        destination.target, (str, type(None))
    ):
        return
    path = Path(destination.database_path(target.pipeline_name))
    if str(path) != ":memory:" and not path.is_file():
        raise ConfigError(
            f"pipeline {target.pipeline_name}: there is no DuckDB file {path}; check the name, "
            "or run the command where the pipeline runs",
            key="name",
        )


def _needs_schema(target: Pipeline) -> None:
    if not target.schema_names():
        target.sync_destination()
    if not target.schema_names():
        raise ConfigError(
            f"pipeline {target.pipeline_name} has loaded nothing into "
            f"{target.destination.name} dataset {target.dataset_name}",
            key="name",
        )
