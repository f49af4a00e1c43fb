"""The per-minute chart's geometry."""

from __future__ import annotations

from django_jobqueue.dashboard.charts import HEIGHT, _nice, throughput_chart


def test_scale_is_a_round_number():
    assert [_nice(v) for v in (0, 1, 3, 7, 11, 60, 101)] == [1, 1, 5, 10, 20, 100, 200]


def test_bars_stack_failed_on_finished_and_sum_series():
    a = [(100, 2, 0), (101, 10, 5)]
    b = [(100, 0, 1), (101, 0, 5)]
    chart = throughput_chart(a, b)
    assert chart.peak == 20
    assert (chart.total_finished, chart.total_failed) == (12, 11)
    first, second = chart.bars
    assert (first.finished, first.failed) == (2, 1)
    assert second.failed_y + second.failed_height == second.finished_y
    assert second.finished_y + second.finished_height == chart.baseline
    assert second.finished_height + second.failed_height < HEIGHT
    assert second.when.minute == (101 * 60 // 60) % 60
    assert first.x < second.x


def test_empty_hour():
    chart = throughput_chart([(m, 0, 0) for m in range(60)])
    assert chart.peak == 1 and all(b.finished_height == 0 for b in chart.bars)
