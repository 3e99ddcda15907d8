"""`cluewatch relay --processes N`: N worker processes on one outbox, against a real PostgreSQL and
a real Kafka broker, run as the real command (a child process, so that workers can be killed -9).

What must hold with several workers as with one: every event reaches the topic, none is marked
sent twice or left behind, one key's events leave in outbox order (each worker owns a shard of
keys), a dead worker is reported — and restarted, or with --once the command exits non-zero —
and SIGTERM / Ctrl-C stop every process."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import psutil
import pytest
from psycopg2.extras import Json, execute_values

from sinks.kafka_client import ensure_topics
from tests.delivery_support import outbox_counts, read_topic, suspect, wait_for

pytestmark = pytest.mark.service
ROOT = Path(__file__).resolve().parents[2]


def enqueue_keyed(conn, topic: str, n: int, keys: int) -> list[tuple[str, str]]:
    """n suspect events spread over `keys` listing ids (so each key has many events in order).
    Returns (key, event_id) in outbox order."""
    rows = []
    for i in range(n):
        message = suspect(i, listing_id=1000 + i % keys)
        rows.append((message["event_id"], topic, str(message["listing"]["listing_id"]), Json(message)))
    with conn.cursor() as cur:
        execute_values(cur, "INSERT INTO outbox (event_id, topic, key, payload) VALUES %s", rows, page_size=2000)
    conn.commit()
    return [(r[2], r[0]) for r in rows]


def start(db_url: str, bootstrap: str, log_path: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CLUEWATCH_DATABASE_URL": db_url, "CLUEWATCH_KAFKA_BOOTSTRAP": bootstrap,
           "CLUEWATCH_HOME": str(log_path.parent), "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as out:
        # Its own session: a Ctrl-C is sent to the whole process group, as a terminal does. SIGINT
        # back to its default, as in a terminal: a harness started in the background without job
        # control (`cmd &` in a script, some CI runners) passes it on ignored, and Python then never
        # raises KeyboardInterrupt.
        proc = subprocess.Popen([sys.executable, "-m", "cluewatch.cli", "relay", *args], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    proc.log_path = log_path
    return proc


def workers(proc) -> list[psutil.Process]:
    return [p for p in psutil.Process(proc.pid).children()
            if "multiprocessing.spawn" in " ".join(p.cmdline()) and "resource_tracker" not in " ".join(p.cmdline())]


def marked_once(db_url: str, topic: str) -> int:
    import psycopg2

    conn = psycopg2.connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM outbox WHERE topic = %s AND published_at IS NOT NULL "
                        "AND attempts = 1 AND kafka_offset IS NOT NULL", (topic,))
            return cur.fetchone()[0]
    finally:
        conn.close()


def assert_delivered_once_in_key_order(bootstrap, topic, enqueued):
    """Every enqueued event is on the topic exactly once, in outbox order per key."""
    records = read_topic(bootstrap, topic)
    assert sorted(m["event_id"] for _, m, _ in records) == sorted(e for _, e in enqueued)
    assert_key_order(records, enqueued)


def assert_key_order(records, enqueued):
    """Per key, the events on the topic (first copy of each, in offset order) follow outbox order."""
    expected = defaultdict(list)
    for key, event_id in enqueued:
        expected[key].append(event_id)
    seen, got = set(), defaultdict(list)
    for key, message, record in sorted(records, key=lambda r: (r[2].partition, r[2].offset)):
        if message["event_id"] not in seen:
            seen.add(message["event_id"])
            got[key].append(message["event_id"])
    assert got == expected


def test_two_processes_drain_a_backlog_exactly_once_in_key_order(db, db_url, kafka_bootstrap, kafka_topic_name,
                                                                 tmp_path):
    ensure_topics(kafka_bootstrap, {kafka_topic_name: 3})
    enqueued = enqueue_keyed(db, kafka_topic_name, 6000, keys=40)
    relay = start(db_url, kafka_bootstrap, tmp_path / "relay.log", "--processes", "2", "--once",
                  "--batch-size", "500")
    assert relay.wait(120) == 0, relay.log_path.read_text()[-3000:]
    log = relay.log_path.read_text()
    # Both workers did a share of the work (the keys are sharded between them).
    drained = [line for line in log.splitlines() if "event=relay.drained" in line]
    assert sorted(line.split(" worker=")[1][0] for line in drained) == ["0", "1"], log[-3000:]
    assert "published 6000, dead-lettered 0, failed 0" in log
    # Each row sent by exactly one worker, once, and every event on the topic exactly once.
    assert marked_once(db_url, kafka_topic_name) == 6000
    assert_delivered_once_in_key_order(kafka_bootstrap, kafka_topic_name, enqueued)


def test_a_killed_worker_is_reported_and_restarted_and_ctrl_c_stops_all(db, db_url, kafka_bootstrap,
                                                                       kafka_topic_name, tmp_path):
    ensure_topics(kafka_bootstrap, {kafka_topic_name: 3})
    relay = start(db_url, kafka_bootstrap, tmp_path / "relay.log", "--processes", "2", "--interval", "0.2",
                  "--batch-size", "500")
    try:
        first = wait_for(lambda: len(workers(relay)) == 2 and workers(relay), 60, "two workers", alive=relay)
        wait_for(lambda: relay.log_path.read_text().count("event=relay.producer_ready") == 2, 60,
                 "both workers connected", alive=relay)
        victim = first[0]
        victim.kill()  # kill -9
        wait_for(lambda: "event=relay.worker_died" in relay.log_path.read_text(), 30, "the death reported",
                 alive=relay)
        replacement = wait_for(lambda: len(workers(relay)) == 2 and workers(relay), 60, "a new worker",
                               alive=relay)
        assert victim.pid not in {p.pid for p in replacement}
        # The restarted pair still relays: a backlog enqueued now is sent, each row once.
        enqueued = enqueue_keyed(db, kafka_topic_name, 2000, keys=25)
        wait_for(lambda: outbox_counts(db_url, kafka_topic_name)["sent"] == 2000, 90, "the backlog sent",
                 alive=relay)
        # Ctrl-C in a terminal: SIGINT to the whole process group. Workers ignore it and are stopped
        # by the parent after their batch; the parent exits 130 (interrupted).
        os.killpg(relay.pid, signal.SIGINT)
        code = relay.wait(60)
    finally:
        if relay.poll() is None:
            os.killpg(relay.pid, signal.SIGKILL)
            relay.wait()
    log = relay.log_path.read_text()
    assert code == 130, log[-3000:]
    died = [line for line in log.splitlines() if "event=relay.worker_died" in line]
    assert len(died) == 1 and f"pid={victim.pid}" in died[0] and 'reason="killed by SIGKILL"' in died[0] \
        and "restarting=True" in died[0], log[-3000:]
    time.sleep(0.5)
    assert not [p for p in replacement + first if p.is_running() and p.status() != psutil.STATUS_ZOMBIE], \
        "a worker outlived the relay"
    assert marked_once(db_url, kafka_topic_name) == 2000
    assert_delivered_once_in_key_order(kafka_bootstrap, kafka_topic_name, enqueued)


def test_once_with_a_worker_killed_exits_non_zero_and_a_rerun_finishes(db, db_url, kafka_bootstrap,
                                                                       kafka_topic_name, tmp_path):
    ensure_topics(kafka_bootstrap, {kafka_topic_name: 3})
    enqueued = enqueue_keyed(db, kafka_topic_name, 20_000, keys=100)
    relay = start(db_url, kafka_bootstrap, tmp_path / "relay1.log", "--processes", "2", "--once",
                  "--batch-size", "250")
    try:
        wait_for(lambda: outbox_counts(db_url, kafka_topic_name)["sent"] >= 250, 60, "the first batches",
                 alive=relay)
        victim = workers(relay)[0]
        victim.kill()
        code = relay.wait(120)
    finally:
        if relay.poll() is None:
            os.killpg(relay.pid, signal.SIGKILL)
            relay.wait()
    log = relay.log_path.read_text()
    assert code == 1, log[-3000:]  # its shard was left (partly) unsent: the caller must know
    assert f"(pid {victim.pid}) killed by SIGKILL" in log and "restarting=False" in log, log[-3000:]
    left = outbox_counts(db_url, kafka_topic_name)
    assert left["pending"] > 0, "the worker was killed after it had finished: nothing tested"
    # The next run sends what the dead worker left; together, every event once on the topic (after
    # de-duplication: the killed worker's unmarked batch may be there twice) and every row marked.
    rerun = start(db_url, kafka_bootstrap, tmp_path / "relay2.log", "--processes", "2", "--once")
    assert rerun.wait(120) == 0, rerun.log_path.read_text()[-3000:]
    assert outbox_counts(db_url, kafka_topic_name) == {"sent": 20_000, "pending": 0, "dead": 0}
    records = read_topic(kafka_bootstrap, kafka_topic_name)
    assert {m["event_id"] for _, m, _ in records} == {e for _, e in enqueued}
    print(f"worker killed with {left['pending']} rows pending; {len(records) - 20_000} duplicates on the topic")


@pytest.mark.parametrize("value", ["0", "two"])
def test_a_bad_processes_value_is_refused_before_anything_runs(value):
    env = {**os.environ, "CLUEWATCH_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
           "CLUEWATCH_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    done = subprocess.run([sys.executable, "-m", "cluewatch.cli", "relay", "--processes", value], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"--processes must be 'auto' or a number of at least 1, not '{value}'" in done.stderr
