"""The `ladle` command line.

    ladle --version
    ladle init rest_api duckdb                      a rest_api_source project to fill in
    ladle init generic duckdb                       a @ladle.source project to fill in
    ladle init --openapi spec.yaml --name pokeapi   a runnable project from an OpenAPI spec
    ladle pipeline <name> info                      what the working directory holds
    ladle pipeline <name> show                      tables in the destination, with row counts
    ladle pipeline <name> schema                    the schema's tables and columns
    ladle pipeline <name> trace                     the last run: loads, rows, schema changes
    ladle pipeline <name> sync                      restore state and schemas from the destination
    ladle pipeline <name> drop <resource> ...       drop their tables and state (full refresh)
    ladle pipeline <name> drop-pending              delete packages that were never loaded

Exit codes: 0 done, 1 a ladle error (message on stderr, starting with `error:`), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ladle.cli import init_command, pipeline_command
from ladle.errors import LadleError
from ladle.version import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 on --help/--version
        return int(exc.code or 0)
    try:
        code: int = args.run(args)
    except LadleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ladle",
        description="Make and manage ladle pipelines.",
        epilog="exit codes: 0 done, 1 error (message on stderr), 2 bad usage",
    )
    parser.add_argument("--version", action="version", version=f"ladle {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    init_command.add_parser(commands)
    pipeline_command.add_parser(commands)
    return parser


__all__ = ["main"]
