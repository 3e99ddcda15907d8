import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import jsonschema
import pytest

from sinks import messages

LISTING = dict(listing_id=7, version_id=9, source="demo-shop", platform="DemoShop", kind="ecommerce",
               url="http://127.0.0.1:1/item/1.html", external_id="1", title="高仿耐克 <script>",
               price_low=Decimal("88.00"), price_high=Decimal("128.50"), currency="CNY",
               seller_name="小店", seller_id=None, seller_url=None, seller_location="临沂",
               captured_at=datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc), content_sha256="a" * 64,
               image_urls=["http://127.0.0.1:1/img/1.jpg"])
SIGNAL = dict(detector="text.exact_name", detector_version="0.1.0", mark_id="nike", reg_no="100",
              score=0.7, reason="Title contains 耐克", evidence={"span": [2, 4]})


def build(**overrides):
    kwargs = dict(suspect_id=1, score=0.7, reasons=["r"], listing=LISTING, signals=[SIGNAL],
                  occurred_at=datetime(2026, 11, 26, tzinfo=timezone.utc))
    kwargs.update(overrides)
    return messages.suspect_message(**kwargs)


def test_schema_files_are_valid_json_schema():
    for path in Path(messages.SCHEMA_DIR).glob("*.json"):
        schema = json.loads(path.read_text())
        jsonschema.validators.validator_for(schema).check_schema(schema)
        assert path.stem == schema["title"]


def test_suspect_message_matches_contract():
    m = build()
    assert m["schema"] == "cluewatch.suspect.v1"
    assert m["occurred_at"] == "2026-11-26T00:00:00Z"
    assert m["listing"]["price_low"] == "88.00" and m["listing"]["price_high"] == "128.50"
    assert m["listing"]["captured_at"] == "2026-11-26T08:00:00Z"
    assert m["signals"][0]["reg_no"] == "100"
    assert len(m["event_id"]) == 36
    json.dumps(m)  # serialisable as is


def test_event_id_is_kept_when_given():
    assert build(event_id="0b6f3a3e-1e8e-4b1e-9a57-3f0c7f1d2b11")["event_id"] == "0b6f3a3e-1e8e-4b1e-9a57-3f0c7f1d2b11"


@pytest.mark.parametrize("mutate, where", [
    (lambda m: m.pop("event_id"), "event_id"),
    (lambda m: m.__setitem__("score", 1.5), "score"),
    (lambda m: m["listing"].__setitem__("currency", "元"), "listing/currency"),
    (lambda m: m["listing"].__setitem__("content_sha256", "xyz"), "listing/content_sha256"),
    (lambda m: m.__setitem__("signals", []), "signals"),
    (lambda m: m.__setitem__("extra", 1), "(root)"),
])
def test_invalid_messages_are_refused_with_the_path(mutate, where):
    m = build()
    mutate(m)
    with pytest.raises(messages.InvalidMessage) as err:
        messages.validate(m)
    assert where in str(err.value) or (where == "event_id" and "event_id" in str(err.value))


def test_unknown_schema_refused():
    with pytest.raises(messages.InvalidMessage, match="unknown schema"):
        messages.validate({"schema": "../../etc/passwd"})
