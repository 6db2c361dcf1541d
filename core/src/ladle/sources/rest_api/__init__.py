"""REST APIs as ladle sources, by configuration: `rest_api_source(config)`.

Pagination (detected or configured), auth (bearer, API key, HTTP basic, OAuth2 client
credentials), parent-child resources, incremental params, `response_actions`, retries on 429 and
5xx honouring `Retry-After`, and timeouts. `RESTClient` does the HTTP and is usable on its own in
`@ladle.resource` code: `yield from client.paginate("customers")`.
"""

from ladle.sources.rest_api.auth import (
    APIKeyAuth,
    Auth,
    BearerTokenAuth,
    HttpBasicAuth,
    OAuth2ClientCredentials,
)
from ladle.sources.rest_api.client import RESTClient
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
from ladle.sources.rest_api.retry import RetryPolicy
from ladle.sources.rest_api.source import rest_api_resources, rest_api_source

__all__ = [
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
]
