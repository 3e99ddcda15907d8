from cluewatch.model import Mark
from detectors import fusion, text

NIKE = Mark(id="nike", names=("Nike", "耐克"), reg_no="100", authorized_sellers=("耐克官方旗舰店",))
SPRITE = Mark(id="sprite", names=("Sprite", "雪碧"))


def test_finds_registered_name_case_insensitively_with_span():
    [m] = text.match_title("高仿 NIKE 运动鞋", [NIKE, SPRITE])
    assert (m.mark_id, m.name, m.span) == ("nike", "Nike", (3, 7))
    assert "高仿 NIKE 运动鞋"[m.span[0]:m.span[1]] == "NIKE"


def test_chinese_name_and_one_match_per_mark():
    matches = text.match_title("雪碧 Sprite 330ml", [NIKE, SPRITE])
    assert [(m.mark_id, m.name) for m in matches] == [("sprite", "Sprite")]


def test_authorized_seller_is_never_flagged():
    assert text.match_title("Nike Air 正品", [NIKE], seller=" 耐克官方旗舰店 ") == []
    assert text.match_title("Nike Air 正品", [NIKE], seller="某某小店") != []


def test_nothing_in_empty_or_unrelated_title():
    assert text.match_title(None, [NIKE]) == []
    assert text.match_title("", [NIKE]) == []
    assert text.match_title("Nikon D750 相机", [NIKE]) == []


def test_detect_produces_findings_with_evidence():
    [f] = text.detect({"title": "精仿耐克跑鞋", "seller_name": "x"}, [NIKE])
    assert f.detector == text.DETECTOR and f.mark_id == "nike"
    assert f.evidence["span"] == [2, 4] and f.evidence["matched"] == "耐克"
    assert "耐克" in f.reason


def test_fusion_noisy_or_and_threshold():
    from cluewatch.model import Finding

    one = Finding("a", "1", "m", 0.4)
    assert fusion.fuse([]) == 0.0
    assert not fusion.is_suspect([one])
    assert fusion.is_suspect([one, Finding("b", "1", "m", 0.4)])  # 1 - 0.6*0.6 = 0.64
    assert fusion.fuse([Finding("a", "1", "m", 1.5)]) == 1.0  # clamped
