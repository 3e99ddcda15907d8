"""Word-mark detector: registered names and their 山寨 variants in listing titles, explained.

Same module API as detectors.text (DETECTOR, VERSION, detect) plus `match` for one title:

>>> from cluewatch.model import Mark
>>> marks = [Mark(id="sprite", names=("Sprite", "雪碧"), nice_classes=(32,))]
>>> [(m.mark_id, m.variant, m.span) for m in match("雷碧 汽水 330ml", marks)]
[('sprite', 'lookalike', (0, 2))]

Tables are read from data/ on first use (about a second) and the index for a given set of marks
is built once and cached; importing this package loads nothing. See docs/text-detector.md.
"""
from __future__ import annotations

from cluewatch.model import Finding

from detectors.wordmark.matcher import MAX_TITLE_CHARS, THRESHOLD, Match, MarkIndex, match_title

DETECTOR = "text.wordmark"
VERSION = "1.1.0"

__all__ = ["DETECTOR", "VERSION", "THRESHOLD", "MAX_TITLE_CHARS", "Match", "MarkIndex", "match", "detect", "index_for"]

_INDEXES: dict[tuple, MarkIndex] = {}
_LAST: list = [None]  # (marks object, index) of the last call


def index_for(marks) -> MarkIndex:
    """The blocking index for `marks`, built on first use and kept (a few registries at most)."""
    if isinstance(marks, MarkIndex):
        return marks
    last = _LAST[0]
    if last is not None and last[0] is marks:   # same registry object as last call: no hashing
        return last[1]
    key = tuple(marks)
    idx = _INDEXES.get(key)
    if idx is None:
        if len(_INDEXES) >= 4:
            _INDEXES.clear()
        idx = _INDEXES[key] = MarkIndex(key)
    if not isinstance(marks, list):             # a list may be mutated in place: never trust its identity
        _LAST[0] = (marks, idx)
    return idx


def match(title, marks, *, seller=None, category=None, threshold: float = THRESHOLD) -> list[Match]:
    """Matches of `marks` (Marks or a MarkIndex) in `title`, best first, at most one per mark.

    `score` is the calibrated probability of infringement; `threshold` applies to the evidence
    score before calibration (`Match.evidence`; see calibration.py). Titles longer than
    MAX_TITLE_CHARS are matched on their first MAX_TITLE_CHARS characters.
    """
    return match_title(index_for(marks), title, seller=seller, category=category, threshold=threshold)[0]


def detect(listing: dict, marks) -> list[Finding]:
    """Findings for one listing (dict with at least title; seller_name and category are used)."""
    title = listing.get("title")
    matches = match(title, marks, seller=listing.get("seller_name"), category=listing.get("category"))
    return [
        Finding(
            detector=DETECTOR,
            detector_version=VERSION,
            mark_id=m.mark_id,
            score=m.score,
            reason=m.explanation,
            evidence={"field": "title", "text": title, "matched": m.matched, "name": m.name,
                      "span": list(m.span), "variant": m.variant, "explanation": m.explanation,
                      "cues": list(m.cues)},
        )
        for m in matches
    ]
