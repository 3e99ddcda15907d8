"""Score new listing versions whenever the listings asset is updated; suspects go to the outbox.

sync_registry ─▶ plan_batches ─▶ score_batch × N (dynamic task mapping, in parallel) ─▶ report
sync_registry emits the cluewatch_registry asset (which schedules rescan) only when the registry or
a detector version is new; report emits the outbox asset (which schedules publish)."""
from __future__ import annotations

from airflow.sdk import AssetAlias, dag, task

from cluewatch.assets import LISTINGS, OUTBOX, REGISTRY
from cluewatch.dagkit import default_args, scoring_params, scoring_tasks

# An alias lets the task decide at run time whether the registry asset gets an event at all.
REGISTRY_CHANGES = AssetAlias("cluewatch_registry_changes")


@dag(
    dag_id="detect",
    description="Run detectors on new listing versions; store findings, suspects and outbox events",
    schedule=[LISTINGS],
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=2),
    params=scoring_params(),
    tags=["cluewatch", "detect"],
)
def detect_dag():
    @task(outlets=[REGISTRY_CHANGES])
    def sync_registry(*, outlet_events=None) -> dict:
        """CLUEWATCH_REGISTRY, when set, is the registry of record: a changed file is loaded first."""
        from cluewatch.jobs.detect import scoring_version, sync_registry_file
        from cluewatch.jobs.observe import log_event
        from cluewatch.runtime import database_url
        from cluewatch.settings import Settings
        from sinks.db import connect

        path = Settings.from_env().registry_file
        conn = connect(database_url())
        try:
            loaded = sync_registry_file(conn, path) if path is not None else None
            version = scoring_version(conn)
        finally:
            conn.close()
        log_event("detect.scoring_version", loaded=loaded, **version)
        if version["changed"]:
            outlet_events[REGISTRY_CHANGES].add(REGISTRY, extra=version)
        return {"registry_file": loaded, **version}

    first, _ = scoring_tasks("new", outlets=[OUTBOX])
    sync_registry() >> first


detect_dag()
