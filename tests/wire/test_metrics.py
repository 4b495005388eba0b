"""Public metrics as drawn and read: buckets, gaps, the axis, and the chart's words."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone, translation

from incidents.wire import charts
from incidents.wire.metrics import PERIODS, cells_of, metric_json, periods_json, series, series_of

HOUR = next(p for p in PERIODS if p.key == "hour")
NOW = datetime(2021, 1, 29, 10, 20, 30, tzinfo=UTC)  # 18:20:30 HKT


def hour_series(points):
    """The last hour's chart of samples `points` (oldest first)."""
    return series(cells_of(points, 60), HOUR, NOW, points[0][0] if points else None)


def all_periods(points):
    return {p.key: cells_of(points, int(p.bucket.total_seconds())) for p in PERIODS}


def minute(n: int) -> datetime:
    """`n` minutes before the bucket of NOW."""
    return NOW.replace(second=0) - timedelta(minutes=n)


@pytest.mark.parametrize(
    ("points", "values_tail", "gaps"),
    [
        # Nothing stored: every bucket empty, and no gap (there is nothing to miss yet).
        ([], [None, None, None], []),
        # Two samples in one minute: the bucket holds their mean.
        ([(minute(0), 100.0), (minute(0) + timedelta(seconds=30), 300.0)], [None, None, 200.0], []),
        # Measured, then not: the gap runs from the first empty bucket to the end.
        ([(minute(5), 180.0), (minute(4), 190.0)], [None, None, None], [(minute(3), minute(-1))]),
        # Down for two minutes in the middle.
        (
            [(minute(5), 1.0), (minute(2), 2.0), (minute(1), 3.0), (minute(0), 4.0)],
            [2.0, 3.0, 4.0],
            [(minute(4), minute(2))],
        ),
        # Older than the hour: not in it, but it counts as measured before.
        ([(minute(90), 5.0)], [None, None, None], [(minute(59), minute(-1))]),
    ],
)
def test_buckets_and_gaps(points, values_tail, gaps):
    s = hour_series(points)
    assert len(s.values) == 60 and s.start == minute(59)
    assert s.values[-3:] == values_tail
    assert s.gaps() == gaps


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1.0), (0.3, 0.5), (1, 1), (7, 10), (180, 200), (240, 250), (450, 500), (4200, 5000)]
)
def test_the_axis_ends_on_a_round_number(value, top):
    assert charts.nice_ceiling(value) == top


def test_the_json_and_the_chart_agree_and_say_what_is_missing():
    points = [(minute(5), 180.4), (minute(4), 950.0)]
    prepared = periods_json(all_periods(points), NOW, 0, points[0][0])
    spelled = metric_json({"decimals": 0}, prepared)["periods"]  # the API's shape
    hour = spelled["hour"]
    assert hour["summary"] == {"last": 950.0, "mean": 565.0, "min": 180.0, "max": 950.0, "count": 2}
    assert hour["gaps"] == [{"start": "2021-01-29T18:17:00.000+08:00", "end": "2021-01-29T18:21:00.000+08:00"}]
    assert hour["data"][-6] == {"timestamp": int(minute(5).timestamp()), "value": 180.0}
    day = spelled["day"]  # 5-minute buckets: both samples in 18:15-18:20
    assert day["data"][-2]["value"] == 565.0 and day["data"][-1]["value"] is None
    s = series_of(prepared, "hour")
    assert s.gaps() == [(minute(3), minute(-1))]
    with translation.override("en"), timezone.override("Asia/Hong_Kong"):
        svg = charts.svg(s, chart_id="c", name="API <p99>", unit="ms", decimals=0, latest=950.0)
    assert '<title id="c-t">API &lt;p99&gt;, last hour</title>' in svg  # names are escaped
    assert "Latest: 950 ms. Mean 565 ms, lowest 180 ms, highest 950 ms." in svg
    assert "No data from 18:17 to 18:21. Times in Asia/Hong_Kong." in svg
    assert svg.count('class="chart__gap"') == 1 and svg.count('class="chart__line"') == 1
    assert ">1,000 ms<" in svg or ">1000 ms<" in svg  # the axis' top
    with translation.override("zh-hans"), timezone.override("UTC"):
        svg = charts.svg(s, chart_id="c", name="API", unit="ms", decimals=0)
    assert "10:17 至 10:21 无数据。 时间为 UTC。" in svg and ">现在<" in svg


def test_a_metric_never_measured_says_so():
    with translation.override("en"):
        svg = charts.svg(hour_series([]), chart_id="c", name="Lag", unit="s", decimals=1)
    assert "No data yet." in svg and "chart__line" not in svg and "chart__gap" not in svg
