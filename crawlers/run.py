"""Run one source's crawl: `python -m crawlers.run --sources FILE --source ID [--database-url URL]`.

Logs go to stderr; the last stdout line is one JSON object of crawl statistics:
{"source", "items_scraped", "stored_new_version", "unchanged", "dropped", "errors", "pages",
 "finish_reason", "complete", "page_failures", "not_modified", "listings_gone", "ssrf_refused",
 "robots_forbidden", "retries"} (plus "shards": N when crawled by N shard processes).
"complete" is true only when the crawl finished and no list / seller / item page finally failed
(download error or HTTP error after retries; a 404/410 item page is a removal, not a failure):
only such a crawl may mark the listings it did not see as removed (cluewatch.jobs.crawl).
`--set NAME=VALUE` (repeatable, value parsed as JSON when it parses) overrides a Scrapy setting.

`--processes N` (or the crawl setting CLUEWATCH_CRAWL_PROCESSES; 0 = "auto" = min(2, CPUs)) crawls
the source with N child processes `--shard K/N`: each walks every list / search / seller page but
follows only the item pages whose stable URL hash % N == K (crawlers.spiders.base.shard_of), with the
source's per-domain concurrency divided by N and its download delay multiplied by N, so the site sees
the same politeness as from one process. This process then prints the merged statistics: sums of
the counters, "complete" only if every shard was complete, "shards" = N.
Exit 0 when the crawl finished, 1 when it did not finish cleanly, 2 when it could not start.

Twisted's reactor cannot be restarted inside one process, so long-lived callers (the Airflow task,
the demo) use `run_crawl_subprocess`, which runs this module in a child process.
"""
from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import math
import signal
import subprocess
import sys
import threading
from pathlib import Path

DATABASE_URL_ENV = "CLUEWATCH_DATABASE_URL"


def spider_for(kind: str):
    from crawlers.spiders.ecommerce import EcommerceSpider
    from crawlers.spiders.market import MarketSpider
    from crawlers.spiders.tradefair import TradeFairSpider

    return {"ecommerce": EcommerceSpider, "tradefair": TradeFairSpider, "market": MarketSpider}[kind]


def crawl_settings(source, *, database_url: str | None = None, output: str | None = None, shards: int = 1):
    """crawlers.settings plus this source's politeness values, the store and an optional JSONL feed.

    With `shards` > 1 (this process is one of that many crawling the source) the per-domain
    concurrency is divided and the download delay multiplied, so the politeness stays the same."""
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    settings.set("CONCURRENT_REQUESTS_PER_DOMAIN", max(1, math.ceil(source.concurrency / shards)),
                 priority="cmdline")
    settings.set("CONCURRENT_REQUESTS", max(1, math.ceil(settings.getint("CONCURRENT_REQUESTS") / shards)),
                 priority="cmdline")
    settings.set("DOWNLOAD_DELAY", source.download_delay * shards, priority="cmdline")
    # robots.txt is obeyed unless the source says otherwise in writing (checked by cluewatch.sources).
    settings.set("ROBOTSTXT_OBEY", bool(source.obey_robots_txt), priority="cmdline")
    settings.set("CLUEWATCH_ALLOW_PRIVATE_ADDRESSES", bool(source.allow_private_addresses), priority="cmdline")
    if not source.download_delay:
        # An explicit 0 delay (loopback fixtures) means "as fast as allowed"; AutoThrottle would
        # otherwise start every crawl at AUTOTHROTTLE_START_DELAY per request.
        settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")
    if database_url:
        settings.set("CLUEWATCH_DATABASE_URL", database_url, priority="cmdline")
    if output:
        settings.set("FEEDS", {str(output): {"format": "jsonlines", "encoding": "utf-8", "overwrite": True}},
                     priority="cmdline")
    from crawlers.rendering import render_settings  # `render: true`: Chromium via scrapy-playwright
    settings.setdict(render_settings(source, settings), priority="cmdline")
    _drop_disabled_components(settings)
    return settings


_COMPONENT_MAPS = ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES")


def _drop_disabled_components(settings) -> None:
    """Remove the components our settings disable (None) from Scrapy's *_BASE maps too.

    Scrapy imports every class named in a component map or its base while merging them, even one
    set to None: the disabled RemoteControl extension imported aiohttp and the disabled cookies
    middleware tldextract, ~0.25 s of start-up per crawl process. Only names we disable are
    removed, so a component a newer Scrapy adds to its base still runs."""
    for name in _COMPONENT_MAPS:
        disabled = {key for key, value in settings.getdict(name).items() if value is None and isinstance(key, str)}
        if not disabled:
            continue
        for key in (f"{name}_BASE", name):  # absent from both = disabled, and never imported
            settings.set(key, {k: v for k, v in settings.getdict(key).items() if k not in disabled},
                         priority=settings.getpriority(key) or "default")


def page_failures(stats: dict) -> dict:
    """{page kind: count} of pages that finally failed (crawlers.middlewares.PageOutcomeMiddleware)."""
    prefix = "cluewatch/page_failed/"
    return {k[len(prefix):]: v for k, v in stats.items() if k.startswith(prefix) and k.count("/") == 2}


def summarize(source_id: str, stats: dict) -> dict:
    dropped = stats.get("item_dropped_count", 0)
    failures = page_failures(stats)
    return {
        "source": source_id,
        "items_scraped": stats.get("item_scraped_count", 0),
        "stored_new_version": stats.get("cluewatch/stored_new_version", 0),
        "unchanged": stats.get("cluewatch/unchanged", 0),
        "dropped": dropped,
        "errors": stats.get("log_count/ERROR", 0) + stats.get("log_count/CRITICAL", 0),
        "pages": stats.get("response_received_count", 0) - stats.get("robotstxt/response_count", 0),
        "finish_reason": stats.get("finish_reason"),
        "complete": stats.get("finish_reason") == "finished" and not any(failures.values()),
        "page_failures": failures,
        "page_failure_reasons": {k[len("cluewatch/page_failed/"):]: v for k, v in stats.items()
                                 if k.startswith("cluewatch/page_failed/") and k.count("/") == 3},
        "not_modified": stats.get("cluewatch/not_modified", 0),
        "listings_gone": stats.get("cluewatch/listing_gone", 0),
        "ssrf_refused": stats.get("cluewatch/ssrf_refused", 0),
        "robots_forbidden": stats.get("robotstxt/forbidden", 0),
        "retries": stats.get("retry/count", 0),
        "dropped_reasons": {k[len("cluewatch/dropped/"):]: v for k, v in stats.items()
                            if k.startswith("cluewatch/dropped/")},
    }


def merge_summaries(summaries: list[dict | None]) -> dict:
    """One crawl's statistics from its shards' (None for a shard that printed none): counters and
    per-reason dicts summed; complete only if every shard finished and was complete."""
    merged: dict = {}
    for summary in summaries:
        for key, value in (summary or {}).items():
            if isinstance(value, bool) or key in ("source", "finish_reason", "complete"):
                continue
            if isinstance(value, (int, float)):
                merged[key] = merged.get(key, 0) + value
            elif isinstance(value, dict):
                into = merged.setdefault(key, {})
                for k, v in value.items():
                    into[k] = into.get(k, 0) + v
    present = [s for s in summaries if s]
    merged["source"] = present[0]["source"] if present else None
    reasons = [s.get("finish_reason") if s else "shard_failed" for s in summaries]
    merged["finish_reason"] = next((r for r in reasons if r != "finished"), "finished")
    merged["complete"] = bool(summaries) and all(s and s.get("complete") for s in summaries)
    merged["shards"] = len(summaries)
    return merged


def _die_with_parent() -> None:
    """preexec_fn of a shard: killed when the coordinating process dies (a timeout's kill())."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # not Linux: the shard outlives a killed parent, as a lone crawl would
        pass


def run_shards(argv: list[str], processes: int, output: str | None) -> int:
    """Run `python -m crawlers.run <argv> --shard K/processes` for every K at once; print the merged
    statistics; concatenate the shards' JSONL feeds into `output`. Exit 1 if any shard failed."""
    procs, parts = [], []
    for k in range(processes):
        cmd = [sys.executable, "-m", "crawlers.run", *argv, "--shard", f"{k}/{processes}"]
        if output is not None:
            parts.append(f"{output}.shard{k}")
            cmd += ["--output", parts[-1]]
        # stderr (the log) goes straight to ours; stdout ends with the shard's statistics.
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, encoding="utf-8",
                                      errors="replace", preexec_fn=_die_with_parent))
    outputs = [None] * processes

    def read(i):
        outputs[i] = procs[i].stdout.read()

    readers = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(processes)]
    for t in readers:
        t.start()
    try:
        codes = [p.wait() for p in procs]
    except BaseException:
        for p in procs:
            p.kill()
        raise
    for t in readers:
        t.join()
    summaries = [_last_json(out.splitlines()) if out else None for out in outputs]
    merged = merge_summaries(summaries)
    if output is not None:
        with open(output, "wb") as dst:
            for part in parts:
                try:
                    with open(part, "rb") as src:
                        dst.write(src.read())
                    os.unlink(part)
                except FileNotFoundError:
                    pass
    print(json.dumps(merged, ensure_ascii=False), flush=True)
    failed = [k for k, code in enumerate(codes) if code != 0]
    if failed:
        print(f"crawlers.run: shard(s) {', '.join(f'{k}/{processes}' for k in failed)} of "
              f"{merged['source']!r} failed (exit {', '.join(str(codes[k]) for k in failed)})", file=sys.stderr)
        return 1
    return 0


def _processes(value) -> int:
    """A process count: N >= 1, or 0 / "auto" = min(2, CPUs)."""
    if value in ("auto", 0, "0", None):
        return max(1, min(2, os.cpu_count() or 1))
    n = int(value)
    if n < 0:
        raise ValueError(f"processes {value!r}: expected N >= 0 or auto")
    return n or max(1, min(2, os.cpu_count() or 1))


def _setting_value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def registry_queries(database_url: str) -> list[str]:
    """Every registered name of the marks in the database's active registry (search_queries: registry)."""
    from sinks.db import connect
    from sinks.registry_store import load_active_registry

    conn = connect(database_url)
    try:
        registry = load_active_registry(conn)
    finally:
        conn.close()
    if registry is None:
        return []
    return list(dict.fromkeys(name for mark in registry.marks for name in mark.names))


def _fail(message: str) -> int:
    print(f"crawlers.run: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers.run", description=__doc__.split("\n")[0])
    parser.add_argument("--sources", required=True, help="sources.yaml")
    parser.add_argument("--source", required=True, help="id of the source to crawl")
    parser.add_argument("--database-url", default=None,
                        help=f"store listings in this PostgreSQL (default: ${DATABASE_URL_ENV}; unset = not stored)")
    parser.add_argument("--output", default=None, help="also write the items to this JSON Lines file")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a Scrapy setting (value parsed as JSON if it parses)")
    parser.add_argument("--processes", default=None, metavar="N",
                        help="crawl with N shard processes (0 or auto: min(2, CPUs); default: the "
                             "CLUEWATCH_CRAWL_PROCESSES setting)")
    parser.add_argument("--shard", default=None, metavar="K/N",
                        help="be shard K of N: follow only the item pages whose URL hash %% N == K")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    argv = list(argv if argv is not None else sys.argv[1:])

    from cluewatch.sources import load_sources
    from cluewatch.yaml_loader import ConfigError

    try:
        sources = load_sources(args.sources)
    except ConfigError as e:
        return _fail(f"invalid sources file:\n{e}")  # one FILE:LINE: reason line per problem
    except OSError as e:
        return _fail(f"{args.sources}: {e.strerror or e}")
    source = next((s for s in sources if s.id == args.source), None)
    if source is None:
        known = ", ".join(s.id for s in sources) or "none"
        return _fail(f"unknown source id {args.source!r} in {args.sources} (known: {known})")

    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name:
            return _fail(f"--set {item!r}: expected NAME=VALUE")
        overrides[name] = _setting_value(value)
    shard = None
    try:
        if args.shard is not None:
            from crawlers.spiders.base import parse_shard  # scrapy: not imported by a coordinator

            shard = parse_shard(args.shard)
        else:
            from crawlers import settings as project_settings

            processes = _processes(args.processes if args.processes is not None else overrides.get(
                "CLUEWATCH_CRAWL_PROCESSES", getattr(project_settings, "CLUEWATCH_CRAWL_PROCESSES", 1)))
    except ValueError as e:
        return _fail(str(e))
    if shard is None and processes > 1:
        child_argv = _without_options(argv, ("--processes", "--output"))
        return run_shards(child_argv, processes, args.output)

    from scrapy.crawler import CrawlerProcess

    database_url = args.database_url or os.environ.get(DATABASE_URL_ENV) or None
    search_queries = None
    if source.search_url and source.search_queries == "registry":
        if not database_url:
            return _fail(f"source {source.id!r} has search_queries: registry, which needs the database "
                         f"(--database-url or ${DATABASE_URL_ENV})")
        try:
            search_queries = registry_queries(database_url)
        except Exception as e:  # psycopg2.Error and friends: say it in one line
            return _fail(f"cannot read the registry for {source.id!r}: {type(e).__name__}: {e}".strip())
        if not search_queries:
            print(f"crawlers.run: no registry loaded: {source.id!r} searches nothing", file=sys.stderr)
    from crawlers.rendering import RenderingUnavailable

    try:
        settings = crawl_settings(source, database_url=database_url, output=args.output,
                                  shards=shard[1] if shard else 1)
    except RenderingUnavailable as e:
        return _fail(str(e))
    for name, value in overrides.items():
        settings.set(name, value, priority="cmdline")
    process = CrawlerProcess(settings)
    log = logging.getLogger("crawlers.run")
    if source.obey_robots_txt:
        log.info("source %s: robots.txt obeyed", source.id)
    else:
        log.warning("source %s: robots.txt NOT obeyed — reason given in sources.yaml: %s",
                    source.id, source.robots_txt_override_reason)
    if search_queries is not None:
        log.info("source %s: %d search queries from the registry", source.id, len(search_queries))
    crawler = process.create_crawler(spider_for(source.kind))
    failures = []

    def record_failure(failure):
        # E.g. the store cannot connect in open_spider. Handled here, so Twisted does not also
        # print an "Unhandled error in Deferred" traceback at exit.
        failures.append(failure)
        logging.getLogger("crawlers.run").error("crawl failed", exc_info=failure.value)

    if shard is not None:
        log.info("source %s: shard %d/%d", source.id, *shard)
    process.crawl(crawler, source=source, search_queries=search_queries, shard=shard).addErrback(record_failure)
    process.start()
    summary = summarize(source.id, crawler.stats.get_stats() if crawler.stats else {})
    summary["errors"] += len(failures)  # logged after the stats were dumped
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    if failures:
        reason = failures[0].value
        first_line = (str(reason).strip().splitlines() or [""])[0]
        print(f"crawlers.run: crawl of {source.id!r} failed: {type(reason).__name__}: {first_line}",
              file=sys.stderr)
        return 1
    if summary["finish_reason"] != "finished":
        print(f"crawlers.run: crawl of {source.id!r} did not finish cleanly "
              f"(finish_reason={summary['finish_reason']!r}); see the log above", file=sys.stderr)
        return 1
    return 0


def _without_options(argv: list[str], names: tuple[str, ...]) -> list[str]:
    """argv without the options `names` (as "--name value" or "--name=value")."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg in names:
            skip = True
        elif not any(arg.startswith(n + "=") for n in names):
            out.append(arg)
    return out


def run_crawl_subprocess(sources_file, source_id: str, database_url: str | None, *, log=print,
                         output=None, timeout: float | None = None, settings: dict | None = None,
                         processes: int | str | None = None) -> dict:
    """Crawl one source in a child process; stream its log lines to `log`; return its stats dict.

    `processes` > 1 (or "auto") crawls with that many shard processes (see the module doc) and
    returns their merged statistics; None = the CLUEWATCH_CRAWL_PROCESSES setting.

    The database URL travels in the child's environment, not its command line (where `ps` would
    show the password). With database_url=None nothing is stored, even if the parent has
    CLUEWATCH_DATABASE_URL set. Raises RuntimeError with the tail of the log on failure.
    """
    cmd = [sys.executable, "-m", "crawlers.run", "--sources", str(Path(sources_file)), "--source", source_id]
    if output is not None:
        cmd += ["--output", str(output)]
    if processes is not None:
        cmd += ["--processes", str(processes)]
    for name, value in (settings or {}).items():
        cmd += ["--set", f"{name}={json.dumps(value)}"]
    env = dict(os.environ)
    env.pop(DATABASE_URL_ENV, None)
    if database_url:
        env[DATABASE_URL_ENV] = database_url
    env.setdefault("PYTHONIOENCODING", "utf-8")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            text=True, encoding="utf-8", errors="replace")
    stdout: list[str] = []
    reader = threading.Thread(target=lambda: stdout.extend(proc.stdout), daemon=True)
    reader.start()
    tail: collections.deque[str] = collections.deque(maxlen=30)
    timer = threading.Timer(timeout, proc.kill) if timeout else None
    if timer:
        timer.start()
    try:
        for line in proc.stderr:
            line = line.rstrip("\n")
            tail.append(line)
            log(line)
        returncode = proc.wait()
        reader.join()
    finally:
        if timer:
            timer.cancel()
    stats = _last_json(stdout)
    if returncode != 0 or stats is None:
        detail = "\n".join(tail) or "".join(stdout)[-2000:]
        raise RuntimeError(f"crawl of {source_id!r} failed (exit {returncode}):\n{detail}")
    return stats


def _last_json(lines: list[str]) -> dict | None:
    for line in reversed(lines):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


if __name__ == "__main__":
    sys.exit(main())
