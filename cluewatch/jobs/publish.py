"""Publish step: relay the outbox to Kafka (topics created on first use)."""
from __future__ import annotations

from cluewatch.settings import DECISIONS_TOPIC, SUSPECTS_TOPIC, TAKEDOWNS_TOPIC
from sinks.kafka_client import ensure_topics, make_producer
from sinks.relay import RelayStats, relay_all

# Partitions per topic: keyed by listing id / platform, so order per key is kept.
TOPICS = {SUSPECTS_TOPIC: 3, TAKEDOWNS_TOPIC: 3, DECISIONS_TOPIC: 3}


def publish_outbox(conn, bootstrap: str, *, progress=None) -> RelayStats:
    ensure_topics(bootstrap, TOPICS)
    producer = make_producer(bootstrap)
    try:
        return relay_all(conn, producer, progress=progress)
    finally:
        producer.close(timeout=10)
