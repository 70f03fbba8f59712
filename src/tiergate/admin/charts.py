"""Bar charts drawn on the server as SVG geometry; ``admin/_chart.html`` renders them.

No script and no style attributes: colours come from classes in admin.css (with SVG fill
attributes as a fallback), and each chart carries a title, a description and text labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

WIDTH: Final = 640
HEIGHT: Final = 260
LEFT: Final = 44  # room for the axis values
RIGHT: Final = 8
TOP: Final = 24  # room for the value above the tallest bar
BOTTOM: Final = 44  # room for the labels under the bars
LABEL_LENGTH: Final = 12


@dataclass(frozen=True)
class Bar:
    """One bar: its label and value, its box, and the highlighted part drawn from the base."""

    label: str
    short_label: str
    value: int
    highlighted: int
    x: float
    y: float
    width: float
    height: float
    highlight_y: float
    highlight_height: float

    @property
    def center(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class BarChart:
    """A whole chart: what it shows, in words, and its bars."""

    chart_id: str
    title: str
    description: str
    unit: str
    highlight_label: str | None
    bars: tuple[Bar, ...]
    max_value: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def baseline(self) -> int:
        return self.height - BOTTOM

    @property
    def top(self) -> int:
        return TOP

    @property
    def left(self) -> int:
        return LEFT

    @property
    def right(self) -> int:
        return self.width - RIGHT


def _short(label: str) -> str:
    return label if len(label) <= LABEL_LENGTH else label[: LABEL_LENGTH - 1] + "…"


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    data: Sequence[tuple[str, int, int]],
    *,
    unit: str,
    highlight_label: str | None = None,
) -> BarChart:
    """Lay out one bar per (label, value, highlighted part of the value)."""
    max_value = max((value for _, value, _ in data), default=0)
    plot_height = HEIGHT - TOP - BOTTOM
    scale = plot_height / max(max_value, 1)
    slot = (WIDTH - LEFT - RIGHT) / max(len(data), 1)
    bars = []
    for index, (label, value, highlighted) in enumerate(data):
        height = value * scale
        part = min(highlighted, value) * scale
        bars.append(
            Bar(
                label=label,
                short_label=_short(label),
                value=value,
                highlighted=min(highlighted, value),
                x=round(LEFT + index * slot + slot * 0.15, 2),
                y=round(HEIGHT - BOTTOM - height, 2),
                width=round(slot * 0.7, 2),
                height=round(height, 2),
                highlight_y=round(HEIGHT - BOTTOM - part, 2),
                highlight_height=round(part, 2),
            )
        )
    return BarChart(chart_id, title, description, unit, highlight_label, tuple(bars), max_value)
