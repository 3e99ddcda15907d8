"""Detect step: score every current listing version not yet scored by this detector set and registry.

Per listing version, one transaction writes its findings, the fact that it was scored, and, when the
fused score crosses the threshold, the suspect and its outbox event — so nothing is half-recorded.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import psycopg2.extras
from psycopg2.extras import Json

from cluewatch.model import Registry
from cluewatch.settings import SUSPECTS_TOPIC
from detectors import fusion, official_photo, wordmark
from detectors.logo import signal as logo_signal
from sinks import outbox
from sinks.messages import suspect_message
from sinks.registry_store import load_active_registry

log = logging.getLogger(__name__)

# Each detector module exposes DETECTOR, VERSION and detect(listing: dict, marks) -> list[Finding];
# one with NEEDS_IMAGES = True also gets the listing's stored photos as listing["image_blobs"].
DETECTORS = (wordmark, logo_signal, official_photo)


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


SCOPES = ("all", "new")


@dataclass(frozen=True)
class Selection:
    """Which pending listing versions a run scores (every field narrows; the default is all).

    scope "new": only versions no detector has ever scored (fresh crawl output, the detect DAG);
    "all": also versions scored before under another registry or detector version (the rescan DAG).
    lo/hi: listing_versions.id bounds, inclusive (one batch of a mapped run).
    since/until: captured_at range [since, until) — e.g. a manual rescan of last week first.
    mark_id: only listings that earlier had a finding on this mark. Scoring itself always runs every
    detector against every mark, so what is recorded as scored is true whatever the narrowing."""
    scope: str = "all"
    lo: int | None = None
    hi: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    mark_id: str | None = None

    def __post_init__(self):
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}, not {self.scope!r}")

    @classmethod
    def from_params(cls, params: dict | None, **overrides) -> "Selection":
        """From manual-run params (strings from the Airflow UI / `--conf`): since, until, mark_id."""
        params = dict(params or {})
        values = {k: params.get(k) or None for k in ("since", "until", "mark_id")}
        for key in ("since", "until"):
            if isinstance(values[key], str):
                try:
                    values[key] = datetime.fromisoformat(values[key])
                    if values[key].tzinfo is None:  # a bare date or time means UTC, not the server's zone
                        values[key] = values[key].replace(tzinfo=timezone.utc)
                except ValueError:
                    raise ValueError(f"{key}={values[key]!r} is not an ISO date or date-time "
                                     "(e.g. 2026-11-01 or 2026-11-01T12:00:00+00:00)") from None
        values.update(overrides)
        return cls(**values)

    def sql(self) -> tuple[str, list]:
        """Extra WHERE conditions on `lv` / `l` and their parameters."""
        where, args = [], []
        if self.scope == "new":
            where.append("NOT EXISTS (SELECT 1 FROM detection_runs r0 WHERE r0.listing_version_id = lv.id)")
        if self.lo is not None:
            where.append("lv.id >= %s")
            args.append(self.lo)
        if self.hi is not None:
            where.append("lv.id <= %s")
            args.append(self.hi)
        if self.since is not None:
            where.append("lv.captured_at >= %s")
            args.append(self.since)
        if self.until is not None:
            where.append("lv.captured_at < %s")
            args.append(self.until)
        if self.mark_id:
            where.append("""EXISTS (SELECT 1 FROM findings f JOIN listing_versions v ON v.id = f.listing_version_id
                                   WHERE v.listing_id = l.id AND f.mark_id = %s)""")
            args.append(self.mark_id)
        return "".join(f" AND {w}" for w in where), args


_PENDING_FROM = """FROM listings l JOIN listing_versions lv ON lv.id = l.current_version_id
               WHERE l.removed_at IS NULL
                 AND (SELECT count(*) FROM detection_runs r
                      WHERE r.listing_version_id = lv.id AND r.registry_sha256 = %s
                        AND r.detector || ':' || r.detector_version = ANY(%s)) < %s"""


def _pending(conn, registry_sha: str, limit: int, selection: Selection = Selection()) -> list[dict]:
    keys = _detector_keys()
    extra, args = selection.sql()
    with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
        cur.execute(
            f"""SELECT l.id AS listing_id, lv.id AS version_id, l.source_id AS source, l.external_id,
                      lv.*,
                      ARRAY(SELECT url FROM listing_images i WHERE i.listing_version_id = lv.id
                            ORDER BY position) AS image_urls,
                      COALESCE((SELECT json_agg(json_build_object('url', i.url, 'sha256', i.sha256,
                                                                  'path', i.path) ORDER BY i.position)
                                FROM listing_images i WHERE i.listing_version_id = lv.id), '[]') AS stored_images
               {_PENDING_FROM}{extra}
               ORDER BY lv.id LIMIT %s""",
            (registry_sha, keys, len(keys), *args, limit),
        )
        return [dict(r) for r in cur.fetchall()]


def plan_batches(conn, *, batch_size: int = 200, max_batches: int = 256,
                 selection: Selection = Selection()) -> list[dict]:
    """Split the pending listing versions into id ranges of at most `batch_size` versions each,
    [{"lo": first id, "hi": last id, "versions": n}, ...] — the units a mapped detect run scores in
    parallel. Bigger batches when there would be more than `max_batches` (Airflow caps a mapped
    task's length; each mapped instance also costs scheduler work)."""
    registry = load_active_registry(conn)
    if registry is None:
        conn.rollback()
        raise NoRegistry("no registry loaded: run `cluewatch registry load FILE` first")
    keys = _detector_keys()
    extra, args = selection.sql()
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) {_PENDING_FROM}{extra}", (registry.sha256, keys, len(keys), *args))
        total = cur.fetchone()[0]
        size = max(1, batch_size, math.ceil(total / max(1, max_batches)))
        cur.execute(
            f"""SELECT min(id), max(id), count(*) FROM (
                    SELECT lv.id, (row_number() OVER (ORDER BY lv.id) - 1) / %s AS batch
                    {_PENDING_FROM}{extra}) p
                GROUP BY batch ORDER BY batch""",
            (size, registry.sha256, keys, len(keys), *args))
        batches = [{"lo": lo, "hi": hi, "versions": n} for lo, hi, n in cur.fetchall()]
    conn.commit()
    return batches


def scoring_version(conn) -> dict:
    """Record the (active registry, detector set) pair detection now runs under; "changed" is True
    the first time a pair is seen — listing versions scored before need re-scoring (rescan DAG)."""
    registry = load_active_registry(conn)
    if registry is None:
        conn.rollback()
        return {"registry_sha256": None, "detectors": ",".join(sorted(_detector_keys())), "changed": False}
    detectors = ",".join(sorted(_detector_keys()))
    with conn.cursor() as cur:
        cur.execute("""INSERT INTO scoring_versions (registry_sha256, detectors) VALUES (%s, %s)
                       ON CONFLICT DO NOTHING""", (registry.sha256, detectors))
        changed = cur.rowcount == 1
    conn.commit()
    return {"registry_sha256": registry.sha256, "detectors": detectors, "changed": changed}


def _image_blobs(blobs, listing: dict) -> list[dict]:
    """The listing's stored photos with their bytes; photos never stored (refused, failed) or since
    purged by retention are left out."""
    out = []
    for image in listing.get("stored_images") or []:
        if not image.get("path"):
            continue
        try:
            out.append({**image, "data": blobs.get(image["path"])})
        except KeyError:
            log.info("listing version %s: photo %s is no longer in the blob store", listing["version_id"],
                     image["path"])
    return out


def _store_attachments(blobs, findings) -> None:
    """Evidence files into the blob store; the finding's evidence names them by key."""
    for f in findings:
        for name, (data, suffix) in (f.attachments or {}).items():
            f.evidence[name] = blobs.put(data, suffix=suffix)
        f.attachments = {}


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


def detect_pending(conn, *, batch_size: int = 200, progress=None,
                   selection: Selection = Selection()) -> DetectStats:
    """Score the pending listing versions `selection` picks (default: all) against the active
    registry; returns counts. Batches of one mapped run (selection lo/hi) score exactly what one
    run over everything would have scored in that id range: each version is scored on its own."""
    registry = load_active_registry(conn)
    conn.commit()
    if registry is None:
        raise NoRegistry("no registry loaded: run `cluewatch registry load FILE` first")
    stats = DetectStats()
    failed: set[int] = set()
    blobs = None
    # Photos are read only when an image detector has something to compare them with.
    if any(getattr(d, "NEEDS_IMAGES", False) for d in DETECTORS) and \
            any(m.logos or m.reference_photos for m in registry.marks):
        from sinks.blobstore import blob_store_from_settings  # noqa: PLC0415

        blobs = blob_store_from_settings()
    while True:
        batch = [l for l in _pending(conn, registry.sha256, batch_size + len(failed), selection)
                 if l["version_id"] not in failed]
        conn.commit()
        if not batch:
            return stats
        for listing in batch:
            try:
                if blobs is not None:
                    listing["image_blobs"] = _image_blobs(blobs, listing)
                findings = [f for d in DETECTORS for f in d.detect(listing, registry.marks)]
                if blobs is not None:
                    _store_attachments(blobs, findings)
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
