"""Each paginator, configured and detected, against a real local HTTP server."""

from __future__ import annotations

from typing import Any

import pytest

from ladle.sources.rest_api import RESTClient
from ladle.sources.rest_api.local_api import ApiReply, ApiRequest, LocalApi
from ladle.sources.rest_api.paginators import paginator_from_config

ROWS = [{"id": n} for n in range(1, 8)]  # 7 records, 3 per page -> pages of 3, 3, 1


def page_of(request: ApiRequest, size: int = 3) -> tuple[int, list[dict[str, int]]]:
    page = int(request.query.get("page", "1"))
    return page, ROWS[(page - 1) * size : page * size]


def header_link(request: ApiRequest) -> ApiReply:
    page, rows = page_of(request)
    more = page * 3 < len(ROWS)
    link = {"Link": f'</items?page={page + 1}>; rel="next", </items?page=1>; rel="first"'}
    return ApiReply(rows, headers=link if more else {})


def json_link(request: ApiRequest) -> dict[str, Any]:  # PokeAPI's shape
    page, rows = page_of(request)
    more = page * 3 < len(ROWS)
    return {"count": 7, "next": f"/items?page={page + 1}" if more else None, "results": rows}


def cursor(request: ApiRequest) -> dict[str, Any]:
    start = int(request.query.get("cursor", "0"))
    rows = ROWS[start : start + 3]
    more = start + 3 < len(ROWS)
    return {"data": rows, "meta": {"next_cursor": str(start + 3) if more else None}}


def offset(request: ApiRequest) -> dict[str, Any]:
    start, limit = int(request.query.get("offset", "0")), int(request.query.get("limit", "3"))
    return {"items": ROWS[start : start + limit], "offset": start, "limit": limit, "total": 7}


def page_number(request: ApiRequest) -> dict[str, Any]:
    page, rows = page_of(request)
    return {"data": rows, "page": page, "total_pages": 3}


def next_page_number(request: ApiRequest) -> dict[str, Any]:  # the demo API's shape
    page, rows = page_of(request)
    return {"data": rows, "next_page": page + 1 if page < 3 else None}


def stripe_like(request: ApiRequest) -> dict[str, Any]:
    after = int(request.query.get("starting_after", "0"))
    rows = [r for r in ROWS if r["id"] > after][:3]
    return {"object": "list", "data": rows, "has_more": rows[-1]["id"] < 7, "url": "/v1/items"}


def empty_page_ends(request: ApiRequest) -> list[dict[str, int]]:
    return page_of(request)[1]


CASES = [
    # (route, configured paginator, what auto-detection must pick)
    (header_link, "header_link", "HeaderLinkPaginator"),
    (json_link, {"type": "json_link", "next_url_path": "next"}, "JSONLinkPaginator"),
    (
        cursor,
        {"type": "cursor", "cursor_path": "meta.next_cursor", "cursor_param": "cursor"},
        "JSONCursorPaginator",
    ),
    (
        next_page_number,
        {"type": "cursor", "cursor_path": "next_page", "cursor_param": "page"},
        None,
    ),
    (offset, {"type": "offset", "limit": 3}, "OffsetPaginator"),
    (stripe_like, "record_cursor", "RecordCursorPaginator"),
    (page_number, {"type": "page_number", "total_path": "total_pages"}, "PageNumberPaginator"),
    (empty_page_ends, {"type": "page_number", "total_path": None}, "SinglePagePaginator"),
]


@pytest.mark.parametrize(
    ("route", "configured", "detected"), CASES, ids=[case[0].__name__ for case in CASES]
)
def test_paginator_reads_every_page(route: Any, configured: Any, detected: str | None) -> None:
    with LocalApi({"/items": route}) as api:
        client = RESTClient(api.url)
        pages = list(client.paginate("items", paginator=paginator_from_config(configured, "t")))
        assert [r["id"] for page in pages for r in page] == [r["id"] for r in ROWS]
        if detected is None:
            return
        auto = list(RESTClient(api.url).paginate("items"))
        got = [r["id"] for page in auto for r in page]
        if detected == "SinglePagePaginator":  # a bare list with no hints: one page only
            assert got == [1, 2, 3]
        else:
            assert got == [r["id"] for r in ROWS], detected


def test_auto_detection_names_the_paginator(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="ladle.sources.rest_api")
    with LocalApi({"/items": json_link}) as api:
        list(RESTClient(api.url).paginate("items"))
    assert "detected JSONLinkPaginator(next_url_path='next')" in caplog.text


def test_single_page_and_selector() -> None:
    body = {"meta": {"n": 2}, "payload": {"things": [{"id": 1}, {"id": 2}]}}
    with LocalApi({"/things": body}) as api:
        client = RESTClient(api.url, data_selector="payload.things")
        pages = list(client.paginate("things", paginator=paginator_from_config("single_page", "t")))
    assert pages == [[{"id": 1}, {"id": 2}]]
    assert len(api.requests) == 1


def test_a_link_back_to_a_page_read_before_stops() -> None:
    with LocalApi({"/loop": {"results": [{"id": 1}], "next": "/loop"}}) as api:
        pages = list(RESTClient(api.url).paginate("loop"))
    assert pages == [[{"id": 1}]]  # its repeat is read, seen to be the same, and not yielded
    assert len(api.requests) == 2


def test_offset_without_total_stops_at_an_empty_page() -> None:
    def no_total(request: ApiRequest) -> list[dict[str, int]]:
        start = int(request.query["offset"])
        return ROWS[start : start + int(request.query["limit"])]

    with LocalApi({"/items": no_total}) as api:
        client = RESTClient(api.url)
        config = {"type": "offset", "limit": 3, "total_path": None}
        pages = list(client.paginate("items", paginator=paginator_from_config(config, "t")))
    assert sum(len(p) for p in pages) == 7
    assert [r.query["offset"] for r in api.requests] == ["0", "3", "6", "9"]


def test_an_api_that_ignores_the_offset_is_read_once(caplog: pytest.LogCaptureFixture) -> None:
    # No total, and every answer is the first page: without a check this never ends.
    with LocalApi({"/items": lambda request: {"items": ROWS[:3]}}) as api:
        config = {"type": "offset", "limit": 3, "total_path": None}
        client = RESTClient(api.url, paginator=paginator_from_config(config, "t"))
        pages = list(client.paginate("items"))
    assert pages == [ROWS[:3]]
    assert len(api.requests) == 2
    assert "answered the same page again" in caplog.text
