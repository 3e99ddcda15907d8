"""Score new listing versions whenever the listings asset is updated; suspects go to the outbox."""
from __future__ import annotations

from airflow.sdk import dag, task

from cluewatch.assets import LISTINGS, OUTBOX


@dag(
    dag_id="detect",
    description="Run detectors on new listing versions; store findings, suspects and outbox events",
    schedule=[LISTINGS],
    catchup=False,
    max_active_runs=1,
    default_args={"owner": "cluewatch", "retries": 1},
    tags=["cluewatch", "detect"],
)
def detect_dag():
    @task
    def sync_registry() -> dict | None:
        """CLUEWATCH_REGISTRY, when set, is the registry of record: a changed file is loaded first."""
        from cluewatch.jobs.detect import sync_registry_file
        from cluewatch.runtime import database_url
        from cluewatch.settings import Settings
        from sinks.db import connect

        path = Settings.from_env().registry_file
        if path is None:
            return None
        conn = connect(database_url())
        try:
            return sync_registry_file(conn, path)
        finally:
            conn.close()

    @task(outlets=[OUTBOX])
    def score_listings() -> dict:
        from dataclasses import asdict

        from cluewatch.jobs.detect import detect_pending
        from cluewatch.runtime import database_url
        from sinks.db import connect

        conn = connect(database_url())
        try:
            return asdict(detect_pending(conn))
        finally:
            conn.close()

    sync_registry() >> score_listings()


detect_dag()
