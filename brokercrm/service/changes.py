"""The account manager's "what changed since yesterday" (issue 6, workspace): for the customers the
actor sees, between the last two published trading days — the change of total assets, big bank
transfers in or out (≥ ``big_flow_amount`` of the service thresholds), tags the customer carries
since the latest day (``CustomerTag.as_of``), and a tier change dated after the day before.

Sorted so that what needs a look comes first: customers with a tier change, a new tag or a big
flow, then by the size of the assets change (largest first, up or down). Computed in the
database on the published daily indicators (two indexed days), limited to the first rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Case, DecimalField, Exists, ExpressionWrapper, F, Func, IntegerField, Max, OuterRef, Q, Subquery, Value, When

from brokercrm.datacenter.models import IndicatorDaily
from brokercrm.service import rules


@dataclass
class CustomerChange:
    customer_no: str
    name: str
    total_assets: Decimal
    previous_assets: Decimal | None
    bank_in: Decimal
    bank_out: Decimal
    big_flow: bool
    new_tags: list[str] = field(default_factory=list)
    #: (old tier, new tier) when the tier changed since the day before
    tier_change: tuple[str, str] | None = None

    @property
    def assets_change(self) -> Decimal | None:
        return None if self.previous_assets is None else self.total_assets - self.previous_assets


@dataclass(frozen=True)
class Changes:
    day: date | None
    previous: date | None
    rows: list[CustomerChange]


def published_days() -> tuple[date | None, date | None]:
    """The latest published trading day and the one before it (from the daily indicators)."""
    rows = IndicatorDaily.objects.unscoped()
    day = rows.aggregate(d=Max("trade_date"))["d"]
    if day is None:
        return None, None
    return day, rows.filter(trade_date__lt=day).aggregate(d=Max("trade_date"))["d"]


def customer_changes(*, actor: Any, limit: int = 30) -> Changes:
    """See the module doc. Empty for a user who sees no customer."""
    from brokercrm.segments.models import CustomerTag, TierChange

    day, previous = published_days()
    if day is None:
        return Changes(None, None, [])
    big = rules.data_rule_thresholds()["big_flow_amount"]
    money = DecimalField(max_digits=20, decimal_places=2)
    prev_assets = IndicatorDaily.objects.unscoped().filter(customer_id=OuterRef("customer_id"), trade_date=previous)
    tier_changed = TierChange.objects.unscoped().filter(customer_id=OuterRef("customer_id"), date__lte=day)
    if previous is not None:
        tier_changed = tier_changed.filter(date__gt=previous)
    else:
        tier_changed = tier_changed.filter(date=day)
    tier_changed = tier_changed.exclude(reason="initial")
    tagged = CustomerTag.objects.unscoped().filter(customer_id=OuterRef("customer_id"), as_of=day)
    if previous is None:
        tagged = tagged.none()  # the first published day: every tag is "new"; nothing to compare
    rows = (
        IndicatorDaily.objects.for_user(actor)
        .filter(trade_date=day)
        .annotate(
            previous_assets=Subquery(prev_assets.values("total_assets")[:1], output_field=money),
            tier_flag=Exists(tier_changed),
            tag_flag=Exists(tagged),
            flow_flag=Q(bank_in__gte=big) | Q(bank_out__gte=big),
        )
        .annotate(
            flagged=Case(
                When(Q(tier_flag=True) | Q(tag_flag=True) | Q(flow_flag=True), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            size=Func(
                ExpressionWrapper(F("total_assets") - F("previous_assets"), output_field=money), function="ABS", output_field=money
            ),
        )
        .filter(Q(flagged=1) | (Q(previous_assets__isnull=False) & ~Q(size=0)))
        .select_related("customer")
        .order_by("-flagged", F("size").desc(nulls_last=True), "customer__customer_no")[:limit]
    )
    out: list[CustomerChange] = []
    for r in rows:
        out.append(
            CustomerChange(
                customer_no=r.customer.customer_no,
                name=r.customer.name,
                total_assets=r.total_assets,
                previous_assets=Decimal(r.previous_assets).quantize(Decimal("0.01")) if r.previous_assets is not None else None,
                bank_in=r.bank_in,
                bank_out=r.bank_out,
                big_flow=bool(r.flow_flag),
                new_tags=[],
            )
        )
    ids = [r.customer_id for r in rows]
    by_no = {c.customer_no: c for c in out}
    if ids:
        for number, code in (
            CustomerTag.objects.unscoped().filter(customer_id__in=ids, as_of=day).values_list("customer__customer_no", "tag_code")
        ):
            if previous is not None:
                by_no[number].new_tags.append(code)
        changes = TierChange.objects.unscoped().filter(customer_id__in=ids, date__lte=day).exclude(reason="initial")
        changes = changes.filter(date__gt=previous) if previous is not None else changes.filter(date=day)
        for number, old, new in changes.order_by("date").values_list("customer__customer_no", "old", "new"):
            by_no[number].tier_change = (old, new)
    return Changes(day, previous, out)
