"""Officer decisions on suspects, and the events they announce, in one transaction.

`record_decision` is what the review UI calls: the decision row, the suspect's new status, a
`cluewatch.decision.v1` outbox row and, for a confirmation, a `cluewatch.takedown.v1` outbox row
for the platform — all or nothing, so the case system and the platform hear of exactly the
decisions the database holds.
"""
from __future__ import annotations

from sinks import outbox
from sinks.messages import DECISION_STATUS, decision_message, takedown_message
from sinks.topics import DECISIONS_TOPIC, TAKEDOWNS_TOPIC


class DecisionError(ValueError):
    """The decision cannot be recorded (unknown suspect, unknown decision, no legal basis)."""


def record_decision(conn, suspect_id: int, decision: str, officer: str, note: str | None = None) -> dict:
    """Record `decision` ('confirm', 'dismiss', 'escalate') by `officer` on suspect `suspect_id`.

    Runs inside the caller's transaction (the caller commits; nothing is written if it raises).
    Returns {"decision_id", "status", "events": [(topic, key, event_id), …]}.

    A confirmation needs a legal basis: at least one finding on a registered mark. Without one it
    raises DecisionError (escalate instead), since a takedown request without a mark and its
    registration number is one a platform cannot act on.
    """
    if decision not in DECISION_STATUS:
        raise DecisionError(f"unknown decision {decision!r}: one of {', '.join(DECISION_STATUS)}")
    if not officer or not officer.strip():
        raise DecisionError("officer is required")
    with conn.cursor() as cur:
        # Lock the suspect: two officers deciding at once are serialised, each event in order.
        cur.execute(
            """SELECT s.id, s.listing_version_id, lv.listing_id, l.source_id, COALESCE(lv.platform, src.platform),
                      lv.url, l.external_id, lv.title, lv.seller_name, lv.seller_id, lv.seller_url,
                      lv.captured_at, lv.content_sha256, lv.page_sha256, lv.page_path
               FROM suspects s
               JOIN listing_versions lv ON lv.id = s.listing_version_id
               JOIN listings l ON l.id = lv.listing_id
               JOIN sources src ON src.id = l.source_id
               WHERE s.id = %s FOR UPDATE OF s""",
            (suspect_id,))
        row = cur.fetchone()
        if row is None:
            raise DecisionError(f"no suspect {suspect_id}")
        (_, version_id, listing_id, source, platform, url, external_id, title, seller_name, seller_id,
         seller_url, captured_at, content_sha256, page_sha256, page_path) = row
        cur.execute(
            """INSERT INTO decisions (suspect_id, decision, officer, note) VALUES (%s, %s, %s, %s)
               RETURNING id, decided_at""",
            (suspect_id, decision, officer.strip(), note))
        decision_id, decided_at = cur.fetchone()
        status = DECISION_STATUS[decision]
        cur.execute("UPDATE suspects SET status = %s, updated_at = now() WHERE id = %s", (status, suspect_id))
        # The suspect event this decides on, if one was written (the detect job enqueues it).
        cur.execute(
            """SELECT event_id::text FROM outbox WHERE topic = 'cluewatch.suspects.v1'
                   AND (payload->>'suspect_id')::bigint = %s ORDER BY id DESC LIMIT 1""",
            (suspect_id,))
        found = cur.fetchone()
    events = []
    message = decision_message(decision_id=decision_id, suspect_id=suspect_id,
                               suspect_event_id=found[0] if found else None, listing_id=listing_id,
                               version_id=version_id, decision=decision, officer=officer.strip(), note=note,
                               occurred_at=decided_at)
    outbox.enqueue(conn, DECISIONS_TOPIC, str(listing_id), message)
    events.append((DECISIONS_TOPIC, str(listing_id), message["event_id"]))
    if decision == "confirm":
        legal_basis, signals, images = _evidence(conn, version_id)
        if not legal_basis:
            raise DecisionError(f"suspect {suspect_id} has no finding on a registered mark: no legal basis "
                                "for a takedown (escalate it instead)")
        listing = dict(listing_id=listing_id, version_id=version_id, source=source, url=url,
                       external_id=external_id, title=title, seller_name=seller_name, seller_id=seller_id,
                       seller_url=seller_url, captured_at=captured_at)
        evidence = {
            "content_sha256": content_sha256,
            "page": {"sha256": page_sha256, "path": page_path} if (page_sha256 or page_path) else None,
            "images": images,
            "signals": signals,
        }
        takedown = takedown_message(decision_id=decision_id, suspect_id=suspect_id, platform=platform,
                                    listing=listing, legal_basis=legal_basis, evidence=evidence,
                                    decided_by=officer.strip(), note=note, occurred_at=decided_at)
        outbox.enqueue(conn, TAKEDOWNS_TOPIC, platform, takedown)
        events.append((TAKEDOWNS_TOPIC, platform, takedown["event_id"]))
    return {"decision_id": decision_id, "status": status, "events": events}


def _evidence(conn, version_id: int) -> tuple[list[dict], list[dict], list[dict]]:
    """(legal basis: the marks found, signals: every finding, images) of a listing version."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT f.detector, f.detector_version, f.mark_id, f.score, f.reason, f.evidence,
                      m.id IS NOT NULL, m.reg_no, m.owner
               FROM findings f LEFT JOIN marks m ON m.id = f.mark_id AND f.mark_id <> ''
               WHERE f.listing_version_id = %s ORDER BY f.score DESC, f.id""",
            (version_id,))
        findings = cur.fetchall()
        cur.execute(
            """SELECT url, sha256 FROM listing_images WHERE listing_version_id = %s ORDER BY position""",
            (version_id,))
        images = [{"url": url, "sha256": sha.strip() if sha else None} for url, sha in cur.fetchall()]
    signals, basis = [], {}
    for detector, version, mark_id, score, reason, evidence, is_mark, reg_no, owner in findings:
        signals.append({"detector": detector, "detector_version": version, "mark_id": mark_id or None,
                        "score": round(float(score), 4), "reason": reason, "evidence": evidence or {}})
        if is_mark and mark_id not in basis:
            basis[mark_id] = {"mark_id": mark_id, "reg_no": reg_no, "owner": owner}
    return list(basis.values()), signals, images
