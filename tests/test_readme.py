"""The README stays true: its Python examples run, and its first example is the demo's code."""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from pathlib import Path

import pytest

from tests.core.destinations.postgres_server import fresh_postgres_dsn

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.DOTALL)
# The first block is the demo source: it needs the demo API, which tests/examples runs. An
# Airflow DAG file runs inside Airflow: tests/integrations/airflow/test_readme_dag.py runs it; the
# Dagster definitions run inside Dagster: tests/integrations/dagster/test_readme_definitions.py;
# the Prefect flow file needs a Prefect server: tests/integrations/prefect/test_readme_flow.py.
PLUGINS = ("ladle_airflow", "ladle_dagster", "ladle_prefect")
RUNNABLE = [block for block in BLOCKS[1:] if not any(plugin in block for plugin in PLUGINS)]


def expected_output(block: str) -> list[str]:
    """Lines after `# ` right below a print(...) are what the print shows."""
    return [m.strip() for m in re.findall(r"^# (\[?\{.*|\*\*\*.*|\d+.*)$", block, re.MULTILINE)]


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"block{i + 2}" for i in range(len(RUNNABLE))])
def test_readme_example_runs(block: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOURCES__CRM__API_KEY", raising=False)
    if 'destination="postgres"' in block:
        # The example reads its credentials from the environment, as the README says.
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", fresh_postgres_dsn())
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    printed = output.getvalue()
    for comment in re.findall(r"print\(.*?\)\s+# (.+)$", block, re.MULTILINE):
        assert comment.split(":")[0].strip() in printed, comment
    for line in expected_output(block):
        assert line in printed, line


def test_readme_first_example_is_the_demo_source() -> None:
    demo = (ROOT / "examples" / "demo" / "bookshop.py").read_text()
    for name in ("def bookshop(base_url: str)", "def customers()", "def orders()", "def reviews("):
        assert name.split("(")[0] in demo
        assert name.split("(")[0] in BLOCKS[0]
    for decorator in re.findall(r"@ladle\.\w+\(.*\)", textwrap.dedent(BLOCKS[0])):
        assert decorator in demo, decorator
