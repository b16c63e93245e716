"""Lengths of time as people read them."""

from decimal import Decimal

import pytest

from sessions_app.durations import duration_text, notice_text


@pytest.mark.parametrize("hours, says", [
    ("74.8", "3 days, 3 hours"), ("72.0", "3 days"), ("24.0", "1 day"), ("25.4", "1 day, 1 hour"),
    ("23.9", "23 hours, 54 minutes"), ("5.5", "5 hours, 30 minutes"), ("1.0", "1 hour"), ("0.3", "18 minutes"),
    ("0.0", "0 minutes"),
])
def test_notice_is_said_in_days_hours_and_minutes_not_decimal_hours(hours, says):
    assert notice_text(Decimal(hours)) == says


@pytest.mark.parametrize("minutes, says", [(60, "1 h 00 min"), (55, "0 h 55 min"), (90, "1 h 30 min"),
                                           (755, "12 h 35 min")])
def test_every_duration_is_written_the_same_way(minutes, says):
    assert duration_text(minutes) == says
