"""Detect step: score every current listing version not yet scored by this detector set and registry.

Per listing version, one transaction writes its findings, the fact that it was scored, and, when the
fused score crosses the threshold, the suspect and its outbox event — so nothing is half-recorded.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import psycopg2.extras
from psycopg2.extras import Json

from cluewatch.model import Registry
from cluewatch.settings import SUSPECTS_TOPIC
from detectors import fusion, wordmark
from sinks import outbox
from sinks.messages import suspect_message
from sinks.registry_store import load_active_registry

log = logging.getLogger(__name__)

# Each detector module exposes DETECTOR, VERSION and detect(listing: dict, marks) -> list[Finding].
DETECTORS = (wordmark,)


class NoRegistry(RuntimeError):
    """Detection needs a registry: load one with `cluewatch registry load FILE`."""


@dataclass
class DetectStats:
    scored: int = 0
    findings: int = 0
    new_suspects: int = 0
    errors: int = 0
    suspect_ids: list[int] = field(default_factory=list)


def _detector_keys() -> list[str]:
    return [f"{d.DETECTOR}:{d.VERSION}" for d in DETECTORS]


def _pending(conn, registry_sha: str, limit: int) -> list[dict]:
    keys = _detector_keys()
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(
            """SELECT l.id AS listing_id, lv.id AS version_id, l.source_id AS source, l.external_id,
                      lv.*,
                      ARRAY(SELECT url FROM listing_images i WHERE i.listing_version_id = lv.id
                            ORDER BY position) AS image_urls
               FROM listings l JOIN listing_versions lv ON lv.id = l.current_version_id
               WHERE l.removed_at IS NULL
                 AND (SELECT count(*) FROM detection_runs r
                      WHERE r.listing_version_id = lv.id AND r.registry_sha256 = %s
                        AND r.detector || ':' || r.detector_version = ANY(%s)) < %s
               ORDER BY lv.id LIMIT %s""",
            (registry_sha, keys, len(keys), limit),
        )
        return [dict(r) for r in cur.fetchall()]


def _record(conn, listing: dict, findings, registry: Registry, stats: DetectStats) -> None:
    reg_nos = {m.id: m.reg_no for m in registry.marks}
    with conn.cursor() as cur:
        for f in findings:
            cur.execute(
                """INSERT INTO findings (listing_version_id, detector, detector_version, mark_id,
                       score, reason, evidence) VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT DO NOTHING""",
                (listing["version_id"], f.detector, f.detector_version, f.mark_id or "", f.score,
                 f.reason, Json(f.evidence)),
            )
        for d in DETECTORS:
            cur.execute(
                "INSERT INTO detection_runs VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (listing["version_id"], d.DETECTOR, d.VERSION, registry.sha256),
            )
        stats.findings += len(findings)
        if not fusion.is_suspect(findings):
            return
        score = fusion.fuse(findings)
        reasons = [f.reason for f in findings]
        cur.execute(
            """INSERT INTO suspects (listing_version_id, score, reasons) VALUES (%s, %s, %s)
               ON CONFLICT (listing_version_id) DO NOTHING RETURNING id, created_at""",
            (listing["version_id"], score, reasons),
        )
        row = cur.fetchone()
        if row is None:  # already a suspect (e.g. re-scored under a new registry): no second event
            return
        suspect_id, created_at = row
        signals = [dict(detector=f.detector, detector_version=f.detector_version, mark_id=f.mark_id,
                        reg_no=reg_nos.get(f.mark_id), score=f.score, reason=f.reason,
                        evidence=f.evidence) for f in findings]
        message = suspect_message(suspect_id=suspect_id, score=score, reasons=reasons,
                                  listing=listing, signals=signals, occurred_at=created_at)
        outbox.enqueue(conn, SUSPECTS_TOPIC, str(listing["listing_id"]), message)
        stats.new_suspects += 1
        stats.suspect_ids.append(suspect_id)


def sync_registry_file(conn, path) -> dict:
    """Load the registry file into the database if its contents changed (a new registry version,
    which makes every current listing version pending again)."""
    from cluewatch.registry import load_registry
    from sinks.registry_store import save_registry

    registry = load_registry(path)
    loaded = save_registry(conn, registry)
    conn.commit()
    return {"file": str(path), "sha256": registry.sha256, "marks": len(registry.marks), "loaded": loaded}


def detect_pending(conn, *, batch_size: int = 200, progress=None) -> DetectStats:
    """Score all pending listing versions against the active registry; returns counts."""
    registry = load_active_registry(conn)
    conn.commit()
    if registry is None:
        raise NoRegistry("no registry loaded: run `cluewatch registry load FILE` first")
    stats = DetectStats()
    failed: set[int] = set()
    while True:
        batch = [l for l in _pending(conn, registry.sha256, batch_size + len(failed))
                 if l["version_id"] not in failed]
        conn.commit()
        if not batch:
            return stats
        for listing in batch:
            try:
                findings = [f for d in DETECTORS for f in d.detect(listing, registry.marks)]
                _record(conn, listing, findings, registry, stats)
                conn.commit()
                stats.scored += 1
            except Exception:
                # One bad listing never stops the batch; it stays pending for the next run.
                conn.rollback()
                log.exception("detecting on listing version %s failed", listing["version_id"])
                failed.add(listing["version_id"])
                stats.errors += 1
        if progress:
            progress(stats)
