"""`rest_api_source` end to end into DuckDB files: parent-child, incremental, response actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import ladle
from ladle.sources.rest_api import RESTClient, rest_api_source
from ladle.sources.rest_api.local_api import ApiReply, ApiRequest, LocalApi
from tests.conftest import rows


class Shop:
    """Orders with items; `orders?updated_since=` filters; order 3's items are gone (404)."""

    def __init__(self) -> None:
        self.orders = [
            {"id": 1, "status": "paid", "updated_at": "2024-05-01T09:00:00Z"},
            {"id": 2, "status": "open", "updated_at": "2024-05-02T09:00:00Z"},
            {"id": 3, "status": "open", "updated_at": "2024-05-03T09:00:00Z"},
        ]

    def list_orders(self, request: ApiRequest) -> dict[str, Any]:
        since = request.query.get("updated_since", "")
        found = [o for o in self.orders if o["updated_at"] >= since]
        page = int(request.query.get("page", "1"))
        return {"data": found[(page - 1) * 2 : page * 2], "total_pages": (len(found) + 1) // 2}

    def items(self, request: ApiRequest) -> ApiReply:
        order_id = int(request.path.split("/")[-2])
        if order_id == 3:
            return ApiReply({"error": "order archived"}, 404)
        return ApiReply([{"sku": f"sku-{order_id}-{n}", "qty": n} for n in (1, 2)])

    def routes(self) -> dict[str, Any]:
        return {"/v1/orders": self.list_orders, "/v1/orders/{id}/items": self.items}


def shop_config(url: str, **client: Any) -> dict[str, Any]:
    return {
        "client": {"base_url": f"{url}/v1/", **client},
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": [
            {
                "name": "orders",
                "endpoint": {
                    "path": "orders",
                    "params": {
                        "updated_since": {
                            "type": "incremental",
                            "cursor_path": "updated_at",
                            "initial_value": "2024-01-01T00:00:00Z",
                        }
                    },
                },
            },
            {
                "name": "order_items",
                "primary_key": "sku",
                "endpoint": {
                    "path": "orders/{order_id}/items",
                    "params": {
                        "order_id": {"type": "resolve", "resource": "orders", "field": "id"}
                    },
                    "response_actions": [{"status_code": 404, "action": "ignore"}],
                },
            },
        ],
    }


def test_parent_child_with_path_params_and_a_404_ignored(make_pipeline: Any) -> None:
    shop = Shop()
    with LocalApi(shop.routes()) as api:
        info = make_pipeline().run(rest_api_source(shop_config(api.url)))
    assert info.row_counts == {"orders": 3, "order_items": 4}
    paths = [r.path for r in api.requests]
    assert paths.count("/v1/orders") == 2  # two pages, found by total_pages
    assert {"/v1/orders/1/items", "/v1/orders/2/items", "/v1/orders/3/items"} <= set(paths)
    pipeline = make_pipeline()
    assert rows(pipeline, "SELECT sku, _orders_id FROM order_items ORDER BY sku") == [
        {"sku": "sku-1-1", "_orders_id": 1},
        {"sku": "sku-1-2", "_orders_id": 1},
        {"sku": "sku-2-1", "_orders_id": 2},
        {"sku": "sku-2-2", "_orders_id": 2},
    ]


def test_incremental_across_two_runs_into_a_duckdb_file(tmp_path: Path) -> None:
    shop = Shop()
    database = tmp_path / "shop.duckdb"

    def run(api: LocalApi, worker: str) -> ladle.LoadInfo:
        pipeline = ladle.pipeline(
            "shop",
            destination=ladle.destinations.duckdb(str(database)),
            pipelines_dir=str(tmp_path / worker),
            progress=False,
        )
        return pipeline.run(rest_api_source(shop_config(api.url)).with_resources("orders"))

    with LocalApi(shop.routes()) as api:
        assert run(api, "first").row_counts == {"orders": 3}
        assert api.requests[0].query["updated_since"] == "2024-01-01T00:00:00Z"
        shop.orders[0] = {"id": 1, "status": "refunded", "updated_at": "2024-05-04T09:00:00Z"}
        api.requests.clear()
        # A fresh worker: the cursor comes back from the destination.
        assert run(api, "second").row_counts == {"orders": 1}
        assert api.requests[0].query["updated_since"] == "2024-05-03T09:00:00Z"
    pipeline = ladle.pipeline(
        "shop", destination=ladle.destinations.duckdb(str(database)), progress=False
    )
    assert rows(pipeline, "SELECT id, status FROM orders ORDER BY id") == [
        {"id": 1, "status": "refunded"},
        {"id": 2, "status": "open"},
        {"id": 3, "status": "open"},
    ]


def test_end_param_bounds_a_backfill(make_pipeline: Any) -> None:
    shop = Shop()
    config = shop_config("")
    with LocalApi(shop.routes()) as api:
        config["client"]["base_url"] = f"{api.url}/v1/"
        config["resources"][0]["endpoint"] = {
            "path": "orders",
            "incremental": {
                "start_param": "updated_since",
                "end_param": "updated_before",
                "cursor_path": "updated_at",
                "initial_value": "2024-05-02T00:00:00Z",
                "end_value": "2024-05-03T00:00:00Z",
            },
        }
        info = make_pipeline().run(rest_api_source(config).with_resources("orders"))
    assert info.row_counts == {"orders": 1}
    assert api.requests[0].query["updated_before"] == "2024-05-03T00:00:00Z"


def test_headers_params_and_json_body_per_resource(make_pipeline: Any) -> None:
    def search(request: ApiRequest) -> ApiReply:
        assert request.method == "POST"
        assert request.headers["X-Tenant"] == "acme"
        assert request.query == {"v": "2"}
        return ApiReply({"results": [{"id": n, "q": request.json()["q"]} for n in (1, 2)]})

    config = {
        "client": {"base_url": "", "headers": {"X-Tenant": "acme"}, "paginator": "single_page"},
        "resources": [
            {
                "name": "hits",
                "endpoint": {
                    "path": "search",
                    "method": "post",
                    "params": {"v": 2},
                    "json": {"q": "ladle"},
                },
            }
        ],
    }
    with LocalApi({"/search": search}) as api:
        config["client"]["base_url"] = api.url  # type: ignore[index]
        make_pipeline().run(rest_api_source(config))
    assert rows(make_pipeline(), "SELECT id, q FROM hits ORDER BY id") == [
        {"id": 1, "q": "ladle"},
        {"id": 2, "q": "ladle"},
    ]


def test_an_unignored_404_fails_naming_the_resource(make_pipeline: Any) -> None:
    shop = Shop()
    with LocalApi(shop.routes()) as api:
        config = shop_config(api.url)
        del config["resources"][1]["endpoint"]["response_actions"]
        with pytest.raises(ladle.ExtractError) as caught:
            make_pipeline().run(rest_api_source(config))
    assert "resource 'order_items'" in str(caught.value)
    assert "/v1/orders/3/items answered 404" in str(caught.value)


def _resource(**changes: Any) -> dict[str, Any]:
    return {"name": "things", **changes}


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"resources": ["a"]}, "client.base_url"),
        ({"client": {"base_url": "ftp://x"}, "resources": ["a"]}, "client.base_url"),
        ({"client": {"base_url": "http://x", "verify": 1}, "resources": ["a"]}, "client.verify"),
        ({"client": {"base_url": "http://x"}, "resources": []}, "resources"),
        ({"client": {"base_url": "http://x"}, "resources": [_resource(pk="id")]}, "pk"),
        (
            {"client": {"base_url": "http://x"}, "resources": [_resource(endpoint={"pth": "x"})]},
            "endpoint.pth",
        ),
        (
            {"client": {"base_url": "http://x"}, "resources": [_resource(endpoint="a/{id}/b")]},
            "endpoint.path",
        ),
        (
            {
                "client": {"base_url": "http://x"},
                "resources": [
                    _resource(
                        endpoint={
                            "path": "a/{id}",
                            "params": {
                                "id": {"type": "resolve", "resource": "nope", "field": "id"}
                            },
                        }
                    )
                ],
            },
            "endpoint.params",
        ),
        (
            {
                "client": {"base_url": "http://x"},
                "resources": [_resource(endpoint={"path": "a", "paginator": "pages"})],
            },
            "paginator",
        ),
        (
            {
                "client": {"base_url": "http://x"},
                "resources": [_resource(endpoint={"path": "a", "paginator": {"type": "offset"}})],
            },
            "paginator 'offset'.limit",
        ),
        (
            {
                "client": {"base_url": "http://x"},
                "resources": [
                    _resource(
                        endpoint={
                            "path": "a",
                            "params": {"since": {"type": "incremental", "initial_value": 1}},
                        }
                    )
                ],
            },
            "incremental.cursor_path",
        ),
        (
            {
                "client": {"base_url": "http://x"},
                "resources": [
                    _resource(endpoint={"path": "a", "response_actions": [{"action": "retry"}]})
                ],
            },
            "response_actions.action",
        ),
        (
            {"client": {"base_url": "http://x"}, "resources": [_resource(write_disposition="x")]},
            "write_disposition",
        ),
    ],
)
def test_bad_config_is_a_config_error_naming_the_key(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ladle.ConfigError) as caught:
        rest_api_source(config)
    assert caught.value.key == key, str(caught.value)  # type: ignore[attr-defined]
    resources = config.get("resources") or []
    if resources and isinstance(resources[0], dict) and key not in ("resources",):
        assert "things" in str(caught.value)


def test_rest_client_inside_a_resource(make_pipeline: Any) -> None:
    shop = Shop()
    with LocalApi(shop.routes()) as api:
        client = RESTClient(f"{api.url}/v1")

        @ladle.resource(primary_key="id")
        def open_orders() -> Any:
            for page in client.paginate("orders"):
                yield [order for order in page if order["status"] == "open"]

        assert make_pipeline().run(open_orders()).row_counts == {"open_orders": 2}
