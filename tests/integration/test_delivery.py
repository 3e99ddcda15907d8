"""Decisions and takedowns through the outbox, and the reference consumer, on real PostgreSQL and Kafka."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

import pytest
from psycopg2.extras import Json

from sinks.decisions import DecisionError, record_decision
from sinks.kafka_client import ensure_topics, make_producer
from sinks.messages import validate
from sinks.relay import relay_all
from tests.delivery_support import ROOT, enqueue_many, read_topic

pytestmark = pytest.mark.service


def seed_suspect(db, *, with_mark: bool = True) -> int:
    """A stored listing version with images and findings, and its suspect; returns the suspect id."""
    with db.cursor() as cur:
        cur.execute("INSERT INTO sources (id, kind, platform) VALUES ('shop', 'ecommerce', 'DemoShop') "
                    "ON CONFLICT DO NOTHING")
        cur.execute("INSERT INTO listings (source_id, external_id, url) VALUES ('shop', %s, 'https://shop.example/i/1') "
                    "RETURNING id", (uuid.uuid4().hex,))
        listing_id = cur.fetchone()[0]
        cur.execute("""INSERT INTO listing_versions (listing_id, content_sha256, url, title, seller_name, captured_at,
                           page_sha256, page_path)
                       VALUES (%s, %s, 'https://shop.example/i/1', '耐克 高仿', '小店', now(), %s, 'pages/ab.html.gz')
                       RETURNING id""", (listing_id, "c" * 64, "d" * 64))
        version_id = cur.fetchone()[0]
        cur.execute("INSERT INTO listing_images (listing_version_id, position, url, sha256) VALUES (%s, 0, %s, %s)",
                    (version_id, "https://shop.example/img/1.jpg", "e" * 64))
        cur.execute("INSERT INTO registry_versions (sha256) VALUES (%s) RETURNING id", (uuid.uuid4().hex * 2,))
        registry = cur.fetchone()[0]
        cur.execute("""INSERT INTO marks (id, reg_no, owner, registry_version_id) VALUES ('nike', 'G1234567',
                       'Nike Innovate C.V.', %s) ON CONFLICT DO NOTHING""", (registry,))
        cur.execute("""INSERT INTO findings (listing_version_id, detector, detector_version, mark_id, score, reason, evidence)
                       VALUES (%s, 'text.wordmark', '0.3.0', %s, 0.9, 'Title contains 耐克', %s)""",
                    (version_id, "nike" if with_mark else "", Json({"span": [0, 2]})))
        cur.execute("INSERT INTO suspects (listing_version_id, score, reasons) VALUES (%s, 0.9, %s) RETURNING id",
                    (version_id, ["Title contains 耐克"]))
        suspect_id = cur.fetchone()[0]
    db.commit()
    return suspect_id


def outbox_rows(db, suspect_id):
    with db.cursor() as cur:
        cur.execute("""SELECT topic, key, payload FROM outbox WHERE (payload->>'suspect_id')::bigint = %s
                       ORDER BY id""", (suspect_id,))
        return cur.fetchall()


def test_confirm_writes_decision_status_and_both_events_in_one_transaction(db):
    suspect_id = seed_suspect(db)
    result = record_decision(db, suspect_id, "confirm", "wang.li", "replica shoes")
    db.commit()
    assert result["status"] == "confirmed" and [t for t, _, _ in result["events"]] == [
        "cluewatch.decisions.v1", "cluewatch.takedowns.v1"]
    with db.cursor() as cur:
        cur.execute("SELECT status FROM suspects WHERE id = %s", (suspect_id,))
        assert cur.fetchone()[0] == "confirmed"
        cur.execute("SELECT decision, officer, note FROM decisions WHERE suspect_id = %s", (suspect_id,))
        assert cur.fetchall() == [("confirm", "wang.li", "replica shoes")]
    (t1, k1, decision), (t2, k2, takedown) = outbox_rows(db, suspect_id)
    for message in (decision, takedown):
        validate(message)
    assert (t1, decision["decision"], decision["status"]) == ("cluewatch.decisions.v1", "confirm", "confirmed")
    assert k1 == str(decision["listing_id"])
    assert (t2, k2, takedown["platform"]) == ("cluewatch.takedowns.v1", "DemoShop", "DemoShop")  # key = platform
    assert takedown["legal_basis"] == [{"mark_id": "nike", "reg_no": "G1234567", "owner": "Nike Innovate C.V."}]
    assert takedown["listing"]["url"] == "https://shop.example/i/1"
    assert takedown["evidence"]["page"] == {"sha256": "d" * 64, "path": "pages/ab.html.gz"}
    assert takedown["evidence"]["images"] == [{"url": "https://shop.example/img/1.jpg", "sha256": "e" * 64}]
    assert takedown["evidence"]["signals"][0]["evidence"] == {"span": [0, 2]}


def test_dismiss_writes_only_a_decision_event(db):
    suspect_id = seed_suspect(db)
    record_decision(db, suspect_id, "dismiss", "wang.li")
    db.commit()
    assert [(t, p["status"]) for t, _, p in outbox_rows(db, suspect_id)] == [("cluewatch.decisions.v1", "dismissed")]


def test_confirm_without_legal_basis_writes_nothing(db):
    suspect_id = seed_suspect(db, with_mark=False)
    with pytest.raises(DecisionError, match="no legal basis"):
        record_decision(db, suspect_id, "confirm", "wang.li")
    db.rollback()  # the caller's transaction: the decision row and the decision event go with it
    assert outbox_rows(db, suspect_id) == []
    with db.cursor() as cur:
        cur.execute("SELECT status, (SELECT count(*) FROM decisions WHERE suspect_id = s.id) FROM suspects s "
                    "WHERE id = %s", (suspect_id,))
        assert cur.fetchone() == ("open", 0)


def test_decision_and_takedown_reach_their_topics(db, kafka_bootstrap):
    from sinks.topics import ensure_all

    suspect_id = seed_suspect(db)
    events = record_decision(db, suspect_id, "confirm", "wang.li")["events"]
    db.commit()
    ensure_all(kafka_bootstrap)
    producer = make_producer(kafka_bootstrap)
    try:
        stats = relay_all(db, producer)
    finally:
        producer.close()
    assert stats.published >= 2
    for topic, key, event_id in events:
        found = [(k, m) for k, m, _ in read_topic(kafka_bootstrap, topic) if m["event_id"] == event_id]
        assert len(found) == 1 and found[0][0] == key, f"{topic}: {len(found)} copies of {event_id}"


def _cli_consume(kafka_bootstrap, db_url, *args):
    env = {**os.environ, "CLUEWATCH_KAFKA_BOOTSTRAP": kafka_bootstrap, "CLUEWATCH_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "cluewatch.cli", "consume", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _produce_with_duplicates(db, kafka_bootstrap, topic, n):
    """n events on `topic`, the first 5 of them twice (as after a relay crash)."""
    ensure_topics(kafka_bootstrap, {topic: 3})
    ids = enqueue_many(db, topic, n)
    producer = make_producer(kafka_bootstrap)
    try:
        relay_all(db, producer)
        with db.cursor() as cur:  # the crash: rows sent but not marked, so sent again
            cur.execute("UPDATE outbox SET published_at = NULL WHERE event_id = ANY(%s::uuid[])", (ids[:5],))
        db.commit()
        relay_all(db, producer)
    finally:
        producer.close()
    return ids


def test_consume_stdout_deduplicates_and_commits_offsets(db, db_url, kafka_bootstrap, kafka_topic_name):
    ids = _produce_with_duplicates(db, kafka_bootstrap, kafka_topic_name, 40)
    group = f"g-{uuid.uuid4().hex[:6]}"
    done = _cli_consume(kafka_bootstrap, db_url, "--topic", kafka_topic_name, "--group", group,
                        "--from-beginning", "--idle-timeout", "3")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(m["event_id"] for m in lines) == sorted(ids), f"{len(lines)} lines for {len(ids)} events"
    assert "received 45, written 40, duplicates 5" in done.stderr
    # Offsets were committed: the same group starts after what it processed.
    again = _cli_consume(kafka_bootstrap, db_url, "--topic", kafka_topic_name, "--group", group,
                         "--from-beginning", "--idle-timeout", "2")
    assert again.returncode == 0 and again.stdout == "", again.stderr
    assert "received 0" in again.stderr


def test_consume_postgres_is_exact_across_runs_and_groups(db, db_url, kafka_bootstrap, kafka_topic_name):
    ids = _produce_with_duplicates(db, kafka_bootstrap, kafka_topic_name, 30)
    first = _cli_consume(kafka_bootstrap, db_url, "--topic", kafka_topic_name, "--sink", "postgres",
                         "--group", "g1", "--from-beginning", "--max-messages", "20")
    assert first.returncode == 0 and "received 20" in first.stderr, first.stderr
    # Another group re-reads everything: the table's primary key turns it all into duplicates.
    second = _cli_consume(kafka_bootstrap, db_url, "--topic", kafka_topic_name, "--sink", "postgres",
                          "--group", "g2", "--from-beginning", "--idle-timeout", "3")
    assert second.returncode == 0, second.stderr
    with db.cursor() as cur:
        cur.execute("SELECT event_id::text, topic FROM consumed_events WHERE topic = %s", (kafka_topic_name,))
        rows = cur.fetchall()
    assert sorted(e for e, _ in rows) == sorted(ids)
    written = [int(re.search(r"written (\d+)", run.stderr).group(1)) for run in (first, second)]
    assert sum(written) == 30 and "received 35" in second.stderr, (first.stderr, second.stderr)
