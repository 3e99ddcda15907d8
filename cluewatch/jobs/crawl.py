"""Crawl step: register the source, then run its spider in a child process (Twisted's reactor cannot
be restarted inside one long-lived Airflow worker process)."""
from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from cluewatch.jobs.observe import log_event
from cluewatch.sources import load_sources
from sinks.db import transaction
from sinks.listings import upsert_source

# The crawl child process is killed after this long (the Airflow task's execution_timeout is a
# little longer, so the run is closed as failed by us rather than cut off mid-bookkeeping).
CRAWL_TIMEOUT = timedelta(hours=6)


def crawl_source(sources_path: Path, source_id: str, database_url: str, *, log=print,
                 max_pages: int | None = None, **crawl_options) -> dict:
    """Crawl one source as a recorded run: start run → crawl (child process) → finish run → mark
    the listings it did not see removed, only if the run finished and was complete.

    Returns the crawl's stats plus "run_id" and "removed". A crawl that fails is recorded as a
    failed run and re-raised. `max_pages` stops the crawl after that many pages (Scrapy's
    CLOSESPIDER_PAGECOUNT; such a run is not complete, so it marks nothing removed). `crawl_options`
    go to run_crawl_subprocess (timeout, settings...)."""
    from crawlers.run import run_crawl_subprocess
    from sinks.crawl_runs import finish_run, start_run
    from sinks.removals import mark_removed

    sources = {s.id: s for s in load_sources(sources_path)}
    if source_id not in sources:
        raise KeyError(f"{sources_path}: no source with id {source_id!r}")
    with transaction(database_url) as conn:
        upsert_source(conn, sources[source_id])
        run_id = start_run(conn, source_id)
    if max_pages:
        crawl_options["settings"] = {**(crawl_options.get("settings") or {}), "CLOSESPIDER_PAGECOUNT": int(max_pages)}
    crawl_options.setdefault("timeout", CRAWL_TIMEOUT.total_seconds())
    t0 = time.monotonic()
    try:
        stats = run_crawl_subprocess(sources_path, source_id, database_url, log=log, **crawl_options)
    except BaseException as e:
        with transaction(database_url) as conn:
            finish_run(conn, run_id, "failed", False, {"error": str(e)[-2000:]})
        log_event("crawl.failed", source=source_id, run_id=run_id, seconds=round(time.monotonic() - t0, 3),
                  error=f"{type(e).__name__}: {str(e)[-300:]}")
        raise
    with transaction(database_url) as conn:
        finish_run(conn, run_id, "finished", bool(stats.get("complete")), stats)
        removed = mark_removed(conn, source_id, run_id)
    if not stats.get("complete"):
        log(f"crawl of {source_id!r} was not complete ({stats.get('page_failures')}): "
            "no listing marked removed for not being seen")
    log_event("crawl.done", source=source_id, run_id=run_id, seconds=round(time.monotonic() - t0, 3),
              pages=stats.get("pages"), items=stats.get("items_scraped"),
              new_versions=stats.get("stored_new_version"), unchanged=stats.get("unchanged"),
              not_modified=stats.get("not_modified"), errors=stats.get("errors"),
              complete=bool(stats.get("complete")), removed=removed)
    return {**stats, "run_id": run_id, "removed": removed}


def pool_for_platform(platform: str) -> str:
    """The Airflow pool the crawls (and takedown recrawls) of one platform share, so that however
    many sources point at a site, it is only crawled by as many tasks at once as the pool has slots:
    "Example Shop" → "crawl_example_shop"."""
    import re
    import unicodedata

    slug = re.sub(r"[^a-z0-9]+", "_", unicodedata.normalize("NFKD", platform).encode("ascii", "ignore")
                  .decode().lower()).strip("_")
    if not slug:  # a platform named only in non-Latin script: a stable hash keeps it apart
        import hashlib

        slug = hashlib.sha256(platform.encode("utf-8")).hexdigest()[:12]
    return f"crawl_{slug}"[:200]
