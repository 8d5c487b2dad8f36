"""A small hand-built brokerage for the tag engine tests: five customers on D = 2024-06-28.

Every figure is chosen so that the features and tags can be worked out by hand; the expected values
are in ``test_features.py`` and ``test_catalogue.py``. The trading calendar is every weekday from
2023-12-01 to D (no holidays), so the windows are: 20 trading days from 2024-06-03, 60 from
2024-04-08, 126 from 2024-01-05; look-backs 1 month = 2024-05-30, 3 months = 2024-04-02,
6 months = 2024-01-04.

- ``C1`` young, active, new (opened 2024-05-01), C3, holds ChiNext (R4) and a bank stock;
- ``C2`` retired, wealthy, dormant, assessment expired, government bond and an ETF; a USD account
  whose holding must not count;
- ``C3`` an institution with a margin account at exactly 130%, STAR and a concentrated bank stock,
  assets down 30% in a month;
- ``C4`` lost, no assets;
- ``C5`` small, C0 (lowest category), BSE, ST, convertible and repo, a daily win rate of 6/8.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa

from brokercrm.datacenter import pipeline as pl
from brokercrm.datacenter.schema import table_schema

D = date(2024, 6, 28)


def weekdays(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


CALENDAR = weekdays(date(2023, 12, 1), D)


def _arrow(schema, rows: list[dict]) -> pa.Table:
    """Rows → Arrow with ``schema`` (an Ibis or Arrow schema); absent columns are 0 / None."""
    arrow_schema = schema.to_pyarrow() if hasattr(schema, "to_pyarrow") else schema
    columns = {}
    for f in arrow_schema:
        default = None
        if pa.types.is_decimal(f.type):
            default = Decimal(0)
        elif pa.types.is_integer(f.type):
            default = 0
        values = []
        for row in rows:
            v = row.get(f.name, default)
            if pa.types.is_decimal(f.type) and v is not None:
                v = Decimal(v)
            values.append(v)
        columns[f.name] = pa.array(values, type=f.type)
    return pa.table(columns, schema=pa.schema([f.with_nullable(True) for f in arrow_schema]))


#: The carried customer master (it holds branch_code, birth_date and gender).
CUSTOMER_MASTER_SCHEMA = pl.CUSTOMERS_SCHEMA.to_pyarrow()


def customers() -> pa.Table:
    common = {"trade_date": D, "counter": "hundsun", "status": "normal", "investor_class": "ordinary"}
    rows = [
        dict(common, customer_no="C1", branch_code="B01", customer_type="individual", gender="male",
             birth_date=date(1999, 7, 15), open_date=date(2024, 5, 1), risk_level="C3",
             risk_expiry=date(2025, 1, 1), first_trade_date=None, first_trade_seen=date(2024, 5, 6)),
        dict(common, customer_no="C2", branch_code="B01", customer_type="individual", gender="female",
             birth_date=date(1950, 1, 1), open_date=date(2010, 3, 1), risk_level="C2",
             risk_expiry=date(2023, 12, 31), first_trade_date=date(2010, 3, 5)),
        dict(common, customer_no="C3", branch_code="B02", customer_type="institution", gender=None,
             birth_date=None, open_date=date(2015, 1, 1), risk_level=None, risk_expiry=None,
             investor_class="professional_i", first_trade_date=date(2015, 2, 1)),
        dict(common, customer_no="C4", branch_code="B02", customer_type="individual", gender="male",
             birth_date=None, open_date=date(2020, 6, 1), status="lost", risk_level="C4",
             risk_expiry=date(2024, 7, 20), first_trade_date=None, first_trade_seen=None),
        dict(common, customer_no="C5", branch_code="B01", customer_type="individual", gender="male",
             birth_date=date(1984, 6, 28), open_date=date(2021, 6, 28), risk_level="C0",
             risk_expiry=date(2026, 1, 1), first_trade_date=date(2021, 7, 1)),
    ]
    return _arrow(CUSTOMER_MASTER_SCHEMA, rows)


#: fund_account → (customer, type, currency, open date)
ACCOUNTS = {
    "A1": ("C1", "normal", "CNY", date(2024, 5, 1)),
    "A2": ("C2", "normal", "CNY", date(2010, 3, 1)),
    "A2U": ("C2", "normal", "USD", date(2012, 1, 1)),
    "A3N": ("C3", "normal", "CNY", date(2015, 1, 1)),
    "A3C": ("C3", "credit", "CNY", date(2019, 1, 2)),
    "A4": ("C4", "normal", "CNY", date(2020, 6, 1)),
    "A5": ("C5", "normal", "CNY", date(2021, 6, 28)),
}


def accounts() -> pa.Table:
    rows = [
        {"trade_date": D, "counter": "hundsun", "fund_account": fa, "customer_no": c,
         "branch_code": "B01", "account_type": t, "currency": cur, "open_date": opened,
         "status": "normal"}
        for fa, (c, t, cur, opened) in ACCOUNTS.items()
    ]
    return _arrow(pl.ACCOUNTS_SCHEMA, rows)


#: (exchange, code) → (type, name, close, industry or None)
SECURITIES = {
    ("SZ", "300750"): ("stock", "宁德时代", "200", "电力设备"),
    ("SH", "600000"): ("stock", "浦发银行", "10", "银行"),
    ("SH", "600036"): ("stock", "招商银行", "40", "银行"),
    ("SH", "688981"): ("stock", "中芯国际", "50", "电子"),
    ("SH", "019547"): ("bond", "24国债01", "100", None),
    ("SH", "510300"): ("etf", "沪深300ETF", "3.5", None),
    ("BJ", "920001"): ("stock", "北交示例", "10", "机械设备"),
    ("SZ", "000999"): ("stock", "*ST天雷", "2", "医药生物"),
    ("SH", "113001"): ("convertible", "天雷转债", "120", None),
    ("SH", "204001"): ("repo", "GC001", "1.5", None),
    ("SZ", "000001"): ("stock", "平安银行", "11", "银行"),
}


def closes() -> pa.Table:
    rows = [
        {"trade_date": D, "exchange": ex, "security_code": code, "security_type": t,
         "close_price": price, "close_date": D, "quoted": True}
        for (ex, code), (t, _, price, _) in SECURITIES.items()
    ]
    return _arrow(pl.CLOSES_SCHEMA, rows)


def securities() -> pa.Table:
    rows = [
        {"exchange": ex, "security_code": code, "name": name, "security_type": t,
         "counter": "hundsun", "trade_date": D, "line": i + 2}
        for i, ((ex, code), (t, name, _, _)) in enumerate(SECURITIES.items())
    ]
    return _arrow(table_schema("securities"), rows)


def industries() -> pa.Table:
    rows = [
        {"exchange": ex, "security_code": code, "industry": ind}
        for (ex, code), (_, _, _, ind) in SECURITIES.items()
        if ind is not None
    ]
    return pa.table({k: [r[k] for r in rows] for k in ("exchange", "security_code", "industry")})


#: fund_account → [(exchange, code, quantity)]
HOLDINGS = {
    "A1": [("SZ", "300750", 1000), ("SH", "600000", 10000)],
    "A2": [("SH", "019547", 10000), ("SH", "510300", 100000)],
    "A2U": [("SH", "600036", 100)],
    "A3N": [("SH", "688981", 2000)],
    "A3C": [("SH", "600036", 30000)],
    "A5": [("BJ", "920001", 100), ("SZ", "000999", 1000), ("SH", "113001", 10), ("SH", "204001", 10)],
}


def positions() -> pa.Table:
    rows = [
        {"trade_date": D, "counter": "hundsun", "fund_account": fa, "exchange": ex,
         "security_code": code, "quantity": q, "cost": 0, "average_cost": 0}
        for fa, held in HOLDINGS.items()
        for ex, code, q in held
    ]
    return _arrow(pl.POSITIONS_SCHEMA, rows)


#: account indicators of D (CNY accounts): cash, stock, fund, bond, debt
ACCOUNT_FIGURES = {
    "A1": ("50000", "300000", "0", "0", "0"),
    "A2": ("1650000", "0", "350000", "1000000", "0"),
    "A3N": ("0", "100000", "0", "0", "0"),
    "A3C": ("100000", "1200000", "0", "0", "1000000"),
    "A4": ("0", "0", "0", "0", "0"),
    "A5": ("4800", "3000", "0", "2200", "0"),
}


def account_indicators() -> pa.Table:
    rows = []
    for fa, (cash, stock, fund, bond, debt) in ACCOUNT_FIGURES.items():
        customer, kind, _, _ = ACCOUNTS[fa]
        total = Decimal(cash) + Decimal(stock) + Decimal(fund) + Decimal(bond)
        rows.append(
            {"trade_date": D, "counter": "hundsun", "fund_account": fa, "customer_no": customer,
             "account_type": kind, "cash_balance": cash, "stock_value": stock, "fund_value": fund,
             "bond_value": bond, "debt": debt, "total_assets": total,
             "net_assets": total - Decimal(debt)}
        )
    return _arrow(pl.ACCOUNT_INDICATORS_SCHEMA, rows)


def _today(customer: str) -> dict:
    """Today's customer indicators: sums of the accounts, plus the day's flows below."""
    rows = [r for r in account_indicators().to_pylist() if r["customer_no"] == customer]
    out = {"trade_date": D, "customer_no": customer}
    for k in ("cash_balance", "stock_value", "fund_value", "bond_value", "debt", "total_assets", "net_assets"):
        out[k] = sum((r[k] for r in rows), Decimal(0))
    return out


#: today's flows per customer (the rest is 0)
TODAY_FLOWS = {
    "C1": {"trade_count": 2, "trade_amount": "20000", "realized_pnl": "100", "bank_in": "50000",
           "net_commission": "10"},
}
#: avg_assets_20d as the pipeline would have it (only compared, not recomputed here)
AVG_20D = {"C1": "305000", "C2": "3000000", "C3": "1520000", "C4": "0", "C5": "10000"}


def customer_indicators() -> pa.Table:
    rows = []
    for c in ("C1", "C2", "C3", "C4", "C5"):
        row = _today(c)
        row.update(TODAY_FLOWS.get(c, {}))
        row["avg_assets_20d"] = AVG_20D[c]
        row["pool_assets"] = row["total_assets"]
        rows.append(row)
    return _arrow(pl.CUSTOMER_INDICATORS_SCHEMA, rows)


C5_PNL = {
    date(2024, 2, 1): "500", date(2024, 2, 2): "500", date(2024, 3, 1): "500",
    date(2024, 4, 1): "500", date(2024, 5, 2): "500", date(2024, 6, 3): "500",
    date(2024, 3, 4): "-200", date(2024, 6, 4): "-200",
}


def history() -> pa.Table:
    """Customer indicators of every calendar day before D (more than the features read)."""
    rows = []
    for day in CALENDAR[:-1]:
        if day >= date(2024, 5, 6):
            row = {"trade_date": day, "customer_no": "C1", "total_assets": "300000"}
            if day == date(2024, 5, 6):
                row["bank_in"] = "300000"
            if day >= date(2024, 6, 3):
                row.update(trade_count=1, trade_amount="10000", realized_pnl="100", net_commission="5")
            rows.append(row)
        rows.append({"trade_date": day, "customer_no": "C2", "total_assets": "3000000"})
        row = {"trade_date": day, "customer_no": "C3",
               "total_assets": "2000000" if day <= date(2024, 5, 30) else "1400000"}
        if day == date(2024, 5, 31):
            row["bank_out"] = "600000"
        if day == date(2024, 3, 1):
            row.update(trade_count=1, trade_amount="50000")
        rows.append(row)
        rows.append({"trade_date": day, "customer_no": "C4", "total_assets": "0"})
        row = {"trade_date": day, "customer_no": "C5", "total_assets": "10000"}
        if day in C5_PNL:
            row.update(trade_count=1, trade_amount="3000", realized_pnl=C5_PNL[day])
        rows.append(row)
    return _arrow(pl.CUSTOMER_INDICATORS_SCHEMA, rows)


TRADES = [
    # (day, account, exchange, code, side, channel)
    (date(2024, 6, 24), "A1", "SZ", "000001", "buy", "mobile"),
    (date(2024, 6, 26), "A1", "SZ", "000001", "sell", "mobile"),
    (date(2024, 6, 27), "A1", "SZ", "300750", "buy", "internet"),
    (date(2024, 6, 3), "A5", "SZ", "000999", "buy", "counter"),
    (date(2024, 6, 4), "A5", "SH", "113001", "sell", "counter"),
    (date(2024, 1, 10), "A5", "SZ", "000999", "sell", "phone"),  # outside the 60-day window
    (date(2024, 3, 1), "A3C", "SH", "600036", "buy", "terminal"),  # outside the 60-day window
]


def trades() -> pa.Table:
    rows = [
        {"serial_no": i + 1, "fund_account": fa, "exchange": ex, "security_code": code, "side": side,
         "quantity": 100, "price": "10", "amount": "1000", "channel": channel, "counter": "hundsun",
         "trade_date": day, "line": i + 2}
        for i, (day, fa, ex, code, side, channel) in enumerate(TRADES)
    ]
    return _arrow(table_schema("trades"), rows)


#: segments stage output (tier, class, contribution)
SEGMENT_VALUES = {
    "C1": ("silver", "C", "800"),
    "C2": ("diamond", "B", "60000"),
    "C3": ("gold", "A", "12000"),
    "C4": ("standard", "D", "0"),
    "C5": ("standard", "D", "150"),
}


#: The columns of the segments stage's snapshot that the features read.
SEGMENTS_COLUMNS = pa.schema(
    [
        pa.field("trade_date", pa.date32()),
        pa.field("customer_no", pa.string()),
        pa.field("tier", pa.string()),
        pa.field("abcd_class", pa.string()),
        pa.field("contribution", pa.decimal128(38, 10)),
        pa.field("turnover", pa.decimal128(38, 10)),
        pa.field("net_commission_12m", pa.decimal128(38, 10)),
    ]
)


def segments() -> pa.Table:
    rows = [
        {"trade_date": D, "customer_no": c, "tier": tier, "abcd_class": cls,
         "contribution": contribution, "turnover": "1.5", "net_commission_12m": contribution}
        for c, (tier, cls, contribution) in SEGMENT_VALUES.items()
    ]
    return _arrow(SEGMENTS_COLUMNS, rows)


def inputs() -> dict[str, pa.Table]:
    """Every input of ``feature_table`` as Arrow (without ``day`` and ``trading_days``)."""
    return {
        "customers": customers(),
        "customer_indicators": customer_indicators(),
        "history": history(),
        "accounts": accounts(),
        "account_indicators": account_indicators(),
        "positions": positions(),
        "closes": closes(),
        "securities": securities(),
        "industries": industries(),
        "trades": trades(),
        "segments": segments(),
    }
