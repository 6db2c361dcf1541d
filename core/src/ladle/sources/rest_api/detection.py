"""Guesses from a first response: where its records are, and how it paginates.

Used when the config says `data_selector=None` / `paginator="auto"`, and by the OpenAPI
generator on response schemas. The lists of names are what common APIs use."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

from ladle.sources.rest_api import json_path
from ladle.sources.rest_api.paginators import (
    HeaderLinkPaginator,
    JSONCursorPaginator,
    JSONLinkPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
    RecordCursorPaginator,
    SinglePagePaginator,
)

ENVELOPE_KEYS = (
    "data",
    "items",
    "results",
    "records",
    "entries",
    "values",
    "objects",
    "rows",
    "value",
    "elements",
    "content",
    "hits",
    "list",
)
NEXT_URL_PATHS = (
    "next",
    "next_url",
    "nextUrl",
    "next_page_url",
    "links.next",
    "links.next.href",
    "_links.next.href",
    "_links.next",
    "pagination.next",
    "paging.next",
    "meta.next",
    "meta.pagination.links.next",
)
# (where the token is, the query parameter it goes back in)
CURSOR_PATHS = (
    ("next_cursor", "cursor"),
    ("meta.next_cursor", "cursor"),
    ("pagination.next_cursor", "cursor"),
    ("response_metadata.next_cursor", "cursor"),
    ("cursors.next", "cursor"),
    ("paging.cursors.after", "after"),
    ("next_page_token", "page_token"),
    ("nextPageToken", "pageToken"),
    ("next_page", "page"),
    ("meta.next_page", "page"),
    ("pagination.next_page", "page"),
)
TOTAL_PAGES_PATHS = ("total_pages", "totalPages", "meta.total_pages", "pagination.total_pages")


def record_path(body: Any) -> str | None:
    """The JSON path of the list of records in `body`: `"$"` for a list, an envelope key
    (`"data"`, `"results"`, `"data.items"`, ...), the only list of objects, or None."""
    if isinstance(body, list):
        return "$"
    if not isinstance(body, dict):
        return None
    for key in ENVELOPE_KEYS:
        if isinstance(body.get(key), list):
            return key
    for key in ENVELOPE_KEYS:
        inner = body.get(key)
        if isinstance(inner, dict):
            found = record_path(inner)
            if found not in (None, "$"):
                return f"{key}.{found}"
    lists = [k for k, v in body.items() if isinstance(v, list) and v and isinstance(v[0], dict)]
    return lists[0] if len(lists) == 1 else None


def select_records(body: Any, data_selector: str | None) -> list[Any]:
    """The records of a response body: at `data_selector`, or detected (see `record_path`). A
    body that is one object with no list of records is one record."""
    path = data_selector if data_selector is not None else record_path(body)
    if path is None:
        return [body] if isinstance(body, dict) and body else []
    found = json_path.find(body, path)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


def detect_paginator(response: requests.Response, body: Any) -> Paginator:
    """The paginator a first response suggests; `SinglePagePaginator` when nothing does."""
    if "next" in response.links:
        return HeaderLinkPaginator()
    if not isinstance(body, dict):
        return SinglePagePaginator()
    for path in NEXT_URL_PATHS:
        value = json_path.find(body, path)
        if _looks_like_url(value) or (value is None and _has_path(body, path)):
            return JSONLinkPaginator(path)
    for path, param in CURSOR_PATHS:
        if _has_path(body, path) and not isinstance(json_path.find(body, path), (dict, list)):
            return JSONCursorPaginator(path, cursor_param=param)
    for path in TOTAL_PAGES_PATHS:
        if isinstance(json_path.find(body, path), int):
            return PageNumberPaginator(total_path=path)
    if isinstance(body.get("has_more"), bool) and isinstance(body.get("data"), list):
        return RecordCursorPaginator()
    limit = body.get("limit")
    if "offset" in body and isinstance(limit, int) and limit > 0:
        return OffsetPaginator(limit=limit, total_path="total" if "total" in body else None)
    return SinglePagePaginator()


def _looks_like_url(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    split = urlsplit(value)
    return bool(split.scheme in ("http", "https") or value.startswith("/") or split.query)


def _has_path(body: dict[str, Any], path: str) -> bool:
    *parents, last = json_path.parse(path)
    holder = json_path.find(body, tuple(parents)) if parents else body
    return isinstance(holder, dict) and last in holder
