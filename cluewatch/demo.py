"""`cluewatch demo`: the whole pipeline once, through the real DAGs, on embedded services.

embedded PostgreSQL ─ local Kafka broker ─ demo sites on 127.0.0.1
  → registry load → crawl_<source> DAGs → detect DAG → publish DAG → summary.
Everything lives under CLUEWATCH_HOME, so a second run reuses it and adds no duplicates.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cluewatch.settings import SUSPECTS_TOPIC, Settings


@dataclass
class DemoResult:
    listings_per_source: dict[str, int] = field(default_factory=dict)
    suspects: list[dict] = field(default_factory=list)
    offsets: dict[str, dict[int, int]] = field(default_factory=dict)
    bootstrap: str = ""
    database_url: str = ""
    published_this_run: int = 0
    events_total: int = 0
    dag_states: dict[str, str] = field(default_factory=dict)


class Progress:
    """Numbered steps with elapsed time, on the terminal even while Airflow logs elsewhere."""

    def __init__(self, total: int, out=None):
        self.total, self.step, self.t0 = total, 0, time.monotonic()
        self.out = out or sys.stdout

    def __call__(self, message: str) -> None:
        self.step += 1
        print(f"[{self.step}/{self.total} {time.monotonic() - self.t0:6.1f}s] {message}", file=self.out, flush=True)

    def detail(self, message: str) -> None:
        print(f"      {message}", file=self.out, flush=True)


def _stable_ports(home: Path) -> dict | None:
    """The demo sites keep their ports across runs (listing URLs are part of the content)."""
    try:
        return json.loads((home / "demo-sites.json").read_text())
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def _kafka(settings: Settings, progress: Progress):
    if settings.kafka_bootstrap:
        progress(f"using Kafka at {settings.kafka_bootstrap}")
        yield settings.kafka_bootstrap
        return
    from cluewatch.services.kafka_broker import LocalKafkaBroker

    progress("starting a local Kafka broker (first run downloads the broker jars with Maven)")
    with LocalKafkaBroker(cache_dir=settings.home / "cache", data_dir=settings.home / "kafka") as broker:
        progress.detail(f"Kafka broker at {broker.bootstrap}")
        yield broker.bootstrap


def _database(settings: Settings, progress: Progress, stack: contextlib.ExitStack) -> str:
    if settings.database_url:
        progress("using PostgreSQL at CLUEWATCH_DATABASE_URL")
        return settings.database_url
    from cluewatch.services.postgres import EmbeddedPostgres

    progress(f"starting embedded PostgreSQL in {settings.home / 'postgres'}")
    pg = stack.enter_context(EmbeddedPostgres(settings.home / "postgres"))
    return pg.url()


def run_demo(settings: Settings | None = None, out=None) -> DemoResult:
    settings = settings or Settings.from_env()
    settings.home.mkdir(parents=True, exist_ok=True)
    progress = Progress(total=9, out=out)
    result = DemoResult()
    started = datetime.now(timezone.utc)
    with contextlib.ExitStack() as stack:
        db_url = _database(settings, progress, stack)
        result.database_url = db_url

        from cluewatch import airflow_env
        from sinks.db import migrate

        progress("migrating the cluewatch schema (Alembic) and Airflow's metadata database")
        migrate(db_url)
        airflow_env.configure(settings.home / "airflow", airflow_env.metadata_url_for(db_url))
        airflow_env.migrate_metadata()

        bootstrap = stack.enter_context(_kafka(settings, progress))
        result.bootstrap = bootstrap

        from cluewatch.demo_sites import REGISTRY_FILE, demo_sources_yaml, serve_demo_sites

        sites = stack.enter_context(serve_demo_sites(ports=_stable_ports(settings.home)))
        (settings.home / "demo-sites.json").write_text(json.dumps(sites.ports))
        sources_path = settings.home / "sources.yaml"
        sources_path.write_text(demo_sources_yaml(sites), encoding="utf-8")
        progress(f"demo sites up: shop {sites.shop}, fair {sites.fair}, market {sites.market}")

        from cluewatch.registry import load_registry
        from sinks.db import transaction
        from sinks.registry_store import save_registry

        registry = load_registry(REGISTRY_FILE)
        with transaction(db_url) as conn:
            fresh = save_registry(conn, registry)
        progress(f"registry: {len(registry.marks)} marks, {len(registry.geographical_indications)} GI"
                 f" ({'loaded' if fresh else 'already loaded'})")

        # The DAG files read these when Airflow parses them and when their tasks run (in process).
        os.environ.update(CLUEWATCH_DATABASE_URL=db_url, CLUEWATCH_KAFKA_BOOTSTRAP=bootstrap,
                          CLUEWATCH_SOURCES=str(sources_path), CLUEWATCH_HOME=str(settings.home))
        from airflow.dag_processing.dagbag import DagBag
        from airflow.settings import dispose_orm

        # Close Airflow's pooled connections while PostgreSQL is still up (the stack stops it after).
        stack.callback(dispose_orm)

        bag = DagBag(dag_folder=str(airflow_env.DAGS_FOLDER))
        if bag.import_errors:
            raise RuntimeError(f"DAG import errors: {bag.import_errors}")
        from cluewatch.sources import load_sources

        # The crawl tasks run in per-platform pools; a scheduler would never start them without.
        created = airflow_env.ensure_pools(load_sources(sources_path))
        if created:
            progress.detail(f"Airflow pools created: {', '.join(created)}")
        crawl_ids = sorted(d for d in bag.dag_ids if d.startswith("crawl_"))
        progress(f"running {len(crawl_ids)} crawl DAGs through Airflow: {', '.join(crawl_ids)}")
        for dag_id in crawl_ids + ["detect", "publish"]:
            if dag_id == "detect":
                progress("running the detect DAG (word-mark detector → findings → suspects → outbox)")
            elif dag_id == "publish":
                progress(f"running the publish DAG (outbox → Kafka {SUSPECTS_TOPIC})")
            t0 = time.monotonic()
            run = bag.get_dag(dag_id).test()
            result.dag_states[dag_id] = str(getattr(run.state, "value", run.state))
            progress.detail(f"{dag_id}: {result.dag_states[dag_id]} in {time.monotonic() - t0:.1f} s"
                            f" — {_counts(db_url)}")
            if result.dag_states[dag_id] != "success":
                raise RuntimeError(f"DAG {dag_id} ended {result.dag_states[dag_id]}; see the log above")

        _summarise(db_url, result, started)
        progress("done")
    return result


def _counts(db_url: str) -> str:
    from sinks.db import connect

    conn = connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("""SELECT (SELECT count(*) FROM listings), (SELECT count(*) FROM listing_versions),
                                  (SELECT count(*) FROM suspects),
                                  (SELECT count(*) FROM outbox WHERE published_at IS NULL)""")
            listings, versions, suspects, pending = cur.fetchone()
    finally:
        conn.close()
    return f"{listings} listings ({versions} versions), {suspects} suspects, {pending} events to publish"


def _summarise(db_url: str, result: DemoResult, started: datetime) -> None:
    from sinks.db import connect

    conn = connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("""SELECT source_id, count(*) FROM listings GROUP BY source_id ORDER BY 1""")
            result.listings_per_source = dict(cur.fetchall())
            cur.execute(
                """SELECT s.id, s.score, s.reasons, lv.title, lv.url, lv.seller_name
                   FROM suspects s JOIN listing_versions lv ON lv.id = s.listing_version_id
                   ORDER BY s.score DESC, s.id""")
            result.suspects = [dict(id=i, score=sc, reasons=r, title=t, url=u, seller=se)
                               for i, sc, r, t, u, se in cur.fetchall()]
            cur.execute(
                """SELECT topic, kafka_partition, max(kafka_offset) FROM outbox
                   WHERE published_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""")
            for topic, partition, offset in cur.fetchall():
                result.offsets.setdefault(topic, {})[partition] = offset
            cur.execute("SELECT count(*), count(*) FILTER (WHERE published_at >= %s) FROM outbox", (started,))
            result.events_total, result.published_this_run = cur.fetchone()
    finally:
        conn.close()


def print_summary(result: DemoResult, out=None) -> None:
    out = out or sys.stdout
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p("\n== cluewatch demo summary ==")
    p("listings per source:")
    for source, n in result.listings_per_source.items():
        p(f"  {source:14s} {n:4d}")
    p(f"suspects ({len(result.suspects)}), highest risk first:")
    for s in result.suspects:
        p(f"  #{s['id']:<4d} {s['score']:.2f}  {s['title']}")
        p(f"         seller: {s['seller']}   {s['url']}")
        for reason in s["reasons"]:
            p(f"         - {reason}")
    p(f"events: {result.events_total} in the outbox, {result.published_this_run} published by this run")
    p(f"Kafka (this run: {result.bootstrap}): last offset per topic/partition, as recorded at publishing:")
    for topic, parts in result.offsets.items():
        p(f"  {topic}: " + ", ".join(f"p{k}@{v}" for k, v in sorted(parts.items())))
    if not result.offsets:
        p("  (nothing published yet)")
