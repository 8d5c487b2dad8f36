"""Money and holdings reconcile exactly from day to day, as the ingest will check them."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise

from brokercrm.datacenter.dictionaries import COUNTERS

from .conftest import decode, money

CENT = Decimal("0.01")


def _round(x: Decimal) -> Decimal:
    return x.quantize(CENT, ROUND_HALF_UP)


def _positions(export, counter, day):
    return {
        (r["fund_account"], r["exchange"], r["security_code"]): int(r["quantity"])
        for r in export.rows(counter, day, "positions")
    }


def test_positions_are_previous_plus_trades_plus_transfers(export):
    for counter in COUNTERS:
        days = export.days(counter)
        previous = _positions(export, counter, days[0])
        for day in days[1:]:
            expected = defaultdict(int, previous)
            for t in export.rows(counter, day, "trades"):
                sign = 1 if decode(counter, "side", t["side"]) == "buy" else -1
                expected[(t["fund_account"], t["exchange"], t["security_code"])] += sign * int(
                    t["quantity"]
                )
            for x in export.rows(counter, day, "security_transfers"):
                sign = 1 if decode(counter, "transfer_direction", x["direction"]) == "in" else -1
                expected[(x["fund_account"], x["exchange"], x["security_code"])] += sign * int(
                    x["quantity"]
                )
            current = _positions(export, counter, day)
            assert {k: v for k, v in expected.items() if v} == current, (counter, day)
            previous = current


def test_t_plus_one_and_no_overselling(export):
    for counter in COUNTERS:
        days = export.days(counter)
        for before, day in pairwise(days):
            start = _positions(export, counter, before)
            out = defaultdict(int)
            bought = set()
            trades = sorted(export.rows(counter, day, "trades"), key=lambda t: int(t["serial_no"]))
            for t in trades:
                key = (t["fund_account"], t["exchange"], t["security_code"])
                if decode(counter, "side", t["side"]) == "buy":
                    bought.add(key)
                else:
                    assert key not in bought or start.get(key, 0) > 0
                    out[key] += int(t["quantity"])
            for x in export.rows(counter, day, "security_transfers"):
                if decode(counter, "transfer_direction", x["direction"]) == "out":
                    out[(x["fund_account"], x["exchange"], x["security_code"])] += int(
                        x["quantity"]
                    )
            assert all(q <= start.get(k, 0) for k, q in out.items()), (counter, day)


def test_trades_follow_the_fee_schedule(export):
    lots = set()
    count = 0
    for counter in COUNTERS:
        for day in export.days(counter):
            types = {
                (r["exchange"], r["security_code"]): decode(
                    counter, "security_type", r["security_type"]
                )
                for r in export.rows(counter, day, "securities")
            }
            for t in export.rows(counter, day, "trades"):
                count += 1
                qty, price, amount = int(t["quantity"]), Decimal(t["price"]), money(t["amount"])
                stock = types[(t["exchange"], t["security_code"])] == "stock"
                sell = decode(counter, "side", t["side"]) == "sell"
                assert qty > 0 and amount == _round(qty * price)
                lots.add(
                    qty
                    % (
                        100
                        if types[(t["exchange"], t["security_code"])] not in ("bond", "convertible")
                        else 10
                    )
                )
                commission = money(t["commission"])
                assert commission >= 5 and commission <= max(
                    Decimal(5), _round(amount * Decimal("0.003"))
                )
                assert money(t["stamp_tax"]) == (
                    _round(amount * Decimal("0.0005")) if sell and stock else 0
                )
                assert money(t["transfer_fee"]) == (
                    _round(amount * Decimal("0.00001")) if stock else 0
                )
                assert money(t["exchange_fee"]) == _round(amount * Decimal("0.0000541"))
                assert money(t["other_fee"]) in (0, 1)
    assert count > 100 and lots == {0}


def test_cash_balances_run_from_day_to_day_and_never_go_negative(export):
    for counter in COUNTERS:
        cash: dict[str, Decimal] = {}
        kinds = set()
        for day in export.days(counter):
            trades = {}
            for t in export.rows(counter, day, "trades"):
                trades[t["fund_account"]] = trades.get(t["fund_account"], 0) + 1
            settles = defaultdict(int)
            for r in sorted(
                export.rows(counter, day, "cash_flows"), key=lambda r: int(r["serial_no"])
            ):
                account = r["fund_account"]
                kind = decode(counter, "cash_kind", r["kind"])
                kinds.add(kind)
                settles[account] += kind == "trade_settle"
                balance = cash.get(account, Decimal(0)) + money(r["amount"])
                assert balance == money(r["balance_after"]) and balance >= 0, (counter, day, r)
                cash[account] = balance
            assert dict(settles.items()) == {a: n for a, n in trades.items()} | {
                a: 0 for a in settles if a not in trades
            }
    assert {"other", "bank_in", "bank_out", "trade_settle", "interest"} <= kinds


def test_margin_debts_belong_to_credit_accounts(export):
    for counter in COUNTERS:
        first = export.days(counter)[0]
        credit = {
            r["fund_account"]
            for r in export.rows(counter, first, "fund_accounts")
            if decode(counter, "account_type", r["account_type"]) == "credit"
        }
        debts = export.rows(counter, first, "margin_debts")
        assert debts
        for d in debts:
            assert d["fund_account"] in credit
            kind = decode(counter, "debt_kind", d["kind"])
            assert (money(d["financing_balance"]) > 0) == (kind == "financing")
            assert (int(d["short_quantity"]) > 0) == (kind == "short")


def test_freezes_never_exceed_cash(export):
    for counter in COUNTERS:
        frozen: dict[str, Decimal] = defaultdict(Decimal)
        cash: dict[str, Decimal] = {}
        for day in export.days(counter):
            for r in export.rows(counter, day, "cash_flows"):
                cash[r["fund_account"]] = money(
                    r["balance_after"]
                )  # rows are in serial order per account
            for f in export.rows(counter, day, "freezes"):
                frozen[f["fund_account"]] += money(f["amount"])
            assert all(Decimal(0) <= v <= cash.get(a, Decimal(0)) for a, v in frozen.items()), (
                counter,
                day,
            )
