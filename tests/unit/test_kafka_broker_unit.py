"""The local broker's setup logic and the client's failure modes, without a running broker.

Absent binaries are simulated the honest way: a PATH that does not contain them.
"""
from __future__ import annotations

import base64
import shutil
import time
from pathlib import Path

import pytest

from cluewatch.services import kafka_broker as kb
from sinks import kafka_client
from sinks.kafka_client import KafkaUnavailable, ensure_topics, make_producer

REAL_JAVA = shutil.which("java")
needs_java = pytest.mark.skipif(REAL_JAVA is None, reason="needs a real java on PATH")


@pytest.fixture
def path_with(tmp_path, monkeypatch):
    """PATH = a fresh dir holding only the given real binaries."""
    def make(*binaries: str) -> Path:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        for name in binaries:
            (bin_dir / name).symlink_to(shutil.which(name))
        monkeypatch.setenv("PATH", str(bin_dir))
        monkeypatch.delenv("JAVA_HOME", raising=False)
        return bin_dir
    return make


def _fake_cache(cache: Path, digest: str) -> Path:
    home = cache / f"kafka-{kb.KAFKA_VERSION}"
    (home / "lib").mkdir(parents=True)
    (home / "resolved.sha256").write_text(digest + "\n")
    return home / "lib"


def test_missing_java_is_explained(path_with, tmp_path):
    path_with()
    with pytest.raises(kb.KafkaBrokerError) as err:
        kb.resolve_broker_classpath(tmp_path / "cache")
    assert str(err.value) == kb.JAVA_MISSING
    assert "openjdk-17-jre-headless" in str(err.value) and "CLUEWATCH_KAFKA_BOOTSTRAP" in str(err.value)
    with pytest.raises(kb.KafkaBrokerError, match="Java 17"):
        kb.LocalKafkaBroker(tmp_path / "cache").start()
    assert not (tmp_path / "cache").exists()  # nothing downloaded for nothing


@needs_java
def test_missing_maven_is_explained(path_with, tmp_path):
    path_with("java")
    with pytest.raises(kb.KafkaBrokerError) as err:
        kb.resolve_broker_classpath(tmp_path / "cache", log=lambda _: None)
    assert str(err.value) == kb.MAVEN_MISSING
    assert "apt-get install maven" in str(err.value)


@needs_java
def test_a_completed_cache_needs_no_maven(path_with, tmp_path):
    lib = _fake_cache(tmp_path / "cache", kb._pom_digest(kb.POM))
    path_with("java")
    assert kb.resolve_broker_classpath(tmp_path / "cache") == lib


@needs_java
@pytest.mark.parametrize("marker", ["missing", "other pom"])
def test_a_half_or_outdated_download_is_resolved_again(path_with, tmp_path, marker):
    lib = _fake_cache(tmp_path / "cache", "0" * 64)
    if marker == "missing":
        (lib.parent / "resolved.sha256").unlink()
    path_with("java")
    with pytest.raises(kb.KafkaBrokerError, match="apt-get install maven"):  # i.e. it went to Maven
        kb.resolve_broker_classpath(tmp_path / "cache")


@pytest.mark.parametrize("output, major", [
    ('openjdk version "17.0.15" 2025-04-15', 17),
    ('openjdk version "21" 2023-09-19', 21),
    ('java version "1.8.0_392"', 8),
    ('openjdk version "11.0.2" 2019-01-15', 11),
    ("no version here", None),
])
def test_java_major_version(output, major):
    assert kb.java_major_version(output) == major


def test_pom_pins_the_broker_version_the_code_names():
    assert f"<kafka.version>{kb.KAFKA_VERSION}</kafka.version>" in kb.POM.read_text()
    assert kb.LOG4J_CONFIG.exists()


def test_server_properties_for_a_one_node_cluster(tmp_path):
    text = kb.server_properties(broker_port=9001, controller_port=9002, log_dir=tmp_path)
    props = dict(line.split("=", 1) for line in text.splitlines())
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:9001,CONTROLLER://127.0.0.1:9002"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:9002"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:9001"
    assert props["log.dirs"] == str(tmp_path)
    assert props["auto.create.topics.enable"] == "false"
    assert props["num.partitions"] == "3"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_cluster_ids_look_like_kafka_uuids():
    for _ in range(200):
        cid = kb.new_cluster_id()
        assert len(cid) == 22 and not cid.startswith("-")
        assert len(base64.urlsafe_b64decode(cid + "==")) == 16


def test_free_ports_are_distinct():
    ports = kb.free_ports(2)
    assert len(set(ports)) == 2 and all(p > 0 for p in ports)


def test_producer_bounds_are_fail_fast():
    d = kafka_client.PRODUCER_DEFAULTS
    assert d["enable_idempotence"] is True and d["acks"] == "all"
    assert d["max_in_flight_requests_per_connection"] <= 5
    assert max(d["request_timeout_ms"], d["max_block_ms"], d["bootstrap_timeout_ms"]) <= 15_000
    assert d["delivery_timeout_ms"] >= d["linger_ms"] + d["request_timeout_ms"]


def test_a_down_broker_raises_kafka_unavailable_quickly():
    (port,) = kb.free_ports(1)  # nothing listens there
    bootstrap = f"127.0.0.1:{port}"
    started = time.monotonic()
    with pytest.raises(KafkaUnavailable) as err:
        make_producer(bootstrap, bootstrap_timeout_ms=1500)
    assert time.monotonic() - started < 5
    assert bootstrap in str(err.value) and err.value.bootstrap == bootstrap


def test_ensure_topics_on_a_down_broker_raises_kafka_unavailable(monkeypatch):
    monkeypatch.setattr(kafka_client, "ADMIN_TIMEOUT_MS", 1500)
    (port,) = kb.free_ports(1)
    started = time.monotonic()
    with pytest.raises(KafkaUnavailable, match=f"127.0.0.1:{port}"):
        ensure_topics(f"127.0.0.1:{port}", {"t": 1})
    assert time.monotonic() - started < 5
