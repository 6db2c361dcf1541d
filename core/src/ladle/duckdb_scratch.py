"""A private in-memory DuckDB for vectorized conversions (JSON text, row hashes).

Opening an in-memory database costs about 20 ms, more than converting a 50,000-row column, so
one database is opened per process and each use takes its own cursor: a cursor is a separate
connection to it (about 10 µs), safe to use while other threads use theirs. A forked child
(an Airflow task, a multiprocessing worker) opens its own: DuckDB's threads do not survive a
fork.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections.abc import Iterator

import duckdb

_lock = threading.Lock()
_database: duckdb.DuckDBPyConnection | None = None
_inherited: list[duckdb.DuckDBPyConnection] = []  # the parent's, never used or closed in a child


@contextlib.contextmanager
def scratch_cursor() -> Iterator[duckdb.DuckDBPyConnection]:
    global _database
    with _lock:
        if _database is None:
            _database = duckdb.connect(":memory:")
            atexit.register(_close)
        cursor = _database.cursor()
    try:
        yield cursor
    finally:
        cursor.close()


def _close() -> None:
    """Before the interpreter tears modules down: DuckDB reports objects still alive then."""
    global _database
    with _lock:
        if _database is not None:
            with contextlib.suppress(duckdb.Error):  # a daemon thread may still be using it
                _database.close()
            _database = None


def _forget_after_fork() -> None:
    global _lock, _database
    _lock = threading.Lock()  # another thread may have held it at the fork
    if _database is not None:
        _inherited.append(_database)  # closing it here would wait for the parent's threads
        _database = None


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_after_fork)
