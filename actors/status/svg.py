"""Hand-written SVG line charts for the dashboard, drawn on the server.

No JavaScript library and nothing fetched: the page gets a finished `<svg>`
with every label escaped, so a chart works with scripts off and offline.
Floats are used only for pixel positions; every value shown is formatted
from the Decimal it came from.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

PAD_L, PAD_R, PAD_T, PAD_B = 64, 12, 10, 24


@dataclass(frozen=True, slots=True)
class Line:
    """A horizontal level: the open order, the entry, a stop, a target."""

    label: str
    value: Decimal
    color: str
    dashed: bool = True


@dataclass(frozen=True, slots=True)
class Marker:
    ts_ms: int
    value: Decimal
    kind: str  # "buy" or "sell"


@dataclass(frozen=True, slots=True)
class Series:
    label: str
    points: Sequence[tuple[int, Decimal]]
    color: str


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _fmt(v: float, span: float) -> str:
    places = 0 if span >= 100 else 2 if span >= 1 else 4 if span >= 0.01 else 6
    return f"{v:,.{places}f}"


def _clock(ms: float, span_ms: float) -> str:
    t = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return t.strftime("%m-%d %H:%M" if span_ms > 86_400_000 else "%H:%M:%S" if span_ms < 600_000 else "%H:%M")


def _short(v: Decimal) -> str:
    """A level for the legend: at most 8 decimals (a computed stop has dozens)."""
    return format(v.quantize(Decimal("1e-8")) if v.as_tuple().exponent < -8 else v, "f")  # type: ignore[operator]


def chart(chart_id: str, series: Sequence[Series], lines: Sequence[Line] = (), markers: Sequence[Marker] = (),
          width: int = 900, height: int = 240, empty: str = "no data yet") -> str:
    """An SVG chart of `series` over market time, with levels and buy/sell markers; legend outside the plot."""
    pts = [(t, float(v)) for s in series for t, v in s.points]
    if len(pts) < 2:
        return (f'<svg id="{_esc(chart_id)}" class="chart" viewBox="0 0 {width} {height}" role="img">'
                f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#8a98a6">{_esc(empty)}</text></svg>')
    x0, x1 = min(t for t, _ in pts), max(t for t, _ in pts)
    shown = [m for m in markers if x0 <= m.ts_ms <= x1]
    ys = [v for _, v in pts] + [float(m.value) for m in shown] + [float(ln.value) for ln in lines]
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1e-12:
        y0, y1 = y0 - max(abs(y0) * 0.001, 1e-6), y1 + max(abs(y1) * 0.001, 1e-6)
    margin = (y1 - y0) * 0.06
    y0, y1 = y0 - margin, y1 + margin
    pw, ph = width - PAD_L - PAD_R, height - PAD_T - PAD_B
    xspan = max(x1 - x0, 1)

    def px(t: float) -> float:
        return PAD_L + (t - x0) / xspan * pw

    def py(v: float) -> float:
        return PAD_T + (y1 - v) / (y1 - y0) * ph

    out = [f'<svg id="{_esc(chart_id)}" class="chart" viewBox="0 0 {width} {height}" role="img" preserveAspectRatio="none">']
    for i in range(5):  # y grid and labels
        v = y0 + (y1 - y0) * i / 4
        y = py(v)
        out.append(f'<line x1="{PAD_L}" y1="{y:.1f}" x2="{width - PAD_R}" y2="{y:.1f}" stroke="#24303c"/>')
        out.append(f'<text x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#8a98a6">'
                   f"{_esc(_fmt(v, y1 - y0))}</text>")
    for i in range(5):  # x labels, market time in UTC
        t = x0 + xspan * i / 4
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        out.append(f'<text x="{px(t):.1f}" y="{height - 6}" text-anchor="{anchor}" font-size="11" fill="#8a98a6">'
                   f"{_esc(_clock(t, xspan))}</text>")
    for ln in lines:
        y = py(float(ln.value))
        dash = ' stroke-dasharray="6 4"' if ln.dashed else ""
        out.append(f'<line class="level" data-label="{_esc(ln.label)}" x1="{PAD_L}" y1="{y:.1f}" x2="{width - PAD_R}" '
                   f'y2="{y:.1f}" stroke="{_esc(ln.color)}" stroke-width="1.2"{dash}><title>{_esc(ln.label)} '
                   f"{_esc(_short(ln.value))}</title></line>")
    for s in series:
        if len(s.points) < 2:
            continue
        path = " ".join(f"{px(t):.1f},{py(float(v)):.1f}" for t, v in s.points)
        out.append(f'<polyline fill="none" stroke="{_esc(s.color)}" stroke-width="1.6" points="{path}"/>')
    for m in shown:
        x, y = px(m.ts_ms), py(float(m.value))
        if m.kind == "buy":
            shape = f"{x:.1f},{y - 1:.1f} {x - 6:.1f},{y + 9:.1f} {x + 6:.1f},{y + 9:.1f}"
            color = "#3fca7f"
        else:
            shape = f"{x:.1f},{y + 1:.1f} {x - 6:.1f},{y - 9:.1f} {x + 6:.1f},{y - 9:.1f}"
            color = "#ff6b6b"
        out.append(f'<polygon class="marker marker-{_esc(m.kind)}" points="{shape}" fill="{color}">'
                   f"<title>{_esc(m.kind)} {_esc(m.value)}</title></polygon>")
    out.append("</svg>")
    return "".join(out)


def legend(series: Sequence[Series], lines: Sequence[Line] = (), markers: bool = False) -> str:
    """The key, as HTML under the chart: it never covers a line or a marker."""
    items = [f'<span><i style="background:{_esc(s.color)}"></i>{_esc(s.label)}</span>' for s in series]
    items += [f'<span><i class="dash" style="border-color:{_esc(ln.color)}"></i>{_esc(ln.label)} '
              f"<b>{_esc(_short(ln.value))}</b></span>" for ln in lines]
    if markers:
        items.append('<span><em class="up">▲</em>buy <em class="down">▼</em>sell</span>')
    return '<div class="legend">' + "".join(items) + "</div>"
