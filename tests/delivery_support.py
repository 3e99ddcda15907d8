"""Helpers for the delivery tests: fill the outbox fast, watch it drain, read a topic back."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from psycopg2.extras import Json, execute_values

from sinks.messages import suspect_message

ROOT = Path(__file__).resolve().parent.parent

LISTING = dict(listing_id=7, version_id=9, source="demo-shop", platform="DemoShop", kind="ecommerce",
               url="http://127.0.0.1:1/item/1.html", external_id="1", title="高仿耐克 运动鞋 2026新款",
               price_low="88.00", price_high="128.50", currency="CNY", seller_name="小店", seller_id="s-1",
               seller_url=None, seller_location="临沂",
               captured_at=datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc), content_sha256="a" * 64,
               image_urls=["http://127.0.0.1:1/img/1.jpg", "http://127.0.0.1:1/img/2.jpg"])
SIGNAL = dict(detector="text.exact_name", detector_version="0.1.0", mark_id="nike", reg_no="100",
              score=0.7, reason="Title contains 耐克", evidence={"span": [2, 4], "matched": "耐克"})


def suspect(i: int, **listing) -> dict:
    """A valid cluewatch.suspect.v1 message for listing 100000+i (about 1 KB of JSON)."""
    from decimal import Decimal

    lst = {**LISTING, "listing_id": 100_000 + i, "external_id": str(i), **listing}
    lst["price_low"], lst["price_high"] = Decimal(lst["price_low"]), Decimal(lst["price_high"])
    return suspect_message(suspect_id=i + 1, score=0.7, reasons=["Title contains 耐克"], listing=lst,
                           signals=[SIGNAL], occurred_at=datetime.now(timezone.utc))


def enqueue_many(conn, topic: str, n: int, start: int = 0) -> list[str]:
    """n suspect events for `topic` in the outbox (one INSERT; enqueue() per row would take longer
    than the relay needs to send them). Returns their event ids."""
    rows = []
    for i in range(start, start + n):
        m = suspect(i)
        rows.append((m["event_id"], topic, str(m["listing"]["listing_id"]), Json(m)))
    with conn.cursor() as cur:
        execute_values(cur, "INSERT INTO outbox (event_id, topic, key, payload) VALUES %s", rows, page_size=2000)
    conn.commit()
    return [r[0] for r in rows]


def insert_raw(conn, topic: str, key: str, payload) -> str:
    """An outbox row written around enqueue()'s validation (as an old version, or a bug, would)."""
    event_id = str(uuid.uuid4())
    with conn.cursor() as cur:
        cur.execute("INSERT INTO outbox (event_id, topic, key, payload) VALUES (%s, %s, %s, %s)",
                    (event_id, topic, key, Json(payload)))
    conn.commit()
    return event_id


def outbox_counts(url: str, topic: str) -> dict:
    import psycopg2

    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("""SELECT count(*) FILTER (WHERE published_at IS NOT NULL),
                                  count(*) FILTER (WHERE published_at IS NULL AND quarantined_at IS NULL),
                                  count(*) FILTER (WHERE dead_lettered_at IS NOT NULL)
                           FROM outbox WHERE topic = %s""", (topic,))
            sent, pending, dead = cur.fetchone()
        return {"sent": sent, "pending": pending, "dead": dead}
    finally:
        conn.close()


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05, *, alive=None):
    """Poll `predicate` until truthy; fail at once if the process `alive` (with .log_path) exits."""
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None and alive.poll() is not None:
            tail = Path(alive.log_path).read_text(errors="replace")[-3000:]
            raise AssertionError(f"the relay exited ({alive.returncode}) while waiting for {what}:\n{tail}")
        try:
            value = predicate()
        except Exception:  # e.g. the database is down for a moment: that is what some tests do
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def start_relay(db_url: str, bootstrap: str, log_path: Path, *, batch_size: int = 500,
                home: Path | None = None) -> subprocess.Popen:
    """`cluewatch relay` as its own process (so that it can be killed -9), logging to `log_path`."""
    env = {**os.environ, "CLUEWATCH_DATABASE_URL": db_url, "CLUEWATCH_KAFKA_BOOTSTRAP": bootstrap,
           "CLUEWATCH_HOME": str(home or log_path.parent), "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cluewatch.cli", "relay", "--batch-size", str(batch_size), "--interval", "0.2"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    proc.log_path = log_path
    return proc


def stop_relay(proc: subprocess.Popen, timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.terminate()  # SIGTERM: the relay finishes its batch and exits
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def topic_end_offsets(bootstrap: str, topic: str) -> int:
    """How many records the topic holds (sum of end offsets; retention deletes nothing in a test)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(parts).values())
    finally:
        consumer.close()


def read_topic(bootstrap: str, topic: str, idle_ms: int = 3000) -> list:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=idle_ms, group_id=None)
    try:
        return [(r.key.decode() if r.key else None, json.loads(r.value), r) for r in consumer]
    finally:
        consumer.close()
