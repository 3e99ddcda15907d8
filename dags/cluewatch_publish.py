"""Relay the outbox to Kafka whenever detection wrote events (and on demand)."""
from __future__ import annotations

from airflow.sdk import dag, task

from cluewatch.assets import OUTBOX
from cluewatch.dagkit import default_args


@dag(
    dag_id="publish",
    description="Send outbox events (suspects, decisions, takedowns) to Kafka",
    schedule=[OUTBOX],
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=3),
    tags=["cluewatch", "publish"],
)
def publish_dag():
    @task
    def relay_outbox() -> dict:
        from dataclasses import asdict

        from cluewatch.jobs.publish import publish_outbox
        from cluewatch.runtime import database_url, kafka_bootstrap
        from sinks.db import connect

        conn = connect(database_url())
        try:
            stats = asdict(publish_outbox(conn, kafka_bootstrap()))
            # XCom keys must be strings
            stats["offsets"] = {t: {str(p): o for p, o in parts.items()} for t, parts in stats["offsets"].items()}
            return stats
        finally:
            conn.close()

    relay_outbox()


publish_dag()
