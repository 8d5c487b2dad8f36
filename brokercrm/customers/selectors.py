"""Reads of customer data. Every function takes the acting user and applies their data scope
(``Customer.objects.for_user``); personal data is masked for roles without ``VIEW_PII``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterator

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from brokercrm.customers.choices import (
    RELATIONSHIP_INVERSE_LABELS,
    CustomerStatus,
    CustomerType,
    IdType,
    InvestVariety,
    RelationshipKind,
)
from brokercrm.customers.models import Customer, CustomerAssignment, CustomerRelationship, Interaction, Lead
from brokercrm.customers.rules import aml_next_review
from brokercrm.org.choices import NodeKind
from brokercrm.org.models import OrgNode
from brokercrm.org.policy import Capability
from brokercrm.org.scope import acting_employee
from brokercrm.org.selectors import user_can

#: the most rows one page or API call returns
MAX_PAGE_SIZE = 200


def mask_id_number(value: str) -> str:
    """Keep the region (first 6) and the last 4 characters: ``110101********6308``."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_mobile(value: str) -> str:
    """Keep the first 3 and last 4 digits: ``133****8280``."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


@dataclass(frozen=True)
class CustomerRow:
    """A customer as shown to one user: personal data already masked when it must be."""

    customer_no: str
    name: str
    customer_type: str
    customer_type_label: str
    status: str
    status_label: str
    branch_code: str
    branch_name: str
    account_manager: str
    account_manager_name: str
    id_type_label: str
    id_number: str
    mobile: str
    open_date: date | None
    pii_masked: bool
    risk_level_label: str = ""
    risk_expiry: date | None = None
    investor_class_label: str = ""
    aml_level_label: str = ""
    gender_label: str = ""
    first_trade_date: date | None = None
    invest_horizon_label: str = ""
    #: translated labels of the chosen investment varieties
    invest_variety_labels: tuple[str, ...] = ()
    aml_reviewed_on: date | None = None
    aml_next_review: date | None = None
    #: filled by segmentation (``_with_segments``): tier, the names of the tags carried (detail
    #: only), the ABCD class and its strategy; empty until the pipeline's first publication
    tier_label: str = ""
    tags: tuple[str, ...] = ()
    abcd_class: str = ""
    abcd_strategy: str = ""

    @property
    def risk_expired(self) -> bool:
        """An expired assessment counts as no assessment (DOMAIN.md)."""
        return self.risk_expiry is not None and self.risk_expiry < timezone.localdate()

    @property
    def aml_review_due(self) -> bool:
        return self.aml_next_review is not None and self.aml_next_review <= timezone.localdate()


def variety_labels(value: str) -> tuple[str, ...]:
    """``"fixed_income,equity"`` → the translated labels, in the stored order; unknown codes as is."""
    return tuple(
        str(InvestVariety(code).label) if code in InvestVariety.values else code
        for code in (c.strip() for c in value.split(","))
        if code
    )


@dataclass(frozen=True)
class AssignmentRow:
    customer_no: str
    account_manager: str
    account_manager_name: str
    started_at: datetime
    ended_at: datetime | None
    assigned_by: str
    reason: str


def _row(customer: Customer, *, mask: bool) -> CustomerRow:
    manager = customer.account_manager
    return CustomerRow(
        customer_no=customer.customer_no,
        name=customer.name,
        customer_type=customer.customer_type,
        customer_type_label=str(CustomerType(customer.customer_type).label),
        status=customer.status,
        status_label=str(CustomerStatus(customer.status).label),
        branch_code=customer.branch.code,
        branch_name=customer.branch.name,
        account_manager=manager.user.get_username() if manager else "",
        account_manager_name=str(manager) if manager else "",
        id_type_label=str(IdType(customer.id_type).label) if customer.id_type else "",
        id_number=mask_id_number(customer.id_number) if mask else customer.id_number,
        mobile=mask_mobile(customer.mobile) if mask else customer.mobile,
        open_date=customer.open_date,
        pii_masked=mask,
        risk_level_label=customer.get_risk_level_display() if customer.risk_level else "",
        risk_expiry=customer.risk_expiry,
        investor_class_label=customer.get_investor_class_display(),
        aml_level_label=customer.get_aml_level_display() if customer.aml_level else "",
        gender_label=customer.get_gender_display() if customer.gender else "",
        first_trade_date=customer.first_trade_date,
        invest_horizon_label=customer.get_invest_horizon_display() if customer.invest_horizon else "",
        invest_variety_labels=variety_labels(customer.invest_varieties),
        aml_reviewed_on=customer.aml_reviewed_on,
        aml_next_review=aml_next_review(
            aml_level=customer.aml_level, reviewed_on=customer.aml_reviewed_on, open_date=customer.open_date
        ),
    )


def customer_search(
    *,
    actor: Any,
    query: str = "",
    status: str = "",
    customer_type: str = "",
    branch_code: str = "",
    account_manager: str = "",
) -> QuerySet[Customer]:
    """Customers in the actor's scope matching the search (number, name or mobile) and filters."""
    rows = Customer.objects.for_user(actor).select_related("branch", "account_manager__user")
    query = query.strip()
    if query:
        rows = rows.filter(
            # prefixes only: each is an indexed range scan, also at millions of customers
            Q(customer_no__startswith=query) | Q(name__startswith=query) | Q(mobile__startswith=query)
        )
    if status:
        rows = rows.filter(status=status)
    if customer_type:
        rows = rows.filter(customer_type=customer_type)
    if branch_code:
        rows = rows.filter(branch__code=branch_code)
    if account_manager:
        rows = rows.filter(account_manager__user__username=account_manager)
    return rows.order_by("customer_no")


def customer_page(*, actor: Any, page: int = 1, per_page: int = 25, **filters: str) -> Page:
    """One page of ``customer_search`` as ``CustomerRow`` items (masked where required)."""
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    paginator = Paginator(customer_search(actor=actor, **filters), per_page)
    result = paginator.get_page(page)
    mask = not user_can(user=actor, capability=Capability.VIEW_PII)
    result.object_list = _with_segments([_row(c, mask=mask) for c in result.object_list], actor=actor)
    return result


def _with_segments(rows: list[CustomerRow], *, actor: Any, tags: bool = False) -> list[CustomerRow]:
    """Tier and ABCD class (and, with ``tags``, the tags' names) from the segmentation."""
    from dataclasses import replace

    from brokercrm.segments.selectors import segments_for_customers, tag_name, tags_for_customers

    numbers = [r.customer_no for r in rows]
    segments = segments_for_customers(actor=actor, customer_nos=numbers)
    carried = tags_for_customers(actor=actor, customer_nos=numbers) if tags else {}
    out = []
    for row in rows:
        s = segments.get(row.customer_no)
        if s is not None:
            row = replace(row, tier_label=s.tier_label, abcd_class=s.abcd_class, abcd_strategy=s.abcd_strategy)
        if row.customer_no in carried:
            row = replace(row, tags=tuple(tag_name(code) for code in carried[row.customer_no]))
        out.append(row)
    return out


def customer_rows(*, actor: Any, **filters: str) -> Iterator[CustomerRow]:
    """Every matching customer as rows, streamed in chunks (for exports)."""
    mask = not user_can(user=actor, capability=Capability.VIEW_PII)
    for customer in customer_search(actor=actor, **filters).iterator(chunk_size=2000):
        yield _row(customer, mask=mask)


def customer_get(*, actor: Any, customer_no: str) -> Customer:
    """The customer, if in the actor's scope; raises ``Customer.DoesNotExist`` otherwise, so that
    an out-of-scope customer is indistinguishable from a missing one."""
    return Customer.objects.for_user(actor).select_related("branch", "account_manager__user").get(
        customer_no=customer_no
    )


def customer_detail(*, actor: Any, customer_no: str) -> CustomerRow:
    """The customer's profile as the actor may see it."""
    customer = customer_get(actor=actor, customer_no=customer_no)
    row = _row(customer, mask=not user_can(user=actor, capability=Capability.VIEW_PII))
    return _with_segments([row], actor=actor, tags=True)[0]


def customer_assignment_history(*, actor: Any, customer_no: str) -> list[AssignmentRow]:
    """Who served the customer when, newest first (empty when out of scope)."""
    rows = (
        CustomerAssignment.objects.for_user(actor)
        .filter(customer__customer_no=customer_no)
        .select_related("account_manager__user", "assigned_by")
        .order_by("-started_at", "-id")
    )
    return [
        AssignmentRow(
            customer_no=customer_no,
            account_manager=a.account_manager.user.get_username(),
            account_manager_name=str(a.account_manager),
            started_at=a.started_at,
            ended_at=a.ended_at,
            assigned_by=a.assigned_by.get_username() if a.assigned_by else "",
            reason=a.reason,
        )
        for a in rows
    ]


def customer_counts(*, actor: Any, by: str) -> list[dict[str, Any]]:
    """Customer counts in the actor's scope grouped by ``branch``, ``account_manager`` or ``status``."""
    field = {
        "branch": "branch__name",
        "account_manager": "account_manager__display_name",
        "status": "status",
    }[by]
    return list(Customer.objects.for_user(actor).values(field).annotate(n=Count("id")).order_by("-n", field))


def _visible_customers(*, actor: Any, ids: set[int]) -> dict[int, Customer]:
    """The customers among ``ids`` that the actor may see (one query)."""
    ids.discard(None)  # type: ignore[arg-type]
    if not ids:
        return {}
    return {c.pk: c for c in Customer.objects.for_user(actor).filter(pk__in=ids).only("pk", "customer_no", "name")}


def user_display_name(user: Any) -> str:
    if user is None:
        return ""
    employee = getattr(user, "employee", None)
    return str(employee) if employee is not None else user.get_username()


# --- relationships ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RelationshipRow:
    """A relationship read from one customer's side. The other party's number and name are shown
    only when they are a customer in the actor's scope, or not a customer at all."""

    id: int
    #: the customer whose page shows the row
    customer_no: str
    kind: str
    #: the other party's role as seen from this customer ("Spouse", "Referrer", "Referred customer" …)
    label: str
    #: recorded on this customer (``outgoing``) or on the other customer (``incoming``)
    direction: str
    other_customer_no: str
    other_name: str
    #: the other party is a customer outside the actor's scope: nothing about them is shown
    other_hidden: bool
    note: str
    created_by: str
    created_at: datetime


def customer_relationships(*, actor: Any, customer_no: str) -> list[RelationshipRow]:
    """The customer's current relationships in both directions (raises ``Customer.DoesNotExist``
    when out of scope)."""
    customer = customer_get(actor=actor, customer_no=customer_no)
    # Rows recorded on *another* customer that name this one belong to this customer's page too;
    # the customer was checked against the scope above, the other party is checked below.
    rows = list(
        CustomerRelationship.objects.unscoped()
        .filter(removed_at__isnull=True)
        .filter(Q(customer=customer) | Q(related_customer=customer))
        .select_related("created_by__employee")
        .order_by("kind", "id")
    )
    others = {r.related_customer_id if r.customer_id == customer.pk else r.customer_id for r in rows}
    visible = _visible_customers(actor=actor, ids={o for o in others if o is not None})
    result = []
    for r in rows:
        outgoing = r.customer_id == customer.pk
        other_id = r.related_customer_id if outgoing else r.customer_id
        other = visible.get(other_id) if other_id is not None else None
        hidden = other_id is not None and other is None
        result.append(
            RelationshipRow(
                id=r.pk,
                customer_no=customer.customer_no,
                kind=r.kind,
                label=str(RelationshipKind(r.kind).label if outgoing else RELATIONSHIP_INVERSE_LABELS[r.kind]),
                direction="outgoing" if outgoing else "incoming",
                other_customer_no=other.customer_no if other else "",
                other_name=other.name if other else ("" if hidden else r.related_name),
                other_hidden=hidden,
                note=r.note,
                created_by=user_display_name(r.created_by),
                created_at=r.created_at,
            )
        )
    return result


def referred_by(rows: list[RelationshipRow]) -> list[RelationshipRow]:
    """Referral attribution: who referred the customer (outgoing ``referrer`` relationships)."""
    return [r for r in rows if r.kind == RelationshipKind.REFERRER and r.direction == "outgoing"]


# --- interactions ----------------------------------------------------------------------------

#: entries of the interactions timeline per page ("more" loads the next)
INTERACTIONS_PER_PAGE = 20


@dataclass(frozen=True)
class InteractionRow:
    id: int
    customer_no: str
    kind: str
    kind_label: str
    content: str
    occurred_at: datetime
    author: str
    author_name: str
    created_at: datetime


def interaction_row(i: Interaction, customer_no: str) -> InteractionRow:
    return InteractionRow(
        id=i.pk,
        customer_no=customer_no,
        kind=i.kind,
        kind_label=i.get_kind_display(),
        content=i.content,
        occurred_at=i.occurred_at,
        author=i.author.get_username(),
        author_name=user_display_name(i.author),
        created_at=i.created_at,
    )


def customer_interactions(*, actor: Any, customer_no: str) -> QuerySet[Interaction]:
    """The customer's timeline, newest first (empty when out of scope)."""
    return (
        Interaction.objects.for_user(actor)
        .filter(customer__customer_no=customer_no)
        .select_related("author__employee", "customer")
        .order_by("-occurred_at", "-id")
    )


def customer_interaction_page(
    *, actor: Any, customer_no: str, page: int = 1, per_page: int = INTERACTIONS_PER_PAGE
) -> Page:
    """One page of the timeline as ``InteractionRow`` items."""
    result = Paginator(customer_interactions(actor=actor, customer_no=customer_no), per_page).get_page(page)
    result.object_list = [interaction_row(i, customer_no) for i in result.object_list]
    return result


# --- leads (potential customers) -------------------------------------------------------------


@dataclass(frozen=True)
class LeadRow:
    """A potential customer as shown to one user: personal data masked when it must be; a
    referrer or converted customer outside the actor's scope is not named."""

    id: int
    name: str
    mobile: str
    id_type: str
    id_type_label: str
    id_number: str
    source: str
    source_label: str
    status: str
    status_label: str
    branch_code: str
    branch_name: str
    account_manager: str
    account_manager_name: str
    referrer_customer_no: str
    referrer_customer_name: str
    referrer_hidden: bool
    referrer_employee: str
    note: str
    created_by: str
    created_at: datetime
    converted_customer_no: str
    converted_at: datetime | None
    pii_masked: bool


def lead_rows(leads: list[Lead], *, actor: Any) -> list[LeadRow]:
    mask = not user_can(user=actor, capability=Capability.VIEW_PII)
    visible = _visible_customers(
        actor=actor,
        ids={i for lead in leads for i in (lead.referrer_customer_id, lead.converted_customer_id) if i is not None},
    )
    rows = []
    for lead in leads:
        manager = lead.account_manager
        referrer = visible.get(lead.referrer_customer_id)
        converted = visible.get(lead.converted_customer_id)
        rows.append(
            LeadRow(
                id=lead.pk,
                name=lead.name,
                mobile=mask_mobile(lead.mobile) if mask else lead.mobile,
                id_type=lead.id_type,
                id_type_label=lead.get_id_type_display(),
                id_number=mask_id_number(lead.id_number) if mask else lead.id_number,
                source=lead.source,
                source_label=lead.get_source_display(),
                status=lead.status,
                status_label=lead.get_status_display(),
                branch_code=lead.branch.code,
                branch_name=lead.branch.name,
                account_manager=manager.user.get_username() if manager else "",
                account_manager_name=str(manager) if manager else "",
                referrer_customer_no=referrer.customer_no if referrer else "",
                referrer_customer_name=referrer.name if referrer else "",
                referrer_hidden=lead.referrer_customer_id is not None and referrer is None,
                referrer_employee=str(lead.referrer_employee) if lead.referrer_employee else "",
                note=lead.note,
                created_by=user_display_name(lead.created_by),
                created_at=lead.created_at,
                converted_customer_no=converted.customer_no if converted else "",
                converted_at=lead.converted_at,
                pii_masked=mask,
            )
        )
    return rows


def lead_search(
    *, actor: Any, query: str = "", status: str = "", source: str = "", branch_code: str = ""
) -> QuerySet[Lead]:
    """Leads in the actor's scope (same rule as customers: branch and account manager), newest
    first, matching the search (name or mobile prefix) and filters."""
    rows = Lead.objects.for_user(actor).select_related(
        "branch", "account_manager__user", "referrer_employee", "created_by__employee"
    )
    query = query.strip()
    if query:
        rows = rows.filter(Q(name__startswith=query) | Q(mobile__startswith=query))
    if status:
        rows = rows.filter(status=status)
    if source:
        rows = rows.filter(source=source)
    if branch_code:
        rows = rows.filter(branch__code=branch_code)
    return rows.order_by("-created_at", "-id")


def lead_page(*, actor: Any, page: int = 1, per_page: int = 25, **filters: str) -> Page:
    """One page of ``lead_search`` as ``LeadRow`` items (masked where required)."""
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    result = Paginator(lead_search(actor=actor, **filters), per_page).get_page(page)
    result.object_list = lead_rows(list(result.object_list), actor=actor)
    return result


def lead_get(*, actor: Any, lead_id: int) -> Lead:
    """The lead, if in the actor's scope; raises ``Lead.DoesNotExist`` otherwise (as if missing)."""
    return lead_search(actor=actor).get(pk=lead_id)


def lead_detail(*, actor: Any, lead_id: int) -> LeadRow:
    return lead_rows([lead_get(actor=actor, lead_id=lead_id)], actor=actor)[0]


def lead_counts(*, actor: Any) -> dict[str, int]:
    """Leads in the actor's scope per status."""
    return dict(Lead.objects.for_user(actor).values_list("status").annotate(n=Count("id")).order_by())


@dataclass(frozen=True)
class LeadOrigin:
    """Where a customer came from, when they were converted from a lead."""

    lead_id: int | None
    source_label: str
    referrer_customer_no: str
    referrer_customer_name: str
    referrer_hidden: bool
    referrer_employee: str
    converted_at: datetime | None


def customer_lead_origin(*, actor: Any, customer_no: str) -> LeadOrigin | None:
    """The lead the customer was converted from, if any (raises ``Customer.DoesNotExist`` when out
    of scope). The lead itself may lie outside the actor's scope (another branch registered it):
    then only its source and referrer are shown, not a link to it."""
    customer = customer_get(actor=actor, customer_no=customer_no)
    # read through the customer, who is in scope: the lead describes how this customer came
    lead = (
        Lead.objects.unscoped()
        .filter(converted_customer=customer)
        .select_related("referrer_employee")
        .order_by("converted_at", "id")
        .first()
    )
    if lead is None:
        return None
    visible = _visible_customers(actor=actor, ids={lead.referrer_customer_id} if lead.referrer_customer_id else set())
    referrer = visible.get(lead.referrer_customer_id)
    return LeadOrigin(
        lead_id=lead.pk if Lead.objects.for_user(actor).filter(pk=lead.pk).exists() else None,
        source_label=lead.get_source_display(),
        referrer_customer_no=referrer.customer_no if referrer else "",
        referrer_customer_name=referrer.name if referrer else "",
        referrer_hidden=lead.referrer_customer_id is not None and referrer is None,
        referrer_employee=str(lead.referrer_employee) if lead.referrer_employee else "",
        converted_at=lead.converted_at,
    )


def lead_branch_choices(*, actor: Any) -> list[OrgNode]:
    """Branches the actor may register leads in: the branch they work in (for a team member, the
    team's branch) and, for a region or head office, every branch under their node."""
    employee = acting_employee(actor)
    if employee is None:
        return []
    ancestors = [int(i) for i in employee.node.path.strip("/").split("/") if i]
    return list(
        OrgNode.objects.filter(kind=NodeKind.BRANCH)
        .filter(Q(pk__in=ancestors) | Q(path__startswith=employee.node.path))
        .order_by("path")
    )
