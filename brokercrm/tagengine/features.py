"""The feature table: one row per customer and day, the columns that tag rules read.

:func:`feature_table` takes Ibis tables (the day's snapshots and flows) and returns one Ibis table,
like ``datacenter/pipeline.py``: nothing reads a file, nothing imports Django, nothing names a
backend. :data:`FEATURES` documents every column: its type, Chinese and English label, what it
means and which inputs it reads (its lineage).

Inputs, as of the evaluation day D (the runner's snapshots; ``pipeline`` is
``brokercrm.datacenter.pipeline``, ``segments`` is ``brokercrm.segments.pipeline``):

``customer_indicators``
    ``pipeline.CUSTOMER_INDICATORS_SCHEMA`` of D. Its customers (those with a CNY account on D)
    are the rows of the feature table.
``history``
    Earlier customer indicators (same schema; at least ``customer_no, trade_date`` and the
    columns in :data:`REQUIRED_COLUMNS`), covering the :data:`HISTORY_DAYS` trading days before
    D. Rows of other days are ignored, so the whole snapshot dataset may be passed. None: no
    history (the windows then hold D alone and the look-backs are missing).
``trading_days``
    The trading calendar up to D (at least its last ``HISTORY_DAYS + 1`` days): windows and
    look-backs count trading days, not rows.
``customers``
    The customer master of D: ``pipeline.CUSTOMERS_SCHEMA`` plus ``branch_code``, ``birth_date``
    and ``gender`` (the counters' customer fields, carried like the others).
``accounts``
    ``pipeline.ACCOUNTS_SCHEMA`` of D (every fund account known on D).
``account_indicators``
    ``pipeline.ACCOUNT_INDICATORS_SCHEMA`` of D (CNY accounts): the credit accounts' figures.
``positions``
    Holdings at the end of D: ``pipeline.POSITIONS_SCHEMA`` of D (``fund_account, exchange,
    security_code, quantity``).
``closes``
    ``pipeline.CLOSES_SCHEMA`` of D (close price and security type).
``securities``
    The security master of D (standard ``securities`` flow, any counters): ``exchange,
    security_code, name`` (ST is read from the name).
``industries``
    The reference industries (``exchange, security_code, industry``, Shenwan level 1), or None.
``trades``
    Standard ``trades`` flows with their ``trade_date``, covering the :data:`TRADES_DAYS` trading
    days ending D; rows of other days are ignored.
``segments``
    ``segments.SEGMENTS_SCHEMA`` of D (tier, ABCD class, contribution, turnover), or None: those
    features are then missing.

Money is exact (``decimal(38,10)``, ``pipeline.WIDE``). No feature is a ratio of two amounts
(neither engine divides decimals exactly): a rule compares ``a >= 0.5 * b`` instead, or writes
``a / b``, which the rule language cross-multiplies exactly. The only quotient, a mean of daily
assets, divides by a number of days through ``pipeline.with_quotients``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping, Sequence

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from brokercrm.datacenter.dictionaries import UNKNOWN_INDUSTRY
from brokercrm.datacenter.pipeline import (
    BASE_CURRENCY,
    PROFESSIONAL_CLASSES,
    WIDE,
    _nullable,
    market_value,
    with_quotients,
)
from brokercrm.tagengine.language import CONDITION, DATE, NUMBER, TEXT

# --- windows (trading days ending D) ---------------------------------------------------------------

SHORT_WINDOW = 20
MEDIUM_WINDOW = 60
LONG_WINDOW = 126
#: Look-backs for asset change: about 1, 3 and 6 months of trading days.
LOOKBACKS: Mapping[str, int] = {"1m": 21, "3m": 63, "6m": 126}
#: Trading days of customer-indicator history read before D.
HISTORY_DAYS = max(LONG_WINDOW - 1, *LOOKBACKS.values())
#: Trading days of trades read, ending D.
TRADES_DAYS = MEDIUM_WINDOW

#: Risk level (R1–R5) of a holding, by what the security is (DOMAIN.md, "Products and services":
#: R1 government bonds and reverse repo; R2 high-grade bonds; R3 ordinary A shares, convertibles
#: and funds; R4 STAR, ChiNext, BSE and ST stocks). Government bonds are told by their codes
#: (SH 010/019, SZ 10); every other bond is taken as high-grade (R2).
RISK_REPO, RISK_GOVERNMENT_BOND, RISK_BOND, RISK_ORDINARY, RISK_BOARD = 1, 1, 2, 3, 4
GOVERNMENT_BOND_PREFIXES: Mapping[str, tuple[str, ...]] = {"SH": ("010", "019"), "SZ": ("10",)}
#: Boards by exchange and code prefix (DOMAIN.md, "Security codes"); stocks only.
STAR_PREFIXES = ("688", "689")
CHINEXT_PREFIXES = ("300", "301")
BSE_EXCHANGE = "BJ"
#: A name starting so marks a risk-warning (ST) stock.
ST_PREFIXES = ("ST", "*ST", "S*ST", "SST")
RISK_LEVEL_RANKS = {f"C{i}": i for i in range(6)}
CREDIT = "credit"

# --- the registry ----------------------------------------------------------------------------------

#: Feature kinds → (engine type, rule-language type).
KINDS: Mapping[str, tuple[dt.DataType, str]] = {
    "money": (WIDE, NUMBER),
    "ratio": (WIDE, NUMBER),
    "count": (dt.int64, NUMBER),
    "text": (dt.string, TEXT),
    "date": (dt.date, DATE),
    "flag": (dt.boolean, CONDITION),
}


@dataclass(frozen=True)
class FeatureDef:
    """One column of the feature table."""

    name: str
    kind: str
    label_zh: str
    label_en: str
    description: str
    #: the inputs of :func:`feature_table` it reads
    lineage: tuple[str, ...]
    category: str
    #: computed by another stage (``segments``) and only carried here; missing when not given
    provided: bool = False

    @property
    def dtype(self) -> dt.DataType:
        return KINDS[self.kind][0]

    @property
    def type(self) -> str:
        """The rule-language type."""
        return KINDS[self.kind][1]


def _f(name, kind, zh, en, description, lineage, category, provided=False) -> FeatureDef:
    return FeatureDef(name, kind, zh, en, description, tuple(lineage.split()), category, provided)


_CI = "customer_indicators"
_H = "customer_indicators history"
_M = "customers"
_HOLD = "positions closes accounts"

FEATURES_LIST: tuple[FeatureDef, ...] = (
    # basic
    _f("branch_code", "text", "营业部", "Branch", "The customer's branch code.", _M, "basic"),
    _f("customer_type", "text", "客户类型", "Customer type", "individual / institution / product.", _M, "basic"),
    _f("gender", "text", "性别", "Gender", "male / female; missing for institutions and when unknown.", _M, "basic"),
    _f("birth_date", "date", "出生日期", "Birth date", "Missing when the counter says 0 or empty.", _M, "basic"),
    _f("age", "count", "年龄", "Age", "Completed years at D (missing without a birth date).", _M, "basic"),
    _f("status", "text", "客户状态", "Status", "normal / frozen / lost / closed.", _M, "basic"),
    _f("open_date", "date", "开户日期", "Open date", "The day the customer opened.", _M, "basic"),
    _f("account_age_days", "count", "开户天数", "Days since opening", "Calendar days from open_date to D.", _M, "lifecycle"),
    _f("investor_class", "text", "投资者分类", "Investor class", "ordinary / professional_i / professional_ii / professional_iii (counter's field).", _M, "basic"),
    _f("professional", "flag", "专业投资者", "Professional investor", "investor_class is one of the professional classes.", _M, "basic"),
    _f("risk_level", "text", "风险等级", "Risk level", "C0 (lowest category) … C5; missing when never assessed (counter's field).", _M, "risk"),
    _f("risk_level_rank", "count", "风险等级序号", "Risk level rank", "0 for C0 … 5 for C5; missing when never assessed.", _M, "risk"),
    _f("risk_expiry", "date", "风险测评有效期", "Assessment valid until", "Last day the assessment is valid.", _M, "risk"),
    _f("risk_valid", "flag", "风险测评有效", "Valid assessment", "A risk level whose expiry is on or after D.", _M, "risk"),
    _f("experience_from", "date", "首次交易日", "First trade", "The counter's first trade date, else the first trade seen.", _M, "basic"),
    # assets (D)
    _f("total_assets", "money", "总资产", "Total assets", "Total assets on D (COUNTERS.md).", _CI, "assets"),
    _f("net_assets", "money", "净资产", "Net assets", "Total assets − debt on D.", _CI, "assets"),
    _f("cash_balance", "money", "资金余额", "Cash balance", "Cash on D.", _CI, "assets"),
    _f("stock_value", "money", "股票市值", "Stock value", "Market value of stocks on D.", _CI, "assets"),
    _f("fund_value", "money", "基金市值", "Fund value", "Market value of funds, ETFs and LOFs on D.", _CI, "assets"),
    _f("bond_value", "money", "债券市值", "Bond value", "Market value of bonds, convertibles and repo on D.", _CI, "assets"),
    _f("debt", "money", "负债金额", "Debt", "Margin debt on D.", _CI, "assets"),
    _f("frozen_balance", "money", "冻结金额", "Frozen balance", "Running sum of freezes.", _CI, "assets"),
    _f("avg_assets_20d", "money", "20日日均资产", "20-day average assets", "Mean total assets over the 20 trading days ending D.", _CI, "assets"),
    _f("avg_assets_60d", "money", "60日日均资产", "60-day average assets", "Mean total assets over the days the customer has among the 60 trading days ending D.", _H, "assets"),
    *(
        _f(f"total_assets_{k}_ago", "money", f"{zh}前总资产", f"Total assets {en} ago",
           f"Total assets {n} trading days before D; missing when the customer had no CNY account then.",
           _H, "assets")
        for k, n, zh, en in (("1m", 21, "1个月", "1 month"), ("3m", 63, "3个月", "3 months"), ("6m", 126, "6个月", "6 months"))
    ),
    *(
        _f(f"asset_change_{k}", "money", f"{zh}资产变动", f"Asset change over {en}",
           f"total_assets − total_assets_{k}_ago (missing when that is missing).", _H, "assets")
        for k, zh, en in (("1m", "1个月", "1 month"), ("3m", "3个月", "3 months"), ("6m", "6个月", "6 months"))
    ),
    # flows
    _f("bank_in_20d", "money", "20日银证转入", "Bank transfers in, 20 days", "Σ bank_in over the 20 trading days ending D.", _H, "assets"),
    _f("bank_out_20d", "money", "20日银证转出", "Bank transfers out, 20 days", "Σ bank_out over the 20 trading days ending D.", _H, "assets"),
    _f("net_inflow_20d", "money", "20日净流入", "Net inflow, 20 days", "Σ (bank_in − bank_out + securities_in_value − securities_out_value) over the 20 trading days ending D.", _H, "assets"),
    _f("net_inflow_60d", "money", "60日净流入", "Net inflow, 60 days", "The same over 60 trading days.", _H, "assets"),
    # holdings
    _f("security_count", "count", "持仓证券数", "Securities held", "Distinct securities held at the end of D.", _HOLD, "holdings"),
    _f("stock_count", "count", "持仓股票数", "Stocks held", "Distinct stocks held.", _HOLD, "holdings"),
    _f("largest_holding_value", "money", "最大单一持仓市值", "Largest holding", "Market value of the largest single security held (all accounts).", _HOLD, "holdings"),
    _f("largest_stock_value", "money", "最大单一股票市值", "Largest stock holding", "Market value of the largest single stock held; compare with stock_value for concentration.", _HOLD, "holdings"),
    *(
        _f(f"holds_{k}", "flag", f"持有{zh}", f"Holds {en}", f"Holds at least one {en} security at the end of D.", _HOLD + (" securities" if k == "st" else ""), "holdings")
        for k, zh, en in (
            ("main_board", "主板股票", "main-board stock"),
            ("chinext", "创业板股票", "ChiNext stock"),
            ("star", "科创板股票", "STAR Market stock"),
            ("bse", "北交所股票", "BSE stock"),
            ("st", "ST股票", "ST (risk-warning) stock"),
            ("etf", "ETF", "ETF"),
            ("lof", "LOF", "LOF"),
            ("fund", "场内基金", "listed fund (fund type, not ETF/LOF)"),
            ("bond", "债券", "bond"),
            ("convertible", "可转债", "convertible bond"),
            ("repo", "逆回购", "reverse repo"),
        )
    ),
    *(
        _f(f"{k}_value", "money", f"{zh}市值", f"{en} value", f"Market value of {en} holdings.", _HOLD + (" securities" if k == "st" else ""), "holdings")
        for k, zh, en in (
            ("chinext", "创业板", "ChiNext"),
            ("star", "科创板", "STAR Market"),
            ("bse", "北交所", "BSE"),
            ("st", "ST股票", "ST stock"),
            ("etf", "ETF", "ETF"),
            ("convertible", "可转债", "convertible"),
        )
    ),
    _f("top_industry", "text", "第一大持仓行业", "Top industry", "Shenwan level-1 industry with the largest stock value ('unknown' without a reference row; ties: the first name).", _HOLD + " industries", "holdings"),
    _f("top_industry_value", "money", "第一大行业市值", "Top industry value", "Stock value in top_industry.", _HOLD + " industries", "holdings"),
    _f("industry_count", "count", "持仓行业数", "Industries held", "Distinct known industries among the stocks held.", _HOLD + " industries", "holdings"),
    _f("max_holding_risk", "count", "持仓最高风险等级", "Riskiest holding", "Highest R level (1–5) among the holdings (0 without holdings): repo and government bonds R1, other bonds R2, funds, convertibles and main-board stocks R3, ChiNext/STAR/BSE/ST stocks R4.", _HOLD + " securities", "risk"),
    # behaviour
    _f("trade_count_20d", "count", "20日成交笔数", "Trades, 20 days", "Trades over the 20 trading days ending D.", _H, "behaviour"),
    _f("trade_count_60d", "count", "60日成交笔数", "Trades, 60 days", "Trades over the 60 trading days ending D.", _H, "behaviour"),
    _f("trade_amount_20d", "money", "20日成交金额", "Trade amount, 20 days", "Σ trade amount over 20 trading days; turnover is this against avg_assets_20d.", _H, "behaviour"),
    _f("trade_amount_60d", "money", "60日成交金额", "Trade amount, 60 days", "Σ trade amount over 60 trading days.", _H, "behaviour"),
    _f("trade_days_60d", "count", "60日交易天数", "Trading days with trades, 60 days", "Days with at least one trade among the 60 trading days ending D.", _H, "behaviour"),
    _f("last_trade_date", "date", "最近交易日", "Last trade", f"Last day with a trade within the {LONG_WINDOW} trading days ending D (missing: none in that window).", _H, "behaviour"),
    _f("preferred_channel", "text", "常用交易渠道", "Preferred channel", "Channel of most trades over 60 trading days (counter / phone / terminal / internet / mobile / api; ties: the first name).", "trades accounts", "behaviour"),
    _f("channel_count_60d", "count", "60日交易渠道数", "Channels used, 60 days", "Distinct channels traded through over 60 trading days.", "trades accounts", "behaviour"),
    _f("round_trip_count_20d", "count", "20日短线交易证券数", "Short round trips, 20 days", "Securities (per account) bought and then sold within the 20 trading days ending D.", "trades accounts", "behaviour"),
    _f("net_commission_60d", "money", "60日净佣金", "Net commission, 60 days", "Σ net commission over 60 trading days.", _H, "value"),
    # profit
    _f("realized_pnl_20d", "money", "20日实现盈亏", "Realized P&L, 20 days", "Σ realized_pnl over 20 trading days.", _H, "profit"),
    _f("realized_pnl_60d", "money", "60日实现盈亏", "Realized P&L, 60 days", "Σ realized_pnl over 60 trading days.", _H, "profit"),
    _f("realized_pnl_126d", "money", "半年实现盈亏", "Realized P&L, 6 months", f"Σ realized_pnl over {LONG_WINDOW} trading days.", _H, "profit"),
    _f("profit_days_126d", "count", "半年盈利天数", "Profitable days, 6 months", f"Days with realized_pnl > 0 over {LONG_WINDOW} trading days (a daily win rate: no per-sale P&L is kept).", _H, "profit"),
    _f("loss_days_126d", "count", "半年亏损天数", "Losing days, 6 months", f"Days with realized_pnl < 0 over {LONG_WINDOW} trading days.", _H, "profit"),
    # margin
    _f("has_credit_account", "flag", "有信用账户", "Has credit account", "A credit fund account that is not closed.", "accounts", "margin"),
    _f("credit_open_date", "date", "信用账户开户日", "Credit account opened", "Earliest open date of the credit accounts not closed.", "accounts", "margin"),
    _f("credit_assets", "money", "信用账户资产", "Credit account assets", "Cash + market value of the CNY credit accounts on D (the maintenance ratio's numerator).", "account_indicators", "margin"),
    _f("credit_debt", "money", "信用账户负债", "Credit account debt", "Financing + short value + interest payable on D (the ratio's denominator; the ratio is credit_assets / credit_debt).", "account_indicators", "margin"),
    # lifecycle
    _f("history_days", "count", "近半年在册交易日", "Days on record, 6 months", f"Trading days with a CNY account among the {LONG_WINDOW} ending D.", _H, "lifecycle"),
    # value (provided by the segments stage)
    _f("tier", "text", "客户级别", "Tier", "standard / silver / gold / diamond (segments stage; missing when not given).", "segments", "value", True),
    _f("abcd_class", "text", "ABCD分类", "ABCD class", "A / B / C / D (segments stage; missing when not given).", "segments", "value", True),
    _f("contribution", "money", "贡献", "Contribution", "Σ net commission + margin interest paid over 250 trading days (segments stage).", "segments", "value", True),
    _f("turnover", "ratio", "周转率", "Turnover", "Σ trade amount ÷ mean total assets over 250 trading days (segments stage).", "segments", "value", True),
    _f("net_commission_12m", "money", "近12月净佣金", "Net commission, 12 months", "Trailing 12-month net commission (segments stage).", "segments", "value", True),
)

#: Feature name → definition, in table order.
FEATURES: Mapping[str, FeatureDef] = {f.name: f for f in FEATURES_LIST}
#: Feature name → rule-language type (what ``language.compile_rule`` takes).
FEATURE_TYPES: Mapping[str, str] = {f.name: f.type for f in FEATURES_LIST}
#: The columns of the feature table.
FEATURE_SCHEMA = ibis.schema({"customer_no": "string", **{f.name: f.dtype for f in FEATURES_LIST}})

#: Columns each input must have.
REQUIRED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "customer_indicators": (
        "customer_no", "total_assets", "net_assets", "cash_balance", "stock_value", "fund_value",
        "bond_value", "debt", "frozen_balance", "avg_assets_20d", "bank_in", "bank_out",
        "securities_in_value", "securities_out_value", "trade_amount", "trade_count",
        "realized_pnl", "net_commission",
    ),
    "history": (
        "customer_no", "trade_date", "total_assets", "bank_in", "bank_out", "securities_in_value",
        "securities_out_value", "trade_amount", "trade_count", "realized_pnl", "net_commission",
    ),
    "customers": (
        "customer_no", "branch_code", "customer_type", "gender", "birth_date", "status",
        "open_date", "investor_class", "risk_level", "risk_expiry", "first_trade_date",
        "first_trade_seen",
    ),
    "accounts": ("fund_account", "customer_no", "account_type", "currency", "open_date", "status"),
    "account_indicators": ("customer_no", "account_type", "total_assets", "debt"),
    "positions": ("fund_account", "exchange", "security_code", "quantity"),
    "closes": ("exchange", "security_code", "security_type", "close_price"),
    "securities": ("exchange", "security_code", "name"),
    "industries": ("exchange", "security_code", "industry"),
    "trades": ("trade_date", "fund_account", "exchange", "security_code", "side", "channel"),
    "segments": ("customer_no", "tier", "abcd_class", "contribution", "turnover", "net_commission_12m"),
}

ERR_MISSING_COLUMNS = "feature input {table!r} lacks column(s) {columns}"


class FeatureInputError(ValueError):
    """An input table without a column the feature table needs."""


def _check(name: str, table: ir.Table | None) -> None:
    if table is None:
        return
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in table.columns]
    if missing:
        raise FeatureInputError(ERR_MISSING_COLUMNS.format(table=name, columns=", ".join(missing)))


# --- the table ---------------------------------------------------------------------------------------


def _zero(dtype: dt.DataType = WIDE) -> ir.Value:
    return ibis.literal(0).cast(dtype)


def _startswith_any(column: ir.StringValue, prefixes: Sequence[str]) -> ir.BooleanValue:
    result = column.startswith(prefixes[0])
    for prefix in prefixes[1:]:
        result = result | column.startswith(prefix)
    return result


def feature_table(
    *,
    day: date,
    trading_days: Sequence[date],
    customers: ir.Table,
    customer_indicators: ir.Table,
    history: ir.Table | None,
    accounts: ir.Table,
    account_indicators: ir.Table,
    positions: ir.Table,
    closes: ir.Table,
    securities: ir.Table,
    industries: ir.Table | None,
    trades: ir.Table,
    segments: ir.Table | None = None,
    window_state: ir.Table | None = None,
    lookbacks: Mapping[str, ir.Table | None] | None = None,
) -> ir.Table:
    """One row per customer with a CNY account on ``day``: ``FEATURE_SCHEMA`` (see the module
    docstring for the inputs, :data:`FEATURES` for the columns).

    The window features come from ``window_state`` (D's running sums, :func:`window_state`)
    with ``lookbacks`` (the customer indicators of each :func:`lookback_days` day) when given;
    otherwise from ``history`` (:func:`window_state_from_history`, look-backs read from it).

    Raises
    ------
    FeatureInputError
        An input lacks a column of :data:`REQUIRED_COLUMNS`.
    """
    inputs = {
        "customers": customers,
        "customer_indicators": customer_indicators,
        "history": history,
        "accounts": accounts,
        "account_indicators": account_indicators,
        "positions": positions,
        "closes": closes,
        "securities": securities,
        "industries": industries,
        "trades": trades,
        "segments": segments,
    }
    for name, table in inputs.items():
        _check(name, table)
    customers, customer_indicators, history, accounts, account_indicators = (
        _nullable(t) for t in (customers, customer_indicators, history, accounts, account_indicators)
    )
    positions, closes, securities, industries, trades, segments = (
        _nullable(t) for t in (positions, closes, securities, industries, trades, segments)
    )
    calendar = _calendar(trading_days, day)

    ci = customer_indicators
    if window_state is None:
        window_state = window_state_from_history(
            customer_indicators=ci, history=history, trading_days=calendar, day=day
        )
        lookbacks = {
            key: (history.filter(history.trade_date == back) if history is not None and back is not None else None)
            for key, back in lookback_days(calendar, day).items()
        }
    windows = _windows(state=window_state, lookbacks=lookbacks or {})
    holdings, industry = _holdings(
        positions=positions, closes=closes, securities=securities, industries=industries,
        accounts=accounts,
    )
    behaviour = _trades(trades=trades, accounts=accounts, calendar=calendar, day=day)
    credit = _credit(accounts=accounts, account_indicators=account_indicators)

    base = ci
    m = customers
    joined = (
        base.left_join(m, base.customer_no == m.customer_no)
        .left_join(windows, base.customer_no == windows.customer_no)
        .left_join(holdings, base.customer_no == holdings.customer_no)
        .left_join(industry, base.customer_no == industry.customer_no)
        .left_join(behaviour, base.customer_no == behaviour.customer_no)
        .left_join(credit, base.customer_no == credit.customer_no)
    )
    if segments is not None:
        joined = joined.left_join(segments, base.customer_no == segments.customer_no)

    d = ibis.literal(day)
    w, h, ind, b, c = windows, holdings, industry, behaviour, credit
    birthday_later = (m.birth_date.month() > day.month) | (
        (m.birth_date.month() == day.month) & (m.birth_date.day() > day.day)
    )
    age = ibis.literal(day.year) - m.birth_date.year() - ibis.ifelse(birthday_later, 1, 0)
    rank = ibis.cases(
        *[(m.risk_level == level, ibis.literal(r)) for level, r in RISK_LEVEL_RANKS.items()],
        else_=ibis.literal(None, type="int64"),
    )
    lookbacks = {k: w[f"ago_{k}"] for k in LOOKBACKS}

    def money0(value: ir.Value) -> ir.Value:
        return value.fill_null(0).cast(WIDE)

    def count0(value: ir.Value) -> ir.Value:
        return value.fill_null(0).cast("int64")

    def flag(value: ir.Value) -> ir.Value:
        return value.fill_null(False)

    values: dict[str, ir.Value] = {
        "branch_code": m.branch_code,
        "customer_type": m.customer_type,
        "gender": m.gender,
        "birth_date": m.birth_date,
        "age": age,
        "status": m.status,
        "open_date": m.open_date,
        "account_age_days": d.delta(m.open_date, unit="day"),
        "investor_class": m.investor_class,
        "professional": flag(m.investor_class.isin(list(PROFESSIONAL_CLASSES))),
        "risk_level": m.risk_level,
        "risk_level_rank": rank,
        "risk_expiry": m.risk_expiry,
        "risk_valid": flag(m.risk_level.notnull() & (m.risk_expiry >= d)),
        "experience_from": m.first_trade_date.coalesce(m.first_trade_seen),
        **{name: base[name] for name in (
            "total_assets", "net_assets", "cash_balance", "stock_value", "fund_value",
            "bond_value", "debt", "frozen_balance", "avg_assets_20d",
        )},
        "avg_assets_60d": w.avg_assets_60d,
        **{f"total_assets_{k}_ago": lookbacks[k] for k in LOOKBACKS},
        **{f"asset_change_{k}": base.total_assets - lookbacks[k] for k in LOOKBACKS},
        "bank_in_20d": money0(w.bank_in_20d),
        "bank_out_20d": money0(w.bank_out_20d),
        "net_inflow_20d": money0(w.net_inflow_20d),
        "net_inflow_60d": money0(w.net_inflow_60d),
        "security_count": count0(h.security_count),
        "stock_count": count0(h.stock_count),
        "largest_holding_value": money0(h.largest_holding_value),
        "largest_stock_value": money0(h.largest_stock_value),
        **{f"holds_{k}": flag(h[f"holds_{k}"]) for k in (
            "main_board", "chinext", "star", "bse", "st", "etf", "lof", "fund", "bond",
            "convertible", "repo",
        )},
        **{f"{k}_value": money0(h[f"{k}_value"]) for k in (
            "chinext", "star", "bse", "st", "etf", "convertible",
        )},
        "top_industry": ind.top_industry,
        "top_industry_value": money0(ind.top_industry_value),
        "industry_count": count0(ind.industry_count),
        "max_holding_risk": count0(h.max_holding_risk),
        "trade_count_20d": count0(w.trade_count_20d),
        "trade_count_60d": count0(w.trade_count_60d),
        "trade_amount_20d": money0(w.trade_amount_20d),
        "trade_amount_60d": money0(w.trade_amount_60d),
        "trade_days_60d": count0(w.trade_days_60d),
        "last_trade_date": w.last_trade_date,
        "preferred_channel": b.preferred_channel,
        "channel_count_60d": count0(b.channel_count_60d),
        "round_trip_count_20d": count0(b.round_trip_count_20d),
        "net_commission_60d": money0(w.net_commission_60d),
        "realized_pnl_20d": money0(w.realized_pnl_20d),
        "realized_pnl_60d": money0(w.realized_pnl_60d),
        "realized_pnl_126d": money0(w.realized_pnl_126d),
        "profit_days_126d": count0(w.profit_days_126d),
        "loss_days_126d": count0(w.loss_days_126d),
        "has_credit_account": flag(c.has_credit_account),
        "credit_open_date": c.credit_open_date,
        "credit_assets": money0(c.credit_assets),
        "credit_debt": money0(c.credit_debt),
        "history_days": count0(w.history_days),
    }
    for name in ("tier", "abcd_class", "contribution", "turnover", "net_commission_12m"):
        if segments is not None:
            values[name] = segments[name]
        else:
            values[name] = ibis.literal(None, type=FEATURES[name].dtype)
    assert list(values) == list(FEATURES), sorted(set(values) ^ set(FEATURES))
    result = joined.select(
        customer_no=base.customer_no,
        **{name: values[name].cast(FEATURES[name].dtype) for name in FEATURES},
    )
    return result


#: The windows' running measures: what each trading day adds to a customer's sums, and over
#: how many trading days (ending D) they are kept. ``window_state`` is one row per customer with
#: one column per measure plus ``last_trade_date``; the features read it.
_MEASURE_WINDOWS: Mapping[str, int] = {
    "bank_in_20d": SHORT_WINDOW,
    "bank_out_20d": SHORT_WINDOW,
    "net_inflow_20d": SHORT_WINDOW,
    "trade_amount_20d": SHORT_WINDOW,
    "realized_pnl_20d": SHORT_WINDOW,
    "trade_count_20d": SHORT_WINDOW,
    "net_inflow_60d": MEDIUM_WINDOW,
    "trade_amount_60d": MEDIUM_WINDOW,
    "net_commission_60d": MEDIUM_WINDOW,
    "realized_pnl_60d": MEDIUM_WINDOW,
    "assets_sum_60d": MEDIUM_WINDOW,
    "trade_count_60d": MEDIUM_WINDOW,
    "trade_days_60d": MEDIUM_WINDOW,
    "days_60d": MEDIUM_WINDOW,
    "realized_pnl_126d": LONG_WINDOW,
    "profit_days_126d": LONG_WINDOW,
    "loss_days_126d": LONG_WINDOW,
    "history_days": LONG_WINDOW,
}
_COUNT_MEASURES = frozenset(
    ("trade_count_20d", "trade_count_60d", "trade_days_60d", "days_60d", "profit_days_126d", "loss_days_126d", "history_days")
)
#: One row per customer: the windows' running sums as of D (``window_state``).
WINDOW_STATE_SCHEMA = ibis.schema(
    {
        "customer_no": "string",
        **{name: ("int64" if name in _COUNT_MEASURES else WIDE) for name in _MEASURE_WINDOWS},
        "last_trade_date": "date",
    }
)


def _day_measures(rows: ir.Table) -> dict[str, ir.Value]:
    """What one day's customer indicators row adds to each measure."""
    inflow = rows.bank_in - rows.bank_out + rows.securities_in_value - rows.securities_out_value
    zero = ibis.literal(0, type="int64")
    one = ibis.ifelse(rows.customer_no.isnull(), zero, ibis.literal(1, type="int64"))  # a column of rows
    values = {
        "bank_in_20d": rows.bank_in,
        "bank_out_20d": rows.bank_out,
        "net_inflow_20d": inflow,
        "trade_amount_20d": rows.trade_amount,
        "realized_pnl_20d": rows.realized_pnl,
        "trade_count_20d": rows.trade_count,
        "net_inflow_60d": inflow,
        "trade_amount_60d": rows.trade_amount,
        "net_commission_60d": rows.net_commission,
        "realized_pnl_60d": rows.realized_pnl,
        "assets_sum_60d": rows.total_assets,
        "trade_count_60d": rows.trade_count,
        "trade_days_60d": ibis.ifelse(rows.trade_count > 0, one, zero),
        "days_60d": one,
        "realized_pnl_126d": rows.realized_pnl,
        "profit_days_126d": ibis.ifelse(rows.realized_pnl > 0, one, zero),
        "loss_days_126d": ibis.ifelse(rows.realized_pnl < 0, one, zero),
        "history_days": one,
    }
    return {k: v.fill_null(0).cast(WINDOW_STATE_SCHEMA[k]) for k, v in values.items()}


def _window_start(calendar: Sequence[date], days: int) -> date:
    return calendar[-days] if len(calendar) >= days else calendar[0]


def window_state_from_history(
    *, customer_indicators: ir.Table, history: ir.Table | None, trading_days: Sequence[date], day: date
) -> ir.Table:
    """The windows' sums of D (``WINDOW_STATE_SCHEMA``) from every day of the windows: D's
    customer indicators and the earlier days in ``history``. A run's first day with no state
    of the day before starts so; every later day carries it (:func:`window_state`)."""
    calendar = _calendar(trading_days, day)
    ci = _nullable(customer_indicators)
    columns = REQUIRED_COLUMNS["history"]
    today = ci.select(
        customer_no=ci.customer_no,
        trade_date=ibis.literal(day),
        **{c: ci[c] for c in columns if c not in ("customer_no", "trade_date")},
    )
    rows = today
    earliest = _window_start(calendar, LONG_WINDOW)
    if history is not None:
        history = _nullable(history)
        earlier = history.filter((history.trade_date >= earliest) & (history.trade_date < day))
        earlier = earlier.select(
            customer_no=earlier.customer_no,
            trade_date=earlier.trade_date.cast("date"),
            **{c: earlier[c].cast(today[c].type()) for c in columns if c not in ("customer_no", "trade_date")},
        )
        rows = ibis.union(today, earlier, distinct=False)
    measures = _day_measures(rows)
    aggregates: dict[str, ir.Value] = {
        name: value.sum(where=rows.trade_date >= _window_start(calendar, _MEASURE_WINDOWS[name]))
        .fill_null(0)
        .cast(WINDOW_STATE_SCHEMA[name])
        for name, value in measures.items()
    }
    aggregates["last_trade_date"] = rows.trade_date.max(where=rows.trade_count > 0)
    return rows.group_by("customer_no").aggregate(**aggregates)


def window_state(
    *,
    customer_indicators: ir.Table,
    previous: ir.Table,
    leaving: Mapping[int, ir.Table | None],
    trading_days: Sequence[date],
    day: date,
) -> ir.Table:
    """The windows' sums of D from those of the trading day before (``previous``): add D's row,
    subtract the row of the day that leaves each window — ``leaving[w]``, the customer
    indicators of the trading day ``w`` days before D (None while the calendar is shorter than
    ``w + 1`` days). Exact, and it reads three earlier days instead of six months of them; a
    customer with no day left in the longest window drops out."""
    calendar = _calendar(trading_days, day)
    ci = _nullable(customer_indicators)
    previous = _nullable(previous)
    today = ci.select("customer_no", **_day_measures(ci))
    keys = ibis.union(previous.select("customer_no"), today.select("customer_no"), distinct=True)
    joined = keys.left_join(previous, keys.customer_no == previous.customer_no).left_join(
        today, keys.customer_no == today.customer_no
    )
    columns = {"customer_no": keys.customer_no}
    for name in _MEASURE_WINDOWS:
        columns[name] = previous[name].fill_null(0) + today[name].fill_null(0)
    last = ibis.cases(
        (today.trade_count_20d > 0, ibis.literal(day)),
        (previous.last_trade_date >= _window_start(calendar, LONG_WINDOW), previous.last_trade_date),
        else_=ibis.literal(None, type="date"),
    )
    state = joined.select(**columns, last_trade_date=last)
    for window in sorted({*_MEASURE_WINDOWS.values()}):
        gone = leaving.get(window)
        if gone is None:
            continue
        gone = _nullable(gone)
        names = [n for n, w in _MEASURE_WINDOWS.items() if w == window]
        out = gone.select("customer_no", **{k: v for k, v in _day_measures(gone).items() if k in names})
        state = state.left_join(out, state.customer_no == out.customer_no).select(
            *[c for c in state.columns if c not in names],
            **{n: (state[n] - out[n].fill_null(0)).cast(WINDOW_STATE_SCHEMA[n]) for n in names},
        )
    state = state.filter(state.history_days > 0)
    return state.select(*WINDOW_STATE_SCHEMA.names).cast(WINDOW_STATE_SCHEMA)


def _calendar(trading_days: Sequence[date], day: date) -> list[date]:
    calendar = sorted(d for d in set(trading_days) if d <= day)
    if not calendar or calendar[-1] != day:
        calendar.append(day)
    return calendar


def _windows(*, state: ir.Table, lookbacks: Mapping[str, ir.Table | None]) -> ir.Table:
    """The window features of D from its window state and the look-back days' customer
    indicators (``lookbacks[key]``: the day ``LOOKBACKS[key]`` trading days before D, or None)."""
    w = state
    for key in LOOKBACKS:
        back = lookbacks.get(key)
        if back is None:
            w = w.mutate(**{f"ago_{key}": ibis.literal(None, type=WIDE)})
            continue
        back = _nullable(back)
        back = back.select(customer_no=back.customer_no, **{f"ago_{key}": back.total_assets.cast(WIDE)})
        w = w.left_join(back, w.customer_no == back.customer_no).select(w, back[f"ago_{key}"])
    # a customer with no day among the 60 has no 60-day mean (not a mean of 0)
    numerator = ibis.ifelse(w.days_60d == 0, ibis.literal(None, type=WIDE), w.assets_sum_60d.cast(WIDE))
    return with_quotients(w, avg_assets_60d=(numerator, w.days_60d))


def lookback_days(trading_days: Sequence[date], day: date) -> dict[str, date | None]:
    """The trading day of each look-back (``LOOKBACKS``) before ``day``, None where the calendar
    does not reach it."""
    calendar = _calendar(trading_days, day)
    return {key: (calendar[-1 - back] if len(calendar) > back else None) for key, back in LOOKBACKS.items()}


def leaving_days(trading_days: Sequence[date], day: date) -> dict[int, date | None]:
    """For each window length, the trading day that leaves the window on ``day`` (the one
    ``w`` trading days before it), None where the calendar does not reach it."""
    calendar = _calendar(trading_days, day)
    windows = sorted({*_MEASURE_WINDOWS.values()})
    return {w: (calendar[-1 - w] if len(calendar) > w else None) for w in windows}


def _holdings(
    *,
    positions: ir.Table,
    closes: ir.Table,
    securities: ir.Table,
    industries: ir.Table | None,
    accounts: ir.Table,
) -> tuple[ir.Table, ir.Table]:
    """Per customer: what they hold at the end of D, and their top industry."""
    cny = accounts.filter(accounts.currency == BASE_CURRENCY).select("fund_account", "customer_no")
    key = ["exchange", "security_code"]
    names = securities.group_by(key).aggregate(name=securities.name.min())
    held = positions.filter(positions.quantity != 0)
    joined = held.inner_join(cny, "fund_account").left_join(closes, key).left_join(names, key)
    rows = joined.select(
        customer_no=cny.customer_no,
        exchange=held.exchange,
        security_code=held.security_code,
        security_type=closes.security_type,
        name=names.name,
        value=market_value(
            quantity=held.quantity,
            close_price=closes.close_price.fill_null(0),
            security_type=closes.security_type,
        ),
    )
    # One row per customer and security, whichever accounts hold it.
    per = rows.group_by(["customer_no", "exchange", "security_code"]).aggregate(
        security_type=rows.security_type.min(),
        name=rows.name.min(),
        value=rows.value.sum().cast(WIDE),
    )
    stock = (per.security_type == "stock").fill_null(False)
    code = per.security_code
    star = stock & (per.exchange == "SH") & _startswith_any(code, STAR_PREFIXES)
    chinext = stock & (per.exchange == "SZ") & _startswith_any(code, CHINEXT_PREFIXES)
    bse = stock & (per.exchange == BSE_EXCHANGE)
    st = stock & _startswith_any(per.name.fill_null(""), ST_PREFIXES)
    main = stock & ~star & ~chinext & ~bse
    government = ibis.literal(False)
    for exchange, prefixes in GOVERNMENT_BOND_PREFIXES.items():
        government = government | ((per.exchange == exchange) & _startswith_any(code, prefixes))
    risk = ibis.cases(
        (per.security_type == "repo", RISK_REPO),
        ((per.security_type == "bond") & government, RISK_GOVERNMENT_BOND),
        (per.security_type == "bond", RISK_BOND),
        (star | chinext | bse | st, RISK_BOARD),
        (per.security_type.isin(["stock", "fund", "etf", "lof", "convertible"]), RISK_ORDINARY),
        else_=ibis.literal(None, type="int64"),
    )
    per = per.mutate(
        _main=main, _star=star, _chinext=chinext, _bse=bse, _st=st, _stock=stock, _risk=risk
    )
    by_type = {k: per.security_type == k for k in ("etf", "lof", "fund", "bond", "convertible", "repo")}
    zero = _zero()
    holdings = per.group_by("customer_no").aggregate(
        security_count=per.count().cast("int64"),
        stock_count=per.count(where=per._stock).cast("int64"),
        largest_holding_value=per.value.max().cast(WIDE),
        largest_stock_value=per.value.max(where=per._stock).cast(WIDE),
        holds_main_board=per._main.any(),
        holds_chinext=per._chinext.any(),
        holds_star=per._star.any(),
        holds_bse=per._bse.any(),
        holds_st=per._st.any(),
        **{f"holds_{k}": cond.fill_null(False).any() for k, cond in by_type.items()},
        chinext_value=ibis.ifelse(per._chinext, per.value, zero).sum().cast(WIDE),
        star_value=ibis.ifelse(per._star, per.value, zero).sum().cast(WIDE),
        bse_value=ibis.ifelse(per._bse, per.value, zero).sum().cast(WIDE),
        st_value=ibis.ifelse(per._st, per.value, zero).sum().cast(WIDE),
        etf_value=ibis.ifelse(by_type["etf"].fill_null(False), per.value, zero).sum().cast(WIDE),
        convertible_value=ibis.ifelse(
            by_type["convertible"].fill_null(False), per.value, zero
        ).sum().cast(WIDE),
        max_holding_risk=per._risk.max().cast("int64"),
    )

    stocks = per.filter(per._stock)
    if industries is not None:
        ref = industries.group_by(key).aggregate(industry=industries.industry.min())
        stocks = stocks.left_join(ref, key).select(
            customer_no=stocks.customer_no,
            value=stocks.value,
            industry=ref.industry.fill_null(UNKNOWN_INDUSTRY),
        )
    else:
        stocks = stocks.select("customer_no", "value", industry=ibis.literal(UNKNOWN_INDUSTRY))
    by_industry = stocks.group_by(["customer_no", "industry"]).aggregate(
        value=stocks.value.sum().cast(WIDE)
    )
    ranked = by_industry.mutate(
        _rank=ibis.row_number().over(
            group_by="customer_no",
            order_by=[ibis.desc(by_industry.value), by_industry.industry],
        ),
        _known=(by_industry.industry != UNKNOWN_INDUSTRY),
    )
    counts = ranked.group_by("customer_no").aggregate(
        industry_count=ranked.count(where=ranked._known).cast("int64")
    )
    top = ranked.filter(ranked._rank == 0).select(
        "customer_no", top_industry=ranked.industry, top_industry_value=ranked.value
    )
    industry = top.inner_join(counts, "customer_no").select(
        top.customer_no, top.top_industry, top.top_industry_value, counts.industry_count
    )
    return holdings, industry


def _trades(*, trades: ir.Table, accounts: ir.Table, calendar: list[date], day: date) -> ir.Table:
    """Per customer: preferred channel, channels used and short round trips."""
    owners = accounts.select("fund_account", "customer_no")
    medium_start = calendar[-MEDIUM_WINDOW] if len(calendar) >= MEDIUM_WINDOW else calendar[0]
    short_start = calendar[-SHORT_WINDOW] if len(calendar) >= SHORT_WINDOW else calendar[0]
    window = trades.filter((trades.trade_date >= medium_start) & (trades.trade_date <= day))
    rows = window.inner_join(owners, "fund_account").select(
        customer_no=owners.customer_no,
        fund_account=window.fund_account,
        trade_date=window.trade_date.cast("date"),
        exchange=window.exchange,
        security_code=window.security_code,
        side=window.side,
        channel=window.channel,
    )
    per_channel = rows.group_by(["customer_no", "channel"]).aggregate(trades=rows.count())
    ranked = per_channel.mutate(
        _rank=ibis.row_number().over(
            group_by="customer_no",
            order_by=[ibis.desc(per_channel.trades), per_channel.channel],
        )
    )
    channels = ranked.group_by("customer_no").aggregate(
        preferred_channel=ranked.channel.min(where=ranked._rank == 0),
        channel_count_60d=ranked.count().cast("int64"),
    )
    recent = rows.filter(rows.trade_date >= short_start)
    per_security = recent.group_by(["customer_no", "fund_account", "exchange", "security_code"]).aggregate(
        first_buy=recent.trade_date.min(where=recent.side == "buy"),
        last_sell=recent.trade_date.max(where=recent.side == "sell"),
    )
    trips = per_security.filter(per_security.first_buy <= per_security.last_sell)
    trips = trips.group_by("customer_no").aggregate(round_trip_count_20d=trips.count().cast("int64"))
    return channels.left_join(trips, "customer_no").select(
        channels.customer_no,
        channels.preferred_channel,
        channels.channel_count_60d,
        round_trip_count_20d=trips.round_trip_count_20d.fill_null(0),
    )


def _credit(*, accounts: ir.Table, account_indicators: ir.Table) -> ir.Table:
    """Per customer: credit accounts (open, first open date) and their assets and debt on D."""
    credit = accounts.filter((accounts.account_type == CREDIT) & (accounts.status != "closed"))
    opened = credit.group_by("customer_no").aggregate(
        has_credit_account=ibis.literal(True), credit_open_date=credit.open_date.min()
    )
    ai = account_indicators.filter(account_indicators.account_type == CREDIT)
    figures = ai.group_by("customer_no").aggregate(
        credit_assets=ai.total_assets.sum().cast(WIDE), credit_debt=ai.debt.sum().cast(WIDE)
    )
    keys = opened.select("customer_no").union(figures.select("customer_no"), distinct=True)
    joined = keys.left_join(opened, "customer_no").left_join(figures, "customer_no")
    return joined.select(
        customer_no=keys.customer_no,
        has_credit_account=opened.has_credit_account.fill_null(False),
        credit_open_date=opened.credit_open_date,
        credit_assets=figures.credit_assets,
        credit_debt=figures.credit_debt,
    )
