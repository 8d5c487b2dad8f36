"""Reads of segmentation. Every read of customer data takes the acting user and applies their data
scope (``Model.objects.for_user``); the tier policy is not customer data."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping

from django.core.paginator import Page, Paginator
from django.utils import timezone

from brokercrm.segments import pipeline as sp
from brokercrm.segments.choices import (
    ABCD_STRATEGIES,
    BASIC_SERVICES,
    TIER_SERVICES,
    AbcdClass,
    Tier,
    TierChangeReason,
)
from brokercrm.segments.models import CustomerSegment, CustomerTag, SegmentPublication, TierChange, TierPolicy

MAX_PAGE_SIZE = 200
#: "who moved up / down": the direction filter of the tier-changes list
DIRECTIONS = {"up": TierChangeReason.UPGRADE, "down": TierChangeReason.DOWNGRADE}


@dataclass(frozen=True)
class SegmentRow:
    """A customer's tier and class as shown to one user."""

    customer_no: str
    customer_name: str
    tier: str
    tier_label: str
    tier_since: date
    abcd_class: str
    abcd_label: str
    abcd_strategy: str
    contribution: Decimal
    turnover: Decimal
    net_commission_12m: Decimal
    commission_partial: bool
    as_of: date
    #: translated labels of the extended services the tier is entitled to
    services: tuple[str, ...]
    #: tag codes, sorted (filled by the tag engine; empty until then)
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TierChangeRow:
    customer_no: str
    customer_name: str
    date: date
    old: str
    old_label: str
    new: str
    new_label: str
    reason: str
    reason_label: str


def tier_label(tier: str) -> str:
    return str(Tier(tier).label) if tier in Tier.values else tier


def tier_services(tier: str) -> tuple[str, ...]:
    """The extended services a tier is entitled to, translated (DOMAIN.md, "Service system")."""
    return tuple(str(s.label) for s in TIER_SERVICES.get(tier, ()))


def basic_services() -> tuple[str, ...]:
    return tuple(str(s) for s in BASIC_SERVICES)


def _segment_row(s: CustomerSegment) -> SegmentRow:
    cls = AbcdClass(s.abcd_class) if s.abcd_class in AbcdClass.values else None
    return SegmentRow(
        customer_no=s.customer.customer_no,
        customer_name=s.customer.name,
        tier=s.tier,
        tier_label=tier_label(s.tier),
        tier_since=s.tier_since,
        abcd_class=s.abcd_class,
        abcd_label=str(cls.label) if cls else s.abcd_class,
        abcd_strategy=str(ABCD_STRATEGIES[cls]) if cls else "",
        contribution=s.contribution,
        turnover=s.turnover,
        net_commission_12m=s.net_commission_12m,
        commission_partial=s.commission_partial,
        as_of=s.as_of,
        services=tier_services(s.tier),
    )


def _change_row(c: TierChange) -> TierChangeRow:
    return TierChangeRow(
        customer_no=c.customer.customer_no,
        customer_name=c.customer.name,
        date=c.date,
        old=c.old,
        old_label=tier_label(c.old) if c.old else "",
        new=c.new,
        new_label=tier_label(c.new),
        reason=c.reason,
        reason_label=str(TierChangeReason(c.reason).label),
    )


def customer_segment(*, actor, customer_no: str) -> SegmentRow | None:
    """The customer's tier and class, or None (not computed yet, or not in the actor's scope)."""
    s = CustomerSegment.objects.for_user(actor).select_related("customer").filter(customer__customer_no=customer_no).first()
    return _segment_row(s) if s else None


def customer_tier_history(*, actor, customer_no: str) -> list[TierChangeRow]:
    """Every tier change of the customer (the starting tier included), latest first."""
    changes = (
        TierChange.objects.for_user(actor)
        .select_related("customer")
        .filter(customer__customer_no=customer_no)
        .order_by("-date", "-id")
    )
    return [_change_row(c) for c in changes]


def segments_for_customers(*, actor, customer_nos: Iterable[str]) -> dict[str, SegmentRow]:
    """Tier and class of several customers at once (a customer list page), by customer number."""
    numbers = list(customer_nos)
    rows = CustomerSegment.objects.for_user(actor).select_related("customer").filter(customer__customer_no__in=numbers)
    return {r.customer.customer_no: _segment_row(r) for r in rows}


def month_bounds(month: date) -> tuple[date, date]:
    """First and last day of ``month``'s calendar month."""
    start = month.replace(day=1)
    end = (start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1))
    return start, date.fromordinal(end.toordinal() - 1)


def tier_changes_page(
    *, actor, month: date, direction: str = "", page: int = 1, per_page: int = 50
) -> Page:
    """Upgrades and downgrades of ``month`` in the actor's scope ("who moved up / down this
    month"), latest first; ``direction`` ``up`` or ``down`` keeps one kind. Starting tiers are in
    a customer's history, not here."""
    start, end = month_bounds(month)
    reasons = [DIRECTIONS[direction]] if direction in DIRECTIONS else list(DIRECTIONS.values())
    changes = (
        TierChange.objects.for_user(actor)
        .select_related("customer")
        .filter(date__gte=start, date__lte=end, reason__in=reasons)
        .order_by("-date", "customer__customer_no")
    )
    result = Paginator(changes, min(per_page, MAX_PAGE_SIZE)).get_page(page)
    result.object_list = [_change_row(c) for c in result.object_list]
    return result


def segments_page(*, actor, tier: str = "", abcd_class: str = "", page: int = 1, per_page: int = 50) -> Page:
    """Tier and class of the customers in the actor's scope, by customer number."""
    rows = CustomerSegment.objects.for_user(actor).select_related("customer").order_by("customer__customer_no")
    if tier:
        rows = rows.filter(tier=tier)
    if abcd_class:
        rows = rows.filter(abcd_class=abcd_class)
    result = Paginator(rows, min(per_page, MAX_PAGE_SIZE)).get_page(page)
    result.object_list = [_segment_row(s) for s in result.object_list]
    return result


def segments_as_of() -> date | None:
    """The trading day of the latest segmentation publication."""
    latest = SegmentPublication.objects.first()
    return latest.as_of if latest else None


@dataclass(frozen=True)
class TierPolicyValues:
    thresholds: Mapping[str, sp.TierThreshold]
    multipliers: Mapping[str, Decimal]
    #: None for the defaults of DOMAIN.md
    changed_at: object = None
    changed_by: str = ""
    note: str = ""


def tier_policy_current() -> TierPolicyValues:
    """The tier policy in force: head office's latest, else the defaults of DOMAIN.md."""
    policy = TierPolicy.objects.select_related("created_by").first()
    if policy is None:
        return TierPolicyValues(thresholds=dict(sp.DEFAULT_TIER_THRESHOLDS), multipliers=dict(sp.DEFAULT_POINTS_MULTIPLIERS))
    return TierPolicyValues(
        thresholds={
            tier: sp.TierThreshold(getattr(policy, f"{tier}_assets"), getattr(policy, f"{tier}_commission"))
            for tier in sp.TIERS[1:]
        },
        multipliers={tier: getattr(policy, f"{tier}_multiplier") for tier in sp.TIERS},
        changed_at=policy.created_at,
        changed_by=policy.created_by.get_username() if policy.created_by else "",
        note=policy.note,
    )


def tier_policy_thresholds() -> Mapping[str, sp.TierThreshold]:
    """What the pipeline's tier evaluation takes as ``thresholds``."""
    return tier_policy_current().thresholds


def tier_policy_history(limit: int = 20) -> list[TierPolicy]:
    return list(TierPolicy.objects.select_related("created_by")[:limit])


def current_month() -> date:
    return timezone.localdate().replace(day=1)


# --- tags ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagRow:
    """A tag a customer carries, named for the reader."""

    code: str
    #: the catalogue's Chinese name (English under an English UI); the code for an unknown tag
    name: str
    category: str
    since: date


@functools.lru_cache(maxsize=1)
def _tag_catalogue() -> Mapping[str, tuple[str, str, str]]:
    from brokercrm.tagengine.catalogue import load_catalogue

    return {t.code: (t.name_zh, t.name_en, t.category) for t in load_catalogue()}


def tag_name(code: str) -> str:
    """The catalogue's name of ``code`` in the active language (Chinese first)."""
    from django.utils.translation import get_language

    entry = _tag_catalogue().get(code)
    if entry is None:
        return code
    english = (get_language() or "zh-hans").startswith("en")
    return entry[1] if english else entry[0]


def customer_tags(*, actor, customer_no: str) -> list[TagRow]:
    """The tags the customer carries as of the latest publication, by category then code; empty
    when the customer is out of the actor's scope."""
    rows = CustomerTag.objects.for_user(actor).filter(customer__customer_no=customer_no).values_list("tag_code", "as_of")
    catalogue = _tag_catalogue()
    found = [
        TagRow(code=code, name=tag_name(code), category=catalogue.get(code, ("", "", ""))[2], since=since)
        for code, since in rows
    ]
    return sorted(found, key=lambda t: (t.category, t.code))


def tags_for_customers(*, actor, customer_nos: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Tag codes (sorted) of several customers at once, by customer number, in the actor's scope."""
    found: dict[str, list[str]] = {}
    rows = CustomerTag.objects.for_user(actor).filter(customer__customer_no__in=list(customer_nos))
    for number, code in rows.values_list("customer__customer_no", "tag_code"):
        found.setdefault(number, []).append(code)
    return {number: tuple(sorted(codes)) for number, codes in found.items()}
