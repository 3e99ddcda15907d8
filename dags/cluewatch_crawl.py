"""One DAG per crawl source in sources.yaml: crawl_<source id>. Each run updates the listings asset,
which schedules the detect DAG. Crawls of one platform share the pool crawl_<platform> (created by
`cluewatch pools` / the demo), so a site is never crawled by more tasks at once than it has slots."""
from __future__ import annotations

import logging
from datetime import timedelta

from airflow.sdk import Param, dag, get_current_context, task

from cluewatch.assets import LISTINGS
from cluewatch.dagkit import default_args
from cluewatch.jobs.crawl import CRAWL_TIMEOUT, pool_for_platform
from cluewatch.runtime import sources_file
from cluewatch.sources import load_sources


def make_crawl_dag(source, sources_path):
    @dag(
        dag_id=f"crawl_{source.id}",
        description=f"Crawl {source.platform} ({source.kind}) into PostgreSQL",
        schedule=source.schedule,
        catchup=False,
        max_active_runs=1,
        # A site that is down gets 3 more tries, 5, 10, 20 min apart; the crawl is killed (and
        # retried) if it outlives CRAWL_TIMEOUT.
        default_args=default_args(retries=3, retry_delay=timedelta(minutes=5),
                                  max_retry_delay=timedelta(hours=1),
                                  execution_timeout=CRAWL_TIMEOUT + timedelta(minutes=5)),
        params={"max_pages": Param(None, type=["null", "integer"], minimum=1,
                                   description="stop after this many pages (a partial crawl marks nothing removed)")},
        tags=["cluewatch", "crawl", source.kind, f"platform:{source.platform}"],
    )
    def crawl_dag():
        @task(outlets=[LISTINGS], pool=pool_for_platform(source.platform))
        def crawl() -> dict:
            from cluewatch.jobs.crawl import crawl_source
            from cluewatch.runtime import database_url

            params = get_current_context()["params"]
            return crawl_source(sources_path, source.id, database_url(), log=logging.getLogger(__name__).info,
                                max_pages=params.get("max_pages"))

        crawl()

    return crawl_dag()


_path = sources_file()
if _path.is_file():
    for _source in load_sources(_path):
        globals()[f"crawl_{_source.id}"] = make_crawl_dag(_source, _path)
else:
    logging.getLogger(__name__).warning("no sources file at %s: no crawl DAGs (set CLUEWATCH_SOURCES)", _path)
