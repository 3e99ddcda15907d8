"""Relay the outbox to Kafka: at-least-once, in outbox order, idempotent producer, stable event ids.

A crash after Kafka acknowledged but before the row is marked sent re-sends that event on the next
run with the same event_id; consumers de-duplicate on it. Nothing is ever lost.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from sinks.messages import InvalidMessage, validate

log = logging.getLogger(__name__)


@dataclass
class RelayStats:
    published: int = 0
    failed: int = 0
    # topic -> partition -> highest offset written in this run
    offsets: dict[str, dict[int, int]] = field(default_factory=dict)

    def add_offset(self, topic: str, partition: int, offset: int) -> None:
        parts = self.offsets.setdefault(topic, {})
        parts[partition] = max(offset, parts.get(partition, -1))


class RelayError(RuntimeError):
    """Kafka refused or could not be reached; unsent rows stay in the outbox for the next run."""


def _record_failure(conn, row_id: int, error: str, *, quarantine: bool = False) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE outbox SET attempts = attempts + 1, last_error = %s,
                   quarantined_at = CASE WHEN %s THEN now() END WHERE id = %s""",
            (error[:2000], quarantine, row_id),
        )


def relay_batch(conn, producer, *, batch_size: int = 500, send_timeout: float = 30.0,
                stats: RelayStats | None = None) -> RelayStats:
    """Send one batch of unpublished rows and mark them; commits per batch. Returns cumulative stats."""
    stats = stats or RelayStats()
    with conn.cursor() as cur:
        # SKIP LOCKED lets several relays run side by side without sending a row twice.
        cur.execute(
            """SELECT id, topic, key, payload FROM outbox WHERE published_at IS NULL AND quarantined_at IS NULL
               ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED""",
            (batch_size,),
        )
        rows = cur.fetchall()
    futures = []
    for row_id, topic, key, payload in rows:
        try:
            validate(payload)
        except InvalidMessage as exc:
            # A row that breaks its schema is kept (never dropped) and flagged for a human.
            _record_failure(conn, row_id, f"invalid message: {exc}", quarantine=True)
            stats.failed += 1
            continue
        value = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        futures.append((row_id, producer.send(topic, key=key.encode("utf-8"), value=value)))
    producer.flush(timeout=send_timeout)
    broker_error = None
    with conn.cursor() as cur:
        for row_id, future in futures:
            try:
                meta = future.get(timeout=send_timeout)
            except Exception as exc:  # kafka-python raises many KafkaError subclasses
                _record_failure(conn, row_id, f"{type(exc).__name__}: {exc}")
                stats.failed += 1
                broker_error = broker_error or exc
                continue
            cur.execute(
                """UPDATE outbox SET published_at = now(), attempts = attempts + 1, last_error = NULL,
                       kafka_partition = %s, kafka_offset = %s WHERE id = %s""",
                (meta.partition, meta.offset, row_id),
            )
            stats.published += 1
            stats.add_offset(meta.topic, meta.partition, meta.offset)
    conn.commit()
    if broker_error is not None:
        raise RelayError(f"Kafka did not accept {stats.failed} event(s): {broker_error}") from broker_error
    return stats


def relay_all(conn, producer, *, batch_size: int = 500, progress=None) -> RelayStats:
    """Relay until the outbox holds nothing sendable (invalid rows stay, quarantined)."""
    stats = RelayStats()
    while True:
        before = stats.published + stats.failed
        relay_batch(conn, producer, batch_size=batch_size, stats=stats)
        if progress:
            progress(stats)
        if stats.published + stats.failed - before < batch_size:
            return stats
