"""PostgreSQL destination: pipeline runs into the real server on 127.0.0.1:5432 (no mocks).

Each test gets the session's throwaway database emptied (see postgres_server.py). What is checked
here beyond the shared suite: the column types PostgreSQL ends up with, values read back by the
server itself, COPY edge cases, a connection killed mid-load, DDL under concurrent workers, and
credentials from arguments, env and `.ladle/secrets.toml` with the password never shown.
"""

from __future__ import annotations

import datetime
import decimal
import logging
import pickle
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pytest
from psycopg.conninfo import make_conninfo

import ladle
from ladle.destinations.postgres import PostgresDestination, csv_copy
from ladle.destinations.postgres.client import PostgresClient
from ladle.destinations.postgres.csv_copy import bytea_hex, csv_chunks
from ladle.load.package import LoadPackage, PackageFile
from ladle.schema.schema import Table
from tests.core.destinations.postgres_server import dsn_parts, fresh_postgres_dsn

UTC = datetime.timezone.utc
PASSWORD = "pw-Zq8!x@y/:%-DO-NOT-LEAK"
PipelineMaker = Callable[..., ladle.Pipeline]


@pytest.fixture
def dsn(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS__PASSWORD", raising=False)
    return fresh_postgres_dsn()


@pytest.fixture
def make_pipeline(dsn: str, tmp_path: Path) -> PipelineMaker:
    def make(workdir: str = "work", destination: Any = None, dataset: str = "pg") -> ladle.Pipeline:
        return ladle.pipeline(
            "pg_test",
            destination=destination or ladle.destinations.postgres(dsn),
            dataset_name=dataset,
            pipelines_dir=str(tmp_path / workdir),
            progress=False,
        )

    return make


@pytest.fixture
def sql(dsn: str) -> Iterator[Callable[..., list[tuple[Any, ...]]]]:
    """Run SQL on a separate connection, as another client of the server would."""
    with psycopg.connect(dsn, autocommit=True) as connection:

        def run(statement: str, *params: Any) -> list[tuple[Any, ...]]:
            with connection.cursor() as cursor:
                cursor.execute(statement, params or None)
                return cursor.fetchall() if cursor.description else []

        yield run


def column_types(sql: Callable[..., Any], table: str, dataset: str = "pg") -> dict[str, str]:
    rows = sql(
        "SELECT column_name, format_type(atttypid, atttypmod) FROM information_schema.columns c "
        "JOIN pg_attribute a ON a.attrelid = format('%%I.%%I', table_schema, table_name)::regclass"
        " AND a.attname = c.column_name WHERE table_schema = %s AND table_name = %s",
        dataset,
        table,
    )
    return dict(rows)


def snapshot(sql: Callable[..., Any], dataset: str = "pg") -> dict[str, Any]:
    """Every table of the dataset with its columns and all its rows, as text."""
    tables = sql(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
        dataset,
    )
    state: dict[str, Any] = {}
    for (table,) in tables:
        columns = column_types(sql, table, dataset)
        rows = sql(f'SELECT t::text FROM "{dataset}"."{table}" t ORDER BY 1')
        state[table] = (sorted(columns.items()), rows)
    return state


# -- nesting, evolution, replace -------------------------------------------------------------------
def test_nested_data_lands_in_child_tables_with_parent_links(
    make_pipeline: PipelineMaker, sql: Any
) -> None:
    pipeline = make_pipeline()
    info = pipeline.run(
        [
            {"id": 1, "owner": {"login": "ada"}, "lines": [{"sku": "a", "tags": ["x"]}]},
            {"id": 2, "owner": {"login": "bob"}, "lines": [{"sku": "b"}, {"sku": "c"}]},
        ],
        table_name="orders",
    )
    assert info.row_counts == {"orders": 2, "orders__lines": 3, "orders__lines__tags": 1}
    got = sql(
        "SELECT o.id, o.owner__login, l.sku, l._ladle_list_idx, t.value FROM pg.orders o "
        "JOIN pg.orders__lines l ON l._ladle_parent_id = o._ladle_id "
        "LEFT JOIN pg.orders__lines__tags t ON t._ladle_parent_id = l._ladle_id ORDER BY l.sku"
    )
    assert got == [(1, "ada", "a", 0, "x"), (2, "bob", "b", 0, None), (2, "bob", "c", 1, None)]
    assert column_types(sql, "orders")["id"] == "bigint"


def test_schema_evolves_across_runs_new_column_variant_and_child_table(
    make_pipeline: PipelineMaker, sql: Any
) -> None:
    pipeline = make_pipeline()
    pipeline.run([{"id": 1, "price": 10}], table_name="items")
    info = pipeline.run(
        [{"id": 2, "price": "n/a", "colour": "red", "parts": [{"n": 1.5}]}], table_name="items"
    )
    assert set(info.schema_changes) == {
        "new column items.price__v_text (text)",
        "new column items.colour (text)",
        "new table items__parts",
    }
    types = column_types(sql, "items")
    assert {k: types[k] for k in ("id", "price", "price__v_text", "colour")} == {
        "id": "bigint",
        "price": "bigint",
        "price__v_text": "text",
        "colour": "text",
    }
    assert column_types(sql, "items__parts")["n"] == "double precision"
    assert sql("SELECT id, price, price__v_text, colour FROM pg.items ORDER BY id") == [
        (1, 10, None, None),
        (2, None, "n/a", "red"),
    ]
    # A fresh worker (empty working dir) picks the schema up from PostgreSQL and keeps evolving.
    make_pipeline(workdir="other").run([{"id": 3, "price": 2.5}], table_name="items")
    assert sql("SELECT price__v_double FROM pg.items WHERE id = 3") == [(2.5,)]


def test_replace_swaps_root_and_child_rows(make_pipeline: PipelineMaker, sql: Any) -> None:
    pipeline = make_pipeline()
    pipeline.run([{"id": 1, "tags": ["x", "y"]}], table_name="items", write_disposition="replace")
    pipeline.run([{"id": 2, "tags": ["z"]}], table_name="items", write_disposition="replace")
    assert sql("SELECT id FROM pg.items") == [(2,)]
    assert sql("SELECT value FROM pg.items__tags") == [("z",)]
    pipeline.run([{"id": 3}], table_name="items", write_disposition="replace")
    assert sql("SELECT id FROM pg.items") == [(3,)]
    assert sql("SELECT count(*) FROM pg.items__tags") == [(0,)]


# -- types -----------------------------------------------------------------------------------------
TRICKY_TEXT = [
    "",
    "Zoë 東京 🚀",
    'quote " and, comma',
    "line\nbreak\r\nand tab\t",
    "\\.",
    "\\N",
    "NULL",
    "back\\slash",
    " padded ",
]
TYPE_ROWS: list[dict[str, Any]] = [
    {
        "id": 1,
        "big": 2**63 - 1,
        "ratio": 0.1,
        "flag": True,
        "name": "Zoë 東京 🚀",
        "empty": "",
        "at": datetime.datetime(2024, 3, 31, 1, 59, 59, 999999, tzinfo=UTC),
        "day": datetime.date(1, 1, 1),
        "clock": datetime.time(23, 59, 59, 999999),
        "amount": decimal.Decimal("12345678901234567890123456789.123456789"),
        "blob": b'\x00\x01\\x,"\n\xfe\xff',
        "meta": {"nested": [1, "two", None], "quote": 'a"b', "uni": "ü"},
    },
    {
        "id": 2,
        "big": -(2**63),
        "ratio": -2.5e-300,
        "flag": False,
        "name": "",
        "empty": None,
        "at": datetime.datetime(
            1999, 12, 31, 23, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))
        ),
        "day": datetime.date(9999, 12, 31),
        "clock": datetime.time(0, 0),
        "amount": decimal.Decimal("-99999999999999999999999999999.999999999"),
        "blob": b"",
        "meta": [],
    },
    {
        "id": 3,
        "big": 0,
        "ratio": 1.7976931348623157e308,
        "flag": None,
        "name": None,
        "empty": None,
        "at": None,
        "day": None,
        "clock": None,
        "amount": decimal.Decimal("-0.000000001"),
        "blob": None,
        "meta": None,
    },
]


def test_all_types_round_trip_exactly(make_pipeline: PipelineMaker, sql: Any) -> None:
    pipeline = make_pipeline()
    pipeline.run(TYPE_ROWS, table_name="types", columns={"meta": {"data_type": "json"}})
    assert {k: v for k, v in column_types(sql, "types").items() if not k.startswith("_")} == {
        "id": "bigint",
        "big": "bigint",
        "ratio": "double precision",
        "flag": "boolean",
        "name": "text",
        "empty": "text",
        "at": "timestamp with time zone",
        "day": "date",
        "clock": "time without time zone",
        "amount": "numeric(38,9)",
        "blob": "bytea",
        "meta": "jsonb",
    }
    names = [n for n in TYPE_ROWS[0] if n != "meta"]
    # Read back through ladle (Arrow) ...
    table = pipeline.dataset(f"SELECT {', '.join(names)}, meta FROM types ORDER BY id")
    assert table.schema.field("amount").type == pa.decimal128(38, 9)
    assert table.schema.field("at").type == pa.timestamp("us", tz="UTC")
    for got, expected in zip(table.to_pylist(), TYPE_ROWS, strict=True):
        assert {n: got[n] for n in names} == {n: expected[n] for n in names}
        assert (None if got["meta"] is None else _json(got["meta"])) == expected["meta"]
    # ... and by the server itself: NULL vs '', exact text of decimals and timestamps, bytes.
    assert sql(
        "SELECT empty IS NULL, name IS NULL, amount::text, at::text, octet_length(blob), "
        "meta->'nested'->>1 FROM pg.types ORDER BY id"
    ) == [
        (False, False, "12345678901234567890123456789.123456789", "2024-03-31 01:59:59.999999+00",
         9, "two"),
        (True, False, "-99999999999999999999999999999.999999999", "2000-01-01 04:00:00+00",
         0, None),
        (True, True, "-0.000000001", None, None, None),
    ]  # fmt: skip


def test_text_and_binary_edge_cases_survive_copy(make_pipeline: PipelineMaker, sql: Any) -> None:
    blobs = [bytes(range(256)), b"", b"\\x00", b"\r\n"]
    rows = [{"id": i, "text": t} for i, t in enumerate(TRICKY_TEXT)]
    rows += [{"id": 100 + i, "blob": b} for i, b in enumerate(blobs)]
    rows.append({"id": 200, "text": None, "blob": None})
    make_pipeline().run(rows, table_name="edges")
    got = sql("SELECT id, text, blob FROM pg.edges ORDER BY id")
    assert got == [(r["id"], r.get("text"), r.get("blob")) for r in rows]


def test_many_batches_and_chunked_copy(
    make_pipeline: PipelineMaker, sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tiny COPY chunks: every batch is split, so the chunking itself is exercised.
    monkeypatch.setattr(csv_copy, "CHUNK_BYTES", 4096)
    rows = [{"id": i, "text": f"row {i}", "blob": i.to_bytes(4, "big")} for i in range(25_000)]
    make_pipeline().run(rows, table_name="many")
    assert sql("SELECT count(*), sum(id), count(DISTINCT text) FROM pg.many") == [
        (25_000, sum(range(25_000)), 25_000)
    ]
    assert sql("SELECT blob FROM pg.many WHERE id = 70000 % 25000") == [
        ((20_000).to_bytes(4, "big"),)
    ]


def test_bytea_hex_handles_slices_nulls_and_empties() -> None:
    array = pa.array([b"\x00\xff", None, b"", b"ab"], pa.binary())
    assert bytea_hex(array).to_pylist() == ["\\x00ff", None, "\\x", "\\x6162"]
    assert bytea_hex(array.slice(1)).to_pylist() == [None, "\\x", "\\x6162"]
    assert bytea_hex(pa.array([], pa.binary())).to_pylist() == []
    batch = pa.record_batch({"b": array, "s": pa.array(["", None, "x", '"'])})
    csv = b"".join(chunk.to_pybytes() for chunk in csv_chunks(batch))
    assert csv == b'"\\x00ff",""\n,\n"\\x","x"\n"\\x6162",""""\n'


def test_query_results_keep_types_even_when_empty(make_pipeline: PipelineMaker) -> None:
    pipeline = make_pipeline()
    pipeline.run([{"id": 1, "amount": decimal.Decimal("1.50")}], table_name="t")
    empty = pipeline.dataset("SELECT id, amount, now() AS at FROM t WHERE false")
    assert empty.num_rows == 0
    assert [f.type for f in empty.schema] == [
        pa.int64(),
        pa.decimal128(38, 9),
        pa.timestamp("us", tz="UTC"),
    ]
    summed = pipeline.dataset("SELECT sum(amount) AS total, 'x'::text AS x, NULL AS n FROM t")
    assert summed.to_pylist() == [{"total": decimal.Decimal("1.5"), "x": "x", "n": None}]


# -- identifiers -----------------------------------------------------------------------------------
def test_identifiers_that_need_quoting_and_200_char_names(
    make_pipeline: PipelineMaker, sql: Any
) -> None:
    long_a, long_b = "a" * 200, "a" * 199 + "b"  # equal in their first 63 bytes
    long_table = "t" * 200
    pipeline = make_pipeline()
    pipeline.run(
        [{"select": 1, '"weird name"': "w", long_a: "A", long_b: "B", "kids": [{"x": 1}]}],
        table_name="order",
    )
    pipeline.run([{"id": 1, "kids": [{long_a: 2}]}], table_name=long_table)
    columns = pipeline.schema.tables["order"].columns
    by_path = {c.source_path: c.name for c in columns.values() if c.source_path}
    name_a, name_b = by_path[(long_a,)], by_path[(long_b,)]
    assert name_a != name_b
    assert all(len(name.encode()) <= 63 for name in columns)
    weird = by_path[('"weird name"',)]
    got = sql(f'SELECT "select", "{weird}", "{name_a}", "{name_b}" FROM pg."order"')
    assert got == [(1, "w", "A", "B")]
    tables = [t for (t,) in sql("SELECT tablename FROM pg_tables WHERE schemaname = 'pg'")]
    assert all(len(t.encode()) <= 63 for t in tables)
    assert set(tables) >= {"order", "order__kids"}
    long_tables = [t for t in pipeline.schema.tables if t.startswith("ttt")]
    assert len(long_tables) == 2  # the root table and its child, both shortened and distinct
    child = next(t for t in long_tables if pipeline.schema.tables[t].parent)
    assert pipeline.dataset(f'SELECT count(*) AS n FROM "{child}"').to_pylist() == [{"n": 1}]


# -- failures --------------------------------------------------------------------------------------
@pytest.mark.parametrize("failure", ["connection_killed", "exception"])
def test_failure_mid_load_leaves_dataset_as_before_and_rerun_loads_once(
    make_pipeline: PipelineMaker, sql: Any, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    pipeline = make_pipeline()
    pipeline.run([{"id": 0, "tags": ["a"]}], table_name="items")
    before = snapshot(sql)
    real_insert = PostgresClient.insert_file
    copied: list[str] = []

    def fail_before_second_file(
        self: PostgresClient, table: Table, file: PackageFile, package: LoadPackage
    ) -> None:
        if copied:  # one file is already in the table, inside the open transaction
            if failure == "exception":
                raise RuntimeError("injected failure between two COPYs")
            sql("SELECT pg_terminate_backend(%s)", self.connection.info.backend_pid)
        real_insert(self, table, file, package)
        copied.append(table.name)

    monkeypatch.setattr(PostgresClient, "insert_file", fail_before_second_file)
    # New rows, a new column and a new child table: data and DDL must both roll back.
    rows = [{"id": i, "tags": ["a", "b"], "extra": "e", "parts": [{"n": i}]} for i in range(1, 51)]
    with pytest.raises(ladle.LoadError) as raised:
        pipeline.run(rows, table_name="items")
    assert raised.value.retryable
    assert copied
    cause = raised.value.__cause__
    expected = psycopg.OperationalError if failure == "connection_killed" else RuntimeError
    assert isinstance(cause, expected), cause
    assert snapshot(sql) == before
    monkeypatch.setattr(PostgresClient, "insert_file", real_insert)

    info = pipeline.run()  # the pending package loads now, once
    assert info.row_counts == {"items": 50, "items__tags": 100, "items__parts": 50}
    assert pipeline.run().load_ids == ()
    assert sql("SELECT count(*) FROM pg.items") == [(51,)]
    assert sql("SELECT count(*) FROM pg.items__tags") == [(101,)]
    assert sql("SELECT count(*) FROM pg._ladle_loads") == [(2,)]


def test_failed_first_load_leaves_no_dataset_behind(
    make_pipeline: PipelineMaker, sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: Any) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(PostgresClient, "insert_file", boom)
    with pytest.raises(ladle.LoadError, match="injected"):
        make_pipeline().run([{"id": 1}], table_name="items")
    assert sql("SELECT count(*) FROM pg_namespace WHERE nspname = 'pg'") == [(0,)]


def test_concurrent_workers_evolving_one_dataset(make_pipeline: PipelineMaker, sql: Any) -> None:
    # Three workers create the dataset, tables and columns at the same moment, parent and child
    # tables in each package: DDL waits for the loads in flight instead of failing on a catalog
    # conflict or deadlocking with another worker's COPY.
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def worker(n: int) -> None:
        try:
            pipeline = make_pipeline(workdir=f"worker_{n}")
            start.wait()
            for run in range(3):
                row = {"id": n, f"col_{run}": "x", "kids": [{f"k_{run}": run}]}
                pipeline.run([row], table_name="shared")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sql("SELECT count(*) FROM pg.shared") == [(9,)]
    assert sql("SELECT count(*) FROM pg.shared__kids") == [(9,)]
    assert {"col_0", "col_1", "col_2"} <= set(column_types(sql, "shared"))


# -- credentials and secrets -----------------------------------------------------------------------
def _url(password: str = PASSWORD, **changes: Any) -> str:
    parts = {**dsn_parts(), **changes}
    return make_conninfo(**parts, password=password)


def _assert_masked(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert "DO-NOT-LEAK" not in text


def test_credentials_from_the_environment_by_name(
    dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sql: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", _url())
    caplog.set_level(logging.DEBUG)
    pipeline = ladle.pipeline(
        "by_name", destination="postgres", pipelines_dir=str(tmp_path), progress="log"
    )
    assert isinstance(pipeline.destination, PostgresDestination)
    info = pipeline.run([{"id": 1}], table_name="items")
    assert caplog.records  # progress lines were logged, none shows the password
    assert sql("SELECT id FROM by_name_dataset.items") == [(1,)]
    destination = pipeline.destination
    assert destination.credentials.password == ladle.Secret(PASSWORD)
    _assert_masked(
        repr(destination),
        str(destination.credentials),
        repr(pipeline),
        str(info),
        repr(info),
        repr(info.asdict()),
        caplog.text,
    )


def test_credentials_from_secrets_toml_as_string_and_as_table(
    dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".ladle").mkdir()
    secrets_file = tmp_path / ".ladle" / "secrets.toml"
    secrets_file.write_text(f'[destination.postgres]\ncredentials = "{_url()}"\n')
    from_string = ladle.destinations.postgres()
    parts = dsn_parts()
    secrets_file.write_text(
        "[destination.postgres.credentials]\n"
        f'host = "{parts["host"]}"\nport = {parts["port"]}\ndatabase = "{parts["dbname"]}"\n'
        f'user = "{parts["user"]}"\npassword = "{PASSWORD}"\nsslmode = "disable"\n'
    )
    from_table = ladle.destinations.postgres()
    for destination in (from_string, from_table):
        assert destination.credentials.password == ladle.Secret(PASSWORD)
        _assert_masked(repr(destination), repr(destination.credentials))
        with destination.client("p", "pg") as client:
            assert client.query("SELECT 1 AS one").to_pylist() == [{"one": 1}]
    assert from_table.credentials.options == {"sslmode": "disable"}


def test_explicit_parts_override_the_connection_string(dsn: str) -> None:
    parts = dsn_parts()
    destination = ladle.destinations.postgres(
        _url(dbname="elsewhere"), database=parts["dbname"], password=ladle.Secret(PASSWORD)
    )
    assert destination.credentials.database == parts["dbname"]
    with destination.client("p", "pg") as client:
        assert client.query("SELECT current_database() AS db").to_pylist() == [
            {"db": parts["dbname"]}
        ]
    by_parts = ladle.destinations.postgres(
        host=parts["host"], port=int(parts["port"]), database="x", user="u", password=PASSWORD
    )
    assert repr(by_parts) == f"<destination postgres u@{parts['host']}:{parts['port']}/x>"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"port": "1"}, "Connection refused"), ({"dbname": "no_such_db"}, "does not exist")],
)
def test_connection_failure_names_the_server_but_never_the_password(
    dsn: str, tmp_path: Path, changes: dict[str, str], reason: str
) -> None:
    pipeline = ladle.pipeline(
        "fails",
        destination=ladle.destinations.postgres(_url(**changes)),
        pipelines_dir=str(tmp_path),
        progress=False,
    )
    with pytest.raises(ladle.DestinationError) as raised:
        pipeline.run([{"id": 1}], table_name="items")
    error = raised.value
    assert error.retryable
    message = str(error)
    assert reason in message
    parts = {**dsn_parts(), **changes}
    assert f"{parts['host']}:{parts['port']}/{parts['dbname']}" in message
    chain = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    _assert_masked(message, repr(error), chain, repr(pickle.loads(pickle.dumps(error)).details))
    assert getattr(error.__cause__, "pgconn", None) is None  # it would still hold the password


def test_dataset_name_over_63_bytes_is_refused(dsn: str) -> None:
    destination = ladle.destinations.postgres(dsn)
    with pytest.raises(ladle.ConfigError, match="63-byte"):
        destination.client("p", "d" * 64)


def test_missing_credentials_name_the_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    with pytest.raises(ladle.ConfigKeyMissing, match="DESTINATION__POSTGRES__CREDENTIALS"):
        ladle.pipeline("p", destination="postgres", pipelines_dir=str(tmp_path))


def test_bad_connection_string_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ladle.ConfigError) as raised:
        ladle.destinations.postgres(f"postgresql://u:{PASSWORD}@h:notaport/db?bogus=1")
    _assert_masked(str(raised.value), repr(raised.value))
    assert raised.value.__cause__ is None


def test_import_ladle_does_not_import_psycopg() -> None:
    code = "import sys, ladle; ladle.destinations.postgres; assert 'psycopg' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _json(value: str) -> Any:
    import json

    return json.loads(value)
