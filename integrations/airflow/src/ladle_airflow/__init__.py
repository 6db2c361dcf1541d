"""ladle on Apache Airflow: a source as a TaskGroup with a task per unit of work.

from airflow.sdk import DAG, CronDataIntervalTimetable
from ladle_airflow import LadleTaskGroup

with DAG("crm", schedule=CronDataIntervalTimetable("@daily", timezone="UTC"), ...):
    LadleTaskGroup("crm", source=crm(), pipeline=ladle.pipeline("crm"), mode="parallel")
"""

from ladle_airflow.connections import destination_from_connection
from ladle_airflow.operator import LadleOperator
from ladle_airflow.task_group import LadleTaskGroup
from ladle_airflow.version import __version__

__all__ = ["LadleOperator", "LadleTaskGroup", "__version__", "destination_from_connection"]
