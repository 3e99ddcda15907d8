"""Building blocks the DAG files share (kept out of dags/ so those stay thin wiring): the default
task arguments every cluewatch task gets, and the batched scoring tasks of the detect and rescan
DAGs. Imported only by DAG files (it imports airflow.sdk); the work itself is in cluewatch.jobs."""
from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import Param, get_current_context, task

from cluewatch.jobs.failures import record_task_failure

log = logging.getLogger(__name__)

OWNER = "cluewatch"


def default_args(*, retries: int = 2, retry_delay: timedelta = timedelta(minutes=1),
                 max_retry_delay: timedelta = timedelta(minutes=30),
                 execution_timeout: timedelta = timedelta(hours=1)) -> dict:
    """Retries back off exponentially (delay doubles each time, capped at max_retry_delay), a task
    that hangs is killed at execution_timeout, and one that finally fails is recorded where
    operators look (pipeline_failures, shown by `cluewatch status`)."""
    return {
        "owner": OWNER,
        "retries": retries,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": 2.0,  # Airflow 3: a multiplier (0 = constant delay)
        "max_retry_delay": max_retry_delay,
        "execution_timeout": execution_timeout,
        "on_failure_callback": [record_task_failure],
    }


def scoring_params(batch_size: int = 200) -> dict:
    """Params of a manual detect / rescan run (Airflow UI "Trigger" form, or `--conf`)."""
    return {
        "mark_id": Param(None, type=["null", "string"],
                         description="only listings that earlier had a finding on this mark"),
        "since": Param(None, type=["null", "string"],
                       description="only listing versions captured at or after this ISO date/time (UTC)"),
        "until": Param(None, type=["null", "string"],
                       description="only listing versions captured before this ISO date/time (UTC)"),
        "batch_size": Param(batch_size, type="integer", minimum=1, maximum=100_000,
                            description="listing versions per mapped scoring task"),
    }


def scoring_tasks(scope: str, outlets: list):
    """plan_batches → score_batch (one mapped task per batch, in parallel) → report (emits
    `outlets`). Returns (first, last) task for wiring. `scope`: see cluewatch.jobs.detect.Selection."""

    @task
    def plan_batches() -> list[dict]:
        from cluewatch.jobs.detect import Selection, plan_batches as plan
        from cluewatch.jobs.observe import timed
        from cluewatch.runtime import database_url
        from sinks.db import connect

        params = get_current_context()["params"]
        selection = Selection.from_params(params, scope=scope)
        conn = connect(database_url())
        try:
            with timed("detect.plan", scope=scope, selection=selection) as out:
                batches = plan(conn, batch_size=int(params.get("batch_size") or 200), selection=selection)
                out.update(batches=len(batches), versions=sum(b["versions"] for b in batches))
            return batches
        finally:
            conn.close()

    @task(max_active_tis_per_dagrun=4)  # bounded parallelism: each batch holds one DB connection
    def score_batch(batch: dict) -> dict:
        from dataclasses import asdict

        from cluewatch.jobs.detect import Selection, detect_pending
        from cluewatch.jobs.observe import timed
        from cluewatch.runtime import database_url
        from sinks.db import connect

        params = get_current_context()["params"]
        selection = Selection.from_params(params, scope=scope, lo=batch["lo"], hi=batch["hi"])
        conn = connect(database_url())
        try:
            with timed("detect.batch", scope=scope, lo=batch["lo"], hi=batch["hi"]) as out:
                stats = asdict(detect_pending(conn, selection=selection))
                out.update({k: v for k, v in stats.items() if k != "suspect_ids"})
            return stats
        finally:
            conn.close()

    @task(outlets=outlets)
    def report(results) -> dict:
        from cluewatch.jobs.observe import log_event

        totals = {"batches": 0, "scored": 0, "findings": 0, "new_suspects": 0, "errors": 0}
        suspect_ids = []
        # By index: iterating the lazy XCom sequence probes one past the end (an ERROR log line).
        for stats in (results[i] for i in range(len(results))):
            totals["batches"] += 1
            for key in ("scored", "findings", "new_suspects", "errors"):
                totals[key] += stats[key]
            suspect_ids += stats["suspect_ids"]
        log_event("detect.done", scope=scope, **totals)
        return {**totals, "suspect_ids": sorted(suspect_ids)}

    plan = plan_batches()
    done = report(score_batch.expand(batch=plan))
    return plan, done
