"""`RESTClient`: requests with a base URL, auth, retries and timeouts, and `paginate(path)`.

    client = RESTClient("https://api.example.com/v1/", auth=BearerTokenAuth(token))
    for page in client.paginate("customers", params={"status": "active"}):
        yield page   # a list of records

Usable on its own inside `@ladle.resource` code; `rest_api_source` builds one per source. No
message it writes (errors, logs) contains a secret: auth values are scrubbed from URLs and
bodies before they are quoted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, urljoin

import requests
from requests.auth import AuthBase

from ladle.configuration import MASK, Secret
from ladle.errors import ConfigError, ExtractError
from ladle.sources.rest_api.auth import Auth
from ladle.sources.rest_api.detection import detect_paginator, select_records
from ladle.sources.rest_api.page_request import PageRequest
from ladle.sources.rest_api.paginators import Paginator
from ladle.sources.rest_api.response_actions import ResponseAction
from ladle.sources.rest_api.retry import RetryPolicy

logger = logging.getLogger("ladle.sources.rest_api")
DEFAULT_TIMEOUT = 30.0


class RESTClient:
    """A base URL with shared headers, auth, paginator, record selector, retries and timeout.

    `paginator=None` detects the pagination from the first response of each `paginate` call;
    `data_selector=None` finds the list of records in common envelopes (`data`, `results`...).
    `timeout` is seconds per request (connect and read)."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str | Secret] | None = None,
        auth: AuthBase | None = None,
        paginator: Paginator | None = None,
        data_selector: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
    ) -> None:
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"client base_url must be an http(s) URL, not {base_url!r}", key="client.base_url"
            )
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.headers = dict(headers or {})
        self.auth = auth
        self.paginator = paginator
        self.data_selector = data_selector
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.session = session or requests.Session()

    def __repr__(self) -> str:
        return f"RESTClient({self.base_url!r}, auth={self.auth!r})"

    # -- public ---------------------------------------------------------------------------------
    def get(self, path: str = "", params: Mapping[str, Any] | None = None) -> requests.Response:
        """One GET with retries; raises `ExtractError` for an error answer."""
        response = self.send(PageRequest("GET", self.url_of(path), dict(params or {})))
        assert response is not None
        return response

    def paginate(
        self,
        path: str = "",
        *,
        method: str = "GET",
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        paginator: Paginator | None = None,
        data_selector: str | None = None,
        response_actions: tuple[ResponseAction, ...] = (),
    ) -> Iterator[list[Any]]:
        """Yield the records of each page of `path` (a list per page, empty pages skipped)."""
        request = PageRequest(
            method.upper(), self.url_of(path), dict(params or {}), json, dict(headers or {})
        )
        chosen = paginator or self.paginator
        pager = chosen.fresh() if chosen is not None else None
        if pager is not None:
            pager.init_request(request)
        selector = data_selector if data_selector is not None else self.data_selector
        seen: set[str] = set()
        previous = b""
        while True:
            response = self.send(request, response_actions)
            if response is None:  # a response action said to ignore it
                return
            # An API that ignores the paging parameter answers the same page forever.
            if previous and response.content == previous:
                logger.warning(
                    "%s: the API answered the same page again (does it ignore the paging "
                    "parameter?): stopping",
                    self.scrub(request.url),
                )
                return
            previous = response.content
            body = _json_body(response)
            records = select_records(body, selector)
            if pager is None:
                pager = detect_paginator(response, body)
                logger.info("%s: detected %r", self.scrub(request.url), pager)
            pager.update_state(response, records)
            if records:
                yield records
            if not pager.has_next_page:
                return
            pager.update_request(request)
            fingerprint = f"{request.url}?{sorted(request.params.items())!r}"
            if fingerprint in seen:
                logger.warning(
                    "%s: the next page is a page read before: stopping", self.scrub(request.url)
                )
                return
            seen.add(fingerprint)

    def url_of(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return urljoin(self.base_url, path.lstrip("/"))

    # -- sending with retries -------------------------------------------------------------------
    def send(
        self, request: PageRequest, response_actions: tuple[ResponseAction, ...] = ()
    ) -> requests.Response | None:
        """Send `request`, retrying per the policy; None when a response action ignores the
        answer; `ExtractError` for an error answer or when the attempts run out."""
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self.session.request(
                    request.method,
                    request.url,
                    params=request.params or None,
                    json=request.json,
                    headers=self._headers(request),
                    auth=self.auth,
                    timeout=self.timeout,
                )
            except (requests.Timeout, requests.ConnectionError) as exc:
                self._give_up_or_wait(request, attempt, None, f"{type(exc).__name__}", exc)
                continue
            logger.debug(
                "%s %s -> %s", request.method, self.scrub(response.url), response.status_code
            )
            if any(action.matches(response) for action in response_actions):
                logger.info("%s: %s ignored", self.scrub(response.url), response.status_code)
                return None
            if response.status_code == 401 and not refreshed and isinstance(self.auth, Auth):
                refreshed = self.auth.refresh()
                if refreshed:
                    attempt -= 1
                    continue
            if response.status_code in self.retry.statuses:
                self._give_up_or_wait(
                    request,
                    attempt,
                    response.headers.get("Retry-After"),
                    f"{response.status_code} {response.reason}",
                    None,
                )
                continue
            if response.status_code >= 400:
                raise ExtractError(
                    f"{request.method} {self.scrub(response.url)} answered "
                    f"{response.status_code} {response.reason}: {self.scrub(response.text)[:300]}",
                    url=self.scrub(response.url),
                    status_code=response.status_code,
                )
            return response

    def _give_up_or_wait(
        self,
        request: PageRequest,
        attempt: int,
        retry_after: str | None,
        failure: str,
        exc: Exception | None,
    ) -> None:
        url = self.scrub(request.url)
        if attempt >= self.retry.max_attempts:
            timeout = f" (timeout {self.timeout}s)" if isinstance(exc, requests.Timeout) else ""
            raise ExtractError(
                f"{request.method} {url} failed after {attempt} attempt(s): {failure}{timeout}",
                url=url,
            ) from (None if exc is None else _scrubbed(exc, self.scrub))
        wait = self.retry.delay(attempt, retry_after)
        logger.warning(
            "%s %s: %s; retrying in %.2fs (attempt %d of %d)",
            request.method,
            url,
            failure,
            wait,
            attempt + 1,
            self.retry.max_attempts,
        )
        time.sleep(wait)

    def _headers(self, request: PageRequest) -> dict[str, str]:
        merged = {**self.headers, **request.headers}
        return {k: v.reveal() if isinstance(v, Secret) else str(v) for k, v in merged.items()}

    def scrub(self, text: str) -> str:
        """`text` with every secret value (auth and secret headers) replaced by `***`."""
        values = [v.reveal() for v in self.headers.values() if isinstance(v, Secret)]
        if isinstance(self.auth, Auth):
            values.extend(self.auth.secret_values())
        for value in values:
            if value:
                for form in {value, quote(value, safe=""), quote_plus(value)}:
                    text = text.replace(form, MASK)
        return text


def _json_body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise ExtractError(
            f"{response.request.method} {response.url.split('?')[0]} answered "
            f"{response.headers.get('Content-Type', 'no content type')}, not JSON",
            status_code=response.status_code,
        ) from None


def _scrubbed(exc: Exception, scrub: Any) -> Exception:
    """A copy of a transport error whose message cannot quote a secret (URLs may hold keys)."""
    return type(exc)(scrub(str(exc))) if isinstance(exc, requests.RequestException) else exc
