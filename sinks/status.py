"""What an operator asks first: is the outbox draining, did each source crawl, how many suspects."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PipelineStatus:
    outbox_pending: int = 0
    outbox_quarantined: int = 0
    oldest_pending_seconds: float | None = None
    last_crawls: list[dict] = field(default_factory=list)   # per source: last finished run
    suspects_per_day: list[tuple[str, int]] = field(default_factory=list)


def pipeline_status(conn, *, days: int = 7) -> PipelineStatus:
    status = PipelineStatus()
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FILTER (WHERE quarantined_at IS NULL),
                      count(*) FILTER (WHERE quarantined_at IS NOT NULL),
                      extract(epoch FROM now() - min(created_at) FILTER (WHERE quarantined_at IS NULL))
               FROM outbox WHERE published_at IS NULL""")
        status.outbox_pending, status.outbox_quarantined, oldest = cur.fetchone()
        status.oldest_pending_seconds = None if oldest is None else float(oldest)
        cur.execute(
            """SELECT s.id, r.finished_at, r.status, r.complete,
                      (SELECT count(*) FROM listings l WHERE l.source_id = s.id AND l.removed_at IS NULL)
               FROM sources s
               LEFT JOIN LATERAL (SELECT finished_at, status, complete FROM crawl_runs
                                  WHERE source_id = s.id AND finished_at IS NOT NULL
                                  ORDER BY finished_at DESC LIMIT 1) r ON true
               ORDER BY s.id""")
        status.last_crawls = [dict(source=s, finished_at=f, status=st, complete=c, live_listings=n)
                              for s, f, st, c, n in cur.fetchall()]
        cur.execute(
            """SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD'), count(*) FROM suspects
               WHERE created_at >= now() - make_interval(days => %s) GROUP BY 1 ORDER BY 1""",
            (days,))
        status.suspects_per_day = cur.fetchall()
    return status
