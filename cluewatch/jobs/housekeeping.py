"""Housekeeping step: evidence retention (sinks.retention) with a structured log line of what went."""
from __future__ import annotations

import time
from dataclasses import asdict

from cluewatch.jobs.observe import log_event


def run_housekeeping(database_url: str, *, page_days: int | None = None, image_days: int | None = None,
                     dry_run: bool = False, store=None) -> dict:
    """Purge archived pages/images past the retention policy (env, overridden by the arguments)."""
    from dataclasses import replace

    from sinks.blobstore import blob_store_from_settings
    from sinks.db import connect
    from sinks.retention import RetentionPolicy, purge_evidence

    policy = RetentionPolicy.from_env()
    policy = replace(policy, page_days=int(page_days or policy.page_days),
                     image_days=int(image_days or policy.image_days))
    store = store or blob_store_from_settings()
    t0 = time.monotonic()
    conn = connect(database_url)
    try:
        stats = asdict(purge_evidence(conn, store, policy, dry_run=dry_run))
    finally:
        conn.close()
    stats.update(page_days=policy.page_days, image_days=policy.image_days)
    log_event("housekeeping.retention", seconds=round(time.monotonic() - t0, 3), store=repr(store), **stats)
    return stats
