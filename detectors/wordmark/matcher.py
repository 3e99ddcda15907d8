"""Find registered word marks, and their 山寨 variants, inside a listing title.

Two passes over one normalised copy of the title, each driven by an index built once per set of
marks, so a title costs a few dictionary look-ups per character rather than one comparison per mark:

- Latin: the title is cut into pieces (alphanumeric runs, split again at camel-case and
  letter/digit boundaries); every run of adjacent pieces short enough to be a mark is reduced to
  a skeleton (TR39 confusables, NFKC, leetspeak, l→i, rn→m, repeated letters collapsed) and
  looked up. Pieces are whole words, so `Nikon` is never `Nike` and `pineapple` never `Apple`,
  while `NikeAir` (camel case) and `N.I.K.E` (single letters joined) are. Skeletons of six letters
  or more also find one-edit typos (deletion neighbourhoods), and of five or more b/d, p/q, u/v
  look-alike swaps.
- Chinese: each CJK character of the title (traditional folded to simplified) posts the
  (mark name, position) pairs of the registered names it equals; a window with enough kept
  characters is verified position by position: every other character must look like the mark's
  (char-similar-z shape score, one stroke apart, or same phonetic component) or sound like it
  (same or fuzzy-equal pinyin). Rules bound how many distinct characters may be substituted.

Context (counterfeit cue words, compatibility phrasing, goods outside the mark's Nice classes,
authorised sellers) adjusts the score and is written into the explanation.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

from detectors.wordmark import calibration, context
from detectors.wordmark.tables import (
    LEET, VISUAL_LATIN, component_table, stroke_table, fold_table, fuzzy_pinyin, pinyin_table, shape_table,
)

MAX_TITLE_CHARS = 1000      # longer titles are cut here (the caller is told: Match list + truncated flag)
THRESHOLD = 0.5             # a match is reported when its evidence score is at or above this
STROKE_SHAPE = 0.76         # strength given to "one stroke away"
PHONETIC_SHAPE = 0.75       # strength given to "same phonetic component, different radical"
ALL_SUB_SHAPE_MIN = 0.78    # 洽洽 -> 治治: no character kept, so the look-alike must be close
SHAPE_MIN = 0.75            # char-similar-z shape score for two characters to count as look-alikes
TYPO_MIN_LEN = 6            # one-edit typos only for skeletons this long (Prada/Prado, Nike/Mike are words)
VISUAL_MIN_LEN = 5

_LEET_TABLE = str.maketrans({**LEET, "l": "i"})
_PIECE_RE = re.compile(r"[a-z0-9@$!|]+")
_SPLIT_RE = re.compile(r"[a-z]+|[0-9]+|[@$!|]+")
_REPEAT_RE = re.compile(r"(.)\1+")
_SEP_RE = re.compile(r"[\W_]+")
_CJK_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _is_cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" or "\uf900" <= c <= "\ufaff"


def latin_skeleton(lowered: str) -> str:
    """Skeleton of an already folded, lower-cased Latin string: 'n.1.k.e' -> 'nike'."""
    s = "".join(_PIECE_RE.findall(lowered)).translate(_LEET_TABLE)
    s = s.replace("rn", "m").replace("vv", "w")
    return _REPEAT_RE.sub(r"\1", s)


def fold(text: str) -> str:
    """The title with every character folded one-to-one (TR39/NFKC/traditional→simplified) and
    lower-cased, same length as `text` so spans map back unchanged."""
    table, _ = fold_table()
    f = text.translate(table)
    low = f.lower()
    if len(low) != len(text):
        low = "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in f)
    return low


@dataclass(frozen=True)
class Match:
    mark_id: str
    score: float
    variant: str            # exact homoglyph leet spacing typo homophone lookalike script translation
    span: tuple[int, int]   # [start, end) in the original title
    explanation: str
    matched: str = ""       # the title text in span
    name: str = ""          # the registered name it resembles
    cues: tuple[str, ...] = ()
    raw_score: float = 0.0  # before context adjustments
    evidence: float = 0.0   # after context, before calibration; `threshold` applies to it

    def as_dict(self) -> dict:
        return {"mark_id": self.mark_id, "score": round(self.score, 3), "variant": self.variant,
                "span": list(self.span), "explanation": self.explanation}


@dataclass
class _Cand:
    mark: int
    name: str
    start: int
    end: int
    variant: str
    base: float
    why: str
    extra: dict = field(default_factory=dict)


class MarkIndex:
    """Blocking index over a set of marks; build once, reuse for every title."""

    def __init__(self, marks):
        self.marks = tuple(marks)
        self.latin: dict[str, list[tuple[int, str]]] = {}
        self.del1: dict[str, set[str]] = {}
        self.visual: dict[str, set[str]] = {}
        self.max_key = 0
        self.cjk_names: list[tuple[int, str, str]] = []   # (mark index, registered name, folded CJK)
        self.need_exact: list[int] = []
        self.name_fz: list[tuple[str, ...]] = []   # fuzzy pinyin per position of each CJK name
        # names needing one kept character: char -> [(name, position)]; names needing two or more:
        # (char a, char b, gap) -> [(name, position of a)], so a window is only looked at when a
        # pair of its kept characters is in the title (most titles touch no name at all)
        self.post_single: dict[str, list[tuple[int, int]]] = {}
        self.post_two: dict[str, list[tuple[int, int, int, str]]] = {}
        self.post_pair: dict[int, dict[str, list[tuple[int, int]]]] = {}
        self.near: dict[str, dict[str, float]] = {}          # mark character -> look-alikes
        self.redup: dict[str, list[tuple[int, float]]] = {}  # look-alike -> reduplicated names (洽洽)
        self._rel: dict[str, tuple | None] = {}
        self._typo: dict[str, list[str]] = {}
        self.sellers = [frozenset(s.strip().casefold() for s in m.authorized_sellers) for m in self.marks]
        self.groups = [frozenset().union(*(context.class_group(c) for c in m.nice_classes)) if m.nice_classes
                       else frozenset() for m in self.marks]
        pinyin = pinyin_table()
        shapes = shape_table()
        phonetic = _phonetic_index()
        strokes = stroke_table()
        for mi, mark in enumerate(self.marks):
            for name in mark.names:
                folded = fold(name)
                cjk = "".join(c for c in folded if _is_cjk(c))
                if len(cjk) >= 2:
                    ni = len(self.cjk_names)
                    self.cjk_names.append((mi, name, cjk))
                    self.name_fz.append(tuple(_fuzzy_of().get(c, "\2") for c in cjk))
                    # characters that must be kept as they are: n minus the most positions that
                    # the allowed number of distinct substituted characters can cover
                    counts = sorted((cjk.count(x) for x in set(cjk)), reverse=True)
                    need = max(1, len(cjk) - sum(counts[:1 if len(cjk) <= 4 else 2]))
                    self.need_exact.append(need)
                    if need == 1 and len(cjk) == 2:
                        # the other character is checked inline: (name, its offset, mark char there)
                        for p, ch in enumerate(cjk):
                            self.post_two.setdefault(ch, []).append((ni, p, 1 - 2 * p, cjk[1 - p]))
                    elif need == 1 or (len(cjk) - 1) // (need - 1) > 2:
                        # rare shapes (奥利奥; 4 characters of which 2 the same): every character
                        # posts the window, checked by `quick`; this keeps pair gaps to 1 and 2
                        for p, ch in enumerate(cjk):
                            self.post_single.setdefault(ch, []).append((ni, p))
                    else:
                        # `need` kept characters always include two at most (n-1)//(need-1) apart
                        gap = (len(cjk) - 1) // (need - 1)
                        for p in range(len(cjk)):
                            for q in range(p + 1, min(len(cjk), p + gap + 1)):
                                self.post_pair.setdefault(q - p, {}).setdefault(cjk[p] + cjk[q], []).append((ni, p))
                    for p, ch in enumerate(cjk):
                        if ch not in self.near:
                            near = {o: sc for o, sc in shapes.get(ch, {}).items() if sc >= SHAPE_MIN}
                            # same phonetic component, different radical (桃/挑, 海/诲, 粮/狼)
                            for other in phonetic.get(_phonetic_part(ch), ()):
                                if other != ch:
                                    near.setdefault(other, PHONETIC_SHAPE)
                            # one stroke added, removed or changed (日/白, 口/日, 午/牛)
                            for other in strokes.get(ch, ""):
                                near.setdefault(other, STROKE_SHAPE)
                            self.near[ch] = near
                    if len(cjk) == 2 and cjk[0] == cjk[1]:
                        for other, sc in self.near[cjk[0]].items():
                            if sc >= ALL_SUB_SHAPE_MIN:
                                self.redup.setdefault(other, []).append((ni, sc))
                key = latin_skeleton(folded)
                if len(key) >= 2 and sum(c.isalpha() for c in folded) >= 2:
                    self.latin.setdefault(key, []).append((mi, name))
                    self.max_key = max(self.max_key, len(key))
                    if len(key) >= TYPO_MIN_LEN:
                        for d in _deletions(key):
                            self.del1.setdefault(d, set()).add(key)
                    if len(key) >= VISUAL_MIN_LEN:
                        self.visual.setdefault(key.translate(VISUAL_LATIN), set()).add(key)

    def typo_keys(self, key: str) -> list[str]:
        """Mark skeletons one edit from `key` (not `key` itself unless it is one), cached."""
        r = self._typo.get(key)
        if r is None:
            r = []
            for d in _deletions(key) | {key}:
                for mk in self.del1.get(d, ()):
                    if mk not in r and Levenshtein.distance(key, mk) <= 1:
                        r.append(mk)
            if len(self._typo) < 200_000:
                self._typo[key] = r
        return r

    # -- Chinese ---------------------------------------------------------------------------
    def relation(self, t: str, m: str) -> tuple[str, float] | None:
        """How title character `t` can stand for mark character `m`: (kind, strength) or None."""
        key = t + m
        r = self._rel.get(key, _MISSING)
        if r is _MISSING:
            if t == m:
                r = ("exact", 1.0)
            else:
                pin = _primary_pinyin()
                pt, ft = pin.get(t, ("", ""))
                pm, fm = pin.get(m, ("", ""))
                sound = bool(pt) and pt == pm
                shape = self.near.get(m, {}).get(t)
                if shape:
                    r = ("shape+sound" if sound else "shape", shape)
                elif sound:
                    r = ("sound", 0.8)
                elif ft and ft == fm:
                    r = ("fuzzy", 0.6)
                else:
                    r = None
            if len(self._rel) < 500_000:
                self._rel[key] = r
        return r


_MISSING = object()
_SKELETONS: dict[str, str] = {}   # folded piece run -> latin_skeleton (titles repeat their words)
_PY1: dict[str, tuple[str, str]] | None = None


def _primary_pinyin() -> dict[str, tuple[str, str]]:
    """character -> (most common tone-less reading, its fuzzy form)."""
    global _PY1
    if _PY1 is None:
        _PY1 = {c: (r[0], fuzzy_pinyin(r[0])) for c, r in pinyin_table().items() if r}
    return _PY1


_COMMON_PARTS = set("一丨丿丶乙亅口人亻儿八冂冖几刀刂力十卜厂又土士大女子宀寸小尸山巾干广廾弓彡彳心忄扌手日月木水氵火灬牛犭王玉田白目石示禾竹米纟糸虫衣言讠贝车辶金钅门阝隹雨页食饣马鱼鸟艹草艸")


def _phonetic_part(ch: str) -> str | None:
    comps = component_table().get(ch)
    if comps and len(comps) == 2 and comps[1] not in _COMMON_PARTS:
        return comps[1]
    return None


_PHONETIC: dict[str, tuple[str, ...]] | None = None


def _phonetic_index() -> dict[str, tuple[str, ...]]:
    global _PHONETIC
    if _PHONETIC is None:
        idx: dict[str, list[str]] = {}
        for c in component_table():
            part = _phonetic_part(c)
            if part:
                idx.setdefault(part, []).append(c)
        _PHONETIC = {k: tuple(v) for k, v in idx.items() if len(v) <= 25}
    return _PHONETIC


def _shares_part(a: str, b: str) -> bool:
    ca, cb = set(component_table().get(a, ())), set(component_table().get(b, ()))
    return a in cb or b in ca or bool((ca & cb) - _COMMON_PARTS)


def _deletions(key: str) -> set[str]:
    return {key[:i] + key[i + 1:] for i in range(len(key))}


def _latin_pieces(folded: str, original: str) -> list[tuple[int, int]]:
    """Word pieces as [start, end) in the title: alphanumeric runs cut at camel case and letter/digit."""
    out = []
    for m in _PIECE_RE.finditer(folded):
        base = m.start()
        run = m.group(0)
        for sm in _SPLIT_RE.finditer(run):
            s, e = base + sm.start(), base + sm.end()
            # camel case inside a letter run: NikeAir -> Nike | Air (in the folded-but-not-lowered text)
            cut = s
            for j in range(s + 1, e):
                a, b = original[j - 1], original[j]
                if a.islower() and b.isupper():
                    out.append((cut, j))
                    cut = j
            out.append((cut, e))
    return out


def _w(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _edge_ok(folded: str, upper: str, pieces, i: int, j: int) -> bool:
    """Pieces i..j make a word: each edge is a run edge, a camel-case edge, or a letter/digit edge
    whose other side is a number of two or more digits (Nike2024, 2024Nike) — not D10R|4MA."""
    s, e = pieces[i][0], pieces[j][1]
    if s > 0 and _w(folded[s - 1]) and not (folded[s - 1].isalpha() and folded[s].isalpha()):
        # letter/digit edge on the left: the piece before must be a 2+ digit number starting its run
        ps, pe = pieces[i - 1]
        if not (folded[ps:pe].isdigit() and pe - ps >= 2 and (ps == 0 or not _w(folded[ps - 1]))):
            return False
    if e < len(folded) and _w(folded[e]) and not (folded[e - 1].isalpha() and folded[e].isalpha()):
        ns, ne = pieces[j + 1]
        if not (folded[ns:ne].isdigit() and ne - ns >= 2 and (ne == len(folded) or not _w(folded[ne]))):
            return False
    return True


def _latin_candidates(idx: MarkIndex, title: str, folded: str, upper: str) -> list[_Cand]:
    out: list[_Cand] = []
    pieces = _latin_pieces(folded, upper)
    n = len(pieces)
    skel = _SKELETONS
    for i in range(n):
        if not folded[pieces[i][0]].isalnum():
            continue
        acc = ""
        spaced = False
        all_single = True
        for j in range(i, min(n, i + 12)):
            s, e = pieces[j]
            if j > i:
                gap = folded[pieces[j - 1][1]:s]
                if len(gap) > 3 or any(c.isalnum() for c in gap):
                    break
                if gap:
                    spaced = True
            acc += folded[s:e]
            all_single = all_single and (e - s == 1)
            key = skel.get(acc)
            if key is None:
                key = latin_skeleton(acc)
                if len(skel) < 200_000:
                    skel[acc] = key
            if len(key) > idx.max_key + 1:
                break
            if not folded[e - 1].isalnum():
                continue
            start, end = pieces[i][0], e
            if not _edge_ok(folded, upper, pieces, i, j):
                continue
            hits = idx.latin.get(key)
            if hits:
                if len(key) <= 3 and spaced and not all_single:
                    continue
                for mi, name in hits:
                    c = _latin_variant(idx, mi, name, title, folded, start, end)
                    if c:
                        out.append(c)
                continue
            if spaced and not all_single:
                continue
            if len(key) >= TYPO_MIN_LEN:
                for mk in idx.typo_keys(key):
                    if True:
                        if True:
                            for mi, name in idx.latin[mk]:
                                out.append(_Cand(mi, name, start, end, "typo", 0.66,
                                                 f"{title[start:end]!r} is one letter away from {name!r}"))
            if len(key) >= VISUAL_MIN_LEN:
                for mk in idx.visual.get(key.translate(VISUAL_LATIN), ()):
                    if mk == key:
                        continue
                    diffs = [(a, b) for a, b in zip(key, mk) if a != b]
                    if 0 < len(diffs) <= 2:
                        pairs = ", ".join(f"{a}/{b}" for a, b in dict.fromkeys(diffs))
                        for mi, name in idx.latin[mk]:
                            out.append(_Cand(mi, name, start, end, "typo", 0.7,
                                             f"{title[start:end]!r} reads like {name!r}: look-alike letters {pairs}"))
    return out


def _latin_variant(idx: MarkIndex, mi: int, name: str, title: str, folded: str, start: int, end: int) -> _Cand | None:
    raw = title[start:end]
    _, reasons = fold_table()
    sepless_raw = _SEP_RE.sub("", raw.lower())
    sepless_name = _SEP_RE.sub("", name.lower())
    glyphs = [c for c in raw if reasons.get(c) in ("tr39", "nfkc")]
    leet = [c for c in sepless_raw if c in LEET]
    if not glyphs and " ".join(_SEP_RE.sub(" ", folded[start:end]).split()) == " ".join(
            _SEP_RE.sub(" ", fold(name)).split()):
        primary = idx.marks[mi].names[0]
        if name != primary and any(_is_cjk(c) for c in primary):
            return _Cand(mi, name, start, end, "translation", 0.8,
                         f"title contains {name!r}, the registered Latin-script name of {primary!r}")
        return _Cand(mi, name, start, end, "exact", 0.8, f"title contains the registered name {name!r}")
    if glyphs:
        table = fold_table()[0]
        shown = ", ".join(f"{c}→{table[ord(c)]} ({unicodedata.name(c, 'U+%04X' % ord(c)).split(' ')[0].title()})"
                          for c in dict.fromkeys(glyphs))
        return _Cand(mi, name, start, end, "homoglyph", 0.92,
                     f"{raw!r} is {name!r} written with look-alike characters: {shown}")
    if leet and not any(c in LEET for c in sepless_name):
        shown = ", ".join(f"{c}→{LEET[c]}" for c in dict.fromkeys(leet))
        return _Cand(mi, name, start, end, "leet", 0.9, f"{raw!r} is {name!r} in leetspeak ({shown})")
    if sepless_raw == sepless_name:
        return _Cand(mi, name, start, end, "spacing", 0.88, f"{raw!r} is {name!r} with separators inserted")
    # doubled letters alone (Sonny/Sony) are ordinary spelling on short names; Niiike is not
    if _REPEAT_RE.sub(r"\1", sepless_raw) == _REPEAT_RE.sub(r"\1", sepless_name) and len(sepless_name) < TYPO_MIN_LEN \
            and len(sepless_raw) != len(sepless_name) \
            and not re.search(r"(.)\1\1", sepless_raw):
        return None
    return _Cand(mi, name, start, end, "typo", 0.72,
                 f"{raw!r} is {name!r} with look-alike or doubled letters (l/I, rn/m, vv/w)")


def _cjk_candidates(idx: MarkIndex, title: str, folded: str) -> list[_Cand]:
    # the CJK characters of the title as one string, "\0" where a run breaks (more than two
    # characters, or a letter/digit, between two CJK runs); title positions are built only when
    # some window passes the quick test (most titles: none)
    parts: list[str] = []
    runs: list[tuple[int, int]] = []
    last_end = -10
    for m in _CJK_RUN.finditer(folded):
        s = m.start()
        if parts and (s - last_end > 2 or any(ch.isalnum() for ch in folded[last_end:s])):
            parts.append("\0")
            runs.append((-1, -1))
        parts.append(m.group(0))
        runs.append((s, m.end()))
        last_end = m.end()
    if not parts:
        return []
    cs = "".join(parts)
    n_cs = len(cs)
    # every candidate window is anchored on a character of the mark kept as is; the only rule
    # without one (洽洽 -> 治治) goes through the reduplication table
    windows: dict[int, None] = {}   # (name << 11) + window start, in order of discovery
    near = idx.near
    fzget = _fuzzy_of().get
    names, name_fz = idx.cjk_names, idx.name_fz

    def quick(ni: int, st: int) -> bool:
        """Each position kept, a look-alike, or fuzzy-same sound (the full test is `relation`)."""
        cjk = names[ni][2]
        if st < 0 or st + len(cjk) > n_cs:
            return False
        fzs = name_fz[ni]
        for q, m in enumerate(cjk):
            tc = cs[st + q]
            if tc != m and tc not in near[m] and fzget(tc, "\1") != fzs[q]:
                return False
        return True

    # which mark characters / character pairs occur at all: set intersections, in C
    present = set(cs)
    two_names = idx.post_two
    for c in two_names.keys() & present:
        k = cs.find(c)
        while k >= 0:
            for ni, p, off, m in two_names[c]:
                j = k + off
                if 0 <= j < n_cs:
                    t = cs[j]
                    if t == m or t in near[m] or fzget(t, "\1") == name_fz[ni][1 - p]:
                        windows[(ni << 11) + k - p] = None
            k = cs.find(c, k + 1)
    single = idx.post_single
    for c in single.keys() & present:
        k = cs.find(c)
        while k >= 0:
            for ni, p in single[c]:
                if quick(ni, k - p):
                    windows[(ni << 11) + k - p] = None
            k = cs.find(c, k + 1)
    for g, pairs in idx.post_pair.items():
        # a break ("\0") is in no pair
        grams = list(map(str.__add__, cs, cs[g:]))
        for two in pairs.keys() & set(grams):
            for k, x in enumerate(grams):
                if x == two:
                    for ni, p in pairs[two]:
                        if quick(ni, k - p):
                            windows[(ni << 11) + k - p] = None
    redup = [(k.start(), k.group(1)) for k in _DOUBLE_RE.finditer(cs)] if idx.redup else ()
    redup = [(k, c) for k, c in redup if c in idx.redup]
    if not windows and not redup:
        return []
    pos: list[int] = []
    for s, e in runs:
        if s < 0:
            pos.append(-1)
        else:
            pos.extend(range(s, e))
    out = []
    for key in sorted(windows):
        ni = key >> 11
        start = key & 2047
        mi, name, cjk = names[ni]
        d = {}
        for q in range(len(cjk)):
            rel = idx.relation(cs[start + q], cjk[q])
            if rel is None:
                break
            d[q] = (rel[0], rel[1], pos[start + q])
        else:
            cand = _judge_cjk(idx, mi, name, cjk, d, title)
            if cand:
                out.append(cand)
    for k, c in redup:
        ti = pos[k]
        for ni, sc in idx.redup[c]:
            mi, name, cjk = names[ni]
            d = {0: ("shape", sc, ti), 1: ("shape", sc, pos[k + 1])}
            cand = _judge_cjk(idx, mi, name, cjk, d, title)
            if cand:
                out.append(cand)
    return out


_DOUBLE_RE = re.compile(r"(?=([^\0])\1)")
_FZ: dict[str, str] | None = None


def _fuzzy_of() -> dict[str, str]:
    """character -> fuzzy form of its most common tone-less reading (non-empty only)."""
    global _FZ
    if _FZ is None:
        _FZ = {c: f for c, (_, f) in _primary_pinyin().items() if f}
    return _FZ


def _pinyin_of(ch: str) -> str:
    r = pinyin_table().get(ch)
    return r[0] if r else ch


def _judge_cjk(idx, mi, name, cjk, d, title) -> _Cand | None:
    n = len(cjk)
    subs = [p for p in range(n) if d[p][0] != "exact"]
    start, end = d[0][2], d[n - 1][2] + 1
    raw = title[start:end]
    positions = [d[p][2] for p in range(n)]
    contiguous = positions[-1] - positions[0] == n - 1
    if not subs:
        _, reasons = fold_table()
        if any(reasons.get(title[i]) == "t2s" for i in positions):
            return _Cand(mi, name, start, end, "script", 0.85, f"{raw!r} is {name!r} in traditional characters")
        if not contiguous:
            return _Cand(mi, name, start, end, "spacing", 0.86, f"{raw!r} is {name!r} with separators inserted")
        primary = idx.marks[mi].names[0] if idx.marks[mi].names else name
        if name != primary and not any(_is_cjk(c) for c in primary):
            return _Cand(mi, name, start, end, "translation", 0.8,
                         f"title contains {name!r}, the registered Chinese name of {primary!r}")
        return _Cand(mi, name, start, end, "exact", 0.8, f"title contains the registered name {name!r}")
    if n < 2:
        return None
    sub_chars = {cjk[p] for p in subs}
    used = {title[d[p][2]] for p in subs}
    # each substituted mark character must be replaced consistently (奥利奥 -> 粤利粤)
    if len(used) != len(sub_chars):
        return None
    limit = 1 if n <= 4 else 2
    if len(sub_chars) > limit:
        return None
    rels = [d[p][0] for p in subs]
    # no character kept: only a two-character reduplicated mark with a look-alike (洽洽 -> 治治)
    if len(subs) == n and not (n == 2 and cjk[0] == cjk[1] and all(r.startswith("shape") for r in rels)
                               and min(d[p][1] for p in subs) >= ALL_SUB_SHAPE_MIN):
        return None
    strengths = [d[p][1] for p in subs]
    shown = []
    for p in sorted({cjk[q]: q for q in subs}.values()):   # one line per substituted character
        t, m = title[d[p][2]], cjk[p]
        rel = d[p][0]
        if rel.startswith("shape"):
            shared = [x for x in component_table().get(t, ()) if x in component_table().get(m, ())]
            if t in stroke_table().get(m, ""):
                how = "are one stroke apart"
            elif shared:
                how = f"share {''.join(dict.fromkeys(shared))}"
            else:
                how = "look alike"
            shown.append(f"{t}/{m} {how} (shape {d[p][1]:.2f})")
        else:
            shown.append(f"{t}/{m} sound alike ({_pinyin_of(t)} ~ {_pinyin_of(m)})")
    py_raw = " ".join(_pinyin_of(title[i]) for i in positions)
    py_name = " ".join(_pinyin_of(c) for c in cjk)
    length_bonus = 0.04 * (n - 2)
    if any(r.startswith("shape") for r in rels):
        s = min(strengths)
        base = 0.55 + 0.9 * (s - SHAPE_MIN) + length_bonus + (0.05 if any(r == "shape+sound" for r in rels) else 0)
        return _Cand(mi, name, start, end, "lookalike", min(base, 0.95),
                     f"{raw!r} looks like {name!r}: " + "; ".join(shown) + f"; pinyin {py_raw} ~ {py_name}")
    # a two-character mark is a common word shape: one homophone swap is only taken when the
    # new character also shares a component with the old one (华伪/华为, 伊俐/伊利): 音近 + 形近
    if n == 2 and not all(_shares_part(title[d[p][2]], cjk[p]) for p in subs):
        return None
    base = (0.75 if all(r == "sound" for r in rels) else 0.58) + length_bonus
    return _Cand(mi, name, start, end, "homophone", min(base, 0.92),
                 f"{raw!r} sounds like {name!r}: pinyin {py_raw} ~ {py_name}")


def match_title(idx: MarkIndex, title: str, *, seller: str | None = None, category: str | None = None,
                threshold: float = THRESHOLD) -> tuple[list[Match], bool]:
    """(matches at or above `threshold`, best first, one per mark; whether the title was cut)."""
    if not isinstance(title, str) or not title:
        return [], False
    truncated = len(title) > MAX_TITLE_CHARS
    if truncated:
        title = title[:MAX_TITLE_CHARS]
    folded = fold(title)
    upper = title.translate(fold_table()[0])
    cands = _latin_candidates(idx, title, folded, upper)
    if not title.isascii():
        cands += _cjk_candidates(idx, title, folded)
    if not cands:
        return [], truncated
    wanted_seller = seller.strip().casefold() if isinstance(seller, str) and seller.strip() else None
    # a look-alike window that is exactly another mark's registered name is that other mark
    exact_spans = [(c.start, c.end) for c in cands if c.variant in ("exact", "translation", "script")]
    cues = context.counterfeit_cues(folded)
    cat_folded = fold(category) if isinstance(category, str) else ""
    best: dict[int, Match] = {}
    words = None
    cat_goods = None
    descriptive_marks: dict[int, str] = {}
    for c in cands:
        why = context.is_descriptive(folded, c.start, c.end)
        if why:
            descriptive_marks.setdefault(c.mark, why)
    for c in cands:
        if wanted_seller and wanted_seller in idx.sellers[c.mark]:
            continue
        if c.variant not in ("exact", "translation", "script") and any(
                s < c.end and c.start < e and (s, e) != (c.start, c.end) or (s, e) == (c.start, c.end)
                for s, e in exact_spans):
            continue
        score = c.base
        notes = []
        if cues:
            score += min(0.15, 0.08 * len(cues))
            notes.append("counterfeit cue " + ", ".join(repr(x) for x in cues))
        desc = descriptive_marks.get(c.mark)
        if desc:
            score *= 0.7 if cues else 0.45
            notes.append(f"descriptive use ({desc!r}) lowers the score")
        group = idx.groups[c.mark]
        if group:
            if words is None:
                words = context.goods_words(folded)
                cat_goods = context.goods_classes(cat_folded) if cat_folded else {}
            # the registered name itself is not a goods word (可乐 in 可口可乐); a variant that is
            # one (大米 for 小米) is the ordinary word
            exactish = c.variant in ("exact", "translation", "script", "spacing")
            goods = context.goods_classes(folded, (c.start, c.end) if exactish else None, words)
            goods.update(cat_goods)
            if goods and not any(g in group for g in goods):
                score *= 0.7 if cues else 0.4
                shown = ", ".join(f"{w} (class {k})" for k, w in sorted(goods.items()))
                notes.append(f"goods {shown} outside the mark's classes "
                             + ", ".join(str(x) for x in idx.marks[c.mark].nice_classes))
        score = max(0.0, min(1.0, score))
        if score < threshold:
            continue
        prev = best.get(c.mark)
        if prev is not None and (round(score, 3), -c.start) <= (prev.evidence, -prev.span[0]):
            continue
        best[c.mark] = Match(idx.marks[c.mark].id, round(calibration.probability(score), 3), c.variant,
                             (c.start, c.end), c.why + ("; " + "; ".join(notes) if notes else ""),
                             title[c.start:c.end], c.name, tuple(cues), c.base, round(score, 3))
    return sorted(best.values(), key=lambda m: (-m.evidence, m.span)), truncated
