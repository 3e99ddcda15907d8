"""Failure callback of every cluewatch task: a task that finally failed (after its retries) is
recorded in pipeline_failures, which `cluewatch status` shows, and logged as one structured line.

Called by Airflow with the task's context (a mapping with "ti", "exception", "run_id"...); it only
reads that mapping, so it runs and is tested without Airflow. It never raises: a broken callback
must not hide the failure it reports (Airflow logs and swallows callback errors anyway)."""
from __future__ import annotations

import logging

from cluewatch.jobs.observe import log_event

log = logging.getLogger(__name__)


def record_task_failure(context, database_url: str | None = None) -> int | None:
    """Record the failed task of `context`; returns the pipeline_failures id (None if not stored)."""
    ti = context.get("ti") or context.get("task_instance")
    fields = dict(
        dag_id=getattr(ti, "dag_id", None) or "?",
        task_id=getattr(ti, "task_id", None) or "?",
        run_id=getattr(ti, "run_id", None) or context.get("run_id"),
        map_index=getattr(ti, "map_index", -1),
        try_number=getattr(ti, "try_number", None),
        error=_describe(context.get("exception")),
    )
    log_event("task_failed", level=logging.ERROR, log=log, **fields)
    try:
        from cluewatch.runtime import database_url as configured_url
        from sinks.db import transaction
        from sinks.operations import record_failure

        with transaction(database_url or configured_url()) as conn:
            return record_failure(conn, **fields)
    except Exception:
        log.exception("could not record the failure of %s.%s in pipeline_failures",
                      fields["dag_id"], fields["task_id"])
        return None


def _describe(exc) -> str:
    if exc is None:
        return ""
    if isinstance(exc, BaseException):
        return f"{type(exc).__name__}: {exc}".strip()
    return str(exc)
