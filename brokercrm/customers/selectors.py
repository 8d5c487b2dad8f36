"""Reads of customer data. Every function takes the acting user and applies their data scope
(``Customer.objects.for_user``); personal data is masked for roles without ``VIEW_PII``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterator

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet

from brokercrm.customers.choices import CustomerStatus, CustomerType, IdType
from brokercrm.customers.models import Customer, CustomerAssignment
from brokercrm.org.policy import Capability
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
    result.object_list = [_row(c, mask=mask) for c in result.object_list]
    return result


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
    return _row(customer, mask=not user_can(user=actor, capability=Capability.VIEW_PII))


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
