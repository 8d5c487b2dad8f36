"""Reads of proactive service. Every read of customer data takes the acting user and applies their
data scope (``Model.objects.for_user``); market events themselves are not customer data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from brokercrm.org.policy import Capability
from brokercrm.org.scope import acting_employee
from brokercrm.org.selectors import user_can
from brokercrm.service import rules
from brokercrm.service.choices import PRIORITY_ORDER, TaskStatus
from brokercrm.service.models import EventImpact, MarketEvent, Task, Visit

MAX_PAGE_SIZE = 200


def service_today() -> date:
    """Today for task lists and deadlines (one place, so tests can move the clock)."""
    return timezone.localdate()


def can_view_events(user: Any) -> bool:
    """Researchers and head office (who record events) and everyone who serves customers."""
    return user_can(user=user, capability=Capability.MANAGE_EVENTS) or user_can(
        user=user, capability=Capability.VIEW_CUSTOMERS
    )


def event_list(*, actor: Any) -> QuerySet[MarketEvent]:
    if not can_view_events(actor):
        return MarketEvent.objects.none()
    return MarketEvent.objects.select_related("created_by").order_by("-created_at", "-id")


def event_get(*, actor: Any, event_id: int) -> MarketEvent:
    """``MarketEvent.DoesNotExist`` for a user who may not see events."""
    return event_list(actor=actor).get(pk=event_id)


def event_impacts(*, actor: Any, event_id: int) -> QuerySet[EventImpact]:
    """The event's frozen list, limited to the customers the actor sees, in firm-wide rank order."""
    return (
        EventImpact.objects.for_user(actor)
        .filter(event_id=event_id)
        .select_related("customer", "account_manager__user", "event")
        .order_by("rank")
    )


def event_impact_page(*, actor: Any, event_id: int, page: int = 1, per_page: int = 50) -> Page:
    return Paginator(event_impacts(actor=actor, event_id=event_id), min(per_page, MAX_PAGE_SIZE)).get_page(page)


def event_priority_counts(*, actor: Any, event_id: int) -> dict[str, int]:
    """How many customers of each priority the actor sees in the event's list."""
    rows = event_impacts(actor=actor, event_id=event_id).order_by().values("priority").annotate(n=Count("id"))
    return {r["priority"]: r["n"] for r in rows}


def event_task_counts(*, actor: Any, event_id: int) -> dict[str, int]:
    rows = Task.objects.for_user(actor).filter(event_id=event_id).order_by().values("status").annotate(n=Count("id"))
    return {r["status"]: r["n"] for r in rows}


# --- tasks ----------------------------------------------------------------------------------


def _priority_rank() -> Case:
    return Case(
        *[When(priority=p, then=Value(order)) for p, order in PRIORITY_ORDER.items()],
        default=Value(9),
        output_field=IntegerField(),
    )


def open_tasks(*, actor: Any) -> QuerySet[Task]:
    """Open tasks of the customers the actor sees, high priority first, then by due date."""
    return (
        Task.objects.for_user(actor)
        .filter(status=TaskStatus.OPEN)
        .select_related("customer", "assignee__user", "event")
        .annotate(priority_rank=_priority_rank())
        .order_by("priority_rank", "due_date", "id")
    )


@dataclass(frozen=True)
class Workspace:
    today: date
    overdue: list[Task]
    due_today: list[Task]
    upcoming: list[Task]


#: how far ahead the workspace lists upcoming tasks (calendar days)
UPCOMING_DAYS = 7


def task_workspace(*, actor: Any, today: date | None = None, limit: int = 200) -> Workspace:
    """The account manager's day: overdue tasks, today's, and the coming week's — each by
    priority (high first). An account manager sees the tasks of their own customers; a team lead
    or branch manager those of the customers they see."""
    today = today or service_today()
    tasks = open_tasks(actor=actor)
    return Workspace(
        today=today,
        overdue=list(tasks.filter(due_date__lt=today)[:limit]),
        due_today=list(tasks.filter(due_date=today)[:limit]),
        upcoming=list(tasks.filter(due_date__gt=today, due_date__lte=today + timedelta(days=UPCOMING_DAYS))[:limit]),
    )


def escalated_tasks(*, actor: Any) -> QuerySet[Task]:
    """Open overdue tasks marked escalated, of the customers the actor sees (a team lead: the team's)."""
    return open_tasks(actor=actor).filter(escalated=True).order_by("due_date", "priority_rank", "id")


def task_get(*, actor: Any, task_id: int) -> Task:
    """A task whose customer the actor sees (``Task.DoesNotExist`` otherwise)."""
    return Task.objects.for_user(actor).select_related("customer", "assignee__user", "event").get(pk=task_id)


def customer_open_tasks(*, actor: Any, customer_no: str) -> list[Task]:
    return list(open_tasks(actor=actor).filter(customer__customer_no=customer_no)[:50])


def customer_visits(*, actor: Any, customer_no: str, limit: int = 20) -> list[Visit]:
    return list(
        Visit.objects.for_user(actor)
        .filter(customer__customer_no=customer_no)
        .select_related("interaction", "author", "follow_up_task")
        .order_by("-created_at", "-id")[:limit]
    )


def deadline_days(tier: str) -> int:
    """The trading days a task for a customer of ``tier`` is given (``rules.SERVICE_DEADLINE_DAYS``)."""
    days = rules.setting("SERVICE_DEADLINE_DAYS")
    return int(days.get(tier or rules.DEFAULT_TIER, days[rules.DEFAULT_TIER]))


# --- the account manager's figures ----------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    as_of: date | None
    customers: int
    assets: Decimal
    assets_share: Decimal | None
    trade_amount: Decimal
    trade_amount_share: Decimal | None
    commission: Decimal
    commission_share: Decimal | None
    #: tasks closed as done in the last 30 days, and how many of them by their due day
    tasks_done: int
    tasks_on_time: int
    period_start: date | None = None


def _share(mine: Decimal, whole: Decimal) -> Decimal | None:
    return (mine / whole).quantize(Decimal("0.0001")) if whole else None


def my_figures(*, actor: Any) -> Figures | None:
    """An account manager's customers, assets served on the latest published day, trade amount and
    commission of that day's month so far, each with its share of the branch; tasks done on time.
    The branch totals are sums only (no customer of another manager is shown)."""
    from brokercrm.customers.models import Customer
    from brokercrm.datacenter.models import IndicatorDaily
    from brokercrm.datacenter.selectors import last_publication

    employee = acting_employee(actor)
    if employee is None or not user_can(user=actor, capability=Capability.VIEW_CUSTOMERS):
        return None
    mine = Customer.objects.for_user(actor)
    publication = last_publication()
    as_of = publication.latest_day if publication else None
    assets = trade = commission = Decimal(0)
    branch_assets = branch_trade = branch_commission = Decimal(0)
    start = None
    if as_of is not None:
        start = as_of.replace(day=1)
        branch = employee.node
        # the branch the manager works in: their node's branch ancestor (or the node itself)
        from brokercrm.org.models import OrgNode

        branch_ids = [n for n in branch.path.strip("/").split("/") if n]
        branch_node = OrgNode.objects.filter(pk__in=branch_ids, kind="branch").first()
        day_rows = IndicatorDaily.objects.for_user(actor).filter(trade_date=as_of)
        month_rows = IndicatorDaily.objects.for_user(actor).filter(trade_date__gte=start, trade_date__lte=as_of)
        assets = day_rows.aggregate(s=Sum("total_assets"))["s"] or Decimal(0)
        month = month_rows.aggregate(t=Sum("trade_amount"), c=Sum("commission"))
        trade, commission = month["t"] or Decimal(0), month["c"] or Decimal(0)
        if branch_node is not None:
            whole = IndicatorDaily.objects.unscoped().filter(customer__branch=branch_node)
            branch_assets = whole.filter(trade_date=as_of).aggregate(s=Sum("total_assets"))["s"] or Decimal(0)
            total = whole.filter(trade_date__gte=start, trade_date__lte=as_of).aggregate(
                t=Sum("trade_amount"), c=Sum("commission")
            )
            branch_trade, branch_commission = total["t"] or Decimal(0), total["c"] or Decimal(0)
    since = timezone.now() - timedelta(days=30)
    done = list(
        Task.objects.for_user(actor)
        .filter(status=TaskStatus.DONE, done_at__gte=since)
        .filter(Q(assignee=employee) | Q(done_by=actor))
        .values_list("done_at", "due_date")
    )
    on_time = sum(1 for done_at, due in done if timezone.localdate(done_at) <= due)
    return Figures(
        as_of=as_of,
        customers=mine.count(),
        assets=Decimal(assets),
        assets_share=_share(Decimal(assets), Decimal(branch_assets)),
        trade_amount=Decimal(trade),
        trade_amount_share=_share(Decimal(trade), Decimal(branch_trade)),
        commission=Decimal(commission),
        commission_share=_share(Decimal(commission), Decimal(branch_commission)),
        tasks_done=len(done),
        tasks_on_time=on_time,
        period_start=start,
    )
