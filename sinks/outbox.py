"""Transactional outbox: events are rows written with the fact they announce, relayed to Kafka later."""
from __future__ import annotations

from psycopg2.extras import Json

from sinks.messages import validate


def enqueue(conn, topic: str, key: str, message: dict) -> None:
    """Add `message` to the outbox inside the caller's transaction (validated first: a bad event
    must fail the transaction that produced it, not the relay hours later)."""
    validate(message)
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO outbox (event_id, topic, key, payload) VALUES (%s, %s, %s, %s)
               ON CONFLICT (event_id) DO NOTHING""",
            (message["event_id"], topic, key, Json(message)),
        )


def pending_count(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        return cur.fetchone()[0]
