"""Branches, customers and fund accounts of the simulated brokerage.

The brokerage is the product of a merger: each branch still runs on the counter of the firm it
came from, so a customer's counter follows their branch (about 60 % Hundsun, 40 % Apex).
Every customer who will ever exist is drawn up front, in one vectorised pass: the initial
customers and a reserve that opens accounts on later days. Arrays are ordered by counter,
then by customer number, so each counter's rows are one contiguous, sorted slice.

Coded attributes are indices into ``STANDARD_CODES`` (−1 = none); money is int64 cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brokercrm.datacenter.dictionaries import STANDARD_CODES

from .calendar import yyyymmdd
from .people import (
    OTHER_REGIONS,
    REGIONS,
    credit_codes,
    id_numbers,
    institution_names,
    mobiles,
    passport_numbers,
    person_names,
    product_names,
)

__all__ = ["NEVER", "Accounts", "Branches", "Customers", "build_population"]


def _i(domain: str, value: str) -> int:
    return STANDARD_CODES[domain].index(value)


INDIVIDUAL, INSTITUTION, PRODUCT = (
    _i("customer_type", v) for v in ("individual", "institution", "product")
)
ID_CARD, PASSPORT, LICENCE = (_i("id_type", v) for v in ("id_card", "passport", "business_licence"))
NORMAL, FROZEN, LOST, CLOSED = (_i("status", v) for v in ("normal", "frozen", "lost", "closed"))
CNY, USD, HKD = (_i("currency", v) for v in ("CNY", "USD", "HKD"))
NORMAL_ACCOUNT, CREDIT_ACCOUNT = (_i("account_type", v) for v in ("normal", "credit"))
ORDINARY = _i("investor_class", "ordinary")

#: Account slot, the last digit of a fund account number.
SLOT_NORMAL, SLOT_CREDIT, SLOT_USD, SLOT_HKD = 1, 2, 3, 4

#: ``open_day`` of an account that never opens (its customer closed before the planned day).
NEVER = np.iinfo(np.int32).max

COUNTER_NAMES = ("hundsun", "apex")
#: Leading digits of customer numbers and fund accounts per counter (the two former firms).
_CUSTOMER_PREFIX = ("1", "2")
_ACCOUNT_PREFIX = ("18", "28")

#: Assessment validity: 24 months (DOMAIN.md, "Investor classification");
#: the expiry is the last valid day.
RISK_VALID_DAYS = 730


@dataclass
class Branches:
    code: list[str]  # "0101": region 01, branch 01
    region: list[str]
    counter: np.ndarray  # 0 hundsun, 1 apex


@dataclass
class Customers:
    counter: np.ndarray
    number: pa.Array
    name: pa.Array
    branch: np.ndarray
    customer_type: np.ndarray
    id_type: np.ndarray
    id_number: pa.Array
    mobile: np.ndarray  # int64, 0 = none
    birth_date: np.ndarray  # YYYYMMDD, 0 = unknown
    gender: np.ndarray
    open_date: np.ndarray
    open_day: np.ndarray  # -1 = before the initial day, else the day index it opens
    status: np.ndarray
    risk_level: np.ndarray
    risk_expiry: np.ndarray  # YYYYMMDD, -1 = none
    investor_class: np.ndarray
    invest_horizon: np.ndarray
    invest_varieties: np.ndarray  # bit mask
    first_trade_date: np.ndarray  # YYYYMMDD, 0 = none yet
    aml_level: np.ndarray
    commission_ppm: np.ndarray
    activity: np.ndarray  # probability of trading on a given day
    wealth: np.ndarray  # yuan, a scale for every amount the customer moves
    max_product_risk: np.ndarray  # R1..R5 the customer buys up to
    split: int  # first Apex customer

    @property
    def size(self) -> int:
        return len(self.counter)


@dataclass
class Accounts:
    customer: np.ndarray
    slot: np.ndarray
    account_type: np.ndarray
    currency: np.ndarray
    number: pa.Array
    open_date: np.ndarray
    open_day: np.ndarray
    status: np.ndarray
    cash: np.ndarray  # cents
    frozen: np.ndarray  # cents
    interest_base: np.ndarray  # cent·days since the last interest settlement
    credit_line: np.ndarray  # cents, credit accounts
    financing: np.ndarray  # cents, Σ financing balances
    sms: np.ndarray  # monthly SMS-service fee in cents, 0 = no subscription
    split: int  # first Apex account

    @property
    def size(self) -> int:
        return len(self.customer)


def build_branches(*, rng: np.random.Generator) -> Branches:
    """Three to six branches per region; branches alternate between the two firms' counters."""
    codes: list[str] = []
    regions: list[str] = []
    for r, region in enumerate(REGIONS, start=1):
        for b in range(1, int(rng.integers(3, 7)) + 1):
            codes.append(f"{r:02d}{b:02d}")
            regions.append(region)
    counter = np.array([1 if t % 5 in (1, 3) else 0 for t in range(len(codes))], dtype=np.int8)
    return Branches(code=codes, region=regions, counter=counter)


def _days(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[D]")


def _choice(rng: np.random.Generator, n: int, p: list[float]) -> np.ndarray:
    p_arr = np.asarray(p, dtype=np.float64)
    return rng.choice(len(p_arr), size=n, p=p_arr / p_arr.sum()).astype(np.int8)


def build_population(
    *,
    rng: np.random.Generator,
    initial: int,
    new_per_day: np.ndarray,
    days: list[date],
) -> tuple[Branches, Customers, Accounts]:
    """Draw every customer and fund account of the run.

    Parameters
    ----------
    initial : customers on the initial day.
    new_per_day : customers opening on each trading day (index 0, the initial day, is 0).
    days : the trading days of the run.
    """
    branches = build_branches(rng=rng)
    n = initial + int(new_per_day.sum())
    start = np.datetime64(days[0], "D")
    day_dates = np.array(days, dtype="datetime64[D]")
    open_day = np.concatenate(
        [
            np.full(initial, -1, np.int32),
            np.repeat(np.arange(len(days), dtype=np.int32), new_per_day),
        ]
    )

    # --- who they are ------------------------------------------------------------------------
    counter = (rng.random(n) < 0.4).astype(np.int8)
    branch_weight = rng.uniform(0.5, 2.0, len(branches.code))
    branch = np.empty(n, np.int16)
    for c in (0, 1):
        mine = np.flatnonzero(branches.counter == c)
        w = branch_weight[mine] / branch_weight[mine].sum()
        members = counter == c
        branch[members] = mine[rng.choice(len(mine), size=members.sum(), p=w)]

    ctype = _choice(rng, n, [0.965, 0.022, 0.013])
    person = ctype == INDIVIDUAL
    female = person & (rng.random(n) < 0.48)
    id_type = np.where(person, np.where(rng.random(n) < 0.004, PASSPORT, ID_CARD), LICENCE).astype(
        np.int8
    )

    # Most customers were born where their branch is; some moved there.
    region_codes = np.empty(n, np.int64)
    region_names = list(REGIONS)
    branch_region = np.array([region_names.index(r) for r in branches.region])[branch]
    for r, name in enumerate(region_names):
        members = branch_region == r
        local = np.array(REGIONS[name], dtype=np.int64)
        region_codes[members] = local[rng.integers(0, len(local), members.sum())]
    movers = rng.random(n) < 0.15
    others = np.array(OTHER_REGIONS, dtype=np.int64)
    region_codes[movers] = others[rng.integers(0, len(others), movers.sum())]

    # Ages at the start: mostly 25–65, never under 18.
    age_days = (np.clip(rng.normal(44, 13, n), 18.1, 90) * 365.25).astype(np.int64)
    birth = start - age_days.astype("timedelta64[D]")
    opened_before = start - (rng.random(n) ** 1.7 * 15 * 365.25 + 1).astype("timedelta64[D]")
    adult = birth + np.timedelta64(int(18 * 365.25) + 1, "D")
    opened_before = np.where(person, np.maximum(opened_before, adult), opened_before)
    open_at = np.where(open_day >= 0, day_dates[np.maximum(open_day, 0)], opened_before)
    birth_int = np.where(person, yyyymmdd(birth), 0).astype(np.int32)

    idx_person = np.flatnonzero(person & (id_type == ID_CARD))
    idx_pass = np.flatnonzero(id_type == PASSPORT)
    idx_inst = np.flatnonzero(ctype == INSTITUTION)
    idx_prod = np.flatnonzero(ctype == PRODUCT)
    names = _scatter(
        n,
        [
            (np.flatnonzero(person), person_names(rng=rng, female=female[person])),
            (idx_inst, institution_names(rng=rng, n=len(idx_inst))),
            (idx_prod, product_names(rng=rng, n=len(idx_prod))),
        ],
    )
    org = np.flatnonzero(~person)
    id_number = _scatter(
        n,
        [
            (
                idx_person,
                id_numbers(
                    rng=rng,
                    region=region_codes[idx_person],
                    birth=birth_int[idx_person],
                    female=female[idx_person],
                ),
            ),
            (idx_pass, passport_numbers(rng=rng, n=len(idx_pass))),
            (org, credit_codes(rng=rng, region=region_codes[org])),
        ],
    )
    mobile = np.where(rng.random(n) < np.where(person, 0.97, 0.7), mobiles(rng=rng, n=n), 0)
    gender = np.where(
        person, np.where(female, _i("gender", "female"), _i("gender", "male")), -1
    ).astype(np.int8)

    # --- status and suitability --------------------------------------------------------------
    status = np.where(open_day >= 0, NORMAL, _choice(rng, n, [0.93, 0.015, 0.005, 0.05])).astype(
        np.int8
    )
    risk = (_choice(rng, n, [0.045, 0.015, 0.08, 0.18, 0.35, 0.25, 0.08]) - 1).astype(np.int8)
    risk = np.where(~person & (risk < 3), 3 + (rng.random(n) < 0.5), risk).astype(np.int8)
    assessed = np.where(
        open_day >= 0, open_at, start - rng.integers(0, 900, n).astype("timedelta64[D]")
    )
    assessed = np.maximum(assessed, open_at)
    expiry = yyyymmdd(assessed + np.timedelta64(RISK_VALID_DAYS - 1, "D"))
    risk_expiry = np.where(risk >= 0, expiry, -1).astype(np.int32)

    investor_class = np.where(
        ctype == PRODUCT,
        np.where(rng.random(n) < 0.9, 1, 0),
        np.where(
            ctype == INSTITUTION,
            _choice(rng, n, [0.15, 0.3, 0.5, 0.05]),
            _choice(rng, n, [0.97, 0.0, 0.015, 0.015]),
        ),
    ).astype(np.int8)
    horizon = (_choice(rng, n, [0.08, 0.25, 0.45, 0.22]) - 1).astype(np.int8)
    variety_p = np.array([0.5, 0.85, 0.1, 0.05, 0.08])
    varieties = (
        ((rng.random((n, 5)) < variety_p) * (1 << np.arange(5))).sum(axis=1).astype(np.uint8)
    )
    traded_before = (open_day < 0) & (rng.random(n) < 0.85)
    span = np.maximum((start - open_at).astype(np.int64), 1)
    first_trade = open_at + (rng.random(n) * span).astype("timedelta64[D]")
    first_trade_int = np.where(traded_before, yyyymmdd(first_trade), 0).astype(np.int32)
    aml = _choice(rng, n, [0.85, 0.12, 0.03])

    # Commission is negotiated: most pay a fraction of the 3‰ cap, institutions the least.
    rates = np.array(
        [100, 150, 180, 200, 250, 300, 500, 800, 1000, 1500, 2000, 2500, 3000], np.int32
    )
    ppm = rates[_choice(rng, n, [8, 12, 8, 14, 14, 12, 9, 6, 6, 4, 3, 2, 2])]
    ppm = np.where(person, ppm, np.minimum(ppm, 300)).astype(np.int32)
    # Trading propensity: a third are dormant, the rest gamma-distributed (mean about 7 % a day).
    activity = np.where(
        rng.random(n) < 0.33, 0.004, np.minimum(rng.gamma(0.9, 0.12, n), 0.85)
    ) * np.where(person, 1.0, 1.8)
    wealth = np.exp(
        rng.normal(
            np.select(
                [ctype == INSTITUTION, ctype == PRODUCT], [np.log(3e6), np.log(1.5e7)], np.log(6e4)
            ),
            np.where(person, 1.4, 1.1),
        )
    )
    wealth = np.clip(wealth, 2_000, 5e9)
    max_risk = np.where(
        investor_class != ORDINARY, 5, np.where(risk < 0, 3, np.maximum(risk, 1))
    ).astype(np.int8)

    # --- order: by counter, then by the order of opening (numbers follow opening order) -------
    order = np.lexsort((open_at.astype(np.int64), open_day, counter))

    def o(a: np.ndarray) -> np.ndarray:
        return a[order]

    counter = o(counter)
    split = int(np.searchsorted(counter, 1))
    k = np.arange(n) - np.where(counter == 1, split, 0)
    width = max(7, len(str(max(split, n - split))))
    number = _numbered(counter, k, width, _CUSTOMER_PREFIX, None)
    customers = Customers(
        counter=counter,
        number=number,
        name=names.take(order),
        branch=o(branch),
        customer_type=o(ctype),
        id_type=o(id_type),
        id_number=id_number.take(order),
        mobile=o(mobile),
        birth_date=o(birth_int),
        gender=o(gender),
        open_date=yyyymmdd(o(open_at)),
        open_day=o(open_day),
        status=o(status),
        risk_level=o(risk),
        risk_expiry=o(risk_expiry),
        investor_class=o(investor_class),
        invest_horizon=o(horizon),
        invest_varieties=o(varieties),
        first_trade_date=o(first_trade_int),
        aml_level=o(aml),
        commission_ppm=o(ppm),
        activity=o(activity),
        wealth=o(wealth),
        max_product_risk=o(max_risk),
        split=split,
    )
    accounts = _build_accounts(
        rng=rng,
        customers=customers,
        k=k,
        width=width,
        start=start,
        open_at=o(open_at),
        n_days=len(days),
        person=o(person),
    )
    return branches, customers, accounts


def _scatter(n: int, parts: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """One string array of length ``n`` from values placed at disjoint index sets."""
    idx = np.concatenate([p[0] for p in parts])
    values = pa.concat_arrays([p[1] for p in parts])
    inverse = np.empty(n, np.int64)
    inverse[idx] = np.arange(len(idx))
    return values.take(inverse)


def _numbered(
    counter: np.ndarray,
    k: np.ndarray,
    width: int,
    prefixes: tuple[str, str],
    slot: np.ndarray | None,
) -> pa.Array:
    """``prefix + zero-padded k (+ slot digit)`` as strings."""
    digits = pc.utf8_lpad(pa.array(k.astype(np.int64)).cast(pa.string()), width, "0")
    prefix = pa.array(list(prefixes), pa.string()).take(counter.astype(np.int32))
    parts = [prefix, digits]
    if slot is not None:
        parts.append(pa.array(slot.astype(np.int64)).cast(pa.string()))
    return pc.binary_join_element_wise(*parts, "")


def _build_accounts(
    *,
    rng: np.random.Generator,
    customers: Customers,
    k: np.ndarray,
    width: int,
    start: np.datetime64,
    open_at: np.ndarray,
    n_days: int,
    person: np.ndarray,
) -> Accounts:
    n = customers.size
    c = customers
    initial = c.open_day < 0
    # Margin needs six months' standing, C4+ or professional, and some means (DOMAIN.md pools).
    eligible = (
        (c.status == NORMAL)
        & initial
        & (open_at <= start - np.timedelta64(183, "D"))
        & ((c.risk_level >= 4) | (c.investor_class != ORDINARY))
        & (c.wealth >= 100_000)
        & (c.customer_type != PRODUCT)
    )
    credit_now = eligible & (rng.random(n) < 0.5)
    credit_later = eligible & ~credit_now & (rng.random(n) < 0.0002 * max(n_days - 1, 0))
    usd = initial & (c.customer_type != PRODUCT) & (rng.random(n) < 0.01)
    hkd = initial & (c.customer_type != PRODUCT) & (rng.random(n) < 0.005)

    owners = [
        np.arange(n),
        np.flatnonzero(credit_now | credit_later),
        np.flatnonzero(usd),
        np.flatnonzero(hkd),
    ]
    slots = [SLOT_NORMAL, SLOT_CREDIT, SLOT_USD, SLOT_HKD]
    cust = np.concatenate(owners)
    slot = np.concatenate([np.full(len(o), s, np.int8) for o, s in zip(owners, slots, strict=True)])
    order = np.lexsort((slot, cust))  # customers are already in counter/number order
    cust, slot = cust[order].astype(np.int32), slot[order]
    m = len(cust)

    open_day = c.open_day[cust].copy()
    later = (slot == SLOT_CREDIT) & credit_later[cust]
    # Credit accounts opened during the run get their open date on the day they open.
    open_day[later] = rng.integers(1, n_days, later.sum()) if n_days > 1 else NEVER
    cust_open = open_at[cust]
    # Accounts opened after the customer: credit at least six months later, FX any time.
    window = np.maximum((start - cust_open).astype(np.int64), 1)
    after = np.where(slot == SLOT_CREDIT, np.minimum(183, window - 1), 0)
    extra = (rng.random(m) * np.maximum(window - after, 1)).astype(np.int64)
    acc_open = np.where(
        slot == SLOT_NORMAL, cust_open, cust_open + (after + extra).astype("timedelta64[D]")
    )
    acc_open = np.minimum(acc_open, start)
    open_date = yyyymmdd(acc_open)

    status = c.status[cust].copy()
    wealth = c.wealth[cust]
    has_credit = np.zeros(n, bool)
    has_credit[cust[(slot == SLOT_CREDIT) & (open_day < 0)]] = True
    share = rng.beta(1.2, 3.0, m)
    # A customer with a credit account keeps about half of their wealth there as collateral.
    cny_wealth = np.where(has_credit[cust], wealth * 0.5, wealth)
    cash_yuan = np.select(
        [slot == SLOT_NORMAL, slot == SLOT_CREDIT],
        [cny_wealth * share, cny_wealth * share * 0.6],
        np.exp(rng.normal(np.log(15_000), 1.0, m)),
    )
    cash = np.rint(cash_yuan * 100).astype(np.int64)
    # Round sums are common: a third of balances are whole yuan.
    cash = np.where(rng.random(m) < 0.33, cash // 100 * 100, cash)
    cash = np.where((open_day < 0) & (status != CLOSED), cash, 0)
    credit_line = np.where(slot == SLOT_CREDIT, np.rint(wealth * 0.6 * 100).astype(np.int64), 0)
    sms = np.where(
        (slot == SLOT_NORMAL) & (rng.random(m) < 0.03), rng.choice([1000, 2000, 3000], m), 0
    )

    counter = c.counter[cust]
    split = int(np.searchsorted(counter, 1))
    number = _numbered(counter, k[cust], width, _ACCOUNT_PREFIX, slot)
    return Accounts(
        customer=cust,
        slot=slot,
        account_type=np.where(slot == SLOT_CREDIT, CREDIT_ACCOUNT, NORMAL_ACCOUNT).astype(np.int8),
        currency=np.select([slot == SLOT_USD, slot == SLOT_HKD], [USD, HKD], CNY).astype(np.int8),
        number=number,
        open_date=open_date,
        open_day=open_day.astype(np.int32),
        status=status,
        cash=cash,
        frozen=np.zeros(m, np.int64),
        interest_base=np.zeros(m, np.int64),
        credit_line=credit_line,
        financing=np.zeros(m, np.int64),
        sms=sms.astype(np.int64),
        split=split,
    )
