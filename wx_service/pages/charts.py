"""Server-rendered SVG charts: hours per month of an org and its children (志愿活动统计).

Plain SVG in the page (no script, no library): it scales with the page, reads in any WebView and
prints.  Each series is a line with its points; labels are text, so 关怀模式 enlarges them too.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

COLOURS = ("#07c160", "#1485ee", "#fa9d3b", "#e64340", "#8c54d8", "#10aeb5", "#d8a800", "#6b7b8c")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 300, 56, 40, 16


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    return float(((int(value) // step) + 1) * step)


def hours_chart(months: list[str], series: list[tuple[str, dict[str, Decimal]]], *, title: str) -> str:
    """An SVG line chart: x = ``months`` ('2026-03'), one line per (name, {month: hours})."""
    peak = _nice_ceiling(float(max((h for _n, values in series for h in values.values()), default=0)))
    plot_w, plot_h = WIDTH - LEFT - 16, HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(months) - 1, 1)

    def x(i):
        return LEFT + i * step

    def y(value):
        return TOP + plot_h - plot_h * float(value) / peak

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 24 * len(series)}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for n in range(5):
        value = peak * n / 4
        parts.append(f'<line x1="{LEFT}" y1="{y(value):.1f}" x2="{WIDTH - 16}" y2="{y(value):.1f}" stroke="#e5e5e5"/>'
                     f'<text x="{LEFT - 6}" y="{y(value) + 5:.1f}" text-anchor="end" font-size="14">{value:g}</text>')
    label_every = max(1, len(months) // 6)
    for i, month in enumerate(months):
        if i % label_every == 0 or i == len(months) - 1:
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM + 22}" text-anchor="middle" font-size="14">'
                         f'{escape(month[2:])}</text>')
    for k, (name, values) in enumerate(series):
        colour = COLOURS[k % len(COLOURS)]
        points = " ".join(f"{x(i):.1f},{y(values.get(m, 0)):.1f}" for i, m in enumerate(months))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="{3 if k == 0 else 2}" points="{points}"/>')
        parts.extend(f'<circle cx="{x(i):.1f}" cy="{y(values.get(m, 0)):.1f}" r="3" fill="{colour}">'
                     f'<title>{escape(name)} {escape(m)}：{values.get(m, 0)} 小时</title></circle>'
                     for i, m in enumerate(months))
        legend_y = HEIGHT + 24 * k + 8
        parts.append(f'<rect x="{LEFT}" y="{legend_y}" width="16" height="16" fill="{colour}"/>'
                     f'<text x="{LEFT + 24}" y="{legend_y + 14}" font-size="15">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
