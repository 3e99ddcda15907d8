"""Relay the outbox to Kafka: at least once, nothing lost, stable event ids, poison parked on a DLQ.

One batch:
 1. claim up to `batch_size` unsent rows, oldest first, `FOR UPDATE SKIP LOCKED` (several relays
    can run side by side; none sends a row another one holds);
 2. validate each against its JSON Schema and check its size; send the good ones with the
    idempotent producer (acks=all), without waiting for each;
 3. flush, then read every future: a row counts as sent only once the broker acknowledged it;
 4. park rows that can never be sent (schema-invalid, too large, refused for good by the broker)
    on `cluewatch.dlq.v1` with the reason and the original;
 5. mark sent rows (one UPDATE), dead-lettered rows and failed attempts, then COMMIT.

A crash anywhere before 5 leaves the rows unsent: the next relay sends them again with the same
event_id, and consumers de-duplicate on it. A broker or database outage is retried with
exponential backoff by `Relay.run`, logged, never a crash loop. Log lines are logfmt
(`event=relay.batch claimed=… sent=… lag_s=…`).
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
import psycopg2
from kafka.errors import (CorruptRecordError, InvalidRecordError, InvalidTimestampError, KafkaError,
                          KafkaTimeoutError, MessageSizeTooLargeError, RecordListTooLargeError)

from sinks.logfmt import logfmt
from sinks.messages import InvalidMessage, dlq_message, validate
from sinks.topics import DLQ_TOPIC, MAX_MESSAGE_BYTES, TOPICS

log = logging.getLogger(__name__)

# The broker refuses these records for what they are, so sending them again can never succeed.
# Topic-level refusals (authorisation, invalid topic) are NOT here: they are configuration to fix,
# and every row would otherwise be dead-lettered; they are retried, loudly, instead.
PERMANENT_ERRORS = (MessageSizeTooLargeError, RecordListTooLargeError, InvalidRecordError,
                    CorruptRecordError, InvalidTimestampError)

# Producer settings for throughput (measured by bench/relay_throughput.py): big batches that fill
# while we keep sending, and lz4, which shrinks JSON ~3x for little CPU. Idempotence, acks=all and
# the retry bounds come from sinks.kafka_client.PRODUCER_DEFAULTS.
RELAY_PRODUCER_SETTINGS = {
    "linger_ms": 20,
    "batch_size": 512 * 1024,
    "compression_type": "lz4",
    "max_request_size": MAX_MESSAGE_BYTES + 64 * 1024,
}
DB_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


@dataclass
class RelayStats:
    published: int = 0
    failed: int = 0  # rows not sent by this run: dead-lettered, or to be retried
    dead_lettered: int = 0
    retried: int = 0  # failed for a passing reason (broker down, timeout): still in the outbox
    batches: int = 0
    # topic -> partition -> highest offset written in this run
    offsets: dict[str, dict[int, int]] = field(default_factory=dict)

    def add_offset(self, topic: str, partition: int, offset: int) -> None:
        parts = self.offsets.setdefault(topic, {})
        parts[partition] = max(offset, parts.get(partition, -1))


class RelayError(RuntimeError):
    """Kafka refused or could not be reached; unsent rows stay in the outbox for the next run."""


@dataclass
class _Row:
    id: int
    event_id: str
    topic: str
    key: str
    text: str  # the payload as stored (jsonb text): sent as is, so what was validated is what is sent
    attempts: int
    payload: object = None


def _classify_send_error(exc: BaseException) -> str | None:
    """'too_large' / 'rejected' for errors no retry can fix; None for passing ones."""
    if isinstance(exc, (MessageSizeTooLargeError, RecordListTooLargeError)):
        return "too_large"
    if isinstance(exc, PERMANENT_ERRORS):
        return "rejected"
    return None


class Relay:
    """The outbox relay. Either owns its connections (`database_url`, `bootstrap`: reconnects after
    outages) or borrows them (`conn`, `producer`: the caller owns their life, as tests and
    `relay_all` do)."""

    def __init__(self, database_url: str | None = None, bootstrap: str | None = None, *, conn=None,
                 producer=None, batch_size: int = 2000, dlq_topic: str = DLQ_TOPIC,
                 max_message_bytes: int = MAX_MESSAGE_BYTES, producer_settings: dict | None = None,
                 create_topics: bool = True, shard: tuple[int, int] | None = None):
        if (database_url is None) == (conn is None):
            raise ValueError("give database_url or conn")
        if (bootstrap is None) == (producer is None):
            raise ValueError("give bootstrap or producer")
        self.database_url, self.bootstrap = database_url, bootstrap
        self.conn, self.producer = conn, producer
        self._own_conn, self._own_producer = conn is None, producer is None
        self.batch_size = batch_size
        self.dlq_topic = dlq_topic
        self.max_message_bytes = max_message_bytes
        self.producer_settings = {**RELAY_PRODUCER_SETTINGS, **(producer_settings or {})}
        self.create_topics = create_topics
        # (index, count): claim only the rows whose key hashes to `index` of `count` shards, so that
        # the worker processes of one `cluewatch relay --processes N` never send two events of one
        # key concurrently (per-key order holds) while SKIP LOCKED still keeps them off each other.
        if shard is not None and not (shard[1] >= 1 and 0 <= shard[0] < shard[1]):
            raise ValueError(f"bad shard {shard}: want (index, count) with 0 <= index < count")
        self.shard = shard if shard and shard[1] > 1 else None
        self._topics_ready = False
        self._dlq_ready = False
        self._producer_suspect = False  # a send failed: its idempotence sequence may be off

    # --- connections ---------------------------------------------------------------------------

    def _connection(self):
        if self.conn is None or self.conn.closed:
            from sinks.db import connect

            self.conn = connect(self.database_url)
            log.info(logfmt("relay.db_connected"))
        return self.conn

    def _drop_connection(self) -> None:
        if self._own_conn and self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # already broken: closing is best effort
                pass
            self.conn = None

    def _producer(self):
        if self._own_producer and self.producer is not None and self._producer_suspect:
            self._drop_producer()
        if self.producer is None:
            from sinks.kafka_client import make_producer

            if self.create_topics and not self._topics_ready:
                from sinks.topics import ensure_all

                ensure_all(self.bootstrap)
                self._topics_ready = self._dlq_ready = True
            started = time.monotonic()
            self.producer = make_producer(self.bootstrap, **self.producer_settings)
            log.info(logfmt("relay.producer_ready", bootstrap=self.bootstrap, idempotent=True,
                            acks="all", connect_s=time.monotonic() - started))
        self._producer_suspect = False
        return self.producer

    def _drop_producer(self) -> None:
        if self._own_producer and self.producer is not None:
            try:
                # Unacknowledged records are abandoned: their rows are still unsent in the outbox.
                self.producer.close(timeout=0)
            except Exception:
                pass
            self.producer = None

    def close(self) -> None:
        self._drop_producer()
        self._drop_connection()

    def _ensure_dlq(self) -> None:
        """The DLQ topic is needed only when something is poisoned: create it then, if missing."""
        if self._dlq_ready:
            return
        from sinks.kafka_client import ensure_topics

        bootstrap = self.bootstrap or self.producer.config["bootstrap_servers"]
        ensure_topics(bootstrap, {self.dlq_topic: TOPICS[DLQ_TOPIC]})
        self._dlq_ready = True

    # --- one batch -----------------------------------------------------------------------------

    def relay_batch(self, stats: RelayStats | None = None, *, send_timeout: float | None = None) -> RelayStats:
        """Claim, send, park, mark and commit one batch. Raises RelayError (after committing what
        did succeed) when rows failed for a passing reason, so the caller backs off."""
        stats = stats or RelayStats()
        conn, producer = self._connection(), self._producer()
        # Every future is settled (acknowledged or expired) by delivery_timeout_ms; wait a bit past it.
        send_timeout = send_timeout or producer.config.get("delivery_timeout_ms", 30_000) / 1000 + 5
        t0 = time.monotonic()
        with conn.cursor() as cur:
            # Lock the ids first (narrow rows), then read the payloads of just those: in one query
            # the planner may sort every pending row, payload and all, on disk (seen: 100 ms a batch).
            # hashtext() is int4: shift it to 0..2^32-1 before mod (abs() would overflow on -2^31).
            shard_sql = "AND mod(hashtext(key)::bigint + 2147483648, %(count)s) = %(index)s" if self.shard else ""
            # Walk outbox_unpublished in id order and stop at the LIMIT. Right after a burst the
            # statistics still say "few pending", and the planner picks a bitmap scan that reads and
            # sorts every pending row on each batch (measured: 200 ms a batch with 40k pending) and
            # never marks the index entries of sent rows dead, so the next batch pays again. The
            # index walk costs ~8 ms and gets cheaper as it goes. Reverted before the marks below.
            cur.execute(
                f"""SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off;
                   WITH claimed AS (
                       SELECT id FROM outbox WHERE published_at IS NULL AND quarantined_at IS NULL {shard_sql}
                       ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)
                   SELECT o.id, o.event_id::text, o.topic, o.key, o.payload::text, o.attempts,
                          extract(epoch FROM clock_timestamp() - o.created_at)
                   FROM outbox o JOIN claimed USING (id) ORDER BY o.id""",
                {"limit": self.batch_size, "index": self.shard[0] if self.shard else 0,
                 "count": self.shard[1] if self.shard else 1})
            fetched = cur.fetchall()
        if not fetched:
            conn.commit()
            return stats
        lag = float(fetched[0][6])  # age of the oldest row this relay could claim
        rows = [_Row(*r[:6]) for r in fetched]
        t_claimed = time.monotonic()

        sent: list[tuple[_Row, object]] = []
        poison: list[tuple[_Row, str, str]] = []  # row, reason, error
        retry: list[tuple[_Row, str]] = []
        for i, row in enumerate(rows):
            try:
                row.payload = orjson.loads(row.text)  # 3 µs against json's 9: this loop is the hot path
                validate(row.payload)
            except orjson.JSONDecodeError as exc:  # jsonb holds valid JSON; kept for safety
                poison.append((row, "schema_invalid", f"not JSON: {exc}"))
                continue
            except InvalidMessage as exc:
                poison.append((row, "schema_invalid", str(exc)))
                continue
            value = row.text.encode("utf-8")
            if len(value) > self.max_message_bytes:
                poison.append((row, "too_large", f"{len(value)} bytes > the {self.max_message_bytes}-byte limit"))
                continue
            try:
                future = producer.send(row.topic, key=row.key.encode("utf-8"), value=value,
                                       headers=[("event_id", row.event_id.encode())])
            except MessageSizeTooLargeError as exc:
                poison.append((row, "too_large", str(exc)))
                continue
            except KafkaTimeoutError as exc:
                # No metadata for the topic within max_block_ms: broker down or topic missing.
                # The rest of the batch would wait the same way: leave it for the next round.
                retry.extend((r, f"{type(exc).__name__}: {exc}") for r in rows[i:])
                break
            sent.append((row, future))
        _settle(producer, [f for _, f in sent], send_timeout)  # unsettled futures count as not sent
        t_flushed = time.monotonic()

        acked: list[tuple[_Row, object]] = []
        refused: list[tuple[_Row, BaseException]] = []
        for row, future in sent:
            if not future.is_done:
                retry.append((row, "not acknowledged within the send timeout"))
            elif future.succeeded():
                acked.append((row, future.value))
            elif _classify_send_error(future.exception):
                refused.append((row, future.exception))
            else:
                retry.append((row, f"{type(future.exception).__name__}: {future.exception}"))
        if refused or retry:
            self._producer_suspect = True
        if refused:
            # A whole producer batch fails together: find out which records are really at fault by
            # sending each refused one alone before parking it.
            acked_alone, poison_alone, retry_alone = self._send_alone(refused, send_timeout)
            acked += acked_alone
            poison += poison_alone
            retry += retry_alone
        dead: list[tuple[_Row, str, object]] = []
        if poison:
            dead, retry_dlq = self._park(poison, send_timeout)
            retry += retry_dlq

        t_sent = time.monotonic()
        with conn.cursor() as cur:
            # Marks need no fsync of their own: a mark lost in a database crash only means the
            # event is sent again (same event_id), never that one is lost.
            cur.execute("SET LOCAL synchronous_commit = off; SET LOCAL enable_bitmapscan TO DEFAULT; "
                        "SET LOCAL enable_seqscan TO DEFAULT")
            if acked:
                cur.execute(
                    """UPDATE outbox o SET published_at = now(), attempts = o.attempts + 1, last_error = NULL,
                           kafka_partition = v.p, kafka_offset = v.o
                       FROM unnest(%s::bigint[], %s::int[], %s::bigint[]) AS v(id, p, o) WHERE o.id = v.id""",
                    ([r.id for r, _ in acked], [m.partition for _, m in acked], [m.offset for _, m in acked]))
            if dead:
                cur.execute(
                    """UPDATE outbox o SET quarantined_at = now(), dead_lettered_at = now(),
                           attempts = o.attempts + 1, last_error = v.err, dlq_partition = v.p, dlq_offset = v.o
                       FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::bigint[]) AS v(id, err, p, o)
                       WHERE o.id = v.id""",
                    ([r.id for r, _, _ in dead], [e[:2000] for _, e, _ in dead],
                     [m.partition for _, _, m in dead], [m.offset for _, _, m in dead]))
            if retry:
                cur.execute(
                    """UPDATE outbox o SET attempts = o.attempts + 1, last_error = v.err
                       FROM unnest(%s::bigint[], %s::text[]) AS v(id, err) WHERE o.id = v.id""",
                    ([r.id for r, _ in retry], [e[:2000] for _, e in retry]))
        conn.commit()
        t_done = time.monotonic()

        for row, meta in acked:
            stats.add_offset(meta.topic, meta.partition, meta.offset)
        stats.published += len(acked)
        stats.dead_lettered += len(dead)
        stats.retried += len(retry)
        stats.failed += len(dead) + len(retry)
        stats.batches += 1
        level = logging.WARNING if (dead or retry) else logging.INFO
        log.log(level, logfmt(
            "relay.batch", claimed=len(rows), sent=len(acked), dead_lettered=len(dead), retry=len(retry),
            lag_s=lag, claim_ms=(t_claimed - t0) * 1000, send_ms=(t_sent - t_claimed) * 1000,
            flush_ms=(t_flushed - t_claimed) * 1000, mark_ms=(t_done - t_sent) * 1000,
            batch_ms=(t_done - t0) * 1000, rate_per_s=round(len(acked) / max(t_done - t0, 1e-6)),
            first_error=retry[0][1] if retry else None))
        for row, error, meta in dead:
            log.warning(logfmt("relay.dead_lettered", outbox_id=row.id, event_id=row.event_id, topic=row.topic,
                               key=row.key, dlq_topic=meta.topic, dlq_offset=meta.offset, reason=error))
        if retry:
            raise RelayError(f"Kafka did not accept {len(retry)} event(s) of {len(rows)}: {retry[0][1]}")
        return stats

    def _send_alone(self, refused, send_timeout):
        acked, poison, retry = [], [], []
        if self._own_producer:
            self._drop_producer()  # a fresh producer: no sequence numbers left over from the failure
        producer = self._producer()
        for row, first_exc in refused:
            future = producer.send(row.topic, key=row.key.encode("utf-8"), value=row.text.encode("utf-8"),
                                   headers=[("event_id", row.event_id.encode())])
            _settle(producer, [future], send_timeout)
            if future.is_done and future.succeeded():
                acked.append((row, future.value))
            elif future.is_done and _classify_send_error(future.exception):
                self._producer_suspect = True
                poison.append((row, _classify_send_error(future.exception),
                               f"refused by the broker: {type(future.exception).__name__}: {future.exception}"))
                if self._own_producer:
                    self._drop_producer()
                producer = self._producer()
            else:
                retry.append((row, f"{type(first_exc).__name__}: {first_exc}"))
        return acked, poison, retry

    def _park(self, poison, send_timeout):
        """Send each poisoned row's dead letter; returns (dead [(row, error, meta)], retry [(row, error)])."""
        try:
            self._ensure_dlq()
        except Exception as exc:  # no DLQ topic (broker down?): keep the rows for the next round
            return [], [(row, f"could not create {self.dlq_topic}: {exc}") for row, _, _ in poison]
        producer = self._producer()
        now = datetime.now(timezone.utc)
        futures = []
        for row, reason, error in poison:
            message = dlq_message(outbox_id=row.id, topic=row.topic, key=row.key, event_id=row.event_id,
                                  payload=row.payload if row.payload is not None else _loads_or_text(row.text),
                                  payload_bytes=row.text.encode("utf-8"), reason=reason, error=error,
                                  attempts=row.attempts + 1, occurred_at=now)
            value = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            futures.append((row, f"{reason}: {error}", producer.send(
                self.dlq_topic, key=row.key.encode("utf-8"), value=value,
                headers=[("event_id", message["event_id"].encode())])))
        _settle(producer, [f for _, _, f in futures], send_timeout)
        dead, retry = [], []
        for row, error, future in futures:
            if future.is_done and future.succeeded():
                dead.append((row, error, future.value))
            else:
                self._producer_suspect = True
                why = future.exception if future.is_done else "not acknowledged in time"
                retry.append((row, f"{error} (and parking it on {self.dlq_topic} failed: {why})"))
        return dead, retry

    # --- loops ---------------------------------------------------------------------------------

    def drain(self, progress=None) -> RelayStats:
        """Relay batches until the outbox holds nothing this relay can claim."""
        stats = RelayStats()
        started = time.monotonic()
        while True:
            before = stats.published + stats.failed
            self.relay_batch(stats)
            if progress:
                progress(stats)
            if stats.published + stats.failed - before < self.batch_size:
                break
        if stats.batches:
            elapsed = time.monotonic() - started
            log.info(logfmt("relay.drained", published=stats.published, dead_lettered=stats.dead_lettered,
                            batches=stats.batches, duration_s=elapsed,
                            rate_per_s=round(stats.published / max(elapsed, 1e-6))))
        return stats

    def run(self, *, stop: threading.Event | None = None, interval: float = 1.0, once: bool = False,
            max_backoff: float = 30.0) -> RelayStats:
        """Relay until `stop` is set (or, with `once`, until the outbox is drained).

        Outages of Kafka or PostgreSQL are waited out with exponential backoff (0.5 s doubling to
        `max_backoff`, with jitter so that several relays do not retry in lockstep), one log line
        each; the connections are made anew. With `once`, an outage raises instead.
        """
        from sinks.kafka_client import KafkaUnavailable

        stop = stop or threading.Event()
        total = RelayStats()
        failures = 0
        while not stop.is_set():
            try:
                stats = self.drain()
                _merge(total, stats)
                if failures:
                    log.warning(logfmt("relay.recovered", after_failures=failures))
                failures = 0
                if once:
                    return total
                if stats.batches:
                    self._log_backlog()
                stop.wait(interval)
            except (KafkaUnavailable, RelayError, KafkaError) as exc:
                failures += 1
                self._producer_suspect = True
                if once:
                    raise
                self._drop_producer()
                delay = _backoff(failures, max_backoff)
                log.warning(logfmt("relay.kafka_unavailable", error=_one_line(exc), failures=failures,
                                   retry_in_s=delay))
                self._rollback()
                stop.wait(delay)
            except psycopg2.Error as exc:
                # A lost connection surfaces as OperationalError, InterfaceError or (mid-statement)
                # a bare DatabaseError without an SQLSTATE (the server never answered); an error
                # the server reported (a pgcode) is a bug, not an outage.
                if not (isinstance(exc, DB_ERRORS) or exc.pgcode is None):
                    raise
                failures += 1
                if once:
                    raise
                self._drop_connection()
                delay = _backoff(failures, max_backoff)
                log.warning(logfmt("relay.db_unavailable", error=_one_line(exc), failures=failures,
                                   retry_in_s=delay))
                stop.wait(delay)
        return total

    def _rollback(self) -> None:
        if self.conn is not None and not self.conn.closed:
            try:
                self.conn.rollback()  # release the claimed rows
            except DB_ERRORS:
                self._drop_connection()

    def _log_backlog(self) -> None:
        with self.conn.cursor() as cur:
            cur.execute("""SELECT count(*), extract(epoch FROM now() - min(created_at)) FROM outbox
                           WHERE published_at IS NULL AND quarantined_at IS NULL""")
            backlog, oldest = cur.fetchone()
        self.conn.commit()
        log.info(logfmt("relay.backlog", pending=backlog, lag_s=None if oldest is None else float(oldest)))


def _settle(producer, futures, timeout: float) -> None:
    """Flush, then wait until each future is settled (acknowledged or failed) or `timeout` passed.

    Waiting on the record futures too, not only on flush(): kafka-python 3.0.12's flush() raises
    UnknownError('Future not done') when it split a batch the broker refused as too large, while
    the records' own futures follow the split batches to their real outcome."""
    deadline = time.monotonic() + timeout
    try:
        producer.flush(timeout=timeout)
    except KafkaError:
        pass
    for future in futures:
        if not future.is_done:
            try:
                future.get(timeout=max(deadline - time.monotonic(), 0.001))
            except Exception:  # its outcome is read from the future by the caller
                pass


def _merge(total: RelayStats, stats: RelayStats) -> None:
    for name in ("published", "failed", "dead_lettered", "retried", "batches"):
        setattr(total, name, getattr(total, name) + getattr(stats, name))
    for topic, parts in stats.offsets.items():
        for partition, offset in parts.items():
            total.add_offset(topic, partition, offset)


def _backoff(failures: int, cap: float) -> float:
    return round(min(cap, 0.5 * 2 ** (failures - 1)) * random.uniform(0.8, 1.2), 2)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def _loads_or_text(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


# --- the function API (borrowed connections) ---------------------------------------------------

def relay_batch(conn, producer, *, batch_size: int = 500, send_timeout: float | None = None,
                stats: RelayStats | None = None, dlq_topic: str = DLQ_TOPIC) -> RelayStats:
    """Send one batch of unpublished rows and mark them; commits per batch. Returns cumulative stats."""
    return Relay(conn=conn, producer=producer, batch_size=batch_size, dlq_topic=dlq_topic).relay_batch(
        stats, send_timeout=send_timeout)


def relay_all(conn, producer, *, batch_size: int = 500, progress=None, dlq_topic: str = DLQ_TOPIC) -> RelayStats:
    """Relay until the outbox holds nothing sendable (poison is parked on the DLQ)."""
    return Relay(conn=conn, producer=producer, batch_size=batch_size, dlq_topic=dlq_topic).drain(progress)


# --- several relay processes (`cluewatch relay --processes N`) ---------------------------------
#
# One relay process is bound by its own CPU: kafka-python encodes every record in pure Python
# (~70 µs an event, bench/relay_throughput.py). N worker processes, each a plain Relay on its own
# shard of keys, multiply that; the parent only supervises: it reports a worker that died, starts
# it again (or, with --once, exits non-zero), and stops them all on SIGTERM / Ctrl-C.

def worker_count(spec: str | int) -> int:
    """`auto` = min(2, CPUs): on the 2-core machine of bench/relay_throughput.py two workers beat
    one, and more would only take CPU from PostgreSQL and the broker, which the relay also needs.
    On a bigger host with the database and broker elsewhere, measure and pass N."""
    if str(spec) == "auto":
        import os

        return max(1, min(2, os.cpu_count() or 1))
    n = int(spec)
    if n < 1:
        raise ValueError(f"--processes must be 'auto' or at least 1, not {spec}")
    return n


@dataclass
class WorkerFailure:
    worker: int
    pid: int
    exitcode: int | None
    reason: str
    restarted: bool = False


def _exit_reason(exitcode: int | None) -> str:
    import signal as _signal

    if exitcode is None:
        return "did not exit"
    if exitcode < 0:
        try:
            return f"killed by {_signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exited with status {exitcode}"


def stop_on_signal(stop: threading.Event):
    """A signal handler that sets `stop` from a new thread: a handler runs on the main thread between
    two bytecodes, possibly while that thread holds the Event's own lock inside `stop.wait()`, and
    Event.set() there would wait for that lock forever (seen as a worker that ignored SIGTERM)."""
    def handler(signum, frame):
        threading.Thread(target=stop.set, name="stop-on-signal", daemon=True).start()
    return handler


def _worker_main(index: int, count: int, database_url: str, bootstrap: str, options: dict, results,
                 log_setup: dict) -> None:
    """One worker process: a Relay on shard `index` of `count` until SIGTERM (from the parent)."""
    import os
    import signal as _signal

    logging.basicConfig(level=log_setup["root_level"],
                        format=f"%(asctime)s %(levelname)s %(name)s worker={index}: %(message)s")
    for name, level in log_setup["levels"].items():
        logging.getLogger(name).setLevel(level)
    try:  # Linux: die with the parent, even when it is killed -9 (as a single relay process would)
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, _signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    parent = os.getppid()
    stop = threading.Event()
    # Ctrl-C reaches the whole process group: the parent decides, workers finish their batch.
    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    # SIGTERM ends the worker after the batch in flight: the parent's way to stop it. No shared
    # multiprocessing Event: one whose waiter was killed -9 blocks the parent's set() for good.
    _signal.signal(_signal.SIGTERM, stop_on_signal(stop))

    def watch_parent():  # where PR_SET_PDEATHSIG is missing: stop when orphaned
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=watch_parent, daemon=True, name="relay-parent-watch").start()
    relay = Relay(database_url, bootstrap, shard=(index, count), **options["relay"])
    log.info(logfmt("relay.worker_started", worker=index, of=count, pid=os.getpid()))
    try:
        stats = relay.run(stop=stop, **options["run"])
    finally:
        relay.close()
    results.send({name: getattr(stats, name) for name in
                  ("published", "failed", "dead_lettered", "retried", "batches")})
    results.close()


def run_workers(count: int, database_url: str, bootstrap: str, *, stop: threading.Event | None = None,
                once: bool = False, interval: float = 1.0, batch_size: int = 2000,
                relay_options: dict | None = None, max_restarts: int = 5, restart_window_s: float = 300.0,
                grace_s: float = 60.0, poll_s: float = 0.2) -> tuple[RelayStats, list[WorkerFailure]]:
    """Run `count` relay worker processes until `stop` is set (with `once`: until each drained its
    shard). Returns the summed stats and the workers that died.

    A worker that dies (crash, kill -9, OOM) is logged as `relay.worker_died` and, unless `once`,
    started again (its claimed rows were released with its connection: nothing is lost or marked
    twice). More than `max_restarts` deaths within `restart_window_s` is a crash loop: every worker
    is stopped and the failures returned, so the caller exits non-zero and its supervisor (docker,
    systemd) sees it. With `once`, a worker that fails (an outage raises there) is reported and the
    others finish; the caller exits non-zero."""
    import multiprocessing
    import os
    import signal as _signal
    from collections import deque

    # spawn, not fork: the parent may hold threads (kafka-python, logging) that must not be cloned.
    ctx = multiprocessing.get_context("spawn")
    stop = stop or threading.Event()
    options = {"relay": {"batch_size": batch_size, **(relay_options or {})},
               "run": {"interval": interval, "once": once}}
    log_setup = {"root_level": logging.getLogger().level,
                 "levels": {name: logging.getLogger(name).level for name in ("sinks", "kafka")}}
    # Each worker creates missing topics itself (concurrent creation is no error): here, a broker
    # down at start would end the command, where a relay waits outages out.

    total = RelayStats()
    failures: list[WorkerFailure] = []
    deaths: deque[float] = deque()
    procs: dict[int, tuple] = {}

    def start(index: int) -> None:
        reader, writer = ctx.Pipe(duplex=False)  # one pipe each: no lock a dying worker could hold
        proc = ctx.Process(target=_worker_main, name=f"cluewatch-relay-{index}", daemon=True,
                           args=(index, count, database_url, bootstrap, options, writer, log_setup))
        proc.start()
        writer.close()
        procs[index] = (proc, reader)

    def reap(index: int) -> None:
        proc, reader = procs.pop(index)
        proc.join()
        try:
            if reader.poll():
                for name, value in reader.recv().items():
                    setattr(total, name, getattr(total, name) + value)
        except (EOFError, OSError):
            pass
        reader.close()

    log.info(logfmt("relay.workers", processes=count, once=once, pid=os.getpid()))
    for i in range(count):
        start(i)
    interrupted = False
    try:
        while not stop.is_set():
            for index in [i for i, (p, _) in procs.items() if not p.is_alive()]:
                proc = procs[index][0]
                reap(index)
                if once and proc.exitcode == 0:  # drained its shard
                    continue
                now = time.monotonic()
                deaths.append(now)
                while deaths and deaths[0] < now - restart_window_s:
                    deaths.popleft()
                restart = not once and len(deaths) <= max_restarts
                failures.append(WorkerFailure(index, proc.pid, proc.exitcode, _exit_reason(proc.exitcode), restart))
                log.error(logfmt("relay.worker_died", worker=index, pid=proc.pid, exitcode=proc.exitcode,
                                 reason=_exit_reason(proc.exitcode), restarting=restart,
                                 deaths_in_window=len(deaths)))
                if restart:
                    start(index)
                elif not once:
                    log.error(logfmt("relay.crash_loop", deaths=len(deaths), window_s=restart_window_s))
                    stop.set()
            if once and not procs:
                break
            stop.wait(poll_s)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        # Each worker finishes the batch in flight (its sends settle within delivery_timeout_ms).
        for proc, _ in procs.values():
            if proc.is_alive():
                os.kill(proc.pid, _signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for index in list(procs):
            proc = procs[index][0]
            proc.join(max(deadline - time.monotonic(), 0.1))
            if proc.is_alive():
                log.error(logfmt("relay.worker_stuck", worker=index, pid=proc.pid, grace_s=grace_s))
                proc.kill()  # its claimed rows are released with its connection: sent again later
            reap(index)
            # Killed by our own SIGTERM before it could install its handler (still starting): fine.
            if proc.exitcode not in (0, -_signal.SIGTERM):
                failures.append(WorkerFailure(index, proc.pid, proc.exitcode, _exit_reason(proc.exitcode)))
                log.error(logfmt("relay.worker_died", worker=index, pid=proc.pid, exitcode=proc.exitcode,
                                 reason=_exit_reason(proc.exitcode), restarting=False))
    log.info(logfmt("relay.workers_stopped", processes=count, published=total.published,
                    dead_lettered=total.dead_lettered, worker_failures=len(failures)))
    if interrupted:
        raise KeyboardInterrupt
    return total, failures
