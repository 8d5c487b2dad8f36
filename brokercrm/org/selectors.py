"""Reads of the organisation and the audit log."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from brokercrm.org.choices import Role
from brokercrm.org.models import AuditEvent, Employee, OrgNode
from brokercrm.org.policy import Capability, role_can
from brokercrm.org.scope import acting_employee


def user_can(*, user: Any, capability: Capability) -> bool:
    """Whether the acting user's role has ``capability`` (False for anyone without a role)."""
    employee = acting_employee(user)
    return employee is not None and role_can(employee.role, capability)


def org_node_list(*, actor: Any) -> QuerySet[OrgNode]:
    """Nodes in the actor's subtree (head office sees the whole tree); nothing without a role."""
    employee = acting_employee(actor)
    if employee is None:
        return OrgNode.objects.none()
    return OrgNode.objects.filter(path__startswith=employee.node.path).select_related("parent")


def org_node_tree(*, actor: Any) -> list[OrgNode]:
    """The actor's subtree in depth-first order (``path`` order), for rendering a tree."""
    return list(org_node_list(actor=actor))


def employee_list(*, actor: Any, role: str | None = None) -> QuerySet[Employee]:
    """Active employees placed in the actor's subtree."""
    employee = acting_employee(actor)
    if employee is None:
        return Employee.objects.none()
    rows = Employee.objects.filter(is_active=True, node__path__startswith=employee.node.path)
    if role:
        rows = rows.filter(role=role)
    return rows.select_related("user", "node")


def account_manager_choices(*, actor: Any, branch: OrgNode) -> QuerySet[Employee]:
    """Account managers of ``branch`` that the actor may assign customers to."""
    return employee_list(actor=actor, role=Role.ACCOUNT_MANAGER).filter(node__path__startswith=branch.path)


def audit_search(
    *,
    actor: Any,
    username: str = "",
    action: str = "",
    object_id: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[AuditEvent]:
    """Audit entries the actor may read (``VIEW_AUDIT``), newest first.

    Head office reads everything; a compliance officer placed lower reads the entries of the
    employees in their subtree.
    """
    employee = acting_employee(actor)
    if employee is None or not role_can(employee.role, Capability.VIEW_AUDIT):
        return AuditEvent.objects.none()
    rows = AuditEvent.objects.all()
    if employee.node.depth > 0:
        rows = rows.filter(actor__employee__node__path__startswith=employee.node.path)
    if username:
        rows = rows.filter(actor_username__icontains=username)
    if action:
        rows = rows.filter(action=action)
    if object_id:
        rows = rows.filter(Q(object_id=object_id) | Q(detail__icontains=object_id))
    tz = timezone.get_current_timezone()
    if date_from:
        rows = rows.filter(at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        rows = rows.filter(at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
    return rows
