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
    failures: list[dict] = field(default_factory=list)      # tasks that finally failed, latest first
    takedown_checks: list[dict] = field(default_factory=list)  # latest check per confirmed suspect
    takedown_totals: dict[str, int] = field(default_factory=dict)  # latest outcome → suspects


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
                      (SELECT count(*) FROM listings l WHERE l.source_id = s.id AND l.removed_at IS NULL),
                      ok.finished_at
               FROM sources s
               LEFT JOIN LATERAL (SELECT finished_at, status, complete FROM crawl_runs
                                  WHERE source_id = s.id AND finished_at IS NOT NULL
                                  ORDER BY finished_at DESC LIMIT 1) r ON true
               LEFT JOIN LATERAL (SELECT finished_at FROM crawl_runs
                                  WHERE source_id = s.id AND status = 'finished'
                                  ORDER BY finished_at DESC LIMIT 1) ok ON true
               ORDER BY s.id""")
        status.last_crawls = [dict(source=s, finished_at=f, status=st, complete=c, live_listings=n,
                                   last_success_at=ok)
                              for s, f, st, c, n, ok in cur.fetchall()]
        cur.execute(
            """SELECT to_char(date_trunc('day', created_at), 'YYYY-MM-DD'), count(*) FROM suspects
               WHERE created_at >= now() - make_interval(days => %s) GROUP BY 1 ORDER BY 1""",
            (days,))
        status.suspects_per_day = cur.fetchall()
    from sinks.operations import latest_takedown_checks, recent_failures

    status.failures = recent_failures(conn, days=days)
    checks = latest_takedown_checks(conn, limit=10_000)
    status.takedown_checks = checks[:10]
    for c in checks:
        status.takedown_totals[c["status"]] = status.takedown_totals.get(c["status"], 0) + 1
    return status


def _when(ts) -> str:
    return ts.isoformat(timespec="seconds") if ts else "never"


def format_status(st: PipelineStatus, days: int = 7) -> str:
    """The text `cluewatch status` prints."""
    lines = []
    age = "" if st.oldest_pending_seconds is None else f", oldest waiting {st.oldest_pending_seconds:.0f} s"
    lines.append(f"outbox: {st.outbox_pending} events to publish{age}; {st.outbox_quarantined} quarantined")
    lines.append("last crawl per source:")
    for c in st.last_crawls:
        state = "" if c["status"] is None else f" {c['status']}{'' if c['complete'] else ' (incomplete)'}"
        ok = "" if c["status"] == "finished" else f"; last successful {_when(c.get('last_success_at'))}"
        lines.append(f"  {c['source']:20s} {_when(c['finished_at'])}{state}{ok}; {c['live_listings']} live listings")
    lines.append(f"suspects per day (last {days} days):")
    lines += [f"  {day} {n}" for day, n in st.suspects_per_day]
    lines.append(f"task failures (last {days} days, after retries): {len(st.failures)}")
    for f in st.failures[:10]:
        where = f"{f['dag_id']}.{f['task_id']}" + (f"[{f['map_index']}]" if f["map_index"] >= 0 else "")
        error = (f["error"] or "").splitlines()[0][:160] if f["error"] else ""
        lines.append(f"  {_when(f['failed_at'])} {where} try {f['try_number']} ({f['run_id']}): {error}")
    totals = ", ".join(f"{n} {k}" for k, n in sorted(st.takedown_totals.items())) or "none yet"
    lines.append(f"takedown checks (latest per confirmed suspect): {totals}")
    for c in st.takedown_checks:
        http = f" HTTP {c['http_status']}" if c["http_status"] else ""
        lines.append(f"  suspect #{c['suspect_id']:<5d} {_when(c['checked_at'])} {c['status']}{http}  {c['url']}")
    return "\n".join(lines)
