from prefect import flow

import ladle
from ladle_prefect import run_source, source_flow


@ladle.source
def crm():
    @ladle.resource(primary_key="id", write_disposition="replace")
    def users():
        yield [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Bob"}]

    @ladle.resource(primary_key="id")
    def tickets(opened_at=ladle.incremental("opened_at", initial_value="2024-05-01T00:00:00Z")):
        # stands in for GET /tickets?opened_since=...&opened_before=...
        yield [{"id": n, "opened_at": f"2024-05-{n:02d}T09:00:00Z"} for n in range(1, 8)]

    @ladle.transformer(data_from=users, write_disposition="replace")
    def user_emails(page):  # runs in the `users` task: it needs the users
        for user in page:
            yield {"user_id": user["id"], "email": f"{user['name'].lower()}@example.com"}

    return users, tickets, user_emails


# A ready-made flow: parameters `start` and `end` bound the tickets' cursor (backfills).
crm_flow = source_flow(
    crm,
    pipeline=ladle.pipeline("crm", dataset_name="raw_crm"),
    destination_block="crm-warehouse",  # a Prefect Secret block: the PostgreSQL URL
    name="crm",
    mode="parallel",  # "single" | "serial" | "parallel"
    retries=2,
)


# Or inside a flow of your own.
@flow(log_prints=True)
def crm_report():
    loaded = run_source(
        crm(),
        ladle.pipeline("crm", dataset_name="raw_crm"),
        destination_block="crm-warehouse",
        mode="serial",
    )
    print({unit: info["row_counts"] for unit, info in loaded.items()})


if __name__ == "__main__":
    # A deployment served by this process: every night at 02:00 UTC, and on demand, e.g.
    # prefect deployment run crm/crm-nightly -p start=2024-05-02 -p end=2024-05-03
    crm_flow.serve(name="crm-nightly", cron="0 2 * * *")
