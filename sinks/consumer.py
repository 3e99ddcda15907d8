"""Reference consumer for the enforcement case system (`cluewatch consume --topic …`).

Delivery from the outbox is at least once: an event can arrive twice (a relay that crashed after
Kafka acknowledged it, before it marked the row sent). This consumer turns that into "each event
processed once":

* it reads as a consumer group, with auto-commit off, and commits the group's offsets only after a
  whole polled batch was written to the sink (a crash before the commit re-reads the batch — so
  nothing is skipped — and de-duplication absorbs the repeat);
* it de-duplicates on the message's `event_id`:
  - `postgres` sink: table `consumed_events` (event_id primary key), `INSERT … ON CONFLICT DO
    NOTHING` in one transaction per batch, committed before the Kafka offsets. Exact, across
    restarts and across the consumers of a group.
  - `stdout` sink (JSONL): an in-memory LRU of the last `seen_capacity` event ids. Caveat: a
    duplicate arriving after more than that many other events, or after the process restarted, is
    printed again; downstream must still be idempotent on event_id. Use the postgres sink (or your
    own store keyed by event_id) where that matters.

Messages that are not JSON objects with an `event_id`, or that break their schema, are logged
(logfmt, `event=consume.invalid`) and skipped, never block the partition.
"""
from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sinks.logfmt import logfmt
from sinks.messages import InvalidMessage, validate

log = logging.getLogger(__name__)

DEFAULT_GROUP = "cluewatch-case-system"
CONSUMED_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS consumed_events (
    event_id        uuid PRIMARY KEY,
    topic           text NOT NULL,
    kafka_partition int NOT NULL,
    kafka_offset    bigint NOT NULL,
    key             text,
    payload         jsonb NOT NULL,
    consumed_at     timestamptz NOT NULL DEFAULT now()
)"""


@dataclass
class ConsumeStats:
    received: int = 0
    written: int = 0
    duplicates: int = 0
    invalid: int = 0
    batches: int = 0


@dataclass
class Event:
    event_id: str
    topic: str
    partition: int
    offset: int
    key: str | None
    message: dict


class StdoutSink:
    """JSONL on `out`, one message per line; de-duplicates within a bounded window (see module doc)."""

    def __init__(self, out=None, *, seen_capacity: int = 100_000):
        self.out = out or sys.stdout
        self.capacity = seen_capacity
        self.seen: OrderedDict[str, None] = OrderedDict()

    def write(self, events: list[Event]) -> int:
        written = 0
        for e in events:
            if e.event_id in self.seen:
                self.seen.move_to_end(e.event_id)
                continue
            self.seen[e.event_id] = None
            if len(self.seen) > self.capacity:
                self.seen.popitem(last=False)
            self.out.write(json.dumps(e.message, ensure_ascii=False, separators=(",", ":")) + "\n")
            written += 1
        self.out.flush()  # written for real before the offsets are committed
        return written

    def close(self) -> None:
        self.out.flush()


class PostgresSink:
    """Rows in `consumed_events`; the primary key on event_id makes a re-delivery a no-op."""

    def __init__(self, database_url: str):
        from sinks.db import connect

        self.conn = connect(database_url)
        with self.conn.cursor() as cur:
            cur.execute(CONSUMED_TABLE_DDL)
        self.conn.commit()

    def write(self, events: list[Event]) -> int:
        from psycopg2.extras import Json, execute_values

        if not events:
            return 0
        try:
            with self.conn.cursor() as cur:
                inserted = execute_values(
                    cur,
                    """INSERT INTO consumed_events (event_id, topic, kafka_partition, kafka_offset, key, payload)
                       VALUES %s ON CONFLICT (event_id) DO NOTHING RETURNING event_id""",
                    [(e.event_id, e.topic, e.partition, e.offset, e.key, Json(e.message)) for e in events],
                    page_size=1000, fetch=True)
            self.conn.commit()  # before the Kafka offsets: a crash in between only re-reads
        except BaseException:
            self.conn.rollback()
            raise
        return len(inserted)

    def close(self) -> None:
        self.conn.close()


def _decode(record) -> Event | str:
    """An Event, or the reason the record is not one."""
    try:
        message = json.loads(record.value)
    except (TypeError, ValueError) as exc:
        return f"not JSON: {exc}"
    if not isinstance(message, dict) or not isinstance(message.get("event_id"), str):
        return "no event_id"
    try:
        validate(message)
    except InvalidMessage as exc:
        return str(exc)
    key = record.key.decode("utf-8", "replace") if record.key is not None else None
    return Event(message["event_id"], record.topic, record.partition, record.offset, key, message)


def consume(bootstrap: str, topic: str, sink, *, group: str = DEFAULT_GROUP, from_beginning: bool = False,
            max_messages: int | None = None, idle_timeout: float | None = None, batch_size: int = 500,
            stop: threading.Event | None = None, consumer_settings: dict | None = None) -> ConsumeStats:
    """Read `topic` as member of `group` into `sink` until `max_messages` were received, nothing came
    for `idle_timeout` seconds, or `stop` is set. Offsets are committed after each written batch."""
    from kafka import KafkaConsumer
    from kafka.errors import CommitFailedError

    from sinks.kafka_client import KafkaUnavailable

    stop = stop or threading.Event()
    try:
        consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=group, client_id=f"cluewatch-consume-{group}",
            enable_auto_commit=False,  # committed by hand, after the sink has the batch
            auto_offset_reset="earliest" if from_beginning else "latest",
            max_poll_records=batch_size, bootstrap_timeout_ms=10_000, **(consumer_settings or {}))
    except Exception as exc:
        if type(exc).__name__ in ("NoBrokersAvailable", "KafkaConnectionError", "KafkaTimeoutError"):
            raise KafkaUnavailable(bootstrap, exc) from exc
        raise
    stats = ConsumeStats()
    last_data = time.monotonic()
    started = last_data
    try:
        while not stop.is_set():
            if max_messages is not None and stats.received >= max_messages:
                break
            want = batch_size if max_messages is None else min(batch_size, max_messages - stats.received)
            polled = consumer.poll(timeout_ms=500, max_records=want)
            records = [r for batch in polled.values() for r in batch]
            if not records:
                if idle_timeout is not None and time.monotonic() - last_data >= idle_timeout:
                    break
                continue
            last_data = time.monotonic()
            events = []
            for record in records:
                decoded = _decode(record)
                if isinstance(decoded, str):
                    stats.invalid += 1
                    log.warning(logfmt("consume.invalid", topic=record.topic, partition=record.partition,
                                       offset=record.offset, reason=decoded))
                else:
                    events.append(decoded)
            written = sink.write(events)
            stats.received += len(records)
            stats.written += written
            stats.duplicates += len(events) - written
            stats.batches += 1
            try:
                consumer.commit()  # the positions after this poll: every record in it is in the sink
            except CommitFailedError as exc:
                # The group rebalanced: another member re-reads these records; de-dup absorbs it.
                log.warning(logfmt("consume.commit_failed", error=str(exc).splitlines()[0]))
            log.info(logfmt("consume.batch", topic=topic, group=group, records=len(records), written=written,
                            duplicates=len(events) - written, invalid=len(records) - len(events)))
    finally:
        consumer.close(autocommit=False)
        sink.close()
    log.info(logfmt("consume.done", topic=topic, group=group, received=stats.received, written=stats.written,
                    duplicates=stats.duplicates, invalid=stats.invalid, duration_s=time.monotonic() - started))
    return stats
