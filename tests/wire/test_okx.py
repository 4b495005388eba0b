"""OKX rows go from the least to the most severe current state: clients that read the last
row (ccxt's fetch_status) see what matters now."""

import pytest

from incidents.wire import okx


def row(state: str, begin: int, pid: str = "") -> dict:
    return {"id": pid or f"{state}-{begin}", "state": state, "begin": str(begin)}


@pytest.mark.parametrize(
    ("rows", "last"),
    [
        ([row("ongoing", 1), row("scheduled", 2)], "ongoing"),
        ([row("scheduled", 5), row("ongoing", 1), row("completed", 9)], "ongoing"),
        ([row("pre_open", 1), row("ongoing", 2), row("scheduled", 3)], "ongoing"),
        ([row("scheduled", 3), row("pre_open", 1)], "pre_open"),
        ([row("canceled", 9), row("completed", 8), row("scheduled", 1)], "scheduled"),
        ([row("completed", 2), row("canceled", 1)], "completed"),
    ],
)
def test_the_last_row_is_the_most_severe_current_state(rows, last):
    assert okx.in_order(rows)[-1]["state"] == last


def test_rows_of_one_state_run_by_begin():
    ordered = okx.in_order([row("ongoing", 30, "c"), row("ongoing", 10, "a"), row("ongoing", 20, "b")])
    assert [r["id"] for r in ordered] == ["a", "b", "c"]


def test_a_push_of_several_events_keeps_the_order():
    rows = [row("ongoing", 1, "live"), row("scheduled", 2, "next")]
    assert [r["id"] for r in okx.pushed_rows(["live", "next"], rows)] == ["next", "live"]
