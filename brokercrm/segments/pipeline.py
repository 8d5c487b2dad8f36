"""Tiers (客户级别) and the ABCD class as Ibis expressions (DOMAIN.md, "Tiers and the ABCD matrix").

Like ``datacenter/pipeline.py``: every function takes Ibis tables and returns Ibis tables;
nothing reads or writes a file, nothing imports Django, nothing names a backend. The runner calls
these functions once per trading day, after the customer indicators of the day, with the state
this module wrote for the previous day, and writes the results as snapshots
(:data:`SEGMENT_SCHEMAS`, one partition per trade_date).

State carried from day to day, so that a day costs the same however long the history:

``tier_state`` (one row per customer ever seen)
    the current tier and since when, the consecutive below-current evaluations and the highest
    tier computed over them, the first day seen (for the partial-history flag).
``commission_months`` (≤ 12 rows per customer)
    net commission per customer and calendar month, for the months of the trailing 12-month
    window (:func:`commission_months_step`); months that left the window are dropped, months
    without commission have no row.
``abcd_sums`` (one row per customer present in the last 250 trading days)
    running sums over the ABCD window: days present, net commission, margin interest paid, trade
    amount and total assets (:func:`abcd_sums_step`). A day adds its own values
    (``abcd_daily`` of d) and subtracts those of the day that leaves the window (``abcd_daily``
    of the trading day 250 before d, :func:`abcd_leaving_day`), so ``abcd_daily`` is kept per day.

Every amount is exact (``decimal(38,10)``, :data:`WIDE`). The one division, turnover, divides by
a sum of total assets, which ``with_quotients`` (an integer divisor) cannot take:
:func:`_with_turnover` applies the same scheme (a double's estimate corrected with exact decimal
remainders, half-up at 10 places). The median split compares exactly: a value x is at or above
the median of the two middle values a and b when ``2x ≥ a + b`` (no division). Nothing here
depends on the history's length: a day reads the previous day's state, its own indicators and
flows, and one earlier ``abcd_daily``.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Mapping, Sequence

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from brokercrm.datacenter.pipeline import CASH, WIDE, _conform, _nullable

# --- the rules' numbers (DOMAIN.md, "Tiers (客户级别) and the ABCD matrix") -------------------------
# The defaults live here and nowhere else; head office overrides them through
# ``segments.models.TierPolicy`` (``segments.selectors.tier_policy_current``), which the runner
# passes in as ``thresholds``.

STANDARD, SILVER, GOLD, DIAMOND = "standard", "silver", "gold", "diamond"
#: Tiers, lowest first (their rank is the position here).
TIERS: tuple[str, ...] = (STANDARD, SILVER, GOLD, DIAMOND)


@dataclass(frozen=True)
class TierThreshold:
    """The least 20-day average daily assets, or the least trailing-12-month net commission,
    that gives a tier (yuan)."""

    avg_assets: Decimal
    net_commission: Decimal


#: DOMAIN.md: silver ≥ ¥100k assets or ≥ ¥2,000 commission; gold ≥ ¥500k or ≥ ¥10,000; diamond
#: ≥ ¥2m or ≥ ¥50,000. Standard is everything below silver.
DEFAULT_TIER_THRESHOLDS: Mapping[str, TierThreshold] = {
    SILVER: TierThreshold(Decimal(100_000), Decimal(2_000)),
    GOLD: TierThreshold(Decimal(500_000), Decimal(10_000)),
    DIAMOND: TierThreshold(Decimal(2_000_000), Decimal(50_000)),
}
#: DOMAIN.md: points multiplier per tier (used by points; kept beside the thresholds).
DEFAULT_POINTS_MULTIPLIERS: Mapping[str, Decimal] = {
    STANDARD: Decimal("1.0"),
    SILVER: Decimal("1.1"),
    GOLD: Decimal("1.2"),
    DIAMOND: Decimal("1.3"),
}
#: DOMAIN.md: computed below current on this many consecutive evaluations → downgrade.
DOWNGRADE_EVALUATIONS = 3
#: DOMAIN.md: the commission side of a tier is the trailing 12 months' net commission.
COMMISSION_MONTHS = 12
#: DOMAIN.md: the ABCD window, trading days ending d.
ABCD_WINDOW_DAYS = 250

REASON_INITIAL, REASON_UPGRADE, REASON_DOWNGRADE = "initial", "upgrade", "downgrade"
TIER_CHANGE_REASONS: tuple[str, ...] = (REASON_INITIAL, REASON_UPGRADE, REASON_DOWNGRADE)
ABCD_CLASSES: tuple[str, ...] = ("A", "B", "C", "D")

#: Turnover is capped here: only a customer with next to no assets who trades reaches it (a
#: practically zero mean), and the cap keeps every exact product of the division within 38 digits.
TURNOVER_CAP = Decimal(10) ** 12
#: total_assets carries at most 4 decimal places (cash in cents, quantity × a price of ≤ 4 places,
#: COUNTERS.md): Σ total_assets is exact as decimal(22, 4) (below 10**18 yuan).
_ASSETS_SUM = dt.Decimal(22, 4)
#: The quotient and its integer and fractional parts (products with _ASSETS_SUM stay ≤ 38 digits).
_QUOTIENT = dt.Decimal(23, 10)
_QUOTIENT_INT = dt.Decimal(15, 0)
_QUOTIENT_FRAC = dt.Decimal(10, 10)
_PRODUCT = dt.Decimal(38, 14)
_WIDE_OPERAND = dt.Decimal(28, 10)

# --- snapshot schemas -----------------------------------------------------------------------------

TIER_STATE_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "customer_no": "string",
        "tier": "string",
        "tier_since": "date",
        #: consecutive evaluations that computed a tier below ``tier`` (reset on a change)
        "below_count": "int64",
        #: the highest tier computed over those evaluations (null when ``below_count`` is 0)
        "below_best": "string",
        #: the customer's first day with a CNY account (their initial evaluation)
        "first_seen": "date",
        #: the latest evaluation and what it computed
        "evaluated_on": "date",
        "computed_tier": "string",
        "assets_tier": "string",
        "commission_tier": "string",
        "avg_assets_20d": WIDE,
        "net_commission_12m": WIDE,
        "commission_partial": "boolean",
    }
)
#: One row per change of tier on d, the starting tier (reason ``initial``) included.
TIER_CHANGES_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "customer_no": "string",
        #: null for the starting tier
        "old_tier": "string",
        "new_tier": "string",
        "reason": "string",
    }
)
COMMISSION_MONTHS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "customer_no": "string",
        #: first day of the calendar month
        "month": "date",
        "net_commission": WIDE,
    }
)
#: A customer's own figures of one day, kept to leave the ABCD window 250 trading days later.
ABCD_DAILY_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "customer_no": "string",
        "net_commission": WIDE,
        #: −Σ of the negative ``interest`` cash flows of the customer's CNY credit accounts
        "interest_paid": WIDE,
        "trade_amount": WIDE,
        "total_assets": WIDE,
    }
)
ABCD_SUMS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "customer_no": "string",
        #: days of the window on which the customer was present
        "days": "int64",
        "net_commission": WIDE,
        "interest_paid": WIDE,
        "trade_amount": WIDE,
        "total_assets": WIDE,
    }
)
#: One row per customer with a CNY account on d: what pages and exports read.
SEGMENTS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "customer_no": "string",
        "branch_code": "string",
        "tier": "string",
        "tier_since": "date",
        "net_commission_12m": WIDE,
        "commission_partial": "boolean",
        "abcd_class": "string",
        #: Σ net commission + margin interest paid over the window
        "contribution": WIDE,
        #: Σ trade amount ÷ mean total assets over the window (0 when that mean is 0)
        "turnover": WIDE,
        "high_contribution": "boolean",
        "high_turnover": "boolean",
        "abcd_days": "int64",
    }
)
#: What the runner writes per day, and in which row order.
SEGMENT_SCHEMAS: Mapping[str, ibis.Schema] = {
    "commission_months": COMMISSION_MONTHS_SCHEMA,
    "tier_state": TIER_STATE_SCHEMA,
    "tier_changes": TIER_CHANGES_SCHEMA,
    "abcd_daily": ABCD_DAILY_SCHEMA,
    "abcd_sums": ABCD_SUMS_SCHEMA,
    "segments": SEGMENTS_SCHEMA,
}
SEGMENT_SORT_KEYS: Mapping[str, tuple[str, ...]] = {
    "commission_months": ("customer_no", "month"),
    "tier_state": ("customer_no",),
    "tier_changes": ("customer_no",),
    "abcd_daily": ("customer_no",),
    "abcd_sums": ("customer_no",),
    "segments": ("customer_no",),
}


# --- calendar helpers (plain Python, once per day) ------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def commission_window_start(day: date) -> date:
    """First calendar day of the trailing 12-month window ending ``day``: the month of ``day``
    and the 11 before it (evaluations fall on a month's last trading day, where "the last 12
    months" is exactly these 12 calendar months)."""
    years, month0 = divmod(day.year * 12 + day.month - 1 - (COMMISSION_MONTHS - 1), 12)
    return date(years, month0 + 1, 1)


def full_history_from(calendar: Sequence[date], day: date) -> date | None:
    """The first trading day of ``day``'s 12-month window when the calendar reaches back before
    the window (a customer first seen on or before it has the whole window), else None (the
    history available is shorter than 12 months for everyone: partial)."""
    start = commission_window_start(day)
    days = sorted(d for d in calendar if d <= day)
    if not days or days[0] >= start:
        return None
    return next(d for d in days if d >= start)


def is_evaluation_day(calendar: Sequence[date], day: date) -> bool:
    """Whether ``day`` is the last trading day of its month (DOMAIN.md: evaluation days).

    The calendar's next trading day after ``day`` is in a later month; when ``day`` is the latest
    day known, it is the last if no weekday of its month follows it (exchanges never trade on a
    weekend). A month ending in holidays is recognised only once the next month's first day is
    delivered: the runner must then recompute ``day`` (its answer here changed).
    """
    later = sorted(d for d in calendar if d > day)
    if later:
        return (later[0].year, later[0].month) != (day.year, day.month)
    last = _calendar.monthrange(day.year, day.month)[1]
    rest = (day + timedelta(days=n) for n in range(1, last - day.day + 1))
    return all(d.weekday() >= 5 for d in rest)


def abcd_leaving_day(calendar: Sequence[date], day: date) -> date | None:
    """The trading day that leaves the ABCD window when ``day`` enters it (None while the
    calendar is shorter than the window): its ``abcd_daily`` is subtracted."""
    days = sorted(d for d in calendar if d <= day)
    if not days or days[-1] != day or len(days) <= ABCD_WINDOW_DAYS:
        return None
    return days[-1 - ABCD_WINDOW_DAYS]


# --- tiers ------------------------------------------------------------------------------------------


def _rank_cases(value: ir.DecimalValue, thresholds: Mapping[str, TierThreshold], field: str) -> ir.IntegerValue:
    """The rank of the highest tier whose threshold ``value`` reaches (0 = standard)."""
    cases = []
    for rank in range(len(TIERS) - 1, 0, -1):
        minimum = getattr(thresholds[TIERS[rank]], field)
        cases.append((value >= ibis.literal(Decimal(minimum), type=WIDE), ibis.literal(rank)))
    return ibis.cases(*cases, else_=ibis.literal(0)).cast("int64")


def _tier_name(rank: ir.IntegerValue) -> ir.StringValue:
    return ibis.cases(*[(rank == i, ibis.literal(name)) for i, name in enumerate(TIERS)], else_=ibis.null("string"))


def _tier_rank(name: ir.StringValue) -> ir.IntegerValue:
    return ibis.cases(*[(name == tier, ibis.literal(i)) for i, tier in enumerate(TIERS)], else_=ibis.null("int64")).cast(
        "int64"
    )


def validate_thresholds(thresholds: Mapping[str, TierThreshold]) -> None:
    """Every tier above standard has a threshold, each at least the one below (ValueError)."""
    previous = TierThreshold(Decimal(0), Decimal(0))
    for tier in TIERS[1:]:
        if tier not in thresholds:
            raise ValueError(f"tier thresholds: {tier} is missing")
        t = thresholds[tier]
        if t.avg_assets < previous.avg_assets or t.net_commission < previous.net_commission:
            raise ValueError(f"tier thresholds: {tier} is below the tier under it")
        previous = t


def commission_months_step(*, previous: ir.Table | None, customer_indicators: ir.Table, day: date) -> ir.Table:
    """Net commission per customer and calendar month over the trailing 12-month window ending d
    (``COMMISSION_MONTHS_SCHEMA``): the previous day's months still in the window, plus d's
    net_commission added to d's month. A month without commission has no row."""
    previous = _nullable(previous)
    ci = _nullable(customer_indicators)
    month = ibis.literal(month_start(day))
    today = ci.filter(ci.net_commission != 0).select(
        "customer_no", month=month, net_commission=ci.net_commission.cast(WIDE)
    )
    rows = today
    if previous is not None:
        kept = previous.filter(previous.month >= ibis.literal(commission_window_start(day))).select(
            "customer_no", month=previous.month.cast("date"), net_commission=previous.net_commission.cast(WIDE)
        )
        rows = ibis.union(kept, today, distinct=False)
    sums = rows.group_by(["customer_no", "month"]).aggregate(net_commission=rows.net_commission.sum().cast(WIDE))
    return _conform(sums.mutate(trade_date=ibis.literal(day)), COMMISSION_MONTHS_SCHEMA)


@dataclass(frozen=True)
class TierEvaluation:
    """What :func:`tier_evaluation` gives: the state at the end of d and d's changes."""

    state: ir.Table
    changes: ir.Table


def tier_evaluation(
    *,
    previous: ir.Table | None,
    customer_indicators: ir.Table,
    commission_months: ir.Table,
    day: date,
    evaluation_day: bool,
    full_history_from: date | None,
    thresholds: Mapping[str, TierThreshold] = DEFAULT_TIER_THRESHOLDS,
    downgrade_after: int = DOWNGRADE_EVALUATIONS,
) -> TierEvaluation:
    """Evaluate tiers on d (DOMAIN.md, "Tiers (客户级别) and the ABCD matrix").

    A customer is evaluated on d when d is an evaluation day (the last trading day of its month)
    or d is their first day (their starting tier, no hysteresis, reason ``initial``). The computed
    tier is the higher of the asset-based tier (``avg_assets_20d`` of d) and the commission-based
    tier (net commission of the trailing 12 months, :func:`commission_months_step`; with a
    shorter history, the history available, flagged ``commission_partial``). Computed above
    current → upgrade at once. Computed below current → one more consecutive "below"; on the
    ``downgrade_after``-th (3) the tier falls to the highest tier computed over those evaluations.
    Any evaluation at or above current resets the count. Customers not present on d keep their
    state unchanged.

    Parameters
    ----------
    previous
        This function's ``state`` of the previous trading day (None on the first day).
    customer_indicators
        ``customer_indicators`` of d (``customer_no, avg_assets_20d``): the customers present.
    commission_months
        :func:`commission_months_step` of d.
    evaluation_day
        :func:`is_evaluation_day` of d.
    full_history_from
        :func:`full_history_from` of d: a customer first seen after it has a partial history.
    thresholds
        Tier → :class:`TierThreshold` for silver, gold and diamond (default
        :data:`DEFAULT_TIER_THRESHOLDS`).

    Returns
    -------
    :class:`TierEvaluation`: ``state`` (``TIER_STATE_SCHEMA``, every customer ever seen) and
    ``changes`` (``TIER_CHANGES_SCHEMA``: initial tiers, upgrades, downgrades of d).
    """
    validate_thresholds(thresholds)
    previous = _nullable(previous)
    ci = _nullable(customer_indicators)
    months = _nullable(commission_months)
    d = ibis.literal(day)
    in_window = months.filter(months.month >= ibis.literal(commission_window_start(day)))
    c12 = in_window.group_by("customer_no").aggregate(c12=in_window.net_commission.sum().cast(WIDE))
    present = ci.select("customer_no", avg=ci.avg_assets_20d.cast(WIDE))
    p_columns = {
        "p_rank": "int64",
        "p_since": "date",
        "p_count": "int64",
        "p_best": "int64",
        "p_first": "date",
        "p_evaluated": "date",
        "p_computed": "string",
        "p_assets_tier": "string",
        "p_commission_tier": "string",
        "p_avg": WIDE,
        "p_c12": WIDE,
        "p_partial": "boolean",
    }
    if previous is not None:
        prev = previous.select(
            "customer_no",
            p_rank=_tier_rank(previous.tier),
            p_since=previous.tier_since.cast("date"),
            p_count=previous.below_count.cast("int64"),
            p_best=_tier_rank(previous.below_best),
            p_first=previous.first_seen.cast("date"),
            p_evaluated=previous.evaluated_on.cast("date"),
            p_computed=previous.computed_tier,
            p_assets_tier=previous.assets_tier,
            p_commission_tier=previous.commission_tier,
            p_avg=previous.avg_assets_20d.cast(WIDE),
            p_c12=previous.net_commission_12m.cast(WIDE),
            p_partial=previous.commission_partial,
        )
        j = present.left_join(prev, "customer_no").left_join(c12, "customer_no")
        p = {name: prev[name] for name in p_columns}
    else:
        # The first day: everyone is new.
        j = present.left_join(c12, "customer_no")
        p = {name: ibis.null().cast(dtype) for name, dtype in p_columns.items()}
    new = p["p_rank"].isnull()
    commission = c12.c12.fill_null(0).cast(WIDE)
    assets_rank = _rank_cases(present.avg.fill_null(0), thresholds, "avg_assets")
    commission_rank = _rank_cases(commission, thresholds, "net_commission")
    computed = ibis.greatest(assets_rank, commission_rank)
    evaluated = new | ibis.literal(bool(evaluation_day))
    first_seen = ibis.ifelse(new, d, p["p_first"])
    step = j.select(
        customer_no=present.customer_no,
        new=new,
        evaluated=evaluated,
        **{name: value.cast(p_columns[name]) for name, value in p.items() if name != "p_count"},
        p_count=p["p_count"].fill_null(0).cast("int64"),
        first_seen=first_seen,
        computed=computed,
        assets_rank=assets_rank,
        commission_rank=commission_rank,
        avg=present.avg,
        c12=commission,
        partial=(
            ibis.literal(True)
            if full_history_from is None
            else (first_seen > ibis.literal(full_history_from)).fill_null(True)
        ),
    )
    s = step
    below = s.evaluated & ~s.new & (s.computed < s.p_rank)
    upgrade = s.evaluated & ~s.new & (s.computed > s.p_rank)
    count = ibis.ifelse(below, s.p_count + 1, ibis.ifelse(s.evaluated, 0, s.p_count)).cast("int64")
    best = ibis.ifelse(
        below,
        ibis.ifelse(s.p_count > 0, ibis.greatest(s.p_best, s.computed), s.computed),
        ibis.ifelse(s.evaluated, ibis.null("int64"), s.p_best),
    ).cast("int64")
    downgrade = below & (count >= downgrade_after)
    rank = ibis.cases((s.new | upgrade, s.computed), (downgrade, best), else_=s.p_rank).cast("int64")
    changed = s.new | upgrade | downgrade
    s = s.mutate(
        below=below,
        upgrade=upgrade,
        downgrade=downgrade,
        new_rank=rank,
        new_count=ibis.ifelse(downgrade, 0, count).cast("int64"),
        new_best=ibis.ifelse(downgrade, ibis.null("int64"), best).cast("int64"),
        changed=changed,
    )
    e = s.evaluated
    state_today = s.select(
        trade_date=d,
        customer_no=s.customer_no,
        tier=_tier_name(s.new_rank),
        tier_since=ibis.ifelse(s.changed, d, s.p_since),
        below_count=s.new_count,
        below_best=_tier_name(s.new_best),
        first_seen=s.first_seen,
        evaluated_on=ibis.ifelse(e, d, s.p_evaluated),
        computed_tier=ibis.ifelse(e, _tier_name(s.computed), s.p_computed),
        assets_tier=ibis.ifelse(e, _tier_name(s.assets_rank), s.p_assets_tier),
        commission_tier=ibis.ifelse(e, _tier_name(s.commission_rank), s.p_commission_tier),
        avg_assets_20d=ibis.ifelse(e, s.avg, s.p_avg),
        net_commission_12m=ibis.ifelse(e, s.c12, s.p_c12),
        commission_partial=ibis.ifelse(e, s.partial, s.p_partial),
    )
    state = _conform(state_today, TIER_STATE_SCHEMA)
    if previous is not None:
        absent = previous.anti_join(ci.select("customer_no"), "customer_no").mutate(trade_date=d)
        state = ibis.union(state, _conform(absent, TIER_STATE_SCHEMA), distinct=False)
    moved = s.filter(s.changed)
    changes = moved.select(
        trade_date=d,
        customer_no=moved.customer_no,
        old_tier=ibis.ifelse(moved.new, ibis.null("string"), _tier_name(moved.p_rank)),
        new_tier=_tier_name(moved.new_rank),
        reason=ibis.cases(
            (moved.new, ibis.literal(REASON_INITIAL)),
            (moved.upgrade, ibis.literal(REASON_UPGRADE)),
            else_=ibis.literal(REASON_DOWNGRADE),
        ),
    )
    return TierEvaluation(state=state, changes=_conform(changes, TIER_CHANGES_SCHEMA))


# --- ABCD -------------------------------------------------------------------------------------------


def abcd_daily(*, customer_indicators: ir.Table, cash_flows: ir.Table, accounts: ir.Table, day: date) -> ir.Table:
    """A customer's own ABCD figures of d (``ABCD_DAILY_SCHEMA``): net_commission, trade_amount
    and total_assets of the customer indicators, and the margin interest paid — the negative
    ``interest`` cash flows of the customer's CNY credit accounts, as a positive amount
    (DOMAIN.md, ABCD class; COUNTERS.md, cash flow kinds).

    Parameters
    ----------
    customer_indicators
        ``customer_indicators`` of d.
    cash_flows
        The standard ``cash_flows`` flow of d.
    accounts
        ``accounts`` of d (``accounts_step``): which fund accounts are credit accounts in CNY.
    """
    ci = _nullable(customer_indicators)
    flows = _nullable(cash_flows)
    accounts = _nullable(accounts)
    credit = accounts.filter((accounts.account_type == "credit") & (accounts.currency == "CNY")).select(
        "fund_account", "customer_no"
    )
    paid = flows.filter((flows.kind == "interest") & (flows.amount < 0))
    paid = paid.inner_join(credit, "fund_account")
    interest = paid.group_by(credit.customer_no).aggregate(interest_paid=(-paid.amount).sum().cast(CASH))
    joined = ci.left_join(interest, "customer_no")
    result = joined.select(
        trade_date=ibis.literal(day),
        customer_no=ci.customer_no,
        net_commission=ci.net_commission.cast(WIDE),
        interest_paid=interest.interest_paid.fill_null(0).cast(WIDE),
        trade_amount=ci.trade_amount.cast(WIDE),
        total_assets=ci.total_assets.cast(WIDE),
    )
    return _conform(result, ABCD_DAILY_SCHEMA)


_SUMMED = ("net_commission", "interest_paid", "trade_amount", "total_assets")


def abcd_sums_step(*, previous: ir.Table | None, daily: ir.Table, leaving: ir.Table | None, day: date) -> ir.Table:
    """Running sums over the trailing 250 trading days ending d (``ABCD_SUMS_SCHEMA``): the
    previous day's sums, plus :func:`abcd_daily` of d, minus ``abcd_daily`` of the day that left
    the window (:func:`abcd_leaving_day`; None while the history is shorter). A customer whose
    window holds no day any more is dropped."""
    parts = [daily.select("customer_no", days=ibis.literal(1).cast("int64"), **{c: daily[c].cast(WIDE) for c in _SUMMED})]
    if previous is not None:
        p = _nullable(previous)
        parts.append(p.select("customer_no", days=p.days.cast("int64"), **{c: p[c].cast(WIDE) for c in _SUMMED}))
    if leaving is not None:
        gone = _nullable(leaving)
        parts.append(
            gone.select("customer_no", days=ibis.literal(-1).cast("int64"), **{c: (-gone[c]).cast(WIDE) for c in _SUMMED})
        )
    rows = ibis.union(*[_nullable(t) for t in parts], distinct=False)
    sums = rows.group_by("customer_no").aggregate(
        days=rows.days.sum().cast("int64"), **{c: rows[c].sum().cast(WIDE) for c in _SUMMED}
    )
    sums = sums.filter(sums.days > 0)
    return _conform(sums.mutate(trade_date=ibis.literal(day)), ABCD_SUMS_SCHEMA)


def abcd_class(*, sums: ir.Table, customer_indicators: ir.Table, branches: ir.Table, day: date) -> ir.Table:
    """The ABCD class of every customer with a CNY account on d (DOMAIN.md, ABCD class).

    Over the window of :func:`abcd_sums_step` (the last 250 trading days, or those available):
    contribution = Σ net commission + margin interest paid; turnover = Σ trade amount ÷ mean total
    assets (Σ total assets ÷ days present), 0 when that mean is 0, half-up at 10 places.
    "High" = at or above the median within the customer's branch over the customers present on
    d. A = high/high, B = high contribution/low turnover, C = low/high, D = low/low.

    Parameters
    ----------
    sums
        :func:`abcd_sums_step` of d.
    customer_indicators
        ``customer_indicators`` of d: who is present.
    branches
        ``customer_no, branch_code`` — the customer's branch (the counter's customer master).
        A customer without a row is compared within the branch ``null``.

    Returns
    -------
    ``customer_no, branch_code, contribution, turnover, high_contribution, high_turnover,
    abcd_class, abcd_days``.
    """
    ci = _nullable(customer_indicators).select("customer_no")
    s = _nullable(sums)
    b = _nullable(branches)
    b = b.group_by("customer_no").aggregate(branch_code=b.branch_code.max())
    joined = ci.left_join(s, "customer_no").left_join(b, "customer_no")
    t = joined.select(
        customer_no=ci.customer_no,
        branch_code=b.branch_code,
        days=s.days.fill_null(0).cast("int64"),
        contribution=(s.net_commission.fill_null(0) + s.interest_paid.fill_null(0)).cast(WIDE),
        trade_amount=s.trade_amount.fill_null(0).cast(WIDE),
        total_assets=s.total_assets.fill_null(0).cast(WIDE),
    )
    # turnover = Σ trade × days ÷ Σ assets (the mean is Σ assets ÷ days), exactly.
    t = t.mutate(_num=(t.trade_amount * t.days.cast("decimal(6, 0)")).cast(WIDE))
    t = _with_turnover(t, numerator="_num", denominator="total_assets")
    t = t.drop("_num")
    for value in ("contribution", "turnover"):
        t = _with_high(t, value=value)
    cls = ibis.cases(
        (t.high_contribution & t.high_turnover, ibis.literal("A")),
        (t.high_contribution, ibis.literal("B")),
        (t.high_turnover, ibis.literal("C")),
        else_=ibis.literal("D"),
    )
    return t.select(
        "customer_no",
        "branch_code",
        "contribution",
        "turnover",
        "high_contribution",
        "high_turnover",
        abcd_class=cls,
        abcd_days=t.days,
    )


def _times(k: ir.DecimalValue, d: ir.DecimalValue) -> ir.DecimalValue:
    """``k × d`` exactly, k a :data:`_QUOTIENT` below 10**13 and d an :data:`_ASSETS_SUM`: split
    into k's integer and fractional parts so that each product fits 38 digits on both engines."""
    whole = k.floor()
    high = (whole.cast(_QUOTIENT_INT) * d).cast(_PRODUCT)
    # Spark sizes this product decimal(57, 20) and bounds it to (38, 20), as DuckDB does; it is
    # below d < 10**18, so nothing is lost.
    low = ((k - whole).cast(_QUOTIENT_FRAC).cast(_WIDE_OPERAND) * d.cast(_WIDE_OPERAND)).cast(_PRODUCT)
    return (high + low).cast(_PRODUCT)


def _with_turnover(table: ir.Table, *, numerator: str, denominator: str) -> ir.Table:
    """``table`` with ``turnover`` = numerator ÷ denominator, half-up at 10 places, exactly; 0
    when the denominator is ≤ 0, :data:`TURNOVER_CAP` at most.

    The quotient's double estimate decides the result whenever it is safely clear of a rounding
    boundary: x = quotient × 10¹⁰ in double is within ~10⁻¹⁵ × x of the exact value (two
    conversions, a division and a product, each half an ulp), so when x < 10¹⁴ and its fraction
    lies farther than 0.01 + 10⁻¹⁴ × x from one half, half-up rounding of x is the exact result
    (an integer n < 2⁵³, entered as the double n ÷ 10¹⁰, which both engines cast back to exactly
    n × 10⁻¹⁰). Only the other rows — a quotient on a half unit, or above 10⁴ — take the exact
    scheme of ``with_quotients``, over inputs that are NULL on the rest so that neither engine
    spends anything on them (its 128-bit conversions and products cost ~1–3 µs a row on DuckDB:
    most of the ABCD stage's time before this path): the estimate corrected with exact decimal
    remainders, then half-up by comparing twice the remainder with one unit of the last place ×
    the denominator. The numerator is ≥ 0 (a trade amount) and below 10**24.
    """
    unit = ibis.literal(Decimal(1).scaleb(-10), type=_QUOTIENT)
    cap = float(TURNOVER_CAP)
    positive = (table[denominator] > 0).fill_null(False)
    t = table.mutate(
        _tnone=~positive,
        _tf=table[numerator].cast("float64")
        / ibis.ifelse(positive, table[denominator], ibis.literal(1)).cast("float64"),
    )
    t = t.mutate(_tcap=t._tf >= cap, _tx=t._tf * ibis.literal(1e10))
    small = t._tx < ibis.literal(1e14)
    x = ibis.ifelse(small, t._tx, ibis.literal(0.0))  # floor() goes through a 64-bit integer
    fraction = x - x.floor().cast("float64")
    fast = small & ((fraction - ibis.literal(0.5)).abs() > ibis.literal(0.01) + x * ibis.literal(1e-14))
    nearest = ((x + ibis.literal(0.5)).floor().cast("float64") / ibis.literal(1e10)).cast(_QUOTIENT)
    # The exact scheme, on inputs that are NULL on every other row: a CASE branch alone would
    # not do, as DuckDB hoists the subexpressions it repeats out of the CASE, for every row.
    slow = ~(t._tnone | t._tcap | fast)
    tn = ibis.ifelse(slow, t[numerator], ibis.null()).cast(_PRODUCT)
    td = ibis.ifelse(slow, t[denominator], ibis.null()).cast(_ASSETS_SUM)

    def estimate(value: ir.Value) -> ir.Value:
        return value.cast("float64") / td.cast("float64")

    k0 = ibis.ifelse(slow, t._tf, ibis.null()).cast(_QUOTIENT)  # below the cap where slow
    k1 = (k0 + estimate((tn - _times(k0, td)).cast(_PRODUCT)).cast(_QUOTIENT)).cast(_QUOTIENT)
    twice_rest = ((tn - _times(k1, td)) * 2).cast(_PRODUCT)
    last_unit = (td.cast(_WIDE_OPERAND) * ibis.literal(Decimal(1).scaleb(-10), type=_WIDE_OPERAND)).cast(_PRODUCT)
    rounded = (
        k1
        + ibis.cases(
            (twice_rest < -last_unit, -unit),
            (twice_rest >= last_unit, unit),
            else_=ibis.literal(0).cast(_QUOTIENT),
        )
    ).cast(_QUOTIENT)
    t = t.mutate(
        turnover=ibis.cases(
            (t._tnone, ibis.literal(0).cast(WIDE)),
            (t._tcap, ibis.literal(TURNOVER_CAP, type=WIDE)),
            (fast, nearest.cast(WIDE)),
            else_=rounded.cast(WIDE),
        ).cast(WIDE)
    )
    return t.drop("_tnone", "_tf", "_tcap", "_tx")


def _with_high(table: ir.Table, *, value: str) -> ir.Table:
    """``table`` with ``high_<value>``: at or above the median of ``value`` within the branch.

    Ranked 0…c−1 by value within the branch, the middle ranks are (c−1)/2 for an odd count, and
    c/2 − 1 and c/2 for an even one; with a the lower middle value and b the upper (a = b for an
    odd count), "x ≥ (a + b)/2" is "2x ≥ a + b": exact, no division. Ties at the median are high.
    """
    t = table
    branch = ibis.window(group_by=t.branch_code)
    ordered = ibis.window(group_by=t.branch_code, order_by=[t[value], t.customer_no])
    t = t.mutate(
        _rank=ibis.row_number().over(ordered).cast("int64"),
        _n=t.customer_no.count().over(branch).cast("int64"),
    )
    twice = t._rank * 2
    lower = (twice == t._n - 1) | (twice == t._n - 2)
    upper = (twice == t._n - 1) | (twice == t._n)
    none = ibis.null().cast(WIDE)
    branch = ibis.window(group_by=t.branch_code)
    t = t.mutate(
        _a=ibis.ifelse(lower, t[value], none).max().over(branch).cast(WIDE),
        _b=ibis.ifelse(upper, t[value], none).max().over(branch).cast(WIDE),
    )
    high = ((t[value] * 2).cast(WIDE) >= (t._a + t._b).cast(WIDE)).fill_null(False)
    return t.mutate(**{f"high_{value}": high}).drop("_rank", "_n", "_a", "_b")


def segments(*, tier_state: ir.Table, abcd: ir.Table, day: date) -> ir.Table:
    """One row per customer of ``abcd`` (those present on d) with tier and class
    (``SEGMENTS_SCHEMA``): what pages and ``brokercrm export segments`` read."""
    a = _nullable(abcd)
    st = _nullable(tier_state)
    joined = a.left_join(st, "customer_no")
    result = joined.select(
        trade_date=ibis.literal(day),
        customer_no=a.customer_no,
        branch_code=a.branch_code,
        tier=st.tier,
        tier_since=st.tier_since,
        net_commission_12m=st.net_commission_12m,
        commission_partial=st.commission_partial,
        abcd_class=a.abcd_class,
        contribution=a.contribution,
        turnover=a.turnover,
        high_contribution=a.high_contribution,
        high_turnover=a.high_turnover,
        abcd_days=a.abcd_days,
    )
    return _conform(result, SEGMENTS_SCHEMA)
