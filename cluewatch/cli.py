"""cluewatch command line. Run `cluewatch --help` or `cluewatch COMMAND --help`."""
from __future__ import annotations

import argparse
import logging
import sys
import time


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


def _cmd_relay(args) -> int:
    from cluewatch.jobs.publish import publish_outbox
    from cluewatch.runtime import ServiceNotConfigured, database_url, kafka_bootstrap
    from sinks.db import connect
    from sinks.relay import RelayError

    try:
        bootstrap = kafka_bootstrap()
    except ServiceNotConfigured as exc:
        print(f"cluewatch relay: {exc}", file=sys.stderr)
        return 2
    conn = connect(database_url())
    try:
        while True:
            try:
                stats = publish_outbox(conn, bootstrap)
                if stats.published or stats.failed:
                    print(f"published {stats.published}, failed {stats.failed}", flush=True)
            except RelayError as exc:
                # The rows stay in the outbox; the next round retries them.
                print(f"cluewatch relay: {exc}", file=sys.stderr, flush=True)
                if args.once:
                    return 1
            if args.once:
                return 0
            time.sleep(args.interval)
    finally:
        conn.close()


def _cmd_status(args) -> int:
    from cluewatch.runtime import database_url
    from sinks.db import connect
    from sinks.status import pipeline_status

    conn = connect(database_url())
    try:
        st = pipeline_status(conn, days=args.days)
    finally:
        conn.close()
    age = "" if st.oldest_pending_seconds is None else f", oldest waiting {st.oldest_pending_seconds:.0f} s"
    print(f"outbox: {st.outbox_pending} events to publish{age}; {st.outbox_quarantined} quarantined")
    print("last crawl per source:")
    for c in st.last_crawls:
        when = c["finished_at"].isoformat(timespec="seconds") if c["finished_at"] else "never"
        state = "" if c["status"] is None else f" {c['status']}{'' if c['complete'] else ' (incomplete)'}"
        print(f"  {c['source']:20s} {when}{state}; {c['live_listings']} live listings")
    print(f"suspects per day (last {args.days} days):")
    for day, n in st.suspects_per_day:
        print(f"  {day} {n}")
    return 0


def _cmd_match_text(args) -> int:
    from cluewatch.textmatch_cli import run_match_text

    return run_match_text(args.registry, args.input, sys.stdout, sys.stderr)


def _cmd_eval_text(args) -> int:
    from cluewatch.textmatch_cli import run_eval_text

    return run_eval_text(args.registry, args.labels, sys.stdout)


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

    ev = sub.add_parser("eval", help="measure a detector on labelled data").add_subparsers(
        dest="eval_command", required=True)
    p = ev.add_parser("text", help="precision, recall and F1 of the text detector, overall and per variant kind")
    p.add_argument("--registry", required=True, help="registry YAML")
    p.add_argument("--labels", required=True, help="labelled JSONL (see tests/data/text_eval/README.md)")
    p.set_defaults(func=_cmd_eval_text)

    p = sub.add_parser("extract", help="extract listing fields from saved pages (nothing is fetched)")
    p.add_argument("--input", required=True, help='JSONL: {"id", "url", "html_path"} per line')
    p.add_argument("--output", help="write JSONL here instead of stdout")
    p.set_defaults(func=_cmd_extract)

    p = sub.add_parser("status", help="outbox backlog, last crawl per source, suspects per day")
    p.add_argument("--days", type=int, default=7, help="days of suspects to count (default 7)")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("detect", help="score listing versions not yet scored (what the detect DAG runs)")
    p.set_defaults(func=_cmd_detect)

    p = sub.add_parser("relay", help="relay the outbox to Kafka (continuously, or --once)")
    p.add_argument("--once", action="store_true", help="relay what is pending and exit")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between rounds (default 5)")
    p.set_defaults(func=_cmd_relay)
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
