"""Properties of the average-cost and cash rules, against an exact model (COUNTERS.md).

The model keeps Q and H as exact fractions and applies "Average cost" literally; the pipeline
keeps H at 10 decimal places. Each example batches several independent holdings into one run of
the Ibis step, so that an example costs a few queries rather than a few per holding.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal as D
from fractions import Fraction as F

import ibis
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brokercrm.datacenter import pipeline as pl
from brokercrm.datacenter.exports import money_text
from brokercrm.datacenter.runner import connect
from brokercrm.datacenter.schema import table_schema

DAY0 = date(2026, 5, 4)
# Each example compiles a few Ibis queries (≈0.1 s each): enough examples to search, few enough to stay fast.
SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

cents = st.integers(min_value=1, max_value=50_000_000).map(lambda c: D(c).scaleb(-2))
fees = st.integers(min_value=0, max_value=5_000).map(lambda c: D(c).scaleb(-2))
prices = st.integers(min_value=1, max_value=2_000_000).map(lambda p: D(p).scaleb(-4))


def _money(value: F) -> str:
    """Round an exact fraction half-up to the cent, as the export does with a decimal."""
    cents_, rest = divmod(abs(value) * 100, 1)
    cents_ = int(cents_) + (1 if rest >= F(1, 2) else 0)
    return money_text(D(cents_ if value >= 0 else -cents_).scaleb(-2))


def _flows(table: str, rows: list[dict], day: date) -> ibis.Table:
    schema = table_schema(table)
    columns = {name: [] for name in schema.names}
    for line, row in enumerate(rows, start=2):
        full = {"counter": "hundsun", "trade_date": day, "line": line, "exchange": "SH", **row}
        for name in schema.names:
            columns[name].append(full.get(name))
    return ibis.memtable(pa.table(columns, schema=schema))


def _trade(serial: int, account: str, side: str, quantity: int, amount: D, fee: D) -> dict:
    return {
        "serial_no": serial,
        "fund_account": account,
        "security_code": "600000",
        "side": side,
        "quantity": quantity,
        "price": D("1"),
        "amount": amount,
        "commission": fee,
        "stamp_tax": D("0"),
        "transfer_fee": D("0"),
        "exchange_fee": D("0"),
        "other_fee": D("0"),
        "channel": "internet",
    }


def _closes(close: D, day: date) -> ibis.Table:
    return ibis.memtable(
        [
            {
                "trade_date": day,
                "exchange": "SH",
                "security_code": "600000",
                "security_type": "stock",
                "close_price": close,
                "close_date": day,
                "quoted": True,
            }
        ],
        schema=pl.CLOSES_SCHEMA,
    )


@dataclass
class Holding:
    """The exact model of one holding (COUNTERS.md, "Average cost")."""

    q: int
    h: F
    realized: F = F(0)

    def day(self, ops: list[tuple[str, int, D, D]], close: D) -> None:
        q0, h0 = self.q, self.h
        self.realized = F(0)
        for kind, quantity, amount, fee in ops:  # sells and transfers out, against the start of day
            if kind in ("sell", "out"):
                cost = F(quantity) * h0 / q0
                self.q -= quantity
                self.h -= cost
                if kind == "sell":
                    self.realized += F(amount) - F(fee) - cost
        if self.q == 0:
            self.h = F(0)
        for kind, quantity, amount, fee in ops:  # then buys and transfers in
            if kind == "buy":
                self.q += quantity
                self.h += F(amount) + F(fee)
            elif kind == "in":
                self.q += quantity
                self.h += F(quantity) * F(close)


@st.composite
def day_ops(draw, start_quantity: int) -> list[tuple[str, int, D, D]]:
    """A day's operations on one holding; sells and transfers out never exceed the start of day."""
    ops = []
    left = start_quantity
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["sell", "out", "buy", "in"]))
        if kind in ("sell", "out"):
            if left == 0:
                continue
            quantity = draw(st.integers(1, left))
            left -= quantity
        else:
            quantity = draw(st.integers(1, 100_000))
        ops.append((kind, quantity, draw(cents), draw(fees)))
    return ops


@st.composite
def books(draw) -> tuple[list[tuple[int, D]], list[list[list[tuple[str, int, D, D]]]], list[D]]:
    """Several holdings: opening (Q, cost price) and three days of operations; a close per day."""
    n = draw(st.integers(1, 6))
    openings = [(draw(st.integers(0, 100_000)), draw(prices)) for _ in range(n)]
    closes = [draw(prices) for _ in range(3)]
    days = []
    models = [Holding(q, F(q) * F(p)) for q, p in openings]
    for d in range(3):
        todays = []
        for model in models:
            ops = draw(day_ops(model.q))
            model.day(ops, closes[d])
            todays.append(ops)
        days.append(todays)
    return openings, days, closes


def _run(openings, days, closes):
    """Run the Ibis step over the book (each day from the positions of the day before); return
    per day the models and {account: quantity, cost and realized profit}."""
    day = DAY0
    previous = ibis.memtable(
        [
            {
                "trade_date": day,
                "counter": "hundsun",
                "fund_account": f"A{i}",
                "exchange": "SH",
                "security_code": "600000",
                "quantity": q,
                "cost": D(q) * p,
                "average_cost": p,
            }
            for i, (q, p) in enumerate(openings)
            if q
        ],
        schema=pl.POSITIONS_SCHEMA,
    )
    models = [Holding(q, F(q) * F(p)) for q, p in openings]
    results = []
    for d, todays in enumerate(days):
        day = DAY0 + timedelta(days=d + 1)
        trades, transfers, serial = [], [], 0
        for i, ops in enumerate(todays):
            models[i].day(ops, closes[d])
            for kind, quantity, amount, fee in ops:
                serial += 1
                if kind in ("buy", "sell"):
                    trades.append(_trade(serial, f"A{i}", kind, quantity, amount, fee))
                else:
                    transfers.append(
                        {"serial_no": serial, "fund_account": f"A{i}", "security_code": "600000",
                         "direction": kind, "quantity": quantity}
                    )
        step = pl.position_step(
            previous=previous,
            trades=_flows("trades", trades, day),
            transfers=_flows("security_transfers", transfers, day),
            closes=_closes(closes[d], day),
            day=day,
        )
        positions = pl_connect().to_pyarrow(step.positions)
        realized = {r["fund_account"]: r["realized_pnl"] for r in pl_connect().to_pyarrow(step.realized).to_pylist()}
        rows = {r["fund_account"]: {**r, "realized": realized.get(r["fund_account"])} for r in positions.to_pylist()}
        for account, value in realized.items():
            rows.setdefault(account, {"quantity": 0, "cost": D(0), "realized": value})
        results.append(({f"A{i}": (m.q, m.h, m.realized) for i, m in enumerate(models)}, rows))
        previous = ibis.memtable(positions, schema=pl.POSITIONS_SCHEMA)
    return results


@functools.cache
def pl_connect():
    """One DuckDB for the module: examples are many, connections are not free."""
    return connect("duckdb")


@SETTINGS
@given(books())
def test_cost_identity_matches_the_exact_rule(book):
    openings, days, closes = book
    for expected, rows in _run(openings, days, closes):
        for account, (q, h, realized) in expected.items():
            row = rows.get(account)
            got_q = row["quantity"] if row else 0
            got_h = row["cost"] if row else D(0)
            assert got_q == q
            assert got_h >= 0  # H ≥ 0
            if got_q == 0:
                assert got_h == 0  # Q = 0 ⇒ H = 0
            # H carried at 10 places stays within a few units of the last place of the exact H.
            assert abs(F(got_h) - h) <= F(1, 10**8)
            got_realized = row["realized"] if row and row["realized"] is not None else D(0)
            assert abs(F(got_realized) - realized) <= F(1, 10**8)
            assert money_text(got_realized) == _money(realized)


@settings(SETTINGS, max_examples=10)
@given(st.lists(st.tuples(st.integers(1, 1_000_000), cents, fees, cents, fees), min_size=1, max_size=8))
def test_buy_then_sell_all_realizes_proceeds_minus_cost(trips):
    con = pl_connect()
    empty = ibis.memtable(pl.POSITIONS_SCHEMA.to_pyarrow().empty_table())
    buys = [_trade(i, f"A{i}", "buy", q, buy, buy_fee) for i, (q, buy, buy_fee, _, _) in enumerate(trips)]
    sells = [_trade(i, f"A{i}", "sell", q, sell, sell_fee) for i, (q, _, _, sell, sell_fee) in enumerate(trips)]
    no_transfers = _flows("security_transfers", [], DAY0)
    first = pl.position_step(
        previous=empty, trades=_flows("trades", buys, DAY0), transfers=no_transfers,
        closes=_closes(D("1"), DAY0), day=DAY0,
    )
    held = ibis.memtable(con.to_pyarrow(first.positions))
    second_day = DAY0 + timedelta(days=1)
    second = pl.position_step(
        previous=held, trades=_flows("trades", sells, second_day), transfers=no_transfers,
        closes=_closes(D("1"), second_day), day=second_day,
    )
    realized = {r["fund_account"]: r["realized_pnl"] for r in con.to_pyarrow(second.realized).to_pylist()}
    assert con.to_pyarrow(second.positions).num_rows == 0  # all sold: no holding left
    for i, (_, buy, buy_fee, sell, sell_fee) in enumerate(trips):
        assert realized[f"A{i}"] == (sell - sell_fee) - (buy + buy_fee)


@st.composite
def cash_days(draw):
    """Accounts with an opening balance and two days of signed cash flows."""
    n = draw(st.integers(1, 5))
    amounts = st.integers(-10_000_000, 10_000_000).map(lambda c: D(c).scaleb(-2))
    opening = [draw(cents) for _ in range(n)]
    days = [[draw(st.lists(amounts, max_size=4)) for _ in range(n)] for _ in range(2)]
    wrong = draw(st.one_of(st.none(), st.tuples(st.integers(0, 1), st.integers(0, n - 1))))
    return opening, days, wrong


def _cash_rows(flows: list[list[D]], balances: list[D], *, serial0: int, wrong_account: int | None):
    rows, serial = [], serial0
    for i, amounts in enumerate(flows):
        running = balances[i]
        entries = []
        for amount in amounts:
            serial += 1
            running += amount
            entries.append({"serial_no": serial, "fund_account": f"A{i}", "currency": "CNY",
                            "kind": "bank_in" if amount > 0 else "bank_out", "amount": amount,
                            "balance_after": running})
        if wrong_account == i and entries:
            entries[-1]["balance_after"] += D("0.01")
            running += D("0.01")
        balances[i] = running
        rows += list(reversed(entries))  # listed out of serial order on purpose
    return rows, serial


@SETTINGS
@given(cash_days())
def test_cash_identity_yesterday_plus_flows_is_today(book):
    opening, days, wrong = book
    con = pl_connect()
    fund_accounts = _flows(
        "fund_accounts",
        [{"fund_account": f"A{i}", "customer_no": f"C{i}", "branch_code": "0101", "account_type": "normal",
          "currency": "CNY", "open_date": DAY0, "status": "normal"} for i in range(len(opening))],
        DAY0,
    )
    first_rows = [{"serial_no": i + 1, "fund_account": f"A{i}", "currency": "CNY", "kind": "other",
                   "amount": amount, "balance_after": amount} for i, amount in enumerate(opening)]
    no_freezes = _flows("freezes", [], DAY0)
    accounts = pl.accounts_step(
        previous=None, fund_accounts=fund_accounts, cash_flows=_flows("cash_flows", first_rows, DAY0),
        freezes=no_freezes, day=DAY0,
    )
    previous = ibis.memtable(con.to_pyarrow(accounts))
    balances = list(opening)
    serial = len(opening)
    no_accounts = _flows("fund_accounts", [], DAY0)
    for d, flows in enumerate(days):
        day = DAY0 + timedelta(days=d + 1)
        before = list(balances)
        wrong_account = wrong[1] if wrong and wrong[0] == d else None
        rows, serial = _cash_rows(flows, balances, serial0=serial, wrong_account=wrong_account)
        step = pl.accounts_step(
            previous=previous, fund_accounts=no_accounts, cash_flows=_flows("cash_flows", rows, day),
            freezes=no_freezes, day=day,
        )
        today = ibis.memtable(con.to_pyarrow(step))
        got = {r["fund_account"]: r for r in con.to_pyarrow(today).to_pylist()}
        for i, amounts in enumerate(flows):
            assert got[f"A{i}"]["cash_balance"] == balances[i]
            assert got[f"A{i}"]["previous_cash_balance"] == before[i]
            assert got[f"A{i}"]["bank_in"] == sum((a for a in amounts if a > 0), D(0))
            assert got[f"A{i}"]["bank_out"] == -sum((a for a in amounts if a < 0), D(0))
        empty_positions = ibis.memtable(pl.POSITIONS_SCHEMA.to_pyarrow().empty_table())
        breaks = con.to_pyarrow(
            pl.reconciliation(
                computed=empty_positions,
                counter_positions=_flows("positions", [], day),
                accounts=today,
                oversold=ibis.memtable(pl.RECONCILIATION_SCHEMA.to_pyarrow().empty_table()),
                day=day,
            )
        ).to_pylist()
        off = {b["fund_account"]: b for b in breaks}
        if wrong_account is not None and flows[wrong_account]:
            assert set(off) == {f"A{wrong_account}"}
            brk = off[f"A{wrong_account}"]
            assert brk["found"] - brk["expected"] == D("0.01")
            assert brk["expected"] == before[wrong_account] + sum(flows[wrong_account], D(0))
        else:
            assert off == {}
        previous = today
