"""The request for one page: what a paginator reads and changes between pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PageRequest:
    """Method, absolute URL, query parameters, JSON body and headers of the next request.

    Mutable on purpose: a paginator moves it from one page to the next (`params["page"] += 1`,
    or a new `url`). Each `RESTClient.paginate` call works on its own copy."""

    method: str
    url: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
