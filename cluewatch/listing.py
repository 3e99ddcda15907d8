"""Listing content hashing: decides when a recrawl is a new version."""
from __future__ import annotations

import hashlib
import json

from cluewatch.model import CONTENT_FIELDS


def content_sha256(listing: dict) -> str:
    """Stable hash over the content fields, so an unchanged recrawl hashes the same.

    >>> content_sha256({"title": "a"}) == content_sha256({"title": "a", "captured_at": "x"})
    True
    """
    content = {k: listing.get(k) for k in CONTENT_FIELDS}
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
