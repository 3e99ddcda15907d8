"""key=value log lines (logfmt): one event per line, greppable, and parsed by any log shipper.

    log.info(logfmt("relay.batch", claimed=500, sent=500, lag_s=1.25))
    # event=relay.batch claimed=500 sent=500 lag_s=1.25
"""
from __future__ import annotations


def _value(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, float):
        return f"{v:.3f}".rstrip("0").rstrip(".") if v == v else "nan"
    text = str(v)
    if not text or any(c in text for c in ' ="\n\t'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def logfmt(event: str, **fields) -> str:
    return " ".join([f"event={event}", *(f"{k}={_value(v)}" for k, v in fields.items())])
