"""Authentication for REST APIs: bearer token, API key, HTTP basic, OAuth2 client credentials.

Each is a `requests` auth (it signs a prepared request). Secret values are kept as
`ladle.Secret`, so they never show in a repr, log or error; `secret_values()` lists the plain
values so the client can scrub them from any message that might quote a URL or a body.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Sequence
from typing import Any, Literal

import requests
from requests.auth import AuthBase

from ladle.configuration import Secret
from ladle.errors import ConfigError, ExtractError
from ladle.sources.rest_api.settings import build

SecretLike = str | Secret


def as_secret(value: Any, owner: str, key: str) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str) and value:
        return Secret(value)
    raise ConfigError(f"{owner}: auth '{key}' must be a non-empty string or ladle.Secret", key=key)


class Auth(AuthBase):
    """Base of ladle's auths: a masked repr and the secret values to scrub from messages."""

    def secret_values(self) -> list[str]:
        return [v.reveal() for v in vars(self).values() if isinstance(v, Secret) and v]

    def refresh(self) -> bool:
        """Get new credentials after a 401; True if there was anything to refresh."""
        return False

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{key}={value!r}" for key, value in vars(self).items() if not key.startswith("_")
        )
        return f"{type(self).__name__}({shown})"


class BearerTokenAuth(Auth):
    """`Authorization: Bearer <token>`."""

    def __init__(self, token: SecretLike) -> None:
        self.token = as_secret(token, "bearer auth", "token")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token.reveal()}"
        return request


class APIKeyAuth(Auth):
    """An API key in a header (default `X-API-Key`) or a query parameter (`location="query"`)."""

    def __init__(
        self,
        api_key: SecretLike,
        name: str = "X-API-Key",
        location: Literal["header", "query"] = "header",
    ) -> None:
        if location not in ("header", "query"):
            raise ConfigError("api_key auth: location must be 'header' or 'query'", key="location")
        self.api_key = as_secret(api_key, "api_key auth", "api_key")
        self.name = name
        self.location = location

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.location == "header":
            request.headers[self.name] = self.api_key.reveal()
        else:
            request.prepare_url(request.url or "", {self.name: self.api_key.reveal()})
        return request


class HttpBasicAuth(Auth):
    """HTTP basic: `Authorization: Basic base64(username:password)`."""

    def __init__(self, username: str, password: SecretLike) -> None:
        self.username = username
        self.password = as_secret(password, "http_basic auth", "password")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        pair = f"{self.username}:{self.password.reveal()}".encode()
        request.headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        return request

    def secret_values(self) -> list[str]:
        pair = f"{self.username}:{self.password.reveal()}".encode()
        return [*super().secret_values(), base64.b64encode(pair).decode("ascii")]


class OAuth2ClientCredentials(Auth):
    """OAuth2 client credentials: POSTs `grant_type=client_credentials` to `token_url` (client id
    and secret as HTTP basic, or in the form with `client_auth="body"`), sends the access token
    as a bearer token, and fetches a new one `expiry_margin` seconds before it expires (per
    `expires_in`, default `default_expires_in`) or after a 401."""

    def __init__(
        self,
        token_url: str,
        client_id: SecretLike,
        client_secret: SecretLike,
        scopes: Sequence[str] | str | None = None,
        client_auth: Literal["basic", "body"] = "basic",
        default_expires_in: float = 3600.0,
        expiry_margin: float = 30.0,
        timeout: float = 30.0,
    ) -> None:
        if not isinstance(token_url, str) or not token_url:
            raise ConfigError("oauth2_client_credentials auth needs a token_url", key="token_url")
        if client_auth not in ("basic", "body"):
            raise ConfigError(
                "oauth2_client_credentials auth: client_auth must be 'basic' or 'body'",
                key="client_auth",
            )
        self.token_url = token_url
        self.client_id = as_secret(client_id, "oauth2 auth", "client_id")
        self.client_secret = as_secret(client_secret, "oauth2 auth", "client_secret")
        self.scopes = scopes if scopes is None or isinstance(scopes, str) else " ".join(scopes)
        self.client_auth = client_auth
        self.default_expires_in = default_expires_in
        self.expiry_margin = expiry_margin
        self.timeout = timeout
        self._token: Secret | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._fetch_token()
            assert self._token is not None
            request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request

    def refresh(self) -> bool:
        with self._lock:
            self._token = None
        return True

    def secret_values(self) -> list[str]:
        token = [self._token.reveal()] if self._token else []
        return [*super().secret_values(), *token]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(vars(self))
        state.pop("_lock")
        state["_token"], state["_expires_at"] = None, 0.0
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._lock = threading.Lock()

    def _fetch_token(self) -> None:
        form = {"grant_type": "client_credentials"}
        if self.scopes:
            form["scope"] = self.scopes
        basic: tuple[str, str] | None = None
        if self.client_auth == "basic":
            basic = (self.client_id.reveal(), self.client_secret.reveal())
        else:
            form["client_id"] = self.client_id.reveal()
            form["client_secret"] = self.client_secret.reveal()
        try:
            response = requests.post(self.token_url, data=form, auth=basic, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ExtractError(
                f"cannot reach the OAuth2 token URL {self.token_url}: {type(exc).__name__}",
                url=self.token_url,
            ) from None
        body = _json_or_none(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise ExtractError(
                f"the OAuth2 token URL {self.token_url} answered {response.status_code} without "
                "an access_token: check client_id, client_secret and scopes",
                url=self.token_url,
                status_code=response.status_code,
            )
        expires_in = body.get("expires_in", self.default_expires_in)
        lifetime = float(expires_in) if isinstance(expires_in, (int, float, str)) else 0.0
        self._token = Secret(token)
        self._expires_at = time.monotonic() + max(0.0, lifetime - self.expiry_margin)
        self.tokens_fetched += 1


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


AUTH_TYPES: dict[str, type[Auth]] = {
    "bearer": BearerTokenAuth,
    "api_key": APIKeyAuth,
    "http_basic": HttpBasicAuth,
    "oauth2_client_credentials": OAuth2ClientCredentials,
}


def auth_from_config(config: Any, owner: str = "client") -> AuthBase | None:
    """None, an `AuthBase`, or a dict `{"type": "bearer", "token": ...}` (types: see AUTH_TYPES)."""
    if config is None or isinstance(config, AuthBase):
        return config
    if not isinstance(config, dict) or config.get("type") not in AUTH_TYPES:
        kind = config.get("type") if isinstance(config, dict) else type(config).__name__
        raise ConfigError(
            f"{owner}: auth type {kind!r} is not one of {sorted(AUTH_TYPES)}", key="auth.type"
        )
    arguments = {key: value for key, value in config.items() if key != "type"}
    return build(AUTH_TYPES[config["type"]], arguments, owner, f"auth {config['type']!r}")


__all__ = [
    "APIKeyAuth",
    "Auth",
    "BearerTokenAuth",
    "HttpBasicAuth",
    "OAuth2ClientCredentials",
    "auth_from_config",
]
