"""Daily: recrawl the listings of confirmed suspects and record whether they were taken down
(takedown_checks, shown by `cluewatch status`). One task per source, in its platform's crawl pool,
so a takedown check never hits a site while (more than the pool allows of) its crawls do."""
from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import Param, dag, get_current_context, task

from cluewatch.dagkit import default_args
from cluewatch.jobs.crawl import pool_for_platform
from cluewatch.runtime import sources_file
from cluewatch.sources import load_sources


@dag(
    dag_id="verify_takedowns",
    description="Recrawl confirmed listings; record removed / still live",
    schedule="@daily",
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=2, retry_delay=timedelta(minutes=5),
                              execution_timeout=timedelta(hours=1, minutes=5)),
    params={
        "source_id": Param(None, type=["null", "string"], description="only this source"),
        "suspect_id": Param(None, type=["null", "integer"], description="only this suspect"),
        "min_interval_hours": Param(20, type="number", minimum=0,
                                    description="skip suspects checked more recently than this"),
    },
    tags=["cluewatch", "takedowns"],
)
def verify_takedowns_dag():
    path = sources_file()
    for source in load_sources(path) if path.is_file() else []:
        @task(task_id=f"verify_{source.id}", pool=pool_for_platform(source.platform))
        def verify(source_id: str = source.id) -> dict:
            from cluewatch.jobs.verify import verify_source
            from cluewatch.runtime import database_url

            params = get_current_context()["params"]
            if params.get("source_id") and params["source_id"] != source_id:
                return {"source": source_id, "skipped": True}
            return verify_source(path, source_id, database_url(), suspect_id=params.get("suspect_id"),
                                 min_interval_hours=params.get("min_interval_hours", 20),
                                 log=logging.getLogger(__name__).info)

        verify()


verify_takedowns_dag()
