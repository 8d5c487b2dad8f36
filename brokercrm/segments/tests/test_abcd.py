"""The ABCD class, hand-worked (DOMAIN.md, "Tiers (客户级别) and the ABCD matrix"): contribution with
margin interest, turnover (exact, 0 without assets), the median split within a branch (odd and
even counts, ties at the median are high) and the 250-day window's running sums."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, localcontext
from decimal import Decimal as D

import ibis
import pyarrow as pa
import pytest

from brokercrm.segments import pipeline as sp

DAY = date(2026, 4, 22)
WIDE = pa.decimal128(38, 10)


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def _sums(rows: list[tuple]) -> pa.Table:
    """(customer_no, days, net_commission, interest_paid, trade_amount, total_assets)."""
    names = ["customer_no", "days", "net_commission", "interest_paid", "trade_amount", "total_assets"]
    cols = list(zip(*rows))
    return pa.table(
        {
            "trade_date": pa.array([DAY] * len(rows), pa.date32()),
            "customer_no": pa.array(cols[0], pa.string()),
            "days": pa.array(cols[1], pa.int64()),
            **{n: pa.array([D(v) for v in cols[i]], WIDE) for i, n in enumerate(names) if i >= 2},
        }
    )


def _present(numbers) -> pa.Table:
    return pa.table({"customer_no": pa.array(list(numbers), pa.string())})


def _branches(mapping: dict[str, str]) -> pa.Table:
    return pa.table({"customer_no": list(mapping), "branch_code": list(mapping.values())})


def _classes(con, rows, branches) -> dict[str, dict]:
    result = sp.abcd_class(
        sums=ibis.memtable(_sums(rows)),
        customer_indicators=ibis.memtable(_present(r[0] for r in rows)),
        branches=ibis.memtable(_branches(branches)),
        day=DAY,
    )
    return {r["customer_no"]: r for r in con.to_pyarrow(result).to_pylist()}


def test_median_of_an_odd_branch_is_its_middle_value_and_ties_are_high(con):
    # Contributions 10, 20, 20, 30, 40 → median 20: both 20s are high.
    # Turnovers (trade ÷ assets, one day): 1, 2, 3, 4, 5 → median 3.
    rows = [
        ("c10", 1, "10", "0", "100", "100"),
        ("c20a", 1, "20", "0", "200", "100"),
        ("c20b", 1, "15", "5", "300", "100"),
        ("c30", 1, "30", "0", "400", "100"),
        ("c40", 1, "40", "0", "500", "100"),
    ]
    got = _classes(con, rows, {r[0]: "0101" for r in rows})
    assert {k: v["abcd_class"] for k, v in got.items()} == {
        "c10": "D",  # low / low
        "c20a": "B",  # high contribution (tied at the median) / low turnover
        "c20b": "A",  # 15 + 5 interest = 20: high; turnover 3 = median: high
        "c30": "A",
        "c40": "A",
    }
    assert got["c20b"]["contribution"] == D("20")


def test_median_of_an_even_branch_is_the_mean_of_the_two_middle_values(con):
    # Contributions 10, 20, 40, 50 → median 30: 20 is low, 40 high.
    # Turnovers 1, 2, 2.5, 3 → median (2 + 2.5)/2 = 2.25: 2.5 is high, 2 low.
    rows = [
        ("e10", 1, "10", "0", "300", "100"),
        ("e20", 1, "20", "0", "250", "100"),
        ("e40", 1, "40", "0", "200", "100"),
        ("e50", 1, "50", "0", "100", "100"),
    ]
    got = _classes(con, rows, {r[0]: "0102" for r in rows})
    assert {k: v["abcd_class"] for k, v in got.items()} == {"e10": "C", "e20": "C", "e40": "B", "e50": "B"}
    # An even branch whose two middle values are equal: the median is that value, and it is high.
    rows = [("t1", 1, "1", "0", "0", "0"), ("t2", 1, "2", "0", "0", "0"), ("t3", 1, "2", "0", "0", "0"), ("t4", 1, "3", "0", "0", "0")]
    got = _classes(con, rows, {r[0]: "0103" for r in rows})
    assert {k: v["high_contribution"] for k, v in got.items()} == {"t1": False, "t2": True, "t3": True, "t4": True}


def test_each_branch_has_its_own_median(con):
    rows = [
        ("a1", 1, "100", "0", "0", "0"),
        ("a2", 1, "200", "0", "0", "0"),
        ("b1", 1, "1", "0", "0", "0"),
        ("b2", 1, "2", "0", "0", "0"),
        ("alone", 1, "0", "0", "0", "0"),
    ]
    got = _classes(con, rows, {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "alone": "C"})
    assert {k: v["high_contribution"] for k, v in got.items()} == {
        "a1": False, "a2": True, "b1": False, "b2": True, "alone": True,
    }  # fmt: skip


def test_turnover_is_trade_amount_over_mean_assets_exact_and_zero_without_assets(con):
    rows = [
        # 3 days, Σ trade 100, Σ assets 7 → mean 7/3 → 100 × 3 / 7 = 42.857142857142… → 42.8571428571
        ("x", 3, "0", "0", "100", "7"),
        # 1 ÷ 2048 = 0.00048828125: half-up at 10 places → 0.0004882813
        ("h", 1, "0", "0", "1", "2048"),
        # no assets over the window: 0, whatever was traded
        ("z", 2, "0", "0", "5000", "0"),
        # 250 days of ¥12,345,678.9012 assets, ¥987,654,321.98 traded
        ("big", 250, "0", "0", "987654321.98", str(D("12345678.9012") * 250)),
    ]
    got = _classes(con, rows, {r[0]: "0101" for r in rows})
    assert got["x"]["turnover"] == D("42.8571428571")
    assert got["h"]["turnover"] == D("0.0004882813")
    assert got["z"]["turnover"] == D("0")
    with localcontext() as exact:
        exact.prec = 60
        want = (D("987654321.98") / D("12345678.9012")).quantize(D("1e-10"), rounding=ROUND_HALF_UP)
    assert got["big"]["turnover"] == want


def _exact_turnover(trade: D, days: int, assets: D) -> D:
    if assets <= 0:
        return D(0)
    with localcontext() as exact:
        exact.prec = 80
        q = trade * days / assets
        return min(q.quantize(D("1e-10"), rounding=ROUND_HALF_UP), sp.TURNOVER_CAP)


def test_turnover_equals_exact_decimal_division_on_and_around_half_units(con):
    """The double-precision fast path and the exact scheme together give the exact half-up
    quotient: random magnitudes, and quotients placed on a half unit of the 10th place and one
    ten-thousandth of a unit either side of it (where a double alone would round wrongly)."""
    import random

    rng = random.Random(20261206)
    rows = []
    for i in range(3000):
        assets = D(rng.randint(1, 10**rng.randint(1, 17))).scaleb(-4)
        days = rng.randint(1, 250)
        kind = i % 4
        if kind == 0:  # anything
            trade = D(rng.randint(0, 10**rng.randint(1, 20))).scaleb(-2)
        else:
            # trade × days ÷ assets = a quotient on (kind 1), just below (2) or above (3) a half unit
            q = D(rng.randint(0, 10**rng.randint(1, 15))).scaleb(-10) + D("0.5e-10") + (0, D("-1e-14"), D("1e-14"))[kind - 1]
            with localcontext() as exact:
                exact.prec = 80
                trade = (q * assets / days).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        rows.append((f"c{i}", days, "0", "0", str(trade), str(assets)))
    rows += [("zero", 3, "0", "0", "100", "0"), ("cap", 1, "0", "0", "1000000000", "0.0001")]
    got = _classes(con, rows, {r[0]: "0101" for r in rows})
    wrong = [
        (r[0], got[r[0]]["turnover"], want)
        for r in rows
        if got[r[0]]["turnover"] != (want := _exact_turnover(D(r[4]), r[1], D(r[5])))
    ]
    assert wrong == []
    assert got["cap"]["turnover"] == sp.TURNOVER_CAP


def test_daily_figures_count_only_interest_paid_on_cny_credit_accounts(con):
    ci = pa.table(
        {
            "trade_date": pa.array([DAY, DAY], pa.date32()),
            "customer_no": ["M", "N"],
            "net_commission": pa.array([D("12.5"), D("0")], WIDE),
            "trade_amount": pa.array([D("1000"), D("0")], WIDE),
            "total_assets": pa.array([D("50000"), D("100")], WIDE),
        }
    )
    accounts = pa.table(
        {
            "fund_account": ["M-normal", "M-credit", "M-usd-credit", "N-normal"],
            "customer_no": ["M", "M", "M", "N"],
            "account_type": ["normal", "credit", "credit", "normal"],
            "currency": ["CNY", "CNY", "USD", "CNY"],
        }
    )
    money = pa.decimal128(18, 2)
    flows = pa.table(
        {
            "fund_account": ["M-credit", "M-credit", "M-credit", "M-normal", "M-usd-credit", "N-normal"],
            "kind": ["interest", "interest", "fee", "interest", "interest", "interest"],
            "amount": pa.array([D("-30.25"), D("5.00"), D("-2.00"), D("-7.00"), D("-9.00"), D("-1.00")], money),
        }
    )
    daily = sp.abcd_daily(
        customer_indicators=ibis.memtable(ci), cash_flows=ibis.memtable(flows), accounts=ibis.memtable(accounts), day=DAY
    )
    got = {r["customer_no"]: r for r in con.to_pyarrow(daily).to_pylist()}
    assert got["M"]["interest_paid"] == D("30.25")  # the paid interest of the CNY credit account only
    assert got["N"]["interest_paid"] == D("0")
    assert got["M"]["net_commission"] == D("12.5")


def test_running_sums_add_the_day_and_subtract_the_day_leaving_the_window(con):
    def daily(day, rows):
        return pa.table(
            {
                "trade_date": pa.array([day] * len(rows), pa.date32()),
                "customer_no": [r[0] for r in rows],
                **{
                    n: pa.array([D(r[i + 1]) for r in rows], WIDE)
                    for i, n in enumerate(["net_commission", "interest_paid", "trade_amount", "total_assets"])
                },
            }
        )

    previous = _sums([("P", 250, "100", "10", "5000", "250000"), ("Q", 1, "1", "0", "1", "10")])
    today = daily(DAY, [("P", "2", "1", "300", "1200")])
    leaving = daily(DAY - timedelta(days=400), [("P", "5", "0", "100", "1000"), ("Q", "1", "0", "1", "10")])
    sums = sp.abcd_sums_step(
        previous=ibis.memtable(previous), daily=ibis.memtable(today), leaving=ibis.memtable(leaving), day=DAY
    )
    got = {r["customer_no"]: r for r in con.to_pyarrow(sums).to_pylist()}
    assert set(got) == {"P"}  # Q's only day left the window
    p = got["P"]
    assert (p["days"], p["net_commission"], p["interest_paid"], p["trade_amount"], p["total_assets"]) == (
        250, D("97"), D("11"), D("5200"), D("250200"),
    )  # fmt: skip


def test_the_leaving_day_is_250_trading_days_back():
    calendar = [date(2025, 1, 1) + timedelta(days=i) for i in range(300)]
    assert sp.abcd_leaving_day(calendar, calendar[249]) is None
    assert sp.abcd_leaving_day(calendar, calendar[250]) == calendar[0]
    assert sp.abcd_leaving_day(calendar, calendar[299]) == calendar[49]
