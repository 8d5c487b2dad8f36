"""Trading calendar of the simulated exchanges.

A trading day is a weekday that is not an exchange holiday (SSE/SZSE/BSE close on every
weekend, including the make-up working weekends of the State Council's holiday arrangement, so
only weekday closures need listing). The list below covers 2023–2026 from the exchanges'
published holiday notices; outside it only weekends are skipped.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

__all__ = ["EXCHANGE_HOLIDAYS", "is_trading_day", "trading_days", "yyyymmdd"]


def _span(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


#: Weekday closures of the Chinese exchanges (New Year, Spring Festival, Qingming, Labour Day,
#: Dragon Boat, Mid-Autumn, National Day). Weekend days inside a span are harmless.
EXCHANGE_HOLIDAYS: frozenset[date] = frozenset(
    [
        # 2023
        date(2023, 1, 2),
        *_span(date(2023, 1, 23), date(2023, 1, 27)),
        date(2023, 4, 5),
        *_span(date(2023, 5, 1), date(2023, 5, 3)),
        *_span(date(2023, 6, 22), date(2023, 6, 23)),
        date(2023, 9, 29),
        *_span(date(2023, 10, 2), date(2023, 10, 6)),
        # 2024
        date(2024, 1, 1),
        *_span(date(2024, 2, 9), date(2024, 2, 16)),
        *_span(date(2024, 4, 4), date(2024, 4, 5)),
        *_span(date(2024, 5, 1), date(2024, 5, 3)),
        date(2024, 6, 10),
        *_span(date(2024, 9, 16), date(2024, 9, 17)),
        *_span(date(2024, 10, 1), date(2024, 10, 7)),
        # 2025
        date(2025, 1, 1),
        *_span(date(2025, 1, 28), date(2025, 2, 4)),
        date(2025, 4, 4),
        *_span(date(2025, 5, 1), date(2025, 5, 5)),
        date(2025, 6, 2),
        *_span(date(2025, 10, 1), date(2025, 10, 8)),
        # 2026
        *_span(date(2026, 1, 1), date(2026, 1, 2)),
        *_span(date(2026, 2, 16), date(2026, 2, 23)),
        date(2026, 4, 6),
        *_span(date(2026, 5, 1), date(2026, 5, 5)),
        date(2026, 6, 19),
        date(2026, 9, 25),
        *_span(date(2026, 10, 1), date(2026, 10, 7)),
    ]
)


def is_trading_day(day: date) -> bool:
    """Whether the exchanges open on ``day``: a weekday not in ``EXCHANGE_HOLIDAYS``."""
    return day.weekday() < 5 and day not in EXCHANGE_HOLIDAYS


def trading_days(*, start: date, count: int) -> list[date]:
    """The first ``count`` trading days on or after ``start``."""
    days: list[date] = []
    day = start
    while len(days) < count:
        if is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """``datetime64[D]`` values as ``YYYYMMDD`` integers (the counters' date format)."""
    days = days.astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    months = days.astype("datetime64[M]")
    y = years.astype(np.int64) + 1970
    m = (months - years.astype("datetime64[M]")).astype(np.int64) + 1
    d = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return (y * 10000 + m * 100 + d).astype(np.int32)
