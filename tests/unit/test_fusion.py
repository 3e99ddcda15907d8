from cluewatch.model import Finding
from detectors import fusion


def test_fusion_noisy_or_and_threshold():
    one = Finding("a", "1", "m", 0.4)
    assert fusion.fuse([]) == 0.0
    assert not fusion.is_suspect([one])
    assert fusion.is_suspect([one, Finding("b", "1", "m", 0.4)])  # 1 - 0.6*0.6 = 0.64
    assert fusion.fuse([Finding("a", "1", "m", 1.5)]) == 1.0  # clamped
    assert round(fusion.fuse([Finding("a", "1", "m", 0.5), Finding("b", "1", "m", 0.5)]), 2) == 0.75
