"""Serve an OpenAPI spec's list endpoints from a local server, with answers made from the
spec's own examples (or, where it has none, from its schemas). Paging fields say "no more
pages", so a run never follows a link off this machine."""

from __future__ import annotations

import re
from typing import Any

from ladle.sources.rest_api.local_api import ApiReply, ApiRequest
from ladle.sources.rest_api.openapi.spec import Spec

LAST_PAGE = {
    "next": None,
    "has_more": False,
    "next_cursor": None,
    "next_page": None,
    "pageCount": 1,
    "total_pages": 1,
}
SCALARS = {"integer": 1, "number": 1.5, "boolean": True, "string": "text"}


def example_of(spec: Spec, schema: Any, depth: int = 0) -> Any:
    """A value matching `schema`: its `example` where given, else made up from its type."""
    schema = spec.resolve(schema)
    if not isinstance(schema, dict) or depth > 6:
        return None
    if "example" in schema and not isinstance(schema["example"], (dict, list)):
        return schema["example"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key) and "properties" not in schema:
            return example_of(spec, schema[key][0], depth + 1)
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    if kind == "array":
        return [example_of(spec, schema.get("items"), depth + 1)]
    if kind == "object" or "properties" in schema:
        return {
            name: example_of(spec, value, depth + 1)
            for name, value in spec.properties(schema).items()
        }
    if kind == "string" and schema.get("format") == "date-time":
        return "2024-05-01T09:00:00Z"
    if kind == "string" and schema.get("enum"):
        return schema["enum"][0]
    return SCALARS.get(str(kind))


def routes_for(spec: Spec, prefix: str = "") -> dict[str, Any]:
    """A route per GET path (placeholders match any segment) answering a one-page list."""
    routes: dict[str, Any] = {}
    for path, item in spec.document["paths"].items():
        operation = (spec.resolve(item) or {}).get("get")
        if not isinstance(operation, dict):
            continue
        schema = spec.json_response_schema(operation)
        body = _documented_example(spec, operation)
        if body is None:
            body = example_of(spec, schema)
        if isinstance(body, dict):
            body = {**body, **{k: v for k, v in LAST_PAGE.items() if k in body}}
            if isinstance(body.get("pagination"), dict):
                body["pagination"] = {**body["pagination"], "pageCount": 1}
        route = prefix + re.sub(r"\{[^}]+\}", "{x}", path)
        routes[route] = _answer(body)
    return routes


def _answer(body: Any) -> Any:
    def route(request: ApiRequest) -> ApiReply:
        return ApiReply(body)

    return route


def _documented_example(spec: Spec, operation: dict[str, Any]) -> Any:
    response = spec.resolve((operation.get("responses") or {}).get("200") or {})
    for media in (response.get("content") or {}).values() if isinstance(response, dict) else ():
        if isinstance(media, dict) and "example" in media:
            return media["example"]
    return None
