"""Listings that disappeared: how a takedown is later verified.

Two kinds of evidence:
- the listing's own page answers 404 / 410 (`mark_gone`, at once, whatever else the crawl did);
- a finished, complete crawl run did not see it (`mark_removed`): its last_seen_at is older than
  the run's start. An incomplete run (a list page failed, the crawl was cut short) proves nothing,
  so it marks nothing.
A listing seen again is un-removed (sinks.listings.store_listing, sinks.crawl_runs.touch_listing).
"""
from __future__ import annotations


class RunNotJudgeable(ValueError):
    """The run is not finished and complete: its unseen listings are not evidence of removal."""


def mark_removed(conn, source_id: str, run_id: int) -> int:
    """Mark removed the listings of `source_id` not seen since run `run_id` started; return how many.

    Does nothing (returns 0) unless the run belongs to the source and is finished and complete."""
    with conn.cursor() as cur:
        cur.execute("SELECT source_id, started_at, status, complete FROM crawl_runs WHERE id = %s",
                    (run_id,))
        row = cur.fetchone()
        if row is None:
            raise ValueError(f"no crawl run {run_id}")
        run_source, started_at, status, complete = row
        if run_source != source_id:
            raise ValueError(f"crawl run {run_id} is of source {run_source!r}, not {source_id!r}")
        if status != "finished" or not complete:
            return 0
        cur.execute(
            """UPDATE listings SET removed_at = now()
               WHERE source_id = %s AND removed_at IS NULL AND last_seen_at < %s""",
            (source_id, started_at),
        )
        return cur.rowcount


def mark_gone(conn, source_id: str, external_id: str) -> bool:
    """The listing's page answered 404/410: mark it removed now (True if it was not already)."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE listings SET removed_at = now()
               WHERE source_id = %s AND external_id = %s AND removed_at IS NULL""",
            (source_id, str(external_id)),
        )
        return cur.rowcount == 1
