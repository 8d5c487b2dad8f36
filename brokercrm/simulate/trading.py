"""The brokerage's day: cash movements, trades, custody transfers, freezes and margin debts.

State lives in flat numpy arrays (one entry per account, position or debt), so a day is a
handful of vectorised passes whatever the number of customers. A day runs in **phases**, each
a pass over all accounts that only spends what the previous phases left, so no account ever
overdraws (cash ≥ frozen ≥ 0 at every step):

======  ============================================================================
phase   events (cash-flow kind)
======  ============================================================================
OPEN    opening cash of an account on the initial day (``other``)
BANK_IN deposits, including the first deposit of a new account (``bank_in``)
DIV     cash dividends on the start-of-day holdings of ex-dividend stocks (``dividend``)
INTER   quarterly settlement: deposit interest (+) and margin interest (−, ``interest``),
        a customer tops up first when cash would not cover the margin interest
FEE     monthly SMS-service fee (``fee``)
FREEZE  releases then new freezes (freeze flow, no cash movement)
SELL    sells of start-of-day holdings (``trade_settle``) and, in a credit account, the
        repayment of that security's financing out of the proceeds (``other``)
REPAID  interest of financing fully repaid by today's sells (``interest``); now and then a
        financing contract paid off from spare cash (``other``, then its ``interest``)
BUY     up to three rounds of buys (``trade_settle``); a credit account may finance part of
        the cost, received first as ``other`` (financing drawn)
XFER    custody transfers out (whole holding) and in
BANK_OUT withdrawals, and the last withdrawal of a customer closing their accounts
======  ============================================================================

Because sells only take start-of-day holdings and happen before any buy, shares bought today
are never sold today (T+1), and sells plus transfers out never exceed the start-of-day
quantity. Serial numbers follow (account, phase, round, step, security), so each account's
flows of a day read in the order they happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa

from brokercrm.datacenter.dictionaries import STANDARD_CODES

from .accounts import (
    CLOSED,
    CNY,
    CREDIT_ACCOUNT,
    FROZEN,
    INDIVIDUAL,
    LOST,
    NEVER,
    NORMAL,
    RISK_VALID_DAYS,
    SLOT_CREDIT,
    SLOT_NORMAL,
    Accounts,
    Customers,
)
from .calendar import yyyymmdd
from .fees import trade_fees
from .market import BOND, CONVERTIBLE, ETF, REPO, STOCK, Market
from .people import mobiles

__all__ = ["Brokerage", "DayTables", "Table"]

CASH_KIND = {k: i for i, k in enumerate(STANDARD_CODES["cash_kind"])}
CHANNEL = {k: i for i, k in enumerate(STANDARD_CODES["channel"])}
FREEZE_KIND = STANDARD_CODES["freeze_kind"]
BUY, SELL = STANDARD_CODES["side"].index("buy"), STANDARD_CODES["side"].index("sell")
XFER_IN, XFER_OUT = (STANDARD_CODES["transfer_direction"].index(x) for x in ("in", "out"))
FINANCING, SHORT = (STANDARD_CODES["debt_kind"].index(x) for x in ("financing", "short"))

(
    P_OPEN,
    P_BANK_IN,
    P_DIV,
    P_INTEREST,
    P_FEE,
    P_FREEZE,
    P_SELL,
    P_REPAID,
    P_BUY,
    P_XFER,
    P_BANK_OUT,
) = range(11)

#: Annual rates, in basis points, of interest paid on cash and charged on margin debt
#: (actual/360, DOMAIN.md "Margin trading").
DEPOSIT_RATE_BP = {"CNY": 35, "USD": 10, "HKD": 10}
FINANCING_RATE_BP = 600
SHORT_RATE_BP = 800
BUY_ROUNDS = 3
#: Largest order the exchanges accept, in shares (SH/SZ main board limit order).
MAX_ORDER_SHARES = 1_000_000


def event_key(
    acc: np.ndarray, phase: int, rnd: int | np.ndarray, sub: int, tie: np.ndarray | int
) -> np.ndarray:
    """Sort key of a day's event: account, then phase, round, step and security."""
    return (
        (np.asarray(acc, np.int64) << 22)
        | (np.int64(phase) << 18)
        | (np.asarray(rnd, np.int64) << 15)
        | (np.int64(sub) << 12)
        | np.asarray(tie, np.int64)
    )


def _interest(base: np.ndarray, rate_bp: int | np.ndarray, days: int = 1) -> np.ndarray:
    """``base × rate × days / 360`` in cents, rounded half up (base in cents or cent·days)."""
    return (base * np.asarray(rate_bp, np.int64) * days + 1_800_000) // 3_600_000


@dataclass
class Table:
    """Standard rows of one table for the whole firm, sorted by ``owner``.

    ``owner`` is the account (or customer) index of each row, used to split the rows between
    the counters; ``None`` for tables both counters carry whole (securities, quotes).
    """

    columns: dict[str, object]
    owner: np.ndarray | None
    owner_kind: str = "account"  # or "customer"


@dataclass
class DayTables:
    day: date
    tables: dict[str, Table] = field(default_factory=dict)


class Book:
    """End-of-day positions: quantity and cost (mills) per (account, security), sorted by key."""

    def __init__(self, n_sec: int) -> None:
        self.n_sec = n_sec
        self.keys = np.zeros(0, np.int64)
        self.qty = np.zeros(0, np.int64)
        self.cost = np.zeros(0, np.int64)

    @property
    def acc(self) -> np.ndarray:
        return self.keys // self.n_sec

    @property
    def sec(self) -> np.ndarray:
        return self.keys % self.n_sec

    def apply(
        self,
        *,
        out_keys: np.ndarray,
        out_qty: np.ndarray,
        in_keys: np.ndarray,
        in_qty: np.ndarray,
        in_cost: np.ndarray,
    ) -> None:
        """Sells and transfers out against the start of day, then buys and transfers in.

        A removal takes ``q × H/Q`` of the cost; an addition brings its own cost (amount + fees
        for a buy, quantity × close for a transfer in) — COUNTERS.md, "Average cost".
        """
        if len(out_keys):
            uk, inv = np.unique(out_keys, return_inverse=True)
            uq = np.zeros(len(uk), np.int64)
            np.add.at(uq, inv, out_qty)
            idx = np.searchsorted(self.keys, uk)
            assert (self.keys[idx] == uk).all() and (uq <= self.qty[idx]).all(), "oversold"
            q0 = self.qty[idx]
            removed = np.where(
                uq == q0, self.cost[idx], np.rint(self.cost[idx] * (uq / q0)).astype(np.int64)
            )
            self.qty[idx] -= uq
            self.cost[idx] -= removed
        if len(in_keys):
            uk, inv = np.unique(in_keys, return_inverse=True)
            uq = np.zeros(len(uk), np.int64)
            uc = np.zeros(len(uk), np.int64)
            np.add.at(uq, inv, in_qty)
            np.add.at(uc, inv, in_cost)
            idx = np.searchsorted(self.keys, uk)
            found = idx < len(self.keys)
            found[found] = self.keys[idx[found]] == uk[found]
            self.qty[idx[found]] += uq[found]
            self.cost[idx[found]] += uc[found]
            new = ~found
            self.keys = np.insert(self.keys, idx[new], uk[new])
            self.qty = np.insert(self.qty, idx[new], uq[new])
            self.cost = np.insert(self.cost, idx[new], uc[new])
        keep = self.qty > 0
        if not keep.all():
            self.keys, self.qty, self.cost = self.keys[keep], self.qty[keep], self.cost[keep]


class Debts:
    """Margin debts (合约) per (account, kind, security), sorted by key."""

    def __init__(self, n_sec: int) -> None:
        self.n_sec = n_sec
        self.keys = np.zeros(0, np.int64)
        self.balance = np.zeros(0, np.int64)  # cents, financing
        self.short_qty = np.zeros(0, np.int64)
        self.interest = np.zeros(0, np.int64)  # cents payable

    def key(self, acc: np.ndarray, kind: int, sec: np.ndarray) -> np.ndarray:
        return (np.asarray(acc, np.int64) * 2 + kind) * self.n_sec + np.asarray(sec, np.int64)

    @property
    def acc(self) -> np.ndarray:
        return self.keys // (2 * self.n_sec)

    @property
    def kind(self) -> np.ndarray:
        return (self.keys // self.n_sec) % 2

    @property
    def sec(self) -> np.ndarray:
        return self.keys % self.n_sec

    def find(self, keys: np.ndarray) -> np.ndarray:
        """Row of each key, −1 where there is none."""
        idx = np.searchsorted(self.keys, keys)
        ok = idx < len(self.keys)
        ok[ok] = self.keys[idx[ok]] == keys[ok]
        return np.where(ok, idx, -1)

    def add(
        self, *, keys: np.ndarray, balance: np.ndarray, short_qty: np.ndarray, interest: np.ndarray
    ) -> None:
        if not len(keys):
            return
        uk, inv = np.unique(keys, return_inverse=True)
        sums = []
        for values in (balance, short_qty, interest):
            total = np.zeros(len(uk), np.int64)
            np.add.at(total, inv, values)
            sums.append(total)
        idx = self.find(uk)
        found = idx >= 0
        for arr, total in zip((self.balance, self.short_qty, self.interest), sums, strict=True):
            arr[idx[found]] += total[found]
        pos = np.searchsorted(self.keys, uk[~found])
        self.keys = np.insert(self.keys, pos, uk[~found])
        self.balance = np.insert(self.balance, pos, sums[0][~found])
        self.short_qty = np.insert(self.short_qty, pos, sums[1][~found])
        self.interest = np.insert(self.interest, pos, sums[2][~found])

    def drop_settled(self) -> None:
        keep = (self.balance > 0) | (self.short_qty > 0) | (self.interest > 0)
        if not keep.all():
            self.keys, self.balance = self.keys[keep], self.balance[keep]
            self.short_qty, self.interest = self.short_qty[keep], self.interest[keep]


class _Events:
    """Collects a day's events per table, each with its sort key, for one final ordering."""

    def __init__(self) -> None:
        self.parts: dict[str, list[dict[str, np.ndarray]]] = {
            "trades": [],
            "cash_flows": [],
            "security_transfers": [],
            "freezes": [],
        }

    def add(self, table: str, **cols: np.ndarray) -> None:
        if len(cols["key"]):
            self.parts[table].append({k: np.asarray(v) for k, v in cols.items()})

    def cash(self, acc: np.ndarray, kind: str, amount: np.ndarray, key: np.ndarray) -> None:
        self.add(
            "cash_flows",
            key=key,
            acc=acc,
            kind=np.full(len(acc), CASH_KIND[kind], np.int8),
            amount=amount,
        )

    def table(self, name: str, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
        parts = self.parts[name]
        if not parts:
            return {f: np.zeros(0, np.int64) for f in ("key", "acc", *fields)}
        cols = {f: np.concatenate([p[f] for p in parts]) for f in parts[0]}
        order = np.argsort(cols["key"], kind="stable")
        return {f: v[order] for f, v in cols.items()}


class Brokerage:
    """The simulated firm: market, customers, accounts and their day-to-day life."""

    def __init__(
        self,
        *,
        rng: np.random.Generator,
        market: Market,
        customers: Customers,
        accounts: Accounts,
        branch_codes: list[str],
        days: list[date],
    ) -> None:
        assert market.size < 4096, "event keys reserve 12 bits for the security"
        self.rng = rng
        self.market = market
        self.customers = customers
        self.accounts = accounts
        self.days = days
        self.branch_codes = pa.array(branch_codes, pa.string())
        self.book = Book(market.size)
        self.debts = Debts(market.size)
        # Outstanding freezes: account, kind, amount (cents).
        self.freeze_acc = np.zeros(0, np.int64)
        self.freeze_kind = np.zeros(0, np.int8)
        self.freeze_amount = np.zeros(0, np.int64)
        self.day_index = -1

    # --- the initial day --------------------------------------------------------------------

    def initial_day(self) -> DayTables:
        """Day 0: quotes, every customer and account, opening cash, holdings and debts."""
        self.day_index = 0
        day = self.days[0]
        rng, m, a, c = self.rng, self.market, self.accounts, self.customers
        m.step(rng=rng, day=0, month=day.month)
        self._initial_positions()
        self._initial_debts()

        out = DayTables(day)
        self._market_tables(out)
        cust_idx = np.flatnonzero(c.open_day < 0)
        acc_idx = np.flatnonzero(a.open_day < 0)
        out.tables["customers"] = self._customer_rows(cust_idx)
        out.tables["fund_accounts"] = self._account_rows(acc_idx)
        ev = _Events()
        opening = acc_idx[a.cash[acc_idx] != 0]
        ev.cash(opening, "other", a.cash[opening], event_key(opening, P_OPEN, 0, 0, 0))
        start_cash = np.zeros(a.size, np.int64)
        self._flow_tables(out, ev, start_cash)
        self._holding_tables(out)
        return out

    def _initial_positions(self) -> None:
        rng, m, a, c = self.rng, self.market, self.accounts, self.customers
        holders = np.flatnonzero((a.open_day < 0) & (a.currency == CNY) & (a.status != CLOSED))
        credit = a.slot[holders] == SLOT_CREDIT
        count = np.where(
            credit,
            1 + rng.poisson(2.0, len(holders)),
            np.where(rng.random(len(holders)) < 0.22, 0, 1 + rng.poisson(2.2, len(holders))),
        )
        count = np.minimum(count, 12)
        acc = np.repeat(holders, count)
        eligible = m.listed & (m.sec_type != REPO)
        sec = self._pick_securities(acc, eligible)
        keys, first = np.unique(acc * m.size + sec, return_index=True)
        acc, sec = acc[first], sec[first]

        wealth = c.wealth[a.customer[acc]]
        is_credit = a.slot[acc] == SLOT_CREDIT
        has_credit = np.zeros(c.size, bool)
        has_credit[a.customer[(a.slot == SLOT_CREDIT) & (a.open_day < 0)]] = True
        invest = (
            wealth
            * np.where(has_credit[a.customer[acc]], 0.5, 1.0)
            * np.where(is_credit, rng.uniform(0.8, 1.8, len(acc)), rng.uniform(0.3, 1.5, len(acc)))
        )
        weight = rng.exponential(1.0, len(acc))
        per_acc = np.bincount(np.searchsorted(holders, acc), weights=weight, minlength=len(holders))
        value = invest * weight / per_acc[np.searchsorted(holders, acc)]
        lot_value = m.close[sec] / 1000 * m.lot[sec]
        lots = np.clip(np.rint(value / lot_value), 1, 50_000_000 // m.lot[sec]).astype(np.int64)
        qty = lots * m.lot[sec]
        cost_price = np.maximum(
            np.rint(m.close[sec] * np.exp(rng.normal(-0.03, 0.25, len(acc)))), 1
        ).astype(np.int64)
        self.book.keys, self.book.qty, self.book.cost = keys, qty, qty * cost_price

    def _initial_debts(self) -> None:
        rng, m, a, b = self.rng, self.market, self.accounts, self.book
        acc, sec, qty = b.acc, b.sec, b.qty
        on_credit = (a.account_type[acc] == CREDIT_ACCOUNT) & (rng.random(len(acc)) < 0.6)
        acc, sec, qty = acc[on_credit], sec[on_credit], qty[on_credit]
        balance = np.rint(qty * m.close[sec] / 10 * rng.uniform(0.2, 0.6, len(acc))).astype(
            np.int64
        )
        per_acc = np.zeros(a.size, np.int64)
        np.add.at(per_acc, acc, balance)
        # Keep each account's financing within its credit line.
        scale = np.minimum(1.0, a.credit_line[acc] / np.maximum(per_acc[acc], 1))
        balance = np.floor(balance * scale).astype(np.int64)
        keep = balance > 0
        acc, sec, balance = acc[keep], sec[keep], balance[keep]
        interest = _interest(balance, FINANCING_RATE_BP, 1) * rng.integers(0, 85, len(acc))

        credit = np.flatnonzero((a.slot == SLOT_CREDIT) & (a.open_day < 0) & (a.status != CLOSED))
        shorts = credit[rng.random(len(credit)) < 0.12]
        short_sec = self._pick_securities(shorts, m.listed & (m.sec_type == STOCK))
        short_qty = rng.integers(1, 31, len(shorts)) * 100
        short_interest = _interest(
            short_qty * m.close[short_sec] // 10, SHORT_RATE_BP, 1
        ) * rng.integers(0, 85, len(shorts))

        d = self.debts
        zeros = np.zeros(len(acc), np.int64)
        d.add(keys=d.key(acc, FINANCING, sec), balance=balance, short_qty=zeros, interest=interest)
        zeros = np.zeros(len(shorts), np.int64)
        d.add(
            keys=d.key(shorts, SHORT, short_sec),
            balance=zeros,
            short_qty=short_qty,
            interest=short_interest,
        )
        a.financing[:] = 0
        np.add.at(a.financing, acc, balance)

    # --- a trading day ----------------------------------------------------------------------

    def next_day(self) -> DayTables:
        """Simulate the next trading day and return its standard rows."""
        j = self.day_index + 1
        self.day_index = j
        day, prev = self.days[j], self.days[j - 1]
        today = int(day.strftime("%Y%m%d"))
        gap = (day - prev).days
        rng, m, a, c = self.rng, self.market, self.accounts, self.customers

        self._accrue(gap)  # on yesterday's balances and closes, before the market moves
        m.step(rng=rng, day=j, month=day.month)

        dirty_c = c.open_day == j
        dirty_a = a.open_day == j
        # A planned account opens only for a customer still in good standing.
        cancelled = dirty_a & (c.status[a.customer] != NORMAL)
        a.open_day[cancelled] = NEVER
        dirty_a &= ~cancelled
        a.open_date[dirty_a] = today
        acc_live = a.open_day <= j
        start_cash = a.cash.copy()

        closing = self._status_changes(j, today, dirty_c, dirty_a, acc_live)
        cust_ok = (c.status == NORMAL) & ~closing
        acc_ok = acc_live & (a.status == NORMAL) & cust_ok[a.customer]
        activity = c.activity[a.customer]
        new_acc = a.open_day == j

        ev = _Events()
        self._bank_in(ev, acc_ok, activity, new_acc)
        self._dividends(ev)
        if (
            day.month in (3, 6, 9, 12)
            and day.day >= 21
            and not (prev.month == day.month and prev.day >= 21)
        ):
            self._interest_settlement(ev, acc_live)
        if prev.month != day.month:
            self._service_fees(ev, acc_live)
        self._freezes(ev, acc_ok)

        is_cny_tradable = acc_ok & (a.currency == CNY)
        p_trade = np.where(
            new_acc, 0.6, activity * np.where(a.account_type == CREDIT_ACCOUNT, 1.3, 1.0)
        )
        trading = is_cny_tradable & (rng.random(a.size) < p_trade)
        sells = self._sells(ev, trading)
        self._direct_repayments(ev)
        self._buys(ev, trading)
        self._transfers(ev, acc_ok & (a.slot == SLOT_NORMAL) & ~trading)
        self._bank_out(ev, acc_ok, activity, closing, acc_live)

        # Closing customers have emptied their accounts: close them now.
        c.status[closing] = CLOSED
        closed_acc = closing[a.customer] & acc_live
        a.status[closed_acc] = CLOSED
        dirty_c |= closing
        dirty_a |= closed_acc

        trades = ev.table(
            "trades",
            (
                "sec",
                "side",
                "qty",
                "price",
                "amount",
                "commission",
                "stamp_tax",
                "transfer_fee",
                "exchange_fee",
                "other_fee",
                "channel",
            ),
        )
        xfers = ev.table("security_transfers", ("sec", "direction", "qty", "cost"))
        buy = trades["side"] == BUY
        out_x = xfers["direction"] == XFER_OUT
        self.book.apply(
            out_keys=np.concatenate(
                [sells["key"], xfers["acc"][out_x] * m.size + xfers["sec"][out_x]]
            ),
            out_qty=np.concatenate([sells["qty"], xfers["qty"][out_x]]),
            in_keys=np.concatenate(
                [
                    trades["acc"][buy] * m.size + trades["sec"][buy],
                    xfers["acc"][~out_x] * m.size + xfers["sec"][~out_x],
                ]
            ),
            in_qty=np.concatenate([trades["qty"][buy], xfers["qty"][~out_x]]),
            in_cost=np.concatenate(
                [(trades["amount"][buy] + self._fee_total(trades, buy)) * 10, xfers["cost"][~out_x]]
            ),
        )
        self.debts.drop_settled()

        # The counter records a customer's first trade date.
        traders = np.unique(a.customer[trades["acc"]])
        first = traders[c.first_trade_date[traders] == 0]
        c.first_trade_date[first] = today
        dirty_c[first] = True

        assert (a.cash >= a.frozen).all() and (a.frozen >= 0).all(), "overdrawn account"
        out = DayTables(day)
        self._market_tables(out)
        out.tables["customers"] = self._customer_rows(np.flatnonzero(dirty_c))
        out.tables["fund_accounts"] = self._account_rows(np.flatnonzero(dirty_a))
        self._flow_tables(out, ev, start_cash)
        self._holding_tables(out)
        return out

    @staticmethod
    def _fee_total(trades: dict[str, np.ndarray], mask: np.ndarray) -> np.ndarray:
        return sum(
            trades[f][mask]
            for f in ("commission", "stamp_tax", "transfer_fee", "exchange_fee", "other_fee")
        )

    def _accrue(self, gap: int) -> None:
        """Interest bases grow over the calendar days since the previous trading day."""
        a, d, m = self.accounts, self.debts, self.market
        a.interest_base += a.cash * gap
        fin = d.kind == FINANCING
        short_value = d.short_qty * m.close[d.sec] // 10
        d.interest += np.where(
            fin,
            _interest(d.balance, FINANCING_RATE_BP, gap),
            _interest(short_value, SHORT_RATE_BP, gap),
        )

    def _status_changes(
        self, j: int, today: int, dirty_c: np.ndarray, dirty_a: np.ndarray, acc_live: np.ndarray
    ) -> np.ndarray:
        """Rare status, assessment and contact changes; returns customers closing today."""
        rng, c, a = self.rng, self.customers, self.accounts
        n = c.size
        old = c.open_day < j
        r = rng.random(n)
        st = c.status
        new_status = st.copy()
        new_status[old & (st == NORMAL) & (r < 0.0002)] = FROZEN
        new_status[old & (st == NORMAL) & (r >= 0.0002) & (r < 0.00025)] = LOST
        new_status[old & (st == FROZEN) & (r < 0.03)] = NORMAL
        new_status[old & (st == LOST) & (r < 0.1)] = NORMAL
        changed = new_status != st
        c.status[:] = new_status
        acc_changed = changed[a.customer] & acc_live
        a.status[acc_changed] = new_status[a.customer[acc_changed]]
        dirty_c |= changed
        dirty_a |= acc_changed

        # Closing needs empty accounts: no holdings, no debt, nothing frozen.
        busy = np.zeros(n, bool)
        busy[a.customer[self.book.acc]] = True
        busy[a.customer[self.debts.acc]] = True
        busy[a.customer[a.frozen > 0]] = True
        closing = old & (c.status == NORMAL) & ~busy & (rng.random(n) < 0.0002)

        # Expired or missing assessments get renewed now and then; the new one lasts 24 months.
        expiry = np.datetime64(self.days[j], "D") + np.timedelta64(RISK_VALID_DAYS - 1, "D")
        lapsed = (c.risk_level < 0) | (c.risk_expiry < today)
        renew = old & (c.status != CLOSED) & (rng.random(n) < np.where(lapsed, 0.004, 0.0002))
        step = rng.integers(-1, 2, n)
        level = np.where(
            c.risk_level < 0, rng.integers(1, 6, n), np.clip(c.risk_level + step, 0, 5)
        )
        c.risk_level[renew] = level[renew]
        c.risk_expiry[renew] = yyyymmdd(np.array([expiry]))[0]
        pro = c.investor_class != 0
        c.max_product_risk[renew] = np.where(pro[renew], 5, np.maximum(c.risk_level[renew], 1))
        new_mobile = old & (c.status != CLOSED) & (rng.random(n) < 0.0001)
        c.mobile[new_mobile] = mobiles(rng=rng, n=int(new_mobile.sum()))
        aml = old & (rng.random(n) < 0.00003)
        c.aml_level[aml] = rng.integers(0, 3, int(aml.sum()))
        dirty_c |= renew | new_mobile | aml
        return closing

    def _bank_in(
        self, ev: _Events, acc_ok: np.ndarray, activity: np.ndarray, new_acc: np.ndarray
    ) -> None:
        rng, a, c = self.rng, self.accounts, self.customers
        n = a.size
        pick = acc_ok & ((rng.random(n) < 0.006 + activity * 0.08) | new_acc)
        idx = np.flatnonzero(pick)
        wealth = c.wealth[a.customer[idx]]
        share = np.where(
            new_acc[idx], rng.uniform(0.2, 0.8, len(idx)), rng.uniform(0.01, 0.15, len(idx))
        )
        share = np.where(a.currency[idx] != CNY, share * 0.2, share)
        amount = _yuan_amount(rng, wealth * share)
        a.cash[idx] += amount
        ev.cash(idx, "bank_in", amount, event_key(idx, P_BANK_IN, 0, 0, 0))

    def _dividends(self, ev: _Events) -> None:
        m, b, a = self.market, self.book, self.accounts
        if not m.dividend.any():
            return
        sec = b.sec
        hit = m.dividend[sec] > 0
        acc, sec, qty = b.acc[hit], sec[hit], b.qty[hit]
        amount = (qty * m.dividend[sec] + 5) // 10
        np.add.at(a.cash, acc, amount)
        ev.cash(acc, "dividend", amount, event_key(acc, P_DIV, 0, 0, sec))

    def _interest_settlement(self, ev: _Events, acc_live: np.ndarray) -> None:
        """Quarterly settlement (after the 20th of Mar/Jun/Sep/Dec): pay deposit interest,
        collect margin interest."""
        a, d = self.accounts, self.debts
        rate = np.array([DEPOSIT_RATE_BP[cur] for cur in STANDARD_CODES["currency"]], np.int64)[
            a.currency
        ]
        interest = _interest(a.interest_base, rate)
        a.interest_base[:] = 0
        idx = np.flatnonzero(acc_live & (interest > 0))
        a.cash[idx] += interest[idx]
        ev.cash(idx, "interest", interest[idx], event_key(idx, P_INTEREST, 0, 0, 0))

        owed = np.zeros(a.size, np.int64)
        np.add.at(owed, d.acc, d.interest)
        idx = np.flatnonzero(owed > 0)
        shortfall = np.maximum(owed[idx] - (a.cash[idx] - a.frozen[idx]), 0)
        top = idx[shortfall > 0]
        # Round the top-up to whole yuan, as a customer would transfer it.
        top_amount = (shortfall[shortfall > 0] + 99) // 100 * 100
        a.cash[top] += top_amount
        ev.cash(top, "bank_in", top_amount, event_key(top, P_INTEREST, 0, 1, 0))
        a.cash[idx] -= owed[idx]
        ev.cash(idx, "interest", -owed[idx], event_key(idx, P_INTEREST, 0, 2, 0))
        d.interest[:] = 0

    def _service_fees(self, ev: _Events, acc_live: np.ndarray) -> None:
        a = self.accounts
        idx = np.flatnonzero(
            acc_live & (a.sms > 0) & (a.status != CLOSED) & (a.cash - a.frozen >= a.sms)
        )
        a.cash[idx] -= a.sms[idx]
        ev.cash(idx, "fee", -a.sms[idx], event_key(idx, P_FEE, 0, 0, 0))

    def _freezes(self, ev: _Events, acc_ok: np.ndarray) -> None:
        rng, a = self.rng, self.accounts
        release = rng.random(len(self.freeze_acc)) < 0.05
        r_acc, r_kind, r_amt = (
            self.freeze_acc[release],
            self.freeze_kind[release],
            self.freeze_amount[release],
        )
        np.add.at(a.frozen, r_acc, -r_amt)
        order = np.arange(len(r_acc)) % 4096
        ev.add(
            "freezes",
            key=event_key(r_acc, P_FREEZE, 0, 0, order),
            acc=r_acc,
            kind=r_kind,
            amount=-r_amt,
        )
        keep = ~release
        self.freeze_acc, self.freeze_kind, self.freeze_amount = (
            self.freeze_acc[keep],
            self.freeze_kind[keep],
            self.freeze_amount[keep],
        )

        avail = a.cash - a.frozen
        idx = np.flatnonzero(
            acc_ok & (a.currency == CNY) & (avail >= 1_000_000) & (rng.random(a.size) < 0.0004)
        )
        amount = (avail[idx] * rng.uniform(0.05, 0.6, len(idx))).astype(np.int64) // 100 * 100
        kind = rng.choice(3, size=len(idx), p=[0.3, 0.4, 0.3]).astype(np.int8)
        a.frozen[idx] += amount
        ev.add("freezes", key=event_key(idx, P_FREEZE, 0, 1, 0), acc=idx, kind=kind, amount=amount)
        self.freeze_acc = np.concatenate([self.freeze_acc, idx])
        self.freeze_kind = np.concatenate([self.freeze_kind, kind])
        self.freeze_amount = np.concatenate([self.freeze_amount, amount])

    def _trade(
        self,
        ev: _Events,
        *,
        acc: np.ndarray,
        sec: np.ndarray,
        side: int,
        qty: np.ndarray,
        price: np.ndarray,
        phase: int,
        rnd: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Record trades; returns (amount, total fees) in cents."""
        m, a, c = self.market, self.accounts, self.customers
        manual = self._manual(acc)
        amount, fees = _cost(m, a, c, acc, sec, qty, price, side == SELL, manual)
        channel = self._channel(acc, manual)
        ev.add(
            "trades",
            key=event_key(acc, phase, rnd, 1, sec),
            acc=acc,
            sec=sec,
            side=np.full(len(acc), side, np.int8),
            qty=qty,
            price=price,
            amount=amount,
            commission=fees.commission,
            stamp_tax=fees.stamp_tax,
            transfer_fee=fees.transfer_fee,
            exchange_fee=fees.exchange_fee,
            other_fee=fees.other_fee,
            channel=channel,
        )
        return amount, fees.total

    def _manual(self, acc: np.ndarray) -> np.ndarray:
        return self.rng.random(len(acc)) < 0.03

    def _channel(self, acc: np.ndarray, manual: np.ndarray) -> np.ndarray:
        rng, c, a = self.rng, self.customers, self.accounts
        person = c.customer_type[a.customer[acc]] == INDIVIDUAL
        online = np.where(
            person,
            rng.choice(
                [CHANNEL["mobile"], CHANNEL["internet"], CHANNEL["terminal"], CHANNEL["api"]],
                size=len(acc),
                p=[0.72, 0.16, 0.1, 0.02],
            ),
            rng.choice(
                [CHANNEL["terminal"], CHANNEL["api"], CHANNEL["internet"]],
                size=len(acc),
                p=[0.5, 0.4, 0.1],
            ),
        )
        in_person = np.where(rng.random(len(acc)) < 0.5, CHANNEL["counter"], CHANNEL["phone"])
        return np.where(manual, in_person, online).astype(np.int8)

    def _sells(self, ev: _Events, trading: np.ndarray) -> dict[str, np.ndarray]:
        rng, m, a, b, d = self.rng, self.market, self.accounts, self.book, self.debts
        acc, sec = b.acc, b.sec
        pick = trading[acc] & m.tradable[sec] & (rng.random(len(acc)) < 0.35)
        idx = np.flatnonzero(pick)
        acc, sec, held = acc[idx], sec[idx], b.qty[idx]
        lots_held = held // m.lot[sec]
        lots = np.where(rng.random(len(idx)) < 0.6, lots_held, rng.integers(1, lots_held + 1))
        qty = lots * m.lot[sec]
        price = m.trade_prices(rng=rng, sec=sec)
        amount, fees = self._trade(
            ev, acc=acc, sec=sec, side=SELL, qty=qty, price=price, phase=P_SELL, rnd=0
        )
        net = amount - fees
        assert (net >= 0).all()
        np.add.at(a.cash, acc, net)  # an account may sell several securities
        ev.cash(acc, "trade_settle", net, event_key(acc, P_SELL, 0, 2, sec))

        # Selling a security bought on margin repays its financing first (卖券还款).
        row = d.find(d.key(acc, FINANCING, sec)) if len(d.keys) else np.full(len(acc), -1)
        has = row >= 0
        repay = np.zeros(len(acc), np.int64)
        repay[has] = np.minimum(net[has], d.balance[row[has]])
        has &= repay > 0
        r_acc, r_row, r_amt = acc[has], row[has], repay[has]
        d.balance[r_row] -= r_amt
        np.add.at(a.financing, r_acc, -r_amt)
        np.add.at(a.cash, r_acc, -r_amt)
        ev.cash(r_acc, "other", -r_amt, event_key(r_acc, P_SELL, 0, 3, sec[has]))
        self._repaid_interest(ev, r_row[d.balance[r_row] == 0])
        return {"key": acc * m.size + sec, "qty": qty}

    def _repaid_interest(self, ev: _Events, rows: np.ndarray) -> None:
        """Interest of fully repaid financing is paid with it when the cash allows."""
        a, d = self.accounts, self.debts
        rows = rows[d.interest[rows] > 0]
        if not len(rows):
            return
        acc = d.acc[rows]
        owed = np.zeros(a.size, np.int64)
        np.add.at(owed, acc, d.interest[rows])
        payers = np.flatnonzero((owed > 0) & (a.cash - a.frozen >= owed))
        paid = np.isin(acc, payers)
        d.interest[rows[paid]] = 0
        a.cash[payers] -= owed[payers]
        ev.cash(payers, "interest", -owed[payers], event_key(payers, P_REPAID, 0, 0, 0))

    def _buys(self, ev: _Events, trading: np.ndarray) -> None:
        rng, m, a, c, d = self.rng, self.market, self.accounts, self.customers, self.debts
        acc_all = np.flatnonzero(trading)
        n_orders = np.minimum(1 + rng.poisson(0.35, len(acc_all)), BUY_ROUNDS)
        for rnd in range(BUY_ROUNDS):
            acc = acc_all[n_orders > rnd]
            if not len(acc):
                break
            sec = self._pick_securities(acc, m.tradable)
            # People with several holdings mostly add to one of them rather than spread wider,
            # which keeps the number of holdings per account steady over a long run.
            held, holdings = self._held_security(acc)
            top_up = (held >= 0) & (rng.random(len(acc)) < np.minimum(0.85, holdings / 5))
            sec = np.where(top_up, held, sec)
            avail = a.cash[acc] - a.frozen[acc]
            credit = a.account_type[acc] == CREDIT_ACCOUNT
            line_left = np.where(credit, np.maximum(a.credit_line[acc] - a.financing[acc], 0), 0)
            financed = np.where(
                credit & (rng.random(len(acc)) < 0.5),
                (line_left * rng.uniform(0.1, 0.6, len(acc))).astype(np.int64),
                0,
            )
            cap = avail + financed
            spend = (avail * rng.uniform(0.15, 0.95, len(acc))).astype(np.int64) + financed
            price = m.trade_prices(rng=rng, sec=sec)
            lot = m.lot[sec]
            lot_cents = price * lot / 10
            lots = np.floor(np.maximum(spend - 700, 0) / (lot_cents * 1.0032)).astype(np.int64)
            lots = np.minimum(lots, MAX_ORDER_SHARES // lot)
            manual = self._manual(acc)
            for _ in range(4):  # fees are monotone in the amount: step down until affordable
                amount, fees = _cost(m, a, c, acc, sec, lots * lot, price, False, manual)
                over = (amount + fees.total > cap) & (lots > 0)
                if not over.any():
                    break
                lots[over] -= 1
            lots[amount + fees.total > cap] = 0
            ok = lots > 0
            acc, sec, qty, price, manual = (
                acc[ok],
                sec[ok],
                lots[ok] * lot[ok],
                price[ok],
                manual[ok],
            )
            amount, fees = _cost(m, a, c, acc, sec, qty, price, False, manual)
            cost = amount + fees.total
            drawn = np.maximum(cost - (a.cash[acc] - a.frozen[acc]), 0)
            f = drawn > 0
            ev.cash(acc[f], "other", drawn[f], event_key(acc[f], P_BUY, rnd, 0, sec[f]))
            channel = self._channel(acc, manual)
            ev.add(
                "trades",
                key=event_key(acc, P_BUY, rnd, 1, sec),
                acc=acc,
                sec=sec,
                side=np.full(len(acc), BUY, np.int8),
                qty=qty,
                price=price,
                amount=amount,
                commission=fees.commission,
                stamp_tax=fees.stamp_tax,
                transfer_fee=fees.transfer_fee,
                exchange_fee=fees.exchange_fee,
                other_fee=fees.other_fee,
                channel=channel,
            )
            ev.cash(acc, "trade_settle", -cost, event_key(acc, P_BUY, rnd, 2, sec))
            a.cash[acc] += drawn - cost
            a.financing[acc] += drawn
            zeros = np.zeros(int(f.sum()), np.int64)
            d.add(
                keys=d.key(acc[f], FINANCING, sec[f]),
                balance=drawn[f],
                short_qty=zeros,
                interest=zeros,
            )

    def _held_security(self, acc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A random start-of-day holding of each account that can trade today (−1 if none),
        and the account's number of holdings."""
        b, m = self.book, self.market
        held_acc = b.acc
        first = np.searchsorted(held_acc, acc, side="left")
        count = np.searchsorted(held_acc, acc, side="right") - first
        pick = first + (self.rng.random(len(acc)) * count).astype(np.int64)
        sec = np.where(count > 0, b.sec[np.minimum(pick, max(len(held_acc) - 1, 0))], -1)
        sec = np.where((sec >= 0) & m.tradable[np.maximum(sec, 0)], sec, -1)
        return sec, count

    def _direct_repayments(self, ev: _Events) -> None:
        """Now and then a credit account pays off one financing contract from spare cash
        (直接还款), with its interest."""
        rng, a, d = self.rng, self.accounts, self.debts
        rows = np.flatnonzero(
            (d.kind == FINANCING) & (d.balance > 0) & (rng.random(len(d.keys)) < 0.03)
        )
        acc = d.acc[rows]
        _, first = np.unique(acc, return_index=True)  # at most one contract per account a day
        rows, acc = rows[first], acc[first]
        owed = d.balance[rows] + d.interest[rows]
        ok = a.cash[acc] - a.frozen[acc] >= owed
        rows, acc = rows[ok], acc[ok]
        balance, interest, sec = d.balance[rows], d.interest[rows], d.sec[rows]
        ev.cash(acc, "other", -balance, event_key(acc, P_REPAID, 0, 1, sec))
        paid = interest > 0
        ev.cash(
            acc[paid], "interest", -interest[paid], event_key(acc[paid], P_REPAID, 0, 2, sec[paid])
        )
        a.cash[acc] -= balance + interest
        a.financing[acc] -= balance
        d.balance[rows] = 0
        d.interest[rows] = 0

    def _transfers(self, ev: _Events, eligible: np.ndarray) -> None:
        """Custody transfers (转托管): whole holdings leave, new holdings arrive."""
        rng, m, a, b = self.rng, self.market, self.accounts, self.book
        # Out: one random holding of an account that does not trade today.
        pos_acc, pos_sec = b.acc, b.sec
        leaving = eligible & (rng.random(a.size) < 0.0005)
        cand = np.flatnonzero(leaving[pos_acc] & m.listed[pos_sec])
        score = rng.random(len(cand))
        order = np.lexsort((score, pos_acc[cand]))
        cand = cand[order]
        _, first = np.unique(pos_acc[cand], return_index=True)
        out = cand[first]
        o_acc, o_sec, o_qty = pos_acc[out], pos_sec[out], b.qty[out]
        ev.add(
            "security_transfers",
            key=event_key(o_acc, P_XFER, 0, 0, o_sec),
            acc=o_acc,
            sec=o_sec,
            direction=np.full(len(out), XFER_OUT, np.int8),
            qty=o_qty,
            cost=np.zeros(len(out), np.int64),
        )
        # In: a holding moved here from another broker, valued at today's close.
        i_acc = np.flatnonzero(eligible & (rng.random(a.size) < 0.0004))
        i_sec = self._pick_securities(
            i_acc, m.listed & ((m.sec_type == STOCK) | (m.sec_type == ETF))
        )
        i_qty = (1 + rng.geometric(0.15, len(i_acc))) * m.lot[i_sec]
        ev.add(
            "security_transfers",
            key=event_key(i_acc, P_XFER, 0, 1, i_sec),
            acc=i_acc,
            sec=i_sec,
            direction=np.full(len(i_acc), XFER_IN, np.int8),
            qty=i_qty,
            cost=i_qty * m.close[i_sec],
        )

    def _bank_out(
        self,
        ev: _Events,
        acc_ok: np.ndarray,
        activity: np.ndarray,
        closing: np.ndarray,
        acc_live: np.ndarray,
    ) -> None:
        rng, a = self.rng, self.accounts
        avail = a.cash - a.frozen
        pick = acc_ok & (avail >= 10_000) & (rng.random(a.size) < 0.005 + activity * 0.06)
        idx = np.flatnonzero(pick)
        amount = (avail[idx] * rng.uniform(0.05, 0.8, len(idx))).astype(np.int64)
        amount = np.where(
            rng.random(len(idx)) < 0.6, amount // 10_000 * 10_000, amount // 100 * 100
        )
        amount = np.maximum(amount, 100)
        # A closing customer withdraws everything.
        last = np.flatnonzero(closing[a.customer] & acc_live & (a.cash > 0))
        idx = np.concatenate([idx, last])
        amount = np.concatenate([amount, a.cash[last]])
        order = np.argsort(idx, kind="stable")
        idx, amount = idx[order], amount[order]
        dup = np.zeros(len(idx), bool)
        dup[1:] = idx[1:] == idx[:-1]
        idx, amount = idx[~dup], amount[~dup]
        amount = np.minimum(amount, a.cash[idx] - a.frozen[idx])
        a.cash[idx] -= amount
        ev.cash(idx, "bank_out", -amount, event_key(idx, P_BANK_OUT, 0, 0, 0))

    def _pick_securities(self, acc: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """A security per account, by popularity, within the customer's product risk."""
        m, a, c = self.market, self.accounts, self.customers
        rng = self.rng
        risk = c.max_product_risk[a.customer[acc]]
        out = np.zeros(len(acc), np.int64)
        u = rng.random(len(acc))
        for level in range(1, 6):
            mine = risk == level
            if not mine.any():
                continue
            w = np.where(allowed & (m.risk <= level), m.popularity, 0.0)
            if w.sum() == 0:  # nothing that safe is quoted today: fall back to bonds and ETFs
                w = np.where(
                    allowed
                    & ((m.sec_type == BOND) | (m.sec_type == ETF) | (m.sec_type == CONVERTIBLE)),
                    m.popularity,
                    0.0,
                )
            cdf = np.cumsum(w)
            out[mine] = np.minimum(
                np.searchsorted(cdf, u[mine] * cdf[-1], side="right"), len(cdf) - 1
            )
        return out

    # --- output tables ------------------------------------------------------------------------

    def _market_tables(self, out: DayTables) -> None:
        out.tables["securities"] = Table(self.market.master_rows(), None)
        out.tables["quotes"] = Table(self.market.quote_rows(), None)

    def _customer_rows(self, idx: np.ndarray) -> Table:
        c = self.customers
        mobile = c.mobile[idx]
        return Table(
            {
                "customer_no": c.number.take(idx),
                "name": c.name.take(idx),
                "branch_code": self.branch_codes.take(c.branch[idx].astype(np.int64)),
                "customer_type": c.customer_type[idx],
                "id_type": c.id_type[idx],
                "id_number": c.id_number.take(idx),
                "mobile": pa.array(mobile, mask=mobile == 0).cast(pa.string()),
                "birth_date": c.birth_date[idx],
                "gender": c.gender[idx],
                "open_date": c.open_date[idx],
                "status": c.status[idx],
                "risk_level": c.risk_level[idx],
                "risk_expiry": c.risk_expiry[idx],
                "investor_class": c.investor_class[idx],
                "invest_horizon": c.invest_horizon[idx],
                "invest_varieties": c.invest_varieties[idx],
                "first_trade_date": c.first_trade_date[idx],
                "aml_level": c.aml_level[idx],
            },
            idx,
            "customer",
        )

    def _account_rows(self, idx: np.ndarray) -> Table:
        a, c = self.accounts, self.customers
        cust = a.customer[idx]
        return Table(
            {
                "fund_account": a.number.take(idx),
                "customer_no": c.number.take(cust),
                "branch_code": self.branch_codes.take(c.branch[cust].astype(np.int64)),
                "account_type": a.account_type[idx],
                "currency": a.currency[idx],
                "open_date": a.open_date[idx],
                "status": a.status[idx],
            },
            idx,
        )

    def _flow_tables(self, out: DayTables, ev: _Events, start_cash: np.ndarray) -> None:
        a, m = self.accounts, self.market
        trades = ev.table(
            "trades",
            (
                "sec",
                "side",
                "qty",
                "price",
                "amount",
                "commission",
                "stamp_tax",
                "transfer_fee",
                "exchange_fee",
                "other_fee",
                "channel",
            ),
        )
        cash = ev.table("cash_flows", ("kind", "amount"))
        xfers = ev.table("security_transfers", ("sec", "direction", "qty", "cost"))
        frz = ev.table("freezes", ("kind", "amount"))

        # Serial numbers: one sequence per counter and day over all flow tables, in key order.
        keys = [t["key"] for t in (trades, cash, xfers, frz)]
        all_keys = np.concatenate(keys)
        rank = np.empty(len(all_keys), np.int64)
        rank[np.argsort(all_keys, kind="stable")] = np.arange(len(all_keys))
        apex_from = int((all_keys < (np.int64(a.split) << 22)).sum())
        serial = np.where(all_keys >= (np.int64(a.split) << 22), rank - apex_from, rank) + 1
        serials = np.split(serial, np.cumsum([len(k) for k in keys])[:-1])

        # Running cash: each account's start-of-day cash plus its flows in serial order.
        acc = cash["acc"]
        running = np.cumsum(cash["amount"])
        starts = np.r_[True, acc[1:] != acc[:-1]] if len(acc) else np.zeros(0, bool)
        group = np.cumsum(starts) - 1
        base = (running - cash["amount"])[starts]
        balance = start_cash[acc] + running - base[group] if len(acc) else np.zeros(0, np.int64)
        assert (balance >= 0).all(), "negative running balance"
        if len(acc):
            last = np.r_[starts[1:], True]
            assert (balance[last] == a.cash[acc[last]]).all(), "cash flows do not add up"

        sec = trades["sec"]
        out.tables["trades"] = Table(
            {
                "serial_no": serials[0],
                "fund_account": a.number.take(trades["acc"]),
                "exchange": m.exchange[sec],
                "security_code": m.code.take(sec),
                "side": trades["side"],
                "quantity": trades["qty"],
                "price": (trades["price"], m.decimals[sec]),
                "amount": trades["amount"],
                "commission": trades["commission"],
                "stamp_tax": trades["stamp_tax"],
                "transfer_fee": trades["transfer_fee"],
                "exchange_fee": trades["exchange_fee"],
                "other_fee": trades["other_fee"],
                "channel": trades["channel"],
            },
            trades["acc"],
        )
        out.tables["cash_flows"] = Table(
            {
                "serial_no": serials[1],
                "fund_account": a.number.take(acc),
                "currency": a.currency[acc],
                "kind": cash["kind"],
                "amount": cash["amount"],
                "balance_after": balance,
            },
            acc,
        )
        sec = xfers["sec"]
        out.tables["security_transfers"] = Table(
            {
                "serial_no": serials[2],
                "fund_account": a.number.take(xfers["acc"]),
                "exchange": m.exchange[sec],
                "security_code": m.code.take(sec),
                "direction": xfers["direction"],
                "quantity": xfers["qty"],
            },
            xfers["acc"],
        )
        out.tables["freezes"] = Table(
            {
                "serial_no": serials[3],
                "fund_account": a.number.take(frz["acc"]),
                "kind": frz["kind"],
                "amount": frz["amount"],
            },
            frz["acc"],
        )

    def _holding_tables(self, out: DayTables) -> None:
        a, m, b, d = self.accounts, self.market, self.book, self.debts
        acc, sec = b.acc, b.sec
        out.tables["positions"] = Table(
            {
                "fund_account": a.number.take(acc),
                "exchange": m.exchange[sec],
                "security_code": m.code.take(sec),
                "quantity": b.qty,
                "cost_price": ((b.cost + b.qty // 2) // b.qty, 3),
            },
            acc,
        )
        acc, sec = d.acc, d.sec
        out.tables["margin_debts"] = Table(
            {
                "fund_account": a.number.take(acc),
                "kind": d.kind.astype(np.int8),
                "exchange": m.exchange[sec],
                "security_code": m.code.take(sec),
                "financing_balance": d.balance,
                "short_quantity": d.short_qty,
                "interest_payable": d.interest,
            },
            acc,
        )


def _cost(
    m: Market,
    a: Accounts,
    c: Customers,
    acc: np.ndarray,
    sec: np.ndarray,
    qty: np.ndarray,
    price: np.ndarray,
    sell: bool,
    manual: np.ndarray,
):
    """Amount (quantity × price, to the cent, half up) and fees of trades."""
    amount = (qty * price + 5) // 10
    fees = trade_fees(
        amount=amount,
        sell=np.full(len(acc), sell),
        stock=m.sec_type[sec] == STOCK,
        commission_ppm=c.commission_ppm[a.customer[acc]],
        manual=manual,
    )
    return amount, fees


def _yuan_amount(rng: np.random.Generator, yuan: np.ndarray) -> np.ndarray:
    """Cents of transfers people make: mostly round hundreds, at least ¥100."""
    cents = np.rint(np.maximum(yuan, 100) * 100).astype(np.int64)
    return np.where(rng.random(len(cents)) < 0.6, np.maximum(cents // 10_000, 1) * 10_000, cents)
