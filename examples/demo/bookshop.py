"""A ladle source for a small bookshop REST API: customers, their orders and their reviews."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import requests

import ladle

Page = list[dict[str, Any]]


def paginate(url: str) -> Iterator[Page]:
    """Yield the `data` of each page of `url`, following `next_page` until it is null."""
    page: int | None = 1
    while page is not None:
        response = requests.get(url, params={"page": page}, timeout=10)
        response.raise_for_status()
        body = response.json()
        yield body["data"]
        page = body["next_page"]


@ladle.source
def bookshop(base_url: str) -> tuple[ladle.Resource, ...]:
    # The API has no "changed since" filter: every run reads it all and replaces the tables.
    @ladle.resource(primary_key="id", write_disposition="replace")
    def customers() -> Iterator[Page]:
        yield from paginate(f"{base_url}/customers")

    @ladle.resource(primary_key="id", write_disposition="replace")
    def orders() -> Iterator[Page]:
        yield from paginate(f"{base_url}/orders")

    @ladle.transformer(data_from=customers, primary_key="id", write_disposition="replace")
    def reviews(customers_page: Page) -> Iterator[Page]:
        for customer in customers_page:
            yield from paginate(f"{base_url}/customers/{customer['id']}/reviews")

    return customers, orders, reviews
