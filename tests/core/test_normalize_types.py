"""Type inference and coercion, table-driven: values in -> column types and stored values out."""

from __future__ import annotations

import datetime
import decimal

import pytest

import ladle
from tests.conftest import PipelineFactory, rows

UTC = datetime.timezone.utc

CASES = [
    # (id, values of one field across rows, expected columns {name: type}, expected stored values)
    ("ints", [1, 2, 3], {"v": "bigint"}, {"v": [1, 2, 3]}),
    ("ints and floats make a double", [1, 2.5, 3], {"v": "double"}, {"v": [1.0, 2.5, 3.0]}),
    ("floats first then ints", [0.5, 2], {"v": "double"}, {"v": [0.5, 2.0]}),
    ("bools", [True, False], {"v": "bool"}, {"v": [True, False]}),
    ("text with empty string and null", ["a", "", None], {"v": "text"}, {"v": ["a", "", None]}),
    (
        "iso timestamps with zones become UTC",
        ["2024-01-01T00:00:00Z", "2024-06-01T12:30:00+02:00"],
        {"v": "timestamp"},
        {
            "v": [
                datetime.datetime(2024, 1, 1, tzinfo=UTC),
                datetime.datetime(2024, 6, 1, 10, 30, tzinfo=UTC),
            ]
        },
    ),
    (
        "naive datetimes are taken as UTC",
        [datetime.datetime(2024, 1, 2, 3, 4, 5, 123456)],
        {"v": "timestamp"},
        {"v": [datetime.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)]},
    ),
    ("dates", [datetime.date(2024, 2, 29)], {"v": "date"}, {"v": [datetime.date(2024, 2, 29)]}),
    ("times", [datetime.time(13, 5, 1)], {"v": "time"}, {"v": [datetime.time(13, 5, 1)]}),
    ("bytes", [b"\x00\xff"], {"v": "binary"}, {"v": [b"\x00\xff"]}),
    (
        "decimals keep their scale",
        [decimal.Decimal("1.5"), decimal.Decimal("-0.000000000001")],
        {"v": "decimal"},
        {"v": [decimal.Decimal("1.5"), decimal.Decimal("-0.000000000001")]},
    ),
    (
        "ints beyond 64 bits are exact wide decimals",
        [2**70, 1],
        {"v": "decimal"},
        {"v": [decimal.Decimal(2**70), decimal.Decimal(1)]},
    ),
    (
        "a string among ints goes to a variant column",
        [1, "n/a", 3],
        {"v": "bigint", "v__v_text": "text"},
        {"v": [1, None, 3], "v__v_text": [None, "n/a", None]},
    ),
    (
        "a bool among ints is a variant, not cast",
        [1, 2, 3, True],
        {"v": "bigint", "v__v_bool": "bool"},
        {"v": [1, 2, 3, None], "v__v_bool": [None, None, None, True]},
    ),
    (
        "a non-timestamp string among timestamps is a variant",
        ["2024-01-01T00:00:00Z", "tomorrow"],
        {"v": "text"},
        {"v": ["2024-01-01T00:00:00Z", "tomorrow"]},
    ),
    ("all nulls make no column", [None, None], {}, {}),
]


@pytest.mark.parametrize(
    ("values", "types", "stored"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_inference_and_storage(
    make_pipeline: PipelineFactory,
    values: list[object],
    types: dict[str, str],
    stored: dict[str, list[object]],
) -> None:
    pipeline = make_pipeline()
    data = [{"id": i, "v": value} for i, value in enumerate(values)]
    pipeline.run(data, table_name="t")
    table = pipeline.schema.tables["t"]
    got_types = {n: c.data_type for n, c in table.columns.items() if n.startswith("v")}
    assert got_types == types
    for column, expected in stored.items():
        assert [
            r[column] for r in rows(pipeline, f"SELECT {column} FROM t ORDER BY id")
        ] == expected


def test_type_change_across_runs_goes_to_variant(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run([{"id": 1, "price": 10}], table_name="t")
    pipeline.run([{"id": 2, "price": 10.5}, {"id": 3, "price": 11}], table_name="t")
    got = rows(pipeline, "SELECT id, price, price__v_double FROM t ORDER BY id")
    assert got == [
        {"id": 1, "price": 10, "price__v_double": None},
        {"id": 2, "price": None, "price__v_double": 10.5},
        {"id": 3, "price": 11, "price__v_double": None},
    ]


def test_bigint_widens_to_double_across_batches_of_one_load(make_pipeline: PipelineFactory) -> None:
    """Not fooled by the first rows: a column new in this load widens when floats come later."""
    pipeline = make_pipeline()
    data = [{"v": 1} for _ in range(15_000)] + [{"v": 0.5}]
    pipeline.run(data, table_name="t")
    assert pipeline.schema.tables["t"].columns["v"].data_type == "double"
    assert rows(pipeline, "SELECT sum(v) AS s, count(*) AS n FROM t") == [
        {"s": 15000.5, "n": 15001}
    ]


def test_explicit_column_hints_win_over_inference(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run(
        [{"id": "1", "amount": 5, "note": None}],
        table_name="t",
        columns={
            "amount": {"data_type": "decimal", "precision": 10, "scale": 2},
            "note": {"data_type": "text"},
        },
    )
    columns = pipeline.schema.tables["t"].columns
    assert (columns["amount"].data_type, columns["amount"].precision, columns["amount"].scale) == (
        "decimal",
        10,
        2,
    )
    assert columns["note"].data_type == "text"
    assert rows(pipeline, "SELECT amount FROM t") == [{"amount": decimal.Decimal("5.00")}]


def test_pydantic_model_as_column_hints(make_pipeline: PipelineFactory) -> None:
    pydantic = pytest.importorskip("pydantic")

    class User(pydantic.BaseModel):  # type: ignore[name-defined,misc]
        id: int
        score: float
        nickname: str | None = None

    pipeline = make_pipeline()
    pipeline.run([{"id": 1, "score": 3}], table_name="users", columns=User)
    columns = pipeline.schema.tables["users"].columns
    assert columns["score"].data_type == "double"
    assert columns["nickname"].data_type == "text"
    assert columns["id"].nullable is False
    assert rows(pipeline, "SELECT score FROM users") == [{"score": 3.0}]


def test_numpy_values_load_as_the_python_values_they_hold(make_pipeline: PipelineFactory) -> None:
    # What iterating a DataFrame's rows or an array gives: numpy scalars, not Python ones.
    np = pytest.importorskip("numpy")
    pipeline = make_pipeline()
    pipeline.run(
        [
            {
                "id": np.int64(1),
                "score": np.float32(0.5),
                "ok": np.bool_(True),
                "seen": np.datetime64("2024-05-01T10:00:00.123456789"),
                "tags": np.array(["a", "b"]),
                "big": np.uint64(2**64 - 1),
                "gap": np.float64("nan"),
            },
            {"id": np.int32(2), "score": 1, "ok": False, "seen": np.datetime64("NaT")},
        ],
        table_name="t",
    )
    types = {n: c.data_type for n, c in pipeline.schema.tables["t"].columns.items()}
    assert {k: types[k] for k in ("id", "score", "ok", "seen", "big")} == {
        "id": "bigint",
        "score": "double",
        "ok": "bool",
        "seen": "timestamp",
        "big": "decimal",
    }
    assert "gap" not in types  # NaN is null, as in JSON: no value, no column
    assert rows(pipeline, "SELECT id, score, ok, seen, big FROM t ORDER BY id") == [
        {
            "id": 1,
            "score": 0.5,
            "ok": True,
            "seen": datetime.datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC),
            "big": decimal.Decimal(2**64 - 1),
        },
        {"id": 2, "score": 1.0, "ok": False, "seen": None, "big": None},
    ]
    assert rows(pipeline, "SELECT value FROM t__tags ORDER BY _ladle_list_idx") == [
        {"value": "a"},
        {"value": "b"},
    ]


def test_a_numpy_time_ladle_has_no_type_for_is_a_clear_error_naming_its_column(
    make_pipeline: PipelineFactory,
) -> None:
    np = pytest.importorskip("numpy")
    pipeline = make_pipeline()
    with pytest.raises(ladle.LadleError, match=r"table 't', column 'took'.*timedelta64"):
        pipeline.run([{"id": 1, "took": np.timedelta64(5, "s")}], table_name="t")
    # Beyond year 9999 there is no timestamp: an error too, not a count of microseconds.
    with pytest.raises(ladle.LadleError, match=r"table 't', column 'at'.*datetime64"):
        pipeline.run([{"id": 1, "at": np.datetime64("10000-01-01")}], table_name="t")
    assert "t" not in pipeline.schema.tables
