"""Kafka message contracts: JSON Schema files under sinks/schemas, validated before anything is sent."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import jsonschema

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
SUSPECT_SCHEMA = "cluewatch.suspect.v1"


class InvalidMessage(ValueError):
    """A message that does not match its schema; the text says where."""


@lru_cache(maxsize=None)
def _validator(schema_name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMA_DIR / f"{schema_name}.json").read_text("utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def validate(message: dict) -> None:
    """Raise InvalidMessage naming the first offending path if `message` breaks its own schema."""
    name = message.get("schema")
    if not isinstance(name, str) or not (SCHEMA_DIR / f"{name}.json").is_file():
        raise InvalidMessage(f"unknown schema {name!r}")
    error = jsonschema.exceptions.best_match(_validator(name).iter_errors(message))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidMessage(f"{name} at {where}: {error.message}")


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
