"""Actions on customers. Each is one transaction and writes its audit entry."""

from __future__ import annotations

from datetime import date
from typing import Any, Iterator

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from brokercrm.customers.models import Customer, CustomerAssignment
from brokercrm.customers.selectors import customer_get, customer_rows, customer_search
from brokercrm.org.choices import AuditAction, NodeKind, Role
from brokercrm.org.models import Employee, OrgNode
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.org.services import audit_record

ERR_NOT_ALLOWED = "You may not do this."
ERR_NOT_ACCOUNT_MANAGER = "{username} is not an active account manager."
ERR_OUTSIDE_BRANCH = "{username} does not work in the customer's branch."
ERR_SAME_MANAGER = "The customer is already served by {username}."
ERR_BRANCH_KIND = "A customer's branch must be a branch node."

#: the columns of a customer export, in order
EXPORT_COLUMNS = (
    "customer_no",
    "name",
    "customer_type",
    "status",
    "branch_code",
    "branch_name",
    "account_manager",
    "id_number",
    "mobile",
    "open_date",
)


@transaction.atomic
def customer_create(
    *,
    customer_no: str,
    name: str,
    customer_type: str,
    branch: OrgNode,
    account_manager: Employee | None = None,
    status: str = "normal",
    id_type: str = "",
    id_number: str = "",
    mobile: str = "",
    open_date: date | None = None,
) -> Customer:
    """Add a customer to the master (the data center does this from counter data); an initial
    account manager opens the first assignment period."""
    if branch.kind != NodeKind.BRANCH:
        raise ValidationError(ERR_BRANCH_KIND)
    customer = Customer.objects.create(
        customer_no=customer_no,
        name=name,
        customer_type=customer_type,
        branch=branch,
        account_manager=account_manager,
        status=status,
        id_type=id_type,
        id_number=id_number,
        mobile=mobile,
        open_date=open_date,
    )
    if account_manager is not None:
        CustomerAssignment.objects.create(
            customer=customer, account_manager=account_manager, started_at=timezone.now()
        )
    return customer


@transaction.atomic
def customer_assign(
    *,
    actor: Any,
    customer_no: str,
    account_manager: Employee,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Customer:
    """Hand a customer to another account manager, keeping the history of who served them when.

    The actor needs ``ASSIGN_CUSTOMERS`` and the customer in scope (else ``Customer.DoesNotExist``,
    as if it did not exist); the new manager must be an active account manager of the customer's
    branch. The current assignment period is closed and a new one opened at the same instant.
    """
    if not user_can(user=actor, capability=Capability.ASSIGN_CUSTOMERS):
        raise PermissionDenied(ERR_NOT_ALLOWED)
    customer = customer_get(actor=actor, customer_no=customer_no)
    customer = Customer.objects.unscoped().select_for_update().get(pk=customer.pk)
    username = account_manager.user.get_username()
    if account_manager.role != Role.ACCOUNT_MANAGER or not account_manager.is_active:
        raise ValidationError(ERR_NOT_ACCOUNT_MANAGER.format(username=username))
    if not account_manager.node.path.startswith(customer.branch.path):
        raise ValidationError(ERR_OUTSIDE_BRANCH.format(username=username))
    if customer.account_manager_id == account_manager.pk:
        raise ValidationError(ERR_SAME_MANAGER.format(username=username))
    now = timezone.now()
    previous = customer.account_manager
    CustomerAssignment.objects.unscoped().filter(customer=customer, ended_at__isnull=True).update(ended_at=now)
    CustomerAssignment.objects.create(
        customer=customer, account_manager=account_manager, started_at=now, assigned_by=actor, reason=reason
    )
    customer.account_manager = account_manager
    customer.save(update_fields=["account_manager", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_ASSIGN,
        object_type="customer",
        object_id=customer.customer_no,
        request=request,
        detail={
            "from": previous.user.get_username() if previous else None,
            "to": username,
            "reason": reason,
        },
    )
    return customer


def customer_view_record(*, actor: Any, customer_no: str, request: HttpRequest | None, via: str = "page") -> None:
    """Write the audit entry for one view of a customer's data."""
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_VIEW,
        object_type="customer",
        object_id=customer_no,
        request=request,
        detail={"via": via},
    )


def customer_list_record(
    *, actor: Any, filters: dict[str, Any], shown: list[str], request: HttpRequest | None, via: str = "page"
) -> None:
    """Write the audit entry for one list of customers shown (which filters, which customers)."""
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_LIST,
        object_type="customer",
        request=request,
        detail={"via": via, "filters": {k: v for k, v in filters.items() if v}, "customers": shown},
    )


def customer_export(*, actor: Any, request: HttpRequest | None = None, **filters: str) -> Iterator[list[str]]:
    """Rows of a customer export (header first), masked where required.

    The audit entry (filters and row count) is written *before* the first row is produced, so an
    export interrupted half-way is still on record.
    """
    if not user_can(user=actor, capability=Capability.EXPORT_CUSTOMERS):
        raise PermissionDenied(ERR_NOT_ALLOWED)
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_EXPORT,
        object_type="customer",
        request=request,
        detail={
            "filters": {k: v for k, v in filters.items() if v},
            "rows": customer_search(actor=actor, **filters).count(),
        },
    )
    return _export_rows(actor=actor, filters=filters)


def _export_rows(*, actor: Any, filters: dict[str, str]) -> Iterator[list[str]]:
    yield list(EXPORT_COLUMNS)
    for row in customer_rows(actor=actor, **filters):
        yield [
            row.customer_no,
            row.name,
            row.customer_type,
            row.status,
            row.branch_code,
            row.branch_name,
            row.account_manager,
            row.id_number,
            row.mobile,
            row.open_date.isoformat() if row.open_date else "",
        ]
