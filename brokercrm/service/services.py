"""Actions of proactive service: record a market event (and freeze its impact list), turn the list
into tasks, complete tasks, log visits with their follow-ups, escalate overdue tasks, export.
Each top-level action is one transaction (issue 6, "Proactive service and the account manager's day").
"""

from __future__ import annotations

import csv
import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.models import Customer
from brokercrm.customers.services import interaction_add
from brokercrm.org.choices import AuditAction
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.org.services import audit_record
from brokercrm.service import desk, rules
from brokercrm.service.choices import (
    CHANNEL_INTERACTION_KIND,
    Direction,
    Priority,
    RiskGroup,
    TaskKind,
    TaskStatus,
    VisitChannel,
    VisitOutcome,
)
from brokercrm.service.impact import (  # noqa: F401 (ImpactRow, impact_compute: part of this module's interface)
    ERR_NOT_PUBLISHED,
    ERR_UNKNOWN_INDUSTRY,
    ImpactRow,
    impact_compute,
    impact_freeze,
    industry_members,
    latest_published_day,
)
from brokercrm.service.models import EventImpact, MarketEvent, Task, Visit
from brokercrm.service import selectors as _selectors

ERR_NOT_ALLOWED = "You may not do this."
ERR_TITLE = _("An event needs a title.")
ERR_NOTHING_AFFECTED = _("Name at least one affected security or industry.")
ERR_SECURITY_CODE = _("“{code}” is not a security code like SH600036 or SZ000001.")
ERR_DIRECTION = _("Choose the direction: positive, negative or neutral.")
ERR_IMPACT = _("The impact is a whole number from 1 to 5.")
ERR_TASK_CLOSED = _("The task is already closed.")
ERR_CHANNEL = _("Choose how you reached the customer.")
ERR_OUTCOME = _("Choose the outcome.")
ERR_FOLLOW_UP_PAST = _("The next follow-up cannot lie in the past.")
ERR_TASK_OTHER_CUSTOMER = _("The task belongs to another customer.")

SECURITY_CODE = re.compile(r"^(SH|SZ|BJ)(\d{6})$")
#: the columns of ``brokercrm export event-impact``, in order (issue 6, "Export")
EXPORT_COLUMNS = ("rank", "customer_no", "account_manager", "exposure", "exposure_ratio", "priority", "suggestion")
CENT = Decimal("0.01")
BATCH = 2000


def _require(actor: Any, capability: Capability) -> None:
    """``actor`` None is the operator's CLI (no web user, no scope)."""
    if actor is not None and not user_can(user=actor, capability=capability):
        raise PermissionDenied(ERR_NOT_ALLOWED)


# --- market events --------------------------------------------------------------------------


def parse_securities(values: Iterable[str]) -> list[str]:
    """``["sh600036", " SZ000858 "]`` → ``["SH600036", "SZ000858"]`` (order kept, duplicates
    dropped); a value that is not an exchange code + 6 digits is refused with its text."""
    out: list[str] = []
    for value in values:
        code = value.strip().upper()
        if not code:
            continue
        if not SECURITY_CODE.match(code):
            raise ValidationError(ERR_SECURITY_CODE.format(code=value.strip()[:20]))
        if code not in out:
            out.append(code)
    return out


def event_create(
    *,
    actor: Any,
    title: str,
    direction: str,
    impact: int,
    securities: Iterable[str] = (),
    industries: Iterable[str] = (),
    description: str = "",
    suggestions: dict[str, str] | None = None,
    data_dir: Path | None = None,
) -> MarketEvent:
    """Record a market event and freeze its impact list as of the latest published trading day
    (``service.impact``: computed from the published warehouse version, then written with the
    event in one transaction).

    Needs ``MANAGE_EVENTS`` (``actor`` None: the operator's CLI). ``suggestions`` maps a
    ``RiskGroup`` to the text for that group.
    """
    _require(actor, Capability.MANAGE_EVENTS)
    title = title.strip()
    if not title:
        raise ValidationError(ERR_TITLE)
    codes = parse_securities(securities)
    names = [n.strip() for n in industries if n.strip()]
    names = list(dict.fromkeys(names))
    if not codes and not names:
        raise ValidationError(ERR_NOTHING_AFFECTED)
    if direction not in Direction.values:
        raise ValidationError(ERR_DIRECTION)
    try:
        impact = int(impact)
    except (TypeError, ValueError):
        raise ValidationError(ERR_IMPACT)
    if not 1 <= impact <= 5:
        raise ValidationError(ERR_IMPACT)
    as_of = latest_published_day()
    if as_of is None:
        raise ValidationError(ERR_NOT_PUBLISHED)
    resolved = list(codes)
    if names:
        seen = set(resolved)
        for name, members in industry_members(names, data_dir=data_dir).items():
            if not members:
                raise ValidationError(ERR_UNKNOWN_INDUSTRY.format(industry=name))
            resolved += [c for c in members if c not in seen]
            seen.update(members)
    # computed before the transaction: the database is written (and locked) only to freeze it
    rows = impact_compute(securities=resolved, as_of=as_of, data_dir=data_dir)
    suggestions = suggestions or {}
    with transaction.atomic():
        return _event_record(
            actor=actor, title=title, description=description, codes=codes, names=names, resolved=resolved,
            direction=direction, impact=impact, suggestions=suggestions, as_of=as_of, rows=rows,
        )  # fmt: skip


def _event_record(
    *, actor, title, description, codes, names, resolved, direction, impact, suggestions, as_of, rows: list[ImpactRow]
) -> MarketEvent:
    event = MarketEvent.objects.create(
        title=title[:200],
        description=description.strip()[:4000],
        securities=codes,
        industries=names,
        resolved_securities=resolved,
        direction=direction,
        impact=impact,
        suggestion_c1_c2=suggestions.get(RiskGroup.C1_C2, "").strip()[:2000],
        suggestion_c3=suggestions.get(RiskGroup.C3, "").strip()[:2000],
        suggestion_c4_c5=suggestions.get(RiskGroup.C4_C5, "").strip()[:2000],
        suggestion_professional=suggestions.get(RiskGroup.PROFESSIONAL, "").strip()[:2000],
        as_of=as_of,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    impact_freeze(event=event, rows=rows)
    audit_record(
        actor=actor,
        username="cli",
        action=AuditAction.EVENT_CREATE,
        object_type="market_event",
        object_id=str(event.pk),
        detail={"securities": len(resolved), "industries": names, "affected": len(rows), "as_of": as_of.isoformat()},
    )
    return event


# --- tasks ----------------------------------------------------------------------------------


@transaction.atomic
def tasks_from_event(*, actor: Any, event_id: int, today: date | None = None) -> int:
    """One task per affected customer who has an account manager, for that manager, due by the
    customer's tier (``rules.deadline``); a customer who already has a task for this event gets
    none (so a second click creates nothing). Needs ``MANAGE_EVENTS``; returns how many were created.
    """
    _require(actor, Capability.MANAGE_EVENTS)
    event = MarketEvent.objects.select_for_update().get(pk=event_id)
    today = today or _selectors.service_today()
    done = set(Task.objects.unscoped().filter(event=event).values_list("customer_id", flat=True))
    title = str(_("Market event: {title}")).format(title=event.title)[:200]
    due_by_tier: dict[str, date] = {}
    created = 0
    impacts = (
        EventImpact.objects.unscoped()
        .filter(event=event)
        .select_related("customer")
        .only("customer_id", "tier", "risk_group", "priority", "customer__account_manager_id")
        .order_by("rank")
    )
    batch: list[Task] = []
    for impact in impacts.iterator(chunk_size=BATCH):
        manager = impact.customer.account_manager_id  # whoever serves the customer now
        if manager is None or impact.customer_id in done:
            continue
        if impact.tier not in due_by_tier:
            due_by_tier[impact.tier] = rules.deadline(tier=impact.tier, raised_on=today)
        batch.append(
            Task(
                customer_id=impact.customer_id,
                assignee_id=manager,
                kind=TaskKind.EVENT,
                priority=impact.priority,
                title=title,
                suggestion=event.suggestion_for(impact.risk_group),
                due_date=due_by_tier[impact.tier],
                event=event,
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
        )
        if len(batch) >= BATCH:
            created += len(Task.objects.unscoped().bulk_create(batch))
            batch = []
    if batch:
        created += len(Task.objects.unscoped().bulk_create(batch))
    if event.tasks_created_at is None:
        event.tasks_created_at = timezone.now()
        event.save(update_fields=["tasks_created_at"])
    audit_record(
        actor=actor,
        username="cli",
        action=AuditAction.EVENT_TASKS,
        object_type="market_event",
        object_id=str(event.pk),
        detail={"tasks_created": created},
    )
    return created


def task_raise(
    *,
    customer_id: int,
    kind: str,
    title: str,
    dedup_key: str,
    priority: str = Priority.MEDIUM,
    suggestion: str = "",
    due_date: date | None = None,
    today: date | None = None,
    actor: Any = None,
) -> Task | None:
    """Raise a data-driven task (large withdrawal, margin call …) for the customer's account
    manager, due by tier unless ``due_date`` is given. Returns None when an open task of the same
    customer, kind and ``dedup_key`` exists (the condition is already being worked on)."""
    if kind not in TaskKind.values or kind == TaskKind.EVENT:
        raise ValueError(f"not a data-driven task kind: {kind}")
    if not dedup_key:
        raise ValueError("a data-driven task needs a dedup key")
    customer = Customer.objects.unscoped().select_related("segment").get(pk=customer_id)
    if Task.objects.unscoped().filter(customer_id=customer_id, kind=kind, dedup_key=dedup_key, status=TaskStatus.OPEN).exists():
        return None
    tier = getattr(getattr(customer, "segment", None), "tier", "") or rules.DEFAULT_TIER
    try:
        with transaction.atomic():
            return Task.objects.unscoped().create(
                customer=customer,
                assignee_id=customer.account_manager_id,
                kind=kind,
                priority=priority,
                title=title[:200],
                suggestion=suggestion[:2000],
                due_date=due_date or rules.deadline(tier=tier, raised_on=today or _selectors.service_today()),
                dedup_key=dedup_key[:120],
                created_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError:  # raised concurrently by another run
        return None


def _task_for_update(*, actor: Any, task_id: int) -> Task:
    """A task whose customer the actor sees (else ``Task.DoesNotExist``, as if there were none)."""
    return Task.objects.for_user(actor).select_for_update(of=("self",)).select_related("customer").get(pk=task_id)


def _task_done(task: Task, actor: Any) -> None:
    """Close an open task as done. An AML review task done is the customer's review of that day
    (``Customer.aml_reviewed_on``): the next one falls due a review cycle later."""
    task.status, task.done_at, task.done_by = TaskStatus.DONE, timezone.now(), actor
    task.save(update_fields=["status", "done_at", "done_by"])
    if task.kind == TaskKind.AML_REVIEW:
        Customer.objects.unscoped().filter(pk=task.customer_id).update(
            aml_reviewed_on=timezone.localdate(task.done_at), updated_at=task.done_at
        )


@transaction.atomic
def task_complete(*, actor: Any, task_id: int) -> Task:
    """Mark an open task done. Needs ``ADD_INTERACTIONS`` and the customer in scope."""
    _require(actor, Capability.ADD_INTERACTIONS)
    task = _task_for_update(actor=actor, task_id=task_id)
    if task.status != TaskStatus.OPEN:
        raise ValidationError(ERR_TASK_CLOSED)
    _task_done(task, actor)
    return task


@transaction.atomic
def visit_log(
    *,
    actor: Any,
    customer_no: str,
    channel: str,
    content: str,
    outcome: str,
    next_follow_up: date | None = None,
    task_id: int | None = None,
    today: date | None = None,
) -> Visit:
    """Log a contact: it goes on the customer's timeline (``customers.services.interaction_add``,
    which checks ``ADD_INTERACTIONS`` and the scope), with its channel and outcome here; the task it
    answers is completed; a next follow-up date raises a 回访 task due that day for the customer's
    account manager (the author when nobody serves the customer)."""
    if channel not in VisitChannel.values:
        raise ValidationError(ERR_CHANNEL)
    if outcome not in VisitOutcome.values:
        raise ValidationError(ERR_OUTCOME)
    today = today or _selectors.service_today()
    if next_follow_up is not None and next_follow_up < today:
        raise ValidationError(ERR_FOLLOW_UP_PAST)
    task = None
    if task_id is not None:
        _require(actor, Capability.ADD_INTERACTIONS)
        task = _task_for_update(actor=actor, task_id=task_id)
        if task.customer.customer_no != customer_no:
            raise ValidationError(ERR_TASK_OTHER_CUSTOMER)
        if task.status != TaskStatus.OPEN:
            raise ValidationError(ERR_TASK_CLOSED)
    interaction = interaction_add(
        actor=actor, customer_no=customer_no, kind=CHANNEL_INTERACTION_KIND[VisitChannel(channel)], content=content
    )
    customer = interaction.customer
    follow_up = None
    if next_follow_up is not None:
        from brokercrm.org.scope import acting_employee

        manager_id = customer.account_manager_id
        if manager_id is None:
            me = acting_employee(actor)
            manager_id = me.pk if me is not None else None
        follow_up = Task.objects.unscoped().create(
            customer=customer,
            assignee_id=manager_id,
            kind=TaskKind.FOLLOW_UP,
            priority=task.priority if task is not None else Priority.MEDIUM,
            title=str(_("Follow-up visit")),
            suggestion=interaction.content[:2000],
            due_date=next_follow_up,
            created_by=actor,
        )
    if task is not None:
        _task_done(task, actor)
    return Visit.objects.create(
        customer=customer,
        interaction=interaction,
        channel=channel,
        outcome=outcome,
        task=task,
        next_follow_up=next_follow_up,
        follow_up_task=follow_up,
        author=actor,
    )


@transaction.atomic
def tasks_escalate(*, today: date | None = None) -> int:
    """Mark every open task due before ``today`` escalated (issue 6: "overdue tasks escalate to
    the team lead"); run after each publication and by ``brokercrm tasks escalate``. Returns how
    many were newly escalated."""
    today = today or _selectors.service_today()
    return (
        Task.objects.unscoped()
        .filter(status=TaskStatus.OPEN, escalated=False, due_date__lt=today)
        .update(escalated=True, escalated_at=timezone.now())
    )


def overdue_escalate(*, today: date | None = None) -> tuple[int, int]:
    """Escalate what is overdue: open tasks past their due day and service requests or complaints
    still open after their deadline (``desk.requests_escalate``). Returns (tasks, requests) newly
    escalated; what ``pipeline run`` and ``brokercrm tasks escalate`` call."""
    today = today or _selectors.service_today()
    return tasks_escalate(today=today), desk.requests_escalate(today=today)


# --- export ---------------------------------------------------------------------------------


def ratio_text(value: Decimal | None) -> str:
    """The ratio with 4 places, half up (empty when unknown)."""
    return "" if value is None else str(value.quantize(Decimal("0.0001"), ROUND_HALF_UP))


def event_impact_export(*, event_id: int, out: Path, actor: Any = None, request: HttpRequest | None = None) -> int:
    """Write ``rank, customer_no, account_manager, exposure, exposure_ratio, priority, suggestion``
    (money with 2 places, ratio with 4) of the event's list, in rank order; returns the row count.

    ``actor`` None is the operator's CLI (every customer); a user gets the customers in their
    scope, with the firm-wide rank. The audit entry is written before the file.
    """
    event = MarketEvent.objects.get(pk=event_id)
    rows = EventImpact.objects.unscoped() if actor is None else EventImpact.objects.for_user(actor)
    rows = rows.filter(event=event).select_related("customer", "account_manager__user").order_by("rank")
    audit_record(
        actor=actor,
        username="cli",
        action=AuditAction.CUSTOMER_EXPORT,
        object_type="event_impact",
        object_id=str(event.pk),
        request=request,
        detail={"event": event.pk, "rows": rows.count()},
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for r in rows.iterator(chunk_size=BATCH):
            writer.writerow(
                [
                    r.rank,
                    r.customer.customer_no,
                    r.account_manager.user.get_username() if r.account_manager else "",
                    f"{r.exposure:.2f}",
                    ratio_text(r.exposure_ratio),
                    r.priority,
                    event.suggestion_for(r.risk_group),
                ]
            )
            count += 1
    return count
