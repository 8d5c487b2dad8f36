"""Reads of published counter data for pages: scoped to the acting user, indexed by customer.

A customer page never scans a trade table: every function here is a lookup on the customer's
own rows in the OLTP tables that ``services.datacenter_publish`` fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.db.models import Count, Q, QuerySet

from brokercrm.customers.choices import Pool, PoolReason
from brokercrm.customers.models import FundAccount
from brokercrm.datacenter.models import (
    AccountFlow,
    FlowKind,
    Holding,
    IndicatorDaily,
    MarginDebt,
    PoolEligibility,
    PublishRun,
)
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


# --- qualified customer pools (DOMAIN.md, "Qualified customer pools") ------------------------------

#: One customer's pools: pool → (eligible, failed reasons sorted).
PoolResults = dict[str, tuple[bool, tuple[str, ...]]]


@dataclass(frozen=True)
class PoolStatus:
    """One customer's result for one pool, as published for pages."""

    pool: str
    pool_label: str
    eligible: bool
    #: failed reasons (``PoolReason`` codes), sorted; empty when eligible
    reasons: tuple[str, ...]
    reason_labels: tuple[str, ...]
    #: the trading day whose evaluation produced this result
    as_of: date


def pool_label(pool: str) -> str:
    return str(Pool(pool).label) if pool in Pool.values else pool


def reason_label(reason: str) -> str:
    return str(PoolReason(reason).label) if reason in PoolReason.values else reason


def _pool_order(pool: str) -> int:
    return Pool.values.index(pool) if pool in Pool.values else len(Pool.values)


def customer_pools(*, actor: Any, customer_no: str) -> dict[str, PoolStatus]:
    """The customer's published pool results, pool → :class:`PoolStatus` in the order of
    ``customers.choices.Pool``; empty when the customer is out of the actor's scope or no pools
    have been published for them (then no pool is met)."""
    rows = PoolEligibility.objects.for_user(actor).filter(customer__customer_no=customer_no)
    result = [
        PoolStatus(
            pool=row.pool,
            pool_label=pool_label(row.pool),
            eligible=row.eligible,
            reasons=row.reason_codes,
            reason_labels=tuple(reason_label(r) for r in row.reason_codes),
            as_of=row.as_of,
        )
        for row in rows
    ]
    return {status.pool: status for status in sorted(result, key=lambda s: _pool_order(s.pool))}


def _has_reason(reason: str) -> Q:
    # reasons are ";"-joined codes: match the whole code, wherever it stands
    return (
        Q(reasons=reason)
        | Q(reasons__startswith=f"{reason};")
        | Q(reasons__endswith=f";{reason}")
        | Q(reasons__contains=f";{reason};")
    )


def pool_members(*, actor: Any, pool: str, eligible: bool, reason: str | None = None) -> QuerySet[PoolEligibility]:
    """Customers in the actor's scope that are (``eligible``) or are not in ``pool``, optionally
    only those failing ``reason``; ordered by customer number. Needs ``VIEW_POOLS`` (else none).

    Raises ``ValueError`` for an unknown pool or reason."""
    Pool(pool)
    if reason:
        PoolReason(reason)
    if not user_can(user=actor, capability=Capability.VIEW_POOLS):
        return PoolEligibility.objects.none()
    rows = PoolEligibility.objects.for_user(actor).filter(pool=pool, eligible=eligible)
    if reason:
        rows = rows.filter(_has_reason(reason))
    return rows.select_related("customer__branch", "customer__account_manager__user").order_by("customer__customer_no")


def pool_counts(*, actor: Any) -> dict[str, dict[bool, int]]:
    """Per pool, how many customers in the actor's scope are eligible (True) and not (False)."""
    counts: dict[str, dict[bool, int]] = {p: {True: 0, False: 0} for p in Pool.values}
    if not user_can(user=actor, capability=Capability.VIEW_POOLS):
        return counts
    for row in PoolEligibility.objects.for_user(actor).values("pool", "eligible").annotate(n=Count("id")):
        counts.setdefault(row["pool"], {True: 0, False: 0})[row["eligible"]] = row["n"]
    return counts


def pools_as_of() -> date | None:
    """The trading day of the published pools (the latest publication's latest day)."""
    run = PublishRun.objects.filter(finished_at__isnull=False, pools_fingerprint__gt="").first()
    return run.latest_day if run else None


def read_pools(*, data_dir: Path, day: date, customer_nos: Any = None) -> dict[str, PoolResults]:
    """Pool results of ``day`` from the warehouse snapshot (no database, no scope: for batch
    jobs such as the dated suitability export), as
    ``{customer_no: {pool: (eligible, reasons)}}``; only ``customer_nos`` when given.

    A customer without a CNY account on ``day`` has no entry (no pool is met). Raises
    ``ValueError`` when ``day`` has not been computed."""
    import pyarrow.compute as pc

    from brokercrm.datacenter import runner
    from brokercrm.datacenter.exports import ERR_DAY_NOT_COMPUTED

    table = runner.read_snapshot(data_dir=Path(data_dir), table="pools", day=day)
    if table is None:
        known = runner.computed_days(data_dir=Path(data_dir))
        span = f"{known[0]}..{known[-1]}" if known else "none"
        raise ValueError(ERR_DAY_NOT_COMPUTED.format(table="pools", day=day, known=span))
    if customer_nos is not None:
        table = table.filter(pc.is_in(table["customer_no"], value_set=_strings(customer_nos)))
    result: dict[str, PoolResults] = {}
    columns = [table.column(c).to_pylist() for c in ("customer_no", "pool", "eligible", "reasons")]
    for number, pool, eligible, reasons in zip(*columns):
        result.setdefault(number, {})[pool] = (bool(eligible), tuple(reasons.split(";")) if reasons else ())
    return {
        number: dict(sorted(pools.items(), key=lambda item: _pool_order(item[0])))
        for number, pools in sorted(result.items())
    }


def _strings(values: Any):
    import pyarrow as pa

    return pa.array(sorted(set(values)), type=pa.string())
