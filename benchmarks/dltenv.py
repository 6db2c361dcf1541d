"""dlt's own venv for the dlt cases, created by the benchmark itself when missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from dlt_case import DLT_VERSION

REQUIREMENT = f"dlt[duckdb,parquet]=={DLT_VERSION}"  # parquet: pyarrow, for dlt-tuned


def _uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv")):
        if candidate:
            return candidate
    local = Path(__file__).resolve().parent.parent / ".tools" / "bin" / "uv"
    if local.exists():
        return str(local)
    raise RuntimeError("uv not found: it is needed to create the dlt venv")


def ensure_dlt_python(work: Path) -> Path:
    """The python of benchmarks/.work/dlt-venv, with dlt installed into it first if missing."""
    venv = work / "dlt-venv"
    python, marker = venv / "bin" / "python", venv / ".bench-requirement"
    if python.exists() and marker.exists() and marker.read_text() == REQUIREMENT:
        return python
    uv = _uv()
    print(f"creating {venv} with {REQUIREMENT} (once)", flush=True)
    env = {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")
    }
    subprocess.run(
        [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)],
        check=True,
        env=env,
    )
    install = [uv, "pip", "install", "--quiet", "--python", str(python), REQUIREMENT]
    subprocess.run(install, check=True, env=env)
    marker.write_text(REQUIREMENT)
    return python
