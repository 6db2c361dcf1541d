"""The filesystem destination: Parquet files per table per load, visible through a commit marker.

Real files everywhere: pipelines load into `tmp_path / "lake"` and read back through
`pipeline.dataset` (DuckDB over the committed Parquet files) or the committed file lists.
"""

from __future__ import annotations

import datetime
import decimal
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import ladle
from ladle.destinations.filesystem import FilesystemClient, FilesystemDestination
from ladle.load.package import LoadPackage

UTC = datetime.timezone.utc
DATASET = "lake_data"


def make(tmp_path: Path, workdir: str = "work", **options: Any) -> ladle.Pipeline:
    destination = options.pop("destination", None) or ladle.destinations.filesystem(
        tmp_path / "lake", **options
    )
    return ladle.pipeline(
        "fs",
        destination=destination,
        dataset_name=DATASET,
        pipelines_dir=str(tmp_path / workdir),
        progress=False,
    )


def rows(pipeline: ladle.Pipeline, sql: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = pipeline.dataset(sql).to_pylist()
    return got


def client(pipeline: ladle.Pipeline) -> FilesystemClient:
    destination = pipeline.destination
    assert isinstance(destination, FilesystemDestination)
    return destination.client(pipeline.pipeline_name, pipeline.dataset_name)


def parquet_files(tmp_path: Path, table: str) -> list[str]:
    folder = tmp_path / "lake" / DATASET / table
    return sorted(p.name for p in folder.glob("*.parquet")) if folder.is_dir() else []


def snapshot(pipeline: ladle.Pipeline) -> dict[str, Any]:
    """Everything a reader sees: row counts, load count and the committed file lists."""
    counts = rows(
        pipeline,
        "SELECT (SELECT count(*) FROM items) AS items, "
        "(SELECT count(*) FROM items__tags) AS tags, (SELECT count(*) FROM _ladle_loads) AS loads",
    )[0]
    return {**counts, "files": client(pipeline).committed_files()}


# -- layout, nesting, append ----------------------------------------------------------------------
def test_nested_data_lands_as_parquet_per_table_per_load(tmp_path: Path) -> None:
    pipeline = make(tmp_path)
    info = pipeline.run(
        [
            {
                "id": 1,
                "owner": {"login": "ada"},
                "lines": [{"sku": "a", "tags": ["x"]}, {"sku": "b"}],
            }
        ],
        table_name="orders",
    )
    (load_id,) = info.load_ids
    dataset = tmp_path / "lake" / DATASET
    assert (dataset / "orders" / f"{load_id}.0.parquet").is_file()
    assert (dataset / "orders__lines" / f"{load_id}.0.parquet").is_file()
    assert (dataset / "_ladle_loads" / f"{load_id}.json").is_file()
    (schema_file,) = (dataset / "_ladle_schemas").glob("fs.*.json")
    assert json.loads(schema_file.read_text())["name"] == "fs"
    got = rows(
        pipeline,
        "SELECT o.id, o.owner__login, l.sku, t.value AS tag FROM orders o "
        "JOIN orders__lines l ON l._ladle_parent_id = o._ladle_id "
        "LEFT JOIN orders__lines__tags t ON t._ladle_parent_id = l._ladle_id ORDER BY l.sku",
    )
    assert got == [
        {"id": 1, "owner__login": "ada", "sku": "a", "tag": "x"},
        {"id": 1, "owner__login": "ada", "sku": "b", "tag": None},
    ]
    # Plain Parquet: any other reader gets the same rows from the committed files.
    (orders_file,) = client(pipeline).committed_files()["orders"]
    assert pq.read_table(orders_file).column("owner__login").to_pylist() == ["ada"]


def test_append_across_runs_adds_a_file_per_load(tmp_path: Path) -> None:
    pipeline = make(tmp_path)
    first = pipeline.run([{"id": 1}, {"id": 2}], table_name="items")
    second = make(tmp_path, workdir="other_worker").run([{"id": 3}], table_name="items")
    assert rows(pipeline, "SELECT id FROM items ORDER BY id") == [{"id": 1}, {"id": 2}, {"id": 3}]
    files = client(pipeline).committed_files()["items"]
    assert [f.name for f in files] == [
        f"{first.load_ids[0]}.0.parquet",
        f"{second.load_ids[0]}.0.parquet",
    ]
    loads = rows(pipeline, "SELECT load_id FROM _ladle_loads ORDER BY inserted_at")
    assert [r["load_id"] for r in loads] == [*first.load_ids, *second.load_ids]


def test_files_rotate_by_size_and_read_back_as_one_table(tmp_path: Path) -> None:
    pipeline = make(tmp_path, file_max_bytes=1, row_group_max_bytes=1)
    info = pipeline.run(({"id": i, "name": f"n{i}"} for i in range(25_000)), table_name="items")
    files = client(pipeline).committed_files()["items"]
    assert [f.name for f in files] == [f"{info.load_ids[0]}.{n}.parquet" for n in range(3)]
    got = rows(pipeline, "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM items")
    assert got == [{"n": 25_000, "ids": 25_000}]


# -- replace --------------------------------------------------------------------------------------
def test_replace_switches_generations_and_deletes_old_files(tmp_path: Path) -> None:
    pipeline = make(tmp_path)
    old = pipeline.run(
        [{"id": 1, "colour": "red", "tags": ["a", "b"]}],
        table_name="items",
        write_disposition="replace",
    )
    pipeline.run([{"id": 2, "tags": ["c"]}], table_name="items", write_disposition="replace")
    new = pipeline.run([{"id": 3}], table_name="items", write_disposition="replace")
    pipeline.run([{"id": 4}], table_name="extra")

    assert rows(pipeline, "SELECT id, colour FROM items") == [{"id": 3, "colour": None}]
    assert rows(pipeline, "SELECT count(*) AS n FROM items__tags") == [{"n": 0}]
    files = client(pipeline).committed_files()
    assert [f.name for f in files["items"]] == [f"{new.load_ids[0]}.0.parquet"]
    assert files["items__tags"] == []
    # Old generations are gone from disk, not only hidden.
    assert parquet_files(tmp_path, "items") == [f"{new.load_ids[0]}.0.parquet"]
    assert parquet_files(tmp_path, "items__tags") == []
    marker = tmp_path / "lake" / DATASET / "_ladle_loads" / f"{new.load_ids[0]}.json"
    assert json.loads(marker.read_text())["replaced_tables"] == ["items", "items__tags"]
    assert old.load_ids[0] not in str(files)
    # Appending after a replace adds to the new generation.
    pipeline.run([{"id": 5}], table_name="items")
    assert rows(pipeline, "SELECT id FROM items ORDER BY id") == [{"id": 3}, {"id": 5}]


# -- schema evolution -----------------------------------------------------------------------------
def test_schema_evolution_reads_across_files_of_different_shapes(tmp_path: Path) -> None:
    pipeline = make(tmp_path)
    pipeline.run([{"id": 1, "price": 10}], table_name="items")
    pipeline.run([{"id": 2, "price": "n/a", "colour": "red"}], table_name="items")
    pipeline.run([{"id": 3, "price": 7, "size": 3, "parts": [{"n": 1}]}], table_name="items")
    got = rows(pipeline, "SELECT id, price, price__v_text, colour, size FROM items ORDER BY id")
    assert got == [
        {"id": 1, "price": 10, "price__v_text": None, "colour": None, "size": None},
        {"id": 2, "price": None, "price__v_text": "n/a", "colour": "red", "size": None},
        {"id": 3, "price": 7, "price__v_text": None, "colour": None, "size": 3},
    ]
    shapes = {tuple(pq.read_schema(f).names) for f in client(pipeline).committed_files()["items"]}
    assert len(shapes) == 3  # three files, three column sets, one table
    assert rows(pipeline, "SELECT n FROM items__parts") == [{"n": 1}]
    # A fresh worker starts from the newest committed schema.
    fresh = make(tmp_path, workdir="fresh")
    assert set(fresh.schema.tables["items"].columns) >= {"price", "price__v_text", "colour"}


def test_schema_columns_missing_from_every_visible_file_read_as_typed_nulls(
    tmp_path: Path,
) -> None:
    pipeline = make(tmp_path)
    pipeline.run(
        [
            {
                "id": 1,
                "at": datetime.datetime(2024, 1, 1, tzinfo=UTC),
                "amount": decimal.Decimal("1.5"),
            }
        ],
        table_name="items",
    )
    pipeline.run([{"id": 2}], table_name="items", write_disposition="replace")
    types = rows(pipeline, "SELECT column_name, column_type FROM (DESCRIBE items)")
    by_name = {r["column_name"]: r["column_type"] for r in types}
    assert by_name["at"] == "TIMESTAMP WITH TIME ZONE"
    assert by_name["amount"].startswith("DECIMAL(")
    assert rows(pipeline, 'SELECT id, "at", amount FROM items') == [
        {"id": 2, "at": None, "amount": None}
    ]


# -- types ----------------------------------------------------------------------------------------
TYPE_ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "at": datetime.datetime(
            2024,
            3,
            31,
            7,
            29,
            59,
            999999,
            tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)),
        ),
        "day": datetime.date(1999, 12, 31),
        "clock": datetime.time(23, 59, 59, 123456),
        "amount": decimal.Decimal("12345678901234567890123456789.123456789"),
        "name": "Zoë 東京 🚀",
        "empty": "",
        "blob": b"\x00\x01\xfe\xff",
        "meta": {"nested": [1, "two", None], "ok": True},
        "ratio": 0.1,
        "flag": True,
    },
    {
        "id": 2,
        "at": datetime.datetime(1970, 1, 1, tzinfo=UTC),
        "day": datetime.date(2024, 2, 29),
        "clock": datetime.time(0, 0),
        "amount": decimal.Decimal("-0.000000001"),
        "name": "",
        "empty": None,
        "blob": b"",
        "meta": [],
        "ratio": -2.5e-300,
        "flag": False,
    },
]


def test_all_types_round_trip_through_parquet(tmp_path: Path) -> None:
    pipeline = make(tmp_path)
    pipeline.run(TYPE_ROWS, table_name="types", columns={"meta": {"data_type": "json"}})
    (path,) = client(pipeline).committed_files()["types"]
    parquet = pq.read_schema(path)
    assert parquet.field("at").type == pa.timestamp("us", tz="UTC")
    assert parquet.field("amount").type == pa.decimal128(38, 9)
    assert parquet.field("blob").type == pa.binary()
    assert parquet.field("meta").type == pa.string()
    assert parquet.field("clock").type == pa.time64("us")

    names = [n for n in TYPE_ROWS[0] if n != "meta"]
    quoted = ", ".join(f'"{n}"' for n in names)
    got = rows(pipeline, f"SELECT {quoted}, meta FROM types ORDER BY id")
    for row, expected in zip(got, TYPE_ROWS, strict=True):
        assert row["at"].astimezone(UTC) == expected["at"].astimezone(UTC)
        assert {n: row[n] for n in names if n != "at"} == {
            n: expected[n] for n in names if n != "at"
        }
        assert json.loads(row["meta"]) == expected["meta"]
    nulls = rows(pipeline, "SELECT id, empty IS NULL AS is_null FROM types ORDER BY id")
    assert nulls == [{"id": 1, "is_null": False}, {"id": 2, "is_null": True}]


# -- crashes: nothing half-loaded is ever visible -------------------------------------------------
def test_failure_after_the_first_file_leaves_the_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = make(tmp_path)
    pipeline.run([{"id": 0, "tags": ["a"]}], table_name="items")
    before = snapshot(make(tmp_path, workdir="reader"))
    real_writer = pq.ParquetWriter
    started = {"n": 0}

    def failing_writer(*args: Any, **kwargs: Any) -> Any:
        started["n"] += 1
        if started["n"] == 2:
            raise OSError("disk full (injected) while starting the second file")
        return real_writer(*args, **kwargs)

    monkeypatch.setattr(pq, "ParquetWriter", failing_writer)
    with pytest.raises(ladle.LoadError, match="disk full"):
        pipeline.run([{"id": i, "tags": ["a", "b"]} for i in range(1, 51)], table_name="items")
    monkeypatch.setattr(pq, "ParquetWriter", real_writer)

    assert snapshot(make(tmp_path, workdir="reader")) == before
    assert snapshot(pipeline) == before
    # The failed attempt cleaned up its own files.
    assert len(parquet_files(tmp_path, "items")) == 1
    info = pipeline.run()  # the pending package loads now, exactly once
    assert info.row_counts == {"items": 50, "items__tags": 100}
    assert pipeline.run().load_ids == ()
    after = snapshot(pipeline)
    assert (after["items"], after["tags"], after["loads"]) == (51, 101, 2)


CRASHING_LOAD = """
import os
import pyarrow.parquet as pq
import ladle

real_writer = pq.ParquetWriter
started = {"n": 0}

def dying_writer(*args, **kwargs):
    started["n"] += 1
    if started["n"] == 2:
        os._exit(17)  # the process dies: no cleanup, no finally, no marker
    return real_writer(*args, **kwargs)

pq.ParquetWriter = dying_writer
pipeline = ladle.pipeline(
    "fs",
    destination=ladle.destinations.filesystem(LAKE),
    dataset_name="lake_data",
    pipelines_dir=WORKDIR,
    progress=False,
)
pipeline.run([{"id": i, "tags": ["a", "b"]} for i in range(1, 51)], table_name="items")
"""


def test_process_killed_mid_load_is_invisible_and_loaded_once_by_the_next_run(
    tmp_path: Path,
) -> None:
    pipeline = make(tmp_path)
    pipeline.run([{"id": 0, "tags": ["a"]}], table_name="items")
    before = snapshot(pipeline)
    script = f"LAKE = {str(tmp_path / 'lake')!r}\nWORKDIR = {str(tmp_path / 'work')!r}\n"
    script += textwrap.dedent(CRASHING_LOAD)
    died = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert died.returncode == 17, died.stderr

    # The dead load left a Parquet file on disk, but no marker: readers do not see it.
    (pending,) = [p for p in (tmp_path / "work" / "fs" / "packages").iterdir()]
    orphan = tmp_path / "lake" / DATASET / "items" / f"{pending.name}.0.parquet"
    assert orphan.is_file()
    assert pq.read_metadata(orphan).num_rows == 50
    assert not (tmp_path / "lake" / DATASET / "_ladle_loads" / f"{pending.name}.json").exists()
    assert snapshot(make(tmp_path, workdir="reader")) == before
    assert orphan not in client(pipeline).committed_files()["items"]

    info = pipeline.run()
    assert info.load_ids == (pending.name,)
    assert info.row_counts == {"items": 50, "items__tags": 100}
    after = snapshot(pipeline)
    assert (after["items"], after["tags"], after["loads"]) == (51, 101, 2)
    assert rows(pipeline, "SELECT count(DISTINCT _ladle_id) AS n FROM items") == [{"n": 51}]
    assert len(parquet_files(tmp_path, "items")) == 2  # the rerun rewrote, not duplicated


def test_stray_files_without_a_marker_are_never_read(tmp_path: Path) -> None:
    pipeline = make(tmp_path)
    pipeline.run([{"id": 1}], table_name="items")
    stray = tmp_path / "lake" / DATASET / "items" / "99999999999999999999ab.0.parquet"
    pq.write_table(pa.table({"id": [666], "junk": ["x"]}), stray)
    assert rows(pipeline, "SELECT * EXCLUDE (_ladle_id, _ladle_load_id) FROM items") == [{"id": 1}]
    assert stray not in client(pipeline).committed_files()["items"]


def test_a_committed_package_is_not_loaded_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = make(tmp_path)

    def crash_before_cleanup(self: Any) -> None:
        raise KeyboardInterrupt  # dies after the marker, before the package is deleted

    monkeypatch.setattr(LoadPackage, "delete", crash_before_cleanup)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run([{"id": 1}], table_name="items")
    monkeypatch.undo()
    assert pipeline.run().load_ids == ()  # load_package said: already committed
    assert rows(pipeline, "SELECT count(*) AS n FROM items") == [{"n": 1}]
    assert pipeline.packages.pending() == []


# -- configuration --------------------------------------------------------------------------------
def test_file_url_works(tmp_path: Path) -> None:
    url = (tmp_path / "url lake").as_uri()  # file:///.../url%20lake
    pipeline = make(tmp_path, destination=ladle.destinations.filesystem(url))
    pipeline.run([{"id": 1}], table_name="items")
    assert (tmp_path / "url lake" / DATASET / "items").is_dir()
    assert rows(pipeline, "SELECT id FROM items") == [{"id": 1}]


def test_bucket_url_by_name_from_env_or_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DESTINATION__FILESYSTEM__BUCKET_URL", raising=False)
    with pytest.raises(ladle.ConfigKeyMissing, match="DESTINATION__FILESYSTEM__BUCKET_URL"):
        ladle.pipeline("fs", destination="filesystem")
    (tmp_path / ".ladle").mkdir()
    (tmp_path / ".ladle" / "config.toml").write_text(
        '[destination.filesystem]\nbucket_url = "from_toml"\n'
    )
    from_toml = ladle.pipeline("fs", destination="filesystem").destination
    assert isinstance(from_toml, FilesystemDestination)
    assert from_toml.bucket_path == tmp_path / "from_toml"
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", str(tmp_path / "from_env"))
    pipeline = ladle.pipeline(
        "fs", destination="filesystem", pipelines_dir=str(tmp_path / "w"), progress=False
    )
    pipeline.run([{"id": 1}], table_name="items")
    assert (tmp_path / "from_env" / "fs_dataset" / "items").is_dir()
    assert rows(pipeline, "SELECT id FROM items") == [{"id": 1}]


@pytest.mark.parametrize(
    "url", ["s3://bucket/lake", "gs://bucket", "https://example.com/x", "file://server/share"]
)
def test_remote_bucket_urls_are_refused(url: str) -> None:
    with pytest.raises(ladle.ConfigError, match="local path"):
        ladle.destinations.filesystem(url)


def test_capabilities_and_repr(tmp_path: Path) -> None:
    destination = ladle.destinations.filesystem(tmp_path / "lake")
    capabilities = destination.capabilities
    assert (capabilities.transactions, capabilities.merge) == (False, False)
    assert capabilities.preferred_file_format == "parquet"
    assert repr(destination) == f"<destination filesystem {tmp_path / 'lake'}>"
    # An empty dataset answers queries; system tables exist from the start.
    pipeline = make(tmp_path)
    assert rows(pipeline, "SELECT count(*) AS n FROM _ladle_loads") == [{"n": 0}]
    assert client(pipeline).committed_files() == {}
    assert not (tmp_path / "lake").exists()  # reading creates nothing
