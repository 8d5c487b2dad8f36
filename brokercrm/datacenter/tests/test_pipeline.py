"""Every base indicator, hand-worked on a three-day brokerage (COUNTERS.md, "Base indicators").

The book: customer C1 holds a normal account A1 and a credit account A2, customer C2 an account
B1, all in CNY, on one counter whose initial day is Thursday 2026-03-05. The expected numbers in
the comments are worked out by hand from the rules, not from the code.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import ibis
import pytest

from brokercrm.datacenter import pipeline as pl
from brokercrm.datacenter.exports import INDICATOR_COLUMNS, export_indicators, money_text
from brokercrm.datacenter.runner import pipeline_run
from brokercrm.datacenter.tests.builders import Book, execute

THU, FRI, MON = date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 9)


def _book() -> Book:
    b = Book()
    b.security("600036").security("510300", "etf").security("019547", "bond")
    b.security("113050", "convertible").security("204001", "repo")
    # Thursday: the counter's initial day.
    b.account(THU, "A1", "C1").account(THU, "A2", "C1", account_type="credit").account(THU, "B1", "C2")
    b.cash(THU, "A1", "100000.00", "100000.00").cash(THU, "A2", "50000.00", "50000.00")
    b.cash(THU, "B1", "20000.00", "20000.00")
    b.hold(THU, "A1", "600036", 1000, cost_price="30.0000").hold(THU, "A1", "510300", 10000, cost_price="3.5000")
    b.hold(THU, "A2", "600036", 500, cost_price="32.0000")
    b.add(THU, "margin_debts", fund_account="A2", financing_balance="20000.00", interest_payable="10.00")
    for code, close in [("600036", "35.00"), ("510300", "3.800"), ("019547", "101.0000"), ("113050", "110.000"), ("204001", "1.800")]:
        b.quote(THU, code, close)
    # Friday: a buy listed before a sell, transfers both ways, cash flows out of serial order.
    b.trade(FRI, "A1", "019547", "buy", 100, "10123.45", commission="5.00", exchange_fee="0.50")
    b.trade(
        FRI, "A1", "600036", "sell", 400, "14400.00",
        commission="5.00", stamp_tax="7.20", transfer_fee="0.14", exchange_fee="0.78",
    )
    b.transfer(FRI, "A1", "113050", "in", 200).transfer(FRI, "A1", "510300", "out", 1000)
    b.cash(FRI, "A1", "-2000.00", "107257.93", kind="bank_out", serial_no=13)
    b.cash(FRI, "A1", "14386.88", "114386.88", kind="trade_settle", serial_no=10)
    b.cash(FRI, "A1", "-10128.95", "104257.93", kind="trade_settle", serial_no=11)
    b.cash(FRI, "A1", "5000.00", "109257.93", kind="bank_in", serial_no=12)
    b.add(FRI, "freezes", fund_account="A1", amount="1000.00")
    # Cost prices after the initial day are the counter's own arithmetic: ignored.
    b.hold(FRI, "A1", "600036", 600, cost_price="99.0000").hold(FRI, "A1", "510300", 9000, cost_price="1.0000")
    b.hold(FRI, "A1", "019547", 100).hold(FRI, "A1", "113050", 200).hold(FRI, "A2", "600036", 500)
    b.add(FRI, "margin_debts", fund_account="A2", financing_balance="20000.00", interest_payable="12.34")
    b.add(FRI, "margin_debts", fund_account="A2", kind="short", short_quantity=100)
    for code, close in [("600036", "36.50"), ("510300", "3.900"), ("019547", "101.5000"), ("113050", "112.288"), ("204001", "2.100")]:
        b.quote(FRI, code, close)
    # Monday: 600036 and 019547 suspended (no quote); a repo bought; a freeze partly released.
    b.add(MON, "freezes", fund_account="A1", amount="-400.00")
    b.trade(MON, "B1", "204001", "buy", 10, "1000.00", commission="0.10")
    b.cash(MON, "B1", "-1000.10", "18999.90", kind="trade_settle")
    b.hold(MON, "A1", "600036", 600).hold(MON, "A1", "510300", 9000).hold(MON, "A1", "019547", 100)
    b.hold(MON, "A1", "113050", 200).hold(MON, "A2", "600036", 500).hold(MON, "B1", "204001", 10)
    b.add(MON, "margin_debts", fund_account="A2", financing_balance="20000.00", interest_payable="14.00")
    b.add(MON, "margin_debts", fund_account="A2", kind="short", short_quantity=100)
    for code, close in [("510300", "3.850"), ("113050", "113.000"), ("204001", "1.900")]:
        b.quote(MON, code, close)
    return b


@pytest.fixture(scope="module")
def days():
    return _book().run()


def _money(result, account, names):
    return {name: result.money(account, name) for name in names}


def test_initial_day_values_holdings_at_close_and_cost_at_counter_cost_price(days):
    d = days[THU]
    assert _money(d, "A1", ["cash_balance", "stock_value", "fund_value", "bond_value", "total_assets", "interest_base"]) == {
        "cash_balance": "100000.00",
        "stock_value": "35000.00",  # 1000 × 35.00
        "fund_value": "38000.00",  # 10000 × 3.800 (etf)
        "bond_value": "0.00",
        "total_assets": "173000.00",
        "interest_base": "100000.00",  # first day of the calendar: no previous day
    }
    assert d.money("A2", "debt") == "20010.00"  # 20000.00 financing + 10.00 interest
    assert d.money("A2", "net_assets") == "47490.00"  # 50000 + 500 × 35.00 − 20010
    assert d.position("A1", "600036")["average_cost"] == D("30")
    assert d.position("A1", "510300")["cost"] == D("35000")  # Q × cost_price


def test_friday_account_indicators_every_one(days):
    d = days[FRI]
    assert _money(d, "A1", [n for n in pl.INDICATORS if n != "trade_count"]) == {
        "cash_balance": "107257.93",  # serial 13 is the highest, though first in the file
        "bank_in": "5000.00",
        "bank_out": "2000.00",  # a positive number
        "securities_in_value": "22457.60",  # 200 × 112.288, close of d
        "securities_out_value": "3900.00",  # 1000 × 3.900, close of d
        "stock_value": "21900.00",  # 600 × 36.50
        "fund_value": "35100.00",  # 9000 × 3.900
        "bond_value": "32607.60",  # 100 × 101.5000 + 200 × 112.288 (convertible)
        "debt": "0.00",
        "total_assets": "196865.53",
        "net_assets": "196865.53",
        "realized_pnl": "2386.88",  # 14400.00 − 13.12 fees − 400 × 30
        "interest_base": "107257.93",  # Thu → Fri: no day strictly between
        "trade_amount": "24523.45",  # 10123.45 + 14400.00
        "commission": "10.00",
        "net_commission": "8.72",  # 10.00 − (0.50 + 0.78)
        "frozen_balance": "1000.00",
    }
    assert d.account("A1")["trade_count"] == 2


def test_friday_holdings_follow_the_average_cost_rule(days):
    d = days[FRI]
    # The sell leaves the average cost alone: 600 at 30.
    assert (d.position("A1", "600036")["quantity"], d.position("A1", "600036")["cost"]) == (600, D("18000"))
    # A transfer out removes q × H/Q: 35000 × 9000/10000.
    assert d.position("A1", "510300")["cost"] == D("31500")
    # A buy adds amount + all fees: 10123.45 + 5.50.
    assert d.position("A1", "019547")["average_cost"] == D("101.2895")
    # A transfer in adds q × close of d.
    assert d.position("A1", "113050")["cost"] == D("22457.6")


def test_credit_account_debt_counts_shorts_at_close(days):
    d = days[FRI]
    assert d.money("A2", "debt") == "23662.34"  # 20000.00 + 100 × 36.50 + 12.34
    assert d.money("A2", "total_assets") == "68250.00"  # 50000 + 500 × 36.50
    assert d.money("A2", "net_assets") == "44587.66"
    # Monday 600036 is suspended: the short is valued at Friday's close.
    assert days[MON].money("A2", "debt") == "23664.00"  # 20000 + 3650 + 14.00


def test_customer_sums_its_accounts_and_averages_assets(days):
    d = days[FRI]
    assert d.customers() == ["C1", "C2"]
    assert d.customer_money("C1", "total_assets") == "265115.53"  # 196865.53 + 68250
    assert d.customer_money("C1", "debt") == "23662.34"
    assert d.customer_money("C1", "net_assets") == "241453.19"
    assert d.customer_money("C1", "cash_balance") == "157257.93"
    assert d.customer("C1")["trade_count"] == 2
    # (240500.00 + 265115.53) / 2 = 252807.765: half-up to 252807.77, over 2 days, partial.
    assert d.customer_money("C1", "avg_assets_20d") == "252807.77"
    assert d.customer("C1")["avg_assets_20d_days"] == 2
    assert d.customer("C1")["avg_assets_20d_partial"] is True


def test_monday_weekend_interest_suspension_repo_and_freeze_release(days):
    d = days[MON]
    assert d.money("A1", "interest_base") == "321773.79"  # 107257.93 × 2 (Sat, Sun) + 107257.93
    assert d.money("A1", "stock_value") == "21900.00"  # suspended: Friday's 36.50
    assert d.money("A1", "bond_value") == "32750.00"  # 100 × 101.5 (suspended) + 200 × 113.000
    assert d.money("A1", "frozen_balance") == "600.00"  # running: 1000 − 400
    assert d.money("A1", "realized_pnl") == "0.00"
    assert d.money("B1", "bond_value") == "1000.00"  # repo: 10 × 100, not 10 × 1.900
    assert d.money("B1", "interest_base") == "58999.90"  # 20000 × 2 + 18999.90
    assert d.customer_money("C1", "avg_assets_20d") == "256807.82"  # 770423.46 / 3
    assert d.customer_money("C2", "avg_assets_20d") == "19999.97"  # 59999.90 / 3 = 19999.9666…


def test_a_clean_book_has_no_breaks_and_no_warnings(days):
    for d in days.values():
        assert d.breaks() == []
        assert d.warnings() == []


def test_pipeline_run_and_export_write_the_output_contract(tmp_path):
    _book().publish(tmp_path)
    result = pipeline_run(data_dir=tmp_path)
    assert result.computed == (THU, FRI, MON)
    out = tmp_path / "indicators.csv"
    assert export_indicators(data_dir=tmp_path, day=FRI, out=out) == 2
    text = out.read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert tuple(rows[0]) == INDICATOR_COLUMNS
    assert rows[0][:3] == ["trade_date", "customer_no", "cash_balance"]
    assert rows[0][-2:] == ["frozen_balance", "avg_assets_20d"]
    c1 = dict(zip(rows[0], rows[1]))
    assert c1["trade_date"] == "2026-03-06"
    assert c1["customer_no"] == "C1"
    assert c1["trade_count"] == "2"
    assert c1["bank_out"] == "2000.00"
    assert c1["avg_assets_20d"] == "252807.77"
    money = [v for k, v in c1.items() if k not in ("trade_date", "customer_no", "trade_count")]
    assert all(len(v.split(".")[1]) == 2 for v in money)
    with pytest.raises(ValueError, match="run the pipeline first"):
        export_indicators(data_dir=tmp_path, day=date(2026, 3, 10), out=out)


# --- the building blocks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        ("100", 3, "33.3333333333"),  # 33.333… rounds down
        ("2", 3, "0.6666666667"),  # 0.666… rounds up
        ("0.0000000001", 2, "0.0000000001"),  # half a unit: half-up
        ("5.005", 2, "2.5025"),
        ("123456789012.3456789012", 7, "17636684144.6208112716"),  # 17636684144.62081127160
        ("999999999999.9999999999", 1, "999999999999.9999999999"),
        ("1", 0, "0"),  # Q = 0 ⇒ H/Q is 0 (the rule "when Q reaches 0, H is 0")
        ("-2", 3, "-0.6666666667"),  # half-up is away from zero, like the exports
        ("-0.0000000001", 2, "-0.0000000001"),
    ],
)
def test_quotients_are_exact_half_up(numerator, denominator, expected):
    t = ibis.memtable({"n": [D(numerator)], "d": [denominator]}, schema={"n": pl.WIDE, "d": "int64"})
    [row] = execute(pl.with_quotients(t, q=(t.n, t.d)))
    assert row["q"] == D(expected)


def test_quotients_match_python_decimals_on_large_values():
    from decimal import ROUND_HALF_UP, getcontext

    getcontext().prec = 60
    pairs = [(D("98765432109876.5432109876"), 97), (D("1234567.8912345678"), 1_000_003), (D("3.3"), 9_999_999_967)]
    t = ibis.memtable(
        {"n": [p[0] for p in pairs], "d": [p[1] for p in pairs]}, schema={"n": pl.WIDE, "d": "int64"}
    )
    rows = execute(pl.with_quotients(t, q=(t.n, t.d)))
    for (n, d), row in zip(pairs, rows):
        assert row["q"] == (n / d).quantize(D("1E-10"), rounding=ROUND_HALF_UP)


def test_money_text_rounds_half_up_only_when_written():
    assert money_text(D("2.345")) == "2.35"
    assert money_text(D("2.3449999")) == "2.34"
    # A half cent that reached 10 places as …4999999999 through a running cost is a half cent.
    assert money_text(D("2.3449999999")) == "2.35"
    assert money_text(D("-2.345")) == "-2.35"
    assert money_text(D("-0.004")) == "0.00"
    assert money_text(D("7")) == "7.00"


# --- the sample brokerage (examples/sample), end to end ----------------------------------------

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample"


@pytest.mark.slow
def test_sample_brokerage_matches_expected_indicators_to_the_cent(sample_copy, tmp_path):
    from brokercrm.datacenter.runner import computed_days, read_snapshot

    data_dir = sample_copy  # ingested and computed once per session (conftest.sample_computed)
    expected_files = sorted((SAMPLE / "expected").glob("indicators-*.csv"))
    assert len(expected_files) == 22
    days = computed_days(data_dir=data_dir)
    assert [d.isoformat() for d in days] == [f.stem.removeprefix("indicators-") for f in expected_files]
    breaks = [read_snapshot(data_dir=data_dir, table="reconciliation", day=d) for d in days]
    assert all(b is None or b.num_rows == 0 for b in breaks)
    differences = []
    for path in expected_files:
        day = date.fromisoformat(path.stem.removeprefix("indicators-"))
        out = tmp_path / path.name
        export_indicators(data_dir=data_dir, day=day, out=out)
        expected = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
        got = list(csv.reader(out.read_text(encoding="utf-8").splitlines()))
        assert got[0] == expected[0]
        assert [r[1] for r in got] == [r[1] for r in expected], day
        for e, g in zip(expected[1:], got[1:]):
            differences += [
                (day, e[1], name, want, have) for name, want, have in zip(expected[0], e, g) if want != have
            ]
    assert differences == []


def test_a_redelivered_account_and_holdings_nothing_moved_carry_their_state():
    """Friday re-delivers account A1 (now frozen) with no cash flow, opens N1, and moves only
    B1's holding: A1 keeps Thursday's cash and frozen amount under its new status, N1 starts at
    zero, and A1's holding, untouched, keeps its quantity, cost and average cost."""
    b = Book()
    b.security("600036")
    b.account(THU, "A1", "C1").account(THU, "B1", "C2")
    b.cash(THU, "A1", "1000.00", "1000.00").cash(THU, "B1", "500.00", "500.00")
    b.add(THU, "freezes", fund_account="A1", amount="100.00")
    b.hold(THU, "A1", "600036", 1000, cost_price="10.0000").hold(THU, "B1", "600036", 300, cost_price="12.0000")
    b.quote(THU, "600036", "11.00")
    b.account(FRI, "A1", "C1", status="frozen").account(FRI, "N1", "C1")
    b.trade(FRI, "B1", "600036", "sell", 100, "1150.00", commission="5.00")
    b.cash(FRI, "B1", "1145.00", "1645.00", kind="trade_settle")
    b.hold(FRI, "A1", "600036", 1000).hold(FRI, "B1", "600036", 200)
    b.quote(FRI, "600036", "11.50")
    friday = b.run()[FRI]
    accounts = {r["fund_account"]: r for r in friday.tables["accounts"]}
    assert sorted(accounts) == ["A1", "B1", "N1"]
    a1 = accounts["A1"]
    assert (a1["status"], a1["previous_cash_balance"], a1["cash_balance"]) == ("frozen", D("1000.00"), D("1000.00"))
    assert (a1["frozen_balance"], a1["cash_flow_count"]) == (D("100.00"), 0)
    assert (accounts["N1"]["cash_balance"], accounts["N1"]["frozen_balance"]) == (D("0.00"), D("0.00"))
    assert accounts["B1"]["cash_balance"] == D("1645.00")
    held = friday.position("A1", "600036")
    assert (held["quantity"], held["cost"], held["average_cost"]) == (1000, D("10000"), D("10"))
    moved = friday.position("B1", "600036")  # 300 at 12: 100 sold, 200 × 12 = 2400 remain
    assert (moved["quantity"], moved["cost"], moved["average_cost"]) == (200, D("2400"), D("12"))
    # realized: 1150 − 5 − 100 × 12 = −55
    assert friday.money("B1", "realized_pnl") == "-55.00"
    assert friday.money("A1", "stock_value") == "11500.00" and friday.breaks() == []
