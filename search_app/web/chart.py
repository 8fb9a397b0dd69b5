"""The per-year trend as an inline SVG bar chart, laid out on the server (no chart library, no JS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 760
HEIGHT = 170
TOP = 20  # room for the count above the tallest bar
BOTTOM = 22  # room for the year labels
SIDE = 6
MAX_BAR_WIDTH = 44
# Missing years inside the range get an empty slot so that the x axis is proportional to time;
# beyond this span (a stray year far from the rest) slots are only drawn for years that occur.
MAX_FILLED_SPAN = 150
MAX_YEAR_LABELS = 14
MAX_COUNT_LABELS = 30
LABEL_STEPS = (1, 2, 5, 10, 20, 25, 50, 100)


@dataclass(frozen=True)
class Bar:
    """One year's slot: the clickable area spans the whole slot, the bar only its share."""

    year: int
    docs: int
    sections: int
    slot_x: float
    slot_width: float
    x: float
    y: float
    width: float
    height: float
    center: float
    selected: bool
    year_label: bool
    count_label: bool


@dataclass(frozen=True)
class Chart:
    """Geometry of the whole chart in SVG user units."""

    width: int
    height: int
    top: int
    baseline: int
    peak: int
    bars: list[Bar]


def layout(years: list[dict[str, Any]], selected: set[int]) -> Chart | None:
    """Lay out `engine.trend()["years"]` as bars; None when no year has a match.

    `selected` are the years of the active year filter: their bars are highlighted.
    """
    counts = {int(r["year"]): (int(r["docs"]), int(r["sections"])) for r in years if r["docs"]}
    if not counts:
        return None
    first, last = min(counts), max(counts)
    span = range(first, last + 1) if last - first < MAX_FILLED_SPAN else sorted(counts)
    slots = list(span)
    peak = max(docs for docs, _ in counts.values())
    baseline = HEIGHT - BOTTOM
    plot_height = baseline - TOP
    slot_width = (WIDTH - 2 * SIDE) / len(slots)
    bar_width = max(1.0, min(slot_width * 0.72, MAX_BAR_WIDTH))
    step = next((s for s in LABEL_STEPS if len(slots) / s <= MAX_YEAR_LABELS), LABEL_STEPS[-1])
    bars = []
    for i, year in enumerate(slots):
        docs, sections = counts.get(year, (0, 0))
        height = max(2.0, plot_height * docs / peak) if docs else 0.0
        slot_x = SIDE + i * slot_width
        bars.append(
            Bar(
                year=year,
                docs=docs,
                sections=sections,
                slot_x=round(slot_x, 2),
                slot_width=round(slot_width, 2),
                x=round(slot_x + (slot_width - bar_width) / 2, 2),
                y=round(baseline - height, 2),
                width=round(bar_width, 2),
                height=round(height, 2),
                center=round(slot_x + slot_width / 2, 2),
                selected=year in selected,
                year_label=step == 1 or year % step == 0,
                count_label=bool(docs) and len(slots) <= MAX_COUNT_LABELS,
            )
        )
    return Chart(width=WIDTH, height=HEIGHT, top=TOP, baseline=baseline, peak=peak, bars=bars)


def selected_years(values: list[str]) -> set[int]:
    """The years of a year filter's URL values (the unknown year has no bar)."""
    return {int(v) for v in values if v.isdigit()}

