"""Crawl step: register the source, then run its spider in a child process (Twisted's reactor cannot
be restarted inside one long-lived Airflow worker process)."""
from __future__ import annotations

from pathlib import Path

from cluewatch.sources import load_sources
from sinks.db import transaction
from sinks.listings import upsert_source


def crawl_source(sources_path: Path, source_id: str, database_url: str, *, log=print) -> dict:
    from crawlers.run import run_crawl_subprocess

    sources = {s.id: s for s in load_sources(sources_path)}
    if source_id not in sources:
        raise KeyError(f"{sources_path}: no source with id {source_id!r}")
    with transaction(database_url) as conn:
        upsert_source(conn, sources[source_id])
    return run_crawl_subprocess(sources_path, source_id, database_url, log=log)
