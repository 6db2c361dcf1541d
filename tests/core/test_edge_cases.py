"""Regressions found in review: each test pins one behaviour that once went wrong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest

import ladle
from tests.conftest import PipelineFactory, rows


def test_replace_with_an_empty_resource_empties_the_table(make_pipeline: PipelineFactory) -> None:
    data: list[dict[str, Any]] = [{"id": 1, "tags": ["a"]}, {"id": 2}]

    @ladle.resource(write_disposition="replace")
    def items() -> Iterator[dict[str, Any]]:
        yield from data

    pipeline = make_pipeline()
    pipeline.run(items)
    data.clear()
    pipeline.run(items)
    assert rows(pipeline, "SELECT count(*) AS n FROM items") == [{"n": 0}]
    assert rows(pipeline, "SELECT count(*) AS n FROM items__tags") == [{"n": 0}]


def test_parallelized_resource_reusing_one_dict(make_pipeline: PipelineFactory) -> None:
    @ladle.resource(parallelized=True)
    def reused() -> Iterator[dict[str, int]]:
        row: dict[str, int] = {}
        for i in range(500):
            row["i"] = i
            yield row

    pipeline = make_pipeline()
    pipeline.run(reused)
    assert rows(pipeline, "SELECT count(DISTINCT i) AS n FROM reused") == [{"n": 500}]


def test_null_primary_key_is_rejected_before_loading(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    with pytest.raises(ladle.UnsupportedValue) as caught:
        pipeline.run([{"id": 1}, {"id": None}], table_name="pk", primary_key="id")
    assert caught.value.column == "id"
    assert pipeline.packages.pending() == []
    assert pipeline.run([{"id": 3}], table_name="ok").row_counts == {"ok": 1}


def test_transformer_of_a_transformer_whose_ancestors_were_not_returned(
    make_pipeline: PipelineFactory,
) -> None:
    @ladle.resource
    def grandparent() -> Iterator[dict[str, int]]:
        yield {"g": 1}

    @ladle.transformer(data_from=grandparent)
    def parent(item: dict[str, int]) -> Iterator[dict[str, int]]:
        yield {"p": item["g"] + 1}

    @ladle.transformer(data_from=parent)
    def child(item: dict[str, int]) -> Iterator[dict[str, int]]:
        yield {"c": item["p"] + 1}

    @ladle.source
    def chain() -> ladle.Resource:
        return child

    info = make_pipeline().run(chain())
    assert info.row_counts == {"child": 1}


def test_patching_a_copy_leaves_the_original_alone() -> None:
    @ladle.resource
    def items() -> Iterator[dict[str, int]]:
        yield {"i": 1}

    items.copy().add_map(lambda r: r)
    assert items.steps == []


def test_run_hints_do_not_leak_into_the_callers_source(make_pipeline: PipelineFactory) -> None:
    @ladle.source
    def shop() -> ladle.Resource:
        return ladle.resource([{"id": 1}], name="items")

    source = shop()
    make_pipeline().run(source, write_disposition="replace")
    assert source.items.hints.write_disposition == "append"
    with pytest.raises(ladle.ConfigError, match="table_name"):
        make_pipeline().run(source, table_name="other")


def test_nanosecond_timestamps_are_kept_exactly_as_text(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run([{"id": 1, "at": "2024-01-01T10:00:00Z"}], table_name="t")
    pipeline.run([{"id": 2, "at": "2024-01-01T10:00:00.123456789Z"}], table_name="t")
    got = rows(pipeline, "SELECT at__v_text FROM t WHERE id = 2")
    assert got == [{"at__v_text": "2024-01-01T10:00:00.123456789Z"}]


def test_arrow_data_gets_declared_key_hints(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run(pa.table({"id": [1, 2]}), table_name="arr", primary_key="id")
    column = pipeline.schema.tables["arr"].columns["id"]
    assert "primary_key" in column.hints
    assert column.nullable is False


def test_errors_from_plain_functions_and_table_name_functions_name_the_resource(
    make_pipeline: PipelineFactory,
) -> None:
    def down() -> list[dict[str, int]]:
        raise ValueError("api down")

    with pytest.raises(ladle.ExtractError, match="'down'"):
        make_pipeline().run(ladle.resource(down))

    dispatched = ladle.resource([{"x": 1}], name="events", table_name=lambda r: r["kind"])
    with pytest.raises(ladle.ExtractError, match=r"'events'.*table_name"):
        make_pipeline().run(dispatched)
