from __future__ import annotations

from datetime import date

import numpy as np

from brokercrm.simulate.calendar import is_trading_day, trading_days, yyyymmdd


def test_weekends_and_holidays_are_skipped():
    days = trading_days(start=date(2025, 1, 24), count=4)
    # 25–26 Jan is a weekend, 28 Jan – 4 Feb the Spring Festival closure.
    assert days == [date(2025, 1, 24), date(2025, 1, 27), date(2025, 2, 5), date(2025, 2, 6)]
    assert not is_trading_day(date(2025, 10, 8))
    assert not is_trading_day(date(2026, 4, 6))  # Qingming observed (as in the worked example)
    assert is_trading_day(date(2025, 9, 30))


def test_start_on_a_holiday_moves_to_the_next_trading_day():
    assert trading_days(start=date(2025, 1, 1), count=1) == [date(2025, 1, 2)]


def test_yyyymmdd():
    values = np.array(["2024-02-29", "1999-12-31", "2025-01-01"], dtype="datetime64[D]")
    assert yyyymmdd(values).tolist() == [20240229, 19991231, 20250101]
