"""One DAG per crawl source in sources.yaml: crawl_<source id>. Each run updates the listings asset,
which schedules the detect DAG."""
from __future__ import annotations

import logging

from airflow.sdk import dag, task

from cluewatch.assets import LISTINGS
from cluewatch.runtime import sources_file
from cluewatch.sources import load_sources

DEFAULT_ARGS = {"owner": "cluewatch", "retries": 2}


def make_crawl_dag(source, sources_path):
    @dag(
        dag_id=f"crawl_{source.id}",
        description=f"Crawl {source.platform} ({source.kind}) into PostgreSQL",
        schedule=source.schedule,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["cluewatch", "crawl", source.kind],
    )
    def crawl_dag():
        @task(outlets=[LISTINGS])
        def crawl() -> dict:
            from cluewatch.jobs.crawl import crawl_source
            from cluewatch.runtime import database_url

            return crawl_source(sources_path, source.id, database_url(), log=logging.getLogger(__name__).info)

        crawl()

    return crawl_dag()


_path = sources_file()
if _path.is_file():
    for _source in load_sources(_path):
        globals()[f"crawl_{_source.id}"] = make_crawl_dag(_source, _path)
else:
    logging.getLogger(__name__).warning("no sources file at %s: no crawl DAGs (set CLUEWATCH_SOURCES)", _path)
