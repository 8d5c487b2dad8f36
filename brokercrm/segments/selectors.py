"""Reads of segmentation. Every read of customer data takes the acting user and applies their data
scope (``Model.objects.for_user``); the tier policy is not customer data."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping

from django.core.paginator import Page, Paginator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokercrm.org.policy import Capability
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


def _tag_catalogue() -> Mapping[str, tuple[str, str, str]]:
    return {t.code: (t.name_zh, t.name_en, t.category) for t in builder_catalogue()}


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


# --- saved segments and the segment builder (``segments.audience``) --------------------------------


def builder_catalogue():
    """The tag catalogue pages name tags by and the builder offers and validates against: the
    built-in tags and head office's active ones (``tags.selectors.catalogue_state``, memoised
    on the stored tags; the built-in ones alone when a stored tag no longer validates)."""
    from brokercrm.tags.selectors import catalogue_state

    return catalogue_state()[0]


def _builder_tags() -> tuple[tuple[str, str, str, str], ...]:
    return tuple((t.code, t.name_zh, t.name_en, t.category) for t in builder_catalogue())


def builder_tag_codes() -> frozenset[str]:
    return frozenset(code for code, *_rest in _builder_tags())


#: category codes of the catalogue → labels (the picker's groups)
TAG_CATEGORY_LABELS = {
    "basic": _("Basic"),
    "assets": _("Assets"),
    "holdings": _("Holdings"),
    "behaviour": _("Behaviour"),
    "profit": _("Profit and loss"),
    "margin": _("Margin"),
    "risk": _("Risk"),
    "lifecycle": _("Lifecycle"),
    "value": _("Customer value"),
}


def builder_tag_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The tag picker: (category label, [(code, name in the active language)]) in catalogue order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, _zh, _en, category in _builder_tags():
        groups.setdefault(category, []).append((code, tag_name(code)))
    return [(str(TAG_CATEGORY_LABELS.get(c, c)), tags) for c, tags in groups.items()]


def builder_branches(*, actor) -> list[tuple[str, str]]:
    """(code, name) of the branches the actor may see: the choices of a ``branch`` condition."""
    from brokercrm.org.selectors import org_node_list

    return list(org_node_list(actor=actor).filter(kind="branch").order_by("code").values_list("code", "name"))


def _all_branch_codes() -> list[str]:
    from brokercrm.org.models import OrgNode

    return list(OrgNode.objects.filter(kind="branch").values_list("code", flat=True))


def definition_check(definition) -> dict:
    """``audience.definition_validate`` against the catalogue and the organisation's branches."""
    from brokercrm.segments.audience import definition_validate

    return definition_validate(definition, tags=builder_tag_codes(), branches=_all_branch_codes())


def audience_scope(*, actor):
    """The actor's data scope as an audience filter (``org.scope``'s rule, fail-closed): an
    account manager's or a team's customers by number (from the database), a branch's, region's
    or head office's by the branch codes under the node; nobody without an employee record or
    ``VIEW_CUSTOMERS``."""
    from brokercrm.customers.models import Customer
    from brokercrm.org.choices import NodeKind, Role
    from brokercrm.org.models import OrgNode
    from brokercrm.org.policy import role_can
    from brokercrm.org.scope import acting_employee
    from brokercrm.segments.audience import AudienceScope

    employee = acting_employee(actor)
    if employee is None or not role_can(employee.role, Capability.VIEW_CUSTOMERS) or not employee.node.path:
        return AudienceScope.nobody()
    if employee.role == Role.ACCOUNT_MANAGER or employee.node.kind == NodeKind.TEAM:
        numbers = Customer.objects.for_user(actor).values_list("customer_no", flat=True)
        return AudienceScope(customer_nos=tuple(numbers))
    codes = OrgNode.objects.filter(path__startswith=employee.node.path, kind=NodeKind.BRANCH).values_list("code", flat=True)
    return AudienceScope(branch_codes=tuple(codes))


@dataclass(frozen=True)
class AudienceRow:
    """A customer of an audience as shown to one user (personal data masked as in the customer list)."""

    customer_no: str
    name: str
    branch_code: str
    branch_name: str
    account_manager: str
    mobile: str
    tier: str
    tier_label: str
    abcd_class: str
    total_assets: Decimal | None


@dataclass
class AudiencePreview:
    """The live answer of the builder: how many, the first customers, as of which day. ``ready``
    is False before the first pipeline run (nothing to evaluate)."""

    count: int = 0
    rows: list[AudienceRow] = dataclass_field(default_factory=list)
    as_of: date | None = None
    ready: bool = False


def _data_dir(data_dir):
    from pathlib import Path

    from django.conf import settings

    return Path(data_dir or settings.DATA_DIR)


def audience_rows(*, actor, rows: Iterable[Mapping]) -> list[AudienceRow]:
    """Audience rows (``audience.PREVIEW_COLUMNS``) with the names, branch and account manager
    the actor may see; a customer the database does not show the actor is left out."""
    from brokercrm.customers.models import Customer
    from brokercrm.customers.selectors import mask_mobile
    from brokercrm.org.selectors import user_can

    rows = list(rows)
    mask = not user_can(user=actor, capability=Capability.VIEW_PII)
    known: dict[str, Customer] = {}
    numbers = [r["customer_no"] for r in rows]
    for start in range(0, len(numbers), 900):  # under SQLite's bound-parameter limit
        batch = numbers[start : start + 900]
        found = Customer.objects.for_user(actor).filter(customer_no__in=batch).select_related("branch", "account_manager")
        known.update((c.customer_no, c) for c in found)
    out = []
    for r in rows:
        c = known.get(r["customer_no"])
        if c is None:
            continue
        total = r.get("total_assets")
        out.append(
            AudienceRow(
                customer_no=c.customer_no,
                name=c.name,
                branch_code=c.branch.code,
                branch_name=c.branch.name,
                account_manager=str(c.account_manager) if c.account_manager else "",
                mobile=mask_mobile(c.mobile) if mask and c.mobile else c.mobile,
                tier=r.get("tier") or "",
                tier_label=tier_label(r["tier"]) if r.get("tier") else "",
                abcd_class=r.get("abcd_class") or "",
                total_assets=Decimal(total).quantize(Decimal("0.01")) if total is not None else None,
            )
        )
    return out


def audience_preview(*, actor, definition: Mapping, data_dir=None, limit: int = 50, offset: int = 0) -> AudiencePreview:
    """Count a validated definition in the actor's scope over the published warehouse, with the
    first ``limit`` customers (by customer number). The caller records the audit entry."""
    from brokercrm.segments import audience as au

    engine = au.audience_engine(data_dir=_data_dir(data_dir))
    if engine is None:
        return AudiencePreview()
    result = au.audience_evaluate(
        engine=engine, definition=definition, scope=audience_scope(actor=actor), limit=limit, offset=offset
    )
    return AudiencePreview(
        count=result.count, rows=audience_rows(actor=actor, rows=result.rows), as_of=result.as_of, ready=True
    )


def segment_list(*, actor) -> list:
    """The actor's own segments, then those shared with their branch (or node), by name."""
    from django.db.models import Q

    from brokercrm.org.scope import acting_employee
    from brokercrm.segments.models import SavedSegment

    employee = acting_employee(actor)
    if employee is None:
        return []
    return list(
        SavedSegment.objects.filter(Q(owner=actor) | _shared_with(employee))
        .select_related("owner__employee", "shared_node", "current_version")
        .order_by("name", "id")
    )


def _shared_with(employee):
    """Shared segments the employee sees: shared with their node or a node above it (their branch,
    region, head office), or with a node under theirs (a region or head office sees its branches')."""
    from django.db.models import Q

    from brokercrm.segments.choices import SegmentVisibility

    path = employee.node.path
    ancestors = [p for p in _ancestor_paths(path)]
    return Q(visibility=SegmentVisibility.BRANCH) & (
        Q(shared_node__path__in=ancestors) | Q(shared_node__path__startswith=path or "\x00")
    )


def _ancestor_paths(path: str) -> list[str]:
    """``/1/4/9/`` → ``/1/``, ``/1/4/``, ``/1/4/9/``."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def segment_get(*, actor, segment_id: int):
    """A segment the actor may see (own or shared with them); ``SavedSegment.DoesNotExist``
    otherwise, so that another's private segment is indistinguishable from a missing one."""
    from django.db.models import Q

    from brokercrm.org.scope import acting_employee
    from brokercrm.segments.models import SavedSegment

    employee = acting_employee(actor)
    if employee is None:
        raise SavedSegment.DoesNotExist
    return (
        SavedSegment.objects.filter(Q(owner=actor) | _shared_with(employee))
        .select_related("owner__employee", "shared_node", "current_version")
        .get(pk=segment_id)
    )


def segment_members_table(*, segment, actor, data_dir=None):
    """The current version's members (``audience.PREVIEW_COLUMNS``) within the actor's scope, by
    customer number; empty before the first version or outside the scope."""
    import pyarrow as pa

    from brokercrm.segments import audience as au

    version = segment.current_version
    path = _data_dir(data_dir) / version.members_file if version is not None else None
    if path is None or not path.exists():
        return pa.table({c: pa.array([], pa.string()) for c in ("customer_no", "branch_code")})
    return au.members_read(path, audience_scope(actor=actor))


def segment_members(*, segment, actor, data_dir=None) -> list[str]:
    """Customer numbers of a saved segment's current version that ``actor`` may see — what later
    features (tasks, campaigns) take. Members were computed in the owner's scope; the viewer's
    scope applies on top (fail-closed)."""
    table = segment_members_table(segment=segment, actor=actor, data_dir=data_dir)
    return table.column("customer_no").to_pylist()
