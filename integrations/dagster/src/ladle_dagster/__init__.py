"""ladle on Dagster: a source's resources (or destination tables) as assets.

from dagster import Definitions
from ladle_dagster import LadleResource, ladle_assets

@ladle_assets(source=crm(), pipeline=ladle.pipeline("crm"), group_name="crm")
def crm_assets(context, ladle: LadleResource):
    yield from ladle.run(context=context)

defs = Definitions(assets=[crm_assets], resources={"ladle": LadleResource()})
"""

from ladle_dagster.asset_specs import LadleAsset
from ladle_dagster.decorator import ladle_assets
from ladle_dagster.resource import LadleResource
from ladle_dagster.translator import LadleAssetData, LadleTranslator
from ladle_dagster.version import __version__

__all__ = [
    "LadleAsset",
    "LadleAssetData",
    "LadleResource",
    "LadleTranslator",
    "__version__",
    "ladle_assets",
]
