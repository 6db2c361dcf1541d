"""Paginators: how to get from one page of a REST endpoint to the next.

A paginator sees each response and the records selected from it (`update_state`), says whether
there is a next page (`has_next_page`), and changes the request for it (`update_request`).
`init_request` sets up the first request (e.g. `offset=0&limit=100`). Paginators keep state
per endpoint run, so `RESTClient.paginate` works on a fresh copy (`fresh()`) each time.

    SinglePagePaginator     one request, no pagination
    HeaderLinkPaginator     RFC 8288 `Link: <...>; rel="next"` header (GitHub)
    JSONLinkPaginator       a next-page URL in the body, e.g. `next` (PokeAPI), `links.next`
    JSONCursorPaginator     a cursor token in the body, sent back as a query parameter
    RecordCursorPaginator   the last record's id sent as `starting_after` while `has_more` (Stripe)
    OffsetPaginator         `offset` / `limit` parameters, until an empty page or the total
    PageNumberPaginator     `page=1, 2, ...`, until an empty page or the total pages
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urljoin

import requests

from ladle.errors import ConfigError
from ladle.sources.rest_api import json_path
from ladle.sources.rest_api.page_request import PageRequest
from ladle.sources.rest_api.settings import build


class Paginator(ABC):
    """The extension point: subclass it for an API with its own way of paging."""

    has_next_page: bool = True

    def init_request(self, request: PageRequest) -> None:  # noqa: B027 - optional hook
        """Set up the first request (default: leave it as it is)."""

    @abstractmethod
    def update_state(self, response: requests.Response, data: list[Any]) -> None:
        """Read where the next page is from a response and its selected records."""

    def update_request(self, request: PageRequest) -> None:  # noqa: B027 - optional hook
        """Point the request at the next page."""

    def fresh(self) -> Paginator:
        """A copy with its state reset, for a new run over an endpoint."""
        made = copy.deepcopy(self)
        made.has_next_page = True
        return made

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({settings})"


class SinglePagePaginator(Paginator):
    """The endpoint returns everything in one response."""

    def update_state(self, response: requests.Response, data: list[Any]) -> None:
        self.has_next_page = False


class HeaderLinkPaginator(Paginator):
    """Follows the `Link` header's `rel="next"` URL (`links_next_key` picks another rel)."""

    def __init__(self, links_next_key: str = "next") -> None:
        self.links_next_key = links_next_key
        self._next_url: str | None = None

    def update_state(self, response: requests.Response, data: list[Any]) -> None:
        link = response.links.get(self.links_next_key, {}).get("url")
        self._next_url = urljoin(response.url, link) if link else None
        self.has_next_page = self._next_url is not None

    def update_request(self, request: PageRequest) -> None:
        assert self._next_url is not None
        # The next URL carries every query parameter it needs.
        request.url, request.params = self._next_url, {}


class JSONLinkPaginator(Paginator):
    """Follows a next-page URL found at `next_url_path` in the response body."""

    def __init__(self, next_url_path: str = "next") -> None:
        json_path.parse(next_url_path)
        self.next_url_path = next_url_path
        self._next_url: str | None = None

    def update_state(self, response: requests.Response, data: list[Any]) -> None:
        link = json_path.find(_body(response), self.next_url_path)
        self._next_url = urljoin(response.url, link) if isinstance(link, str) and link else None
        self.has_next_page = self._next_url is not None

    def update_request(self, request: PageRequest) -> None:
        assert self._next_url is not None
        request.url, request.params = self._next_url, {}


class JSONCursorPaginator(Paginator):
    """Sends the token found at `cursor_path` in the body back as the `cursor_param` query
    parameter, until the token is missing or empty. A next page number (`"next_page": 2`) is a
    cursor too: `JSONCursorPaginator("next_page", cursor_param="page")`."""

    def __init__(self, cursor_path: str = "cursors.next", cursor_param: str = "cursor") -> None:
        json_path.parse(cursor_path)
        self.cursor_path = cursor_path
        self.cursor_param = cursor_param
        self._cursor: Any = None

    def update_state(self, response: requests.Response, data: list[Any]) -> None:
        self._cursor = json_path.find(_body(response), self.cursor_path)
        self.has_next_page = self._cursor not in (None, "", False)

    def update_request(self, request: PageRequest) -> None:
        request.params[self.cursor_param] = self._cursor


class RecordCursorPaginator(Paginator):
    """Sends `cursor_field` of the page's last record as `cursor_param` while the flag at
    `has_more_path` is true (Stripe: `starting_after=<last id>` while `has_more`)."""

    def __init__(
        self,
        cursor_field: str = "id",
        cursor_param: str = "starting_after",
        has_more_path: str = "has_more",
    ) -> None:
        self.cursor_field, self.cursor_param = cursor_field, cursor_param
        self.has_more_path = has_more_path
        self._cursor: Any = None

    def update_state(self, response: requests.Response, data: list[Any]) -> None:
        last = data[-1] if data else None
        self._cursor = json_path.find(last, self.cursor_field) if last is not None else None
        more = json_path.find(_body(response), self.has_more_path)
        self.has_next_page = bool(more) and self._cursor is not None

    def update_request(self, request: PageRequest) -> None:
        request.params[self.cursor_param] = self._cursor


class OffsetPaginator(Paginator):
    """`offset_param`/`limit_param` query parameters. Stops at an empty page, at the total found
    at `total_path` (when the API gives one), or at `maximum_offset`."""

    def __init__(
        self,
        limit: int,
        offset: int = 0,
        offset_param: str = "offset",
        limit_param: str = "limit",
        total_path: str | None = "total",
        maximum_offset: int | None = None,
    ) -> None:
        if not isinstance(limit, int) or limit <= 0:
            raise ConfigError("offset paginator: limit must be a whole number > 0", key="limit")
        self.limit, self.offset = limit, offset
        self.offset_param, self.limit_param = offset_param, limit_param
        self.total_path, self.maximum_offset = total_path, maximum_offset
        self._start = offset

    def fresh(self) -> Paginator:
        made = super().fresh()
        assert isinstance(made, OffsetPaginator)
        made.offset = made._start
        return made

    def init_request(self, request: PageRequest) -> None:
        request.params[self.offset_param] = self.offset
        request.params[self.limit_param] = self.limit

    def update_state(self, response: requests.Response, data: list[Any]) -> None:
        self.offset += self.limit
        total = json_path.find(_body(response), self.total_path) if self.total_path else None
        self.has_next_page = bool(data) and not (
            (isinstance(total, int) and self.offset >= total)
            or (self.maximum_offset is not None and self.offset >= self.maximum_offset)
        )

    def update_request(self, request: PageRequest) -> None:
        request.params[self.offset_param] = self.offset


class PageNumberPaginator(Paginator):
    """`page_param=base_page, base_page + 1, ...`. Stops at an empty page, after the number of
    pages found at `total_path` (when the API gives one), or after `maximum_page`."""

    def __init__(
        self,
        base_page: int = 1,
        page_param: str = "page",
        total_path: str | None = "total_pages",
        maximum_page: int | None = None,
    ) -> None:
        self.base_page, self.page = base_page, base_page
        self.page_param, self.total_path, self.maximum_page = page_param, total_path, maximum_page

    def fresh(self) -> Paginator:
        made = super().fresh()
        assert isinstance(made, PageNumberPaginator)
        made.page = made.base_page
        return made

    def init_request(self, request: PageRequest) -> None:
        request.params[self.page_param] = self.page

    def update_state(self, response: requests.Response, data: list[Any]) -> None:
        self.page += 1
        pages = json_path.find(_body(response), self.total_path) if self.total_path else None
        last = self.maximum_page
        if isinstance(pages, int):
            last = pages + self.base_page - 1 if last is None else min(last, pages)
        self.has_next_page = bool(data) and (last is None or self.page <= last)

    def update_request(self, request: PageRequest) -> None:
        request.params[self.page_param] = self.page


PAGINATORS: dict[str, type[Paginator]] = {
    "single_page": SinglePagePaginator,
    "header_link": HeaderLinkPaginator,
    "json_link": JSONLinkPaginator,
    "cursor": JSONCursorPaginator,
    "record_cursor": RecordCursorPaginator,
    "offset": OffsetPaginator,
    "page_number": PageNumberPaginator,
}


def paginator_from_config(config: Any, owner: str) -> Paginator | None:
    """`"auto"` or None (detect from the first response: None), a type name, a dict with `type`
    and the paginator's arguments, or a `Paginator`."""
    if config is None or config == "auto" or isinstance(config, Paginator):
        return config if isinstance(config, Paginator) else None
    settings = {"type": config} if isinstance(config, str) else config
    if not isinstance(settings, dict) or settings.get("type") not in PAGINATORS:
        raise ConfigError(
            f"{owner}: paginator must be 'auto', one of {sorted(PAGINATORS)}, a dict with a "
            f"'type' among them, or a Paginator; got {config!r}",
            key="paginator",
        )
    arguments = {key: value for key, value in settings.items() if key != "type"}
    return build(PAGINATORS[settings["type"]], arguments, owner, f"paginator {settings['type']!r}")


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


__all__ = [
    "PAGINATORS",
    "HeaderLinkPaginator",
    "JSONCursorPaginator",
    "JSONLinkPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "Paginator",
    "RecordCursorPaginator",
    "SinglePagePaginator",
    "paginator_from_config",
]
