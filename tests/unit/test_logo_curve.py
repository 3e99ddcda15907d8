"""Precision–recall points and their SVG picture (`cluewatch eval logo --curve`)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from detectors.logo import curve, evaluate

SVG = "{http://www.w3.org/2000/svg}"


def _polyline(svg: str, n: int = 0) -> list[tuple[float, float]]:
    line = ET.fromstring(svg).findall(f"{SVG}polyline")[n]
    return [tuple(map(float, p.split(","))) for p in line.get("points").split()]


def test_points_follow_the_threshold_down_and_best_recall_agrees():
    scored = [(0.95, True), (0.9, True), (0.9, False), (0.7, True), (0.6, False), (0.6, False)]
    pts = evaluate.pr_points(scored, n_boxes=4)
    assert [t for t, _, _ in pts] == [0.95, 0.9, 0.7, 0.6]          # ties kept or dropped together
    assert pts[1] == (0.9, 2 / 3, 0.5) and pts[-1] == (0.6, 0.5, 0.75)
    assert evaluate.best_recall_at(scored, 4, 0.98) == (0.25, 0.95)
    assert evaluate.best_recall_at(scored, 4, 0.7) == (0.75, 0.7)
    assert evaluate.pr_points([], 3) == [] and evaluate.best_recall_at([], 0, 0.98) == (0.0, None)


def test_curve_is_drawn_where_the_points_are():
    pts = [(0.9, 1.0, 0.25), (0.7, 0.75, 0.75)]
    svg = curve.pr_curve_svg({"default": pts, "baseline": [(0.5, 0.2, 0.1)]}, title="t", target_precision=0.98)
    xy = _polyline(svg)
    full = curve.FULL
    # starts on the recall-0 axis at the first precision, ends at the last point
    assert xy[0] == (full.x(0.0), full.y(1.0))
    assert xy[-1] == (round(full.x(0.75), 1), round(full.y(0.75), 1))
    # the reported point (the curve's end) is marked and named in the legend
    dots = ET.fromstring(svg).findall(f"{SVG}circle")
    assert (float(dots[0].get("cx")), float(dots[0].get("cy"))) == xy[-1]
    assert "reported: P 0.750 R 0.750" in svg and "reported: P 0.200 R 0.100" in svg
    assert "precision 0.98" in svg
    # each curve twice: the whole range, and the zoom on precision 0.9–1, where a curve below 0.9 is clipped
    lines = ET.fromstring(svg).findall(f"{SVG}polyline")
    assert len(lines) == 4 and lines[1].get("clip-path") == "url(#zoom)"
    zoomed = _polyline(svg, 1)
    assert zoomed[-1] == (round(curve.ZOOM.x(0.75), 1), round(curve.ZOOM.y(0.75), 1))
    assert curve.ZOOM.y(0.9) == curve.ZOOM.top + curve.ZOOM.height and curve.ZOOM.y(0.2) > curve.ZOOM.y(0.9)


def test_hostile_names_are_escaped():
    svg = curve.pr_curve_svg({"<script>x</script>": [(0.9, 1.0, 0.5)]}, title='a&b"<img src=x>')
    ET.fromstring(svg)                                       # still well-formed XML
    assert "<script>" not in svg and "<img" not in svg and "&lt;script&gt;" in svg
