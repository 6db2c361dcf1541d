"""The pipeline API as users meet it: sources, resources, transformers, patches, dispositions."""

from __future__ import annotations

import contextlib
import json
import logging
import pathlib
import subprocess
import sys
import threading
from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

import ladle
from ladle.normalize import normalizer
from tests.conftest import PipelineFactory, rows


def make_crm() -> ladle.Source:
    @ladle.resource(primary_key="id")
    def users() -> Iterator[object]:
        yield [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}]
        yield {"id": 3, "name": "Linus"}

    @ladle.transformer(data_from=users)
    def user_details(page: object) -> Iterator[dict[str, object]]:
        for user in page if isinstance(page, list) else [page]:
            yield {"user_id": user["id"], "name_length": len(user["name"])}

    @ladle.resource(write_disposition="replace")
    def settings() -> Iterator[dict[str, object]]:
        yield {"key": "theme", "value": "dark"}

    @ladle.source
    def crm() -> tuple[ladle.Resource, ...]:
        return users, user_details, settings

    return crm()


def test_source_with_transformer_loads_every_table(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline("crm")
    info = pipeline.run(make_crm())
    assert info.row_counts == {"users": 3, "user_details": 3, "settings": 1}
    assert rows(pipeline, "SELECT user_id, name_length FROM user_details ORDER BY user_id") == [
        {"user_id": 1, "name_length": 3},
        {"user_id": 2, "name_length": 5},
        {"user_id": 3, "name_length": 5},
    ]
    assert "crm" in str(info)
    assert "user_details" in str(info)
    assert json.loads(json.dumps(info.asdict()))["row_counts"]["users"] == 3


def test_with_resources_runs_unselected_parents_without_loading_them(
    make_pipeline: PipelineFactory,
) -> None:
    pipeline = make_pipeline("crm")
    info = pipeline.run(make_crm().with_resources("user_details"))
    assert info.row_counts == {"user_details": 3}
    with pytest.raises(ladle.ConfigError, match="no resource"):
        make_crm().with_resources("nope")


def test_add_map_filter_limit_and_apply_hints(make_pipeline: PipelineFactory) -> None:
    source = make_crm().with_resources("users")
    source.users.add_filter(lambda u: u["id"] != 2).add_map(
        lambda u: {**u, "name": u["name"].upper()}
    )
    source.users.apply_hints(table_name="people")
    pipeline = make_pipeline("crm")
    pipeline.run(source)
    assert rows(pipeline, "SELECT id, name FROM people ORDER BY id") == [
        {"id": 1, "name": "ADA"},
        {"id": 3, "name": "LINUS"},
    ]
    limited = make_crm().with_resources("users")
    limited.users.add_limit(1)  # one yield: the first page
    info = make_pipeline("limited").run(limited)
    assert info.row_counts == {"users": 2}


def test_replace_swaps_whole_table_family(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run(
        [{"id": 1, "tags": ["a", "b"]}, {"id": 2}], table_name="t", write_disposition="replace"
    )
    pipeline.run([{"id": 3}], table_name="t", write_disposition="replace")
    assert rows(pipeline, "SELECT id FROM t") == [{"id": 3}]
    assert rows(pipeline, "SELECT count(*) AS n FROM t__tags") == [{"n": 0}]


def test_append_accumulates(make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    for batch in range(3):
        pipeline.run([{"batch": batch}], table_name="t")
    assert rows(pipeline, "SELECT count(*) AS n FROM t") == [{"n": 3}]


def test_arrow_tables_and_record_batches(make_pipeline: PipelineFactory) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "owner": pa.array([{"login": "a", "id": 7}, {"login": "b", "id": 8}]),
            "labels": pa.array([["x"], []]),
        }
    )
    pipeline = make_pipeline()
    info = pipeline.run([table, table.to_batches()[0]], table_name="arrow_items")
    assert info.row_counts == {"arrow_items": 4}
    columns = pipeline.schema.tables["arrow_items"].columns
    assert {n: columns[n].data_type for n in ("id", "owner__login", "owner__id", "labels")} == {
        "id": "bigint",
        "owner__login": "text",
        "owner__id": "bigint",
        "labels": "json",
    }
    sql = "SELECT id, owner__login, _ladle_id IS NOT NULL AS has_id FROM arrow_items"
    got = rows(pipeline, f"{sql} ORDER BY id LIMIT 2")
    assert got == [
        {"id": 1, "owner__login": "a", "has_id": True},
        {"id": 1, "owner__login": "a", "has_id": True},
    ]


def test_a_huge_arrow_table_is_normalized_slice_by_slice(
    make_pipeline: PipelineFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One chunk of 2.5 slices: converted a slice at a time (memory), loaded whole and in order.
    monkeypatch.setattr(normalizer, "ARROW_ROWS_PER_BATCH", 4)
    table = pa.table({"n": list(range(10)), "tags": [[f"t{n}"] * (n % 3) for n in range(10)]})
    written: list[int] = []
    write = normalizer.IpcWriters.write

    def counted(self: normalizer.IpcWriters, name: str, batch: pa.RecordBatch) -> None:
        written.append(batch.num_rows)
        write(self, name, batch)

    monkeypatch.setattr(normalizer.IpcWriters, "write", counted)
    pipeline = make_pipeline()
    pipeline.run(table, table_name="big")

    assert written == [4, 4, 2]
    got = rows(pipeline, "SELECT n, tags, _ladle_id FROM big ORDER BY n")
    assert [(r["n"], r["tags"]) for r in got] == [
        (n, json.dumps([f"t{n}"] * (n % 3), separators=(",", ":"))) for n in range(10)
    ]
    assert len({r["_ladle_id"] for r in got}) == 10


def test_pandas_dataframe(make_pipeline: PipelineFactory) -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"id": [1, 2], "name": ["a", None]})
    pipeline = make_pipeline()
    pipeline.run(frame, table_name="frame")
    assert rows(pipeline, "SELECT id, name FROM frame ORDER BY id") == [
        {"id": 1, "name": "a"},
        {"id": 2, "name": None},
    ]


def test_generator_reusing_one_dict_stores_each_yielded_state(
    make_pipeline: PipelineFactory,
) -> None:
    def reused() -> Iterator[dict[str, int]]:
        row: dict[str, int] = {}
        for i in range(3):
            row["i"] = i
            yield row

    pipeline = make_pipeline()
    pipeline.run(reused())  # a generator names its table after its function
    assert rows(pipeline, "SELECT i FROM reused ORDER BY i") == [{"i": 0}, {"i": 1}, {"i": 2}]


def test_parallelized_resources_run_in_threads(make_pipeline: PipelineFactory) -> None:
    threads: set[str] = set()

    def numbers(name: str) -> ladle.Resource:
        @ladle.resource(name=name, parallelized=True)
        def produce() -> Iterator[dict[str, int]]:
            for i in range(500):
                threads.add(threading.current_thread().name)
                yield {"i": i}

        return produce

    @ladle.source
    def many() -> list[ladle.Resource]:
        return [numbers("a"), numbers("b")]

    info = make_pipeline().run(many())
    assert info.row_counts == {"a": 500, "b": 500}
    assert all(name.startswith("ladle-extract") for name in threads)


def test_progress_log_writes_stage_lines(
    make_pipeline: PipelineFactory, caplog: pytest.LogCaptureFixture
) -> None:
    from ladle.pipeline.progress import Progress

    caplog.set_level(logging.INFO, logger="ladle.progress")
    progress = Progress("log", interval=0)
    progress.add("extract", "users", 10)
    assert "extract: 10 rows" in caplog.text
    assert "users 10" in caplog.text
    with pytest.raises(ladle.ConfigError, match="progress"):
        make_pipeline(progress="fancy")


def test_dataset_name_defaults_and_duckdb_file_defaults(tmp_path: object) -> None:
    pipeline = ladle.pipeline("my-crm", pipelines_dir="work", progress=False)
    assert pipeline.dataset_name == "my_crm_dataset"
    pipeline.run([{"a": 1}], table_name="t")
    import pathlib

    assert pathlib.Path("my-crm.duckdb").is_file()
    assert rows(pipeline, "SELECT a FROM my_crm_dataset.t") == [{"a": 1}]


def test_run_without_data_and_nothing_pending(make_pipeline: PipelineFactory) -> None:
    info = make_pipeline().run()
    assert info.load_ids == ()
    assert str(info).endswith("nothing to load")


def test_filter_then_map_on_single_records(make_pipeline: PipelineFactory) -> None:
    @ladle.resource
    def numbers() -> Iterator[dict[str, int]]:
        yield from ({"i": i} for i in range(6))

    numbers.add_filter(lambda r: r["i"] % 2 == 0).add_map(lambda r: {"double": r["i"] * 2})
    pipeline = make_pipeline()
    pipeline.run(numbers)
    assert rows(pipeline, "SELECT double FROM numbers ORDER BY 1") == [
        {"double": 0},
        {"double": 4},
        {"double": 8},
    ]


def test_duckdb_memory_is_capped_on_connections_ladle_opens(tmp_path: object) -> None:
    capped = ladle.pipeline("capped", pipelines_dir="work", progress=False)
    capped.run([{"a": 1}], table_name="t")
    limit = rows(capped, "SELECT current_setting('memory_limit') AS m")[0]["m"]
    assert str(limit).startswith(("488", "512"))  # DuckDB prints 512MB as 488.2 MiB
    free = ladle.pipeline(
        "free", destination=ladle.destinations.duckdb(load_memory_limit=None), progress=False
    )
    free.run([{"a": 1}], table_name="t")
    assert rows(free, "SELECT current_setting('memory_limit') AS m")[0]["m"] != limit


def test_tables_named_like_python_variables_load_on_a_user_s_connection() -> None:
    # Looking a table up must not read a Python variable of that name instead (DuckDB's
    # replacement scans): `time` is a module, and `table` a string, where ladle looks tables up.
    connection = duckdb.connect()
    pipeline = ladle.pipeline(
        "names", destination=ladle.destinations.duckdb(connection), progress=False
    )
    for name in ("time", "table", "connection"):
        pipeline.run([{"a": 1}], table_name=name)
        pipeline.run([{"a": 2, "b": "new column"}], table_name=name)
    assert rows(pipeline, 'SELECT a, b FROM "time" ORDER BY a') == [
        {"a": 1, "b": None},
        {"a": 2, "b": "new column"},
    ]
    # The user's connection keeps its own setting, on or off.
    setting = "SELECT current_setting('python_enable_replacements')"
    assert connection.execute(setting).fetchone() == (True,)
    connection.execute("SET python_enable_replacements = false")
    pipeline.run([{"a": 3}], table_name="time")
    assert connection.execute(setting).fetchone() == (False,)


def test_duckdb_waits_while_another_process_holds_the_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "shared.duckdb"
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_DUCKDB_FILE, str(path), "1.0"], stdout=subprocess.PIPE
    ) as holder:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"holding\n"  # a parallel task is loading
        impatient = ladle.pipeline(
            "shared",
            destination=ladle.destinations.duckdb(path, lock_timeout=0.1),
            pipelines_dir=str(tmp_path / "a"),
            progress=False,
        )
        with pytest.raises(ladle.DestinationError, match=r"shared\.duckdb.*lock"):
            impatient.run([{"a": 1}], table_name="t")
        patient = ladle.pipeline(
            "shared",
            destination=ladle.destinations.duckdb(path),
            pipelines_dir=str(tmp_path / "b"),
            progress=False,
        )
        assert patient.run([{"a": 1}], table_name="t").row_counts == {"t": 1}


# Opens a DuckDB file, says so, holds it for the given seconds.
HOLD_DUCKDB_FILE = """
import sys, time, duckdb
connection = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
connection.close()
"""


def test_threads_loading_into_one_duckdb_file_take_turns(tmp_path: pathlib.Path) -> None:
    # Parallel tasks of an orchestrator in one process: DuckDB alone would fail one of them
    # with a catalog write-write conflict (both create the dataset and system tables).
    path = str(tmp_path / "shared.duckdb")
    loaded: dict[str, dict[str, int]] = {}
    errors: list[BaseException] = []

    def load(name: str) -> None:
        worker = ladle.pipeline(
            "shared",
            destination=ladle.destinations.duckdb(path),
            pipelines_dir=str(tmp_path / name),
            progress=False,
        )
        try:
            rows = [{"id": i, "tags": ["a", "b"]} for i in range(5000)]
            loaded[name] = dict(worker.run(rows, table_name=name).row_counts)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=load, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert loaded == {
        "left": {"left": 5000, "left__tags": 10000},
        "right": {"right": 5000, "right__tags": 10000},
    }


def test_a_thread_waits_for_another_threads_load_only_up_to_lock_timeout(
    tmp_path: pathlib.Path,
) -> None:
    path = str(tmp_path / "shared.duckdb")
    destination = ladle.destinations.duckdb(path, lock_timeout=0.1)
    with destination.client("shared", "busy") as busy:
        busy.begin()  # another thread's load, in the middle of its transaction
        errors: list[BaseException] = []

        def load() -> None:
            impatient = ladle.pipeline(
                "shared", destination=destination, pipelines_dir=str(tmp_path / "w"), progress=False
            )
            try:
                impatient.run([{"a": 1}], table_name="t")
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=load)
        thread.start()
        thread.join()
        busy.rollback()
    assert len(errors) == 1
    assert isinstance(errors[0], ladle.DestinationError)
    assert "lock_timeout" in str(errors[0])


def test_opening_a_duckdb_file_another_thread_opens_and_closes_waits_for_it(
    tmp_path: pathlib.Path,
) -> None:
    # DuckDB refuses a file as "attached already" while another thread of the process opens or
    # closes it (seen with Prefect's parallel tasks): ladle waits and retries, as for a lock.
    path = tmp_path / "shared.duckdb"
    destination = ladle.destinations.duckdb(path)
    done = threading.Event()
    errors: list[BaseException] = []

    def churn() -> None:  # someone else in the process, opening and closing the file
        while not done.is_set():
            with contextlib.suppress(duckdb.Error):
                duckdb.connect(str(path)).close()

    def open_and_close() -> None:
        for _ in range(200):
            try:
                with destination.client("shared", "d") as client:
                    client.execute("SELECT 1")
            except BaseException as exc:
                errors.append(exc)

    churners = [threading.Thread(target=churn) for _ in range(2)]
    openers = [threading.Thread(target=open_and_close) for _ in range(2)]
    for thread in churners + openers:
        thread.start()
    for thread in openers:
        thread.join()
    done.set()
    for thread in churners:
        thread.join()
    assert errors == []
