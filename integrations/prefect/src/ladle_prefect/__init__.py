"""ladle on Prefect 3: a source as a flow, or inside yours, with a task per unit of work.

from prefect import flow
from ladle_prefect import run_source, source_flow

@flow
def crm_flow():
    run_source(crm(), ladle.pipeline("crm", destination="postgres"), mode="parallel")

crm_flow = source_flow(crm, pipeline=ladle.pipeline("crm"), name="crm", retries=2)
"""

from ladle_prefect.blocks import destination_from_block
from ladle_prefect.flows import Mode, run_source, source_flow
from ladle_prefect.tasks import load_unit, unit_task
from ladle_prefect.version import __version__

__all__ = [
    "Mode",
    "__version__",
    "destination_from_block",
    "load_unit",
    "run_source",
    "source_flow",
    "unit_task",
]
