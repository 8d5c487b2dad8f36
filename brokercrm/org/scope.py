"""Data scope: the one mechanism that limits customer data to what a user may see.

Rule (DESIGN.md, "Who uses it"; issue 2): a user sees the customers of the nodes they belong
to — an account manager their own customers, a team lead the team's, a branch manager the
branch's, head office everything under it. The scope is **fail-closed**:

- a customer-bearing model's default manager (``ScopedManager``) returns *nothing*;
- ``Model.objects.for_user(user)`` returns what ``user`` may see, and nothing for an anonymous,
  inactive or unplaced user or a role without ``VIEW_CUSTOMERS``;
- ``Model.objects.unscoped()`` is the loud escape hatch for services and batch jobs.

A model declares where its customer is with ``ScopedManager(customer_path="customer")``; the
customer itself uses ``""``. The filter is built from the acting employee's role and node,
never from request parameters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

from brokercrm.org.choices import NodeKind, Role
from brokercrm.org.policy import Capability, role_can

if TYPE_CHECKING:  # pragma: no cover
    from brokercrm.org.models import Employee

_CACHE_ATTR = "_brokercrm_employee"


def acting_employee(user: Any) -> Employee | None:
    """The active employee record behind ``user``, or ``None`` (then the user sees nothing).

    Cached on the user object, so one request reads it once.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if hasattr(user, _CACHE_ATTR):
        return getattr(user, _CACHE_ATTR)
    from brokercrm.org.models import Employee

    employee = Employee.objects.select_related("node").filter(user=user, is_active=True).first()
    setattr(user, _CACHE_ATTR, employee)
    return employee


def customer_scope(user: Any, *, customer_path: str = "") -> Q | None:
    """The filter on customers (reached through ``customer_path``) that ``user`` may see.

    Returns ``None`` when the user may see no customer at all; callers must then return an
    empty result. An account manager's customers are those they serve; a team lead's are those
    served by the team's account managers; a branch manager's, region's or head office's are the
    customers of the branches under their node (including unassigned ones).
    """
    employee = acting_employee(user)
    if employee is None or not role_can(employee.role, Capability.VIEW_CUSTOMERS):
        return None
    prefix = f"{customer_path}__" if customer_path else ""
    if employee.role == Role.ACCOUNT_MANAGER:
        return Q(**{f"{prefix}account_manager_id": employee.pk})
    subtree = employee.node.path
    if not subtree:
        return None
    from brokercrm.org.models import OrgNode

    # Ids of the subtree are resolved once (the tree is small) so that the customer query is a
    # plain indexed ``IN`` on the customer table, without joins, even at millions of customers.
    nodes = OrgNode.objects.filter(path__startswith=subtree)
    if employee.node.kind == NodeKind.TEAM:
        # a team is not a branch: its customers are those its account managers serve
        return Q(**{f"{prefix}account_manager__node_id__in": list(nodes.values_list("id", flat=True))})
    # a branch, region or head office sees the customers of its branches; an account manager
    # always works in the customer's branch (``customers.services.customer_assign``)
    return Q(**{f"{prefix}branch_id__in": list(nodes.filter(kind=NodeKind.BRANCH).values_list("id", flat=True))})


class ScopedQuerySet(models.QuerySet):
    """A queryset of a customer-bearing model. Obtain it via ``ScopedManager``."""


class ScopedManager(models.Manager.from_queryset(ScopedQuerySet)):  # type: ignore[misc]
    """Default manager of every customer-bearing model: empty unless scoped (see module doc)."""

    def __init__(self, *, customer_path: str = "") -> None:
        super().__init__()
        self.customer_path = customer_path

    def get_queryset(self) -> ScopedQuerySet:
        return super().get_queryset().none()

    def for_user(self, user: Any) -> ScopedQuerySet:
        """Rows whose customer ``user`` may see; nothing when the scope is empty."""
        rows = super().get_queryset()
        condition = customer_scope(user, customer_path=self.customer_path)
        return rows.filter(condition) if condition is not None else rows.none()

    def unscoped(self) -> ScopedQuerySet:
        """Every row, ignoring data scope. For services and batch jobs, never for a response."""
        return super().get_queryset()
