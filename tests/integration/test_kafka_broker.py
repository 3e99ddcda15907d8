"""The local Kafka broker and the client helpers against a real broker (no mocks)."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.errors import KafkaConfigurationError

from cluewatch.services.kafka_broker import (
    KAFKA_VERSION,
    KafkaBrokerError,
    LocalKafkaBroker,
    _port_free,
    default_cache_dir,
    resolve_broker_classpath,
)
from sinks.kafka_client import ensure_topics, make_producer

pytestmark = pytest.mark.service
REPO = Path(__file__).resolve().parents[2]


def _consume(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"g-{uuid.uuid4().hex[:8]}",
                             auto_offset_reset="earliest", enable_auto_commit=False)
    records = []
    try:
        deadline = time.monotonic() + timeout
        while len(records) < count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


def _alive(pid: int) -> bool:
    try:
        return "java" in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def test_keyed_messages_round_trip_on_a_stable_partition(kafka_bootstrap, kafka_topic_name):
    ensure_topics(kafka_bootstrap, {kafka_topic_name: 3})
    sent = [(f"listing-{i % 5}".encode(), f"event-{i}".encode()) for i in range(30)]
    producer = make_producer(kafka_bootstrap)
    try:
        metas = [producer.send(kafka_topic_name, key=k, value=v) for k, v in sent]
        producer.flush(timeout=30)
        partition_of = defaultdict(set)
        for (key, _), future in zip(sent, metas):
            partition_of[key].add(future.get(timeout=10).partition)
    finally:
        producer.close(timeout=10)
    assert all(len(parts) == 1 for parts in partition_of.values()), partition_of
    assert len({next(iter(p)) for p in partition_of.values()}) > 1  # 5 keys spread over 3 partitions

    records = _consume(kafka_bootstrap, kafka_topic_name, len(sent))
    assert sorted((r.key, r.value) for r in records) == sorted(sent)
    for r in records:
        assert {r.partition} == partition_of[r.key]
    by_key = defaultdict(list)
    for r in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_key[r.key].append(r.value)
    for key, values in by_key.items():  # per-key order is the send order
        assert values == [v for k, v in sent if k == key]


def test_ensure_topics_is_idempotent(kafka_bootstrap, kafka_topic_name):
    other = kafka_topic_name + ".b"
    assert ensure_topics(kafka_bootstrap, {kafka_topic_name: 3}) == [kafka_topic_name]
    assert ensure_topics(kafka_bootstrap, {kafka_topic_name: 3, other: 2}) == [other]
    assert ensure_topics(kafka_bootstrap, {kafka_topic_name: 5, other: 2}) == []  # never repartitions
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        partitions = {t["name"]: len(t["partitions"]) for t in admin.describe_topics([kafka_topic_name, other])}
    finally:
        admin.close()
    assert partitions == {kafka_topic_name: 3, other: 2}


def test_producer_is_idempotent_and_refuses_contradicting_settings(kafka_bootstrap):
    producer = make_producer(kafka_bootstrap)
    try:
        assert producer.config["enable_idempotence"] and producer.config["acks"] == -1
    finally:
        producer.close(timeout=5)
    with pytest.raises(KafkaConfigurationError, match="acks"):
        make_producer(kafka_bootstrap, acks=1)


def test_stop_kills_the_jvm_frees_the_port_and_deletes_the_data(tmp_path):
    broker = LocalKafkaBroker(default_cache_dir(), data_dir=tmp_path)
    with broker:
        pid, port, run_dir = broker.process.pid, broker.port, broker.run_dir
        assert _alive(pid) and not _port_free(port) and (run_dir / "server.log").exists()
    assert not _alive(pid)
    assert _port_free(port)
    assert not run_dir.exists()
    broker.stop()  # idempotent


def test_a_requested_port_in_use_is_refused(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = LocalKafkaBroker(default_cache_dir(), data_dir=tmp_path, port=port)
        with pytest.raises(KafkaBrokerError, match=f"port {port} .* already in use"):
            broker.start()
    assert broker.process is None and not list(tmp_path.iterdir())


def test_an_early_jvm_exit_is_reported_with_its_output(tmp_path):
    broker = LocalKafkaBroker(default_cache_dir(), data_dir=tmp_path, heap="1k")
    with pytest.raises(KafkaBrokerError, match="(?s)exited with code.*heap"):
        broker.start()
    assert broker.process is None


def test_operator_command_runs_a_broker_until_sigterm(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "cluewatch.services.kafka_broker"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if m := re.match(r"export CLUEWATCH_KAFKA_BOOTSTRAP=(\S+)", line):
                break
        assert m, "".join(lines)
        bootstrap = m.group(1)
        assert ensure_topics(bootstrap, {"ops.check": 1}) == ["ops.check"]
        java = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                               text=True).stdout.split()]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        assert java and not any(_alive(pid) for pid in java)
        assert _port_free(int(bootstrap.rsplit(":", 1)[1]))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_maven_failure_reports_the_end_of_its_output(tmp_path):
    pom = tmp_path / "pom.xml"
    pom.write_text(
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>t</groupId><artifactId>t</artifactId><version>1</version><packaging>pom</packaging>"
        "<dependencies><dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>"
        "<version>0.0.0-no-such-version</version></dependency></dependencies></project>")
    with pytest.raises(KafkaBrokerError, match="(?s)Maven could not resolve.*0.0.0-no-such-version"):
        resolve_broker_classpath(tmp_path / "cache", pom=pom, log=lambda _: None)
    assert not list((tmp_path / "cache").glob("*/resolved.sha256"))


def test_parallel_sessions_resolve_the_jars_once(tmp_path):
    """Two processes on an empty cache: one runs Maven, the other waits on the lock and reuses it."""
    code = ("import sys; from pathlib import Path; from cluewatch.services.kafka_broker import "
            "resolve_broker_classpath as r; print('LIB', r(Path(sys.argv[1])), flush=True)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "cache")], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert sum(out.count("Resolving Apache Kafka") for out in outputs) == 1, outputs
    lib = tmp_path / "cache" / f"kafka-{KAFKA_VERSION}" / "lib"
    assert all(f"LIB {lib}" in out for out in outputs)
    assert any(lib.glob("kafka_2.13-*.jar")) and any(lib.glob("log4j-slf4j-impl-*.jar"))
