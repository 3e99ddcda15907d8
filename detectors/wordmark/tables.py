"""The character tables shipped in data/ (see data/LICENSES.md), each loaded once on first use."""
from __future__ import annotations

import os
from functools import lru_cache

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

# Leetspeak: digits and symbols written for letters. 1 and | fold to i because the skeleton
# folds l to i as well (TR39 does the same: l, I, 1 and | are one skeleton).
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s", "!": "i", "|": "i"}
# Latin shapes that read alike at a glance (typographic confusions, not TR39 code points):
# applied to the "visual key" that only proposes typo candidates; a candidate still has to pass
# the weighted edit distance.
VISUAL_LATIN = str.maketrans({"d": "b", "q": "p", "u": "v"})


def _lines(name: str):
    with open(os.path.join(DATA, name), encoding="utf-8") as f:
        for line in f:
            if line and not line.startswith("#"):
                yield line.rstrip("\n").split("\t")


@lru_cache(maxsize=1)
def fold_table() -> tuple[dict[int, str], dict[str, str]]:
    """(str.translate table one code point -> one character, reason per source character)."""
    table: dict[int, str] = {}
    reason: dict[str, str] = {}
    for src, dst, why in _lines("fold.tsv"):
        s, t = chr(int(src, 16)), chr(int(dst, 16))
        table[ord(s)] = t
        reason[s] = why
    return table, reason


@lru_cache(maxsize=1)
def pinyin_table() -> dict[str, tuple[str, ...]]:
    return {c: tuple(r.split()) for c, r in _lines("pinyin.tsv")}


@lru_cache(maxsize=1)
def shape_table() -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for c, rest in _lines("shape.tsv"):
        d = {}
        for item in rest.split():
            ch, s = item.rsplit(":", 1)
            d[ch] = float(s)
        out[c] = d
    return out


@lru_cache(maxsize=1)
def component_table() -> dict[str, tuple[str, ...]]:
    return {c: tuple(r.split()) for c, r in _lines("components.tsv")}


# Fuzzy pinyin as CNIPA examiners and input methods confuse them: zh/z, ch/c, sh/s, n/l,
# an/ang, en/eng, in/ing (the -ng of "ong" is kept: it has no -n partner).
def fuzzy_pinyin(p: str) -> str:
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if p.startswith(a):
            p = b + p[2:]
            break
    if p.startswith("n"):
        p = "l" + p[1:]
    if p.endswith(("ang", "eng", "ing")) and not p.endswith("ong"):
        p = p[:-1]
    return p


@lru_cache(maxsize=1)
def stroke_table() -> dict[str, str]:
    """character -> characters one stroke away (see data/build_tables.py)."""
    return {c: r for c, r in _lines("strokes.tsv")}
