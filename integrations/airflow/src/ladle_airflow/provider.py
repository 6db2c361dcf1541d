"""The Airflow provider entry point: makes ladle-airflow show in `airflow providers list`.

Airflow imports this module when it discovers providers, so it imports nothing heavy.
"""

from __future__ import annotations

from typing import Any

from ladle_airflow.version import __version__


def get_provider_info() -> dict[str, Any]:
    """What Airflow's providers manager reads (see airflow/provider_info.schema.json)."""
    return {
        "package-name": "ladle-airflow",
        "name": "ladle",
        "description": "Load ladle sources with a task per unit of work (`LadleTaskGroup`, "
        "`LadleOperator`), bounded by the run's data interval.",
        "versions": [__version__],
        "integrations": [{"integration-name": "ladle", "tags": ["software"]}],
        "operators": [{"integration-name": "ladle", "python-modules": ["ladle_airflow.operator"]}],
    }
