"""Crawl runs and recrawl bookkeeping: one crawl_runs row per crawl of a source, and the HTTP
validators (ETag / Last-Modified) of stored listing pages for conditional recrawls.

Removals are judged against runs (sinks.removals): only a finished, complete run may mark the
listings it did not see as removed.
"""
from __future__ import annotations

from psycopg2.extras import Json

RUN_STATUSES = ("running", "finished", "failed")


def start_run(conn, source_id: str) -> int:
    """A new `running` crawl run of `source_id`, in the caller's transaction; returns its id.

    Commit before the crawl starts: started_at (the transaction's now()) is the line that listings
    not seen since are judged against."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO crawl_runs (source_id) VALUES (%s) RETURNING id", (source_id,))
        return cur.fetchone()[0]


def finish_run(conn, run_id: int, status: str, complete: bool, stats: dict | None = None) -> None:
    """Close a run: status `finished` or `failed`; `complete` only for a finished run that reached
    every page it set out to (see crawlers.run: no failed list/seller/item page)."""
    if status not in ("finished", "failed"):
        raise ValueError(f"status must be finished or failed, not {status!r}")
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE crawl_runs SET finished_at = now(), status = %s, complete = %s, stats = %s
               WHERE id = %s AND status = 'running'""",
            (status, bool(complete) and status == "finished", Json(stats or {}), run_id),
        )
        if cur.rowcount != 1:
            raise ValueError(f"crawl run {run_id} does not exist or is not running")


def get_run(conn, run_id: int) -> dict | None:
    with conn.cursor() as cur:
        cur.execute("""SELECT id, source_id, started_at, finished_at, status, complete, stats
                       FROM crawl_runs WHERE id = %s""", (run_id,))
        row = cur.fetchone()
    if row is None:
        return None
    keys = ("id", "source_id", "started_at", "finished_at", "status", "complete", "stats")
    return dict(zip(keys, row))


def load_validators(conn, source_id: str) -> dict[str, tuple[str, str | None, str | None]]:
    """{listing url: (external_id, etag, last_modified)} for the source's listings not removed.

    Removed listings are included too: a 304 for one proves it is back (the server still has it)."""
    with conn.cursor() as cur:
        cur.execute("SELECT url, external_id, etag, last_modified FROM listings WHERE source_id = %s",
                    (source_id,))
        return {url: (external_id, etag, last_modified) for url, external_id, etag, last_modified in cur}


def touch_listing(conn, source_id: str, external_id: str) -> bool:
    """The listing was seen unchanged (a 304): move last_seen_at, clear removed_at, no new version."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE listings SET last_seen_at = now(), removed_at = NULL
               WHERE source_id = %s AND external_id = %s""",
            (source_id, str(external_id)),
        )
        return cur.rowcount == 1
