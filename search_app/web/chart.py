"""The per-year trend of up to four terms as an inline SVG line chart, laid out on the server (no chart library).

Horizontal positions are percentages and vertical ones pixels, so the SVG stretches to the
width of any screen (a 390 px phone shows every year, the latest included) while its text
keeps its size. Each year is one link (a full-height column) that toggles the year filter;
the values are also in a table beside the chart, so nothing needs hovering.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from search_app.results import TrendPoint, TrendSeries, YearTotal

HEIGHT = 190
TOP = 22  # room for the peak label
BOTTOM = 24  # room for the year labels
SIDE = 4.0  # % of the width left free on each side (the first and last labels stay inside)
# Missing years inside the range get a slot so that the x axis is proportional to time;
# beyond this span (a stray year far from the rest) slots are only drawn for years that occur.
MAX_FILLED_SPAN = 150
MAX_YEAR_LABELS = 8
LABEL_STEPS = (1, 2, 5, 10, 20, 25, 50, 100)
MAX_SERIES = 4


@dataclass(frozen=True)
class Point:
    """One term's value in one year; x in % of the width, y in pixels."""

    year: int
    docs: int
    sections: int
    share: float
    x: float
    y: float


@dataclass(frozen=True)
class Series:
    """One term's line."""

    index: int
    query: str
    points: list[Point]
    segments: list[tuple[float, float, float, float]]
    latest: Point | None  # the last year with a match: its value is printed in the legend


@dataclass(frozen=True)
class Column:
    """One year's clickable column and its values for every term."""

    year: int
    x: float
    left: float
    width: float
    selected: bool
    label: bool
    values: list[Point]

    @property
    def docs(self) -> int:
        """Matching documents of the year, summed over the terms (0: nothing to filter to)."""
        return sum(p.docs for p in self.values)


@dataclass(frozen=True)
class Chart:
    """Geometry of the whole chart."""

    mode: str  # "share" or "count"
    height: int
    top: int
    baseline: int
    peak: float
    series: list[Series]
    columns: list[Column]


def value(point: Point | TrendPoint, mode: str) -> float:
    """What the y axis shows for a point: share of the year's documents, or documents."""
    return point.share if mode == "share" else point.docs


def format_value(point: Point, mode: str) -> str:
    """A point's value as printed: "2.35%" or "12 篇"."""
    return format_share(point.share) if mode == "share" else f"{point.docs} 篇"


def format_share(share: float) -> str:
    """A share as a percentage with enough digits to tell small values apart."""
    pct = share * 100
    return f"{pct:.1f}%" if pct >= 10 or pct == 0 else f"{pct:.2f}%"


def layout(
    series: list[TrendSeries], mode: str, selected: set[int], totals: list[YearTotal] | None = None
) -> Chart | None:
    """Lay out `engine.trends().series`; None when no term matches in any year.

    `selected` are the years of the active year filter: their columns are highlighted. With
    `totals` (documents per year), a share is only drawn for years that have documents: the
    line joins the years around a gap instead of dropping to a share of zero that means nothing.
    """
    rows = [{r.year: r for r in s.years if r.docs} for s in series[:MAX_SERIES]]
    years = sorted(set().union(*rows)) if rows else []
    if not years:
        return None
    first, last = years[0], years[-1]
    slots = list(range(first, last + 1)) if last - first < MAX_FILLED_SPAN else years
    peak = max(value(r, mode) for per_year in rows for r in per_year.values()) or 1.0
    baseline = HEIGHT - BOTTOM
    step = next((s for s in LABEL_STEPS if len(slots) / s <= MAX_YEAR_LABELS), LABEL_STEPS[-1])
    width = (100 - 2 * SIDE) / max(len(slots) - 1, 1)

    def x_of(i: int) -> float:
        return round(50.0 if len(slots) == 1 else SIDE + i * width, 3)

    has_docs = {r.year for r in totals if r.docs} if totals is not None else set(slots)
    defined = {year for year in slots if mode == "count" or year in has_docs}
    out_series = []
    grid: dict[int, list[Point]] = {year: [] for year in slots}
    for n, (raw, per_year) in enumerate(zip(series[:MAX_SERIES], rows, strict=True)):
        points = []
        for i, year in enumerate(slots):
            if year not in defined:
                continue
            r = per_year.get(year, TrendPoint(year, 0, 0, 0.0))
            v = value(r, mode)
            point = Point(year, r.docs, r.sections, r.share, x_of(i), round(baseline - (baseline - TOP) * v / peak, 2))
            points.append(point)
            grid[year].append(point)
        for year in slots:
            if year not in defined:
                grid[year].append(Point(year, 0, 0, 0.0, 0.0, float(baseline)))
        segments = [(a.x, a.y, b.x, b.y) for a, b in pairwise(points)]
        latest = next((p for p in reversed(points) if p.docs), None)
        out_series.append(Series(n, raw.query, points, segments, latest))
    def span(i: int) -> tuple[float, float]:
        """A year's clickable column, [left, left + width), clipped to the chart on both sides."""
        left, right = max(0.0, x_of(i) - width / 2), min(100.0, x_of(i) + width / 2)
        return round(left, 3), round(right - left, 3)

    columns = [
        Column(
            year=year,
            x=x_of(i),
            left=span(i)[0],
            width=span(i)[1],
            selected=year in selected,
            label=step == 1 or year % step == 0,
            values=grid[year],
        )
        for i, year in enumerate(slots)
    ]
    return Chart(mode=mode, height=HEIGHT, top=TOP, baseline=baseline, peak=peak, series=out_series, columns=columns)


def selected_years(values: list[str]) -> set[int]:
    """The years of a year filter's URL values (the unknown year has no column)."""
    return {int(v) for v in values if v.isdigit()}
