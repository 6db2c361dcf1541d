import datetime

from airflow.sdk import DAG, CronDataIntervalTimetable

import ladle
from ladle_airflow import LadleTaskGroup


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


with DAG(
    "crm",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),  # runs own a day each
    start_date=datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
) as dag:
    LadleTaskGroup(
        "crm",
        source=crm(),  # reads the plan only: no resource runs while Airflow parses this file
        pipeline=ladle.pipeline("crm", destination="postgres", dataset_name="raw_crm"),
        mode="parallel",  # "single" | "serial" | "parallel"
        use_data_interval=True,  # each run loads the tickets of its data interval
        retries=2,
    )
