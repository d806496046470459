"""Geometry of the index page's small charts: bars per night, computed here, drawn as plain SVG by the
`charts.html.j2` template.

Why plain SVG from a template: five small bar charts of at most 30 nights need rectangles and a few labels;
a plotting library would add megabytes of dependency and much larger markup for that. Bars are told apart
by fill pattern (solid, hatched, dotted, outlined) as well as shade, and every bar carries a <title> with
its night and value, so the charts read without colour; the nights table under them holds the same
numbers as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

#: the drawing area of every chart, in SVG user units (the SVG scales to the page width)
WIDTH = 600
HEIGHT = 120
LEFT = 56  # room for the axis labels
BOTTOM = 16  # room for the night labels
TOP = 6
#: fills of a series by position: (pattern id in the template, shade) - distinguishable in print and grey
FILLS = ("solid", "hatch", "dots", "outline", "cross")


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str  # "<night>: <series> <value>" (the bar's tooltip and its accessible name)
    href: str | None = None


@dataclass
class Chart:
    title: str
    unit: str
    top_label: str  # the value at the top of the axis
    bars: list[Bar] = field(default_factory=list)
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x, night label), thinned to fit
    legend: list[tuple[str, str]] = field(default_factory=list)  # (fill, series name)
    empty: str | None = None  # why nothing is drawn (no night recorded this series)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    plot_bottom: float = HEIGHT - BOTTOM


@dataclass
class Night:
    """One night's values of one chart: `values` by series name (None: not recorded that night)."""

    label: str
    href: str
    values: dict[str, Decimal | float | int | None]


def bar_chart(title: str, unit: str, nights: list[Night], series: list[str], stacked: bool = False,
              top: float | None = None, fmt=None) -> Chart:
    """Bars of `series` per night: side by side, or stacked (`stacked`, for parts of one whole).
    `top`: a fixed top of the axis (100 for percentages); else the largest night."""
    fmt = fmt or _number
    chart = Chart(title, unit, "", legend=[(FILLS[i % len(FILLS)], s) for i, s in enumerate(series)]
                  if len(series) > 1 else [])
    recorded = [n for n in nights if any(n.values.get(s) is not None for s in series)]
    if not recorded:
        chart.empty = "not recorded yet"
        return chart
    totals = [sum(float(n.values.get(s) or 0) for s in series) if stacked
              else max(float(n.values.get(s) or 0) for s in series) for n in nights]
    peak = top if top is not None else max(totals + [0.0])
    chart.top_label = fmt(peak)
    plot_h = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(nights), 1)
    gap = slot * 0.2
    base = HEIGHT - BOTTOM
    every = max(1, len(nights) // 10)
    for i, night in enumerate(nights):
        x0 = LEFT + i * slot + gap / 2
        if i % every == 0:
            chart.labels.append((x0 + (slot - gap) / 2, night.label))
        width = (slot - gap) if stacked else (slot - gap) / len(series)
        y = base
        for k, s in enumerate(series):
            value = night.values.get(s)
            if value is None:
                continue
            h = 0.0 if peak <= 0 else plot_h * float(value) / peak
            title = f"{night.label}: {s} {fmt(value)}" if len(series) > 1 else f"{night.label}: {fmt(value)}"
            if stacked:
                y -= h
                chart.bars.append(Bar(round(x0, 2), round(y, 2), round(width, 2), round(h, 2), FILLS[k % len(FILLS)],
                                      title, night.href))
            else:
                chart.bars.append(Bar(round(x0 + k * width, 2), round(base - h, 2), round(width, 2), round(h, 2),
                                      FILLS[k % len(FILLS)], title, night.href))
    return chart


def _number(value) -> str:
    if isinstance(value, Decimal) or (isinstance(value, float) and value != int(value)):
        return money(value)
    return str(int(value))


def money(value) -> str:
    """An amount with two decimals and thousands separators (the pages' money format)."""
    return f"{Decimal(str(value)):,.2f}"


def percent(value) -> str:
    return f"{float(value):.0f}%"
