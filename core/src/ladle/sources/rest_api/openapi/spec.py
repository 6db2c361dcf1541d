"""Read an OpenAPI document (3.x, or Swagger 2 for the basics) from a file or URL, and follow its
local `$ref`s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import yaml

from ladle.errors import ConfigError

MAX_DEPTH = 12


def load_spec(location: str) -> dict[str, Any]:
    """The document at a path or http(s) URL, parsed as JSON or YAML."""
    try:
        if location.startswith(("http://", "https://")):
            response = requests.get(location, timeout=60)
            response.raise_for_status()
            text = response.text
        else:
            text = Path(location).read_text(encoding="utf-8")
    except (OSError, requests.RequestException) as exc:
        raise ConfigError(
            f"cannot read the OpenAPI spec {location}: {type(exc).__name__}: {exc}",
            key="openapi",
        ) from exc
    try:
        document = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{location} is not JSON or YAML: {exc}", key="openapi") from exc
    if not isinstance(document, dict) or not isinstance(document.get("paths"), dict):
        raise ConfigError(f"{location} is not an OpenAPI document (no 'paths')", key="openapi")
    return document


class Spec:
    """An OpenAPI document with `$ref` resolution (`#/...` only)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.swagger2 = str(document.get("swagger", "")).startswith("2")

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """`node` with a top-level `$ref` followed (repeatedly); other refs stay."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < MAX_DEPTH:
            node = self._target(node["$ref"])
            seen += 1
        return node

    def _target(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            return {}  # an external ref: treated as an unknown schema
        node: Any = self.document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node.get(part) if isinstance(node, dict) else None
        return node if node is not None else {}

    def schema_name(self, node: Any) -> str | None:
        """`customer` for `{"$ref": "#/components/schemas/customer"}`."""
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            return str(node["$ref"]).rsplit("/", 1)[-1]
        return None

    def properties(self, schema: Any) -> dict[str, Any]:
        """Properties of an object schema, `allOf` parts merged, each property resolved."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return {}
        found: dict[str, Any] = {}
        for part in schema.get("allOf") or []:
            found.update(self.properties(part))
        for name, value in (schema.get("properties") or {}).items():
            found[name] = self.resolve(value)
        return found

    def base_url(self) -> str | None:
        if self.swagger2:
            host = self.document.get("host")
            if not host:
                return None
            scheme = (self.document.get("schemes") or ["https"])[0]
            return f"{scheme}://{host}{self.document.get('basePath', '')}"
        servers = self.document.get("servers") or []
        url = servers[0].get("url") if servers and isinstance(servers[0], dict) else None
        return url if isinstance(url, str) else None

    def security_schemes(self) -> dict[str, Any]:
        if self.swagger2:
            return dict(self.document.get("securityDefinitions") or {})
        return dict((self.document.get("components") or {}).get("securitySchemes") or {})

    def json_response_schema(self, operation: dict[str, Any]) -> Any:
        """The schema of the operation's 200 (or first 2xx, or default) JSON answer."""
        responses = {str(code): value for code, value in (operation.get("responses") or {}).items()}
        codes = sorted(code for code in responses if code.startswith("2")) or ["default"]
        chosen = "200" if "200" in responses else codes[0]
        response = self.resolve(responses.get(chosen) or {})
        if not isinstance(response, dict):
            return None
        if self.swagger2:
            return response.get("schema")
        content = response.get("content") or {}
        for media, body in content.items():
            if "json" in media and isinstance(body, dict):
                return body.get("schema")
        return None

    def response_headers(self, operation: dict[str, Any]) -> set[str]:
        responses = {str(code): value for code, value in (operation.get("responses") or {}).items()}
        response = self.resolve(responses.get("200") or {})
        headers = response.get("headers") if isinstance(response, dict) else None
        return {str(name).lower() for name in (headers or {})}
