"""Each auth against a real local server that checks credentials; secrets never leak."""

from __future__ import annotations

import base64
import itertools
import logging
import pickle
from typing import Any

import pytest

import ladle
from ladle.sources.rest_api import (
    APIKeyAuth,
    BearerTokenAuth,
    HttpBasicAuth,
    OAuth2ClientCredentials,
    RESTClient,
    rest_api_source,
)
from ladle.sources.rest_api.local_api import ApiReply, ApiRequest, LocalApi

TOKEN = "tok-5ecret-value"
ROWS = [{"id": 1}, {"id": 2}]


def guarded(check: Any) -> Any:
    """A route that answers ROWS when `check(request)` holds, else 401."""

    def route(request: ApiRequest) -> ApiReply:
        return ApiReply(ROWS) if check(request) else ApiReply({"error": "unauthorized"}, 401)

    return route


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


CASES = [
    (
        {"type": "bearer", "token": TOKEN},
        lambda r: r.headers.get("Authorization") == f"Bearer {TOKEN}",
    ),
    (
        {"type": "api_key", "api_key": TOKEN, "name": "X-Api-Token"},
        lambda r: r.headers.get("X-Api-Token") == TOKEN,
    ),
    (
        {"type": "api_key", "api_key": TOKEN, "name": "key", "location": "query"},
        lambda r: r.query.get("key") == TOKEN,
    ),
    (
        {"type": "http_basic", "username": "ada", "password": TOKEN},
        lambda r: r.headers.get("Authorization") == basic("ada", TOKEN),
    ),
]


@pytest.mark.parametrize(
    ("auth", "check"), CASES, ids=["bearer", "key-header", "key-query", "basic"]
)
def test_auth_is_sent(auth: dict[str, Any], check: Any, make_pipeline: Any) -> None:
    with LocalApi({"/v1/items": guarded(check)}) as api:
        source = rest_api_source(
            {"client": {"base_url": f"{api.url}/v1", "auth": auth}, "resources": ["items"]}
        )
        info = make_pipeline().run(source)
    assert info.row_counts == {"items": 2}


@pytest.mark.parametrize(
    ("auth", "check"), CASES, ids=["bearer", "key-header", "key-query", "basic"]
)
def test_a_rejected_secret_is_never_shown(
    auth: dict[str, Any], check: Any, caplog: pytest.LogCaptureFixture, make_pipeline: Any
) -> None:
    caplog.set_level(logging.DEBUG, logger="ladle")

    def echo(request: ApiRequest) -> ApiReply:  # a server that quotes what it was sent
        return ApiReply({"got": [request.path, request.query, request.headers]}, status=403)

    with LocalApi({"/v1/items": echo}) as api:
        config = {"client": {"base_url": f"{api.url}/v1", "auth": auth}, "resources": ["items"]}
        source = rest_api_source(config)
        with pytest.raises(ladle.ExtractError) as caught:
            make_pipeline().run(source)
    shown = [str(caught.value), repr(caught.value), repr(source.items), caplog.text]
    assert "403" in str(caught.value)
    assert "resource 'items'" in str(caught.value)
    for text in shown:
        assert TOKEN not in text, text
        assert base64.b64encode(f"ada:{TOKEN}".encode()).decode() not in text
    cause = caught.value.__cause__
    assert cause is None or TOKEN not in str(cause)


def test_a_next_link_that_echoes_the_key_is_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    # APIs quote the query key back in their next links; a link loop logs the link it stops at.
    caplog.set_level(logging.DEBUG, logger="ladle")
    served = itertools.count()

    def reply(request: ApiRequest) -> dict[str, Any]:  # a page that differs, a link that loops
        return {"results": ROWS, "served": next(served), "next": f"/items?key={TOKEN}"}

    with LocalApi({"/items": reply}) as api:
        client = RESTClient(api.url, auth=APIKeyAuth(TOKEN, name="key", location="query"))
        assert len(list(client.paginate("items"))) == 2
    assert "read before" in caplog.text
    assert TOKEN not in caplog.text


def test_an_error_body_cut_short_shows_no_part_of_the_secret() -> None:
    # The body is quoted up to 300 characters: a secret across that edge must not show in part.
    body = "x" * 290 + f"token={TOKEN}"
    with LocalApi({"/items": ApiReply(body, status=400)}) as api:
        client = RESTClient(api.url, auth=BearerTokenAuth(TOKEN))
        with pytest.raises(ladle.ExtractError) as caught:
            client.get("items")
    assert "400" in str(caught.value)
    assert TOKEN[:4] not in str(caught.value)


def test_auth_reprs_are_masked() -> None:
    auths = [
        BearerTokenAuth(TOKEN),
        APIKeyAuth(TOKEN),
        HttpBasicAuth("ada", TOKEN),
        OAuth2ClientCredentials("http://127.0.0.1:1/token", "client", TOKEN),
    ]
    for auth in auths:
        assert TOKEN not in repr(auth)
        assert TOKEN not in repr(RESTClient("http://127.0.0.1:1", auth=auth))
        assert "***" in repr(auth)


def test_secrets_from_config_are_used_and_masked(
    monkeypatch: pytest.MonkeyPatch, make_pipeline: Any
) -> None:
    monkeypatch.setenv("SOURCES__SHOP__TOKEN", TOKEN)
    with LocalApi({"/items": guarded(CASES[0][1])}) as api:
        token = ladle.secrets["sources.shop.token"]
        config = {
            "client": {"base_url": api.url, "auth": {"type": "bearer", "token": token}},
            "resources": ["items"],
        }
        assert TOKEN not in repr(config)
        assert make_pipeline().run(rest_api_source(config)).row_counts == {"items": 2}


class TokenServer:
    """An OAuth2 token endpoint issuing short-lived tokens, and an API that checks them."""

    def __init__(self, expires_in: int) -> None:
        self.expires_in = expires_in
        self.issued: list[str] = []
        self.revoked: set[str] = set()

    def token(self, request: ApiRequest) -> ApiReply:
        form = dict(pair.split("=") for pair in request.body.decode().split("&"))
        if request.headers.get("Authorization") != basic("client-1", TOKEN):
            return ApiReply({"error": "invalid_client"}, 401)
        assert form["grant_type"] == "client_credentials"
        self.issued.append(f"access-{len(self.issued)}")
        return ApiReply(
            {"access_token": self.issued[-1], "token_type": "bearer", "expires_in": self.expires_in}
        )

    def items(self, request: ApiRequest) -> ApiReply:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued or bearer in self.revoked:
            return ApiReply({"error": "invalid_token"}, 401)
        page = int(request.query.get("page", "1"))
        return ApiReply({"data": [{"id": page}], "next_page": page + 1 if page < 3 else None})


def oauth_config(url: str, secret: str = TOKEN) -> dict[str, Any]:
    auth = {
        "type": "oauth2_client_credentials",
        "token_url": f"{url}/oauth/token",
        "client_id": "client-1",
        "client_secret": secret,
        "expiry_margin": 0,
    }
    return {"client": {"base_url": url, "auth": auth}, "resources": ["items"]}


def test_oauth2_fetches_a_token_once_while_it_is_valid(make_pipeline: Any) -> None:
    server = TokenServer(expires_in=3600)
    with LocalApi({"/oauth/token": server.token, "/items": server.items}) as api:
        assert make_pipeline().run(rest_api_source(oauth_config(api.url))).row_counts == {
            "items": 3
        }
    assert server.issued == ["access-0"]


def test_oauth2_refreshes_an_expired_token(make_pipeline: Any) -> None:
    server = TokenServer(expires_in=0)  # every token is expired at once: a new one per request
    with LocalApi({"/oauth/token": server.token, "/items": server.items}) as api:
        assert make_pipeline().run(rest_api_source(oauth_config(api.url))).row_counts == {
            "items": 3
        }
    assert server.issued == ["access-0", "access-1", "access-2"]


def test_oauth2_refreshes_a_revoked_token_after_a_401() -> None:
    server = TokenServer(expires_in=3600)
    with LocalApi({"/oauth/token": server.token, "/items": server.items}) as api:
        auth = OAuth2ClientCredentials(f"{api.url}/oauth/token", "client-1", TOKEN)
        client = RESTClient(api.url, auth=auth)
        pages = client.paginate("items")
        assert next(pages) == [{"id": 1}]
        server.revoked.add("access-0")
        assert [page[0]["id"] for page in pages] == [2, 3]
    assert server.issued == ["access-0", "access-1"]
    assert auth.tokens_fetched == 2
    assert "access-1" not in repr(auth)
    assert pickle.loads(pickle.dumps(auth)).tokens_fetched == 2  # no token travels with it


def test_oauth2_bad_client_secret_fails_without_showing_it(make_pipeline: Any) -> None:
    server = TokenServer(expires_in=3600)
    routes = {"/oauth/token": server.token, "/items": server.items}
    expected = "answered 401 without an access_token"
    with LocalApi(routes) as api, pytest.raises(ladle.ExtractError, match=expected) as e:
        make_pipeline().run(rest_api_source(oauth_config(api.url, secret="wrong-secret")))
    assert "wrong-secret" not in str(e.value)
    assert "resource 'items'" in str(e.value)


@pytest.mark.parametrize(
    ("auth", "key"),
    [
        ({"type": "magic"}, "auth.type"),
        ({"type": "bearer"}, "auth 'bearer'.token"),
        ({"type": "bearer", "token": TOKEN, "scheme": "x"}, "auth 'bearer'.scheme"),
        ({"type": "api_key", "api_key": TOKEN, "location": "cookie"}, "location"),
    ],
)
def test_bad_auth_config_is_a_config_error(auth: dict[str, Any], key: str) -> None:
    config = {"client": {"base_url": "http://127.0.0.1:1", "auth": auth}, "resources": ["a"]}
    with pytest.raises(ladle.ConfigError) as caught:
        rest_api_source(config)
    assert caught.value.key == key  # type: ignore[attr-defined]
    assert TOKEN not in str(caught.value)
