"""The default Kafka: a real single-node KRaft broker (broker + controller in one JVM) on 127.0.0.1.

The Apache Kafka jars are resolved once by Maven from the pinned `kafka/pom.xml` into a cache
dir; each `LocalKafkaBroker` then runs `java -cp <jars> kafka.Kafka` on free ports with its data
in a temp dir that is removed on stop. `CLUEWATCH_KAFKA_BOOTSTRAP` bypasses all of this.

    python -m cluewatch.services.kafka_broker      # run one in the foreground (operators)
"""
from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

KAFKA_VERSION = "4.1.1"  # must match <kafka.version> in kafka/pom.xml
HERE = Path(__file__).resolve().parent / "kafka"
POM = HERE / "pom.xml"
LOG4J_CONFIG = HERE / "log4j2.xml"
MIN_JAVA = 17  # Kafka 4.x brokers need Java 17

JAVA_MISSING = (
    "Java 17+ is needed to run the local Kafka broker: apt-get install openjdk-17-jre-headless "
    "(or set CLUEWATCH_KAFKA_BOOTSTRAP to an existing cluster)"
)
MAVEN_MISSING = (
    "Maven is needed (once) to fetch the Kafka broker jars: apt-get install maven "
    "(or set CLUEWATCH_KAFKA_BOOTSTRAP to an existing cluster)"
)

Log = Callable[[str], None]


class KafkaBrokerError(RuntimeError):
    """The local broker cannot be provided (no Java/Maven, download failed, broker did not start)."""


class _PortTaken(KafkaBrokerError):
    """Another process grabbed one of our ports between picking and binding it."""


# --- jars -------------------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """`$CLUEWATCH_HOME/cache` (default `<repo>/var/cache`): shared by tests, demo and operators."""
    from cluewatch.settings import Settings

    return Settings.from_env().home / "cache"


def find_java() -> str:
    """Path of a Java 17+ `java`; `$JAVA_HOME` wins over `$PATH` as in Kafka's own scripts."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home, "bin", "java")) if java_home and Path(java_home, "bin", "java").exists() else None
    java = java or shutil.which("java")
    if not java:
        raise KafkaBrokerError(JAVA_MISSING)
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60)
    major = java_major_version(out.stderr + out.stdout)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major else "an unrecognised Java"
        raise KafkaBrokerError(f"{JAVA_MISSING}; found {found} at {java}")
    return java


def java_major_version(version_output: str) -> int | None:
    """'openjdk version "17.0.15"' → 17; the pre-9 scheme 'java version "1.8.0_392"' → 8."""
    m = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _pom_digest(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def resolve_broker_classpath(cache_dir: Path, *, log: Log = print, pom: Path = POM) -> Path:
    """The dir holding the broker's jars (`cache_dir/kafka-<version>/lib`), downloading them once.

    The marker file (holding the pom's digest) is written only after Maven succeeded, so an
    interrupted download, or a changed pom, is resolved again. An flock serialises parallel
    test sessions sharing the cache.
    """
    find_java()  # fail before a one-minute download that could not be used anyway
    home = Path(cache_dir) / f"kafka-{KAFKA_VERSION}"
    lib, marker = home / "lib", home / "resolved.sha256"
    digest = _pom_digest(pom)
    if marker.exists() and marker.read_text().strip() == digest:
        return lib
    home.mkdir(parents=True, exist_ok=True)
    with open(home.parent / f"kafka-{KAFKA_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if marker.exists() and marker.read_text().strip() == digest:
            return lib  # another process finished it while we waited
        mvn = shutil.which("mvn")
        if not mvn:
            raise KafkaBrokerError(MAVEN_MISSING)
        marker.unlink(missing_ok=True)
        shutil.rmtree(lib, ignore_errors=True)  # no stale jars of an older pom or a half download
        log(f"Resolving Apache Kafka {KAFKA_VERSION} jars with Maven into {lib} (once; about a minute)")
        started = time.monotonic()
        cmd = [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
               f"-DoutputDirectory={lib}", "-DincludeScope=runtime"]
        try:
            out = subprocess.run(cmd, cwd=home, capture_output=True, text=True, timeout=1800)
        except subprocess.TimeoutExpired as e:
            raise KafkaBrokerError(f"Maven did not finish resolving the Kafka jars within {e.timeout:.0f} s") from e
        if out.returncode != 0 or not any(lib.glob("kafka_2.13-*.jar")):
            raise KafkaBrokerError(
                f"Maven could not resolve the Kafka broker jars (exit {out.returncode}):\n"
                + _tail(out.stdout + out.stderr))
        marker.write_text(digest + "\n")
        log(f"Resolved {len(list(lib.glob('*.jar')))} jars in {time.monotonic() - started:.0f} s")
    return lib


# --- broker -----------------------------------------------------------------------------------

def free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1 (all held open while picking, so distinct)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _port_free(port: int, *, reuse: bool = False) -> bool:
    with socket.socket() as s:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def new_cluster_id() -> str:
    """A Kafka cluster id (base64url of a random UUID, as `StorageTool random-uuid` prints),
    made here to save one JVM start; never starting with '-' so the CLI doesn't take it for a flag."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def server_properties(*, broker_port: int, controller_port: int, log_dir: Path) -> str:
    """Config of a one-node cluster: every internal topic with replication 1, topics only on purpose."""
    props = {
        "process.roles": "broker,controller",
        "node.id": 1,
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{broker_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": log_dir,
        # The pipeline creates its topics (sinks.kafka_client.ensure_topics); a typo must fail, not
        # silently create a new topic.
        "auto.create.topics.enable": "false",
        "num.partitions": 3,
        "default.replication.factor": 1,
        "min.insync.replicas": 1,
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 3,  # default 50: slow first group join for nothing
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "transaction.state.log.num.partitions": 3,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,  # consumers in tests get partitions at once
        # After a crash (kill(), then restart()) the controller waits for the dead incarnation's
        # session to expire before it lets the broker in: 9 s by default, 3 s here (one JVM, no
        # network between broker and controller: heartbeats are never late for long).
        "broker.session.timeout.ms": 3000,
        "broker.heartbeat.interval.ms": 500,
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _parent_death_signal() -> Callable[[], None] | None:
    """preexec_fn making Linux SIGTERM the broker when the Python process dies, even by SIGKILL
    (atexit does not run then). libc is looked up here, in the parent, not in the forked child."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    PR_SET_PDEATHSIG = 1
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalKafkaBroker:
    """A throw-away KRaft broker on 127.0.0.1. `with LocalKafkaBroker(cache) as b: b.bootstrap`.

    Data lives in a fresh temp dir (`run_dir`) made under `data_dir` (default: the system temp
    dir) and deleted by `stop()`, which also runs at interpreter exit. On Linux the JVM also gets
    SIGTERM when the Python process dies without running atexit (kill -9, crash) — strictly, when
    the *thread* that started it ends, so start it from a thread that outlives its use (the main
    thread, as pytest fixtures and the demo do).
    """

    def __init__(self, cache_dir: Path | None = None, *, data_dir: Path | None = None, port: int = 0,
                 start_timeout: float = 120.0, heap: str = "512m", log: Log = print):
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.data_dir = Path(data_dir) if data_dir else None
        self.requested_port = port
        self.start_timeout = start_timeout
        self.heap = heap
        self.log = log
        self.port: int | None = None
        self.controller_port: int | None = None
        self.run_dir: Path | None = None  # this run's temp dir inside data_dir
        self.cluster_id: str | None = None
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        if self.port is None:
            raise KafkaBrokerError("the local Kafka broker is not started")
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path | None:
        return self.run_dir / "server.log" if self.run_dir else None

    def start(self) -> "LocalKafkaBroker":
        if self.process is not None:
            return self
        java = find_java()
        lib = resolve_broker_classpath(self.cache_dir, log=self.log)
        started = time.monotonic()
        deadline = started + self.start_timeout
        for attempt in range(3):
            try:
                self._start_once(java, lib, deadline)
                break
            except _PortTaken:
                self.stop()
                if attempt == 2 or self.requested_port:
                    raise
            except BaseException:
                self.stop()
                raise
        self.log(f"Kafka {KAFKA_VERSION} broker ready on {self.bootstrap} in {time.monotonic() - started:.1f} s")
        return self

    def _java_cmd(self, java: str, lib: Path, heap: str, *, short_lived: bool = False) -> list[str]:
        # A one-shot tool starts ~0.7 s faster without the optimising JIT and with the simplest GC.
        fast_start = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"] if short_lived else []
        return [java, f"-Xmx{heap}", "-Xms64m", *fast_start, "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", f"-Dcluewatch.kafka.logdir={self.run_dir}",
                "-cp", str(lib / "*")]  # java expands the '*' itself

    def _start_once(self, java: str, lib: Path, deadline: float) -> None:
        if self.data_dir:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = Path(tempfile.mkdtemp(prefix="kafka-", dir=self.data_dir))
        if self.requested_port and not _port_free(self.requested_port):
            raise KafkaBrokerError(f"port {self.requested_port} on 127.0.0.1 is already in use")
        ports = free_ports(2)
        self.port = self.requested_port or ports[0]
        self.controller_port = ports[1]
        self.cluster_id = new_cluster_id()
        config = self.run_dir / "server.properties"
        config.write_text(server_properties(broker_port=self.port, controller_port=self.controller_port,
                                            log_dir=self.run_dir / "kraft-logs"))
        fmt_cmd = self._java_cmd(java, lib, "256m", short_lived=True) + [
            "kafka.tools.StorageTool", "format", "-t", self.cluster_id, "-c", str(config)]
        try:
            fmt = subprocess.run(fmt_cmd, capture_output=True, text=True,
                                 timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired as e:
            raise KafkaBrokerError(f"formatting the KRaft storage took over {e.timeout:.0f} s") from e
        if fmt.returncode != 0:
            raise KafkaBrokerError("formatting the KRaft storage failed:\n" + _tail(fmt.stdout + fmt.stderr))
        self._launch(java, lib)
        self._wait_ready(deadline)

    def _launch(self, java: str, lib: Path) -> None:
        with open(self.run_dir / "stdout.log", "ab") as out:  # JVM-level errors (log4j has the rest)
            self.process = subprocess.Popen(
                self._java_cmd(java, lib, self.heap) + ["kafka.Kafka", str(self.run_dir / "server.properties")],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stop() signals the JVM, never us
                preexec_fn=_parent_death_signal())
        atexit.register(self.stop)  # an aborted test session must not leave a JVM behind

    def kill(self) -> None:
        """Crash the broker: SIGKILL, no clean shutdown. Data, ports and cluster id are kept, so
        `restart()` brings the same broker back (as after a power cut of the JVM). For fault tests."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self) -> "LocalKafkaBroker":
        """Start the JVM again on the same ports and data dir (after `kill()` or a crash); returns
        once it answers. Kafka recovers its logs from the unclean shutdown itself."""
        if self.run_dir is None or not (self.run_dir / "server.properties").exists():
            raise KafkaBrokerError("the local Kafka broker was never started (or was stopped): nothing to restart")
        if self.process is not None and self.process.poll() is None:
            raise KafkaBrokerError(f"the local Kafka broker on {self.bootstrap} is still running")
        started = time.monotonic()
        deadline = started + self.start_timeout
        # Connections the dead JVM held linger in TIME_WAIT; Kafka binds with SO_REUSEADDR (as the
        # check here does), so only another listener on the port would stop it.
        while not _port_free(self.port, reuse=True) and time.monotonic() < deadline:
            time.sleep(0.2)
        self._launch(find_java(), resolve_broker_classpath(self.cache_dir, log=self.log))
        self._wait_ready(deadline)
        self.log(f"Kafka {KAFKA_VERSION} broker restarted on {self.bootstrap} in {time.monotonic() - started:.1f} s")
        return self

    def _logs(self) -> str:
        parts = []
        for name in ("stdout.log", "server.log"):
            path = self.run_dir / name if self.run_dir else None
            if path and path.exists():
                parts.append(f"--- {name}\n" + _tail(path.read_text(errors="replace")))
        return "\n".join(parts)

    def _check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            logs = self._logs()
            cls = _PortTaken if "Address already in use" in logs else KafkaBrokerError
            raise cls(f"the local Kafka broker exited with code {code} while starting:\n{logs}")

    def _wait_ready(self, deadline: float) -> None:
        """Until our broker answers a metadata request listing itself; the process dying ends it early.

        The cluster id must be ours: whatever else may listen on the port does not count."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        def timed_out() -> None:
            if time.monotonic() > deadline:
                raise KafkaBrokerError(f"the local Kafka broker did not become ready within "
                                       f"{self.start_timeout:.0f} s:\n{self._logs()}")

        # A plain TCP probe first: each failed KafkaAdminClient construction leaks an IO thread.
        while True:
            self._check_alive()
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                break
            timed_out()
            time.sleep(0.2)
        while True:
            self._check_alive()
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="cluewatch-broker-probe",
                                         bootstrap_timeout_ms=5000, request_timeout_ms=5000)
                try:
                    cluster = admin.describe_cluster()
                    if cluster.get("cluster_id") == self.cluster_id and cluster.get("brokers"):
                        return
                finally:
                    admin.close()
            except KafkaError:
                pass
            timed_out()
            time.sleep(0.3)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (clean shutdown), SIGKILL after `timeout` s; then delete the data. Idempotent."""
        atexit.unregister(self.stop)
        proc, self.process = self.process, None
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None
        if not self.requested_port:
            self.port = None

    def __enter__(self) -> "LocalKafkaBroker":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cluewatch.services.kafka_broker",
        description="Run a throw-away local Kafka broker in the foreground (data deleted on exit).")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where the Kafka jars are cached (default: $CLUEWATCH_HOME/cache)")
    parser.add_argument("--port", type=int, default=0, help="broker port (default: a free one)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` takes the same clean path as Ctrl-C
    try:
        with LocalKafkaBroker(args.cache_dir, port=args.port) as broker:
            print(f"export CLUEWATCH_KAFKA_BOOTSTRAP={broker.bootstrap}", flush=True)
            print(f"log: {broker.log_file}; Ctrl-C stops the broker and deletes its data", flush=True)
            while broker.process.poll() is None:
                time.sleep(1)
            print(f"the broker exited with code {broker.process.returncode}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0
    except KafkaBrokerError as e:
        print(e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
