"""Takedown verification: recrawl the listings of confirmed suspects and record whether they are gone.

Per source, the source's own spider fetches just those listing pages (crawlers.spiders.base verify
mode: same SSRF guard, robots.txt, politeness, conditional requests) in a child process, and the
outcome of each is a takedown_checks row:
  removed     the page answers 404/410 (the crawler also marks the listing removed), or, for a
              product shown inline on a seller page, the page no longer has it
  still_live  the page answers 200 with the listing, or 304 (unchanged since it was stored)
  error       anything else (5xx after retries, a network error, robots.txt forbids it...):
              nothing is concluded, the next run checks again
"""
from __future__ import annotations

import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from cluewatch.jobs.observe import log_event
from sinks.db import transaction

VERIFY_TIMEOUT = timedelta(hours=1)


def confirmed_to_check(conn, *, source_id: str | None = None, suspect_id: int | None = None,
                       min_interval_hours: float = 20) -> list[dict]:
    """Confirmed suspects (optionally of one source / one suspect) not checked in the last
    `min_interval_hours`, with their listing's source, id and URL."""
    where, args = ["s.status = 'confirmed'"], []
    if source_id:
        where.append("l.source_id = %s")
        args.append(source_id)
    if suspect_id:
        where.append("s.id = %s")
        args.append(int(suspect_id))
    with conn.cursor() as cur:
        cur.execute(
            f"""SELECT s.id, l.id, l.source_id, l.external_id, l.url
                FROM suspects s JOIN listing_versions lv ON lv.id = s.listing_version_id
                JOIN listings l ON l.id = lv.listing_id
                WHERE {' AND '.join(where)}
                  AND NOT EXISTS (SELECT 1 FROM takedown_checks c WHERE c.suspect_id = s.id
                                  AND c.checked_at > now() - make_interval(secs => %s))
                ORDER BY s.id""", (*args, float(min_interval_hours) * 3600))
        keys = ("suspect_id", "listing_id", "source_id", "external_id", "url")
        return [dict(zip(keys, row)) for row in cur.fetchall()]


def judge(outcome: dict | None) -> tuple[str, int | None, str | None]:
    """(status, http status, detail) of one URL's outcome from the spider's verify report."""
    if not outcome:
        return "error", None, "no answer recorded (the recrawl did not reach this URL)"
    status, live, error = outcome.get("status"), outcome.get("live"), outcome.get("error")
    if status in (404, 410):
        return "removed", status, None
    if status == 200 and live is False:
        return "removed", status, "the page no longer shows this product"
    if status in (200, 304) and live:
        return "still_live", status, None
    return "error", status, error or f"HTTP {status}"


def verify_source(sources_path: Path, source_id: str, database_url: str, *, suspect_id: int | None = None,
                  min_interval_hours: float = 20, log=print, timeout: float | None = None,
                  settings: dict | None = None) -> dict:
    """Check the confirmed listings of one source; returns counts per status. `settings`: extra
    Scrapy settings for the recrawl (tests shorten timeouts and backoff)."""
    from crawlers.run import run_crawl_subprocess
    from sinks.operations import record_takedown_check
    from sinks.removals import mark_gone

    t0 = time.monotonic()
    with transaction(database_url) as conn:
        targets = confirmed_to_check(conn, source_id=source_id, suspect_id=suspect_id,
                                     min_interval_hours=min_interval_hours)
    counts = {"source": source_id, "checked": 0, "removed": 0, "still_live": 0, "error": 0}
    if not targets:
        log_event("verify_takedowns.done", seconds=round(time.monotonic() - t0, 3), **counts)
        return counts
    outcomes, failure = {}, None
    with tempfile.TemporaryDirectory(prefix="cluewatch-verify-") as tmp:
        report = Path(tmp) / "verify.json"
        try:
            run_crawl_subprocess(
                sources_path, source_id, database_url, log=log, processes=1,
                timeout=timeout or VERIFY_TIMEOUT.total_seconds(),
                settings={**(settings or {}), "CLUEWATCH_VERIFY_URLS": sorted({t["url"] for t in targets}),
                          "CLUEWATCH_VERIFY_REPORT": str(report)})
            outcomes = json.loads(report.read_text(encoding="utf-8"))["outcomes"]
        except Exception as e:  # the recrawl itself failed: every check is an error, none concluded
            failure = f"recrawl failed: {type(e).__name__}: {str(e)[-300:]}"
    with transaction(database_url) as conn:
        for t in targets:
            status, http_status, detail = judge(outcomes.get(t["url"])) if failure is None else ("error", None, failure)
            if status == "removed" and http_status == 200:
                # An inline product gone from a live seller page: no 404 told the crawler.
                mark_gone(conn, t["source_id"], t["external_id"])
            record_takedown_check(conn, suspect_id=t["suspect_id"], listing_id=t["listing_id"], url=t["url"],
                                  status=status, http_status=http_status, detail=detail)
            counts["checked"] += 1
            counts[status] += 1
    log_event("verify_takedowns.done", seconds=round(time.monotonic() - t0, 3), **counts)
    return counts
