"""Tier evaluation, hand-worked across months (DOMAIN.md, "Tiers (客户级别) and the ABCD matrix").

Default thresholds: silver ≥ ¥100k average assets or ≥ ¥2,000 trailing-12-month net commission,
gold ≥ ¥500k or ≥ ¥10,000, diamond ≥ ¥2m or ≥ ¥50,000. Each test drives the expressions day by
day the way the runner does (state of the previous day in, state and changes out) on DuckDB.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import ibis
import pyarrow as pa
import pytest

from brokercrm.segments import pipeline as sp


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def _indicators(day: date, customers: dict[str, tuple[str, str]]) -> pa.Table:
    """customer_no → (avg_assets_20d, net_commission of the day)."""
    return pa.table(
        {
            "trade_date": pa.array([day] * len(customers), pa.date32()),
            "customer_no": pa.array(list(customers), pa.string()),
            "avg_assets_20d": pa.array([D(a) for a, _ in customers.values()], pa.decimal128(38, 10)),
            "net_commission": pa.array([D(c) for _, c in customers.values()], pa.decimal128(38, 10)),
        }
    )


class Book:
    """Carries the tier state and the monthly commission from one day to the next."""

    def __init__(self, con, thresholds=sp.DEFAULT_TIER_THRESHOLDS, full_history_from=None):
        self.con = con
        self.state: pa.Table | None = None
        self.months: pa.Table | None = None
        self.changes: list[dict] = []
        self.thresholds = thresholds
        self.full_history_from = full_history_from

    def day(self, day: date, customers: dict[str, tuple[str, str]], *, evaluation: bool) -> dict[str, dict]:
        ci = ibis.memtable(_indicators(day, customers))
        months = sp.commission_months_step(
            previous=ibis.memtable(self.months) if self.months is not None else None, customer_indicators=ci, day=day
        )
        self.months = self.con.to_pyarrow(months)
        result = sp.tier_evaluation(
            previous=ibis.memtable(self.state) if self.state is not None else None,
            customer_indicators=ci,
            commission_months=ibis.memtable(self.months),
            day=day,
            evaluation_day=evaluation,
            full_history_from=self.full_history_from,
            thresholds=self.thresholds,
        )
        self.state = self.con.to_pyarrow(result.state)
        self.changes += sorted(self.con.to_pyarrow(result.changes).to_pylist(), key=lambda r: r["customer_no"])
        return {r["customer_no"]: r for r in self.state.to_pylist()}

    def moves(self) -> list[tuple]:
        return [(c["trade_date"], c["customer_no"], c["old_tier"], c["new_tier"], c["reason"]) for c in self.changes]


NO_COMMISSION = "0"


def test_starting_tier_then_upgrade_at_once_and_downgrade_on_the_third_below_to_the_highest_of_the_three(con):
    b = Book(con)
    # 2026-01-05, first day: ¥150k → silver, the starting tier (no hysteresis).
    s = b.day(date(2026, 1, 5), {"X": ("150000", NO_COMMISSION)}, evaluation=False)
    assert (s["X"]["tier"], s["X"]["tier_since"]) == ("silver", date(2026, 1, 5))
    # A normal day with ¥3m average: no evaluation, nothing moves.
    s = b.day(date(2026, 1, 6), {"X": ("3000000", NO_COMMISSION)}, evaluation=False)
    assert s["X"]["tier"] == "silver"
    # 2026-01-30, month end: ¥600k → gold, upgraded at once.
    s = b.day(date(2026, 1, 30), {"X": ("600000", NO_COMMISSION)}, evaluation=True)
    assert (s["X"]["tier"], s["X"]["tier_since"], s["X"]["below_count"]) == ("gold", date(2026, 1, 30), 0)
    # February: ¥120k → silver computed, one month below: still gold.
    s = b.day(date(2026, 2, 27), {"X": ("120000", NO_COMMISSION)}, evaluation=True)
    assert (s["X"]["tier"], s["X"]["below_count"], s["X"]["below_best"]) == ("gold", 1, "silver")
    # March: ¥50k → standard computed, two months below: still gold; the best of the two is silver.
    s = b.day(date(2026, 3, 31), {"X": ("50000", NO_COMMISSION)}, evaluation=True)
    assert (s["X"]["tier"], s["X"]["below_count"], s["X"]["below_best"]) == ("gold", 2, "silver")
    # April: ¥300k → silver computed, the third below: down to the highest of (silver, standard,
    # silver) = silver, and the count starts again.
    s = b.day(date(2026, 4, 30), {"X": ("300000", NO_COMMISSION)}, evaluation=True)
    assert (s["X"]["tier"], s["X"]["tier_since"], s["X"]["below_count"]) == ("silver", date(2026, 4, 30), 0)
    assert b.moves() == [
        (date(2026, 1, 5), "X", None, "silver", "initial"),
        (date(2026, 1, 30), "X", "silver", "gold", "upgrade"),
        (date(2026, 4, 30), "X", "gold", "silver", "downgrade"),
    ]


def test_the_highest_of_the_three_can_be_the_first_or_the_last(con):
    b = Book(con)
    b.day(date(2026, 1, 30), {"F": ("2500000", NO_COMMISSION), "L": ("2500000", NO_COMMISSION)}, evaluation=True)
    # F computes gold, standard, standard; L computes standard, silver, gold (all below diamond).
    for day, f, l in [
        (date(2026, 2, 27), "600000", "1000"),
        (date(2026, 3, 31), "1000", "150000"),
        (date(2026, 4, 30), "1000", "700000"),
    ]:
        s = b.day(day, {"F": (f, NO_COMMISSION), "L": (l, NO_COMMISSION)}, evaluation=True)
    assert (s["F"]["tier"], s["L"]["tier"]) == ("gold", "gold")


def test_an_evaluation_at_or_above_current_resets_the_count(con):
    b = Book(con)
    b.day(date(2026, 1, 30), {"Y": ("600000", NO_COMMISSION)}, evaluation=True)  # gold
    b.day(date(2026, 2, 27), {"Y": ("100000", NO_COMMISSION)}, evaluation=True)  # silver: below 1
    s = b.day(date(2026, 3, 31), {"Y": ("500000", NO_COMMISSION)}, evaluation=True)  # exactly gold: reset
    assert (s["Y"]["tier"], s["Y"]["below_count"], s["Y"]["below_best"]) == ("gold", 0, None)
    b.day(date(2026, 4, 30), {"Y": ("99999.99", NO_COMMISSION)}, evaluation=True)  # standard: below 1
    s = b.day(date(2026, 5, 29), {"Y": ("100000", NO_COMMISSION)}, evaluation=True)  # silver: below 2
    assert (s["Y"]["tier"], s["Y"]["below_count"]) == ("gold", 2)
    s = b.day(date(2026, 6, 30), {"Y": ("0", NO_COMMISSION)}, evaluation=True)  # standard: third → silver
    assert (s["Y"]["tier"], s["Y"]["tier_since"]) == ("silver", date(2026, 6, 30))
    assert [m[4] for m in b.moves()] == ["initial", "downgrade"]


def test_a_customer_absent_on_an_evaluation_day_keeps_state_and_count(con):
    b = Book(con)
    b.day(date(2026, 1, 30), {"Z": ("600000", NO_COMMISSION), "W": ("1", NO_COMMISSION)}, evaluation=True)
    b.day(date(2026, 2, 27), {"Z": ("1", NO_COMMISSION), "W": ("1", NO_COMMISSION)}, evaluation=True)  # Z below 1
    s = b.day(date(2026, 3, 31), {"W": ("1", NO_COMMISSION)}, evaluation=True)  # Z has no CNY account today
    assert (s["Z"]["tier"], s["Z"]["below_count"], s["Z"]["trade_date"]) == ("gold", 1, date(2026, 3, 31))


def test_commission_tier_over_the_trailing_12_months_with_partial_history(con):
    b = Book(con, full_history_from=None)
    # First seen 2025-01-15 with ¥1,500 net commission; ¥10k assets: standard.
    s = b.day(date(2025, 1, 15), {"C": ("10000", "1500")}, evaluation=False)
    assert (s["C"]["tier"], s["C"]["commission_partial"]) == ("standard", True)
    # 2025-06-30: ¥600 more → ¥2,100 over the history available (partial): silver by commission.
    s = b.day(date(2025, 6, 30), {"C": ("10000", "600")}, evaluation=True)
    assert (s["C"]["tier"], s["C"]["commission_tier"], s["C"]["assets_tier"]) == ("silver", "silver", "standard")
    assert (s["C"]["net_commission_12m"], s["C"]["commission_partial"]) == (D("2100"), True)
    # 2026-01-30: the window is Feb 2025 – Jan 2026; January 2025's ¥1,500 has left it → ¥600:
    # standard computed, one below. The calendar now reaches before the window: not partial.
    b.full_history_from = date(2025, 2, 3)
    s = b.day(date(2026, 1, 30), {"C": ("10000", "0")}, evaluation=True)
    assert (s["C"]["tier"], s["C"]["below_count"], s["C"]["net_commission_12m"]) == ("silver", 1, D("600"))
    assert s["C"]["commission_partial"] is False
    assert {r["month"] for r in b.months.to_pylist()} == {date(2025, 6, 1)}


def test_higher_of_assets_and_commission(con):
    b = Book(con)
    s = b.day(date(2026, 1, 5), {"H": ("550000", "50000")}, evaluation=False)
    assert (s["H"]["assets_tier"], s["H"]["commission_tier"], s["H"]["tier"]) == ("gold", "diamond", "diamond")


def test_thresholds_are_configurable_and_checked(con):
    strict = dict(sp.DEFAULT_TIER_THRESHOLDS)
    strict["silver"] = sp.TierThreshold(D("200000"), D("2000"))
    s = Book(con, thresholds=strict).day(date(2026, 1, 5), {"T": ("150000", "0")}, evaluation=False)
    assert s["T"]["tier"] == "standard"
    broken = dict(sp.DEFAULT_TIER_THRESHOLDS)
    broken["gold"] = sp.TierThreshold(D("50000"), D("10000"))
    with pytest.raises(ValueError, match="gold is below the tier under it"):
        sp.validate_thresholds(broken)


def test_evaluation_days_are_the_last_trading_day_of_a_month():
    calendar = [date(2026, 3, 30), date(2026, 3, 31), date(2026, 4, 1), date(2026, 4, 22)]
    assert sp.is_evaluation_day(calendar, date(2026, 3, 31))
    assert not sp.is_evaluation_day(calendar, date(2026, 3, 30))
    # The latest day known: the last if no weekday of its month follows it.
    assert not sp.is_evaluation_day(calendar, date(2026, 4, 22))
    assert sp.is_evaluation_day([date(2026, 4, 30)], date(2026, 4, 30))  # Thursday; May 1 is next month
    assert sp.is_evaluation_day([date(2026, 7, 31)], date(2026, 7, 31))  # Friday, weekend follows
    # A month ending in holidays is known once the next month's first day is delivered.
    assert sp.is_evaluation_day([date(2025, 1, 27), date(2025, 2, 5)], date(2025, 1, 27))


def test_commission_window_and_partial_history_start():
    assert sp.commission_window_start(date(2026, 3, 31)) == date(2025, 4, 1)
    assert sp.commission_window_start(date(2026, 12, 31)) == date(2026, 1, 1)
    calendar = [date(2025, 3, 31), date(2025, 4, 1), date(2026, 3, 31)]
    assert sp.full_history_from(calendar, date(2026, 3, 31)) == date(2025, 4, 1)
    assert sp.full_history_from(calendar[1:], date(2026, 3, 31)) is None
