"""The REST API source's public names are a decision, pinned here."""

from __future__ import annotations

import ladle.sources.rest_api as rest_api

PUBLIC = {
    "APIKeyAuth",
    "Auth",
    "BearerTokenAuth",
    "HeaderLinkPaginator",
    "HttpBasicAuth",
    "JSONCursorPaginator",
    "JSONLinkPaginator",
    "OAuth2ClientCredentials",
    "OffsetPaginator",
    "PageNumberPaginator",
    "Paginator",
    "RESTClient",
    "RecordCursorPaginator",
    "RetryPolicy",
    "SinglePagePaginator",
    "rest_api_resources",
    "rest_api_source",
}


def test_rest_api_all_is_pinned() -> None:
    assert set(rest_api.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(rest_api, name), name
