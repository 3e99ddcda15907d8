"""Publish step: relay the outbox to Kafka (topics created on first use, with their settings)."""
from __future__ import annotations

from sinks.kafka_client import make_producer
from sinks.relay import RELAY_PRODUCER_SETTINGS, Relay, RelayStats
from sinks.topics import ensure_all


def publish_outbox(conn, bootstrap: str, *, progress=None) -> RelayStats:
    """Drain the outbox once (what the publish DAG runs). A broker that cannot be reached raises
    KafkaUnavailable before anything is claimed; rows that fail stay in the outbox (RelayError)."""
    ensure_all(bootstrap)
    producer = make_producer(bootstrap, **RELAY_PRODUCER_SETTINGS)
    try:
        return Relay(conn=conn, producer=producer).drain(progress)
    finally:
        producer.close(timeout=10)
