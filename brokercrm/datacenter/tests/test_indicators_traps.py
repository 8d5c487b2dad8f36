"""The traps of COUNTERS.md, one hand-worked account each, on a four-day calendar.

Thursday 2026-04-02, Friday 04-03, Tuesday 04-07 (Saturday, Sunday and the Monday holiday lie
between) and Wednesday 04-08. Each customer below exercises one rule; its holdings are listed in
the counter's positions file every day, as a counter does. Expected values are worked by hand.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import ibis
import pytest

from brokercrm.datacenter import pipeline as pl
from brokercrm.datacenter.tests.builders import Book, execute

THU, FRI, TUE, WED = date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 7), date(2026, 4, 8)
DAYS = (THU, FRI, TUE, WED)

SUSPENDED = "600100"  # quoted Thursday, suspended Friday and Tuesday, quoted again Wednesday
MOVER = "600200"
NEVER = "603999"  # in the security master, never quoted
REPO = "204001"

CLOSES = {
    SUSPENDED: {THU: "10.00", WED: "11.00"},
    MOVER: {THU: "12.00", FRI: "12.34", TUE: "12.50", WED: "12.60"},
    "600300": dict.fromkeys(DAYS, "15.00"),
    "600400": dict.fromkeys(DAYS, "20.00"),
    "600500": dict.fromkeys(DAYS, "6.00"),
    "600600": dict.fromkeys(DAYS, "7.00"),
    "600700": dict.fromkeys(DAYS, "33.00"),
    REPO: dict.fromkeys(DAYS, "1.800"),
}


def _holds(b: Book, account: str, by_day: dict[date, dict[str, int]], **row) -> None:
    for d, holdings in by_day.items():
        for code, quantity in holdings.items():
            b.hold(d, account, code, quantity, **row)


def _book() -> Book:
    b = Book()
    for code in CLOSES:
        b.security(code, "repo" if code == REPO else "stock")
    b.security(NEVER)
    for code, closes in CLOSES.items():
        for d, close in closes.items():
            b.quote(d, code, close)
    for d in DAYS:
        b.day(d)

    # Weekend and holiday interest base.
    b.account(THU, "W1", "W").cash(THU, "W1", "1000.00", "1000.00")
    b.cash(FRI, "W1", "200.00", "1200.00", kind="bank_in")
    b.cash(WED, "W1", "-100.00", "1100.00", kind="bank_out")

    # Suspended security: the latest earlier close.
    b.account(THU, "S1", "S")
    b.hold(THU, "S1", SUSPENDED, 100, cost_price="8.0000")
    _holds(b, "S1", {FRI: {SUSPENDED: 100}, TUE: {SUSPENDED: 100}, WED: {SUSPENDED: 100}})

    # Never quoted: 0 and a warning.
    b.account(THU, "N1", "N").cash(THU, "N1", "500.00", "500.00")
    b.hold(THU, "N1", NEVER, 300, cost_price="9.0000")
    _holds(b, "N1", {d: {NEVER: 300} for d in DAYS[1:]})

    # Transfers at the close of d: in on Friday, out of a suspended security on Tuesday.
    b.account(THU, "X1", "X")
    b.hold(THU, "X1", SUSPENDED, 100, cost_price="8.0000")
    b.transfer(FRI, "X1", MOVER, "in", 100)
    b.transfer(TUE, "X1", SUSPENDED, "out", 40)
    _holds(b, "X1", {FRI: {SUSPENDED: 100, MOVER: 100}, TUE: {SUSPENDED: 60, MOVER: 100}, WED: {SUSPENDED: 60, MOVER: 100}})

    # Sells before buys within a day, whatever the order of the file.
    b.account(THU, "B1", "B")
    b.hold(THU, "B1", "600300", 100, cost_price="10.0000")
    b.trade(FRI, "B1", "600300", "buy", 100, "2000.00", commission="5.00")
    b.trade(FRI, "B1", "600300", "sell", 50, "750.00", commission="3.00")
    # Later cost prices are the counter's own arithmetic, ignored.
    _holds(b, "B1", {d: {"600300": 150} for d in DAYS[1:]}, cost_price="99.9900")

    # Cost reset at zero: sold out and bought back the same day, then sold out again.
    b.account(THU, "Z1", "Z")
    b.hold(THU, "Z1", "600400", 100, cost_price="10.0000")
    b.trade(FRI, "Z1", "600400", "sell", 100, "1200.00")
    b.trade(FRI, "Z1", "600400", "buy", 50, "1000.00", commission="1.00")
    b.trade(TUE, "Z1", "600400", "sell", 50, "1100.00")
    b.trade(WED, "Z1", "600400", "buy", 10, "300.00")
    _holds(b, "Z1", {FRI: {"600400": 50}, WED: {"600400": 10}})

    # Non-CNY accounts are skipped: one customer with only USD, one with HKD beside CNY.
    b.account(THU, "U1", "U", currency="USD").cash(THU, "U1", "9000.00", "9000.00", currency="USD")
    b.account(THU, "H1", "H").cash(THU, "H1", "1000.00", "1000.00")
    b.account(THU, "H2", "H", currency="HKD").cash(THU, "H2", "5000.00", "5000.00", currency="HKD")
    _holds(b, "H2", {d: {MOVER: 100} for d in DAYS[1:]})
    b.hold(THU, "H2", MOVER, 100, cost_price="10.0000")

    # Repo at 100 per unit.
    b.account(THU, "R1", "R")
    b.hold(THU, "R1", REPO, 10, cost_price="100.0000")
    _holds(b, "R1", {d: {REPO: 10} for d in DAYS[1:]})

    # Credit account: financing, a short of a suspended security, interest.
    b.account(THU, "C1", "C", account_type="credit").cash(THU, "C1", "3000.00", "3000.00")
    for d in DAYS:
        b.add(d, "margin_debts", fund_account="C1", financing_balance="500.00", interest_payable="1.23")
        b.add(d, "margin_debts", fund_account="C1", kind="short", security_code=SUSPENDED, short_quantity=100)

    # Reconciliation: an oversell, a position the counter disagrees with, a cash jump.
    b.account(THU, "K1", "K")
    b.hold(THU, "K1", "600500", 100, cost_price="5.0000")
    b.trade(FRI, "K1", "600500", "sell", 150, "900.00")
    b.account(THU, "K2", "K")
    b.hold(THU, "K2", "600600", 100, cost_price="5.0000")
    _holds(b, "K2", {FRI: {"600600": 90}, TUE: {"600600": 90}, WED: {"600600": 90}})
    b.account(THU, "K3", "K").cash(THU, "K3", "1000.00", "1000.00")
    b.cash(FRI, "K3", "200.00", "1300.00", kind="bank_in")

    # Exact fractions, rounded half-up only when written out.
    b.account(THU, "F1", "F")
    b.trade(FRI, "F1", "600700", "buy", 3, "100.00")
    b.trade(TUE, "F1", "600700", "sell", 1, "50.00")
    b.trade(WED, "F1", "600700", "sell", 2, "100.00")
    _holds(b, "F1", {FRI: {"600700": 3}, TUE: {"600700": 2}})
    b.account(THU, "F2", "F")
    b.trade(FRI, "F2", "600700", "buy", 2, "10.03")
    b.trade(TUE, "F2", "600700", "sell", 1, "10.00")
    _holds(b, "F2", {FRI: {"600700": 2}, TUE: {"600700": 1}, WED: {"600700": 1}})

    # An account opening mid-way: its opening cash arrives as kind "other".
    b.account(TUE, "O1", "O").cash(TUE, "O1", "5000.00", "5000.00")

    # A second counter whose initial day is Friday: its positions file carries the cost prices and
    # its own trades of that day are already in it.
    b.account(FRI, "P1", "P", counter="apex")
    b.hold(FRI, "P1", MOVER, 1000, cost_price="11.5000", counter="apex")
    b.trade(FRI, "P1", MOVER, "sell", 100, "1234.00", counter="apex")
    b.trade(TUE, "P1", MOVER, "sell", 100, "1250.00", counter="apex")
    b.hold(TUE, "P1", MOVER, 900, counter="apex")
    b.hold(WED, "P1", MOVER, 900, counter="apex")
    return b


@pytest.fixture(scope="module")
def days():
    return _book().run()


def test_interest_base_counts_weekend_and_holiday_days(days):
    assert days[THU].money("W1", "interest_base") == "1000.00"
    assert days[FRI].money("W1", "interest_base") == "1200.00"  # Thu → Fri: none between
    # Fri → Tue: Saturday, Sunday and the Monday holiday, 3 days at Friday's 1200.00, plus Tuesday's.
    assert days[TUE].money("W1", "interest_base") == "4800.00"
    assert days[WED].money("W1", "interest_base") == "1100.00"
    assert days[FRI].money("W1", "bank_in") == "200.00"
    assert days[WED].money("W1", "bank_out") == "100.00"


def test_suspended_security_keeps_its_latest_earlier_close(days):
    assert [days[d].money("S1", "stock_value") for d in DAYS] == ["1000.00", "1000.00", "1000.00", "1100.00"]
    closes = {r["security_code"]: r for r in days[TUE].tables["closes"]}
    assert closes[SUSPENDED]["close_price"] == D("10.00")
    assert closes[SUSPENDED]["close_date"] == THU


def test_never_quoted_security_is_worth_zero_with_a_warning(days):
    for d in DAYS:
        assert days[d].money("N1", "stock_value") == "0.00"
        assert days[d].money("N1", "total_assets") == "500.00"
        [warning] = days[d].warnings(pl.DQ_NEVER_QUOTED)
        assert (warning["exchange"], warning["security_code"]) == ("SH", NEVER)
        assert "valued at 0" in warning["detail"]


def test_transfers_are_valued_at_the_close_of_the_day(days):
    assert days[FRI].money("X1", "securities_in_value") == "1234.00"  # 100 × 12.34 (Friday's, not Thursday's 12.00)
    assert days[FRI].position("X1", MOVER)["average_cost"] == D("12.34")
    # A suspended security moves at its latest earlier close; it leaves at the average cost.
    assert days[TUE].money("X1", "securities_out_value") == "400.00"  # 40 × 10.00
    held = days[TUE].position("X1", SUSPENDED)
    assert (held["quantity"], held["cost"]) == (60, D("480"))


def test_sells_are_applied_before_buys_within_a_day(days):
    # Against the start-of-day average 10.00: (750.00 − 3.00) − 50 × 10.00.
    assert days[FRI].money("B1", "realized_pnl") == "247.00"
    held = days[FRI].position("B1", "600300")
    # 50 left at 10.00 (500) + 2000.00 + 5.00 = 2505 for 150: 16.70 — not the counter's 99.99.
    assert (held["quantity"], held["cost"], held["average_cost"]) == (150, D("2505"), D("16.7"))
    assert days[WED].position("B1", "600300")["average_cost"] == D("16.7")


def test_cost_resets_when_the_quantity_reaches_zero(days):
    assert days[FRI].money("Z1", "realized_pnl") == "200.00"  # 1200.00 − 100 × 10.00
    held = days[FRI].position("Z1", "600400")
    assert (held["quantity"], held["average_cost"]) == (50, D("20.02"))  # (1000.00 + 1.00) / 50
    assert days[TUE].money("Z1", "realized_pnl") == "99.00"  # 1100.00 − 1001.00
    assert days[TUE].position("Z1", "600400") is None
    assert days[WED].position("Z1", "600400")["average_cost"] == D("30")  # 300.00 / 10, fresh


def test_non_cny_accounts_are_skipped_with_a_warning(days):
    for d in DAYS:
        assert "U" not in days[d].customers()
        assert days[d].customer_money("H", "total_assets") == "1000.00"  # the HKD account is not in it
        skipped = {w["fund_account"] for w in days[d].warnings(pl.DQ_NON_CNY_ACCOUNT)}
        assert skipped == {"U1", "H2"}


def test_repo_is_valued_at_100_per_unit(days):
    assert days[THU].money("R1", "bond_value") == "1000.00"  # 10 × 100, whatever the 1.800 quote


def test_credit_debt_adds_shorts_at_close_and_interest(days):
    # 500.00 + 100 × 10.00 (suspended since Thursday) + 1.23
    assert [days[d].money("C1", "debt") for d in DAYS] == ["1501.23", "1501.23", "1501.23", "1601.23"]
    assert days[TUE].money("C1", "net_assets") == "1498.77"  # 3000.00 − 1501.23


def test_a_sell_beyond_the_start_of_day_quantity_is_a_break(days):
    [oversell] = days[FRI].breaks(pl.BREAK_OVERSELL)
    assert (oversell["fund_account"], oversell["security_code"]) == ("K1", "600500")
    assert (oversell["expected"], oversell["found"]) == (D("100"), D("150"))
    # Only the 100 that were there are costed: 900.00 − 100 × 5.00.
    assert days[FRI].money("K1", "realized_pnl") == "400.00"
    assert days[FRI].position("K1", "600500") is None


def test_a_position_the_counter_disagrees_with_is_a_break_and_the_counter_is_valued(days):
    for d in DAYS[1:]:
        [position] = [b for b in days[d].breaks(pl.BREAK_POSITION) if b["fund_account"] == "K2"]
        assert (position["expected"], position["found"]) == (D("100"), D("90"))
        assert days[d].money("K2", "stock_value") == "630.00"  # the counter's 90 × 7.00


def test_a_cash_balance_that_does_not_follow_the_flows_is_a_break(days):
    [cash] = days[FRI].breaks(pl.BREAK_CASH)
    assert cash["fund_account"] == "K3"
    assert (cash["expected"], cash["found"]) == (D("1200.00"), D("1300.00"))
    assert days[FRI].money("K3", "cash_balance") == "1300.00"  # the counter's figure
    assert days[TUE].breaks(pl.BREAK_CASH) == []


def test_only_the_expected_breaks(days):
    assert days[THU].breaks() == []
    assert {(b["kind"], b["fund_account"]) for b in days[FRI].breaks()} == {
        (pl.BREAK_OVERSELL, "K1"),
        (pl.BREAK_POSITION, "K2"),
        (pl.BREAK_CASH, "K3"),
    }


def test_exact_fractions_round_half_up_when_written(days):
    assert days[TUE].money("F1", "realized_pnl") == "16.67"  # 50.00 − 100.00 / 3 = 16.666…
    held = days[TUE].position("F1", "600700")
    # H is carried at 10 places: 100 × 2/3 = 66.6666666667; its average is 33.3333 to a price's 4.
    assert held["cost"] == D("66.6666666667")
    assert held["average_cost"].quantize(D("0.0001")) == D("33.3333")
    assert days[WED].money("F1", "realized_pnl") == "33.33"  # 100.00 − 66.666…
    # 10.00 − 10.03 / 2 = 4.985 exactly: half-up gives 4.99 (half-even would give 4.98).
    assert days[TUE].account("F2")["realized_pnl"] == D("4.985")
    assert days[TUE].money("F2", "realized_pnl") == "4.99"


def test_an_account_opening_mid_way(days):
    assert "O" not in days[FRI].customers()
    assert days[TUE].money("O1", "cash_balance") == "5000.00"
    assert days[TUE].money("O1", "bank_in") == "0.00"  # opening cash is kind "other"
    assert days[TUE].money("O1", "interest_base") == "5000.00"  # no cash before: 0 × 3 + 5000.00
    assert days[TUE].customer("O")["avg_assets_20d_days"] == 1


def test_a_counter_starting_later_opens_at_its_own_cost_prices(days):
    held = days[FRI].position("P1", MOVER)
    assert (held["quantity"], held["average_cost"]) == (1000, D("11.5"))  # the positions file is end of day
    assert days[FRI].money("P1", "realized_pnl") == "0.00"
    [early] = days[FRI].warnings(pl.DQ_INITIAL_DAY_SELL)
    assert early["fund_account"] == "P1"
    assert days[TUE].money("P1", "realized_pnl") == "100.00"  # 1250.00 − 100 × 11.50
    assert [b for b in days[TUE].breaks() if b["fund_account"] == "P1"] == []


# --- avg_assets_20d over a long history, as a pure function ------------------------------------


def test_avg_assets_20d_takes_the_last_20_trading_days_and_flags_fewer():
    calendar = [date(2026, 1, 1 + i) for i in range(22)]
    day = calendar[-1]
    window = calendar[-20:]
    # Customer L has a total every day: i × 100 on day i (1-based). Customer M only the last two.
    history = [
        {"customer_no": "L", "trade_date": d, "total_assets": D(100 * (i + 1))} for i, d in enumerate(calendar[:-1])
    ] + [{"customer_no": "M", "trade_date": calendar[-2], "total_assets": D("10.01")}]
    hist = ibis.memtable(history, schema={"customer_no": "string", "trade_date": "date", "total_assets": pl.WIDE})
    base = {name: D(0) for name in pl.INDICATORS}
    base.update(trade_count=0, trade_date=day, counter="hundsun", account_type="normal")
    accounts = ibis.memtable(
        [
            {**base, "customer_no": "L", "fund_account": "L1", "total_assets": D(2200)},
            {**base, "customer_no": "M", "fund_account": "M1", "total_assets": D("10.02")},
        ],
        schema=pl.ACCOUNT_INDICATORS_SCHEMA,
    )
    rows = {
        r["customer_no"]: r
        for r in execute(pl.customer_indicators(account_indicators=accounts, history=hist, window=window, day=day))
    }
    # Days 3..22: (300 + … + 2200) / 20 = 1250; the first two days are outside the window.
    assert (rows["L"]["avg_assets_20d"], rows["L"]["avg_assets_20d_days"]) == (D(1250), 20)
    assert rows["L"]["avg_assets_20d_partial"] is False
    # Two days available: (10.01 + 10.02) / 2 = 10.015, flagged partial.
    assert (rows["M"]["avg_assets_20d"], rows["M"]["avg_assets_20d_days"]) == (D("10.015"), 2)
    assert rows["M"]["avg_assets_20d_partial"] is True


def test_a_half_cent_reached_through_days_of_partial_sells_rounds_up():
    """The average cost does not move on a sell, so the last sale's cost is exactly
    6 × 8479.30 / 24 = 2119.825 and its profit 51988.69 − 2119.825 = 49868.865 → 49868.87.
    The running cost reaches it through two partial sells, each leaving H at 10 places."""
    b = Book().security("600700")
    week = [date(2026, 4, 13) + timedelta(days=i) for i in range(5)]
    b.account(week[0], "G1", "G")
    b.trade(week[1], "G1", "600700", "buy", 24, "8479.30")
    b.trade(week[2], "G1", "600700", "sell", 11, "4000.00")
    b.trade(week[3], "G1", "600700", "sell", 5, "2000.00")
    b.trade(week[4], "G1", "600700", "sell", 6, "51988.69")
    for d, held in zip(week[1:], (24, 13, 8, 2)):
        b.hold(d, "G1", "600700", held)
    days = b.run()
    assert days[week[3]].position("G1", "600700")["cost"] == D("2826.4333333334")  # 8 × 353.30416…
    assert days[week[4]].money("G1", "realized_pnl") == "49868.87"
