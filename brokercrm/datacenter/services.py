"""Publishing warehouse results to the OLTP database, for pages (DESIGN.md, "publish").

One run, one transaction: customers and fund accounts (the master data of the days not yet
published), the daily indicators, holdings, recent flows and margin debts of a rolling window of
recent trading days. A reader sees either the previous publication or this one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import ibis
import pyarrow as pa
from django.db import transaction
from django.utils import timezone

from brokercrm.config import get_config
from brokercrm.customers.models import Customer, FundAccount
from brokercrm.customers.services import leads_convert
from brokercrm.datacenter import pipeline as pl
from brokercrm.datacenter import runner, warehouse
from brokercrm.datacenter.dictionaries import UNKNOWN_INDUSTRY
from brokercrm.datacenter.exports import to_cents
from brokercrm.datacenter.models import AccountFlow, FlowKind, Holding, IndicatorDaily, MarginDebt, PublishRun
from brokercrm.datacenter.models import PoolEligibility
from brokercrm.kyc.services import assessments_apply_counter
from brokercrm.org.choices import NodeKind
from brokercrm.org.models import OrgNode
from brokercrm.org.services import org_node_ensure

#: where branches first seen in counter data are placed until head office moves them
UNPLACED_REGION = ("UNPLACED", "待归属区域")
HQ_NODE = ("HQ", "总部")
BATCH = 5000

TICK = Decimal("0.0001")

Progress = Callable[[str, int, int], None]


def _money(value: Any) -> Decimal:
    # the export's rounding, so that a page shows the figures of `brokercrm export indicators`
    return to_cents(Decimal(value or 0))


def _price(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(TICK, rounding=ROUND_HALF_UP)


def _batches(rows: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class PublishSummary:
    """What :func:`datacenter_publish` wrote."""

    latest_day: date | None
    days: list[date] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _latest_rows(table: pa.Table, key: str) -> list[dict[str, Any]]:
    """The last row per ``key`` by (trade_date, line): "later rows replace earlier ones"."""
    latest: dict[str, dict[str, Any]] = {}
    for row in table.sort_by([("trade_date", "ascending"), ("line", "ascending")]).to_pylist():
        latest[row[key]] = row
    return list(latest.values())


def _branches(codes: set[str]) -> dict[str, OrgNode]:
    """Organisation nodes for the branch codes of counter data; unknown codes become branches
    under the 'unplaced' region so that no customer is dropped."""
    nodes = {n.code: n for n in OrgNode.objects.filter(code__in=codes, kind=NodeKind.BRANCH)}
    missing = sorted(codes - set(nodes))
    if missing:
        hq = OrgNode.objects.filter(kind=NodeKind.HQ).order_by("id").first() or org_node_ensure(
            code=HQ_NODE[0], name=HQ_NODE[1], kind=NodeKind.HQ, parent=None
        )
        region = org_node_ensure(code=UNPLACED_REGION[0], name=UNPLACED_REGION[1], kind=NodeKind.REGION, parent=hq)
        for code in missing:
            nodes[code] = org_node_ensure(code=code, name=f"营业部 {code}", kind=NodeKind.BRANCH, parent=region)
    return nodes


def _publish_customers(rows: list[dict[str, Any]], progress: Progress | None) -> int:
    branches = _branches({r["branch_code"] for r in rows})
    fields = [
        "name", "customer_type", "status", "branch", "id_type", "id_number", "mobile", "open_date", "birth_date",
        "gender", "risk_level", "risk_expiry", "investor_class", "invest_horizon", "invest_varieties",
        "first_trade_date", "aml_level", "counter",
    ]  # fmt: skip
    done = 0
    for batch in _batches(rows):
        Customer.objects.unscoped().bulk_create(
            [
                Customer(
                    customer_no=r["customer_no"],
                    name=r["name"],
                    customer_type=r["customer_type"],
                    status=r["status"],
                    branch=branches[r["branch_code"]],
                    id_type=r["id_type"],
                    id_number=r["id_number"],
                    mobile=r["mobile"] or "",
                    open_date=r["open_date"],
                    birth_date=r["birth_date"],
                    gender=r["gender"] or "",
                    risk_level=r["risk_level"] or "",
                    risk_expiry=r["risk_expiry"],
                    investor_class=r["investor_class"],
                    invest_horizon=r["invest_horizon"] or "",
                    invest_varieties=r["invest_varieties"] or "",
                    first_trade_date=r["first_trade_date"],
                    aml_level=r["aml_level"],
                    counter=r["counter"],
                )
                for r in batch
            ],
            update_conflicts=True,
            unique_fields=["customer_no"],
            update_fields=fields,
        )
        done += len(batch)
        if progress:
            progress("customers", done, len(rows))
    return len(rows)


def _customer_ids(numbers: Iterable[str]) -> dict[str, int]:
    wanted = list(set(numbers))
    ids: dict[str, int] = {}
    for batch in _batches(wanted, 900):  # under SQLite's bound-parameter limit
        ids.update(Customer.objects.unscoped().filter(customer_no__in=batch).values_list("customer_no", "id"))
    return ids


def _publish_fund_accounts(rows: list[dict[str, Any]]) -> int:
    ids = _customer_ids(r["customer_no"] for r in rows)
    for batch in _batches(rows):
        FundAccount.objects.unscoped().bulk_create(
            [
                FundAccount(
                    fund_account=r["fund_account"],
                    customer_id=ids[r["customer_no"]],
                    account_type=r["account_type"],
                    currency=r["currency"],
                    open_date=r["open_date"],
                    status=r["status"],
                    counter=r["counter"],
                )
                for r in batch
                if r["customer_no"] in ids
            ],
            update_conflicts=True,
            unique_fields=["fund_account"],
            update_fields=["customer", "account_type", "currency", "open_date", "status", "counter"],
        )
    return len(rows)


def _account_owners() -> dict[str, int]:
    return dict(FundAccount.objects.unscoped().values_list("fund_account", "customer_id"))


def _publish_indicators(data_dir: Path, day: date, ids: dict[str, int]) -> int:
    table = runner.read_snapshot(data_dir=data_dir, table="customer_indicators", day=day)
    if table is None:
        return 0
    IndicatorDaily.objects.unscoped().filter(trade_date=day).delete()
    rows = table.to_pylist()
    for batch in _batches(rows):
        IndicatorDaily.objects.unscoped().bulk_create(
            [
                IndicatorDaily(
                    customer_id=ids[r["customer_no"]],
                    trade_date=day,
                    avg_assets_20d=_money(r["avg_assets_20d"]),
                    avg_assets_20d_partial=bool(r["avg_assets_20d_partial"]),
                    **{
                        name: (int(r[name]) if name in pl.COUNT_INDICATORS else _money(r[name]))
                        for name in pl.INDICATORS
                    },
                )
                for r in batch
                if r["customer_no"] in ids
            ]
        )
    return len(rows)


def _holdings_table(data_dir: Path, day: date) -> pa.Table | None:
    positions = runner.read_snapshot(data_dir=data_dir, table="positions", day=day)
    closes = runner.read_snapshot(data_dir=data_dir, table="closes", day=day)
    if positions is None or closes is None or positions.num_rows == 0:
        return None
    con = ibis.duckdb.connect()
    pos = con.create_table("positions", positions.drop_columns(["trade_date"]))
    cls = con.create_table("closes", closes.select(["exchange", "security_code", "security_type", "close_price"]))
    joined = pos.filter(pos.quantity > 0).left_join(cls, ["exchange", "security_code"])
    value = pl.market_value(
        quantity=joined.quantity,
        close_price=joined.close_price.fill_null(0),
        security_type=joined.security_type.fill_null("stock"),
    )
    return joined.select(
        "fund_account", "exchange", "security_code", "quantity", "cost", "average_cost",
        security_type=joined.security_type.fill_null(""),
        close_price=joined.close_price.fill_null(0),
        market_value=value,
    ).to_pyarrow()  # fmt: skip


def _security_names(data_dir: Path, day: date) -> dict[tuple[str, str], str]:
    table = warehouse.read_flows(data_dir, "securities", start=day, end=day)
    return {(r["exchange"], r["security_code"]): r["name"] for r in table.select(["exchange", "security_code", "name"]).to_pylist()}


def _industries(data_dir: Path) -> dict[tuple[str, str], str]:
    table = warehouse.read_industry(data_dir)
    if table is None:
        return {}
    return {(r["exchange"], r["security_code"]): r["industry"] for r in table.to_pylist()}


def _publish_holdings(data_dir: Path, day: date, owners: dict[str, int]) -> int:
    Holding.objects.unscoped().all().delete()
    table = _holdings_table(data_dir, day)
    if table is None:
        return 0
    names, industries = _security_names(data_dir, day), _industries(data_dir)
    rows = table.to_pylist()
    for batch in _batches(rows):
        Holding.objects.unscoped().bulk_create(
            [
                Holding(
                    customer_id=owners[r["fund_account"]],
                    fund_account=r["fund_account"],
                    trade_date=day,
                    exchange=r["exchange"],
                    security_code=r["security_code"],
                    security_name=names.get((r["exchange"], r["security_code"]), ""),
                    security_type=r["security_type"],
                    industry=industries.get((r["exchange"], r["security_code"]), UNKNOWN_INDUSTRY),
                    quantity=r["quantity"],
                    close_price=_price(r["close_price"]),
                    market_value=_money(r["market_value"]),
                    average_cost=_price(r["average_cost"]),
                    unrealized_pnl=_money(Decimal(r["market_value"]) - Decimal(r["cost"] or 0)),
                )
                for r in batch
                if r["fund_account"] in owners
            ]
        )
    return len(rows)


def _flow_rows(data_dir: Path, day: date, owners: dict[str, int]) -> Iterator[AccountFlow]:
    for r in warehouse.read_flows(data_dir, "trades", start=day, end=day).to_pylist():
        if r["fund_account"] in owners:
            fees = sum(Decimal(r[f]) for f in ("commission", "stamp_tax", "transfer_fee", "exchange_fee", "other_fee"))
            yield AccountFlow(
                customer_id=owners[r["fund_account"]], fund_account=r["fund_account"], trade_date=day,
                kind=FlowKind.TRADE, serial_no=r["serial_no"], detail=r["side"], exchange=r["exchange"],
                security_code=r["security_code"], quantity=r["quantity"], price=r["price"], amount=r["amount"],
                fees=fees, channel=r["channel"],
            )  # fmt: skip
    for r in warehouse.read_flows(data_dir, "cash_flows", start=day, end=day).to_pylist():
        if r["fund_account"] in owners:
            yield AccountFlow(
                customer_id=owners[r["fund_account"]], fund_account=r["fund_account"], trade_date=day,
                kind=FlowKind.CASH, serial_no=r["serial_no"], detail=r["kind"], amount=r["amount"],
                balance_after=r["balance_after"],
            )  # fmt: skip
    for r in warehouse.read_flows(data_dir, "security_transfers", start=day, end=day).to_pylist():
        if r["fund_account"] in owners:
            yield AccountFlow(
                customer_id=owners[r["fund_account"]], fund_account=r["fund_account"], trade_date=day,
                kind=FlowKind.TRANSFER, serial_no=r["serial_no"], detail=r["direction"], exchange=r["exchange"],
                security_code=r["security_code"], quantity=r["quantity"],
            )  # fmt: skip
    for r in warehouse.read_flows(data_dir, "freezes", start=day, end=day).to_pylist():
        if r["fund_account"] in owners:
            yield AccountFlow(
                customer_id=owners[r["fund_account"]], fund_account=r["fund_account"], trade_date=day,
                kind=FlowKind.FREEZE, serial_no=r["serial_no"], detail=r["kind"], amount=r["amount"],
            )  # fmt: skip


def _publish_flows(data_dir: Path, day: date, owners: dict[str, int]) -> int:
    AccountFlow.objects.unscoped().filter(trade_date=day).delete()
    count = 0
    for batch in _batches(_flow_rows(data_dir, day, owners)):
        AccountFlow.objects.unscoped().bulk_create(batch)
        count += len(batch)
    return count


def _publish_debts(data_dir: Path, day: date, owners: dict[str, int]) -> int:
    MarginDebt.objects.unscoped().all().delete()
    rows = [r for r in warehouse.read_flows(data_dir, "margin_debts", start=day, end=day).to_pylist() if r["fund_account"] in owners]
    MarginDebt.objects.unscoped().bulk_create(
        [
            MarginDebt(
                customer_id=owners[r["fund_account"]], fund_account=r["fund_account"], trade_date=day, kind=r["kind"],
                exchange=r["exchange"], security_code=r["security_code"], financing_balance=r["financing_balance"],
                short_quantity=r["short_quantity"], interest_payable=r["interest_payable"],
            )  # fmt: skip
            for r in rows
        ],
        batch_size=BATCH,
    )
    return len(rows)


def _publish_pools(data_dir: Path, day: date, ids: dict[str, int]) -> int:
    """The pools of the latest computed day (DOMAIN.md, "Qualified customer pools"): only rows
    whose result changed are written (``as_of`` = ``day`` on those), in batches of customers —
    one read and one upsert per batch, never a query per row. Rows of customers no longer
    evaluated are removed. Returns the number of rows created, changed or removed."""
    table = runner.read_snapshot(data_dir=data_dir, table="pools", day=day)
    if table is None:
        return 0
    table = table.select(["customer_no", "pool", "eligible", "reasons"])
    fresh: dict[int, dict[str, tuple[bool, str]]] = {}
    for number, pool, eligible, reasons in zip(*(table.column(c).to_pylist() for c in table.column_names)):
        if number in ids:
            fresh.setdefault(ids[number], {})[pool] = (bool(eligible), reasons or "")
    rows = PoolEligibility.objects.unscoped()
    written = 0
    for customers in _batches(sorted(fresh), 900):  # under SQLite's bound-parameter limit
        known = {
            (customer, pool): (pk, eligible, reasons)
            for pk, customer, pool, eligible, reasons in rows.filter(customer_id__in=customers).values_list(
                "id", "customer_id", "pool", "eligible", "reasons"
            )
        }
        changed = [
            PoolEligibility(customer_id=customer, pool=pool, as_of=day, eligible=eligible, reasons=reasons)
            for customer in customers
            for pool, (eligible, reasons) in fresh[customer].items()
            if known.get((customer, pool), (None, None, None))[1:] != (eligible, reasons)
        ]
        gone = [pk for (customer, pool), (pk, _, _) in known.items() if pool not in fresh[customer]]
        if changed:
            rows.bulk_create(
                changed,
                update_conflicts=True,
                unique_fields=["customer", "pool"],
                update_fields=["as_of", "eligible", "reasons"],
            )
        if gone:
            rows.filter(id__in=gone).delete()
        written += len(changed) + len(gone)
    evaluated = set(fresh)
    stale = sorted(set(rows.values_list("customer_id", flat=True).distinct()) - evaluated)
    for batch in _batches(stale, 900):
        written += rows.filter(customer_id__in=batch).delete()[0]
    return written


def datacenter_publish(
    *, data_dir: Path, window: int | None = None, since: date | None = None, progress: Progress | None = None
) -> PublishSummary:
    """Publish the computed warehouse to the OLTP database, for pages.

    Days after ``since``, and in any case after the latest day of the previous publication (a
    pipeline run killed after a checkpoint leaves computed days no publication has seen), are
    published: the master data of the customers and fund accounts they change, and — within the
    last ``window`` computed days (default ``BROKERCRM_PUBLISH_DAYS``) — their indicators and
    flows; holdings and margin debts are those of the latest computed day. Days that fall out of
    the window are removed.
    """
    window = window or get_config().publish_days
    days = runner.computed_days(data_dir=data_dir)
    if not days:
        return PublishSummary(latest_day=None)
    previous = PublishRun.objects.filter(finished_at__isnull=False).first()
    if previous is not None and previous.latest_day and (since is None or previous.latest_day < since):
        since = previous.latest_day
    fresh = [d for d in days if since is None or d > since]
    kept = days[-window:]
    summary = PublishSummary(latest_day=days[-1], days=fresh)
    pools = runner.snapshot_fingerprint(data_dir=data_dir, table="pools", day=days[-1])
    if not fresh:
        # no new trading day, but the tags may have been recomputed (head office changed a tag)
        from brokercrm.tags.services import tag_coverage_publish

        summary.counts.update(tag_coverage_publish(data_dir=data_dir, republish_tags=True).counts())
        if pools and pools != (previous.pools_fingerprint if previous else ""):
            # no new trading day, but the pools changed (a CRM fact recorded since the last run)
            _publish_pools_only(data_dir, days[-1], pools, summary)
        return summary
    start = fresh[0]
    with transaction.atomic():
        run = PublishRun.objects.create(snapshot_version=str(runner.current_version(data_dir)), latest_day=days[-1])
        customers = _latest_rows(warehouse.read_flows(data_dir, "customers", start=start), "customer_no")
        summary.counts["customers"] = _publish_customers(customers, progress)
        # the counter's risk/class changes become assessments; the latest one wins (DOMAIN.md)
        summary.counts["counter_assessments"] = assessments_apply_counter(customers, days[-1])
        leads_convert(customer_nos=[r["customer_no"] for r in customers])  # potential customers who opened an account
        accounts = _latest_rows(warehouse.read_flows(data_dir, "fund_accounts", start=start), "fund_account")
        summary.counts["fund_accounts"] = _publish_fund_accounts(accounts)
        ids = _customer_ids(Customer.objects.unscoped().values_list("customer_no", flat=True))
        owners = _account_owners()
        publish_days = [d for d in kept if d >= start]
        for i, day in enumerate(publish_days, 1):
            summary.counts["indicators"] = summary.counts.get("indicators", 0) + _publish_indicators(data_dir, day, ids)
            summary.counts["flows"] = summary.counts.get("flows", 0) + _publish_flows(data_dir, day, owners)
            if progress:
                progress("days", i, len(publish_days))
        IndicatorDaily.objects.unscoped().filter(trade_date__lt=kept[0]).delete()
        AccountFlow.objects.unscoped().filter(trade_date__lt=kept[0]).delete()
        summary.counts["pools"] = _publish_pools(data_dir, days[-1], ids)
        run.pools_fingerprint = pools
        summary.counts["holdings"] = _publish_holdings(data_dir, days[-1], owners)
        summary.counts["margin_debts"] = _publish_debts(data_dir, days[-1], owners)
        summary.counts.update(_publish_segments(data_dir, days[-1], fresh))
        run.days = [d.isoformat() for d in fresh]
        run.counts = summary.counts
        run.finished_at = timezone.now()
        run.save()
    from brokercrm.segments.services import segments_refresh  # saved segments: a new version each, after the commit

    summary.counts.update(segments_refresh(data_dir=data_dir).counts)
    from brokercrm.service.data_events import data_events_raise  # tasks from the data (issue 6), after the commit

    summary.counts.update(data_events_raise(data_dir=data_dir, day=days[-1]).counts())
    return summary


def _publish_segments(data_dir: Path, day: date, fresh: list[date]) -> dict[str, int]:
    """Tier and class (``segments.services.segments_publish``) and tags (``tags_publish``) of the
    latest day, and the tier changes of the days published; only changed rows are written."""
    from brokercrm.segments.services import segments_publish, tags_publish

    segments = runner.read_snapshot(data_dir=data_dir, table="segments", day=day)
    if segments is None:  # a warehouse computed before the segment stage
        return {}
    changes = [
        row
        for d in fresh
        if (table := runner.read_snapshot(data_dir=data_dir, table="tier_changes", day=d)) is not None
        for row in table.to_pylist()
    ]
    seg = segments_publish(rows=segments.to_pylist(), changes=changes, as_of=day, changes_from=fresh[0])
    tags = runner.read_snapshot(data_dir=data_dir, table="tags", day=day)
    pairs = zip(tags.column("customer_no").to_pylist(), tags.column("tag_code").to_pylist()) if tags is not None else ()
    tagged = tags_publish(rows=pairs, as_of=day)
    from brokercrm.tags.services import tag_coverage_publish  # customers per tag and day

    covered = tag_coverage_publish(data_dir=data_dir)
    return {
        "segments": seg.segments_written,
        "tier_changes": seg.changes_written,
        "tags_added": tagged.added,
        "tags_removed": tagged.removed,
        **covered.counts(),
    }


def _publish_pools_only(data_dir: Path, day: date, fingerprint: str, summary: PublishSummary) -> None:
    with transaction.atomic():
        run = PublishRun.objects.create(
            snapshot_version=str(runner.current_version(data_dir)), latest_day=day, pools_fingerprint=fingerprint
        )
        ids = _customer_ids(Customer.objects.unscoped().values_list("customer_no", flat=True))
        summary.counts["pools"] = _publish_pools(data_dir, day, ids)
        run.counts = summary.counts
        run.finished_at = timezone.now()
        run.save()


# --- qualified pools: the list export (pages) ---------------------------------------------------

#: columns of a pool list export, in order
POOL_EXPORT_COLUMNS = ("customer_no", "name", "branch_code", "branch_name", "account_manager", "pool", "eligible", "reasons", "as_of")


def pool_members_export(
    *, actor: Any, pool: str, eligible: bool, reason: str | None = None, request: Any = None
) -> Iterator[list[str]]:
    """Rows of a pool list export (header first), in the actor's scope. Needs ``EXPORT_CUSTOMERS``
    and ``VIEW_POOLS``; the audit entry (filters and row count) is written before the first row."""
    from django.core.exceptions import PermissionDenied

    from brokercrm.datacenter.selectors import pool_members
    from brokercrm.org.choices import AuditAction
    from brokercrm.org.policy import Capability
    from brokercrm.org.selectors import user_can
    from brokercrm.org.services import audit_record

    if not (
        user_can(user=actor, capability=Capability.EXPORT_CUSTOMERS)
        and user_can(user=actor, capability=Capability.VIEW_POOLS)
    ):
        raise PermissionDenied("You may not do this.")
    rows = pool_members(actor=actor, pool=pool, eligible=eligible, reason=reason)
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_EXPORT,
        object_type="pool",
        object_id=pool,
        request=request,
        detail={"filters": {"pool": pool, "eligible": eligible, "reason": reason or ""}, "rows": rows.count()},
    )

    def produce() -> Iterator[list[str]]:
        yield list(POOL_EXPORT_COLUMNS)
        for row in rows.iterator(chunk_size=2000):
            customer = row.customer
            manager = customer.account_manager
            yield [
                customer.customer_no,
                customer.name,
                customer.branch.code,
                customer.branch.name,
                manager.user.get_username() if manager else "",
                row.pool,
                "yes" if row.eligible else "no",
                row.reasons,
                row.as_of.isoformat(),
            ]

    return produce()
