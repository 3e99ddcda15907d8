"""Crawl step: register the source, then run its spider in a child process (Twisted's reactor cannot
be restarted inside one long-lived Airflow worker process)."""
from __future__ import annotations

from pathlib import Path

from cluewatch.sources import load_sources
from sinks.db import transaction
from sinks.listings import upsert_source


def crawl_source(sources_path: Path, source_id: str, database_url: str, *, log=print, **crawl_options) -> dict:
    """Crawl one source as a recorded run: start run → crawl (child process) → finish run → mark
    the listings it did not see removed, only if the run finished and was complete.

    Returns the crawl's stats plus "run_id" and "removed". A crawl that fails is recorded as a
    failed run and re-raised. `crawl_options` go to run_crawl_subprocess (timeout, settings...)."""
    from crawlers.run import run_crawl_subprocess
    from sinks.crawl_runs import finish_run, start_run
    from sinks.removals import mark_removed

    sources = {s.id: s for s in load_sources(sources_path)}
    if source_id not in sources:
        raise KeyError(f"{sources_path}: no source with id {source_id!r}")
    with transaction(database_url) as conn:
        upsert_source(conn, sources[source_id])
        run_id = start_run(conn, source_id)
    try:
        stats = run_crawl_subprocess(sources_path, source_id, database_url, log=log, **crawl_options)
    except BaseException as e:
        with transaction(database_url) as conn:
            finish_run(conn, run_id, "failed", False, {"error": str(e)[-2000:]})
        raise
    with transaction(database_url) as conn:
        finish_run(conn, run_id, "finished", bool(stats.get("complete")), stats)
        removed = mark_removed(conn, source_id, run_id)
    if not stats.get("complete"):
        log(f"crawl of {source_id!r} was not complete ({stats.get('page_failures')}): "
            "no listing marked removed for not being seen")
    return {**stats, "run_id": run_id, "removed": removed}
