"""pytest plugin: a real Kafka for the tests (`pytest_plugins = ["tests.kafka_fixtures"]`).

`kafka_bootstrap` is CLUEWATCH_KAFKA_BOOTSTRAP when set (an existing cluster), else a local KRaft
broker started once per session: jars cached under $CLUEWATCH_HOME/cache (default
<repo>/var/cache), data in pytest's tmp dir. Tests sharing it use unique topic names.
"""
from __future__ import annotations

import os
import re
import uuid

import pytest


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory) -> str:
    external = os.environ.get("CLUEWATCH_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    from cluewatch.services.kafka_broker import LocalKafkaBroker, default_cache_dir

    broker = LocalKafkaBroker(default_cache_dir(), data_dir=tmp_path_factory.mktemp("kafka"), log=print)
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
def kafka_topic_name(request) -> str:
    """A topic name no other test (or earlier run against an external cluster) uses."""
    name = re.sub(r"[^A-Za-z0-9._-]", "-", request.node.name)[:80]  # Kafka's legal topic chars
    return f"test.{name}.{uuid.uuid4().hex[:8]}"
