"""Write a runnable project for an OpenAPI spec: a source module, a pipeline script, config and
secrets templates, and a README that lists the resources and what was skipped."""

from __future__ import annotations

import json
import pprint
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ladle.errors import ConfigError
from ladle.schema.naming import normalize_identifier
from ladle.sources.rest_api.openapi.endpoints import ResourcePlan, Skipped, plan_resources
from ladle.sources.rest_api.openapi.security import AuthPlan, plan_auth
from ladle.sources.rest_api.openapi.spec import Spec, load_spec


@dataclass(frozen=True)
class GeneratedProject:
    name: str
    directory: Path
    files: tuple[Path, ...]
    resources: tuple[ResourcePlan, ...]
    skipped: tuple[Skipped, ...]
    auth: AuthPlan


def generate_project(
    spec_location: str, name: str, directory: Path, destination: str = "duckdb", force: bool = False
) -> GeneratedProject:
    """Read the spec, plan its resources and write the project into `directory`."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name != normalize_identifier(name):
        raise ConfigError(
            f"project name {name!r} must be a snake_case Python identifier, e.g. "
            f"{normalize_identifier(name)!r}",
            key="name",
        )
    spec = Spec(load_spec(spec_location))
    resources, skipped = plan_resources(spec)
    if not resources:
        raise ConfigError(
            f"{spec_location}: no GET endpoint returns a list of records; nothing to load "
            f"({len(skipped)} endpoints skipped)",
            key="openapi",
        )
    auth = plan_auth(spec, name)
    headers = sorted({h for plan in resources for h in plan.headers})
    texts = {
        f"{name}_source.py": _source_module(spec, spec_location, name, resources, auth, headers),
        f"{name}_pipeline.py": _pipeline_script(name, destination),
        ".ladle/config.toml": _config_toml(spec, name, auth, headers),
        ".ladle/secrets.toml": _secrets_toml(name, auth),
        "README.md": _readme(spec, spec_location, name, resources, skipped, auth, headers),
        ".gitignore": ".ladle/secrets.toml\n*.duckdb\n",
    }
    existing = [path for path in texts if (directory / path).exists()]
    if existing and not force:
        raise ConfigError(
            f"{directory} already has {', '.join(existing)}: pass --force to overwrite",
            key="directory",
        )
    written = []
    for relative, text in texts.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return GeneratedProject(name, directory, tuple(written), tuple(resources), tuple(skipped), auth)


def _title(spec: Spec) -> str:
    info = spec.document.get("info") or {}
    return str(info.get("title") or "API")


def _base_url(spec: Spec) -> str | None:
    url = spec.base_url()
    return url if url and url.startswith(("http://", "https://")) and "{" not in url else None


def header_key(header: str) -> str:
    return normalize_identifier(header)


def resource_config(plan: ResourcePlan) -> dict[str, Any]:
    params: dict[str, Any] = {
        param: {"type": "resolve", "resource": plan.parent, "field": field}
        for param, field in plan.resolve
    }
    params.update(plan.params)
    endpoint: dict[str, Any] = {"path": plan.path, "data_selector": plan.data_selector}
    endpoint["paginator"] = plan.paginator
    if params:
        endpoint["params"] = params
    if plan.parent:
        # A parent record deleted between the two requests answers 404: not an error.
        endpoint["response_actions"] = [{"status_code": 404, "action": "ignore"}]
    config: dict[str, Any] = {"name": plan.name, "endpoint": endpoint}
    if plan.primary_key:
        config.update(primary_key=plan.primary_key, write_disposition="merge")
    else:
        config["write_disposition"] = "replace"
    if plan.columns:
        config["columns"] = plan.columns
    if not plan.selected:
        config["selected"] = False
    return config


def _source_module(
    spec: Spec,
    location: str,
    name: str,
    resources: list[ResourcePlan],
    auth: AuthPlan,
    headers: list[str],
) -> str:
    base = _base_url(spec)
    key = f"sources.{name}.base_url"
    base_code = f'ladle.config.get("{key}", BASE_URL)' if base else f'ladle.config["{key}"]'
    client_lines = [f'            "base_url": {base_code},']
    if auth.code:
        client_lines.append(f'            "auth": {auth.code},')
    if headers:
        inner = ", ".join(
            f'{json.dumps(h)}: ladle.config["sources.{name}.{header_key(h)}"]' for h in headers
        )
        client_lines.append(f'            "headers": {{{inner}}},')
    body = pprint.pformat([resource_config(p) for p in resources], width=96, sort_dicts=False)
    summary = json.dumps(f"{_title(spec)}: generated from {Path(location).name}")[1:-1]
    return f'''"""{summary} by `ladle init --openapi`.

{len(resources)} resources; README.md lists them and the endpoints that were skipped, and why.
Change RESOURCES freely: it is a `rest_api_source` config (see ladle.sources.rest_api).
"""

import ladle
from ladle.sources.rest_api import rest_api_resources

BASE_URL = {json.dumps(base)}  # from the spec's servers; `{key}` in config overrides it

RESOURCES = {body}


@ladle.source(name="{name}")
def {name}_source():
    """Every resource below; pick some with `.with_resources("a", "b")`."""
    config = {{
        "client": {{
{chr(10).join(client_lines)}
        }},
        "resources": RESOURCES,
    }}
    return rest_api_resources(config)
'''


def _pipeline_script(name: str, destination: str) -> str:
    return f'''"""Load the {name} API: `python {name}_pipeline.py [resource ...]` (default: all)."""

import sys

import ladle
from {name}_source import {name}_source


def main(resources: list[str]) -> None:
    source = {name}_source()
    if resources:
        source = source.with_resources(*resources)
    pipeline = ladle.pipeline("{name}", destination="{destination}", dataset_name="{name}_data")
    print(pipeline.run(source))


if __name__ == "__main__":
    main(sys.argv[1:])
'''


def _config_toml(spec: Spec, name: str, auth: AuthPlan, headers: list[str]) -> str:
    base = _base_url(spec) or spec.base_url() or "https://<host>/<base path>"
    lines = [f"[sources.{name}]", f"base_url = {json.dumps(base)}"]
    lines.extend(f'{header_key(h)} = "<{h}>"  # sent as the {h} header' for h in headers)
    lines.extend(f"{key} = {json.dumps(value)}" for key, value in auth.config.items())
    return "\n".join(lines) + "\n"


def _secrets_toml(name: str, auth: AuthPlan) -> str:
    lines = ["# Fill in and keep out of version control (.gitignore lists this file).", ""]
    lines.append(f"[sources.{name}]")
    lines.extend(f"{key} = {json.dumps(value)}" for key, value in auth.secrets.items())
    return "\n".join(lines) + "\n"


def _readme(
    spec: Spec,
    location: str,
    name: str,
    resources: list[ResourcePlan],
    skipped: list[Skipped],
    auth: AuthPlan,
    headers: list[str],
) -> str:
    costly = " (a request per record: not selected by default)"
    rows = "\n".join(
        f"| `{p.name}` | `{p.path}` | {_paginator_text(p.paginator)} | "
        f"{p.primary_key or '-'} | {p.parent or '-'}{'' if p.selected else costly} |"
        for p in resources
    )
    skips = "\n".join(f"- `{s.method} {s.path}`: {s.reason}" for s in skipped) or "- none"
    header_text = (
        f"\nEvery request sends the header(s) {', '.join(headers)}: set them in "
        ".ladle/config.toml.\n"
        if headers
        else ""
    )
    return f"""# {name}: {_title(spec)}

Generated by `ladle init --openapi {Path(location).name} --name {name}`.

```
python {name}_pipeline.py              # every resource
python {name}_pipeline.py {resources[0].name:<14} # some
```

Settings: `.ladle/config.toml` (base_url) and `.ladle/secrets.toml`, or environment variables
such as `SOURCES__{name.upper()}__BASE_URL`.

Auth: {auth.note}
{header_text}
## Resources ({len(resources)})

| resource | path | pagination | primary key | parent |
|---|---|---|---|---|
{rows}

## Skipped endpoints ({len(skipped)})

{skips}
"""


def _paginator_text(paginator: Any) -> str:
    return paginator if isinstance(paginator, str) else str(paginator.get("type"))


def generate_from(spec_location: str, name: str | None, directory: Path, **options: Any) -> Any:
    """`generate_project` with the name derived from the spec's title when not given."""
    if name is None:
        spec = Spec(load_spec(spec_location))
        name = normalize_identifier(_title(spec))[:40].strip("_") or "api"
    return generate_project(spec_location, name, directory, **options)
