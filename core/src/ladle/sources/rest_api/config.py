"""The `rest_api_source` config, read into frozen specs. Every mistake is a `ConfigError` that
names the resource and the key at fault.

    {"client": {"base_url": ..., "auth": ..., "headers": ..., "paginator": "auto",
                "data_selector": None, "timeout": 30, "retry": {...}},
     "resource_defaults": {... any resource key, endpoint keys merged ...},
     "resources": ["customers", {"name": "orders", "endpoint": {...}, "primary_key": "id"}]}

An endpoint is a path or `{"path", "method", "params", "json", "headers", "paginator",
"data_selector", "response_actions", "incremental"}`. A param is a value, or
`{"type": "resolve", "resource": "orders", "field": "id"}` (one request per parent record; into
the path as `{order_id}` or into the query), or `{"type": "incremental", "cursor_path": ...,
"initial_value": ...}` (sends the cursor's start value).
"""

from __future__ import annotations

import copy
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ladle.errors import ConfigError
from ladle.extract.incremental import Incremental

CONFIG_KEYS = {"client", "resource_defaults", "resources"}
CLIENT_KEYS = {"base_url", "auth", "headers", "paginator", "data_selector", "timeout", "retry"}
RESOURCE_KEYS = {
    "name",
    "endpoint",
    "table_name",
    "primary_key",
    "merge_key",
    "write_disposition",
    "columns",
    "max_table_nesting",
    "schema_contract",
    "selected",
    "parallelized",
    "include_from_parent",
}
ENDPOINT_KEYS = {
    "path",
    "method",
    "params",
    "json",
    "headers",
    "paginator",
    "data_selector",
    "response_actions",
    "incremental",
}
INCREMENTAL_KEYS = {
    "cursor_path",
    "initial_value",
    "end_value",
    "row_order",
    "lag",
    "on_cursor_value_missing",
    "primary_key",
}


@dataclass(frozen=True)
class ResolvedParam:
    """A param filled from each record of the parent resource."""

    name: str
    resource: str
    field: str
    in_path: bool


@dataclass(frozen=True)
class IncrementalSpec:
    """The cursor of an endpoint: `start_param` gets its start, `end_param` its end."""

    settings: Mapping[str, Any]
    start_param: str | None = None
    end_param: str | None = None

    def cursor(self) -> Incremental:
        return Incremental(**self.settings)


@dataclass(frozen=True)
class EndpointSpec:
    path: str
    method: str = "GET"
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, Any] = field(default_factory=dict)
    paginator: Any = "auto"
    data_selector: str | None = None
    response_actions: Any = None
    resolved: tuple[ResolvedParam, ...] = ()
    incremental: IncrementalSpec | None = None

    @property
    def parent(self) -> str | None:
        return self.resolved[0].resource if self.resolved else None


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    endpoint: EndpointSpec
    hints: Mapping[str, Any] = field(default_factory=dict)
    include_from_parent: tuple[str, ...] = ()


def parse_config(config: Any) -> tuple[Mapping[str, Any], list[ResourceSpec]]:
    """The client settings and one spec per resource, parents before their children."""
    if not isinstance(config, Mapping):
        raise ConfigError("rest_api config must be a dict", key="config")
    _no_unknown(config, CONFIG_KEYS, "rest_api config", "")
    client = config.get("client")
    if not isinstance(client, Mapping) or "base_url" not in client:
        raise ConfigError("rest_api config: client.base_url is required", key="client.base_url")
    _no_unknown(client, CLIENT_KEYS, "rest_api client", "client.")
    defaults = config.get("resource_defaults") or {}
    if not isinstance(defaults, Mapping):
        raise ConfigError("resource_defaults must be a dict", key="resource_defaults")
    _no_unknown(defaults, RESOURCE_KEYS - {"name"}, "resource_defaults", "resource_defaults.")
    entries = config.get("resources")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("rest_api config: resources must be a non-empty list", key="resources")
    specs = [_resource_spec(entry, defaults, index) for index, entry in enumerate(entries)]
    return client, _ordered(specs)


def _resource_spec(entry: Any, defaults: Mapping[str, Any], index: int) -> ResourceSpec:
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
        raise ConfigError(
            f"resources[{index}] must be a name or a dict with a 'name'", key=f"resources[{index}]"
        )
    name = entry["name"]
    owner = f"resource '{name}'"
    _no_unknown(entry, RESOURCE_KEYS, owner, "", resource=name)
    merged = _merge(defaults, entry)
    endpoint = merged.get("endpoint") or name
    if isinstance(endpoint, str):
        endpoint = {"path": endpoint}
    if "path" not in endpoint:
        endpoint = {**endpoint, "path": name}
    include = merged.get("include_from_parent") or ()
    hints = {
        k: v for k, v in merged.items() if k not in ("name", "endpoint", "include_from_parent")
    }
    return ResourceSpec(name, _endpoint_spec(endpoint, name), hints, tuple(include))


def _endpoint_spec(endpoint: Any, resource: str) -> EndpointSpec:
    owner = f"resource '{resource}'"
    if not isinstance(endpoint, Mapping):
        raise ConfigError(f"{owner}: endpoint must be a path or a dict", key="endpoint")
    _no_unknown(endpoint, ENDPOINT_KEYS, owner, "endpoint.", resource=resource)
    path = endpoint["path"]
    if not isinstance(path, str):
        raise ConfigError(f"{owner}: endpoint.path must be text", key="endpoint.path")
    placeholders = _placeholders(path, owner)
    params: dict[str, Any] = {}
    resolved: list[ResolvedParam] = []
    incremental = _top_incremental(endpoint.get("incremental"), owner)
    for param, value in (endpoint.get("params") or {}).items():
        kind = value.get("type") if isinstance(value, Mapping) else None
        if kind == "resolve":
            resolved.append(_resolved(param, value, param in placeholders, owner))
        elif kind == "incremental":
            if incremental is not None:
                raise ConfigError(
                    f"{owner}: only one incremental cursor per endpoint", key=f"params.{param}"
                )
            settings = {k: v for k, v in value.items() if k != "type"}
            incremental = IncrementalSpec(_cursor_settings(settings, owner), start_param=param)
        else:
            params[param] = value
    missing = placeholders - {r.name for r in resolved}
    if missing:
        raise ConfigError(
            f"{owner}: endpoint.path {path!r} has placeholders {sorted(missing)} that no "
            "'resolve' param fills",
            key="endpoint.path",
            resource=resource,
        )
    if len({r.resource for r in resolved}) > 1:
        raise ConfigError(
            f"{owner}: resolve params must all come from one parent resource",
            key="endpoint.params",
            resource=resource,
        )
    return EndpointSpec(
        path=path,
        method=str(endpoint.get("method", "GET")).upper(),
        params=params,
        json=endpoint.get("json"),
        headers=dict(endpoint.get("headers") or {}),
        paginator=endpoint.get("paginator", "auto"),
        data_selector=endpoint.get("data_selector"),
        response_actions=endpoint.get("response_actions"),
        resolved=tuple(resolved),
        incremental=incremental,
    )


def _resolved(param: str, value: Mapping[str, Any], in_path: bool, owner: str) -> ResolvedParam:
    if not isinstance(value.get("resource"), str) or not isinstance(value.get("field"), str):
        raise ConfigError(
            f"{owner}: resolve param {param!r} needs 'resource' and 'field'",
            key=f"endpoint.params.{param}",
        )
    return ResolvedParam(param, value["resource"], value["field"], in_path)


def _top_incremental(value: Any, owner: str) -> IncrementalSpec | None:
    """`"incremental": {"start_param": "since", "end_param": "until", "cursor_path": ...}`."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(f"{owner}: endpoint.incremental must be a dict", key="incremental")
    settings = {k: v for k, v in value.items() if k not in ("start_param", "end_param")}
    return IncrementalSpec(
        _cursor_settings(settings, owner), value.get("start_param"), value.get("end_param")
    )


def _cursor_settings(settings: Mapping[str, Any], owner: str) -> Mapping[str, Any]:
    _no_unknown(settings, INCREMENTAL_KEYS, owner, "incremental.")
    if "cursor_path" not in settings:
        raise ConfigError(
            f"{owner}: an incremental param needs a cursor_path", key="incremental.cursor_path"
        )
    Incremental(**settings)  # validates now, not at the first run
    return dict(settings)


def _placeholders(path: str, owner: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(path) if name}
    except ValueError as exc:
        raise ConfigError(
            f"{owner}: bad endpoint.path {path!r}: {exc}", key="endpoint.path"
        ) from None


def _ordered(specs: list[ResourceSpec]) -> list[ResourceSpec]:
    """Parents before children; unknown parents and cycles are errors."""
    by_name: dict[str, ResourceSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            raise ConfigError(f"two resources are named '{spec.name}'", key="resources")
        by_name[spec.name] = spec
    ordered: list[ResourceSpec] = []
    visiting: set[str] = set()

    def visit(spec: ResourceSpec) -> None:
        if spec in ordered:
            return
        if spec.name in visiting:
            raise ConfigError(
                f"resource '{spec.name}': its resolve params form a cycle",
                key="endpoint.params",
                resource=spec.name,
            )
        visiting.add(spec.name)
        parent = spec.endpoint.parent
        if parent is not None:
            if parent not in by_name:
                raise ConfigError(
                    f"resource '{spec.name}': resolve param refers to unknown resource "
                    f"'{parent}'; resources are {sorted(by_name)}",
                    key="endpoint.params",
                    resource=spec.name,
                )
            visit(by_name[parent])
        visiting.discard(spec.name)
        ordered.append(spec)

    for spec in specs:
        visit(spec)
    return ordered


def _merge(defaults: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry over the defaults; the endpoint dicts (and their params) merge key by key."""
    merged = copy.deepcopy(dict(defaults))
    for key, value in entry.items():
        if key == "endpoint" and isinstance(merged.get("endpoint"), Mapping):
            endpoint: dict[str, Any] = {"path": value} if isinstance(value, str) else dict(value)
            base = dict(merged["endpoint"])
            params = {**(base.get("params") or {}), **(endpoint.get("params") or {})}
            merged[key] = {**base, **endpoint, "params": params}
        else:
            merged[key] = value
    return merged


def _no_unknown(
    given: Mapping[str, Any], known: set[str], owner: str, prefix: str, resource: str | None = None
) -> None:
    unknown = sorted(set(given) - known)
    if unknown:
        details = {"resource": resource} if resource else {}
        raise ConfigError(
            f"{owner}: unknown key {prefix}{unknown[0]} (known: {sorted(known)})",
            key=f"{prefix}{unknown[0]}",
            **details,
        )
