"""Kafka message contracts: JSON Schema files under sinks/schemas, validated before anything is sent."""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import jsonschema
import jsonschema_rs

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SUSPECT_SCHEMA = "cluewatch.suspect.v1"
DECISION_SCHEMA = "cluewatch.decision.v1"
TAKEDOWN_SCHEMA = "cluewatch.takedown.v1"
DLQ_SCHEMA = "cluewatch.dlq.v1"


class InvalidMessage(ValueError):
    """A message that does not match its schema; the text says where."""


@lru_cache(maxsize=None)
def _validator(schema_name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMA_DIR / f"{schema_name}.json").read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@lru_cache(maxsize=256)
def _schema_exists(name: str) -> bool:
    # Cached: a stat() per message was a fifth of the relay's time.
    return (SCHEMA_DIR / f"{name}.json").is_file()


@lru_cache(maxsize=None)
def _fast_validator(schema_name: str):
    """The same schema compiled by jsonschema-rs: ~3 µs a message instead of ~300 µs, which is what
    lets the relay re-validate every event and still send >10,000 a second."""
    schema = json.loads((SCHEMA_DIR / f"{schema_name}.json").read_text("utf-8"))
    return jsonschema_rs.validator_for(schema, validate_formats=True)


def validate(message: dict) -> None:
    """Raise InvalidMessage naming the first offending path if `message` breaks its own schema."""
    if not isinstance(message, dict):
        raise InvalidMessage(f"not a JSON object but {type(message).__name__}")
    name = message.get("schema")
    if not isinstance(name, str) or not _schema_exists(name):
        raise InvalidMessage(f"unknown schema {name!r}")
    if _fast_validator(name).is_valid(message):
        return
    # The slow path only for messages the fast validator refused: python-jsonschema words the error
    # best. It checks fewer formats (no "date-time" without an optional package), so where it sees
    # nothing wrong the stricter verdict stands (tests/unit/test_delivery_messages.py).
    error = jsonschema.exceptions.best_match(_validator(name).iter_errors(message))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidMessage(f"{name} at {where}: {error.message}")
    rs_error = next(iter(_fast_validator(name).iter_errors(message)))
    raise InvalidMessage(f"{name} at {'/'.join(map(str, rs_error.instance_path)) or '(root)'}: {rs_error.message}")


def rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _decimal(value) -> str | None:
    return None if value is None else format(value, "f")


def suspect_message(*, suspect_id: int, score: float, reasons: list[str], listing: dict,
                    signals: list[dict], occurred_at: datetime, event_id: str | None = None) -> dict:
    """Build a cluewatch.suspect.v1 message from a stored listing version row and its findings."""
    message = {
        "event_id": event_id or str(uuid.uuid4()),
        "schema": SUSPECT_SCHEMA,
        "occurred_at": rfc3339(occurred_at),
        "suspect_id": suspect_id,
        "score": round(float(score), 4),
        "reasons": list(reasons),
        "listing": {
            "listing_id": listing["listing_id"],
            "version_id": listing["version_id"],
            "source": listing["source"],
            "platform": listing.get("platform"),
            "kind": listing.get("kind"),
            "url": listing["url"],
            "external_id": listing["external_id"],
            "title": listing.get("title"),
            "price_low": _decimal(listing.get("price_low")),
            "price_high": _decimal(listing.get("price_high")),
            "currency": (listing.get("currency") or None) and listing["currency"].strip(),
            "seller": {
                "name": listing.get("seller_name"),
                "id": listing.get("seller_id"),
                "url": listing.get("seller_url"),
                "location": listing.get("seller_location"),
            },
            "captured_at": rfc3339(listing["captured_at"]),
            "content_sha256": listing["content_sha256"],
            "image_urls": list(listing.get("image_urls") or []),
        },
        "signals": [
            {
                "detector": s["detector"],
                "detector_version": s["detector_version"],
                "mark_id": s.get("mark_id") or None,
                "reg_no": s.get("reg_no"),
                "score": round(float(s["score"]), 4),
                "reason": s["reason"],
                "evidence": s.get("evidence") or {},
            }
            for s in signals
        ],
    }
    validate(message)
    return message


DECISION_STATUS = {"confirm": "confirmed", "dismiss": "dismissed", "escalate": "escalated"}


def decision_message(*, decision_id: int, suspect_id: int, suspect_event_id: str | None, listing_id: int,
                     version_id: int, decision: str, officer: str, note: str | None,
                     occurred_at: datetime, event_id: str | None = None) -> dict:
    """A cluewatch.decision.v1 message: what an officer decided on a suspect."""
    message = {
        "event_id": event_id or str(uuid.uuid4()),
        "schema": DECISION_SCHEMA,
        "occurred_at": rfc3339(occurred_at),
        "decision_id": decision_id,
        "suspect_id": suspect_id,
        "suspect_event_id": suspect_event_id,
        "listing_id": listing_id,
        "version_id": version_id,
        "decision": decision,
        "status": DECISION_STATUS.get(decision, decision),
        "officer": officer,
        "note": note,
    }
    validate(message)
    return message


def takedown_message(*, decision_id: int, suspect_id: int, platform: str, listing: dict,
                     legal_basis: list[dict], evidence: dict, decided_by: str, note: str | None,
                     occurred_at: datetime, event_id: str | None = None) -> dict:
    """A cluewatch.takedown.v1 message: take this confirmed listing down, because of these marks."""
    message = {
        "event_id": event_id or str(uuid.uuid4()),
        "schema": TAKEDOWN_SCHEMA,
        "occurred_at": rfc3339(occurred_at),
        "decision_id": decision_id,
        "suspect_id": suspect_id,
        "platform": platform,
        "listing": {
            "listing_id": listing["listing_id"],
            "version_id": listing["version_id"],
            "source": listing["source"],
            "url": listing["url"],
            "external_id": listing["external_id"],
            "title": listing.get("title"),
            "seller": {"name": listing.get("seller_name"), "id": listing.get("seller_id"),
                       "url": listing.get("seller_url")},
            "captured_at": rfc3339(listing["captured_at"]),
        },
        "legal_basis": [{"mark_id": b["mark_id"], "reg_no": b.get("reg_no"), "owner": b.get("owner")}
                        for b in legal_basis],
        "evidence": evidence,
        "decided_by": decided_by,
        "note": note,
    }
    validate(message)
    return message


# A dead letter copies the original only up to this size (the outbox row keeps all of it), so that
# an event dead-lettered for being too large does not make its dead letter too large as well.
DLQ_PAYLOAD_COPY_LIMIT = 256 * 1024
_DLQ_NAMESPACE = uuid.UUID("6d1f2a4e-0c55-4c8e-9a3b-2f5b9d0c7e11")


def dlq_message(*, outbox_id: int, topic: str, key: str, event_id: str, payload, payload_bytes: bytes,
                reason: str, error: str, attempts: int, occurred_at: datetime) -> dict:
    """A cluewatch.dlq.v1 message parking an undeliverable outbox event; its event_id is derived from
    the original's, so re-parking the same row (after a crash) is recognisably the same dead letter."""
    truncated = len(payload_bytes) > DLQ_PAYLOAD_COPY_LIMIT
    message = {
        "event_id": str(uuid.uuid5(_DLQ_NAMESPACE, str(event_id))),
        "schema": DLQ_SCHEMA,
        "occurred_at": rfc3339(occurred_at),
        "reason": reason,
        "error": error[:4000],
        "outbox_id": outbox_id,
        "attempts": attempts,
        "original": {
            "topic": topic,
            "key": key,
            "event_id": str(event_id),
            "schema": payload.get("schema") if isinstance(payload, dict) and isinstance(payload.get("schema"), str) else None,
            "payload": None if truncated else payload,
            "payload_bytes": len(payload_bytes),
            "payload_sha256": hashlib.sha256(payload_bytes).hexdigest(),
            "payload_truncated": truncated,
        },
    }
    validate(message)
    return message
