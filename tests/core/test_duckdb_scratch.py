"""The process's scratch DuckDB (JSON text of Arrow lists, row hashes): from many threads at
once, and in a forked child, each use gets its own cursor and the right answer."""

from __future__ import annotations

import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pytest

from ladle.normalize.arrow_items import _to_json_text
from ladle.normalize.row_hash import arrow_row_hashes


def _lists(n: int) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array([[n, i] for i in range(500)])])


def test_threads_converting_at_once_each_get_their_own_values() -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda n: _to_json_text(_lists(n)).to_pylist(), range(64)))
    assert results == [[f"[{n},{i}]" for i in range(500)] for n in range(64)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_child_converts_with_its_own_database() -> None:
    table = pa.table({"a": [1, 2]})
    expected = arrow_row_hashes(table).to_pylist()  # the parent's database exists now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        try:
            ok = arrow_row_hashes(table).to_pylist() == expected
            ok = ok and _to_json_text(_lists(7)).to_pylist()[0] == "[7,0]"
            os.write(write, b"ok" if ok else b"wrong")
        finally:
            sys.stdout.flush()
            os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:  # a child stuck on the parent's database: fail, do not hang the suite
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child did not finish in 30 s")
    assert os.read(read, 16) == b"ok"
    assert done[1] == 0
