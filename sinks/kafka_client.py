"""Kafka client helpers: an idempotent producer that fails fast, and topic creation.

Keys and values are bytes: serialising is the caller's business (sinks.relay sends JSON).
A broker that is down or unreachable surfaces as `KafkaUnavailable` naming the bootstrap address,
within about `PRODUCER_DEFAULTS["bootstrap_timeout_ms"]`, instead of kafka-python's generic
timeouts after a minute.
"""
from __future__ import annotations

import logging

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import (KafkaConfigurationError, KafkaConnectionError, KafkaTimeoutError,
                          TopicAlreadyExistsError, for_code)

log = logging.getLogger(__name__)

# Fail-fast bounds: a down broker is reported in ~10 s; a send is retried until delivery_timeout_ms.
PRODUCER_DEFAULTS = {
    # Explicit on purpose: kafka-python 3.x silently turns idempotence off when another setting
    # conflicts with it, unless enable_idempotence was passed; then the conflict raises instead.
    "enable_idempotence": True,
    "acks": "all",
    "retries": 2**31 - 1,  # as the Java client: retry until delivery_timeout_ms, not a count
    "max_in_flight_requests_per_connection": 5,  # the most idempotence keeps in order
    "linger_ms": 5,
    "request_timeout_ms": 10_000,
    "max_block_ms": 10_000,  # send() waiting for metadata / buffer space
    "bootstrap_timeout_ms": 10_000,  # the constructor's first connection
    "delivery_timeout_ms": 30_000,
}
ADMIN_TIMEOUT_MS = 10_000


class KafkaUnavailable(RuntimeError):
    """No Kafka broker answered at `bootstrap`."""

    def __init__(self, bootstrap: str, cause: BaseException | str):
        self.bootstrap = bootstrap
        super().__init__(
            f"Kafka is not reachable at {bootstrap} ({cause}); start it, or point "
            "CLUEWATCH_KAFKA_BOOTSTRAP at a running cluster")


def make_producer(bootstrap: str, **overrides) -> KafkaProducer:
    """An idempotent, acks=all producer for `bootstrap`; `overrides` are KafkaProducer settings."""
    config = {**PRODUCER_DEFAULTS, **overrides, "bootstrap_servers": bootstrap}
    try:
        producer = KafkaProducer(**config)
    except KafkaConfigurationError:
        raise  # a setting that contradicts idempotence: a programming error, not an outage
    except (KafkaTimeoutError, KafkaConnectionError, OSError) as e:
        raise KafkaUnavailable(bootstrap, e) from e
    # Belt and braces: no duplicates on retry is what the outbox relay relies on.
    if not producer.config.get("enable_idempotence") or producer._transaction_manager is None:
        producer.close(timeout=0)
        raise KafkaConfigurationError(f"the Kafka producer for {bootstrap} is not idempotent "
                                      f"(settings: {sorted(overrides)})")
    return producer


def _admin(bootstrap: str) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="cluewatch-admin",
                                bootstrap_timeout_ms=ADMIN_TIMEOUT_MS, request_timeout_ms=ADMIN_TIMEOUT_MS)
    except (KafkaTimeoutError, KafkaConnectionError, OSError) as e:
        raise KafkaUnavailable(bootstrap, e) from e


def ensure_topics(bootstrap: str, topics: dict, replication_factor: int | None = None) -> list[str]:
    """Create the missing ones of `topics`; returns the names created.

    `topics` maps a name to a partition count, or to a `sinks.topics.TopicSpec` (partitions,
    retention and the other topic configs). `replication_factor` None means 3 where the cluster has
    3+ brokers, else the broker count (see sinks.topics.replication_factor_for).

    Idempotent: existing topics are left as they are (also when they have another partition
    count — repartitioning would reshuffle keys), and a concurrent creator is not an error.
    Returns once every topic has a leader for each partition, so producing can start at once.
    """
    from sinks.topics import replication_factor_for

    admin = _admin(bootstrap)
    try:
        existing = set(admin.list_topics())
        missing = {name: spec for name, spec in topics.items() if name not in existing}
        created = []
        if missing:
            rf = replication_factor_for(len(admin.describe_cluster().get("brokers") or []), replication_factor)
            requests = {}
            for name, spec in missing.items():
                if isinstance(spec, int):
                    requests[name] = {"num_partitions": spec, "replication_factor": rf}
                else:
                    requests[name] = {"num_partitions": spec.partitions, "replication_factor": rf,
                                      "configs": spec.kafka_configs(rf)}
            result = admin.create_topics(requests, raise_errors=False)
            for topic in result["topics"]:
                error = for_code(topic["error_code"])
                if topic["error_code"] == 0:
                    created.append(topic["name"])
                elif error is not TopicAlreadyExistsError:  # lost a race with another creator: fine
                    raise error(f"creating topic {topic['name']} at {bootstrap}: {topic.get('error_message')}")
        admin.wait_for_topics(list(topics), timeout_ms=ADMIN_TIMEOUT_MS)
        if created:
            log.info("created Kafka topics %s at %s (replication factor %s)", ", ".join(sorted(created)),
                     bootstrap, rf)
        return sorted(created)
    except (KafkaTimeoutError, KafkaConnectionError) as e:
        raise KafkaUnavailable(bootstrap, e) from e
    finally:
        admin.close()
