"""Ratios head/base of the medians, the verdict on each figure, and the table that shows them.

The issue's rule: no loss over 5 % on any figure against the previous main. A ratio above 1.05 on a
judged measure flags the figure. CPU seconds and peak RSS are judged by default; wall seconds are shown
but judged only on request (BENCH_JUDGE=cpu,wall,rss), since on a shared machine they follow the load.
With BENCH_INSTRUCTIONS=1 the instructions executed (`instr`, counted under valgrind) are measured and
judged instead: they do not follow the load at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bench.measure import Figure

LIMIT = 0.05
MEASURES = ("cpu", "wall", "rss", "instr")
DEFAULT_JUDGED = ("cpu", "rss")
#: what is judged when instructions are counted: times and RSS are then valgrind's
INSTRUCTION_JUDGED = ("instr",)
#: the Run attribute of each measure
_FIELD = {"cpu": "cpu", "wall": "wall", "rss": "rss", "instr": "instructions"}


def ratio(head: float | None, base: float | None) -> float | None:
    """head / base, or None when either is missing or base is 0 (nothing to compare)."""
    if head is None or base is None or base <= 0:
        return None
    return head / base


def ratios(figure: Figure) -> dict[str, float | None]:
    return {m: ratio(figure.median("head", _FIELD[m]), figure.median("base", _FIELD[m])) for m in MEASURES}


def verdict(figure_ratios: dict[str, float | None], judged: Sequence[str] = DEFAULT_JUDGED,
            limit: float = LIMIT) -> str:
    """"WORSE cpu +7.2%" for every judged measure more than `limit` worse; else "better" when every
    judged measure is more than `limit` better, "ok" otherwise; "-" when nothing can be compared."""
    present = {m: r for m, r in figure_ratios.items() if m in judged and r is not None}
    if not present:
        return "-"
    worse = [f"{m} {100 * (r - 1):+.1f}%" for m, r in present.items() if r > 1 + limit]
    if worse:
        return "WORSE " + ", ".join(worse)
    if all(r < 1 - limit for r in present.values()):
        return "better"
    return "ok"


def figure_verdict(figure: Figure, judged: Sequence[str] = DEFAULT_JUDGED, limit: float = LIMIT) -> str:
    if figure.failed:
        return "; ".join(f"{tree} failed: {why}" for tree, why in figure.failed.items())
    if not figure.runs["base"]:
        return "head only"
    return verdict(ratios(figure), judged, limit)


def flagged(figures: Iterable[Figure], judged: Sequence[str] = DEFAULT_JUDGED, limit: float = LIMIT) -> list[Figure]:
    """Figures with a judged measure more than `limit` worse, or a tree that failed to run."""
    return [f for f in figures if f.failed or figure_verdict(f, judged, limit).startswith("WORSE")]


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _giga(value: float | None) -> float | None:
    return None if value is None else value / 1e9


def _fit(text: str, width: int) -> str:
    """`text` in `width` characters, its middle elided: file names differ at their ends."""
    return text if len(text) <= width else text[: width // 2 - 1] + ".." + text[-(width - width // 2 - 1):]


def _size(figure: Figure) -> str:
    return f"{figure.size:.1f} MB" if figure.unit == "MB" else f"{figure.size:,.0f} cl"


def _speed(figure: Figure) -> str:
    tree = "head" if figure.runs["head"] else "base"
    speed = figure.speed(tree)
    if speed is None:
        return "-"
    return f"{speed:.2f} MB/s" if figure.unit == "MB" else f"{speed:,.0f} cl/s"


def table(figures: Sequence[Figure], judged: Sequence[str] = DEFAULT_JUDGED, limit: float = LIMIT) -> str:
    """Medians of base and head, ratio head/base per measure, the head's speed and the verdict."""
    head = (f"{'figure':<40} {'data':<24} {'size':>10} | {'CPU s base':>10} {'head':>7} {'ratio':>6} | "
            f"{'wall s base':>11} {'head':>7} {'ratio':>6} | {'RSS MB base':>11} {'head':>6} {'ratio':>6} | "
            f"{'speed':>13}  verdict")
    counted = any(r.instructions is not None for f in figures for runs in f.runs.values() for r in runs)
    if counted:
        head = head.replace(f" | {'speed':>13}", f" | {'G instr base':>12} {'head':>7} {'ratio':>6} | {'speed':>13}")
    lines = [head, "-" * len(head)]
    for f in figures:
        r = ratios(f)
        cells = [f"{_fit(f.label, 40):<40} {_fit(f.data, 24):<24} {_size(f):>10}"]
        for m, base_width, head_width, fmt in (("cpu", 10, 7, ".2f"), ("wall", 11, 7, ".2f"), ("rss", 11, 6, ".0f")):
            cells.append(f"{_num(f.median('base', m), fmt):>{base_width}} {_num(f.median('head', m), fmt):>{head_width}} "
                         f"{_num(r[m], '.3f'):>6}")
        if counted:
            cells.append(f"{_num(_giga(f.median('base', 'instructions')), '.2f'):>12} "
                         f"{_num(_giga(f.median('head', 'instructions')), '.2f'):>7} {_num(r['instr'], '.3f'):>6}")
        cells.append(f"{_speed(f):>13}  {figure_verdict(f, judged, limit)}")
        lines.append(" | ".join(cells))
    return "\n".join(lines)
