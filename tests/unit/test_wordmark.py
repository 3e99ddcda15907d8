"""The word-mark detector (detectors/wordmark): normalisation, Chinese sound/shape similarity,
span finding, context, the module API, and the F1 floor on the labelled evaluation set."""
from __future__ import annotations

import os

import pytest

from cluewatch.model import Finding, Mark
from detectors import wordmark
from detectors.wordmark import match

NIKE = Mark(id="nike", names=("Nike", "耐克"), nice_classes=(25,), authorized_sellers=("耐克官方旗舰店",))
ADIDAS = Mark(id="adidas", names=("Adidas", "阿迪达斯"), nice_classes=(25,))
APPLE = Mark(id="apple", names=("Apple", "苹果"), nice_classes=(9,))
SPRITE = Mark(id="sprite", names=("Sprite", "雪碧"), nice_classes=(32,))
KSF = Mark(id="kangshifu", names=("康师傅",), nice_classes=(30,))
OREO = Mark(id="oreo", names=("Oreo", "奥利奥"), nice_classes=(30,))
DBT = Mark(id="dabaitu", names=("大白兔",), nice_classes=(30,))
QIAQIA = Mark(id="qiaqia", names=("洽洽",), nice_classes=(29, 30))
WAHAHA = Mark(id="wahaha", names=("娃哈哈",), nice_classes=(32,))
HUAWEI = Mark(id="huawei", names=("Huawei", "华为"), nice_classes=(9,))
MARKS = (NIKE, ADIDAS, APPLE, SPRITE, KSF, OREO, DBT, QIAQIA, WAHAHA, HUAWEI)


def one(title, **kw):
    found = match(title, MARKS, **kw)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("title, variant, text", [
    ("Nike Air Max 运动鞋", "exact", "Nike"),
    ("N1KE air max", "leet", "N1KE"),
    ("ΝΙΚΕ 运动鞋", "homoglyph", "ΝΙΚΕ"),          # Greek capitals
    ("NI\u041a\u0415 跑鞋", "homoglyph", "NI\u041a\u0415"),  # Cyrillic К, Е
    ("ＮＩＫＥ 跑鞋", "homoglyph", "ＮＩＫＥ"),       # full width: partial_ratio scores 0
    ("N.I.K.E 跑鞋", "spacing", "N.I.K.E"),
    ("N I K E 跑鞋", "spacing", "N I K E"),
    ("N\u200bIKE 跑鞋", "spacing", "N\u200bIKE"),  # zero-width space
    ("NikeAir 2024", "exact", "Nike"),            # camel case is a word boundary
    ("耐克 跑步鞋", "translation", "耐克"),
])
def test_latin_variants_of_nike_with_span_in_original_title(title, variant, text):
    m = one(title)
    assert m.mark_id == "nike" and m.variant == variant
    assert title[m.span[0]:m.span[1]] == text == m.matched
    assert 0.5 <= m.score <= 1.0 and m.explanation


def test_typo_and_look_alike_latin_letters():
    m = one("abibas 三道杠 运动鞋")
    assert (m.mark_id, m.variant) == ("adidas", "typo") and "b/d" in m.explanation
    assert one("Addidas 板鞋").mark_id == "adidas"


@pytest.mark.parametrize("title", [
    "Nikon D750 单反相机", "pineapple cake 凤梨酥", "Snapple 果汁", "Mike 同学录", "D10R4MA 模型",
    "ＮＩＫＯＮ Ｄ７５０", "N1 Pro 蓝牙耳机",
])
def test_latin_word_boundaries_and_lookalike_words_are_not_marks(title):
    assert match(title, MARKS) == []


@pytest.mark.parametrize("title, mark_id, variant, text, note", [
    ("康帅傅 红烧牛肉面", "kangshifu", "lookalike", "康帅傅", "帅/师"),
    ("雷碧 汽水 330ml", "sprite", "lookalike", "雷碧", "雨"),
    ("大白免 奶糖", "dabaitu", "lookalike", "大白免", "免/兔"),
    ("治治 瓜子", "qiaqia", "lookalike", "治治", "治/洽"),
    ("康師傅 牛肉麵", "kangshifu", "script", "康師傅", "traditional"),
    ("康师父 方便面", "kangshifu", "homophone", "康师父", "fu"),
    ("华伪 手机", "huawei", "homophone", "华伪", "hua wei"),
    ("雪 碧 汽水", "sprite", "spacing", "雪 碧", "separators"),
])
def test_chinese_sound_shape_and_script(title, mark_id, variant, text, note):
    m = one(title)
    assert (m.mark_id, m.variant) == (mark_id, variant)
    assert title[m.span[0]:m.span[1]] == text
    assert note in m.explanation


def test_explanation_names_the_shared_component_and_pinyin():
    m = one("雷碧 汽水")
    assert m.explanation.startswith("'雷碧' looks like '雪碧'")
    assert "share 雨" in m.explanation and "lei bi ~ xue bi" in m.explanation


@pytest.mark.parametrize("title", [
    "apple juice 100% 纯果汁", "红富士苹果 新鲜水果 5斤", "华威 大厦 写字楼", "汪汪队立大功 玩具",
    "iPhone 15 手机壳 (适用于 Apple iPhone)", "钢化膜 适用于华为 Mate60",
])
def test_different_goods_descriptive_use_and_homophone_words_are_not_flagged(title):
    assert match(title, MARKS) == []


def test_category_outside_the_marks_classes_lowers_the_score():
    assert match("Apple 红富士", MARKS) != []
    assert match("Apple 红富士", MARKS, category="生鲜 水果") == []


def test_counterfeit_cues_raise_the_score_and_are_reported():
    plain = one("Nike 跑鞋")
    cued = one("高仿 Nike 跑鞋 1:1 复刻")
    assert cued.score > plain.score
    assert "高仿" in cued.cues and "高仿" in cued.explanation


def test_authorized_seller_is_never_flagged():
    assert match("Nike 跑鞋", MARKS, seller=" 耐克官方旗舰店 ") == []
    assert match("Nike 跑鞋", MARKS, seller="某小店") != []


@pytest.mark.parametrize("title", [None, "", "   ", "\x00\x01\x1f", "💥" * 50, 12345, "\ud800 broken"])
def test_bad_input_is_a_safe_empty_result(title):
    assert match(title, MARKS) == []


def test_enormous_title_is_capped():
    title = "正品 " + "x" * 5000 + " Nike"
    assert match(title, MARKS) == []                       # beyond the cap
    assert match("Nike " + "x" * 5000, MARKS)[0].span == (0, 4)


def test_detect_has_the_text_detector_module_api():
    assert wordmark.DETECTOR == "text.wordmark" and wordmark.VERSION
    [f] = wordmark.detect({"title": "精仿 N1KE 跑鞋", "seller_name": "x", "category": "运动鞋"}, MARKS)
    assert isinstance(f, Finding) and f.detector == "text.wordmark" and f.mark_id == "nike"
    assert f.evidence["span"] == [3, 7] and f.evidence["matched"] == "N1KE"
    assert f.evidence["variant"] == "leet" and "leetspeak" in f.evidence["explanation"]
    assert wordmark.detect({"title": None}, MARKS) == []


def test_index_is_cached_per_mark_set():
    assert wordmark.index_for(MARKS) is wordmark.index_for(MARKS)


def test_shape_data_comes_from_the_shipped_resource():
    from detectors.wordmark.tables import shape_table

    table = shape_table()
    assert len(table) > 5000                       # GB2312 characters, not a hand list
    assert table["雪"]["雷"] >= 0.75 and table["兔"]["免"] >= 0.9


EVAL = os.path.join(os.path.dirname(__file__), "..", "data", "text_eval")


def test_f1_on_the_labelled_set_and_far_above_the_naive_baseline():
    from cluewatch.textmatch_cli import evaluate

    result = evaluate(os.path.join(EVAL, "registry.yaml"), os.path.join(EVAL, "labels.jsonl"))
    det, base = result["all"]["detector"], result["all"]["baseline"]
    assert det["rows"] >= 400
    assert det["f1"] >= 0.95, det
    assert result["heldout"]["detector"]["f1"] >= 0.90
    assert det["f1"] >= base["f1"] + 0.3
    # hard negatives (everything but unbranded/unrelated titles): the baseline flags most, the detector few
    easy = ("same-goods-no-mark", "unrelated")

    def hard(s):
        cases = [v for k, v in s["negatives_flagged_by_case"].items() if k not in easy]
        return sum(f for f, _ in cases), sum(n for _, n in cases)

    det_fl, n = hard(det)
    base_fl, _ = hard(base)
    assert n >= 100
    assert det_fl <= 0.05 * n
    assert base_fl >= 0.5 * n
    assert base_fl - det_fl >= 0.45 * n


def test_score_is_the_calibrated_probability_of_the_evidence_and_keeps_its_order():
    from detectors.wordmark import calibration

    params = calibration.parameters()
    assert params["method"] == "platt" and "split=dev" in params["fitted_on"]
    grid = [i / 100 for i in range(101)]
    probs = [calibration.probability(x) for x in grid]
    assert all(0.0 <= p <= 1.0 for p in probs) and probs == sorted(probs)
    # every reported match (evidence >= THRESHOLD) is at least an even bet, so the pipeline's
    # suspect threshold (0.5 on the fused score) keeps flagging what the detector reports
    assert calibration.probability(wordmark.THRESHOLD) >= 0.5
    m = one("N1KE air max")
    assert m.evidence >= wordmark.THRESHOLD
    assert m.score == round(calibration.probability(m.evidence), 3)


def test_calibration_on_the_held_out_split_beats_the_raw_evidence_score():
    from cluewatch.textmatch_cli import evaluate

    result = evaluate(os.path.join(EVAL, "registry.yaml"), os.path.join(EVAL, "labels.jsonl"))
    cal = result["heldout"]["calibration"]
    assert cal["pairs"] >= 50
    assert cal["ece"] <= 0.06 and cal["ece"] < cal["ece_before"] / 2
