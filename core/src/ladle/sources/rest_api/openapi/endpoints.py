"""From an OpenAPI document to resource plans: which GET endpoints list records, where the
records are, how they paginate, their primary key and column types, and their parents.

Every operation that does not become a resource is kept as `Skipped`, with the reason."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ladle.schema.naming import normalize_identifier
from ladle.sources.rest_api.detection import CURSOR_PATHS, ENVELOPE_KEYS, NEXT_URL_PATHS
from ladle.sources.rest_api.openapi.spec import Spec

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PLACEHOLDER = re.compile(r"\{([^}]+)\}")
_NUMERIC = {"integer": "bigint", "number": "double", "boolean": "bool"}
_STRING_FORMATS = {"date-time": "timestamp", "date": "date"}


@dataclass(frozen=True)
class ResourcePlan:
    name: str
    path: str
    data_selector: str
    paginator: Any
    primary_key: str | None = None
    columns: dict[str, dict[str, str]] = field(default_factory=dict)
    parent: str | None = None
    resolve: tuple[tuple[str, str], ...] = ()  # (path param, field of the parent's records)
    params: dict[str, Any] = field(default_factory=dict)
    headers: tuple[str, ...] = ()  # required header params (values come from config)
    summary: str = ""
    item_properties: frozenset[str] = frozenset()
    selected: bool = True


@dataclass(frozen=True)
class Skipped:
    method: str
    path: str
    reason: str


@dataclass(frozen=True)
class _Operation:
    path: str
    operation: dict[str, Any]
    parameters: list[dict[str, Any]]

    @property
    def placeholders(self) -> list[str]:
        return _PLACEHOLDER.findall(self.path)


def plan_resources(spec: Spec) -> tuple[list[ResourcePlan], list[Skipped]]:
    """Resources (parents first) and the operations that were skipped."""
    skipped: list[Skipped] = []
    gets: list[_Operation] = []
    for path, item in spec.document["paths"].items():
        item = spec.resolve(item)
        if not isinstance(item, dict):
            continue
        shared = [spec.resolve(p) for p in item.get("parameters") or []]
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            if method != "get":
                skipped.append(Skipped(method.upper(), path, "not a GET: it changes data"))
                continue
            own = [spec.resolve(p) for p in operation.get("parameters") or []]
            gets.append(_Operation(path, operation, _merge_parameters(shared, own)))
    prefix = _common_prefix([op.path for op in gets])
    plans: dict[str, ResourcePlan] = {}
    by_path: dict[str, ResourcePlan] = {}
    for op in sorted(gets, key=lambda o: (len(o.placeholders), o.path)):
        made = _plan(spec, op, by_path, plans, prefix)
        if isinstance(made, Skipped):
            skipped.append(made)
        else:
            plans[made.name] = made
            by_path[op.path.rstrip("/")] = made
    return list(plans.values()), skipped


def _plan(
    spec: Spec,
    op: _Operation,
    by_path: dict[str, ResourcePlan],
    plans: dict[str, ResourcePlan],
    prefix: int,
) -> ResourcePlan | Skipped:
    def skip(reason: str) -> Skipped:
        return Skipped("GET", op.path, reason)

    if op.operation.get("deprecated"):
        return skip("deprecated")
    if op.path.rstrip("/").endswith("}"):
        return _details(spec, op, by_path, plans) or skip("reads one object by its id, not a list")
    schema = spec.json_response_schema(op.operation)
    if schema is None:
        return skip("no JSON response schema")
    found = _records(spec, schema)
    if found is None:
        return skip("returns one object, not a list")
    selector, item_schema, envelope = found
    query = [p for p in op.parameters if p.get("in") == "query"]
    paginator, fixed = _paginator(spec, op, query, envelope)
    paging = {p for p in (_paging_params(paginator) | set(fixed))}
    required = [
        p["name"]
        for p in query
        if p.get("required") and p["name"] not in paging and _default(p) is None
    ]
    if required:
        return skip(f"needs query parameter(s) {', '.join(required)}")
    item_properties = spec.properties(item_schema)
    name = _name(op.path, prefix, plans)
    parent: ResourcePlan | None = None
    resolve: tuple[tuple[str, str], ...] = ()
    if op.placeholders:
        linked = _parent(op, by_path)
        if isinstance(linked, str):
            return skip(linked)
        parent, resolve = linked
    return ResourcePlan(
        name=name,
        path=op.path.lstrip("/"),
        data_selector=selector,
        paginator=paginator,
        primary_key=_primary_key(name, item_properties, spec.resolve(item_schema)),
        columns=_columns(item_properties),
        parent=parent.name if parent else None,
        resolve=resolve,
        params=fixed,
        headers=tuple(
            p["name"] for p in op.parameters if p.get("in") == "header" and p.get("required")
        ),
        summary=str(op.operation.get("summary") or op.operation.get("operationId") or ""),
        item_properties=frozenset(item_properties),
    )


def _details(
    spec: Spec, op: _Operation, by_path: dict[str, ResourcePlan], plans: dict[str, ResourcePlan]
) -> ResourcePlan | None:
    """A detail endpoint (`/pokemon/{id}/`) of a list whose records are thin references
    (`{"name", "url"}`) becomes `<list>_details`: one request per listed record. It is not
    selected by default, as it costs a request per record."""
    linked = _parent(op, by_path)
    if isinstance(linked, str) or len(linked[0].item_properties) > 3:
        return None
    parent, resolve = linked
    schema = spec.resolve(spec.json_response_schema(op.operation))
    properties = spec.properties(schema)
    if len(properties) <= len(parent.item_properties):
        return None
    name = f"{parent.name}_details"
    if name in plans:
        return None
    return ResourcePlan(
        name=name,
        path=op.path.lstrip("/"),
        data_selector="$",
        paginator="single_page",
        primary_key=_primary_key(name, properties, schema),
        columns=_columns(properties),
        parent=parent.name,
        resolve=resolve,
        headers=tuple(
            p["name"] for p in op.parameters if p.get("in") == "header" and p.get("required")
        ),
        summary=str(op.operation.get("summary") or op.operation.get("operationId") or ""),
        item_properties=frozenset(properties),
        selected=False,
    )


def _records(spec: Spec, schema: Any) -> tuple[str, Any, dict[str, Any]] | None:
    """(data selector, item schema, envelope properties) of a list answer, or None."""
    resolved = spec.resolve(schema)
    if not isinstance(resolved, dict):
        return None
    if resolved.get("type") == "array" or ("items" in resolved and "properties" not in resolved):
        return "$", resolved.get("items") or {}, {}
    envelope = spec.properties(resolved)
    arrays = {k: v for k, v in envelope.items() if isinstance(v, dict) and v.get("type") == "array"}
    for key in ENVELOPE_KEYS:
        if key in arrays:
            return key, arrays[key].get("items") or {}, envelope
    objects = {
        k: v
        for k, v in arrays.items()
        if spec.properties(v.get("items")) or _is_ref(v.get("items"))
    }
    # An envelope is small and has no id of its own; a record with one list inside is not one.
    if len(objects) == 1 and "id" not in envelope and len(envelope) <= 6:
        key, value = next(iter(objects.items()))
        return key, value.get("items") or {}, envelope
    return None


def _paginator(
    spec: Spec, op: _Operation, query: list[dict[str, Any]], envelope: dict[str, Any]
) -> tuple[Any, dict[str, Any]]:
    """The paginator config and the fixed query params it wants (e.g. a page size)."""
    names = {p["name"]: p for p in query}
    lower = {name.lower(): name for name in names}
    if "link" in spec.response_headers(op.operation):
        return "header_link", {}
    for path in NEXT_URL_PATHS:
        if path.split(".")[0] in envelope and _string_at(spec, envelope, path):
            return {"type": "json_link", "next_url_path": path}, {}
    if "has_more" in envelope and "starting_after" in names:
        size = {"limit": 100} if "limit" in names else {}
        return {"type": "record_cursor", "cursor_param": "starting_after"}, size
    for path, _ in CURSOR_PATHS:
        param = next(
            (n for n in names if n in ("cursor", "page_token", "pageToken", "after")), None
        )
        if param and path.split(".")[0] in envelope:
            return {"type": "cursor", "cursor_path": path, "cursor_param": param}, {}
    if "offset" in lower and "limit" in lower:
        total = next((k for k in ("total", "count", "total_count") if k in envelope), None)
        limit = _page_size(names[lower["limit"]])
        config = {"type": "offset", "limit": limit, "offset_param": lower["offset"]}
        return {**config, "limit_param": lower["limit"], "total_path": total}, {}
    if "page" in lower:
        return {
            "type": "page_number",
            "page_param": lower["page"],
            "total_path": _total_pages_path(spec, envelope),
        }, {}
    return "single_page", {}


def _paging_params(paginator: Any) -> set[str]:
    if not isinstance(paginator, dict):
        return set()
    return {
        str(paginator[key])
        for key in ("cursor_param", "offset_param", "limit_param", "page_param")
        if key in paginator
    }


def _total_pages_path(spec: Spec, envelope: dict[str, Any]) -> str | None:
    for key in ("total_pages", "totalPages", "pageCount", "page_count"):
        if key in envelope:
            return key
    for holder in ("pagination", "meta", "paging"):
        inner = spec.properties(envelope.get(holder)) if holder in envelope else {}
        for key in ("total_pages", "totalPages", "pageCount", "page_count"):
            if key in inner:
                return f"{holder}.{key}"
    return None


def _string_at(spec: Spec, envelope: dict[str, Any], path: str) -> bool:
    head, *rest = path.split(".")
    node = envelope.get(head)
    for part in rest:
        node = spec.properties(node).get(part)
    types = _types(spec.resolve(node))
    return "string" in types


def _page_size(parameter: dict[str, Any]) -> int:
    schema = parameter.get("schema") or parameter
    maximum = schema.get("maximum") if isinstance(schema, dict) else None
    if isinstance(maximum, int) and 0 < maximum <= 1000:
        return maximum
    default = schema.get("default") if isinstance(schema, dict) else None
    return default if isinstance(default, int) and default > 0 else 100


def _parent(
    op: _Operation, by_path: dict[str, ResourcePlan]
) -> tuple[ResourcePlan, tuple[tuple[str, str], ...]] | str:
    """The list resource the last path parameter takes its values from, and each parameter's
    field in that parent's records; or why there is none."""
    params = op.placeholders
    last = params[-1]
    head = op.path[: op.path.index("{" + last + "}")].rstrip("/")
    parent = by_path.get(head)
    if parent is None:
        return f"path parameter {{{last}}} has no list endpoint {head or '/'} to take values from"
    if len(parent.resolve) != len(params) - 1:
        return f"path parameters {params} do not line up with the parent {parent.name}"
    field_name = _parent_field(last, parent)
    if field_name is None:
        return f"records of {parent.name} have no field to fill {{{last}}}"
    resolve = [
        (param, normalize_identifier(f"_{parent.parent}_{parent_field}"))
        for param, (_, parent_field) in zip(params[:-1], parent.resolve, strict=True)
    ]
    return parent, (*resolve, (last, field_name))


def _parent_field(param: str, parent: ResourcePlan) -> str | None:
    fields = parent.item_properties
    if param in fields:
        return param
    if parent.primary_key:
        return parent.primary_key
    return next((f for f in ("id", "name", "uuid", "key") if f in fields), None)


def _primary_key(name: str, properties: dict[str, Any], schema: Any) -> str | None:
    if "id" in properties:
        return "id"
    singular = name.rsplit("_", 1)[-1].rstrip("s")
    for candidate in (f"{singular}Id", f"{singular}_id", f"{singular}ID"):
        if candidate in properties:
            return candidate
    required = schema.get("required") if isinstance(schema, dict) else None
    ids = [p for p in required or () if p.lower().endswith("id") and p in properties]
    return ids[0] if len(ids) == 1 else None


def _columns(properties: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Column types of the scalar top-level properties; the rest is left to inference."""
    columns = {}
    for name, schema in properties.items():
        if not isinstance(schema, dict):
            continue
        types = _types(schema) - {"null"}
        if len(types) != 1:
            continue
        kind = next(iter(types))
        data_type = _NUMERIC.get(kind)
        if kind == "string":
            data_type = _STRING_FORMATS.get(str(schema.get("format")))
        if data_type:
            columns[name] = {"data_type": data_type}
    return columns


def _types(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    kind = schema.get("type")
    if isinstance(kind, list):
        return {str(k) for k in kind}
    if isinstance(kind, str):
        return {kind}
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return {t for part in schema[key] for t in _types(part)}
    return set()


def _name(path: str, prefix: int, taken: dict[str, ResourcePlan]) -> str:
    statics = [s for s in path.strip("/").split("/")[prefix:] if s and not s.startswith("{")]
    statics = statics or [s for s in path.strip("/").split("/") if s and "{" not in s] or ["root"]
    for size in range(1, len(statics) + 1):
        name = normalize_identifier("_".join(statics[-size:]))
        if name not in taken:
            return name
    base = normalize_identifier("_".join(statics))
    return next(f"{base}_{n}" for n in _counter() if f"{base}_{n}" not in taken)


def _counter() -> Iterator[int]:
    n = 2
    while True:
        yield n
        n += 1


def _common_prefix(paths: list[str]) -> int:
    """How many leading static segments all paths share (`/api/v2/...`: 2)."""
    split = [p.strip("/").split("/") for p in paths]
    count = 0
    while split and all(len(s) > count + 1 for s in split):
        segment = split[0][count]
        if "{" in segment or any(s[count] != segment for s in split):
            break
        count += 1
    return count


def _merge_parameters(
    shared: list[dict[str, Any]], own: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    merged = {(p.get("name"), p.get("in")): p for p in shared if isinstance(p, dict)}
    merged.update({(p.get("name"), p.get("in")): p for p in own if isinstance(p, dict)})
    return [p for p in merged.values() if isinstance(p.get("name"), str)]


def _default(parameter: dict[str, Any]) -> Any:
    schema = parameter.get("schema") or {}
    return schema.get("default") if isinstance(schema, dict) else parameter.get("default")


def _is_ref(node: Any) -> bool:
    return isinstance(node, dict) and "$ref" in node
