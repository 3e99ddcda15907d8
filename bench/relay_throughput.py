"""Outbox → Kafka relay throughput against the local broker, with the production relay code.

    .venv/bin/python bench/relay_throughput.py                     # 50,000 suspect events
    .venv/bin/python bench/relay_throughput.py --events 200000 --batch-size 5000 --compression none

Starts an embedded PostgreSQL and a local Kafka 4.1.1 broker (both in a temp dir, deleted after),
fills the outbox with realistic cluewatch.suspect.v1 events (~1 KB of JSON each, Chinese titles,
two signals), then times `sinks.relay.Relay.drain()`: claim (FOR UPDATE SKIP LOCKED) → validate
each against its schema → send (idempotent producer, acks=all) → flush → mark sent (one UPDATE)
→ commit, batch after batch, until the outbox is empty. Prints events/s, MB/s, per-batch timings,
the relay's peak memory (RSS sampled while it runs, above the process's baseline, and the Python
heap peak from tracemalloc in a second, shorter pass when --tracemalloc is given), and checks the
topic holds every event.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

TARGET = 10_000  # events/s, from issue 6


class BatchTimes(logging.Handler):
    """Collects the relay's own logfmt batch lines (its structured log is the measurement)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.batches: list[dict] = []

    def emit(self, record):
        text = record.getMessage()
        if text.startswith("event=relay.batch "):
            self.batches.append(dict(kv.split("=", 1) for kv in text.split()[1:] if "=" in kv))


def rss_sampler(stop: threading.Event, peak: list[int]) -> None:
    import psutil

    proc = psutil.Process()
    while not stop.is_set():
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.01)


def fill(url: str, topic: str, n: int) -> int:
    from sinks.db import connect
    from tests.delivery_support import enqueue_many

    conn = connect(url)
    try:
        done = 0
        while done < n:  # in chunks: the Python side of a 200k-row INSERT would skew the memory figure
            step = min(20_000, n - done)
            enqueue_many(conn, topic, step, start=done)
            done += step
        with conn.cursor() as cur:
            cur.execute("SELECT avg(octet_length(payload::text))::int FROM outbox")
            return cur.fetchone()[0]
    finally:
        conn.close()


def cpu_seconds(pids: list[int]) -> float:
    """User+system CPU of these processes and their children (PostgreSQL forks a backend per connection)."""
    import psutil

    total = 0.0
    for pid in pids:
        proc = psutil.Process(pid)
        for p in [proc, *proc.children(recursive=True)]:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
    return total


def run(url: str, bootstrap: str, topic: str, n: int, args, pids: dict[str, int]) -> dict:
    from sinks.relay import Relay

    handler = BatchTimes()
    log = logging.getLogger("sinks.relay")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False  # collected, not printed
    settings = {"linger_ms": args.linger_ms, "compression_type": None if args.compression == "none" else args.compression}
    relay = Relay(url, bootstrap, batch_size=args.batch_size, producer_settings=settings)
    relay._connection(), relay._producer()  # connect first: the figure is steady-state sending
    stop, peak = threading.Event(), [0]
    import psutil

    base = psutil.Process().memory_info().rss
    sampler = threading.Thread(target=rss_sampler, args=(stop, peak), daemon=True)
    sampler.start()
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start()
    cpu_before = {name: cpu_seconds([pid]) for name, pid in pids.items()}
    me_before = time.process_time()
    started = time.perf_counter()
    stats = relay.drain()
    elapsed = time.perf_counter() - started
    cpu = {"relay (Python)": time.process_time() - me_before,
           **{name: cpu_seconds([pid]) - cpu_before[name] for name, pid in pids.items()}}
    heap_peak = None
    if args.tracemalloc:
        heap_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    stop.set()
    sampler.join()
    relay.close()
    log.removeHandler(handler)
    assert stats.published == n, f"published {stats.published} of {n}"
    return dict(elapsed=elapsed, stats=stats, batches=handler.batches, rss_base=base, rss_peak=peak[0],
                heap_peak=heap_peak, cpu=cpu)


def child(args) -> int:
    """One relay process of the multi-process run: connect, say ready, drain on "go", report JSON."""
    import json
    import resource

    from sinks.relay import Relay

    settings = {"linger_ms": args.linger_ms, "compression_type": None if args.compression == "none" else args.compression}
    # The shard of keys this worker owns, as `cluewatch relay --processes N` gives its workers.
    index, count = map(int, args.shard.split("/"))
    relay = Relay(args.url, args.bootstrap, batch_size=args.batch_size, producer_settings=settings,
                  create_topics=False, shard=(index, count))
    relay._connection(), relay._producer()
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    stats = relay.drain()
    elapsed = time.perf_counter() - started
    relay.close()
    print(json.dumps({"published": stats.published, "elapsed": elapsed, "cpu": time.process_time(),
                      "maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}), flush=True)
    return 0


def run_processes(url: str, bootstrap: str, n: int, processes: int, args) -> dict:
    """`processes` relay workers side by side on one outbox, each on its shard of keys, as
    `cluewatch relay --processes N` runs them (timed from "go", after each connected)."""
    import json
    import subprocess

    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--url", url, "--bootstrap", bootstrap,
           "--batch-size", str(args.batch_size), "--linger-ms", str(args.linger_ms), "--compression", args.compression]
    procs = [subprocess.Popen([*cmd, "--shard", f"{i}/{processes}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
             for i in range(processes)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [json.loads(p.stdout.readline()) for p in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.wait()
    published = sum(r["published"] for r in results)
    assert published == n, f"published {published} of {n}"
    return dict(elapsed=elapsed, results=results)


def topic_count(bootstrap: str, topic: str) -> int:
    from tests.delivery_support import topic_end_offsets

    return topic_end_offsets(bootstrap, topic)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=2000, help="rows per claimed batch (relay default 2000)")
    parser.add_argument("--linger-ms", type=int, default=20)
    parser.add_argument("--compression", choices=("lz4", "gzip", "zstd", "none"), default="lz4")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure the Python heap peak (slower run)")
    parser.add_argument("--processes", type=int, default=2,
                        help="then run this many relay processes side by side on a refilled outbox (0: skip)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--shard", default="0/1", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    from cluewatch.services.kafka_broker import LocalKafkaBroker, default_cache_dir
    from cluewatch.services.postgres import EmbeddedPostgres
    from sinks.db import migrate
    from sinks.kafka_client import ensure_topics
    from sinks.topics import SUSPECTS_TOPIC, TOPICS

    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        t0 = time.perf_counter()
        pg = EmbeddedPostgres(Path(tmp) / "pg", delete_on_stop=True)
        broker = LocalKafkaBroker(default_cache_dir(), data_dir=Path(tmp) / "kafka", log=lambda _: None)
        try:
            url = pg.url("cluewatch")
            migrate(url)
            broker.start()
            ensure_topics(broker.bootstrap, {SUSPECTS_TOPIC: TOPICS[SUSPECTS_TOPIC]})
            print(f"services up in {time.perf_counter() - t0:.1f} s (embedded PostgreSQL, Kafka 4.1.1 on {broker.bootstrap})")
            t1 = time.perf_counter()
            avg_bytes = fill(url, SUSPECTS_TOPIC, args.events)
            print(f"outbox filled: {args.events:,} events, {avg_bytes} bytes of JSON each, in {time.perf_counter() - t1:.1f} s")
            r = run(url, broker.bootstrap, SUSPECTS_TOPIC, args.events, args,
                    {"PostgreSQL": pg._server.get_pid(), "Kafka broker": broker.process.pid})
            multi = None
            if args.processes > 1:
                from sinks.db import connect
                from tests.delivery_support import enqueue_many

                conn = connect(url)
                for start in range(0, args.events, 20_000):
                    enqueue_many(conn, SUSPECTS_TOPIC, min(20_000, args.events - start), start=args.events + start)
                conn.close()
                multi = run_processes(url, broker.bootstrap, args.events, args.processes, args)
            on_topic = topic_count(broker.bootstrap, SUSPECTS_TOPIC)
        finally:
            broker.stop()
            pg.stop()

    rate = args.events / r["elapsed"]
    per = {k: [float(b[k]) for b in r["batches"]] for k in ("claim_ms", "flush_ms", "mark_ms", "batch_ms")}
    print()
    print(f"relay: {args.events:,} events in {r['elapsed']:.2f} s = {rate:,.0f} events/s "
          f"({rate * avg_bytes / 1e6:.1f} MB/s of JSON); target {TARGET:,}/s: {'met' if rate >= TARGET else 'NOT met'}")
    print(f"  settings: batch {args.batch_size} rows, linger {args.linger_ms} ms, compression {args.compression}, "
          f"idempotent producer, acks=all, schema validation of every event")
    print(f"  {len(r['batches'])} batches; median ms per batch: claim {statistics.median(per['claim_ms']):.0f}, "
          f"validate+send+flush {statistics.median(per['flush_ms']):.0f}, mark sent {statistics.median(per['mark_ms']):.0f}, "
          f"whole batch {statistics.median(per['batch_ms']):.0f}")
    print(f"  peak memory: RSS {r['rss_peak'] / 2**20:.0f} MiB ({(r['rss_peak'] - r['rss_base']) / 2**20:+.0f} MiB over the "
          f"{r['rss_base'] / 2**20:.0f} MiB before relaying)"
          + (f"; Python heap peak {r['heap_peak'] / 2**20:.1f} MiB" if r["heap_peak"] else ""))
    cpu = r["cpu"]
    print("  CPU per event: " + ", ".join(f"{name} {sec / args.events * 1e6:.0f} µs" for name, sec in cpu.items())
          + f"; {sum(cpu.values()) / r['elapsed']:.2f} of {os.cpu_count()} cores busy "
          f"(machine load average {os.getloadavg()[0]:.1f})")
    relay_cpu = cpu["relay (Python)"] / args.events
    print(f"  the relay process alone could do {1 / relay_cpu:,.0f} events/s per core "
          f"(its CPU per event; the rest is the database and the broker)")
    expected = args.events * (2 if multi else 1)
    if multi:
        mrate = args.events / multi["elapsed"]
        print(f"{args.processes} relay worker processes (`cluewatch relay --processes {args.processes}`: a shard of "
              f"keys each, FOR UPDATE SKIP LOCKED): {args.events:,} events in {multi['elapsed']:.2f} s = {mrate:,.0f} events/s; "
              f"target {TARGET:,}/s: {'met' if mrate >= TARGET else 'NOT met'}")
        print("  per process: " + "; ".join(f"{r['published']:,} events, peak RSS {r['maxrss'] / 2**20:.0f} MiB"
                                             for r in multi["results"]))
    print(f"topic {SUSPECTS_TOPIC} holds {on_topic:,} records ({'all' if on_topic == expected else 'MISMATCH'})")
    return 0 if on_topic == expected else 1


if __name__ == "__main__":
    sys.exit(main())
