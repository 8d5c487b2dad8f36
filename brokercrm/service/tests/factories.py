"""A small hand-worked market for the service tests, on top of ``brokercrm.testing.build_world``.

As of Wednesday 2026-04-22 (the published day), with an event on SH600036 and SZ000858:

| customer | AM | holdings of the event's securities | other | total assets | ratio | tier | risk |
| --- | --- | --- | --- | --- | --- | --- | --- |
| a1 10000001 | am_a1 | 600036: 35,000.00 (normal) + 17,500.00 (credit); 000858: 30,000.00 | 601398: 5,000.00 | 250,000.00 | 0.33 | — (standard) | C3 |
| a1b 10000002 | am_a1b | 000858: 15,000.00 | | 100,000.00 | 0.15 | silver | C5 |
| a2 10000003 | am_a2 | 600036: 15,000.00 | | 1,000,000.00 | 0.015 | gold | C1, professional II |
| a_unassigned 10000004 | — | 600036: 3,000.00 | | 10,000.00 | 0.30 (exactly) | standard | C1 |
| b 10000005 | am_b | 000858: 999.99 | | 10,000.00 | 0.099999 | standard | C4, expired |

Worked by hand: exposure a1 = 35,000 + 17,500 + 30,000 = 82,500.00 (601398 is not affected);
ranks by exposure descending then customer number: a1 82,500.00; a1b 15,000.00 and a2
15,000.00 tie → 10000002 before 10000003; a_unassigned 3,000.00; b 999.99.
Priorities: a1 high (0.33 ≥ 0.30); a1b medium (0.15 ≥ 0.10, silver is not high); a2 high (gold,
though 0.015 is low); a_unassigned high (0.30 is ≥ 0.30); b low (0.099999 < 0.10, although it
shows as 0.1000 with four places). Risk groups: a1 c3; a1b c4_c5; a2 professional (class beats
level); a_unassigned c1_c2; b c1_c2 (expired assessment counts as none).

The figures are written twice: in the database (holdings, indicators, tiers — what the pages
show) and as the published warehouse version of the day under ``settings.DATA_DIR`` (``positions``
at ``closes``, ``accounts``, ``customer_indicators``, ``segments`` and the industry reference —
what the impact list is computed from; ``conftest`` points ``DATA_DIR`` at a fresh folder). The
warehouse also holds fund account F9 of customer 99999999, whom the database does not know yet,
with 600036: left out of every list.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.utils import timezone

from brokercrm.customers.models import Customer
from brokercrm.datacenter import runner, warehouse
from brokercrm.datacenter.models import Holding, IndicatorDaily, PublishRun
from brokercrm.segments.models import CustomerSegment
from brokercrm.testing import World

AS_OF = date(2026, 4, 22)

#: key → (holdings [(fund account, exchange, code, market value)], total assets, tier, risk, class, expiry)
BOOK = {
    "a1": (
        [("F1", "SH", "600036", "35000.00"), ("F1C", "SH", "600036", "17500.00"), ("F1", "SZ", "000858", "30000.00"), ("F1", "SH", "601398", "5000.00")],
        "250000.00", None, "C3", "ordinary", None,
    ),
    "a1b": ([("F2", "SZ", "000858", "15000.00")], "100000.00", "silver", "C5", "ordinary", None),
    "a2": ([("F3", "SH", "600036", "15000.00")], "1000000.00", "gold", "C1", "professional_ii", None),
    "a_unassigned": ([("F4", "SH", "600036", "3000.00")], "10000.00", "standard", "C1", "ordinary", None),
    "b": ([("F5", "SZ", "000858", "999.99")], "10000.00", "standard", "C4", "ordinary", date(2026, 1, 31)),
}  # fmt: skip

EVENT_SECURITIES = ["SH600036", "SZ000858"]
#: close of each security on the day: a holding's quantity is its market value ÷ this
CLOSES = {("SH", "600036"): D("5.0000"), ("SZ", "000858"): D("0.0100"), ("SH", "601398"): D("5.0000"),
          ("SH", "600519"): D("1500.0000")}  # fmt: skip
INDUSTRIES = {("SH", "600036"): "银行", ("SH", "601398"): "银行", ("SZ", "000858"): "食品饮料", ("SH", "600519"): "食品饮料"}
#: a customer of the warehouse the database does not know (published after the day)
UNKNOWN = ("F9", "99999999", [("SH", "600036", "1000.00")])


def build_market(world: World, *, as_of: date = AS_OF, data_dir: Path | None = None, warehouse_book: dict | None = None) -> None:
    """Holdings, indicators and tiers of the table above, and a finished publication of ``as_of``;
    the same figures as the warehouse's published version (:func:`write_warehouse`)."""
    write_warehouse(
        Path(data_dir or settings.DATA_DIR),
        {world.customers[key].customer_no: values for key, values in (warehouse_book or BOOK).items()},
        as_of=as_of,
    )
    for key, (holdings, total, tier, risk, investor_class, expiry) in BOOK.items():
        customer = world.customers[key]
        Customer.objects.unscoped().filter(pk=customer.pk).update(
            risk_level=risk, investor_class=investor_class, risk_expiry=expiry
        )
        for account, exchange, code, value in holdings:
            Holding.objects.unscoped().create(
                customer=customer, fund_account=account, trade_date=as_of, exchange=exchange, security_code=code,
                industry="银行" if code in ("600036", "601398") else "食品饮料",
                quantity=int(D(value) / CLOSES[exchange, code]), close_price=CLOSES[exchange, code], market_value=D(value),
                average_cost=D("1"), unrealized_pnl=D("0"),
            )  # fmt: skip
        money = {name: D("0") for name in (
            "cash_balance", "bank_in", "bank_out", "securities_in_value", "securities_out_value", "stock_value",
            "fund_value", "bond_value", "debt", "net_assets", "realized_pnl", "interest_base", "trade_amount",
            "commission", "net_commission", "frozen_balance", "avg_assets_20d",
        )}  # fmt: skip
        money["trade_amount"] = D("1000.00") if key != "b" else D("3000.00")
        money["commission"] = D("2.50") if key != "b" else D("7.50")
        IndicatorDaily.objects.unscoped().create(
            customer=customer, trade_date=as_of, total_assets=D(total), trade_count=1, **money
        )
        if tier:
            CustomerSegment.objects.unscoped().create(
                customer=customer, tier=tier, tier_since=as_of, abcd_class="A", as_of=as_of,
                contribution=D("0"), turnover=D("0"), net_commission_12m=D("0"),
            )  # fmt: skip
    PublishRun.objects.create(
        snapshot_version="test", latest_day=as_of, finished_at=timezone.make_aware(datetime(2026, 4, 22, 20, 0))
    )


def _snapshot(name: str, rows: list[dict]) -> pa.Table:
    schema = runner.SNAPSHOT_TABLES[name]
    return pa.table({n: [r.get(n) for r in rows] for n in schema.names}, schema=schema.to_pyarrow())


def write_warehouse(data_dir: Path, book: dict, *, as_of: date = AS_OF, version: str = "v000001") -> Path:
    """The day's snapshots of ``book`` (customer_no → a :data:`BOOK` entry), plus :data:`UNKNOWN`
    and the industry reference, as the published version (``CURRENT``) under ``data_dir``."""
    folder = runner.snapshots_dir(data_dir) / "versions" / version
    folder.mkdir(parents=True, exist_ok=True)
    (folder / runner.MANIFEST).write_text(json.dumps({"days": [as_of.isoformat()]}), encoding="utf-8")
    base = {"trade_date": as_of, "counter": "t"}
    accounts, positions, indicators, segments = [], [], [], []
    for number, (holdings, total, tier, *_profile) in book.items():
        for account in sorted({h[0] for h in holdings}):
            accounts.append({**base, "fund_account": account, "customer_no": number, "currency": "CNY"})
        for account, exchange, code, value in holdings:
            quantity = int(D(value) / CLOSES[exchange, code])
            positions.append({**base, "fund_account": account, "exchange": exchange, "security_code": code, "quantity": quantity})
        if total is not None:
            indicators.append({**base, "customer_no": number, "total_assets": D(total)})
        if tier:
            segments.append({**base, "customer_no": number, "tier": tier})
    account, number, holdings = UNKNOWN
    accounts.append({**base, "fund_account": account, "customer_no": number, "currency": "CNY"})
    for exchange, code, value in holdings:
        positions.append({**base, "fund_account": account, "exchange": exchange, "security_code": code,
                          "quantity": int(D(value) / CLOSES[exchange, code])})  # fmt: skip
    # sold out during the day: a position of 0 is no holding
    positions.append({**base, "fund_account": accounts[0]["fund_account"], "exchange": "SH", "security_code": "600519", "quantity": 0})
    closes = [
        {"trade_date": as_of, "exchange": ex, "security_code": code, "security_type": "stock", "close_price": price,
         "close_date": as_of, "quoted": True}
        for (ex, code), price in sorted(CLOSES.items())
    ]  # fmt: skip
    tables = {"accounts": accounts, "positions": positions, "closes": closes, "customer_indicators": indicators, "segments": segments}
    for name, rows in tables.items():
        runner._write(_snapshot(name, rows), runner._partition(folder, name, as_of), runner.SNAPSHOT_TABLES[name])
    (runner.snapshots_dir(data_dir) / runner.CURRENT).write_text(version + "\n", encoding="utf-8")
    reference = warehouse.industry_path(data_dir)
    reference.parent.mkdir(parents=True, exist_ok=True)
    industry = pa.table(
        {"exchange": [k[0] for k in INDUSTRIES], "security_code": [k[1] for k in INDUSTRIES], "industry": list(INDUSTRIES.values())},
        schema=warehouse.INDUSTRY_SCHEMA,
    )
    pq.write_table(industry, reference)
    return folder
