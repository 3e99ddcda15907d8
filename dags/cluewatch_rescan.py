"""Re-score listing versions when the registry or a detector version changed (the detect DAG emits
the cluewatch_registry asset then), or on demand for one mark / a date range (params)."""
from __future__ import annotations

from datetime import timedelta

from airflow.sdk import dag

from cluewatch.assets import OUTBOX, REGISTRY
from cluewatch.dagkit import default_args, scoring_params, scoring_tasks


@dag(
    dag_id="rescan",
    description="Re-score current listing versions under the active registry and detector versions",
    schedule=[REGISTRY],
    catchup=False,
    max_active_runs=1,
    default_args=default_args(retries=2, execution_timeout=timedelta(hours=6)),
    params=scoring_params(batch_size=500),
    tags=["cluewatch", "detect", "rescan"],
)
def rescan_dag():
    scoring_tasks("all", outlets=[OUTBOX])


rescan_dag()
