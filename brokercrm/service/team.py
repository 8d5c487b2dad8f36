"""Managers' views of proactive service (issue 6): tasks per person of a team or branch, reassigning
a task or a customer (with its open tasks) with the history kept, and which customers of an event
were not yet contacted.

Who may: ``MANAGE_TASKS`` (team leads, branch managers, head office) sees the figures and reassigns
tasks; reassigning a customer needs ``ASSIGN_CUSTOMERS`` as on the customer page (branch managers,
head office — ``customers.services.customer_assign`` does it). Everything stays within the
actor's data scope: a task is reassigned only to someone in the actor's part of the organisation
who sees its customer (the account manager who serves the customer, or a team lead or branch
manager taking it over), so a task never shows a customer to someone outside their scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.models import Customer
from brokercrm.org.choices import AuditAction, Role
from brokercrm.org.models import Employee
from brokercrm.org.policy import Capability
from brokercrm.org.scope import acting_employee
from brokercrm.org.selectors import employee_list, user_can
from brokercrm.org.services import audit_record
from brokercrm.service.choices import REQUEST_OPEN_STATUSES, TaskStatus
from brokercrm.service.models import EventImpact, ServiceRequest, Task, TaskAssignment, Visit

ERR_NOT_ALLOWED = "You may not do this."
ERR_TASK_CLOSED = _("Only an open task can be reassigned.")
ERR_SAME_ASSIGNEE = _("The task is already assigned to {name}.")
ERR_CANNOT_SEE = _("{name} does not serve this customer and cannot see it: reassign the customer instead.")
ERR_NOT_YOURS = _("{name} is not in your part of the organisation.")

#: the period of "done on time" in the team view (calendar days)
DONE_DAYS = 30
BATCH = 900


def can_manage_tasks(user: Any) -> bool:
    return user_can(user=user, capability=Capability.MANAGE_TASKS)


# --- reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    """One person's tasks in the team view (``employee`` None: tasks of customers nobody serves)."""

    employee: Employee | None
    open: int
    overdue: int
    escalated: int
    done: int
    done_on_time: int
    requests_open: int
    requests_overdue: int

    @property
    def on_time_share(self) -> int | None:
        return round(100 * self.done_on_time / self.done) if self.done else None


def team_people(*, actor: Any) -> list[Employee]:
    """Account managers, team leads and branch managers of the actor's part of the organisation."""
    return list(
        employee_list(actor=actor)
        .filter(role__in=[Role.ACCOUNT_MANAGER, Role.TEAM_LEAD, Role.BRANCH_MANAGER])
        .order_by("node__path", "role", "user__username")
    )


def team_figures(*, actor: Any, today: date) -> list[PersonRow]:
    """Per person of the actor's part of the organisation: open tasks, overdue (due before today),
    escalated, done in the last 30 days and how many of those by their due day; open and overdue
    service requests. Counted over the tasks of the customers the actor sees (data scope), by
    assignee; tasks nobody is assigned are the last row. Empty without ``MANAGE_TASKS``."""
    if not can_manage_tasks(actor):
        return []
    people = team_people(actor=actor)
    tasks = Task.objects.for_user(actor)
    since = timezone.now() - timedelta(days=DONE_DAYS)
    open_rows = {
        r["assignee_id"]: r
        for r in tasks.filter(status=TaskStatus.OPEN)
        .values("assignee_id")
        .annotate(
            n=Count("id"),
            overdue=Count("id", filter=Q(due_date__lt=today)),
            escalated=Count("id", filter=Q(escalated=True)),
        )
        .order_by()
    }
    done: dict[int | None, list[int]] = {}
    for assignee, done_at, due in tasks.filter(status=TaskStatus.DONE, done_at__gte=since).values_list(
        "assignee_id", "done_at", "due_date"
    ):
        counts = done.setdefault(assignee, [0, 0])
        counts[0] += 1
        counts[1] += timezone.localdate(done_at) <= due
    requests = {
        r["assignee_id"]: r
        for r in ServiceRequest.objects.for_user(actor)
        .filter(status__in=REQUEST_OPEN_STATUSES)
        .values("assignee_id")
        .annotate(n=Count("id"), overdue=Count("id", filter=Q(deadline__lt=today)))
        .order_by()
    }

    def row(employee: Employee | None, pk: int | None) -> PersonRow:
        o = open_rows.get(pk, {})
        r = requests.get(pk, {})
        d = done.get(pk, [0, 0])
        return PersonRow(
            employee, o.get("n", 0), o.get("overdue", 0), o.get("escalated", 0), d[0], d[1], r.get("n", 0), r.get("overdue", 0)
        )

    rows = [row(e, e.pk) for e in people]
    nobody = row(None, None)
    if nobody.open or nobody.done or nobody.requests_open:
        rows.append(nobody)
    return rows


def team_overdue_tasks(*, actor: Any, today: date, limit: int = 500) -> list[Task]:
    """Open tasks past their due day of the customers the actor sees, oldest first (the team
    lead's list to act on). Empty without ``MANAGE_TASKS``."""
    if not can_manage_tasks(actor):
        return []
    return list(
        Task.objects.for_user(actor)
        .filter(status=TaskStatus.OPEN, due_date__lt=today)
        .select_related("customer", "assignee__user", "event")
        .order_by("due_date", "id")[:limit]
    )


def reassign_choices(*, actor: Any, task: Task) -> list[Employee]:
    """Whom the actor may give the task to: people of the actor's part of the organisation who see
    its customer (its account manager, the team lead, the branch manager), except its assignee."""
    return [
        e
        for e in team_people(actor=actor)
        if e.pk != task.assignee_id and Customer.objects.for_user(e.user).filter(pk=task.customer_id).exists()
    ]


def task_history(*, actor: Any, task_id: int) -> list[TaskAssignment]:
    return list(
        TaskAssignment.objects.for_user(actor)
        .filter(task_id=task_id)
        .select_related("from_employee__user", "to_employee__user", "by")
        .order_by("at", "id")
    )


def event_uncontacted(*, actor: Any, event_id: int) -> list[EventImpact]:
    """The event's affected customers the actor sees who were not contacted yet: no visit logged
    for them since the event was recorded, and their task of the event (if any) is not done. In
    the list's rank order."""
    impacts = EventImpact.objects.for_user(actor).filter(event_id=event_id).select_related("event")
    visited = Visit.objects.unscoped().filter(customer_id=OuterRef("customer_id"), created_at__gte=OuterRef("event__created_at"))
    done = Task.objects.unscoped().filter(event_id=event_id, customer_id=OuterRef("customer_id"), status=TaskStatus.DONE)
    return list(
        impacts.annotate(visited=Exists(visited), done=Exists(done))
        .filter(visited=False, done=False)
        .select_related("customer__account_manager__user", "account_manager__user")
        .order_by("rank")
    )


def event_open_tasks(*, actor: Any, event_id: int, customer_ids: list[int]) -> dict[int, Task]:
    """The event's task per customer (any status), for the customers listed."""
    return {
        t.customer_id: t
        for t in Task.objects.for_user(actor).filter(event_id=event_id, customer_id__in=customer_ids).select_related("assignee__user")
    }


# --- writes ---------------------------------------------------------------------------------


def _move(tasks: list[tuple[int, int | None]], *, to: int | None, by: Any, reason: str) -> int:
    """Give the tasks (id, current assignee) to ``to``, one history row each."""
    if not tasks:
        return 0
    now = timezone.now()
    TaskAssignment.objects.bulk_create(
        [TaskAssignment(task_id=pk, from_employee_id=old, to_employee_id=to, by=by, at=now, reason=reason[:200]) for pk, old in tasks],
        batch_size=BATCH,
    )
    ids = [pk for pk, _old in tasks]
    for start in range(0, len(ids), BATCH):
        Task.objects.unscoped().filter(pk__in=ids[start : start + BATCH]).update(assignee_id=to)
    return len(tasks)


@transaction.atomic
def task_reassign(*, actor: Any, task_id: int, to: Employee, reason: str = "", request: HttpRequest | None = None) -> Task:
    """Give an open task to someone else (see the module doc for whom), keeping the history and
    writing the audit entry. A task outside the actor's scope does not exist for them."""
    if not can_manage_tasks(actor):
        raise PermissionDenied(ERR_NOT_ALLOWED)
    task = Task.objects.for_user(actor).select_for_update(of=("self",)).select_related("customer", "assignee__user").get(pk=task_id)
    name = to.display_name or to.user.get_username()
    if task.status != TaskStatus.OPEN:
        raise ValidationError(ERR_TASK_CLOSED)
    if task.assignee_id == to.pk:
        raise ValidationError(ERR_SAME_ASSIGNEE.format(name=name))
    if not employee_list(actor=actor).filter(pk=to.pk).exists():
        raise ValidationError(ERR_NOT_YOURS.format(name=name))
    if not Customer.objects.for_user(to.user).filter(pk=task.customer_id).exists():
        raise ValidationError(ERR_CANNOT_SEE.format(name=name))
    previous = task.assignee
    _move([(task.pk, task.assignee_id)], to=to.pk, by=actor, reason=reason)
    audit_record(
        actor=actor,
        action=AuditAction.TASK_REASSIGN,
        object_type="task",
        object_id=str(task.pk),
        request=request,
        detail={
            "customer": task.customer.customer_no,
            "from": previous.user.get_username() if previous else None,
            "to": to.user.get_username(),
            "reason": reason,
        },
    )
    task.refresh_from_db()
    return task


@transaction.atomic
def customer_hand_over(
    *, actor: Any, customer_no: str, account_manager: Employee, reason: str = "", request: HttpRequest | None = None
) -> int:
    """Reassign a customer to another account manager (``customers.services.customer_assign``:
    ``ASSIGN_CUSTOMERS``, scope, same branch and the actor's part of the organisation, history and
    audit); their open tasks and open service requests follow (``receivers``, a history row per
    task). Returns the tasks moved."""
    from brokercrm.customers.services import customer_assign

    started = timezone.now()
    customer = customer_assign(actor=actor, customer_no=customer_no, account_manager=account_manager, reason=reason, request=request)
    return TaskAssignment.objects.unscoped().filter(task__customer=customer, at__gte=started).count()


def tasks_follow_customers(*, customer_ids: list[int] | None = None, by: Any = None, reason: str = "") -> int:
    """Open tasks whose customer is now served by another account manager go to that manager (with
    a history row each); so do open service requests. A task a team lead or branch manager took
    over stays theirs. Runs when a customer is reassigned (``receivers``) and after each
    publication (tasks raised while nobody served the customer, a manager changed by the counter)."""
    reason = reason or str(_("Follows the customer to their account manager."))
    stale = (
        Task.objects.unscoped()
        .filter(status=TaskStatus.OPEN, customer__account_manager__isnull=False)
        .exclude(assignee_id=F("customer__account_manager_id"))
        .filter(Q(assignee__isnull=True) | Q(assignee__role=Role.ACCOUNT_MANAGER))
    )
    requests = (
        ServiceRequest.objects.unscoped()
        .filter(status__in=REQUEST_OPEN_STATUSES, customer__account_manager__isnull=False)
        .exclude(assignee_id=F("customer__account_manager_id"))
        .filter(Q(assignee__isnull=True) | Q(assignee__role=Role.ACCOUNT_MANAGER))
    )
    if customer_ids is not None:
        stale = stale.filter(customer_id__in=customer_ids)
        requests = requests.filter(customer_id__in=customer_ids)
    by_manager: dict[int, list[tuple[int, int | None]]] = {}
    for pk, old, manager in stale.values_list("id", "assignee_id", "customer__account_manager_id"):
        by_manager.setdefault(manager, []).append((pk, old))
    moved = sum(_move(tasks, to=manager, by=by, reason=reason) for manager, tasks in by_manager.items())
    for pk, manager in list(requests.values_list("id", "customer__account_manager_id")):
        ServiceRequest.objects.unscoped().filter(pk=pk).update(assignee_id=manager)
    return moved


def acting_node_label(actor: Any) -> str:
    employee = acting_employee(actor)
    return employee.node.name if employee else ""
