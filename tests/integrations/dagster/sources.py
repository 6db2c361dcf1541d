"""A source function with a parameter, at module level: static partitions rebuild it by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ladle


@ladle.source(name="shops")
def shops(region: str = "eu") -> Any:
    """`orders` of one region (merge on id), so each region's partition loads its own rows."""

    @ladle.resource(primary_key="id", write_disposition="merge")
    def orders() -> Iterator[list[dict[str, Any]]]:
        yield [{"id": f"{region}-{n}", "region": region, "total": n * 10} for n in (1, 2)]

    return orders
