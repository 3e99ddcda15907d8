"""Word-mark detector, first version: a registered name appearing in the title, case-insensitively.

This is the walking skeleton's detector. It knows nothing of 山寨 variants (homophones, look-alike
characters, homoglyphs, leetspeak) nor of word boundaries and descriptive use; the labelled demo
catalogue records which cases it gets wrong so the real detector can be held to them.
"""
from __future__ import annotations

from dataclasses import dataclass

from cluewatch.model import Finding, Mark

DETECTOR = "text.exact_name"
VERSION = "0.1.0"
EXACT_NAME_SCORE = 0.7  # a registered name verbatim is a clue, not proof (genuine resellers exist)


@dataclass(frozen=True)
class TextMatch:
    mark_id: str
    name: str
    span: tuple[int, int]  # [start, end) in the original title
    score: float
    variant: str = "exact"

    @property
    def explanation(self) -> str:
        return f"title contains the registered name {self.name!r} at {self.span[0]}–{self.span[1]}"


def _is_authorized(mark: Mark, seller: str | None) -> bool:
    if not seller:
        return False
    wanted = seller.strip().casefold()
    return any(s.strip().casefold() == wanted for s in mark.authorized_sellers)


def match_title(title: str | None, marks: tuple[Mark, ...] | list[Mark], seller: str | None = None) -> list[TextMatch]:
    """Every mark whose registered name occurs in `title`; one match per mark (its first name found).

    >>> m = Mark(id="sprite", names=("Sprite", "雪碧"))
    >>> [(x.mark_id, x.span) for x in match_title("正品 SPRITE 汽水", [m])]
    [('sprite', (3, 9))]
    """
    if not title:
        return []
    # casefold can change length (ß → ss); lower() keeps indices aligned with the original title.
    haystack = title.lower()
    matches = []
    for mark in marks:
        if _is_authorized(mark, seller):
            continue
        for name in mark.names:
            start = haystack.find(name.lower()) if name else -1
            if start >= 0:
                matches.append(TextMatch(mark.id, name, (start, start + len(name)), EXACT_NAME_SCORE))
                break
    return matches


def detect(listing: dict, marks) -> list[Finding]:
    """Findings for one listing (dict with at least title and seller_name)."""
    return [
        Finding(
            detector=DETECTOR,
            detector_version=VERSION,
            mark_id=m.mark_id,
            score=m.score,
            reason=f"Title contains the registered name “{m.name}” ({m.mark_id})",
            evidence={"field": "title", "text": listing.get("title"), "matched": m.name,
                      "span": list(m.span), "variant": m.variant},
        )
        for m in match_title(listing.get("title"), marks, listing.get("seller_name"))
    ]
