"""`ladle init`: start a project.

ladle init rest_api duckdb                       a rest_api_source project to fill in
ladle init generic postgres                      a @ladle.source project to fill in
ladle init --openapi spec.yaml --name pokeapi    a runnable project from an OpenAPI spec
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ladle.errors import ConfigError
from ladle.schema.naming import normalize_identifier

TEMPLATES = ("rest_api", "generic")
DESTINATIONS = ("duckdb", "postgres", "filesystem")


def add_parser(commands: Any) -> None:
    init = commands.add_parser(
        "init",
        help="start a project: from a template or an OpenAPI spec",
        description="Write a project into --dir (default: the current directory). "
        "`ladle init rest_api duckdb` and `ladle init generic duckdb` write a template to fill "
        "in; `ladle init --openapi SPEC --name NAME` writes a runnable rest_api_source project "
        "for the spec's list endpoints.",
    )
    init.add_argument(
        "source",
        nargs="?",
        help=f"template ({', '.join(TEMPLATES)}); with --openapi, the project name",
    )
    init.add_argument(
        "destination", nargs="?", default="duckdb", help=f"one of {', '.join(DESTINATIONS)}"
    )
    init.add_argument("--openapi", metavar="SPEC", help="path or URL of an OpenAPI spec")
    init.add_argument("--name", help="project name (snake_case; default: from the spec's title)")
    init.add_argument("--dir", default=".", help="where to write the project (default: .)")
    init.add_argument("--force", action="store_true", help="overwrite existing files")
    init.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.destination not in DESTINATIONS:
        raise ConfigError(
            f"unknown destination {args.destination!r}: use one of {', '.join(DESTINATIONS)}",
            key="destination",
        )
    directory = Path(args.dir)
    if args.openapi:
        return _from_openapi(args, directory)
    if args.source not in TEMPLATES:
        raise ConfigError(
            f"unknown template {args.source!r}: use one of {', '.join(TEMPLATES)}, or "
            "--openapi SPEC",
            key="source",
        )
    name = normalize_identifier(args.name or args.source)
    files = _template_files(args.source, name, args.destination)
    _write(directory, files, args.force)
    print(f"wrote {', '.join(files)} into {directory}")
    print(f"next: edit {name}_pipeline.py, then `python {name}_pipeline.py`")
    return 0


def _from_openapi(args: argparse.Namespace, directory: Path) -> int:
    from ladle.sources.rest_api.openapi import generate_from

    name = args.name or (args.source if args.source not in TEMPLATES else None)
    project = generate_from(
        args.openapi, name, directory, destination=args.destination, force=args.force
    )
    print(f"wrote {len(project.files)} files into {directory}:")
    for path in project.files:
        print(f"  {path.relative_to(directory)}")
    names = [p.name for p in project.resources]
    more = f", ... ({len(names) - 8} more)" if len(names) > 8 else ""
    print(f"{len(names)} resources: {', '.join(names[:8])}{more}")
    print(f"{len(project.skipped)} endpoints skipped (README.md says which and why)")
    print(f"auth: {project.auth.note}")
    fill = "fill in .ladle/secrets.toml, then " if project.auth.secrets else ""
    print(f"next: {fill}`python {project.name}_pipeline.py [resource ...]`")
    return 0


def _write(directory: Path, files: dict[str, str], force: bool) -> None:
    existing = [name for name in files if (directory / name).exists()]
    if existing and not force:
        raise ConfigError(
            f"{directory} already has {', '.join(existing)}: pass --force to overwrite",
            key="dir",
        )
    for relative, text in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _template_files(template: str, name: str, destination: str) -> dict[str, str]:
    body = REST_API_TEMPLATE if template == "rest_api" else GENERIC_TEMPLATE
    secrets = "# Fill in and keep out of version control.\n\n"
    secrets += (
        f'[sources.{name}]\napi_token = "<your API token>"\n' if template == "rest_api" else ""
    )
    return {
        f"{name}_pipeline.py": body.replace("NAME", name).replace("DESTINATION", destination),
        ".ladle/config.toml": f'[sources.{name}]\nbase_url = "https://api.example.com/v1/"\n',
        ".ladle/secrets.toml": secrets,
        ".gitignore": ".ladle/secrets.toml\n*.duckdb\n",
    }


REST_API_TEMPLATE = '''"""A REST API into DESTINATION; run it with `python NAME_pipeline.py`."""

import ladle
from ladle.sources.rest_api import rest_api_resources


@ladle.source(name="NAME")
def NAME_source():
    return rest_api_resources(
        {
            "client": {
                "base_url": ladle.config["sources.NAME.base_url"],
                "auth": {"type": "bearer", "token": ladle.secrets["sources.NAME.api_token"]},
                "paginator": "auto",
            },
            "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
            "resources": [
                "customers",
                {
                    "name": "orders",
                    "endpoint": {
                        "path": "orders",
                        "params": {
                            "updated_since": {
                                "type": "incremental",
                                "cursor_path": "updated_at",
                                "initial_value": "2024-01-01T00:00:00Z",
                            }
                        },
                    },
                },
            ],
        }
    )


if __name__ == "__main__":
    pipeline = ladle.pipeline("NAME", destination="DESTINATION", dataset_name="NAME_data")
    print(pipeline.run(NAME_source()))
'''

GENERIC_TEMPLATE = '''"""Python data into DESTINATION; run it with `python NAME_pipeline.py`."""

import ladle


@ladle.source(name="NAME")
def NAME_source():
    @ladle.resource(primary_key="id", write_disposition="merge")
    def items(updated_at=ladle.incremental("updated_at", initial_value="2024-01-01T00:00:00Z")):
        # Replace with your data: yield dicts, lists of dicts, Arrow tables or DataFrames.
        yield [{"id": 1, "name": "first", "updated_at": "2024-05-01T00:00:00Z"}]

    return items


if __name__ == "__main__":
    pipeline = ladle.pipeline("NAME", destination="DESTINATION", dataset_name="NAME_data")
    print(pipeline.run(NAME_source()))
'''
