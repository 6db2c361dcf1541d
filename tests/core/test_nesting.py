"""Nested data: dicts flatten into columns, lists become child tables linked to their parents."""

from __future__ import annotations

import ladle
from tests.conftest import PipelineFactory, rows


def test_child_tables_link_to_parents_in_list_order(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    data = [
        {"id": 1, "address": {"city": "Oslo", "geo": {"lat": 59.9}}, "tags": ["x", "y", "z"]},
        {"id": 2, "orders": [{"sku": "a", "lines": [{"n": 1}, {"n": 2}]}, {"sku": "b"}]},
    ]
    info = pipeline.run(data, table_name="users")
    assert info.row_counts == {
        "users": 2,
        "users__tags": 3,
        "users__orders": 2,
        "users__orders__lines": 2,
    }
    users = {r["id"]: r for r in rows(pipeline, "SELECT * FROM users")}
    assert users[1]["address__city"] == "Oslo"
    assert users[1]["address__geo__lat"] == 59.9
    tags = rows(pipeline, "SELECT * FROM users__tags ORDER BY _ladle_list_idx")
    assert [t["value"] for t in tags] == ["x", "y", "z"]
    assert {t["_ladle_parent_id"] for t in tags} == {users[1]["_ladle_id"]}
    lines = rows(
        pipeline,
        "SELECT o.sku, l.n, l._ladle_list_idx AS idx FROM users__orders o "
        "JOIN users__orders__lines l ON l._ladle_parent_id = o._ladle_id "
        "JOIN users u ON o._ladle_parent_id = u._ladle_id WHERE u.id = 2 ORDER BY idx",
    )
    assert lines == [{"sku": "a", "n": 1, "idx": 0}, {"sku": "a", "n": 2, "idx": 1}]
    load_ids = rows(pipeline, "SELECT DISTINCT _ladle_load_id AS l FROM users__orders__lines")
    assert load_ids == [{"l": info.load_id}]
    assert pipeline.schema.tables["users__orders__lines"].parent == "users__orders"


def test_max_table_nesting_keeps_deeper_data_as_json(make_pipeline: PipelineFactory) -> None:
    @ladle.resource(max_table_nesting=1)
    def events() -> object:
        yield {
            "id": 1,
            "payload": {"commits": [{"sha": "abc"}]},
            "labels": [{"name": "bug", "meta": {"c": 1}}],
        }

    pipeline = make_pipeline()
    pipeline.run(events())
    tables = pipeline.schema.tables
    assert tables["events"].columns["payload__commits"].data_type == "json"
    assert tables["events__labels"].columns["meta"].data_type == "json"
    got = rows(pipeline, "SELECT payload__commits::VARCHAR AS c FROM events")
    assert got == [{"c": '[{"sha":"abc"}]'}]


def test_source_level_nesting_zero_stores_everything_nested_as_json(
    make_pipeline: PipelineFactory,
) -> None:
    @ladle.source(max_table_nesting=0)
    def flat() -> object:
        return ladle.resource([{"id": 1, "a": {"b": 1}, "c": [1, 2]}], name="items")

    pipeline = make_pipeline()
    info = pipeline.run(flat())
    assert info.row_counts == {"items": 1}
    assert {
        n: c.data_type for n, c in pipeline.schema.tables["items"].columns.items() if n in "ac"
    } == {
        "a": "json",
        "c": "json",
    }


def test_names_are_snake_case_unique_and_keep_the_original(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run(
        [{"userId": 1, "user_id": 2, "Straße Nr.": 3, "2fa": True, "select": "kw", "名前": "x"}],
        table_name="Weird Table!",
    )
    table = pipeline.schema.tables["weird_table"]
    by_path = {c.source_path: c.name for c in table.columns.values() if c.source_path}
    assert by_path[("userId",)] == "user_id"
    assert by_path[("user_id",)] == "user_id_2"
    assert by_path[("Straße Nr.",)] == "strasse_nr"
    assert by_path[("2fa",)] == "_2fa"
    assert by_path[("select",)] == "select"
    assert by_path[("名前",)].startswith("_")
    assert rows(pipeline, 'SELECT user_id, user_id_2, "select" FROM weird_table') == [
        {"user_id": 1, "user_id_2": 2, "select": "kw"}
    ]


def test_schema_evolves_new_columns_and_child_tables_across_runs(
    make_pipeline: PipelineFactory,
) -> None:
    pipeline = make_pipeline()
    pipeline.run([{"id": 1}], table_name="t")
    info = pipeline.run([{"id": 2, "extra": "e", "items": [{"k": 1}]}], table_name="t")
    assert set(info.schema_changes) == {"new column t.extra (text)", "new table t__items"}
    assert pipeline.schema.version == 2
    assert rows(pipeline, "SELECT id, extra FROM t ORDER BY id") == [
        {"id": 1, "extra": None},
        {"id": 2, "extra": "e"},
    ]
    stored = rows(pipeline, "SELECT version FROM _ladle_schemas ORDER BY version")
    assert [r["version"] for r in stored] == [1, 2]
