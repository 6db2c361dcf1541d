"""The `ladle` command line.

    ladle pipeline <name> sync           restore state and schemas from the destination
    ladle pipeline <name> info           what the working directory holds
    ladle pipeline <name> drop-pending   delete packages that were never loaded

`--destination` (a name; credentials come from config and secrets as in code), `--dataset-name`
and `--pipelines-dir` say which pipeline is meant, with the same defaults as `ladle.pipeline`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import orjson

from ladle.errors import LadleError
from ladle.pipeline.pipeline import Pipeline, pipeline


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        target = pipeline(
            args.name,
            destination=args.destination,
            dataset_name=args.dataset_name,
            pipelines_dir=args.pipelines_dir,
            progress=False,
        )
        if args.action == "sync":
            target.sync_destination()
            print(f"synced {target.pipeline_name} from {target.destination.name}")
            print(describe(target))
        elif args.action == "info":
            print(describe(target))
        else:
            print(f"dropped {target.drop_pending_packages()} pending package(s)")
    except LadleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ladle", description="Manage ladle pipelines.")
    commands = parser.add_subparsers(dest="command", required=True)
    pipe = commands.add_parser("pipeline", help="sync or inspect a pipeline's working directory")
    pipe.add_argument("name", help="the pipeline name")
    pipe.add_argument("action", choices=["sync", "info", "drop-pending"])
    pipe.add_argument("--destination", default="duckdb", help="destination name (default duckdb)")
    pipe.add_argument("--dataset-name", default=None, help="default: <pipeline_name>_dataset")
    pipe.add_argument("--pipelines-dir", default=None, help="default: ~/.ladle/pipelines")
    return parser


if __name__ == "__main__":
    sys.exit(main())
