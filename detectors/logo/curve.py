"""Precision–recall curves of logo detectors as one SVG picture (`cluewatch eval logo --curve`).

A table gives one operating point; the curve shows what every score threshold would give, where
the precision target is crossed and how far the baseline is below — what a reader takes in at a
glance. Two panels: the whole range, and precision 0.9–1 where the operating decisions are made.
Plain SVG text: no plotting library, opens in any browser, diffable in a pull request.

    pts = evaluate.pr_points(scored, n_boxes)   # [(threshold, precision, recall)], threshold falling
    svg = pr_curve_svg({"default": pts, "baseline": base_pts}, title="…", target_precision=0.98)
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
WIDTH, HEIGHT = 900, 420
TOP, BOTTOM, LEGEND = 44, 56, 190


@dataclass(frozen=True)
class Panel:
    left: float
    width: float
    p_low: float                 # precision at the bottom edge
    top: float = TOP
    height: float = HEIGHT - TOP - BOTTOM

    def x(self, recall: float) -> float:
        return self.left + recall * self.width

    def y(self, precision: float) -> float:
        # below p_low a curve leaves the panel (clipped there), rather than lying on its edge
        return self.top + (1.0 - precision) / (1.0 - self.p_low) * self.height


FULL = Panel(left=56, width=290, p_low=0.0)
ZOOM = Panel(left=400, width=290, p_low=0.9)


def _axes(panel: Panel, title: str) -> list[str]:
    out = []
    for i in range(11):
        r = i / 10
        p = panel.p_low + (1.0 - panel.p_low) * i / 10
        x, y = panel.x(r), panel.y(p)
        out.append(f'<line x1="{x:.1f}" y1="{panel.top}" x2="{x:.1f}" y2="{panel.top + panel.height}" stroke="#eee"/>')
        out.append(f'<line x1="{panel.left}" y1="{y:.1f}" x2="{panel.left + panel.width}" y2="{y:.1f}" stroke="#eee"/>')
        if i % 2 == 0:
            out.append(f'<text x="{x:.1f}" y="{panel.top + panel.height + 16}" text-anchor="middle">{r:.1f}</text>')
            out.append(f'<text x="{panel.left - 6}" y="{y + 4:.1f}" text-anchor="end">{p:.2f}</text>')
    out.append(f'<rect x="{panel.left}" y="{panel.top}" width="{panel.width}" height="{panel.height}" '
               f'fill="none" stroke="#444"/>')
    out.append(f'<text x="{panel.left + panel.width / 2:.1f}" y="{HEIGHT - 16}" text-anchor="middle">recall</text>')
    out.append(f'<text x="{panel.left}" y="{panel.top - 6}" font-size="11" fill="#555">{escape(title)}</text>')
    return out


def _curve(panel: Panel, pts, colour: str) -> list[str]:
    """A step curve (between two thresholds recall holds while precision changes) and a dot at its
    end: what the detector reports, its own threshold already applied."""
    if not pts:
        return []
    xy = [(panel.x(0.0), panel.y(pts[0][1]))]
    for _, p, r in pts:
        xy += [(panel.x(r), xy[-1][1]), (panel.x(r), panel.y(p))]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    clip = "" if panel.p_low <= 0 else ' clip-path="url(#zoom)"'
    _, p, r = pts[-1]
    return [f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{clip}/>',
            f'<circle cx="{panel.x(r):.1f}" cy="{panel.y(p):.1f}" r="5" fill="{colour}" stroke="white"{clip}/>']


def pr_curve_svg(curves: dict[str, list[tuple[float, float, float]]], title: str = "",
                 target_precision: float | None = 0.98) -> str:
    """One SVG with a step curve per detector (recall across, precision up) from
    `evaluate.pr_points`, in two panels (all precisions; 0.9–1), a dashed line at
    `target_precision`, and a dot at each curve's end: what the detector reports."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
             f'<defs><clipPath id="zoom"><rect x="{ZOOM.left}" y="{ZOOM.top - 6}" width="{ZOOM.width}" '
             f'height="{ZOOM.height + 12}"/></clipPath></defs>',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
             f'<text x="{FULL.left}" y="18" font-size="14">{escape(title)}</text>',
             f'<text transform="translate(14 {TOP + FULL.height / 2:.1f}) rotate(-90)" text-anchor="middle">'
             f'precision</text>']
    parts += _axes(FULL, "all precisions") + _axes(ZOOM, "precision 0.9–1")
    if target_precision is not None:
        for panel in (FULL, ZOOM):
            y = panel.y(target_precision)
            parts.append(f'<line x1="{panel.left}" y1="{y:.1f}" x2="{panel.left + panel.width}" y2="{y:.1f}" '
                         f'stroke="#888" stroke-dasharray="5 4"/>')
        parts.append(f'<text x="{ZOOM.left + ZOOM.width - 4}" y="{ZOOM.y(target_precision) + 14:.1f}" '
                     f'text-anchor="end" fill="#666">precision {target_precision:g}</text>')
    legend_x = WIDTH - LEGEND + 16
    for i, (name, pts) in enumerate(curves.items()):
        colour = COLOURS[i % len(COLOURS)]
        parts += _curve(FULL, pts, colour) + _curve(ZOOM, pts, colour)
        ly = TOP + 16 + 36 * i
        parts.append(f'<line x1="{legend_x}" y1="{ly - 4}" x2="{legend_x + 20}" y2="{ly - 4}" '
                     f'stroke="{colour}" stroke-width="3"/>')
        parts.append(f'<text x="{legend_x + 26}" y="{ly}">{escape(name)}</text>')
        if pts:
            _, p, r = pts[-1]
            parts.append(f'<text x="{legend_x + 26}" y="{ly + 14}" font-size="10" fill="#555">'
                         f'● reported: P {p:.3f} R {r:.3f}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
