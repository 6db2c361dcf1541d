"""The orchestration plan: units from a source without running it, and running one unit."""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import ladle
import ladle.orchestration
from ladle.orchestration import Plan, SourceRef, Unit, plan, run_unit
from tests.conftest import PipelineFactory, rows

CALLS: list[str] = []  # resource functions append here when called: planning must call none


@ladle.source
def shop(days: int = 3, fail: str | None = None) -> Any:
    @ladle.resource(primary_key="id", write_disposition="replace")
    def customers() -> Iterator[list[dict[str, Any]]]:
        """Customers of the shop."""
        CALLS.append("customers")
        yield [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]

    @ladle.resource(primary_key="id")
    def orders(
        placed_at: Any = ladle.incremental("placed_at", initial_value="2024-01-01T00:00:00Z"),
    ) -> Iterator[list[dict[str, Any]]]:
        CALLS.append("orders")
        if fail == "orders":
            raise RuntimeError("orders API is down")
        yield [
            {"id": n, "placed_at": f"2024-01-{n:02d}T12:00:00Z"}
            for n in range(1, days + 1)
            if f"2024-01-{n:02d}T12:00:00Z" >= placed_at.last_value
        ]

    @ladle.transformer(data_from=customers, write_disposition="replace", primary_key="id")
    def reviews(page: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        CALLS.append("reviews")
        for customer in page:
            yield {"id": customer["id"] * 10, "customer_id": customer["id"], "stars": 5}

    return customers, orders, reviews


@pytest.fixture(autouse=True)
def _no_calls() -> None:
    CALLS.clear()


# -- the plan ------------------------------------------------------------------------------------
def test_a_transformer_runs_in_its_selected_parents_unit() -> None:
    work = plan(shop())
    assert work.unit_ids == ("customers", "orders")
    customers, orders = work.units
    assert customers == Unit(
        id="customers",
        source_name="shop",
        resources=("customers", "reviews"),
        tables=("customers", "reviews"),
        description=customers.description,
        incremental=False,
        write_disposition="replace",
    )
    assert customers.description.startswith("customers -> table customers: Customers of the shop")
    assert orders.incremental
    assert orders.write_disposition == "append"
    assert orders.tables == ("orders",)
    assert orders.depends_on == ()


def test_planning_calls_no_resource_function_and_starts_no_generator() -> None:
    def rows_from_an_api() -> Iterator[dict[str, int]]:
        CALLS.append("generator")
        yield {"id": 1}

    generator = rows_from_an_api()
    source = ladle.source(name="s")(lambda: ladle.resource(generator, name="g"))()
    assert plan(source).unit_ids == ("g",)
    plan(shop())
    assert CALLS == []
    assert inspect.getgeneratorstate(generator) == inspect.GEN_CREATED


def test_a_transformer_without_its_parent_is_a_unit_that_runs_the_parent_unselected() -> None:
    work = plan(shop().with_resources("reviews", "orders"))
    assert work.unit_ids == ("orders", "reviews")
    reviews = work.unit("reviews")
    assert reviews.resources == ("reviews",)
    assert reviews.also_runs == ("customers",)
    assert reviews.tables == ("reviews",)
    assert "extracted but not loaded" in reviews.description
    assert work.resource("customers").selected is False
    assert work.resource("reviews").parent == "customers"


def test_a_chain_of_transformers_without_its_root() -> None:
    @ladle.resource
    def pages() -> Iterator[list[dict[str, int]]]:
        yield [{"id": 1}]

    @ladle.transformer(data_from=pages)
    def details(page: list[dict[str, int]]) -> Iterator[dict[str, int]]:
        yield from page

    @ladle.transformer(data_from=details)
    def notes(item: dict[str, int]) -> Iterator[dict[str, int]]:
        yield item

    source = ladle.source(name="chain")(lambda: [pages, details, notes])()
    assert plan(source).unit("pages").resources == ("pages", "details", "notes")
    part = plan(source.with_resources("details", "notes"))
    assert part.unit_ids == ("details",)
    assert part.unit("details").resources == ("details", "notes")
    assert part.unit("details").also_runs == ("pages",)
    only_notes = plan(source.with_resources("notes")).unit("notes")
    assert only_notes.also_runs == ("pages", "details")


def test_unit_ids_are_sanitized_and_unique() -> None:
    first = ladle.resource([{"a": 1}], name="Order Lines")
    second = ladle.resource([{"a": 1}], name="order_lines")
    work = plan(ladle.source(name="s")(lambda: [first, second])())
    assert work.unit_ids == ("order_lines", "order_lines_2")
    assert work.unit("order_lines").tables == ("order_lines",)


def test_tables_named_per_item_are_reported_as_unknown() -> None:
    routed = ladle.resource([{"kind": "a"}], name="events", table_name=lambda row: row["kind"])
    unit = plan(ladle.source(name="s")(lambda: routed)()).unit("events")
    assert unit.tables == ()
    assert unit.dynamic_tables


def test_incremental_detection_follows_bound_arguments() -> None:
    @ladle.resource
    def items(cursor: Any = None) -> Iterator[dict[str, int]]:
        yield {"id": 1}

    bound = items(cursor=ladle.incremental("id", initial_value=0))
    assert plan(ladle.source(name="s")(lambda: bound)()).units[0].incremental
    assert not plan(ladle.source(name="s")(lambda: items)()).units[0].incremental


def test_waves_order_units_by_depends_on_and_refuse_cycles() -> None:
    work = plan(shop())
    customers = dataclasses.replace(work.unit("customers"), depends_on=("orders",))
    ordered = dataclasses.replace(work, units=(customers, work.unit("orders")))
    assert [u.id for u in ordered.ordered()] == ["orders", "customers"]
    assert [[u.id for u in wave] for wave in ordered.waves()] == [["orders"], ["customers"]]
    orders = dataclasses.replace(work.unit("orders"), depends_on=("customers",))
    with pytest.raises(ladle.ConfigError, match="cycle"):
        dataclasses.replace(work, units=(customers, orders))
    with pytest.raises(ladle.ConfigError, match="unknown unit"):
        dataclasses.replace(work, units=(customers,))
    with pytest.raises(ladle.ConfigError, match="repeat"):
        dataclasses.replace(work, units=(work.units[0], work.units[0]))
    with pytest.raises(ladle.ConfigError, match="has no unit 'nope'"):
        work.unit("nope")


def test_the_whole_source_as_one_unit() -> None:
    whole = plan(shop()).as_single_unit()
    (unit,) = whole.units
    assert unit.id == "shop"
    assert unit.resources == ("customers", "reviews", "orders")
    assert unit.tables == ("customers", "reviews", "orders")
    assert unit.incremental
    assert unit.write_disposition is None  # replace and append


def test_a_plan_is_plain_data_that_rebuilds_its_source_elsewhere() -> None:
    work = plan(shop(days=2))
    assert work.source_ref == SourceRef("tests.core.test_orchestration:shop", (), {"days": 2})
    copied: Plan = pickle.loads(pickle.dumps(work))
    assert copied == work
    assert copied.source_ref is not None
    rebuilt = copied.source_ref.load()
    assert rebuilt.name == "shop"
    assert plan(rebuilt).units == work.units


def test_a_source_defined_in_a_function_cannot_be_rebuilt() -> None:
    local = ladle.source(name="local")(lambda: ladle.resource([{"a": 1}], name="a"))()
    ref = plan(local).source_ref
    assert ref is not None
    with pytest.raises(ladle.ConfigError, match="module level"):
        ref.load()
    with pytest.raises(ladle.ConfigError, match="cannot import"):
        SourceRef("no_such_module_anywhere:src").load()


def test_plan_takes_a_source() -> None:
    with pytest.raises(ladle.ConfigError, match="plan\\(\\) takes a source"):
        plan([{"a": 1}])  # type: ignore[arg-type]


def test_public_api_is_pinned() -> None:
    assert set(ladle.orchestration.__all__) == {
        "Plan",
        "ResourceSpec",
        "SourceRef",
        "Unit",
        "plan",
        "retry_can_help",
        "run_unit",
        "unit_pipeline",
    }


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (ladle.StateConflict("another worker committed first"), True),
        (ladle.ExtractError("the API timed out", resource="users"), True),
        (RuntimeError("not ladle's"), True),
        (ladle.ConfigError("bad key", key="mode"), False),
        (ladle.ContractViolation("frozen"), False),
    ],
)
def test_retry_can_help(error: BaseException, retry: bool) -> None:
    assert ladle.orchestration.retry_can_help(error) is retry


# -- running one unit ----------------------------------------------------------------------------
def test_run_unit_loads_only_its_resources(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline("shop")
    work = plan(shop())
    info = run_unit(pipeline, shop(), work.unit("orders"))
    assert info.row_counts == {"orders": 3}
    assert CALLS == ["orders"]
    info = run_unit(pipeline, shop(), work.unit("customers"))
    assert info.row_counts == {"customers": 2, "reviews": 2}


def test_run_unit_continues_from_the_destination_on_an_empty_disk(
    make_pipeline: PipelineFactory,
) -> None:
    unit = plan(shop()).unit("orders")
    run_unit(make_pipeline("shop", workdir="worker_a"), shop(days=2), unit)
    fresh = make_pipeline("shop", workdir="worker_b")
    info = run_unit(fresh, shop(days=4), unit)
    assert info.row_counts == {"orders": 2}
    assert rows(fresh, "SELECT count(*) AS n FROM orders") == [{"n": 4}]


def test_run_unit_window_bounds_the_cursor_without_moving_it(
    make_pipeline: PipelineFactory,
) -> None:
    pipeline = make_pipeline("shop")
    unit = plan(shop()).unit("orders")
    window = ("2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z")
    info = run_unit(pipeline, shop(days=5), unit, window=window)
    assert info.row_counts == {"orders": 1}
    info = run_unit(pipeline, shop(days=5), unit)  # from the initial value: the window moved none
    assert info.row_counts == {"orders": 5}


def test_run_unit_uses_a_folder_per_unit_and_another_destination(
    make_pipeline: PipelineFactory, tmp_path: Path
) -> None:
    pipeline = make_pipeline("shop")
    other = ladle.destinations.duckdb(str(tmp_path / "other.duckdb"))
    run_unit(pipeline, shop(), plan(shop()).unit("orders"), destination=other)
    assert (pipeline.working_dir / "units" / "orders" / "shop").is_dir()
    elsewhere = make_pipeline("shop", destination=other)
    assert rows(elsewhere, "SELECT count(*) AS n FROM orders") == [{"n": 3}]


def test_a_failing_unit_raises_the_resources_error(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline("shop")
    with pytest.raises(ladle.ExtractError, match="orders") as raised:
        run_unit(pipeline, shop(fail="orders"), plan(shop()).unit("orders"))
    assert isinstance(pickle.loads(pickle.dumps(raised.value)), ladle.ExtractError)


def test_run_unit_refuses_a_unit_of_another_source(make_pipeline: PipelineFactory) -> None:
    other = ladle.source(name="other")(lambda: ladle.resource([{"a": 1}], name="orders"))()
    with pytest.raises(ladle.ConfigError, match="belongs to source 'shop'"):
        run_unit(make_pipeline(), other, plan(shop()).unit("orders"))
