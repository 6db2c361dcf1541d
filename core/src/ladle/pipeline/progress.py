"""Progress of a run: rows per stage and table, rate and elapsed time.

`progress=None` shows a live line on a terminal and nothing otherwise; `"log"` writes a log line
every few seconds (what orchestrator task logs need); `"tty"` forces the live line; `False` is
silent. Counting is cheap: rendering happens at most every `interval` seconds.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict
from typing import Literal, TextIO

ProgressMode = Literal["log", "tty"] | bool | None
logger = logging.getLogger("ladle.progress")


class Progress:
    """Counts rows per (stage, table); renders to a terminal line or a log, or not at all."""

    def __init__(
        self,
        mode: ProgressMode = None,
        *,
        stream: TextIO | None = None,
        interval: float | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        if mode is None:
            mode = "tty" if self.stream.isatty() else False
        if mode not in ("log", "tty", False, True):
            from ladle.errors import ConfigError

            raise ConfigError(f"progress={mode!r}: use None, False, 'tty' or 'log'", key="progress")
        self.mode: Literal["log", "tty"] | None = "tty" if mode is True else (mode or None)
        self.interval = interval if interval is not None else (5.0 if self.mode == "log" else 0.2)
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.started = time.monotonic()
        self._last_render = 0.0

    def add(self, stage: str, table: str, rows: int) -> None:
        self.counts[(stage, table)] += rows
        if self.mode is not None:
            now = time.monotonic()
            if now - self._last_render >= self.interval:
                self._last_render = now
                self._render(stage)

    def done(self) -> None:
        if self.mode == "tty":
            self.stream.write("\n")
            self.stream.flush()

    def summary(self, stage: str) -> str:
        rows = {t: n for (s, t), n in self.counts.items() if s == stage}
        total = sum(rows.values())
        elapsed = max(time.monotonic() - self.started, 1e-9)
        tables = ", ".join(f"{t} {n:,}" for t, n in sorted(rows.items()))
        return (
            f"{stage}: {total:,} rows in {elapsed:.1f}s ({total / elapsed:,.0f} rows/s) [{tables}]"
        )

    def _render(self, stage: str) -> None:
        line = self.summary(stage)
        if self.mode == "log":
            logger.info("%s", line)
        else:
            self.stream.write("\r\x1b[2K" + line[:200])
            self.stream.flush()
