"""A tiny pure-Python SVG plotter: grouped horizontal bar charts and line charts.

Strings in, strings out, no dependencies, so the dashboard stays one self-contained HTML
file. Values <= 0 or None are drawn as "n/a" rather than invented. Log scales use
decades: a bar's length is proportional to log10(value / lower decade).

Example: bar_chart("time", ["a", "b"], {"x": [1.0, 10.0]}, unit="ms", log=True) returns an
<svg> with two bars, the second one decade longer than the first.
"""
from __future__ import annotations

import math
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac")
FONT = 'font-family="sans-serif" font-size="12"'


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if 1000 <= abs(v) < 1e6:
        return f"{v:,.0f}"
    if abs(v) >= 1e6 or abs(v) < 0.01:
        return f"{v:.3g}"
    return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"


def _scale(values, log: bool):
    """(lo, hi, f) with f mapping a value to [0, 1] along the axis."""
    vals = [v for v in values if v is not None and v > 0]
    if not vals:
        raise ValueError("svg: nothing to plot (no positive values)")
    if log:
        lo, hi = math.floor(math.log10(min(vals))), math.ceil(math.log10(max(vals)))
        hi = hi if hi > lo else lo + 1
        return 10.0 ** lo, 10.0 ** hi, lambda v: (math.log10(v) - lo) / (hi - lo)
    hi = max(vals) * 1.05
    return 0.0, hi, lambda v: v / hi


def _ticks(lo, hi, log):
    if log:
        return [10.0 ** e for e in range(round(math.log10(lo)), round(math.log10(hi)) + 1)]
    step = 10 ** math.floor(math.log10(hi / 4))
    step *= next(m for m in (1, 2, 5, 10) if hi / (step * m) <= 6)
    return [i * step for i in range(int(hi / step) + 1)]


def _legend(names, x, y) -> list[str]:
    out = []
    for i, name in enumerate(names):
        yy = y + 16 * i
        out.append(f'<rect x="{x}" y="{yy}" width="10" height="10" '
                   f'fill="{PALETTE[i % len(PALETTE)]}"/>')
        out.append(f'<text x="{x + 14}" y="{yy + 9}" {FONT}>{escape(name)}</text>')
    return out


def _legend_rows(names, width: int) -> list[list[tuple[int, str]]]:
    """The legend flowed left to right in rows of `width` px: [(x, name), ...] per row
    (about 6.5 px a character at 12 px, plus the swatch)."""
    rows, x = [[]], 10
    for name in names:
        w = 24 + int(6.5 * len(name))
        if rows[-1] and x + w > width:
            rows.append([])
            x = 10
        rows[-1].append((x, name))
        x += w
    return rows


def _legend_below(names, y: int, width: int) -> list[str]:
    out, index = [], {n: i for i, n in enumerate(names)}
    for r, row in enumerate(_legend_rows(names, width)):
        for x, name in row:
            color = PALETTE[index[name] % len(PALETTE)]
            out.append(f'<rect x="{x}" y="{y + 16 * r}" width="10" height="10" '
                       f'fill="{color}"/>')
            out.append(f'<text x="{x + 14}" y="{y + 16 * r + 9}" {FONT}>{escape(name)}</text>')
    return out


def _bar_axis(lo, hi, f, log, unit, reference_line, x0, plot_w, top, axis_y) -> list[str]:
    """The value axis of a bar chart: grid lines, tick labels, the unit, the dashed
    reference line."""
    out = []
    for t in _ticks(lo, hi, log):
        if t < lo or t > hi:
            continue
        x = x0 + (f(t) if t > 0 else 0) * plot_w
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" {FONT}>'
                   f'{_fmt(t)}</text>')
    out.append(f'<text x="{x0 + plot_w}" y="{top - 8}" text-anchor="end" {FONT}>'
               f'{escape(unit)}{" (log scale)" if log else ""}</text>')
    if reference_line is not None and lo < reference_line <= hi:
        x = x0 + f(reference_line) * plot_w
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{axis_y}" '
                   f'stroke="#333" stroke-dasharray="4 3"/>')
    return out


def _bars(values, names, lo, f, unit, x0, plot_w, y0, bar_h) -> list[str]:
    """One group's bars, one per series, with the value as tooltip and label."""
    out = []
    for si, (name, v) in enumerate(zip(names, values)):
        y = y0 + si * bar_h
        if v is None or v <= 0:
            continue
        w = max(1.0, min(f(max(v, lo)), 1.0) * plot_w)
        out.append(f'<rect x="{x0}" y="{y}" width="{w:.1f}" height="{bar_h - 1}" '
                   f'fill="{PALETTE[si % len(PALETTE)]}"><title>{escape(name)}: '
                   f'{_fmt(v)} {escape(unit)}</title></rect>')
        out.append(f'<text x="{x0 + w + 3:.1f}" y="{y + bar_h - 1}" '
                   f'font-family="sans-serif" font-size="9">{_fmt(v)}</text>')
    return out


def bar_chart(title: str, categories, series: dict, unit: str = "", log: bool = False,
              width: int = 760, bar_h: int = 9, reference_line: float | None = None,
              legend_below: bool = False, label_w: int = 170) -> str:
    """Grouped horizontal bars: one group per category, one bar per series.
    `series` maps a name to one value per category (None: not measured). With
    `legend_below` the legend goes under the plot, so a narrow chart keeps its bars."""
    names = list(series)
    lo, hi, f = _scale([v for vals in series.values() for v in vals], log)
    right, top = (50 if legend_below else 200), 36
    plot_w = width - label_w - right
    group_h = bar_h * len(names) + 10
    legend_h = 16 * len(_legend_rows(names, width)) + 6 if legend_below else 0
    height = top + group_h * len(categories) + 30 + legend_h
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<text x="{width / 2}" y="16" text-anchor="middle" {FONT} font-weight="bold">'
           f'{escape(title)}</text>']
    out += _bar_axis(lo, hi, f, log, unit, reference_line, label_w, plot_w, top,
                     height - 24 - legend_h)
    for gi, cat in enumerate(categories):
        y0 = top + gi * group_h
        out.append(f'<text x="{label_w - 6}" y="{y0 + group_h / 2}" text-anchor="end" '
                   f'{FONT}>{escape(str(cat))}</text>')
        out += _bars([series[n][gi] for n in names], names, lo, f, unit, label_w, plot_w,
                     y0, bar_h)
    out += _legend_below(names, height - legend_h, width) if legend_below else \
        _legend(names, label_w + plot_w + 40, top)
    out.append("</svg>")
    return "\n".join(out)


def _line_axes(xaxis, yaxis, box, whole: bool) -> list:
    """Tick labels of a line chart; whole: integer x values (runs, epochs) get integer
    ticks only."""
    (xlo, xhi, fx, logx), (ylo, yhi, fy, logy), (left, top, pw, ph) = xaxis, yaxis, box
    out = []
    for t in _ticks(xlo, xhi, logx):
        if xlo <= t <= xhi and t > 0 and (not whole or float(t).is_integer()):
            x = left + fx(t) * pw
            out.append(f'<text x="{x:.1f}" y="{top + ph + 14}" text-anchor="middle" '
                       f'{FONT}>{_fmt(t)}</text>')
    for t in _ticks(ylo, yhi, logy):
        if not ylo <= t <= yhi:
            continue
        y = top + ph - fy(t) * ph if t > 0 else top + ph
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" {FONT}>'
                   f'{_fmt(t)}</text>')
    return out


def _lines(series: dict, fx, fy, box) -> list:
    """One polyline per series, with a marker and tooltip at each point."""
    left, top, pw, ph = box
    out = []
    for i, (name, pts) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        coords = [(left + fx(x) * pw, top + ph - fy(y) * ph) for x, y in sorted(pts)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" '
                   f'stroke-width="2"/>')
        for (x, y), (vx, vy) in zip(coords, sorted(pts)):
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}">'
                       f'<title>{escape(name)}: {_fmt(vx)}, {_fmt(vy)}</title></circle>')
    return out


def line_chart(title: str, series: dict, xlabel: str, ylabel: str, logx: bool = True,
               width: int = 760, height: int = 300, logy: bool = False,
               legend_below: bool = False) -> str:
    """Lines through (x, y) points, one per series; markers carry tooltips. With
    `legend_below` the legend goes under the plot (a narrow chart keeps its width)."""
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    xlo, xhi, fx = _scale(xs, logx)
    ylo, yhi, fy = _scale(ys, logy)
    legend_h = 16 * len(_legend_rows(list(series), width)) + 6 if legend_below else 0
    if legend_below:
        right = 20
    else:   # the legend takes what its longest name needs (about 6 px a character)
        right = max(200, 40 + 6 * max(map(len, series), default=0))
        width += right - 200
    height += legend_h
    left, top, bottom = 70, 30, 44 + legend_h
    pw, ph = width - left - right, height - top - bottom
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<text x="{width / 2}" y="16" text-anchor="middle" {FONT} font-weight="bold">'
           f'{escape(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
           f'stroke="#999"/>']
    out += _line_axes((xlo, xhi, fx, logx), (ylo, yhi, fy, logy), (left, top, pw, ph),
                      all(float(x).is_integer() for x in xs))
    out.append(f'<text x="{left + pw / 2}" y="{height - 6 - legend_h}" text-anchor="middle" '
               f'{FONT}>{escape(xlabel)}</text>')
    out.append(f'<text x="14" y="{top + ph / 2}" text-anchor="middle" {FONT} '
               f'transform="rotate(-90 14 {top + ph / 2})">{escape(ylabel)}</text>')
    out += _lines(series, fx, fy, (left, top, pw, ph))
    out += _legend_below(list(series), height - legend_h, width) if legend_below else \
        _legend(list(series), left + pw + 20, top)
    out.append("</svg>")
    return "\n".join(out)
