"""Fuse per-signal findings into one risk score for a listing version."""
from __future__ import annotations

from cluewatch.model import Finding

SUSPECT_THRESHOLD = 0.5


def fuse(findings: list[Finding]) -> float:
    """Noisy-OR: independent signals each leave a chance of innocence; all must be wrong to miss.

    >>> round(fuse([Finding("a", "1", "m", 0.5), Finding("b", "1", "m", 0.5)]), 2)
    0.75
    """
    innocent = 1.0
    for f in findings:
        innocent *= 1.0 - max(0.0, min(1.0, f.score))
    return 1.0 - innocent


def is_suspect(findings: list[Finding], threshold: float = SUSPECT_THRESHOLD) -> bool:
    return bool(findings) and fuse(findings) >= threshold
