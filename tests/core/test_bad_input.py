"""Bad input: every failure is a clear `ladle.LadleError`, or a documented, lossless behaviour.

A failed run never half-commits: the destination keeps exactly what it had before (row counts,
columns, no `_ladle_loads` row for the failed run), nothing stays pending, and the next good run
loads normally.
"""

from __future__ import annotations

import math
import pickle
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

import ladle

PipelineMaker = Callable[..., ladle.Pipeline]
Snapshot = dict[str, Any]
LOAD_IDS = "load ids"


@pytest.fixture
def new_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PipelineMaker:
    monkeypatch.chdir(tmp_path)

    def make(name: str = "bad_input", **kwargs: Any) -> ladle.Pipeline:
        kwargs.setdefault("destination", ladle.destinations.duckdb(str(tmp_path / "x.duckdb")))
        return ladle.pipeline(
            name, pipelines_dir=str(tmp_path / "pipelines"), progress=False, **kwargs
        )

    return make


def rows(pipeline: ladle.Pipeline, sql: str) -> list[dict[str, Any]]:
    return pipeline.dataset(sql).to_pylist()  # type: ignore[no-any-return]


def table_names(pipeline: ladle.Pipeline) -> list[str]:
    return sorted(snapshot(pipeline))


def column_types(pipeline: ladle.Pipeline, table: str) -> dict[str, str]:
    found = rows(
        pipeline,
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{pipeline.dataset_name}' AND table_name = '{table}'",
    )
    return {r["column_name"]: r["data_type"] for r in found}


def snapshot(pipeline: ladle.Pipeline) -> Snapshot:
    """Row count and columns of every table of the dataset (system tables included), and the
    ids of all loads, read in one connection."""
    with pipeline.sql_client() as client:
        found = client.query(
            "SELECT table_name, column_name FROM information_schema.columns "
            f"WHERE table_schema = '{pipeline.dataset_name}' ORDER BY ALL"
        ).to_pylist()
        columns: dict[str, list[str]] = {}
        for r in found:
            columns.setdefault(r["table_name"], []).append(r["column_name"])
        out: Snapshot = {
            name: (client.query(f'SELECT count(*) AS n FROM "{name}"')["n"][0].as_py(), names)
            for name, names in columns.items()
        }
        if "_ladle_loads" in columns:
            loads = client.query("SELECT load_id FROM _ladle_loads ORDER BY 1")
            out[LOAD_IDS] = loads["load_id"].to_pylist()
        return out


def assert_untouched(pipeline: ladle.Pipeline, before: Snapshot) -> None:
    """The failed run left no trace in the destination (rows, columns, tables, `_ladle_loads`
    rows) and nothing pending that a later run would load."""
    assert snapshot(pipeline) == before
    assert pipeline.run().load_ids == ()


def load_base(pipeline: ladle.Pipeline, table: str = "things") -> Snapshot:
    info = pipeline.run([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], table_name=table)
    assert info.row_counts == {table: 2}
    before = snapshot(pipeline)
    assert before[table][0] == 2
    assert before[LOAD_IDS] == [info.load_id]
    return before


class Opaque:
    """A plain object with no data type (picklable: defined at module level)."""

    def __init__(self) -> None:
        self.payload = "opaque"


# -- values of no storable type ------------------------------------------------------------------


def _local_instance() -> object:
    class Local:
        pass

    return Local()


# (case, bad record, table and column the error must name)
UNSUPPORTED: list[tuple[str, dict[str, Any], str, str]] = [
    ("instance", {"id": 3, "obj": Opaque()}, "things", "obj"),
    ("bare object", {"id": 3, "obj": object()}, "things", "obj"),
    ("nested", {"id": 3, "meta": {"obj": Opaque()}}, "things", "meta__obj"),
    ("in a list", {"id": 3, "objs": [Opaque()]}, "things__objs", "value"),
    ("normalized name", {"id": 3, "Odd Name": Opaque()}, "things", "odd_name"),
    ("local class", {"id": 3, "obj": _local_instance()}, "things", "obj"),
    ("unpicklable", {"id": 3, "obj": threading.Lock()}, "things", "obj"),
]


def test_object_instance_is_unsupported_value_naming_table_and_column(
    new_pipeline: PipelineMaker,
) -> None:
    pipeline = new_pipeline()
    before = load_base(pipeline)

    for case, record, table, column in UNSUPPORTED:
        with pytest.raises(ladle.UnsupportedValue) as raised:
            pipeline.run([{"id": 10, "name": "fine"}, record], table_name="things")

        err = raised.value
        assert isinstance(err, ladle.SchemaError), case
        assert f"table '{table}'" in str(err), case
        assert f"column '{column}'" in str(err), case
        assert (err.table, err.column) == (table, column), case
        assert_untouched(pipeline, before)

    info = pipeline.run([{"id": 3, "name": "c"}], table_name="things")
    assert info.row_counts == {"things": 1}
    assert snapshot(pipeline)["things"][0] == 3


def test_one_bad_resource_rejects_the_whole_run(new_pipeline: PipelineMaker) -> None:
    @ladle.source
    def two() -> Any:
        good = ladle.resource([{"id": 1}, {"id": 2}], name="good")
        bad = ladle.resource([{"id": 1, "obj": Opaque()}], name="bad")
        return good, bad

    pipeline = new_pipeline()
    pipeline.run(ladle.resource([{"id": 0}], name="good"))
    before = snapshot(pipeline)

    with pytest.raises(ladle.UnsupportedValue, match=r"table 'bad', column 'obj'"):
        pipeline.run(two())

    assert_untouched(pipeline, before)
    assert "bad" not in table_names(pipeline)
    assert rows(pipeline, "SELECT id FROM good") == [{"id": 0}]


# -- floats, bytes -------------------------------------------------------------------------------


# A datetime keeps a record out of the columnar (JSON) path: both paths must give the same.
A_DATETIME = {"at": datetime(2024, 1, 1, tzinfo=timezone.utc)}
BOTH_PATHS = pytest.mark.parametrize("extra", [{}, A_DATETIME], ids=["columnar", "row"])


@BOTH_PATHS
def test_nan_and_inf_load_as_null_as_in_json(
    new_pipeline: PipelineMaker, extra: dict[str, Any]
) -> None:
    pipeline = new_pipeline()
    data = [
        {"id": 1, "x": math.nan, "xs": [math.inf, math.nan], **extra},
        {"id": 2, "x": math.inf, **extra},
        {"id": 3, "x": -math.inf, **extra},
        {"id": 4, "x": 1.5, **extra},
        {"id": 5, "x": -0.0, **extra},
    ]
    info = pipeline.run(data, table_name="floats")

    assert info.row_counts == {"floats": 5, "floats__xs": 2}
    assert column_types(pipeline, "floats")["x"] == "DOUBLE"
    got = {r["id"]: r["x"] for r in rows(pipeline, "SELECT id, x FROM floats")}
    assert got == {1: None, 2: None, 3: None, 4: 1.5, 5: 0.0}
    assert math.copysign(1.0, got[5]) == -1.0
    # The list's items are null: its rows are there, and no value column is made for them.
    assert "value" not in column_types(pipeline, "floats__xs")


@BOTH_PATHS
def test_nan_and_inf_in_a_bigint_column_are_null_without_a_variant(
    new_pipeline: PipelineMaker, extra: dict[str, Any]
) -> None:
    pipeline = new_pipeline()
    pipeline.run([{"id": 1, "x": 7}], table_name="nums")

    pipeline.run(
        [{"id": n, "x": v, **extra} for n, v in [(2, math.nan), (3, math.inf), (4, -math.inf)]],
        table_name="nums",
    )

    assert column_types(pipeline, "nums")["x"] == "BIGINT"
    assert "x__v_double" not in column_types(pipeline, "nums")
    got = rows(pipeline, "SELECT id, x FROM nums ORDER BY id")
    assert [r["x"] for r in got] == [7, None, None, None]


def test_decimal_nan_and_infinity_are_kept_exactly_as_text(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    data = [
        {"id": 1, "d": Decimal("NaN")},
        {"id": 2, "d": Decimal("1.5")},
        {"id": 3, "d": Decimal("-Infinity")},
    ]
    pipeline.run(data, table_name="dec")

    got = rows(pipeline, "SELECT * EXCLUDE (_ladle_id, _ladle_load_id) FROM dec ORDER BY id")
    assert got[1]["d"] == Decimal("1.5")
    assert (got[0]["d"], got[0]["d__v_text"]) == (None, "NaN")
    assert (got[2]["d"], got[2]["d__v_text"]) == (None, "-Infinity")
    # No variant column is created that holds nothing.
    empty = [column for column in got[0] if all(r[column] is None for r in got)]
    assert empty == []


def test_bytes_round_trip_as_binary(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    blobs = [bytes(range(256)), b"", b"\x00\x00", bytearray(b"\xff\xfe")]
    info = pipeline.run(
        [{"id": i, "blob": blob} for i, blob in enumerate(blobs)], table_name="blobs"
    )

    assert info.row_counts == {"blobs": 4}
    assert column_types(pipeline, "blobs")["blob"] == "BLOB"
    got = rows(pipeline, "SELECT blob FROM blobs ORDER BY id")
    assert [r["blob"] for r in got] == [bytes(b) for b in blobs]


# -- deep, cyclic, wide --------------------------------------------------------------------------


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        node = {"k": node}
    return node


def test_deeply_nested_dict_loads_with_the_rest_as_json(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    record = {"id": 1, "deep": _nested(300)}

    info = pipeline.run([record], table_name="deep")

    assert info.row_counts == {"deep": 1}
    table = pipeline.schema.tables["deep"]
    deep_columns = [c for c in table.columns.values() if c.name.startswith("deep__")]
    assert len(deep_columns) == 1
    column = deep_columns[0]
    assert column.data_type == "json"
    path = column.name.split("__")
    assert 1 < len(path) <= 101  # flattened up to the nesting limit, the rest kept whole
    (got,) = rows(pipeline, f'SELECT id, "{column.name}"::VARCHAR AS rest FROM deep')
    assert got["id"] == 1
    # Column path + json text give back the record exactly.
    rebuilt: Any = orjson.loads(got["rest"])
    for key in reversed(path):
        rebuilt = {key: rebuilt}
    assert rebuilt == {"deep": record["deep"]}


def _self_dict() -> dict[str, Any]:
    record: dict[str, Any] = {"id": 3}
    record["me"] = record
    return record


def _self_in_list() -> dict[str, Any]:
    record: dict[str, Any] = {"id": 3, "items": []}
    record["items"].append(record)
    return record


def _self_list() -> dict[str, Any]:
    items: list[Any] = []
    items.append(items)
    return {"id": 3, "items": items}


def test_cyclic_item_is_a_ladle_error_and_loads_nothing(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    before = load_base(pipeline, table="loop")

    for make in (_self_dict, _self_in_list, _self_list):

        @ladle.resource(name="loop")
        def loop(make: Callable[[], dict[str, Any]] = make) -> Iterator[dict[str, Any]]:
            yield {"id": 10, "name": "fine"}
            yield make()

        with pytest.raises(ladle.LadleError) as raised:
            pipeline.run(loop())

        assert "loop" in str(raised.value), make.__name__  # names the resource or the table
        assert_untouched(pipeline, before)

    assert pipeline.run([{"id": 4}], table_name="loop").row_counts == {"loop": 1}


def test_row_with_ten_thousand_columns_loads_them_all(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    record = {f"c{i}": i for i in range(10_000)}

    info = pipeline.run([record], table_name="wide")

    assert info.row_counts == {"wide": 1}
    (got,) = pipeline.dataset("SELECT * FROM wide").to_pylist()
    assert {k: v for k, v in got.items() if not k.startswith("_ladle_")} == record
    assert len(column_types(pipeline, "wide")) == 10_002  # + _ladle_id, _ladle_load_id


# -- empty resources -----------------------------------------------------------------------------


def _empty_generator() -> Any:
    @ladle.resource(name="nothing")
    def nothing() -> Iterator[dict[str, Any]]:
        yield from ()

    return nothing()


def _empty_pages() -> Any:
    @ladle.resource(name="nothing")
    def nothing() -> Iterator[Any]:
        yield []
        yield None
        yield []

    return nothing()


def _filtered_out() -> Any:
    return ladle.resource([{"id": 1}, {"id": 2}], name="nothing").add_filter(lambda r: False)


@pytest.mark.parametrize("make", [_empty_generator, _empty_pages, _filtered_out])
def test_empty_resource_succeeds_and_creates_no_table(
    new_pipeline: PipelineMaker, make: Callable[[], Any]
) -> None:
    pipeline = new_pipeline()
    before = load_base(pipeline)

    info = pipeline.run(make())

    assert info.row_counts == {}
    assert info.total_rows == 0
    assert "nothing" not in pipeline.schema.tables
    # No table; earlier data untouched (an empty run may record a load, but adds no rows).
    after = snapshot(pipeline)
    assert "nothing" not in after
    assert after["things"] == before["things"]
    assert set(before[LOAD_IDS]) <= set(after[LOAD_IDS])


def test_empty_list_data_succeeds(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    info = pipeline.run([], table_name="nothing")
    assert info.row_counts == {}
    assert "nothing" not in table_names(pipeline)


# -- keys ----------------------------------------------------------------------------------------


NON_STRING_KEYS: list[tuple[Any, str]] = [
    (1, "_1"),
    (-3, "_3"),
    (2.5, "_2_5"),
    (None, "none"),
    (False, "false"),
    (10**20, "_1" + "0" * 20),
]


def test_non_string_keys_become_snake_case_columns(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    record: dict[Any, Any] = {"id": 1}
    record.update((key, f"value of {column}") for key, column in NON_STRING_KEYS)

    pipeline.run([record], table_name="keys")

    (got,) = rows(pipeline, "SELECT * FROM keys")
    expected = {column: f"value of {column}" for _, column in NON_STRING_KEYS}
    expected["id"] = 1
    assert {k: v for k, v in got.items() if not k.startswith("_ladle_")} == expected


def test_int_key_and_equal_string_key_keep_both_values(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    pipeline.run([{1: "from int", "1": "from str"}], table_name="keys")

    (got,) = rows(pipeline, "SELECT * FROM keys")
    values = {v for k, v in got.items() if not k.startswith("_ladle_")}
    assert values == {"from int", "from str"}  # two distinct columns, nothing overwritten


# -- configuration errors ------------------------------------------------------------------------


@pytest.mark.parametrize("destination", ["snowflake", "DuckDB", "duck db", "", 42, None])
def test_unknown_destination(tmp_path: Path, destination: Any) -> None:
    with pytest.raises(ladle.UnknownDestination) as raised:
        ladle.pipeline("p", destination=destination, pipelines_dir=str(tmp_path), progress=False)

    err = raised.value
    assert isinstance(err, ladle.ConfigError)
    assert repr(destination) in str(err)
    assert "duckdb" in str(err)  # says what would work
    assert err.destination == str(destination)


@pytest.mark.parametrize("dataset_name", ["My Dataset", "1abc", "data-set", "a__b", "Ünï", ""])
def test_dataset_name_not_an_identifier(tmp_path: Path, dataset_name: str) -> None:
    with pytest.raises(ladle.ConfigError) as raised:
        ladle.pipeline(
            "p",
            destination=ladle.destinations.duckdb(str(tmp_path / "x.duckdb")),
            dataset_name=dataset_name,
            pipelines_dir=str(tmp_path),
            progress=False,
        )

    assert raised.value.key == "dataset_name"
    assert repr(dataset_name) in str(raised.value)
    assert not (tmp_path / "x.duckdb").exists()


def test_snake_case_dataset_name_is_used(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline(dataset_name="raw_crm_2")
    pipeline.run([{"id": 1}], table_name="t")
    assert "t" in table_names(pipeline)
    assert rows(pipeline, "SELECT id FROM raw_crm_2.t") == [{"id": 1}]


# -- resources that raise ------------------------------------------------------------------------


def _flaky(fail_after: int, parallelized: bool, *, fail: bool = True) -> ladle.Resource:
    @ladle.resource(parallelized=parallelized)
    def flaky() -> Iterator[dict[str, Any]]:
        for i in range(fail_after):
            yield {"id": 100 + i, "name": "partial"}
        if fail:
            raise RuntimeError("api went away")
        yield {"id": 3, "name": "c"}

    return flaky()


# (items yielded before raising, parallelized)
FLAKY = [(0, False), (2, False), (2, True)]


def test_generator_raising_midway_is_extract_error_and_loads_nothing(
    new_pipeline: PipelineMaker,
) -> None:
    pipeline = new_pipeline()
    before = load_base(pipeline, table="flaky")

    for case in FLAKY:
        with pytest.raises(ladle.ExtractError) as raised:
            pipeline.run(_flaky(*case))

        err = raised.value
        assert err.resource == "flaky", case
        assert "'flaky'" in str(err), case
        assert "RuntimeError" in str(err), case
        assert "api went away" in str(err), case
        assert isinstance(err.__cause__, RuntimeError), case
        assert err.retryable is False
        clone = pickle.loads(pickle.dumps(err))
        assert (type(clone), str(clone), clone.resource) == (ladle.ExtractError, str(err), "flaky")
        assert_untouched(pipeline, before)

    info = pipeline.run(_flaky(2, True, fail=False))
    assert info.row_counts == {"flaky": 3}
    ids = rows(pipeline, "SELECT id FROM flaky ORDER BY id")
    assert [r["id"] for r in ids] == [1, 2, 3, 100, 101]


def test_ladle_error_raised_inside_a_resource_is_kept(new_pipeline: PipelineMaker) -> None:
    @ladle.resource
    def needs_config() -> Iterator[dict[str, Any]]:
        yield {"url": ladle.config["sources.nowhere.url"]}

    pipeline = new_pipeline()
    with pytest.raises(ladle.ConfigKeyMissing, match="SOURCES__NOWHERE__URL"):
        pipeline.run(needs_config())
    assert pipeline.run().load_ids == ()


def _users_and_details() -> tuple[ladle.Resource, ladle.Resource]:
    @ladle.resource
    def users() -> Iterator[list[dict[str, Any]]]:
        yield [{"id": 1}, {"id": 2}, {"id": 3}]

    @ladle.transformer(data_from=users)
    def details(page: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for user in page:
            if user["id"] == 2:
                raise ValueError(f"no details for user {user['id']}")
            yield {"user_id": user["id"], "score": 1}

    return users, details


def _via_source() -> Any:
    @ladle.source
    def crm() -> Any:
        return _users_and_details()

    return crm()


def _via_list() -> Any:
    return list(_users_and_details())


def _transformer_alone() -> Any:
    return _users_and_details()[1]


def test_transformer_raising_names_the_transformer(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    pipeline.run([{"id": 0}], table_name="users")
    before = snapshot(pipeline)

    for make in (_via_source, _via_list, _transformer_alone):
        with pytest.raises(ladle.ExtractError) as raised:
            pipeline.run(make())

        err = raised.value
        assert err.resource == "details", make.__name__
        assert "'details'" in str(err), make.__name__
        assert "no details for user 2" in str(err), make.__name__
        assert isinstance(err.__cause__, ValueError), make.__name__
        assert_untouched(pipeline, before)


# -- big integers --------------------------------------------------------------------------------


def _as_rows(columns: dict[str, list[int]]) -> list[dict[str, Any]]:
    """One row per position; each column holds its own list of values (shorter ones end early)."""
    size = max(len(values) for values in columns.values())
    return [
        {"i": i, **{name: values[i] for name, values in columns.items() if i < len(values)}}
        for i in range(size)
    ]


# Each column is typed from its own values (one table-driven case per column).
BEYOND_64_BITS = {
    "just_above": [2**63],
    "just_below": [-(2**63) - 1],
    "with_small": [2**64, 1],
    "digits_37": [1, 10**37, -(10**37)],
    "digits_38": [10**38 - 1, -(10**38 - 1)],
}
BEYOND_38_DIGITS = {
    "digits_39": [10**38],
    "digits_41": [-(10**40) - 7],
    "with_small": [2**200, 5],
    "mixed": [3, 10**60 + 1, -(2**64)],
}


def test_ints_beyond_64_bits_are_kept_exactly_as_decimal_38_0(
    new_pipeline: PipelineMaker,
) -> None:
    pipeline = new_pipeline()
    pipeline.run(_as_rows(BEYOND_64_BITS), table_name="big")

    types = column_types(pipeline, "big")
    got = rows(pipeline, "SELECT * FROM big ORDER BY i")
    for name, values in BEYOND_64_BITS.items():
        assert types[name] == "DECIMAL(38,0)", name
        assert f"{name}__v_text" not in types
        stored = [r[name] for r in got[: len(values)]]
        assert stored == [Decimal(v) for v in values], name
        assert [int(v) for v in stored] == values


def test_int_beyond_64_bits_into_existing_bigint_column_is_kept_exactly(
    new_pipeline: PipelineMaker,
) -> None:
    pipeline = new_pipeline()
    pipeline.run([{"i": 0, "n": 5}], table_name="big")
    pipeline.run([{"i": 1, "n": 2**64}], table_name="big")

    types = column_types(pipeline, "big")
    assert types["n"] == "BIGINT"
    assert types["n__v_decimal"] == "DECIMAL(38,0)"
    got = rows(pipeline, "SELECT n, n__v_decimal AS v FROM big ORDER BY i")
    assert got == [{"n": 5, "v": None}, {"n": None, "v": Decimal(2**64)}]


def test_ints_beyond_38_digits_are_kept_exactly_as_text_variant(
    new_pipeline: PipelineMaker,
) -> None:
    pipeline = new_pipeline()
    pipeline.run(_as_rows(BEYOND_38_DIGITS), table_name="huge")

    types = column_types(pipeline, "huge")
    got = rows(pipeline, "SELECT * FROM huge ORDER BY i")
    for name, values in BEYOND_38_DIGITS.items():
        assert types[f"{name}__v_text"] == "VARCHAR", name
        for value, row in zip(values, got, strict=False):
            if len(str(abs(value))) > 38:
                assert (row[name], row[f"{name}__v_text"]) == (None, str(value))
            else:
                assert row[f"{name}__v_text"] is None
                assert int(row[name]) == value


# -- the errors themselves -----------------------------------------------------------------------

ERROR_CASES: list[tuple[type[ladle.LadleError], dict[str, Any], bool]] = [
    (ladle.LadleError, {}, False),
    (ladle.ConfigError, {"key": "dataset_name"}, False),
    (ladle.ConfigKeyMissing, {"key": "a.b", "env_var": "A__B"}, False),
    (ladle.UnknownDestination, {"destination": "snowflake"}, False),
    (ladle.ExtractError, {"resource": "users"}, False),
    (ladle.ItemNotSerializable, {"resource": "users"}, False),
    (ladle.SchemaError, {}, False),
    (
        ladle.ContractViolation,
        {"table": "t", "column": "c", "data_type": "text", "entity": "columns"},
        False,
    ),
    (ladle.UnsupportedValue, {"table": "t", "column": "c"}, False),
    (ladle.DestinationError, {"destination": "duckdb", "path": "/x.duckdb"}, True),
    (ladle.LoadError, {"load_id": "123", "destination": "duckdb"}, True),
]


@pytest.mark.parametrize(
    ("cls", "details", "retryable"), ERROR_CASES, ids=[c[0].__name__ for c in ERROR_CASES]
)
def test_errors_pickle_round_trip_and_retryable(
    cls: type[ladle.LadleError], details: dict[str, Any], retryable: bool
) -> None:
    err = cls(f"{cls.__name__}: something about 'users'", **details)

    clone = pickle.loads(pickle.dumps(err))

    assert type(clone) is cls
    assert isinstance(clone, ladle.LadleError)
    assert str(clone) == str(err) == f"{cls.__name__}: something about 'users'"
    assert clone.message == err.message
    assert clone.args == err.args
    assert clone.details == details
    for key, value in details.items():
        assert getattr(clone, key) == value
    assert cls.retryable is retryable
    assert clone.retryable is retryable


def test_real_unsupported_value_error_pickles(new_pipeline: PipelineMaker) -> None:
    pipeline = new_pipeline()
    with pytest.raises(ladle.UnsupportedValue) as raised:
        pipeline.run([{"obj": Opaque()}], table_name="things")

    clone = pickle.loads(pickle.dumps(raised.value))

    assert type(clone) is ladle.UnsupportedValue
    assert str(clone) == str(raised.value)
    assert (clone.table, clone.column) == ("things", "obj")
    assert clone.retryable is False
