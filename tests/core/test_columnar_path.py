"""Dict records take the columnar (JSON) path when they can, the row path otherwise: both must
load exactly the same tables, columns, types, values, parent links and list order.

Each case loads the same seeded random records twice, once as ladle does and once with the
columnar path switched off, and compares everything but the generated `_ladle_id`s.
"""

from __future__ import annotations

import enum
import math
import random
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa
import pytest

import ladle
from ladle.normalize import normalizer
from tests.conftest import PipelineFactory, count_columnar_batches, loaded_snapshot, rows

RECORDS_PER_RUN = 300
ROOT_KEYS = ("id", "id__v_text")  # a root row's place: its id, or the text variant it clashed to


class Color(enum.Enum):
    RED = "red"


class Shape(enum.Enum):
    BOX = {"x": 1}
    PAIR = (1, 2)


# Values of one kind each: a column holds one kind (and nulls), as real data mostly does.
KINDS: list[Any] = [
    lambda rng: rng.randint(-5, 10**12),
    lambda rng: rng.choice([rng.random() * 100, math.nan, math.inf]),
    lambda rng: rng.choice([True, False]),
    lambda rng: rng.choice(["a", "Zürich", "", "x y", Color.RED]),
    lambda rng: f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:00:0{rng.randint(0, 9)}Z",
    lambda rng: rng.choice(["2024-01-01", "2024-01-01T10:00:00Z"]),  # text: not all times
]


def _scalar(rng: random.Random, kind: int) -> Any:
    return None if rng.random() < 0.2 else KINDS[kind](rng)


def _record(rng: random.Random, key: int, odd: float, kinds: list[int]) -> dict[str, Any]:
    """A record of a stable shape with random gaps, nulls, empties and nesting; with
    probability `odd` a value that clashes with its column's type (the batch is declined)."""
    record: dict[str, Any] = {"id": key, "createdAt": f"2024-05-0{rng.randint(1, 9)}T00:00:00Z"}
    record["score"] = rng.choice([rng.randint(0, 9), rng.random()])  # ints and floats: double
    if rng.random() < 0.8:
        record["user"] = {
            "name": rng.choice(["ann", None]),
            "Address": {"city": _scalar(rng, kinds[0])}
            if rng.random() < 0.7
            else rng.choice([{}, None]),
        }
    record["tags"] = rng.choice([[], ["a", "b"], ("c",), [None], None, ["x", None, "y"]])
    record["items"] = [
        {"sku": f"s{n}", "qty": rng.randint(1, 3), "parts": [{"p": n}] * rng.randint(0, 2)}
        for n in range(rng.randint(0, 3))
    ]
    record["extra"] = _scalar(rng, kinds[1])
    if rng.random() < 0.1:
        record["Late Key"] = _scalar(rng, kinds[2])
    if rng.random() < odd:
        record[rng.choice(["score", "id"])] = "not a number"
    return record


def _runs(seed: int, odd: float) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    runs = []
    for run in range(3):
        kinds = [rng.randrange(len(KINDS)) for _ in range(3)]  # may change between runs
        runs.append([_record(rng, run * 1000 + n, odd, kinds) for n in range(RECORDS_PER_RUN)])
    return runs


def _load(
    make: PipelineFactory, name: str, runs: list[list[dict[str, Any]]], hints: dict[str, Any]
) -> dict[str, Any]:
    pipeline = make(name, workdir=name)
    nesting = hints.pop("max_table_nesting", None)
    for records in runs:
        resource = ladle.resource(records, name="events", max_table_nesting=nesting, **hints)
        pipeline.run(resource)
    return loaded_snapshot(pipeline, *ROOT_KEYS)


MERGE = {"write_disposition": "merge", "primary_key": "id"}


@pytest.mark.parametrize(
    ("seed", "odd", "hints", "columnar_expected"),
    [
        (1, 0.0, {}, True),
        (2, 0.0, {}, True),
        (3, 0.002, {}, False),  # a clash declines a batch
        (4, 0.01, {}, False),
        (5, 0.0, MERGE, True),  # child rows also carry their root's id
        (6, 0.0, {"max_table_nesting": 2}, True),  # as deep as the data goes
        (7, 0.0, {"max_table_nesting": 1}, False),  # deeper containers stay whole, as json
    ],
)
def test_columnar_and_row_paths_load_the_same(
    make_pipeline: PipelineFactory,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    odd: float,
    hints: dict[str, Any],
    columnar_expected: bool,
) -> None:
    runs = _runs(seed, odd)
    taken = count_columnar_batches(monkeypatch)
    columnar = _load(make_pipeline, "columnar", runs, dict(hints))
    monkeypatch.setattr(normalizer, "json_line", lambda record: None)  # the row path only
    row_by_row = _load(make_pipeline, "rows", runs, dict(hints))

    assert columnar == row_by_row
    # The path the case is about was taken: a batch went columnar, or one was declined.
    assert any(taken) if columnar_expected else 0 in taken
    assert len(columnar["types"]) >= 3  # events and its child tables: the data did nest


def test_a_batch_with_a_non_json_value_goes_row_by_row_as_one(
    make_pipeline: PipelineFactory,
) -> None:
    # The int beyond 64 bits keeps its record off the columnar path; the batch's other values
    # must still type the column together with it (one wide decimal, no variant).
    pipeline = make_pipeline()
    pipeline.run([{"v": 1}, {"v": 2**70}, {"v": 3}], table_name="t")

    assert {n: c.data_type for n, c in pipeline.schema.tables["t"].columns.items()}["v"] == (
        "decimal"
    )
    assert [r["v"] for r in rows(pipeline, "SELECT v FROM t ORDER BY v")] == [1, 3, 2**70]


def test_a_generator_reusing_its_nested_dicts_loads_every_row_as_yielded(
    make_pipeline: PipelineFactory,
) -> None:
    def reused() -> Any:
        row: dict[str, Any] = {"meta": {"n": 0}, "tags": []}
        for n in range(5):
            row["meta"]["n"] = n
            row["tags"].append(n)
            yield row

    pipeline = make_pipeline()
    pipeline.run(reused(), table_name="r")

    assert [r["meta__n"] for r in rows(pipeline, "SELECT meta__n FROM r ORDER BY 1")] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert rows(pipeline, "SELECT count(*) AS n FROM r__tags") == [{"n": 15}]  # 1+2+3+4+5


@pytest.mark.parametrize(
    "records",
    [
        [{"userName": 1, "user_name": 2}, {"user_name": 3}],  # names that normalize alike
        [{"a": {"b": 1}, "a__b": 2}],  # a nested key and a flat one named alike
        [{"tags": ["x"], "events__tags": 1}, {"tags": ("y", "z")}],
        [{"t": "2024-01-01T00:00:00+02:00"}, {"t": "2024-01-01 10:00"}],  # offsets, no seconds
        [{"n": 1}, {"n": 2.5}, {"n": -0.0}, {"n": 1e300}],
        [{"xs": [[1, 2], [3]]}],  # lists of lists: json
        [{"deep": {"l": [{"m": [{"n": [1, None]}]}]}}, {"deep": None}, {}],
        # Lists whose first item is null (pyarrow's reader builds those broken).
        [{"xs": [None, 1]}, {"xs": [3]}],
        [{"s": {"xs": [None, "a"]}}, {"xs": [None, {"a": 1}]}, {"ys": [[None, 1]]}],
        # A key that is null (or empty) where another key takes its name.
        [{"a": None}, {"a": {"b": 1}, "A": 2}],
        [{"a": {}}, {"a": None, "A": 1}],
        [{"a": []}, {"a": [1], "A": 2}],
        # Enum members whose values are containers.
        [{"e": Shape.BOX}, {"e": Shape.PAIR}, {"e": Color.RED}],
    ],
)
def test_tricky_records_load_the_same_both_ways(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch, records: list[Any]
) -> None:
    keyed = [[{"id": n, **record} for n, record in enumerate(records)]]
    columnar = _load(make_pipeline, "columnar", keyed, {})
    monkeypatch.setattr(normalizer, "json_line", lambda record: None)
    assert columnar == _load(make_pipeline, "rows", keyed, {})


def test_records_bigger_than_a_reader_block_take_the_columnar_path(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = count_columnar_batches(monkeypatch)
    monkeypatch.setattr(normalizer, "COLUMNAR_BATCH_BYTES", 8 << 20)  # 8 MiB batches
    big = "x" * (3 << 20)  # 3 MiB: more than the reader's 1 MiB blocks
    pipeline = make_pipeline()
    pipeline.run(({"id": n, "body": big, "tags": [n]} for n in range(5)), table_name="big")

    assert taken == [3, 2]  # batches cut by size, both taken
    got = rows(pipeline, "SELECT id, length(body) AS n FROM big ORDER BY id")
    assert got == [{"id": n, "n": len(big)} for n in range(5)]
    assert rows(pipeline, "SELECT count(*) AS n FROM big__tags") == [{"n": 5}]


def test_a_batch_read_in_the_background_is_taken_in_before_the_next_batch(
    make_pipeline: PipelineFactory,
) -> None:
    # The first 10,000 records are read on the reader thread while the next (row path) batch
    # arrives; that batch must meet the column the first one made, not make its own.
    records: list[dict[str, Any]] = [{"id": n, "v": n} for n in range(10_000)]
    records.append({"id": -1, "v": "text", "at": datetime(2024, 1, 1, tzinfo=timezone.utc)})
    pipeline = make_pipeline()
    pipeline.run(records, table_name="t")

    columns = pipeline.schema.tables["t"].columns
    assert (columns["v"].data_type, columns["v__v_text"].data_type) == ("bigint", "text")
    assert rows(pipeline, "SELECT v__v_text FROM t WHERE id = -1") == [{"v__v_text": "text"}]


def test_a_merged_family_appending_a_new_list_gives_it_no_root_ids_either_way(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = [[{"id": 1, "a": [1]}], [{"id": 2, "b": [1]}]]

    def load(name: str) -> dict[str, Any]:
        pipeline = make_pipeline(name, workdir=name)
        pipeline.run(ladle.resource(runs[0], name="t", write_disposition="merge", primary_key="id"))
        pipeline.run(ladle.resource(runs[1], name="t"))
        assert "_ladle_root_id" not in pipeline.schema.tables["t__b"].columns
        return loaded_snapshot(pipeline, *ROOT_KEYS)

    columnar = load("columnar")
    monkeypatch.setattr(normalizer, "json_line", lambda record: None)
    assert columnar == load("rows")


def test_an_arrow_item_after_a_dict_batch_meets_that_batch_s_columns(
    make_pipeline: PipelineFactory,
) -> None:
    def mixed() -> Any:
        yield from ({"id": n, "v": n} for n in range(10_000))  # one whole batch
        yield pa.table({"id": [10_000], "v": ["a"]})

    pipeline = make_pipeline()
    pipeline.run(ladle.resource(mixed, name="t"))

    columns = pipeline.schema.tables["t"].columns
    assert (columns["v"].data_type, columns["v__v_text"].data_type) == ("bigint", "text")


def test_numpy_values_load_the_same_both_ways(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    np = pytest.importorskip("numpy")
    # numbers, bools and arrays of them: JSON, so the batch is read as JSON
    as_json = [
        {"n": np.int64(5), "f": np.float64("nan"), "b": np.bool_(True), "xs": np.arange(3)},
        {"n": 2, "f": np.float32(1.5), "xs": np.array([], dtype=np.int64)},
        {"n": np.uint8(7), "f": np.float16(2.5), "b": False},
    ]
    # a numpy datetime is not JSON: its batch goes row by row
    not_json = [
        {"n": np.int64(1), "at": np.datetime64("2024-01-01T00:00:00.5", "ns")},
        {"n": 2, "xs": np.array([[1.0, 2.0]]), "s": np.str_("x")},
    ]
    for number, batch in enumerate((as_json, not_json)):
        keyed = [[{"id": n, **record} for n, record in enumerate(batch)]]
        taken = count_columnar_batches(monkeypatch)
        columnar = _load(make_pipeline, f"columnar{number}", keyed, {})
        monkeypatch.undo()
        monkeypatch.setattr(normalizer, "json_line", lambda record: None)
        assert columnar == _load(make_pipeline, f"rows{number}", keyed, {})
        monkeypatch.undo()
        assert taken == ([3] if batch is as_json else [])
