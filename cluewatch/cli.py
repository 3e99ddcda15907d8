"""cluewatch command line. Run `cluewatch --help` or `cluewatch COMMAND --help`."""
from __future__ import annotations

import argparse
import logging
import sys


def _cmd_demo(args) -> int:
    from cluewatch.demo import print_summary, run_demo

    print_summary(run_demo())
    return 0


def _cmd_db_upgrade(args) -> int:
    from cluewatch.runtime import database_url
    from sinks.db import migrate

    migrate(database_url())
    print("schema is at the latest revision")
    return 0


def _cmd_registry_check(args) -> int:
    from cluewatch.registry import check_registry

    problems = check_registry(args.file)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{args.file}: valid")
    return 1 if problems else 0


def _cmd_registry_load(args) -> int:
    from cluewatch.registry import RegistryError, load_registry
    from cluewatch.runtime import database_url
    from sinks.db import transaction
    from sinks.registry_store import save_registry

    try:
        registry = load_registry(args.file)
    except RegistryError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    with transaction(database_url()) as conn:
        fresh = save_registry(conn, registry)
    state = "loaded" if fresh else "already loaded (same file contents)"
    print(f"{args.file}: {len(registry.marks)} marks, {len(registry.geographical_indications)} "
          f"geographical indications — {state}")
    return 0


def _cmd_detect(args) -> int:
    from cluewatch.jobs.detect import NoRegistry, detect_pending
    from cluewatch.runtime import database_url
    from sinks.db import connect

    conn = connect(database_url())
    try:
        stats = detect_pending(conn, progress=lambda s: print(f"scored {s.scored} …", file=sys.stderr))
    except NoRegistry as exc:
        print(f"cluewatch detect: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    print(f"scored {stats.scored} listing versions: {stats.findings} findings, "
          f"{stats.new_suspects} new suspects, {stats.errors} errors")
    return 0


def _kafka_loop(command: str, args):
    """(bootstrap, stop event) for a long-running Kafka command, or None (message printed) when no
    broker is configured. SIGTERM (docker stop, Airflow, the tests) sets `stop`, ending the loop
    between batches; Ctrl-C raises KeyboardInterrupt even when the command was started from a
    script's background job, which hands SIGINT down ignored."""
    import signal
    import threading

    from cluewatch.runtime import ServiceNotConfigured, kafka_bootstrap
    from sinks.relay import stop_on_signal

    try:
        bootstrap = kafka_bootstrap()
    except ServiceNotConfigured as exc:
        print(f"cluewatch {command}: {exc}", file=sys.stderr)
        return None
    _log_info("sinks", quiet_kafka=not args.verbose)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, stop_on_signal(stop))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    return bootstrap, stop


def _cmd_relay(args) -> int:
    from cluewatch.runtime import database_url
    from sinks.relay import Relay, run_workers, worker_count

    loop = _kafka_loop("relay", args)
    if loop is None:
        return 2
    bootstrap, stop = loop
    try:
        processes = worker_count(args.processes)
    except ValueError:
        print(f"cluewatch relay: --processes must be 'auto' or a number of at least 1, not {args.processes!r}",
              file=sys.stderr)
        return 2
    if processes > 1:
        stats, failures = run_workers(processes, database_url(), bootstrap, stop=stop, once=args.once,
                                      interval=args.interval, batch_size=args.batch_size)
        for f in failures:
            print(f"cluewatch relay: worker {f.worker} (pid {f.pid}) {f.reason}"
                  + ("; restarted" if f.restarted else ""), file=sys.stderr)
        print(f"published {stats.published}, dead-lettered {stats.dead_lettered}, failed {stats.failed}", flush=True)
        # A worker that died and was not restarted (--once, a crash loop, a failed exit) left rows
        # of its shard unsent: exit non-zero so that the caller or supervisor sees it.
        return 1 if any(not f.restarted for f in failures) else 0
    relay = Relay(database_url(), bootstrap, batch_size=args.batch_size)
    try:
        stats = relay.run(stop=stop, interval=args.interval, once=args.once)
    finally:
        relay.close()
    print(f"published {stats.published}, dead-lettered {stats.dead_lettered}, failed {stats.failed}", flush=True)
    return 0


def _log_info(*loggers: str, quiet_kafka: bool = True) -> None:
    """Our logfmt lines at INFO on stderr; kafka-python's own connection chatter only with -v."""
    for name in loggers:
        logging.getLogger(name).setLevel(logging.INFO)
    if quiet_kafka:
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


def _cmd_consume(args) -> int:
    from cluewatch.runtime import database_url
    from sinks.consumer import PostgresSink, StdoutSink, consume

    loop = _kafka_loop("consume", args)
    if loop is None:
        return 2
    bootstrap, stop = loop
    sink = PostgresSink(database_url()) if args.sink == "postgres" else StdoutSink(seen_capacity=args.seen)
    stats = consume(bootstrap, args.topic, sink, group=args.group, from_beginning=args.from_beginning,
                    max_messages=args.max_messages, idle_timeout=args.idle_timeout, stop=stop)
    print(f"received {stats.received}, written {stats.written}, duplicates {stats.duplicates}, "
          f"invalid {stats.invalid}", file=sys.stderr, flush=True)
    return 0


def _cmd_status(args) -> int:
    from cluewatch.runtime import database_url
    from sinks.db import connect
    from sinks.status import pipeline_status

    conn = connect(database_url())
    try:
        st = pipeline_status(conn, days=args.days)
    finally:
        conn.close()
    from sinks.status import format_status

    print(format_status(st, days=args.days))
    return 0


def _cmd_match_text(args) -> int:
    from cluewatch.textmatch_cli import run_match_text

    return run_match_text(args.registry, args.input, sys.stdout, sys.stderr)


def _cmd_eval_text(args) -> int:
    from cluewatch.textmatch_cli import run_eval_text

    return run_eval_text(args.registry, args.labels, sys.stdout)


def _cmd_match_logo(args) -> int:
    from cluewatch.logomatch_cli import run_match_logo

    return run_match_logo(args.registry, args.input, sys.stdout, sys.stderr, args.detector)


def _cmd_eval_logo(args) -> int:
    from cluewatch.logomatch_cli import run_eval_logo

    return run_eval_logo(args.labels, args.registry, sys.stdout, sys.stderr,
                         tuple(args.detector or ("default", "baseline")), args.limit, args.registry_size,
                         args.curve)


def _cmd_extract(args) -> int:
    from crawlers.extract_batch import run_extract

    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            return run_extract(args.input, out, err=sys.stderr)
    return run_extract(args.input, sys.stdout, err=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cluewatch",
        description="Counterfeit-clue monitoring: crawl listings, detect infringements, publish to Kafka.",
        epilog="Settings come from the environment: CLUEWATCH_HOME, CLUEWATCH_DATABASE_URL, "
               "CLUEWATCH_KAFKA_BOOTSTRAP, CLUEWATCH_SOURCES (see README.md).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="run crawl → detect → publish once through the Airflow DAGs on "
                                     "embedded PostgreSQL, a local Kafka broker and the demo sites")
    p.set_defaults(func=_cmd_demo)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    p = db.add_parser("upgrade", help="apply Alembic migrations to the latest revision")
    p.set_defaults(func=_cmd_db_upgrade)

    reg = sub.add_parser("registry", help="the registry of protected marks and GIs").add_subparsers(
        dest="registry_command", required=True)
    p = reg.add_parser("check", help="validate a registry YAML; prints FILE:LINE: reason per problem")
    p.add_argument("file")
    p.set_defaults(func=_cmd_registry_check)
    p = reg.add_parser("load", help="validate and load a registry YAML into the database")
    p.add_argument("file")
    p.set_defaults(func=_cmd_registry_load)

    match = sub.add_parser("match", help="offline batch matching (JSONL in, JSONL out)").add_subparsers(
        dest="match_command", required=True)
    p = match.add_parser("text", help="find registered word marks (and their 山寨 variants) in titles")
    p.add_argument("--registry", required=True, help="registry YAML")
    p.add_argument("--input", required=True, help='JSONL: {"id", "title", "seller"?, "category"?} per line')
    p.set_defaults(func=_cmd_match_text)
    p = match.add_parser("logo", help="find registered logos in images (boxes in the image's pixels)")
    p.add_argument("--registry", required=True, help="registry YAML (marks with logos)")
    p.add_argument("--input", required=True, help='JSONL: {"id", "image"} per line; paths relative to the file')
    p.add_argument("--detector", choices=("default", "baseline"), default="default",
                   help="default: detectors.logo.detect; baseline: the per-logo SIFT tutorial recipe")
    p.set_defaults(func=_cmd_match_logo)

    ev = sub.add_parser("eval", help="measure a detector on labelled data").add_subparsers(
        dest="eval_command", required=True)
    p = ev.add_parser("text", help="precision, recall and F1 of the text detector, overall and per variant kind")
    p.add_argument("--registry", required=True, help="registry YAML")
    p.add_argument("--labels", required=True, help="labelled JSONL (see tests/data/text_eval/README.md)")
    p.set_defaults(func=_cmd_eval_text)
    p = ev.add_parser("logo", help="precision, recall, mean IoU and time per image of the logo detectors")
    p.add_argument("--labels", required=True, help="labels.jsonl of a logo evaluation set (docs/logo-detector.md)")
    p.add_argument("--registry", help="registry YAML (default: registry.yaml beside the labels)")
    p.add_argument("--detector", action="append", choices=("default", "baseline"),
                   help="detector to measure; repeat for several (default: both, side by side)")
    p.add_argument("--limit", type=int, help="only the first N images")
    p.add_argument("--registry-size", type=int, metavar="N",
                   help="split the registry into registries of N logos, measure each on every image and pool "
                        "the results (a logo outside a registry counts as unregistered for it): how a small "
                        "registry fares; costs one run per registry")
    p.add_argument("--curve", metavar="FILE.svg",
                   help="also draw the detectors' precision–recall curves (every score threshold) into this SVG")
    p.set_defaults(func=_cmd_eval_logo)

    p = sub.add_parser("extract", help="extract listing fields from saved pages (nothing is fetched)")
    p.add_argument("--input", required=True, help='JSONL: {"id", "url", "html_path"} per line')
    p.add_argument("--output", help="write JSONL here instead of stdout")
    p.set_defaults(func=_cmd_extract)

    p = sub.add_parser("status", help="outbox backlog, last crawl per source, suspects per day, task failures, takedown checks")
    p.add_argument("--days", type=int, default=7, help="days of suspects to count (default 7)")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("detect", help="score listing versions not yet scored (what the detect DAG runs)")
    p.set_defaults(func=_cmd_detect)

    p = sub.add_parser("relay", help="relay the outbox to Kafka (continuously, or --once)")
    p.add_argument("--once", action="store_true", help="relay what is pending and exit")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls of an empty outbox (default 1)")
    p.add_argument("--batch-size", type=int, default=2000, help="rows claimed per batch (default 2000)")
    p.add_argument("--processes", default="auto", metavar="N|auto",
                   help="relay worker processes, each on its own shard of keys (per-key order kept); "
                        "a dead worker is reported and restarted. auto (default) = min(2, CPUs)")
    p.set_defaults(func=_cmd_relay)

    p = sub.add_parser("consume", help="reference consumer: a topic into stdout JSONL or PostgreSQL, "
                                       "de-duplicated by event_id, offsets committed after each batch")
    p.add_argument("--topic", required=True, help="e.g. cluewatch.suspects.v1")
    p.add_argument("--group", default="cluewatch-case-system", help="consumer group (default cluewatch-case-system)")
    p.add_argument("--sink", choices=("stdout", "postgres"), default="stdout",
                   help="stdout: JSONL (de-dup within --seen events); postgres: table consumed_events "
                        "in CLUEWATCH_DATABASE_URL (exact de-dup)")
    p.add_argument("--from-beginning", action="store_true",
                   help="start at the oldest message when the group has no committed offset yet")
    p.add_argument("--max-messages", type=int, help="stop after this many messages")
    p.add_argument("--idle-timeout", type=float, help="stop after this many seconds without a message")
    p.add_argument("--seen", type=int, default=100_000, help="stdout sink: event ids remembered for de-dup")
    p.set_defaults(func=_cmd_consume)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message = _operational_error(exc)
        if message is None:
            raise
        print(f"cluewatch {args.command}: {message}", file=sys.stderr)
        return 1


def _operational_error(exc: Exception) -> str | None:
    """A one-line message for failures of the environment (not bugs): no traceback for those."""
    import psycopg2

    from cluewatch.yaml_loader import ConfigError

    if isinstance(exc, psycopg2.OperationalError):
        return f"cannot use PostgreSQL: {str(exc).strip().splitlines()[0]} (check CLUEWATCH_DATABASE_URL)"
    if isinstance(exc, ConfigError):
        return str(exc)
    names = {type(c).__name__ for c in type(exc).__mro__}
    if names & {"KafkaUnavailable", "KafkaBrokerError", "RelayError", "ServiceNotConfigured"}:
        return str(exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
