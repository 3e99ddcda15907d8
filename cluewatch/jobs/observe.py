"""Structured log lines for the pipeline's steps: one line per event, `cluewatch.<event> {json}`, so
operators can grep a task log and machines can parse it (counts, durations, ids)."""
from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager

logger = logging.getLogger("cluewatch.events")


def log_event(event: str, *, level: int = logging.INFO, log=None, **fields) -> str:
    """Log `cluewatch.<event> {"field": value, ...}` and return the line; non-JSON values as str."""
    line = f"cluewatch.{event} " + json.dumps(fields, default=str, ensure_ascii=False, sort_keys=True)
    (log or logger).log(level, line)
    return line


@contextmanager
def timed(event: str, **fields):
    """Log `event` with `seconds` when the block ends; the block may add fields to the yielded dict."""
    t0 = time.monotonic()
    out = dict(fields)
    yield out
    log_event(event, seconds=round(time.monotonic() - t0, 3), **out)
