"""Message contracts of every topic: schemas, the documented examples, dead letters, topic settings."""
from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest

from sinks import messages
from sinks.consumer import Event, StdoutSink
from sinks.logfmt import logfmt
from sinks.topics import TOPICS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "messages.md"


def doc_examples() -> list[dict]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)\n```", DOCS.read_text("utf-8"), re.S)]


def test_every_documented_example_validates_against_its_schema():
    examples = doc_examples()
    for example in examples:
        messages.validate(example)  # raises with the path of the first problem
        # and with python-jsonschema too, the reference implementation
        schema = json.loads((messages.SCHEMA_DIR / f"{example['schema']}.json").read_text())
        jsonschema.validate(example, schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert sorted(e["schema"] for e in examples) == sorted(spec.schema for spec in TOPICS.values())


def test_docs_state_each_topics_key_partitions_and_retention():
    text = DOCS.read_text("utf-8")
    for spec in TOPICS.values():
        row = next(line for line in text.splitlines() if line.startswith(f"| `{spec.name}`"))
        assert f"| {spec.partitions} |" in row and f"| {spec.retention_days} days |" in row, row
        assert spec.key in row and spec.schema in row, row


def test_topics_are_the_ones_the_settings_name_with_shipped_schemas():
    from cluewatch import settings

    assert {settings.SUSPECTS_TOPIC, settings.DECISIONS_TOPIC, settings.TAKEDOWNS_TOPIC} < set(TOPICS)
    for spec in TOPICS.values():
        assert (messages.SCHEMA_DIR / f"{spec.schema}.json").is_file()
        configs = spec.kafka_configs(replication_factor=3)
        assert configs["retention.ms"] == str(spec.retention_days * 86_400_000)
        assert configs["min.insync.replicas"] == "2" and configs["cleanup.policy"] == "delete"
        assert spec.kafka_configs(replication_factor=1)["min.insync.replicas"] == "1"


MUTATIONS = [
    ("cluewatch.decision.v1", lambda m: m.__setitem__("decision", "approve")),
    ("cluewatch.decision.v1", lambda m: m.__setitem__("event_id", "not-a-uuid")),
    # python-jsonschema checks "date-time" only with an optional package: this one only the fast
    # validator refuses, and validate() goes with the stricter verdict.
    ("cluewatch.decision.v1", lambda m: m.__setitem__("occurred_at", "yesterday")),
    ("cluewatch.takedown.v1", lambda m: m.__setitem__("legal_basis", [])),
    ("cluewatch.takedown.v1", lambda m: m["evidence"].__setitem__("content_sha256", "xyz")),
    ("cluewatch.takedown.v1", lambda m: m["listing"].pop("url")),
    ("cluewatch.dlq.v1", lambda m: m.__setitem__("reason", "oops")),
    ("cluewatch.dlq.v1", lambda m: m["original"].pop("payload")),
    ("cluewatch.suspect.v1", lambda m: m["listing"].__setitem__("currency", "元")),
    ("cluewatch.suspect.v1", lambda m: m.__setitem__("extra", 1)),
]


@pytest.mark.parametrize("schema, mutate", MUTATIONS)
def test_fast_and_reference_validators_agree_on_invalid_messages(schema, mutate):
    """validate() trusts jsonschema-rs for the verdict: it must refuse what python-jsonschema refuses."""
    message = copy.deepcopy(next(e for e in doc_examples() if e["schema"] == schema))
    mutate(message)
    assert not messages._fast_validator(schema).is_valid(message)
    if message.get("occurred_at") != "yesterday":
        assert list(messages._validator(schema).iter_errors(message))
    with pytest.raises(messages.InvalidMessage, match=schema):
        messages.validate(message)


def test_non_objects_are_invalid_not_a_crash():
    for value in ([1, 2], "text", None, 3):
        with pytest.raises(messages.InvalidMessage, match="not a JSON object"):
            messages.validate(value)


def _letter(payload, raw: bytes):
    from datetime import datetime, timezone

    return messages.dlq_message(outbox_id=7, topic="cluewatch.suspects.v1", key="42",
                                event_id="0f3e2d1c-4b5a-4968-8776-a5b4c3d2e1f0", payload=payload, payload_bytes=raw,
                                reason="too_large", error="too big", attempts=1,
                                occurred_at=datetime(2026, 11, 26, tzinfo=timezone.utc))


def test_dead_letter_keeps_small_originals_and_truncates_large_ones():
    small = _letter({"schema": "x"}, b'{"schema":"x"}')
    assert small["original"]["payload"] == {"schema": "x"} and not small["original"]["payload_truncated"]
    big_raw = b"x" * (messages.DLQ_PAYLOAD_COPY_LIMIT + 1)
    big = _letter("…", big_raw)
    assert big["original"]["payload"] is None and big["original"]["payload_truncated"]
    assert big["original"]["payload_bytes"] == len(big_raw)
    assert len(json.dumps(big)) < 10_000  # the dead letter of a too-large event is itself small
    # The same row parked twice (a crash in between) is recognisably one dead letter.
    assert _letter({"schema": "x"}, b"{}")["event_id"] == small["event_id"]


def test_logfmt_quotes_what_needs_quoting():
    line = logfmt("relay.batch", claimed=500, lag_s=1.23456, error='no "broker" here', none=None)
    assert line == 'event=relay.batch claimed=500 lag_s=1.235 error="no \\"broker\\" here" none=null'


def test_stdout_sink_deduplicates_within_its_window():
    out = io.StringIO()
    sink = StdoutSink(out, seen_capacity=2)

    def ev(i):
        return Event(f"id-{i}", "t", 0, i, None, {"event_id": f"id-{i}"})

    assert sink.write([ev(1), ev(2), ev(2)]) == 2
    assert sink.write([ev(3)]) == 1  # id-1 falls out of the 2-event window…
    assert sink.write([ev(1)]) == 1  # …so it is printed again: the documented caveat
    assert [json.loads(line)["event_id"] for line in out.getvalue().splitlines()] == ["id-1", "id-2", "id-3", "id-1"]
