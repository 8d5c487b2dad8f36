"""Base indicators (元指标) as Ibis expressions: standard flows → positions, indicators, breaks.

Every function here takes Ibis tables and returns Ibis tables. Nothing reads or writes a file,
nothing imports Django, and nothing names a backend: the same expressions run on DuckDB (the
embedded default) and on Apache Spark. The runner (``runner.py``) is the edge that reads the
warehouse, calls these functions one trading day after another and publishes the snapshots.

The rules are those of ``docs/COUNTERS.md``, sections "Base indicators", "Close price",
"Average cost", "Reconciliation" and "Per customer"; each function names the one it enforces.

Money never goes through a float. Amounts from the counters are ``decimal(18,2)``, prices
``decimal(18,4)``; everything computed here is ``decimal(38,10)`` (:data:`WIDE`), wide enough
that the running cost *H* of a holding and the exact fractions it produces round correctly to the
cent when they are finally written out (half-up, 2 places, by the exports). Neither DuckDB nor
Ibis divides decimals exactly (``/`` yields a double), so the few divisions the rules need
(average cost, the cost of a sale, a 20-day mean) go through :func:`with_quotients`, which
corrects a double's estimate with exact decimal arithmetic, and only rows that need one divide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Sequence

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

# --- types ---------------------------------------------------------------------------------------

#: Scale of every computed amount: enough that a running cost carried for years still rounds to
#: the cent like the exact fraction it stands for (COUNTERS.md: "exact decimals, rounded half-up to
#: 2 places only when written out").
SCALE = 10
#: Computed money, costs and averages.
WIDE = dt.Decimal(38, SCALE)
#: Cash as the counters state it (balances and flows are in cents).
CASH = dt.Decimal(38, 2)
#: Operand types for products. Spark sizes a product as p1 + p2 + 1 and drops scale beyond 38;
#: these keep every product within 38 digits on both engines (H < 10**16 yuan, q < 10**11).
_MONEY_OPERAND = dt.Decimal(26, SCALE)
_QTY_OPERAND = dt.Decimal(11, 0)
#: One unit of the last place, 10**-SCALE yuan.
_ONE_UNIT = ibis.literal(Decimal(1).scaleb(-SCALE), type=WIDE)

#: Repo (回购) is valued at 100 yuan per unit, whatever its quote (COUNTERS.md, bond_value).
REPO_UNIT_VALUE = Decimal(100)
#: avg_assets_20d looks back this many trading days, ending on d (COUNTERS.md, "Per customer").
AVG_ASSETS_DAYS = 20
#: v1 computes accounts in this currency only (COUNTERS.md, "Base indicators").
BASE_CURRENCY = "CNY"

#: The base indicators, in the order of the table in COUNTERS.md; the export writes them so.
INDICATORS: tuple[str, ...] = (
    "cash_balance",
    "bank_in",
    "bank_out",
    "securities_in_value",
    "securities_out_value",
    "stock_value",
    "fund_value",
    "bond_value",
    "debt",
    "total_assets",
    "net_assets",
    "realized_pnl",
    "interest_base",
    "trade_amount",
    "trade_count",
    "commission",
    "net_commission",
    "frozen_balance",
)
#: Indicators that are counts, not money.
COUNT_INDICATORS = frozenset({"trade_count"})

#: Security types by market-value bucket (COUNTERS.md, stock_value / fund_value / bond_value).
STOCK_TYPES = ("stock",)
FUND_TYPES = ("fund", "etf", "lof")
BOND_TYPES = ("bond", "convertible", "repo")

# --- qualified customer pools (DOMAIN.md, "Qualified customer pools") ------------------------------
# Plain constants, kept equal to ``customers.choices.Pool`` / ``PoolReason`` (a test checks it).

#: The pools, in the order the pools export writes them.
POOLS: tuple[str, ...] = ("margin", "chinext", "star", "bse", "hk_connect", "options")
REASON_ACCOUNT_AGE = "account_age"
REASON_ASSETS = "assets"
REASON_EXPERIENCE = "experience"
REASON_INSUFFICIENT_HISTORY = "insufficient_history"
REASON_KNOWLEDGE_TEST = "knowledge_test"
REASON_RISK_LEVEL = "risk_level"
REASON_STATUS = "status"
#: Every reason, sorted: the order a "no" lists its reasons in.
POOL_REASONS: tuple[str, ...] = tuple(
    sorted(
        (
            REASON_ACCOUNT_AGE,
            REASON_ASSETS,
            REASON_EXPERIENCE,
            REASON_INSUFFICIENT_HISTORY,
            REASON_KNOWLEDGE_TEST,
            REASON_RISK_LEVEL,
            REASON_STATUS,
        )
    )
)
#: Minimum 20-day average pool assets per pool, yuan.
POOL_MIN_ASSETS: dict[str, Decimal] = {
    "margin": Decimal(500_000),
    "chinext": Decimal(100_000),
    "star": Decimal(500_000),
    "bse": Decimal(500_000),
    "hk_connect": Decimal(500_000),
    "options": Decimal(500_000),
}
#: Pools whose asset condition does not apply to institutions (BSE: "institutions: none").
POOLS_NO_ASSETS_FOR_INSTITUTIONS = frozenset({"bse"})
#: Pools that need ≥ :data:`POOL_EXPERIENCE_MONTHS` of trading experience.
POOLS_NEEDING_EXPERIENCE = frozenset({"chinext", "star", "bse"})
#: The average of pool assets is over this many trading days ending D; fewer → not eligible.
POOL_HISTORY_DAYS = 20
POOL_EXPERIENCE_MONTHS = 24
#: margin: the customer open ≥ 6 months; options: a credit account open ≥ 6 months.
POOL_ACCOUNT_AGE_MONTHS = 6
#: "risk level ≥ C4" (C0 is the lowest category, below C1).
POOL_MARGIN_RISK_LEVELS = ("C4", "C5")
PROFESSIONAL_CLASSES = ("professional_i", "professional_ii", "professional_iii")
#: A customer in one of these statuses is never eligible.
POOL_BLOCKING_STATUSES = ("frozen", "lost", "closed")
INSTITUTION = "institution"
#: The CRM knowledge test that the options pool needs.
OPTIONS_KNOWLEDGE_TEST = "options"

_POSITION_KEY = ("counter", "fund_account", "exchange", "security_code")
_SECURITY_KEY = ("exchange", "security_code")

# --- snapshot schemas (what the runner writes, one partition per trade_date) ----------------------

POSITIONS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "counter": "string",
        "fund_account": "string",
        "exchange": "string",
        "security_code": "string",
        "quantity": "int64",
        "cost": WIDE,
        "average_cost": WIDE,
    }
)
CLOSES_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "exchange": "string",
        "security_code": "string",
        "security_type": "string",
        "close_price": "decimal(18, 4)",
        "close_date": "date",
        "quoted": "boolean",
    }
)
ACCOUNTS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "counter": "string",
        "fund_account": "string",
        "customer_no": "string",
        "branch_code": "string",
        "account_type": "string",
        "currency": "string",
        "open_date": "date",
        "status": "string",
        "previous_cash_balance": CASH,
        "cash_balance": CASH,
        "cash_flow_total": CASH,
        "cash_flow_count": "int64",
        "bank_in": CASH,
        "bank_out": CASH,
        "frozen_balance": CASH,
    }
)
ACCOUNT_INDICATORS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "counter": "string",
        "fund_account": "string",
        "customer_no": "string",
        "account_type": "string",
        **{name: ("int64" if name in COUNT_INDICATORS else WIDE) for name in INDICATORS},
    }
)
CUSTOMER_INDICATORS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "customer_no": "string",
        **{name: ("int64" if name in COUNT_INDICATORS else WIDE) for name in INDICATORS},
        "avg_assets_20d": WIDE,
        "avg_assets_20d_days": "int64",
        "avg_assets_20d_partial": "boolean",
        #: total_assets of normal accounts + net_assets of credit accounts (DOMAIN.md, pools)
        "pool_assets": WIDE,
    }
)
#: The customer master carried day to day: what the pools need of the counters' customers.
CUSTOMERS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "customer_no": "string",
        "counter": "string",
        "customer_type": "string",
        #: the counters' customer fields the segmentation and the tags read (carried like the rest)
        "branch_code": "string",
        "birth_date": "date",
        "gender": "string",
        "status": "string",
        "open_date": "date",
        #: the counter's field; null when it says 0 or empty
        "first_trade_date": "date",
        #: the first trading day with a trade of one of the customer's accounts
        "first_trade_seen": "date",
        "risk_level": "string",
        "risk_expiry": "date",
        #: the day the counter's risk_level or risk_expiry last changed (first seen: that day)
        "risk_updated_on": "date",
        "investor_class": "string",
        #: the day the counter's investor_class last changed (first seen: that day)
        "class_updated_on": "date",
    }
)
#: One row per customer (with a CNY account on D) and pool.
POOLS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "customer_no": "string",
        "pool": "string",
        "eligible": "boolean",
        #: failed reasons, sorted, joined by ";" (empty when eligible)
        "reasons": "string",
        #: mean pool assets over the days of the window the customer has (``history_days``)
        "avg_pool_assets": WIDE,
        "history_days": "int64",
    }
)
RECONCILIATION_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "kind": "string",
        "counter": "string",
        "fund_account": "string",
        "exchange": "string",
        "security_code": "string",
        "expected": CASH,
        "found": CASH,
    }
)
DQ_WARNINGS_SCHEMA = ibis.schema(
    {
        "trade_date": "date",
        "kind": "string",
        "counter": "string",
        "fund_account": "string",
        "exchange": "string",
        "security_code": "string",
        "detail": "string",
    }
)

#: Reconciliation break kinds (COUNTERS.md, "Reconciliation" and "Average cost").
BREAK_POSITION = "position"
BREAK_CASH = "cash"
BREAK_OVERSELL = "oversell"

#: Data-quality warning kinds.
DQ_NEVER_QUOTED = "never_quoted"
DQ_UNKNOWN_SECURITY = "unknown_security"
DQ_NON_CNY_ACCOUNT = "non_cny_account"
DQ_OPENING_COST_MISSING = "opening_cost_missing"
DQ_INITIAL_DAY_SELL = "initial_day_sell"


# --- exact arithmetic ----------------------------------------------------------------------------


def _wide(value: ir.Value) -> ir.DecimalValue:
    return value.cast(WIDE)


def _zero(dtype: dt.DataType = WIDE) -> ir.Value:
    return ibis.literal(0).cast(dtype)


def times_quantity(money: ir.DecimalValue, quantity: ir.IntegerValue) -> ir.DecimalValue:
    """``money × quantity`` exactly, as :data:`WIDE` (a product never loses a digit)."""
    return (money.cast(_MONEY_OPERAND) * quantity.cast(_QTY_OPERAND)).cast(WIDE)


def with_quotients(table: ir.Table, **quotients: tuple[ir.Value, ir.Value]) -> ir.Table:
    """Add ``name = numerator / denominator``, exactly, rounded half-up to :data:`SCALE` places.

    Neither engine divides decimals exactly (DuckDB's ``/`` yields a double), so a double gives
    an estimate and exact decimal arithmetic corrects it: the remainder ``n − k·d`` is exact; a
    second estimate (of the remainder's quotient, which is small) brings ``k`` within one unit of
    10**-SCALE; a last step puts twice the remainder in ``[−d, d)`` units, which is half-up
    rounding. A double is only ever an estimate of a quotient: no amount is stored or compared as
    one. Half-up is away from zero, like the exports. Each step is its own projection so that the
    engine computes it once per row, and the work stays in :data:`WIDE`, because rescaling a
    38-digit decimal (to integer units, say) costs ten times more on DuckDB.

    Parameters
    ----------
    table
        The table to extend.
    **quotients
        ``name=(numerator, denominator)``, expressions on ``table``: a decimal with at most
        :data:`SCALE` places below 10**27, and an integer. Where the denominator is 0 the result
        is 0, which is the rule "when Q reaches 0, H is 0" (COUNTERS.md, "Average cost").

    Returns
    -------
    ``table`` with one :data:`WIDE` column per quotient.
    """
    names = list(quotients)
    first: dict[str, ir.Value] = {}
    for k, (numerator, denominator) in quotients.items():
        first[f"_n_{k}"] = numerator.abs().cast(WIDE)
        first[f"_d_{k}"] = ibis.ifelse(denominator == 0, 1, denominator).cast("int64")
        first[f"_neg_{k}"] = numerator < 0
        first[f"_none_{k}"] = denominator == 0
    t = table.mutate(**first)

    def estimate(t: ir.Table, k: str, numerator: ir.Value) -> ir.DecimalValue:
        # A double's estimate of numerator / d, as a decimal: 2**-52 relative.
        return (numerator.cast("float64") / t[f"_d_{k}"].cast("float64")).cast(WIDE)

    def remainder(t: ir.Table, k: str, quotient: str) -> ir.DecimalValue:
        # n − k·d, exact.
        return (t[f"_n_{k}"] - t[f"_{quotient}_{k}"] * t[f"_d_{k}"]).cast(WIDE)

    t = t.mutate(**{f"_k0_{k}": estimate(t, k, t[f"_n_{k}"]) for k in names})
    t = t.mutate(
        **{
            f"_k1_{k}": (t[f"_k0_{k}"] + estimate(t, k, remainder(t, k, "k0"))).cast(WIDE)
            for k in names
        }
    )
    t = t.mutate(
        **{f"_r_{k}": (remainder(t, k, "k1") * 2).cast(WIDE) for k in names},
        **{f"_u_{k}": (t[f"_d_{k}"].cast(_QTY_OPERAND) * _ONE_UNIT).cast(WIDE) for k in names},
    )
    # Half-up: the rounded quotient leaves twice the remainder in [−d, d) units of the last place.
    t = t.mutate(
        **{
            f"_k_{k}": (
                t[f"_k1_{k}"]
                + ibis.cases(
                    (t[f"_r_{k}"] < -t[f"_u_{k}"], -_ONE_UNIT),
                    (t[f"_r_{k}"] >= t[f"_u_{k}"], _ONE_UNIT),
                    else_=_zero(),
                )
            ).cast(WIDE)
            for k in names
        }
    )
    t = t.mutate(
        **{
            k: ibis.ifelse(
                t[f"_none_{k}"], _zero(), ibis.ifelse(t[f"_neg_{k}"], -t[f"_k_{k}"], t[f"_k_{k}"])
            ).cast(WIDE)
            for k in names
        }
    )
    return t.select(*table.columns, *names)


# --- small helpers --------------------------------------------------------------------------------


def _conform(table: ir.Table, schema: ibis.Schema) -> ir.Table:
    """Select ``schema``'s columns from ``table`` in order, cast to its types (for unions)."""
    return table.select(**{name: table[name].cast(dtype) for name, dtype in schema.items()})


def _nullable(table: ir.Table | None) -> ir.Table | None:
    """The same table with every column nullable: unions need equal schemas, and a table read
    from Parquet marks its key columns NOT NULL where a computed one does not."""
    if table is None:
        return None
    schema = table.schema()
    if all(dtype.nullable for dtype in schema.types):
        return table
    return table.select(**{n: table[n].cast(t.copy(nullable=True)) for n, t in schema.items()})


def _fees(trades: ir.Table) -> ir.DecimalValue:
    """All fees of a trade (COUNTERS.md: "amount + all fees"; "amount − all fees of the sell")."""
    return _wide(
        trades.commission
        + trades.stamp_tax
        + trades.transfer_fee
        + trades.exchange_fee
        + trades.other_fee
    )


def _with_close(flows: ir.Table, closes: ir.Table) -> ir.Table:
    """Attach the close of d and the security type to rows keyed by exchange and security code."""
    joined = flows.left_join(closes, list(_SECURITY_KEY))
    return joined.select(
        *[flows[c] for c in flows.columns],
        close_price=closes.close_price.fill_null(0).cast("decimal(18, 4)"),
        security_type=closes.security_type,
    )


# --- Close price ----------------------------------------------------------------------------------


def close_prices(
    *,
    quotes: ir.Table,
    securities: ir.Table,
    day: date,
    previous: ir.Table | None = None,
) -> ir.Table:
    """Close price of every known security on ``day`` (COUNTERS.md, "Close price").

    The close on d; with no quote on d (suspended), the latest earlier close; never quoted, 0
    (``quoted`` is false and :func:`dq_warnings` reports it where the security is used).

    Parameters
    ----------
    quotes
        Quote rows (``exchange, security_code, close_price, trade_date``) of d, or any history
        of them; rows after ``day`` are ignored.
    securities
        Security master rows (``exchange, security_code, security_type``) of d, from every
        counter.
    day
        The trading day d.
    previous
        The result of this function for the previous trading day, so that a day only reads its
        own quotes: it carries every earlier close and every security ever seen.

    Returns
    -------
    ``CLOSES_SCHEMA``: one row per security, with ``close_date`` the day of the close used.
    """
    # Tables read from Parquet mark keys NOT NULL; unions below need equal schemas.
    quotes = _nullable(quotes)
    securities = _nullable(securities)
    previous = _nullable(previous)
    d = ibis.literal(day)
    todays = quotes.filter(quotes.trade_date <= d).select(
        *_SECURITY_KEY,
        close_price=quotes.close_price.cast("decimal(18, 4)"),
        close_date=quotes.trade_date.cast("date"),
    )
    if previous is not None:
        carried = previous.filter(previous.close_date.notnull())
        todays = todays.union(
            carried.select(
                *_SECURITY_KEY,
                close_price=carried.close_price.cast("decimal(18, 4)"),
                close_date=carried.close_date.cast("date"),
            )
        )
    # Two counters may quote the same security on the same day: take one deterministically.
    per_day = todays.group_by([*_SECURITY_KEY, "close_date"]).aggregate(
        close_price=todays.close_price.min()
    )
    latest = per_day.group_by(list(_SECURITY_KEY)).aggregate(
        close_price=per_day.close_price.argmax(per_day.close_date),
        close_date=per_day.close_date.max(),
    )
    types = securities.select(*_SECURITY_KEY, security_type=securities.security_type)
    if previous is not None:
        # A security no longer in today's master (delisted) keeps the type it was last seen with.
        known = previous.filter(previous.security_type.notnull())
        older = known.anti_join(types, list(_SECURITY_KEY)).select(
            *_SECURITY_KEY, security_type=known.security_type
        )
        types = types.union(older)
    types = types.group_by(list(_SECURITY_KEY)).aggregate(security_type=types.security_type.min())
    keys = types.select(*_SECURITY_KEY).union(latest.select(*_SECURITY_KEY), distinct=True)
    joined = keys.left_join(types, list(_SECURITY_KEY)).left_join(latest, list(_SECURITY_KEY))
    result = joined.select(
        trade_date=d,
        exchange=keys.exchange,
        security_code=keys.security_code,
        security_type=types.security_type,
        close_price=latest.close_price.fill_null(0),
        close_date=latest.close_date,
        quoted=latest.close_date.notnull(),
    )
    return _conform(result, CLOSES_SCHEMA)


# --- Average cost ---------------------------------------------------------------------------------


#: Per holding that moved on the day (a trade or a security transfer), what :func:`position_step`
#: worked out (the runner materializes it once).
STEP_DETAIL_SCHEMA = ibis.schema(
    {
        "counter": "string",
        "fund_account": "string",
        "exchange": "string",
        "security_code": "string",
        "q0": "int64",
        "h0": WIDE,
        "q_sell": "int64",
        "q_out": "int64",
        "proceeds": WIDE,
        "n_sells": "int64",
        "sold_cost": WIDE,
        "quantity": "int64",
        "cost": WIDE,
        "average_cost_before": WIDE,
        "changed": "boolean",
    }
)


@dataclass(frozen=True)
class PositionStep:
    """What one day does to the holdings (:func:`position_step`).

    ``detail`` holds, per holding that moved on the day, the start-of-day Q and H, what was sold
    and transferred out, the cost of what was sold and the end-of-day Q and H; the holdings that
    did not move are ``previous``'s as they were. The three results derive from them, so a
    runner that materializes ``detail`` once (``dataclasses.replace``) computes the step once.
    """

    detail: ir.Table
    #: the start-of-day holdings the step applies to (the opening counters' left out)
    previous: ir.Table
    day: date
    #: :func:`opening_positions` of the counters whose initial day is d, if any.
    opening: ir.Table | None = None

    @property
    def positions(self) -> ir.Table:
        """End-of-day holdings: quantity Q, cost H, average cost H/Q (``POSITIONS_SCHEMA``)."""
        held = self.detail.filter(self.detail.quantity != 0)
        # Only a holding that moved today needs a division; the others keep yesterday's average.
        moved = with_quotients(
            held.filter(held.changed), average_cost=(held.cost, held.quantity)
        )
        still = held.filter(~held.changed).mutate(average_cost=held.average_cost_before)
        previous = self.previous
        untouched = previous.filter(previous.quantity != 0).anti_join(self.detail, list(_POSITION_KEY))
        day = ibis.literal(self.day)
        positions = ibis.union(
            _conform(moved.mutate(trade_date=day), POSITIONS_SCHEMA),
            _conform(still.mutate(trade_date=day), POSITIONS_SCHEMA),
            _conform(untouched.mutate(trade_date=day), POSITIONS_SCHEMA),
            distinct=False,
        )
        if self.opening is not None:
            positions = positions.union(_conform(self.opening, POSITIONS_SCHEMA))
        return positions

    @property
    def realized(self) -> ir.Table:
        """Realized profit of the day's sells: ``counter, fund_account, realized_pnl``."""
        sold = self.detail.filter(self.detail.n_sells > 0)
        return sold.group_by(["counter", "fund_account"]).aggregate(
            realized_pnl=(sold.proceeds - sold.sold_cost).sum().cast(WIDE)
        )

    @property
    def oversold(self) -> ir.Table:
        """Sells and transfers out beyond the start-of-day quantity (``RECONCILIATION_SCHEMA``)."""
        short = self.detail.filter(self.detail.q_sell + self.detail.q_out > self.detail.q0)
        oversold = short.select(
            trade_date=ibis.literal(self.day),
            kind=ibis.literal(BREAK_OVERSELL),
            counter=short.counter,
            fund_account=short.fund_account,
            exchange=short.exchange,
            security_code=short.security_code,
            expected=short.q0,
            found=short.q_sell + short.q_out,
        )
        return _conform(oversold, RECONCILIATION_SCHEMA)


def opening_positions(*, positions: ir.Table, counters: Sequence[str], day: date) -> ir.Table:
    """Holdings on a counter's initial day: Q and H = Q × cost_price (COUNTERS.md, "Average cost").

    Only the positions of ``counters`` (those whose initial day is d) are read: on any later day
    the counter's cost prices are ignored. A missing cost price counts as 0 (and
    :func:`dq_warnings` reports it).
    """
    positions = _nullable(positions)
    held = positions.filter(positions.counter.isin(list(counters)) & (positions.quantity != 0))
    held = held.mutate(cost=times_quantity(held.cost_price.fill_null(0), held.quantity))
    # A holding listed twice on the same day is one holding.
    grouped = held.group_by(list(_POSITION_KEY)).aggregate(
        quantity=held.quantity.sum().cast("int64"), cost=held.cost.sum().cast(WIDE)
    )
    averaged = with_quotients(grouped, average_cost=(grouped.cost, grouped.quantity))
    return _conform(averaged.mutate(trade_date=ibis.literal(day)), POSITIONS_SCHEMA)


_MOVE_COLUMNS = ibis.schema(
    {
        "counter": "string",
        "fund_account": "string",
        "exchange": "string",
        "security_code": "string",
        "q_sell": "int64",
        "q_out": "int64",
        "proceeds": WIDE,
        "q_in": "int64",
        "h_in": WIDE,
    }
)


def _move_rows(table: ir.Table, **values: ir.Value) -> ir.Table:
    """One branch of the union of the day's moves that position_step aggregates: unnamed
    columns are zero."""
    columns = {name: table[name] for name in _POSITION_KEY}
    for name, dtype in _MOVE_COLUMNS.items():
        if name not in _POSITION_KEY:
            columns[name] = values.get(name, _zero(dtype))
    return _conform(table.select(**columns), _MOVE_COLUMNS)


def position_step(
    *,
    previous: ir.Table,
    trades: ir.Table,
    transfers: ir.Table,
    closes: ir.Table,
    day: date,
    opening: ir.Table | None = None,
    opening_counters: Sequence[str] = (),
) -> PositionStep:
    """Carry holdings from the end of the previous day to the end of d (COUNTERS.md, "Average cost")

    Per fund account and security, with Q and H at the start of the day: sells and transfers out
    come first, each removing q and q × H/Q (so the average cost does not move); then buys add q
    and amount + all fees, and transfers in add q and q × close of d. When Q reaches 0, H is 0.
    A sell (or transfer out) beyond the start-of-day quantity is a reconciliation break
    (``oversold``); the position then stops at 0 rather than going negative, and only the
    quantity that was there is costed. A holding nothing moved keeps its Q, H and average cost.

    Realized profit (COUNTERS.md, realized_pnl): Σ over sells of (amount − all fees) −
    q × average cost at the end of the previous day.

    Parameters
    ----------
    previous
        End-of-previous-day holdings (``POSITIONS_SCHEMA``, one row per holding), as computed
        by this function.
    trades, transfers
        The day's trades and security transfers (standard flow tables).
    closes
        :func:`close_prices` of d (transfers in are valued at the close of d).
    day
        The trading day d.
    opening
        :func:`opening_positions` of the counters whose initial day is d.
    opening_counters
        Those counters. Their holdings come from ``opening`` alone: their positions file is the
        end of the initial day, so that day's trades are already in it and are not applied again.
    """
    # Tables read from Parquet mark keys NOT NULL; unions below need equal schemas.
    previous = _nullable(previous)
    trades = _nullable(trades)
    transfers = _nullable(transfers)
    closes = _nullable(closes)
    opening = _nullable(opening)
    if opening_counters:
        counters = list(opening_counters)
        trades = trades.filter(~trades.counter.isin(counters))
        transfers = transfers.filter(~transfers.counter.isin(counters))
        previous = previous.filter(~previous.counter.isin(counters))
    sells = trades.filter(trades.side == "sell")
    buys = trades.filter(trades.side == "buy")
    outs = transfers.filter(transfers.direction == "out")
    ins = _with_close(transfers.filter(transfers.direction == "in"), closes)
    rows = ibis.union(
        _move_rows(sells, q_sell=sells.quantity, proceeds=_wide(sells.amount) - _fees(sells)),
        _move_rows(outs, q_out=outs.quantity),
        _move_rows(buys, q_in=buys.quantity, h_in=_wide(buys.amount) + _fees(buys)),
        _move_rows(ins, q_in=ins.quantity, h_in=times_quantity(ins.close_price, ins.quantity)),
        distinct=False,
    )
    # The day's moves per holding (a few hundred thousand at a million customers), then the
    # start of day of those holdings only: the millions that did not move are not touched.
    moves = rows.group_by(list(_POSITION_KEY)).aggregate(
        q_sell=rows.q_sell.sum().cast("int64"),
        q_out=rows.q_out.sum().cast("int64"),
        proceeds=rows.proceeds.sum().cast(WIDE),
        q_in=rows.q_in.sum().cast("int64"),
        h_in=rows.h_in.sum().cast(WIDE),
        n_sells=(rows.q_sell > 0).sum().cast("int64"),
    )
    start = previous.select(
        *_POSITION_KEY, q0=previous.quantity, h0=previous.cost, a0=previous.average_cost
    )
    step = moves.left_join(start, list(_POSITION_KEY))
    step = step.select(
        *[moves[k] for k in _POSITION_KEY],
        q0=step.q0.fill_null(0).cast("int64"),
        h0=step.h0.fill_null(0).cast(WIDE),
        a0=step.a0.fill_null(0).cast(WIDE),
        q_sell=step.q_sell,
        q_out=step.q_out,
        proceeds=step.proceeds,
        q_in=step.q_in,
        h_in=step.h_in,
        n_sells=step.n_sells,
    )
    # Sells are covered before transfers out when the start-of-day quantity is short.
    step = step.mutate(
        sold=ibis.least(step.q_sell, step.q0),
        q_mid=step.q0 - ibis.least(step.q_sell + step.q_out, step.q0),
    )
    # Only holdings with something removed divide: each removal costs q × H/Q, and the rest keeps
    # H × (Q − q)/Q, in one division so that H stays as exact as its 10 places allow.
    removing = step.filter(step.q_sell + step.q_out > 0)
    removing = with_quotients(
        removing,
        sold_cost=(times_quantity(removing.h0, removing.sold), removing.q0),
        h_mid=(times_quantity(removing.h0, removing.q_mid), removing.q0),
    )
    keeping = step.filter(step.q_sell + step.q_out == 0).mutate(sold_cost=_zero(), h_mid=step.h0)
    columns = [*step.columns, "sold_cost", "h_mid"]
    step = ibis.union(removing.select(*columns), keeping.select(*columns), distinct=False)
    step = step.mutate(q_end=step.q_mid + step.q_in, h_end_raw=(step.h_mid + step.h_in).cast(WIDE))
    step = step.mutate(h_end=ibis.ifelse(step.q_end == 0, _zero(), step.h_end_raw))

    detail = step.mutate(
        quantity=step.q_end,
        cost=step.h_end,
        average_cost_before=step.a0,
        changed=(step.q_sell + step.q_out + step.q_in) > 0,
    )
    return PositionStep(
        detail=_conform(detail, STEP_DETAIL_SCHEMA), previous=previous, day=day, opening=opening
    )


# --- accounts and cash ----------------------------------------------------------------------------


def accounts_step(
    *,
    previous: ir.Table | None,
    fund_accounts: ir.Table,
    cash_flows: ir.Table,
    freezes: ir.Table,
    day: date,
) -> ir.Table:
    """Every fund account known on d, with its cash (COUNTERS.md, cash_balance … frozen_balance).

    The account master is the previous day's with d's new or changed rows replacing earlier ones
    (the later line wins within a day). ``cash_balance`` is the ``balance_after`` of the account's
    last cash flow of d (highest serial_no), with no flow the previous day's, and 0 until the
    account has one. ``frozen_balance`` is the running sum of freeze amounts.

    Returns
    -------
    ``ACCOUNTS_SCHEMA``: the master fields plus ``previous_cash_balance``, ``cash_flow_total``
    and ``cash_flow_count`` (for the cash reconciliation), ``bank_in`` and ``bank_out``.
    """
    # Tables read from Parquet mark keys NOT NULL; unions below need equal schemas.
    previous = _nullable(previous)
    fund_accounts = _nullable(fund_accounts)
    cash_flows = _nullable(cash_flows)
    freezes = _nullable(freezes)
    master_cols = [
        "counter", "fund_account", "customer_no", "branch_code",
        "account_type", "currency", "open_date", "status",
    ]
    latest_line = fund_accounts.group_by("fund_account").aggregate(line=fund_accounts.line.max())
    todays = fund_accounts.semi_join(latest_line, ["fund_account", "line"]).select(*master_cols)
    if previous is not None:
        # The previous day's accounts (a million rows) bring their balances along: those the day
        # did not re-deliver as they are, those it did (a few thousand) under the day's row —
        # without joining the million accounts to the million of the day before.
        before = previous.select(
            *master_cols,
            prev_cash=previous.cash_balance.cast(CASH),
            prev_frozen=previous.frozen_balance.cast(CASH),
        )
        balances = before.select("fund_account", "prev_cash", "prev_frozen").semi_join(todays, "fund_account")
        redelivered = todays.left_join(balances, "fund_account")
        master = ibis.union(
            before.anti_join(todays, "fund_account"),
            redelivered.select(
                *[todays[c] for c in master_cols],
                prev_cash=balances.prev_cash.fill_null(0),
                prev_frozen=balances.prev_frozen.fill_null(0),
            ),
            distinct=False,
        )
    else:
        master = todays.mutate(prev_cash=_zero(CASH), prev_frozen=_zero(CASH))

    flows = cash_flows.group_by("fund_account").aggregate(
        last_balance=cash_flows.balance_after.argmax(cash_flows.serial_no).cast(CASH),
        flow_total=cash_flows.amount.sum().cast(CASH),
        flow_count=cash_flows.count().cast("int64"),
        bank_in=cash_flows.amount.sum(where=cash_flows.kind == "bank_in").cast(CASH),
        bank_out=(-cash_flows.amount).sum(where=cash_flows.kind == "bank_out").cast(CASH),
    )
    frozen = freezes.group_by("fund_account").aggregate(
        frozen_today=freezes.amount.sum().cast(CASH)
    )

    joined = master.left_join(flows, "fund_account").left_join(frozen, "fund_account")
    prev_cash, prev_frozen = master.prev_cash, master.prev_frozen  # 0 for an account new on d
    result = joined.select(
        trade_date=ibis.literal(day),
        **{c: master[c] for c in master_cols},
        previous_cash_balance=prev_cash,
        cash_balance=flows.last_balance.coalesce(prev_cash),
        cash_flow_total=flows.flow_total.fill_null(0),
        cash_flow_count=flows.flow_count.fill_null(0),
        bank_in=flows.bank_in.fill_null(0),
        bank_out=flows.bank_out.fill_null(0),
        frozen_balance=(prev_frozen + frozen.frozen_today.fill_null(0)).cast(CASH),
    )
    return _conform(result, ACCOUNTS_SCHEMA)


# --- Base indicators per fund account -------------------------------------------------------------

#: What an account's holdings sum to (by security type), and what its day's flows sum to
#: (``account_indicators``).
_HOLDING_SUMS = {"stock_value": STOCK_TYPES, "fund_value": FUND_TYPES, "bond_value": BOND_TYPES}
_FLOW_SUMS = ibis.schema(
    {
        "fund_account": "string",
        "securities_in_value": WIDE,
        "securities_out_value": WIDE,
        "debt": WIDE,
        "realized_pnl": WIDE,
        "trade_amount": WIDE,
        "trade_count": "int64",
        "commission": WIDE,
        "net_commission": WIDE,
    }
)


def _account_rows(table: ir.Table, **values: ir.Value) -> ir.Table:
    """One branch of the union of an account's day flows: unnamed sums are zero."""
    columns: dict[str, ir.Value] = {"fund_account": table.fund_account}
    for name, dtype in _FLOW_SUMS.items():
        if name != "fund_account":
            columns[name] = values.get(name, _zero(dtype))
    return _conform(table.select(**columns), _FLOW_SUMS)


def market_value(
    *, quantity: ir.IntegerValue, close_price: ir.DecimalValue, security_type: ir.StringValue
) -> ir.DecimalValue:
    """quantity × close, repo at 100 yuan per unit whatever its quote (COUNTERS.md, bond_value)."""
    price = ibis.ifelse(
        security_type == "repo",
        ibis.literal(REPO_UNIT_VALUE).cast("decimal(18, 4)"),
        close_price.cast("decimal(18, 4)"),
    )
    return times_quantity(price, quantity)


def account_indicators(
    *,
    accounts: ir.Table,
    trades: ir.Table,
    transfers: ir.Table,
    positions: ir.Table,
    margin_debts: ir.Table,
    closes: ir.Table,
    realized: ir.Table,
    day: date,
    previous_day: date | None,
) -> ir.Table:
    """The base indicators of every CNY fund account on d (COUNTERS.md, "Base indicators").

    Market values come from the counter's positions file of d (the counter's figures are the ones
    used for market value), each at :func:`close_prices` of d; repo at 100 per unit. Debt is
    financing balance + short quantity × close + interest payable. interest_base is the previous
    trading day's cash_balance × the calendar days strictly between it and d, plus d's.

    Parameters
    ----------
    accounts
        :func:`accounts_step` of d. Accounts in other currencies are left out (and reported by
        :func:`dq_warnings`).
    trades, transfers, positions, margin_debts
        The day's standard flow tables; ``positions`` is the counter's end-of-day holdings.
    closes
        :func:`close_prices` of d.
    realized
        :attr:`PositionStep.realized` of d.
    day, previous_day
        d and the trading day before it (None on the first day of the calendar).

    Returns
    -------
    ``ACCOUNT_INDICATORS_SCHEMA``, one row per CNY account known on d.
    """
    # Tables read from Parquet mark keys NOT NULL; unions below need equal schemas.
    accounts = _nullable(accounts)
    trades = _nullable(trades)
    transfers = _nullable(transfers)
    positions = _nullable(positions)
    margin_debts = _nullable(margin_debts)
    closes = _nullable(closes)
    realized = _nullable(realized)
    valued = _with_close(positions, closes)
    value = market_value(
        quantity=valued.quantity, close_price=valued.close_price, security_type=valued.security_type
    )
    moved = _with_close(transfers, closes)
    moved_value = times_quantity(moved.close_price, moved.quantity)
    debts = _with_close(margin_debts, closes)
    # The holdings (millions of rows) sum three values; the day's flows (far fewer) the rest.
    holdings = valued.group_by("fund_account").aggregate(
        **{
            name: ibis.ifelse(valued.security_type.isin(types), value, _zero()).sum().cast(WIDE)
            for name, types in _HOLDING_SUMS.items()
        }
    )
    rows = ibis.union(
        _account_rows(
            moved,
            securities_in_value=ibis.ifelse(moved.direction == "in", moved_value, _zero()),
            securities_out_value=ibis.ifelse(moved.direction == "out", moved_value, _zero()),
        ),
        _account_rows(
            debts,
            debt=(
                _wide(debts.financing_balance)
                + times_quantity(debts.close_price, debts.short_quantity)
                + _wide(debts.interest_payable)
            ),
        ),
        _account_rows(realized, realized_pnl=realized.realized_pnl),
        _account_rows(
            trades,
            trade_amount=_wide(trades.amount),
            trade_count=ibis.literal(1).cast("int64"),
            commission=_wide(trades.commission),
            net_commission=_wide(trades.commission - trades.exchange_fee),
        ),
        distinct=False,
    )
    flows = rows.group_by("fund_account").aggregate(
        **{name: rows[name].sum().cast(dtype) for name, dtype in _FLOW_SUMS.items() if name != "fund_account"}
    )
    cny = accounts.filter(accounts.currency == BASE_CURRENCY)
    joined = cny.left_join(holdings, "fund_account").left_join(flows, "fund_account")
    filled = {
        **{name: holdings[name].fill_null(0).cast(WIDE) for name in _HOLDING_SUMS},
        **{
            name: flows[name].fill_null(0).cast(dtype)
            for name, dtype in _FLOW_SUMS.items()
            if name != "fund_account"
        },
    }
    gap_days = (day - previous_day).days - 1 if previous_day is not None else 0
    cash = _wide(cny.cash_balance)
    total = (cash + filled["stock_value"] + filled["fund_value"] + filled["bond_value"]).cast(WIDE)
    interest_base = (
        times_quantity(_wide(cny.previous_cash_balance), ibis.literal(gap_days)) + cash
    ).cast(WIDE)
    values = {
        "cash_balance": cash,
        "bank_in": _wide(cny.bank_in),
        "bank_out": _wide(cny.bank_out),
        **filled,
        "total_assets": total,
        "net_assets": (total - filled["debt"]).cast(WIDE),
        "interest_base": interest_base,
        "frozen_balance": _wide(cny.frozen_balance),
    }
    result = joined.select(
        trade_date=ibis.literal(day),
        counter=cny.counter,
        fund_account=cny.fund_account,
        customer_no=cny.customer_no,
        account_type=cny.account_type,
        **{name: values[name] for name in INDICATORS},
    )
    return _conform(result, ACCOUNT_INDICATORS_SCHEMA)


# --- Per customer ---------------------------------------------------------------------------------


def customer_indicators(
    *,
    account_indicators: ir.Table,
    history: ir.Table | None,
    window: Sequence[date],
    day: date,
) -> ir.Table:
    """The base indicators of every customer with a CNY account on d (COUNTERS.md, "Per customer").

    Each indicator is the sum over the customer's CNY fund accounts, except ``avg_assets_20d``:
    the mean of the customer's total_assets over the last 20 trading days ending d, over the days
    available when fewer (days before the customer had a CNY account are not available), and then
    flagged (``avg_assets_20d_partial``; ``avg_assets_20d_days`` says over how many).

    Parameters
    ----------
    account_indicators
        :func:`account_indicators` of d.
    history
        Earlier customer indicators (at least ``customer_no, trade_date, total_assets``) covering
        the window; rows outside it are ignored. None when there are none.
    window
        The last :data:`AVG_ASSETS_DAYS` trading days ending d, from the trading calendar.
    day
        d.
    """
    # Tables read from Parquet mark keys NOT NULL; unions below need equal schemas.
    account_indicators = _nullable(account_indicators)
    history = _nullable(history)
    acc = account_indicators
    today = acc.group_by("customer_no").aggregate(
        **{
            name: acc[name].sum().cast("int64" if name in COUNT_INDICATORS else WIDE)
            for name in INDICATORS
        },
        # DOMAIN.md, "Qualified customer pools": margin-financed holdings do not count.
        pool_assets=ibis.ifelse(acc.account_type == "credit", acc.net_assets, acc.total_assets)
        .sum()
        .cast(WIDE),
    )
    window_days = sorted(w for w in window if w <= day)[-AVG_ASSETS_DAYS:]
    totals = today.select(
        "customer_no", trade_date=ibis.literal(day), total_assets=today.total_assets
    )
    if history is not None and window_days:
        earlier = history.filter(
            history.trade_date.isin([w for w in window_days if w != day])
        ).select(
            "customer_no",
            trade_date=history.trade_date.cast("date"),
            total_assets=history.total_assets.cast(WIDE),
        )
        totals = totals.union(earlier)
    # One row per customer and day (customer indicators are keyed so, and the sum would count a
    # repeated day twice anyway): counting rows counts the days, without a distinct count.
    means = totals.group_by("customer_no").aggregate(
        assets_sum=totals.total_assets.sum().cast(WIDE),
        days=totals.count().cast("int64"),
    )
    means = with_quotients(means, avg_assets_20d=(means.assets_sum, means.days))
    joined = today.left_join(means, "customer_no")
    result = joined.select(
        trade_date=ibis.literal(day),
        customer_no=today.customer_no,
        **{name: today[name] for name in INDICATORS},
        avg_assets_20d=means.avg_assets_20d,
        avg_assets_20d_days=means.days,
        avg_assets_20d_partial=means.days < AVG_ASSETS_DAYS,
        pool_assets=today.pool_assets,
    )
    return _conform(result, CUSTOMER_INDICATORS_SCHEMA)


# --- Reconciliation -------------------------------------------------------------------------------


def reconciliation(
    *,
    computed: ir.Table,
    counter_positions: ir.Table,
    accounts: ir.Table,
    oversold: ir.Table,
    day: date,
) -> ir.Table:
    """Every difference between flows and counter figures (COUNTERS.md, "Reconciliation").

    Positions computed from the previous day's positions and d's trades and transfers
    (:func:`position_step`) must equal the counter's positions file; yesterday's cash_balance plus
    d's cash flows must equal today's; a sell beyond the start-of-day quantity is a break too.
    Each break is ``kind, counter, fund_account, exchange, security_code, expected, found``
    (quantities for positions, yuan for cash). The counter's figures stay the ones used for
    market value.
    """
    # Tables read from Parquet mark keys NOT NULL; unions below need equal schemas.
    computed = _nullable(computed)
    counter_positions = _nullable(counter_positions)
    accounts = _nullable(accounts)
    oversold = _nullable(oversold)
    schema = ibis.schema(
        {
            "counter": "string",
            "fund_account": "string",
            "exchange": "string",
            "security_code": "string",
            "expected": "int64",
            "found": "int64",
        }
    )
    both = ibis.union(
        _conform(computed.mutate(expected=computed.quantity, found=ibis.literal(0)), schema),
        _conform(
            counter_positions.mutate(expected=ibis.literal(0), found=counter_positions.quantity),
            schema,
        ),
        distinct=False,
    )
    compared = both.group_by(list(_POSITION_KEY)).aggregate(
        expected=both.expected.sum().cast("int64"), found=both.found.sum().cast("int64")
    )
    differ = compared.filter(compared.expected != compared.found)
    positions = differ.select(
        trade_date=ibis.literal(day),
        kind=ibis.literal(BREAK_POSITION),
        counter=differ.counter,
        fund_account=differ.fund_account,
        exchange=differ.exchange,
        security_code=differ.security_code,
        expected=differ.expected,
        found=differ.found,
    )
    expected_cash = (accounts.previous_cash_balance + accounts.cash_flow_total).cast(CASH)
    off = accounts.filter(expected_cash != accounts.cash_balance)
    cash = off.select(
        trade_date=ibis.literal(day),
        kind=ibis.literal(BREAK_CASH),
        counter=off.counter,
        fund_account=off.fund_account,
        exchange=ibis.null().cast("string"),
        security_code=ibis.null().cast("string"),
        expected=(off.previous_cash_balance + off.cash_flow_total).cast(CASH),
        found=off.cash_balance,
    )
    return ibis.union(
        _conform(oversold, RECONCILIATION_SCHEMA),
        _conform(positions, RECONCILIATION_SCHEMA),
        _conform(cash, RECONCILIATION_SCHEMA),
        distinct=False,
    )


# --- Data-quality warnings ------------------------------------------------------------------------


def _warning(
    table: ir.Table, *, kind: str, day: date, detail: ir.Value, **columns: ir.Value
) -> ir.Table:
    values = {
        "trade_date": ibis.literal(day),
        "kind": ibis.literal(kind),
        "counter": columns.get("counter", ibis.null().cast("string")),
        "fund_account": columns.get("fund_account", ibis.null().cast("string")),
        "exchange": columns.get("exchange", ibis.null().cast("string")),
        "security_code": columns.get("security_code", ibis.null().cast("string")),
        "detail": detail,
    }
    return _conform(table.select(**values), DQ_WARNINGS_SCHEMA)


def dq_warnings(
    *,
    closes: ir.Table,
    accounts: ir.Table,
    positions: ir.Table,
    transfers: ir.Table,
    margin_debts: ir.Table,
    trades: ir.Table,
    opening_counters: Sequence[str],
    day: date,
) -> ir.Table:
    """The day's data-quality warnings.

    - ``never_quoted``: a security held, transferred or shorted on d that was never quoted is
      valued at 0 (COUNTERS.md, "Close price"); one warning per security.
    - ``unknown_security``: a security held on d that no security master has ever listed; its
      value counts in no bucket.
    - ``non_cny_account``: an account in another currency is listed and skipped (COUNTERS.md,
      "Base indicators": v1 computes CNY accounts).
    - ``opening_cost_missing``: a holding of a counter's initial day without a cost price starts
      at cost 0 (COUNTERS.md, "Average cost").
    - ``initial_day_sell``: a sell on its counter's initial day has no previous-day average cost,
      so it adds nothing to realized_pnl.
    """
    # Tables read from Parquet mark keys NOT NULL; unions below need equal schemas.
    closes = _nullable(closes)
    accounts = _nullable(accounts)
    positions = _nullable(positions)
    transfers = _nullable(transfers)
    margin_debts = _nullable(margin_debts)
    trades = _nullable(trades)
    used = ibis.union(
        positions.filter(positions.quantity != 0).select(*_SECURITY_KEY, "fund_account"),
        transfers.select(*_SECURITY_KEY, "fund_account"),
        margin_debts.filter(margin_debts.short_quantity != 0).select(
            *_SECURITY_KEY, "fund_account"
        ),
        distinct=False,
    )
    used = used.left_join(closes, list(_SECURITY_KEY)).select(
        used.exchange,
        used.security_code,
        used.fund_account,
        quoted=closes.quoted.fill_null(False),
        known=closes.security_type.notnull(),
    )
    unquoted = used.filter(~used.quoted)
    unquoted = unquoted.group_by(list(_SECURITY_KEY)).aggregate(
        accounts=unquoted.fund_account.nunique()
    )
    unknown = used.filter(~used.known)
    unknown = unknown.group_by(list(_SECURITY_KEY)).aggregate(
        accounts=unknown.fund_account.nunique()
    )
    others = accounts.filter(accounts.currency != BASE_CURRENCY)
    parts = [
        _warning(
            unquoted,
            kind=DQ_NEVER_QUOTED,
            day=day,
            exchange=unquoted.exchange,
            security_code=unquoted.security_code,
            detail=ibis.literal("never quoted: valued at 0 in ")
            + unquoted.accounts.cast("string")
            + ibis.literal(" account(s)"),
        ),
        _warning(
            unknown,
            kind=DQ_UNKNOWN_SECURITY,
            day=day,
            exchange=unknown.exchange,
            security_code=unknown.security_code,
            detail=ibis.literal("not in any security master: no market-value bucket, in ")
            + unknown.accounts.cast("string")
            + ibis.literal(" account(s)"),
        ),
        _warning(
            others,
            kind=DQ_NON_CNY_ACCOUNT,
            day=day,
            counter=others.counter,
            fund_account=others.fund_account,
            detail=ibis.literal("currency ")
            + others.currency
            + ibis.literal(": skipped (v1 computes CNY)"),
        ),
    ]
    if opening_counters:
        counters = list(opening_counters)
        missing = positions.filter(
            positions.counter.isin(counters)
            & positions.cost_price.isnull()
            & (positions.quantity != 0)
        )
        parts.append(
            _warning(
                missing,
                kind=DQ_OPENING_COST_MISSING,
                day=day,
                counter=missing.counter,
                fund_account=missing.fund_account,
                exchange=missing.exchange,
                security_code=missing.security_code,
                detail=ibis.literal("initial day holding without cost price: cost 0"),
            )
        )
        early = trades.filter(trades.counter.isin(counters) & (trades.side == "sell"))
        early = early.group_by(["counter", "fund_account"]).aggregate(sells=early.count())
        parts.append(
            _warning(
                early,
                kind=DQ_INITIAL_DAY_SELL,
                day=day,
                counter=early.counter,
                fund_account=early.fund_account,
                detail=early.sells.cast("string")
                + ibis.literal(
                    " sell(s) on the counter's initial day: no previous average cost,"
                    " not in realized_pnl"
                ),
            )
        )
    return ibis.union(*parts, distinct=False)


# --- Customer master ------------------------------------------------------------------------------


def customers_step(
    *,
    previous: ir.Table | None,
    customers: ir.Table,
    accounts: ir.Table,
    trades: ir.Table,
    day: date,
) -> ir.Table:
    """The customer master at the end of d: what the qualified pools, the segmentation (branch)
    and the tags (branch, birth date, gender) need (``CUSTOMERS_SCHEMA``).

    The customers flow delivers only new or changed customers (COUNTERS.md, customers: "later
    rows for the same customer replace earlier ones"), so the master is the previous day's with
    d's rows replacing earlier ones (the later line wins within a day).

    - ``risk_updated_on`` is the day the counter's ``risk_level`` or ``risk_expiry`` last changed
      (a customer's first day counts as a change); ``class_updated_on`` likewise for
      ``investor_class``. A CRM fact wins over the counter's when it is dated on or after it.
    - ``first_trade_seen`` is the first trading day a trade of any of the customer's fund
      accounts was seen; experience counts from it when the counter's ``first_trade_date`` is
      empty (DOMAIN.md, "Qualified customer pools").

    Parameters
    ----------
    previous
        This function's result for the previous trading day (None on a first day).
    customers, trades
        d's customers and trades flows.
    accounts
        :func:`accounts_step` of d (every account known on d, any currency).
    """
    previous = _nullable(previous)
    customers = _nullable(customers)
    accounts = _nullable(accounts)
    trades = _nullable(trades)
    d = ibis.literal(day)
    latest_line = customers.group_by("customer_no").aggregate(line=customers.line.max())
    todays = customers.semi_join(latest_line, ["customer_no", "line"])

    def same(a: ir.Value, b: ir.Value) -> ir.BooleanValue:
        # null-safe equality, the same on every engine
        return (a.isnull() & b.isnull()) | (a == b).fill_null(False)

    columns = list(CUSTOMERS_SCHEMA.names)
    if previous is not None:
        prev = previous.select(
            customer_no=previous.customer_no,
            p_known=ibis.literal(True),
            p_risk_level=previous.risk_level,
            p_risk_expiry=previous.risk_expiry,
            p_risk_updated_on=previous.risk_updated_on,
            p_class=previous.investor_class,
            p_class_updated_on=previous.class_updated_on,
            p_seen=previous.first_trade_seen,
        )
        joined = todays.left_join(prev, "customer_no")
        known = prev.p_known.fill_null(False)
        risk_kept = (
            known
            & same(todays.risk_level, prev.p_risk_level)
            & same(todays.risk_expiry, prev.p_risk_expiry)
        )
        class_kept = known & same(todays.investor_class, prev.p_class)
        changed = joined.select(
            trade_date=d,
            customer_no=todays.customer_no,
            counter=todays.counter,
            customer_type=todays.customer_type,
            branch_code=todays.branch_code,
            birth_date=todays.birth_date,
            gender=todays.gender,
            status=todays.status,
            open_date=todays.open_date,
            first_trade_date=todays.first_trade_date,
            first_trade_seen=prev.p_seen,
            risk_level=todays.risk_level,
            risk_expiry=todays.risk_expiry,
            risk_updated_on=ibis.ifelse(risk_kept, prev.p_risk_updated_on, d),
            investor_class=todays.investor_class,
            class_updated_on=ibis.ifelse(class_kept, prev.p_class_updated_on, d),
        )
        kept = previous.anti_join(todays, "customer_no").mutate(trade_date=d)
        master = ibis.union(
            _conform(changed, CUSTOMERS_SCHEMA), _conform(kept, CUSTOMERS_SCHEMA), distinct=False
        )
    else:
        master = _conform(
            todays.mutate(
                trade_date=d,
                first_trade_seen=ibis.null().cast("date"),
                risk_updated_on=d,
                class_updated_on=d,
            ),
            CUSTOMERS_SCHEMA,
        )
    owners = accounts.select("fund_account", "customer_no")
    traded = trades.inner_join(owners, "fund_account").select(owners.customer_no)
    traded = traded.group_by("customer_no").aggregate(trades=traded.count())
    marked = master.left_join(traded, "customer_no")
    result = marked.select(
        **{c: master[c] for c in columns if c != "first_trade_seen"},
        first_trade_seen=master.first_trade_seen.coalesce(
            ibis.ifelse(traded.trades.notnull(), d, ibis.null().cast("date"))
        ),
    )
    return _conform(result, CUSTOMERS_SCHEMA)


# --- Qualified customer pools ---------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` + ``months`` calendar months, clamped to the end of the month (08-31 + 6 → 02-28)."""
    import calendar

    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_cutoff(day: date, months: int) -> date:
    """The latest start ``s`` with ``add_months(s, months) <= day``: "open ≥ N months at D" is
    ``start <= months_cutoff(D, N)``. Computed once per day here, so the engines only compare
    dates (DuckDB and Spark add months to a date in their own ways; this is the same on both)."""
    from datetime import timedelta

    cutoff = add_months(day, -months)
    while add_months(cutoff + timedelta(days=1), months) <= day:
        cutoff += timedelta(days=1)
    return cutoff


def _latest_fact(table: ir.Table, on: str, tie_breaks: Sequence[str]) -> ir.Table:
    """Per customer, the fact with the latest ``on`` date (ties: the greatest ``tie_breaks``)."""
    order = [ibis.desc(table[on]), *[ibis.desc(table[c]) for c in tie_breaks]]
    ranked = table.mutate(_rank=ibis.row_number().over(group_by="customer_no", order_by=order))
    return ranked.filter(ranked._rank == 0).drop("_rank")


def _reasons(flags: Sequence[tuple[str, ir.BooleanValue]]) -> tuple[ir.StringValue, ir.BooleanValue]:
    """The failed reasons, sorted and ``;``-joined, and whether there is none."""
    joined: ir.StringValue = ibis.literal("")
    for reason, failed in sorted(flags, key=lambda item: item[0]):
        joined = joined + ibis.ifelse(failed, ibis.literal(";" + reason), ibis.literal(""))
    none = joined == ""
    return ibis.ifelse(none, ibis.literal(""), joined.substr(1)), none


def pools(
    *,
    customer_indicators: ir.Table,
    history: ir.Table | None,
    window: Sequence[date],
    customers: ir.Table,
    accounts: ir.Table,
    assessments: ir.Table,
    investor_classes: ir.Table,
    knowledge_tests: ir.Table,
    day: date,
) -> ir.Table:
    """Every qualified pool of every customer with a CNY account on d (DOMAIN.md, "Qualified
    customer pools"), one row per customer and pool (``POOLS_SCHEMA``).

    - Pool assets of a day = total_assets of normal accounts + net_assets of credit accounts
      (``pool_assets`` of :func:`customer_indicators`); the average is over the 20 trading days
      ending d. With fewer days (days before the customer had a CNY account do not count) the
      customer is not eligible (``insufficient_history``) and ``assets`` is not evaluated. The
      comparison is exact: Σ ≥ threshold × 20.
    - ``status``: frozen, lost or closed, never eligible.
    - ``experience``: the counter's first_trade_date, or the first trade seen; ≥ 24 months.
    - ``account_age``: margin: the customer's open_date ≥ 6 months; options: a credit account
      (not closed) opened ≥ 6 months before d. "≥ N months" is calendar months, end-of-month
      clamped (:func:`months_cutoff`).
    - ``risk_level``: margin needs a valid (risk_expiry ≥ d) C4 or C5, or a professional investor.
      The latest CRM assessment dated ≤ d wins over the counter's when dated on or after the day
      the counter's risk fields last changed; a CRM class recognition likewise.
    - ``knowledge_test``: options needs a passed ``options`` test in the CRM dated ≤ d.
    - BSE has no asset condition for institutions.

    Parameters
    ----------
    customer_indicators
        :func:`customer_indicators` of d (its customers are the ones evaluated).
    history
        Earlier ``customer_no, trade_date, pool_assets`` covering the window (None when none).
    window
        The last :data:`POOL_HISTORY_DAYS` trading days ending d.
    customers
        :func:`customers_step` of d.
    accounts
        :func:`accounts_step` of d.
    assessments, investor_classes, knowledge_tests
        The CRM facts (``schema.CRM_*_SCHEMA``), any dates: those after d are ignored.
    """
    customer_indicators = _nullable(customer_indicators)
    history = _nullable(history)
    customers = _nullable(customers)
    accounts = _nullable(accounts)
    assessments = _nullable(assessments)
    investor_classes = _nullable(investor_classes)
    knowledge_tests = _nullable(knowledge_tests)
    d = ibis.literal(day)
    window_days = sorted(w for w in window if w <= day)[-POOL_HISTORY_DAYS:]
    ci = customer_indicators
    totals = ci.select("customer_no", trade_date=d, pool_assets=ci.pool_assets.cast(WIDE))
    earlier_days = [w for w in window_days if w != day]
    if history is not None and earlier_days:
        earlier = history.filter(history.trade_date.isin(earlier_days)).select(
            "customer_no",
            trade_date=history.trade_date.cast("date"),
            pool_assets=history.pool_assets.cast(WIDE),
        )
        totals = totals.union(earlier, distinct=False)
    stats = totals.group_by("customer_no").aggregate(
        assets_sum=totals.pool_assets.sum().cast(WIDE), days=totals.count().cast("int64")
    )
    stats = with_quotients(stats, avg_pool_assets=(stats.assets_sum, stats.days))

    credit = accounts.filter((accounts.account_type == "credit") & (accounts.status != "closed"))
    credit = credit.group_by("customer_no").aggregate(credit_open=credit.open_date.min())

    crm_risk = _latest_fact(
        assessments.filter(assessments.assessed_on <= d), "assessed_on", ("risk_expiry", "risk_level")
    ).select(
        "customer_no",
        crm_assessed_on="assessed_on",
        crm_risk_level="risk_level",
        crm_risk_expiry="risk_expiry",
    )
    crm_class = _latest_fact(
        investor_classes.filter(investor_classes.effective_on <= d), "effective_on", ("investor_class",)
    ).select("customer_no", crm_effective_on="effective_on", crm_class="investor_class")
    passed = knowledge_tests.filter(
        (knowledge_tests.test == OPTIONS_KNOWLEDGE_TEST) & (knowledge_tests.passed_on <= d)
    )
    passed = passed.group_by("customer_no").aggregate(tests=passed.count())

    base = ci.select("customer_no")
    m = customers
    joined = (
        base.left_join(stats, "customer_no")
        .left_join(m, "customer_no")
        .left_join(credit, "customer_no")
        .left_join(crm_risk, "customer_no")
        .left_join(crm_class, "customer_no")
        .left_join(passed, "customer_no")
    )
    crm_risk_wins = crm_risk.crm_assessed_on.notnull() & (
        m.risk_updated_on.isnull() | (crm_risk.crm_assessed_on >= m.risk_updated_on)
    ).fill_null(False)
    crm_class_wins = crm_class.crm_effective_on.notnull() & (
        m.class_updated_on.isnull() | (crm_class.crm_effective_on >= m.class_updated_on)
    ).fill_null(False)
    facts = joined.select(
        customer_no=base.customer_no,
        assets_sum=stats.assets_sum,
        days=stats.days,
        avg_pool_assets=stats.avg_pool_assets,
        customer_type=m.customer_type,
        status=m.status,
        open_date=m.open_date,
        experience_from=m.first_trade_date.coalesce(m.first_trade_seen),
        risk_level=ibis.ifelse(crm_risk_wins, crm_risk.crm_risk_level, m.risk_level),
        risk_expiry=ibis.ifelse(crm_risk_wins, crm_risk.crm_risk_expiry, m.risk_expiry),
        investor_class=ibis.ifelse(crm_class_wins, crm_class.crm_class, m.investor_class),
        credit_open=credit.credit_open,
        tested=passed.tests.notnull(),
    )

    f = facts
    account_cutoff = ibis.literal(months_cutoff(day, POOL_ACCOUNT_AGE_MONTHS))
    experience_cutoff = ibis.literal(months_cutoff(day, POOL_EXPERIENCE_MONTHS))
    status = f.status.isin(list(POOL_BLOCKING_STATUSES)).fill_null(False)
    short_history = (f.days < POOL_HISTORY_DAYS).fill_null(True)
    experience = (f.experience_from > experience_cutoff).fill_null(True)
    customer_age = (f.open_date > account_cutoff).fill_null(True)
    credit_age = (f.credit_open > account_cutoff).fill_null(True)
    professional = f.investor_class.isin(list(PROFESSIONAL_CLASSES)).fill_null(False)
    valid_level = (
        f.risk_level.isin(list(POOL_MARGIN_RISK_LEVELS)) & (f.risk_expiry >= d)
    ).fill_null(False)
    risk = ~(professional | valid_level)
    institution = (f.customer_type == INSTITUTION).fill_null(False)

    def assets(pool: str) -> ir.BooleanValue:
        needed = ibis.literal(POOL_MIN_ASSETS[pool] * POOL_HISTORY_DAYS).cast(WIDE)
        failed = ~short_history & (f.assets_sum < needed).fill_null(True)
        if pool in POOLS_NO_ASSETS_FOR_INSTITUTIONS:
            failed = failed & ~institution
        return failed

    def common(pool: str) -> list[tuple[str, ir.BooleanValue]]:
        flags = [
            (REASON_STATUS, status),
            (REASON_INSUFFICIENT_HISTORY, short_history),
            (REASON_ASSETS, assets(pool)),
        ]
        if pool in POOLS_NEEDING_EXPERIENCE:
            flags.append((REASON_EXPERIENCE, experience))
        return flags

    extra: dict[str, list[tuple[str, ir.BooleanValue]]] = {
        "margin": [(REASON_ACCOUNT_AGE, customer_age), (REASON_RISK_LEVEL, risk)],
        "options": [(REASON_ACCOUNT_AGE, credit_age), (REASON_KNOWLEDGE_TEST, ~f.tested)],
    }
    parts = []
    for pool in POOLS:
        reasons, none = _reasons([*common(pool), *extra.get(pool, [])])
        parts.append(
            _conform(
                f.select(
                    trade_date=d,
                    customer_no=f.customer_no,
                    pool=ibis.literal(pool),
                    eligible=none,
                    reasons=reasons,
                    avg_pool_assets=f.avg_pool_assets,
                    history_days=f.days,
                ),
                POOLS_SCHEMA,
            )
        )
    return ibis.union(*parts, distinct=False)
