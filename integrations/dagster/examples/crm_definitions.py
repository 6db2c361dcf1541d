import dagster as dg

import ladle
from ladle_dagster import LadleResource, ladle_assets


@ladle.source
def crm():
    @ladle.resource(primary_key="id", write_disposition="replace")
    def users():
        yield [{"id": 1, "name": "Ada", "roles": ["admin"]}, {"id": 2, "name": "Bob", "roles": []}]

    @ladle.resource(primary_key="id")
    def tickets(opened_at=ladle.incremental("opened_at", initial_value="2024-05-01T00:00:00Z")):
        # stands in for GET /tickets?opened_since=...&opened_before=...
        yield [{"id": n, "opened_at": f"2024-05-{n:02d}T09:00:00Z"} for n in range(1, 8)]

    @ladle.transformer(data_from=users, write_disposition="replace")
    def user_emails(page):  # depends on the users asset; materialized alone, it reads users
        for user in page:
            yield {"user_id": user["id"], "email": f"{user['name'].lower()}@example.com"}

    return users, tickets, user_emails


@ladle_assets(
    source=crm(),  # reads the plan only: no resource runs while Dagster loads this module
    pipeline=ladle.pipeline("crm", destination="postgres", dataset_name="raw_crm"),
    group_name="crm",
    asset_per="table",  # crm/users, crm/users__roles (a child table), crm/tickets, crm/user_emails
    child_tables={"users": ["users__roles"]},
    partitions_def=dg.DailyPartitionsDefinition(start_date="2024-05-01", timezone="UTC"),
)
def crm_assets(context: dg.AssetExecutionContext, ladle: LadleResource):
    yield from ladle.run(context=context)  # each partition loads the tickets of its day


# Credentials come from the environment (DESTINATION__POSTGRES__CREDENTIALS), never the code.
defs = dg.Definitions(assets=[crm_assets], resources={"ladle": LadleResource()})
