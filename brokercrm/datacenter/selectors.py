"""Reads of published counter data for pages: scoped to the acting user, indexed by customer.

A customer page never scans a trade table: every function here is a lookup on the customer's
own rows in the OLTP tables that ``services.datacenter_publish`` fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from brokercrm.customers.models import FundAccount
from brokercrm.datacenter.models import AccountFlow, FlowKind, Holding, IndicatorDaily, MarginDebt, PublishRun
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can

#: indicators drawn in the customer page's history chart
CHART_SERIES = ("total_assets", "net_assets", "cash_balance", "stock_value", "fund_value", "bond_value", "debt")


def customer_fund_accounts(*, actor: Any, customer_no: str) -> QuerySet[FundAccount]:
    return FundAccount.objects.for_user(actor).filter(customer__customer_no=customer_no).order_by("fund_account")


def customer_holdings(*, actor: Any, customer_no: str) -> QuerySet[Holding]:
    return Holding.objects.for_user(actor).filter(customer__customer_no=customer_no).order_by(
        "fund_account", "-market_value"
    )


def customer_margin_debts(*, actor: Any, customer_no: str) -> QuerySet[MarginDebt]:
    return MarginDebt.objects.for_user(actor).filter(customer__customer_no=customer_no)


def customer_recent_flows(*, actor: Any, customer_no: str, kind: str, limit: int = 50) -> list[AccountFlow]:
    """The newest ``limit`` flows of one kind (trades, cash flows, transfers, freezes)."""
    FlowKind(kind)
    return list(
        AccountFlow.objects.for_user(actor)
        .filter(customer__customer_no=customer_no, kind=kind)
        .order_by("-trade_date", "-serial_no")[:limit]
    )


def customer_indicator_history(*, actor: Any, customer_no: str) -> list[IndicatorDaily]:
    """The published daily indicators of the customer, oldest first."""
    return list(
        IndicatorDaily.objects.for_user(actor).filter(customer__customer_no=customer_no).order_by("trade_date")
    )


def indicator_chart(history: list[IndicatorDaily]) -> dict[str, Any]:
    """Series for the ECharts history chart (money as strings: no float on the way)."""
    return {
        "dates": [row.trade_date.isoformat() for row in history],
        "series": {name: [str(getattr(row, name)) for row in history] for name in CHART_SERIES},
    }


@dataclass(frozen=True)
class DayStatus:
    trade_date: date
    counters: dict[str, dict[str, int]]
    quarantined: int
    breaks: int
    warnings: int
    computed: bool


def datacenter_status(*, actor: Any, data_dir: Path, limit: int = 60) -> list[DayStatus]:
    """Per trading day, newest first: what each counter delivered (read / loaded / quarantined),
    and the reconciliation breaks and data-quality warnings computed. Needs ``VIEW_DATACENTER``."""
    if not user_can(user=actor, capability=Capability.VIEW_DATACENTER):
        return []
    from brokercrm.datacenter import runner, warehouse

    registries = {c: warehouse.registry(data_dir, c) for c in warehouse.ingested_days(data_dir)}
    computed = set(runner.computed_days(data_dir=data_dir))
    days = sorted({d for entries in registries.values() for d in entries}, reverse=True)[:limit]
    result = []
    for day in days:
        counters: dict[str, dict[str, int]] = {}
        for counter, entries in registries.items():
            entry = entries.get(day)
            if entry is None:
                continue
            files = entry.get("files", {})
            counters[counter] = {
                key: sum(int(f.get(key, 0)) for f in files.values()) for key in ("read", "loaded", "quarantined")
            }
        breaks = runner.read_snapshot(data_dir=data_dir, table="reconciliation", day=day) if day in computed else None
        warnings = runner.read_snapshot(data_dir=data_dir, table="dq_warnings", day=day) if day in computed else None
        result.append(
            DayStatus(
                trade_date=day,
                counters=counters,
                quarantined=sum(c["quarantined"] for c in counters.values()),
                breaks=breaks.num_rows if breaks is not None else 0,
                warnings=warnings.num_rows if warnings is not None else 0,
                computed=day in computed,
            )
        )
    return result


def datacenter_breaks(*, actor: Any, data_dir: Path, day: date) -> list[dict[str, Any]]:
    """The reconciliation breaks of one day (``VIEW_DATACENTER``)."""
    if not user_can(user=actor, capability=Capability.VIEW_DATACENTER):
        return []
    from brokercrm.datacenter import runner

    table = runner.read_snapshot(data_dir=data_dir, table="reconciliation", day=day)
    return table.to_pylist() if table is not None else []


def datacenter_quarantine(*, actor: Any, data_dir: Path, day: date) -> list[dict[str, Any]]:
    """The quarantined rows of one day, every counter (``VIEW_DATACENTER``)."""
    if not user_can(user=actor, capability=Capability.VIEW_DATACENTER):
        return []
    from brokercrm.datacenter import warehouse

    return warehouse.read_quarantine(data_dir, start=day, end=day).to_pylist()


def last_publication() -> PublishRun | None:
    return PublishRun.objects.filter(finished_at__isnull=False).first()
