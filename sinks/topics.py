"""The Kafka topics cluewatch writes, with explicit settings (docs/messages.md explains each choice).

Topics are created by `ensure_all` (the relay calls it at start), never by the broker's
auto-creation: a typo in a topic name must fail, and every topic must get these settings, not the
broker's defaults.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sinks.messages import DECISION_SCHEMA, DLQ_SCHEMA, SUSPECT_SCHEMA, TAKEDOWN_SCHEMA

# The same names as cluewatch.settings (which the DAGs read); sinks import nothing outward.
SUSPECTS_TOPIC = "cluewatch.suspects.v1"
DECISIONS_TOPIC = "cluewatch.decisions.v1"
TAKEDOWNS_TOPIC = "cluewatch.takedowns.v1"
DLQ_TOPIC = "cluewatch.dlq.v1"
DAY_MS = 24 * 3600 * 1000
# Largest message the relay sends (bytes of the JSON value) and the topics accept. Kafka's default
# (1 MiB) with room for the batch overhead; a suspect with evidence is a few KiB.
MAX_MESSAGE_BYTES = 1_000_000


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    retention_days: int
    schema: str
    key: str  # what the message key is, for the docs
    configs: dict = field(default_factory=dict)

    def kafka_configs(self, replication_factor: int) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_days * DAY_MS),
            "cleanup.policy": "delete",  # events, not a changelog: compaction would drop history
            "max.message.bytes": str(MAX_MESSAGE_BYTES + 64 * 1024),  # + batch/record overhead
            # With acks=all a write is acknowledged once this many replicas have it: 2 of 3 survives
            # one broker loss without refusing writes; a one-broker cluster can only ask for 1.
            "min.insync.replicas": str(2 if replication_factor >= 3 else 1),
            **self.configs,
        }


TOPICS: dict[str, TopicSpec] = {spec.name: spec for spec in (
    # Key = listing id: one listing's events stay in one partition, in order. 6 partitions leave
    # room for 6 consumers in the case system's group without repartitioning (which would reshuffle keys).
    TopicSpec(SUSPECTS_TOPIC, partitions=6, retention_days=30, schema=SUSPECT_SCHEMA, key="listing id"),
    TopicSpec(DECISIONS_TOPIC, partitions=3, retention_days=30, schema=DECISION_SCHEMA, key="listing id"),
    # Key = platform: each platform's takedown requests in order; kept a year as the platforms'
    # record of what was asked, when.
    TopicSpec(TAKEDOWNS_TOPIC, partitions=3, retention_days=365, schema=TAKEDOWN_SCHEMA, key="platform"),
    # One partition: a human reads it, volume is tiny, and order of arrival is what they want.
    TopicSpec(DLQ_TOPIC, partitions=1, retention_days=90, schema=DLQ_SCHEMA, key="the original message's key"),
)}


def replication_factor_for(broker_count: int, wanted: int | None = None) -> int:
    """`wanted` if given, else 3 where the cluster has 3+ brokers (the usual production choice), else
    what the cluster can hold (1 on the local single-node broker)."""
    if wanted:
        return wanted
    return min(3, max(1, broker_count))


def ensure_all(bootstrap: str, *, replication_factor: int | None = None, extra: dict[str, TopicSpec] | None = None) -> list[str]:
    """Create every cluewatch topic (and `extra`) that is missing; returns the names created."""
    from sinks.kafka_client import ensure_topics

    return ensure_topics(bootstrap, {**TOPICS, **(extra or {})}, replication_factor=replication_factor)
