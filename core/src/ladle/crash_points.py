"""Named points where a test can stop the process dead, to prove that a crash there loses and
duplicates nothing.

    LADLE_CRASH_AT=load        the process kills itself (SIGKILL) when it reaches "load"
    LADLE_PAUSE_AT=extracted   it waits there until the file LADLE_PAUSE_UNTIL exists

Points: "extract" (after the first item of a run is stored), "extracted" (a package is
complete), "normalize" (normalized files written, manifest not yet updated), "load" (a
package's data is in the open transaction, not committed), "committed" (committed, the
working directory not yet cleaned up). The variables are read once, at import: unset, a
point costs one comparison.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CRASH_AT = os.environ.get("LADLE_CRASH_AT")
PAUSE_AT = os.environ.get("LADLE_PAUSE_AT")
ARMED = CRASH_AT is not None or PAUSE_AT is not None
PAUSE_LIMIT_SECONDS = 120.0


def reached(point: str) -> None:
    if not ARMED:
        return
    if point == PAUSE_AT:
        until = Path(os.environ["LADLE_PAUSE_UNTIL"])
        deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
        while not until.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    if point == CRASH_AT:
        os.kill(os.getpid(), signal.SIGKILL)
