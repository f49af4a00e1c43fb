"""The finished/failed-per-minute chart, drawn on the server as SVG.

Each minute is a stacked bar: finished jobs at the bottom, failed ones on top,
so a spike of failures stands out at a glance. No script is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

WIDTH = 720
HEIGHT = 140
LEFT = 40  # room for the y-axis labels
BOTTOM = 18  # room for the x-axis labels
TOP = 6


@dataclass
class Bar:
    when: datetime
    finished: int
    failed: int
    x: float
    width: float
    finished_y: float
    finished_height: float
    failed_y: float
    failed_height: float


@dataclass
class Chart:
    bars: list[Bar]
    peak: int
    total_finished: int
    total_failed: int
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    baseline: int = HEIGHT - BOTTOM
    label_y: int = HEIGHT - 4

    @property
    def mid(self) -> float:
        return self.top + (self.baseline - self.top) / 2

    @property
    def half_peak(self) -> str:
        half = self.peak / 2
        return str(int(half)) if half == int(half) else f"{half:.1f}"

    @property
    def first(self) -> Bar | None:
        return self.bars[0] if self.bars else None

    @property
    def last(self) -> Bar | None:
        return self.bars[-1] if self.bars else None


def _nice(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... at least ``value``."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def throughput_chart(*series: Sequence[tuple[int, int, int]]) -> Chart:
    """A chart of the per-minute sums of one or more series from ``stats.throughput``."""
    minutes: dict[int, list[int]] = {}
    for points in series:
        for minute, finished, failed in points:
            counts = minutes.setdefault(minute, [0, 0])
            counts[0] += finished
            counts[1] += failed
    ordered = sorted(minutes.items())
    peak = _nice(max([f + x for _, (f, x) in ordered] + [1]))
    plot_width = WIDTH - LEFT - 2
    plot_height = HEIGHT - BOTTOM - TOP
    slot = plot_width / max(len(ordered), 1)
    baseline = HEIGHT - BOTTOM
    bars = []
    for i, (minute, (finished, failed)) in enumerate(ordered):
        fh = plot_height * finished / peak
        xh = plot_height * failed / peak
        bars.append(
            Bar(
                when=datetime.fromtimestamp(minute * 60, tz=UTC),
                finished=finished,
                failed=failed,
                x=round(LEFT + i * slot + slot * 0.1, 1),
                width=round(slot * 0.8, 1),
                finished_y=round(baseline - fh, 1),
                finished_height=round(fh, 1),
                failed_y=round(baseline - fh - xh, 1),
                failed_height=round(xh, 1),
            )
        )
    return Chart(
        bars=bars,
        peak=peak,
        total_finished=sum(b.finished for b in bars),
        total_failed=sum(b.failed for b in bars),
    )
