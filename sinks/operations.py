"""What operators need to see about the pipeline itself: tasks that finally failed, and the outcome
of takedown checks (recrawls of confirmed listings). Tables from migration 0003_operations."""
from __future__ import annotations

TAKEDOWN_STATUSES = ("removed", "still_live", "error")


def record_failure(conn, *, dag_id: str, task_id: str, run_id: str | None = None, map_index: int = -1,
                   try_number: int | None = None, error: str = "") -> int:
    """One row per task that finally failed (after its retries); returns its id. Caller commits."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO pipeline_failures (dag_id, task_id, run_id, map_index, try_number, error)
               VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
            (dag_id, task_id, run_id, -1 if map_index is None else map_index, try_number, (error or "")[-4000:]))
        return cur.fetchone()[0]


def recent_failures(conn, *, days: int = 7, limit: int = 20) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT id, dag_id, task_id, run_id, map_index, try_number, failed_at, error
               FROM pipeline_failures WHERE failed_at >= now() - make_interval(days => %s)
               ORDER BY failed_at DESC, id DESC LIMIT %s""", (days, limit))
        keys = ("id", "dag_id", "task_id", "run_id", "map_index", "try_number", "failed_at", "error")
        return [dict(zip(keys, row)) for row in cur.fetchall()]


def record_takedown_check(conn, *, suspect_id: int, listing_id: int, url: str, status: str,
                          http_status: int | None = None, detail: str | None = None) -> int:
    if status not in TAKEDOWN_STATUSES:
        raise ValueError(f"takedown check status must be one of {TAKEDOWN_STATUSES}, not {status!r}")
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO takedown_checks (suspect_id, listing_id, url, status, http_status, detail)
               VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
            (suspect_id, listing_id, url, status, http_status, detail))
        return cur.fetchone()[0]


def latest_takedown_checks(conn, *, limit: int = 20) -> list[dict]:
    """The latest check of each confirmed suspect, most recent first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT ON (c.suspect_id) c.suspect_id, c.url, c.checked_at, c.status,
                      c.http_status, c.detail
               FROM takedown_checks c ORDER BY c.suspect_id, c.checked_at DESC, c.id DESC""")
        keys = ("suspect_id", "url", "checked_at", "status", "http_status", "detail")
        rows = [dict(zip(keys, row)) for row in cur.fetchall()]
    rows.sort(key=lambda r: r["checked_at"], reverse=True)
    return rows[:limit]
