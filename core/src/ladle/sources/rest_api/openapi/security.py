"""From an OpenAPI document's security schemes to the auth of the generated config.

The generated code reads every secret with `ladle.secrets[...]`; the values go into a
`.ladle/secrets.toml` template as placeholders, never into generated code."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ladle.sources.rest_api.openapi.spec import Spec

# Which scheme to use when a spec offers several: the ones a script can use unattended first.
_PREFERENCE = ("bearer", "apiKey", "oauth2_client_credentials", "basic", "oauth2")


@dataclass(frozen=True)
class AuthPlan:
    """`code`: a Python expression for the auth config (None: no auth). `secrets` and
    `config`: keys (below `sources.<name>.`) and their placeholders."""

    code: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)
    note: str = "The spec declares no authentication."


def plan_auth(spec: Spec, source_name: str) -> AuthPlan:
    schemes = spec.security_schemes()
    if not schemes:
        return AuthPlan()
    ranked = sorted(
        ((name, spec.resolve(scheme)) for name, scheme in schemes.items()),
        key=lambda item: _rank(item[1]),
    )
    name, scheme = ranked[0]
    return _plan(name, scheme, f"sources.{source_name}")


def _kind(scheme: Any) -> str:
    kind = scheme.get("type") if isinstance(scheme, dict) else None
    if kind == "http":
        return "bearer" if str(scheme.get("scheme", "")).lower() == "bearer" else "basic"
    if kind == "oauth2":
        flows = scheme.get("flows") or {}
        if "clientCredentials" in flows or scheme.get("flow") == "application":
            return "oauth2_client_credentials"
        return "oauth2"
    return str(kind)


def _rank(scheme: Any) -> int:
    kind = _kind(scheme)
    return _PREFERENCE.index(kind) if kind in _PREFERENCE else len(_PREFERENCE)


def _q(value: Any) -> str:
    """A string literal for generated code (JSON's escaping is valid Python)."""
    return json.dumps(str(value))


def _secret(key: str) -> str:
    return f'ladle.secrets["{key}"]'


def _plan(name: str, scheme: Any, prefix: str) -> AuthPlan:
    kind = _kind(scheme)
    if kind == "bearer":
        return AuthPlan(
            f'{{"type": "bearer", "token": {_secret(prefix + ".token")}}}',
            secrets={"token": "<your API token>"},
            note=f"Bearer token (security scheme `{name}`): set `token` in .ladle/secrets.toml.",
        )
    if kind == "apiKey":
        location = "query" if scheme.get("in") == "query" else "header"
        return AuthPlan(
            f'{{"type": "api_key", "name": {_q(scheme.get("name", "X-API-Key"))}, '
            f'"location": "{location}", "api_key": {_secret(prefix + ".api_key")}}}',
            secrets={"api_key": "<your API key>"},
            note=f"API key in the {location} `{scheme.get('name')}` (scheme `{name}`): set "
            "`api_key` in .ladle/secrets.toml.",
        )
    if kind == "basic":
        return AuthPlan(
            f'{{"type": "http_basic", "username": ladle.config["{prefix}.username"], '
            f'"password": {_secret(prefix + ".password")}}}',
            secrets={"password": "<your password>"},
            config={"username": "<your user name>"},
            note=f"HTTP basic (scheme `{name}`): set `username` in .ladle/config.toml and "
            "`password` in .ladle/secrets.toml.",
        )
    if kind == "oauth2_client_credentials":
        flows = scheme.get("flows") or {}
        token_url = (flows.get("clientCredentials") or {}).get("tokenUrl") or scheme.get(
            "tokenUrl", ""
        )
        return AuthPlan(
            f'{{"type": "oauth2_client_credentials", "token_url": {_q(token_url)}, '
            f'"client_id": {_secret(prefix + ".client_id")}, '
            f'"client_secret": {_secret(prefix + ".client_secret")}}}',
            secrets={"client_id": "<your client id>", "client_secret": "<your client secret>"},
            note=f"OAuth2 client credentials (scheme `{name}`): set `client_id` and "
            "`client_secret` in .ladle/secrets.toml; tokens are fetched and refreshed.",
        )
    if kind == "oauth2":
        return AuthPlan(
            f'{{"type": "bearer", "token": {_secret(prefix + ".access_token")}}}',
            secrets={"access_token": "<an OAuth2 access token>"},
            note=f"OAuth2 with user consent (scheme `{name}`, flows "
            f"{sorted(scheme.get('flows') or {})}): ladle cannot run that flow unattended; "
            "get an access token and set `access_token` in .ladle/secrets.toml.",
        )
    return AuthPlan(note=f"Security scheme `{name}` of type {kind!r} is not supported: add auth.")
