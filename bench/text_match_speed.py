"""Word-mark detector throughput: titles per second against 1,000 and 10,000 marks.

    .venv/bin/python bench/text_match_speed.py                       # 50,000 titles, 1k and 10k marks
    .venv/bin/python bench/text_match_speed.py --titles 1000000 --marks 10000 --workers 2

Marks: the 54 marks of tests/data/text_eval/registry.yaml plus synthetic ones (Chinese names of
2-4 characters drawn from the GB2312 level-1 characters, Latin names of 4-9 letters), so the
blocking index sees realistic character overlap. Titles: the labelled evaluation titles mixed
with synthetic marketplace titles (goods words, numbers, random CJK/Latin filler); about one in
ten contains a mark or a variant. Prints build time, titles/s per process and overall, the
projected wall time for 1,000,000 titles, and peak memory (max RSS).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from cluewatch.model import Mark  # noqa: E402
from cluewatch.registry import load_registry  # noqa: E402

EVAL = os.path.join(ROOT, "tests", "data", "text_eval")
GOODS = "运动鞋 卫衣 手机 耳机 充电器 方便面 饼干 纯牛奶 汽水 洗衣粉 牙膏 手提包 手表 白酒 咖啡 零食 大礼包 整箱 包邮 正品 " \
        "新款 特价 批发 sneakers phone case charger cable shoes jacket bag watch coffee snack 330ml 500g 2024 XL".split()


def level1_chars() -> list[str]:
    from detectors.wordmark.data.build_tables import gb2312_chars

    return gb2312_chars(last_row=0xD7)


def synthetic_marks(n: int, rng: random.Random) -> list[Mark]:
    base = list(load_registry(os.path.join(EVAL, "registry.yaml")).marks)
    chars = level1_chars()
    letters = "abcdefghijklmnopqrstuvwxyz"
    marks = list(base)
    i = 0
    while len(marks) < n:
        i += 1
        zh = "".join(rng.choice(chars) for _ in range(rng.choice((2, 3, 3, 4))))
        en = "".join(rng.choice(letters) for _ in range(rng.randint(4, 9))).capitalize()
        names = (en, zh) if rng.random() < 0.5 else ((zh,) if rng.random() < 0.5 else (en,))
        marks.append(Mark(id=f"m{i}", names=names, nice_classes=(rng.randint(1, 45),)))
    return marks[:n]


def synthetic_titles(n: int, marks: list[Mark], rng: random.Random) -> list[str]:
    labelled = [json.loads(x)["title"] for x in open(os.path.join(EVAL, "labels.jsonl"), encoding="utf-8")]
    chars = level1_chars()
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.05:
            out.append(rng.choice(labelled))
            continue
        parts = rng.sample(GOODS, rng.randint(3, 7))
        parts.append("".join(rng.choice(chars) for _ in range(rng.randint(2, 8))))
        if r < 0.10:
            name = rng.choice(rng.choice(marks).names)
            parts.insert(rng.randint(0, len(parts)), name)
        rng.shuffle(parts)
        out.append(" ".join(parts))
    return out


_IDX = None


def _work(chunk: list[str]) -> int:
    from detectors.wordmark import match

    hits = 0
    for t in chunk:
        hits += len(match(t, _IDX))
    return hits


def run(n_marks: int, n_titles: int, workers: int, seed: int = 7) -> dict:
    global _IDX
    from detectors.wordmark import MarkIndex
    from detectors.wordmark.tables import component_table, fold_table, pinyin_table, shape_table

    rng = random.Random(seed)
    marks = synthetic_marks(n_marks, rng)
    titles = synthetic_titles(n_titles, marks, rng)
    t0 = time.perf_counter()
    fold_table(), pinyin_table(), shape_table(), component_table()
    t1 = time.perf_counter()
    _IDX = MarkIndex(marks)
    t2 = time.perf_counter()
    if workers <= 1:
        hits = _work(titles)
    else:
        size = max(1, len(titles) // (workers * 8))
        chunks = [titles[i:i + size] for i in range(0, len(titles), size)]
        with mp.get_context("fork").Pool(workers) as pool:
            hits = sum(pool.map(_work, chunks))
    t3 = time.perf_counter()
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rate = n_titles / (t3 - t2)
    return {"marks": n_marks, "titles": n_titles, "workers": workers, "tables_s": round(t1 - t0, 2),
            "index_s": round(t2 - t1, 2), "match_s": round(t3 - t2, 2), "titles_per_s": round(rate),
            "projected_1M_s": round(1_000_000 / rate, 1), "matches": hits,
            "max_rss_mb": round(max(rss_self, rss_child))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--titles", type=int, default=50_000)
    ap.add_argument("--marks", type=int, nargs="*", default=[1_000, 10_000])
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    print(f"{'marks':>6} {'titles':>8} {'workers':>7} {'tables s':>8} {'index s':>7} {'match s':>7} "
          f"{'titles/s':>9} {'1M titles s':>11} {'max RSS MB':>10}")
    for n in args.marks:
        r = run(n, args.titles, args.workers)
        print(f"{r['marks']:6} {r['titles']:8} {r['workers']:7} {r['tables_s']:8} {r['index_s']:7} {r['match_s']:7} "
              f"{r['titles_per_s']:9} {r['projected_1M_s']:11} {r['max_rss_mb']:10}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
