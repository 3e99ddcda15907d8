"""Daily evidence retention: archived pages and images past their retention period go, except the
evidence of open / confirmed / escalated suspects and of listings still online (sinks.retention)."""
from __future__ import annotations

from airflow.sdk import Param, dag, get_current_context, task

from cluewatch.dagkit import default_args


@dag(
    dag_id="housekeeping",
    description="Delete archived pages and images past the retention policy (never a suspect's evidence)",
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=2),
    params={
        "page_days": Param(None, type=["null", "integer"], minimum=1,
                           description="keep raw pages this many days (default CLUEWATCH_RETAIN_PAGES_DAYS)"),
        "image_days": Param(None, type=["null", "integer"], minimum=1,
                            description="keep images this many days (default CLUEWATCH_RETAIN_IMAGES_DAYS)"),
        "dry_run": Param(False, type="boolean", description="only count what would be deleted"),
    },
    tags=["cluewatch", "housekeeping"],
)
def housekeeping_dag():
    @task
    def retention() -> dict:
        from cluewatch.jobs.housekeeping import run_housekeeping
        from cluewatch.runtime import database_url

        params = get_current_context()["params"]
        return run_housekeeping(database_url(), page_days=params.get("page_days"),
                                image_days=params.get("image_days"), dry_run=bool(params.get("dry_run")))

    retention()


housekeeping_dag()
