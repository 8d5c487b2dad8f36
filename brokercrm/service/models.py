"""Market events, their frozen impact lists, tasks and visits (DOMAIN.md glossary: proactive
service 优先主动服务 — event → affected customers → ranked task list; follow-up visit 回访).

Why the impact list is frozen (``EventImpact`` rows written when the event is recorded) rather
than computed on demand: it is computed (``service.impact``) from the published warehouse
version's holdings of the latest published trading day, and the next publication moves that
day, so recomputing would make an event's list unreproducible; the tasks raised from the list, and what each account manager was told, must
stay explainable afterwards; and the list is computed once, in one aggregate query, instead of
on every page view. The rows carry the figures as they were on ``MarketEvent.as_of``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.models import Customer, Interaction
from brokercrm.org.models import Employee
from brokercrm.org.scope import ScopedManager
from brokercrm.service.choices import Direction, Priority, RiskGroup, TaskKind, TaskStatus, VisitChannel, VisitOutcome
from brokercrm.service.choices import RequestChannel, RequestKind, RequestStatus

MONEY = {"max_digits": 20, "decimal_places": 2}


class MarketEvent(models.Model):
    """A market event a researcher records (issue 6, "Market events"): what happened, which
    securities (``"SH600036"`` codes) and/or Shenwan industries it touches, which way, how hard
    (1–5), and what to tell each risk group. Market information, not customer data: not scoped.
    """

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=4000, blank=True)
    #: affected securities as entered, ``["SH600036", "SZ000858"]``
    securities = models.JSONField(_("securities"), default=list, blank=True)
    #: affected Shenwan industries (every security of the industry is affected)
    industries = models.JSONField(_("industries"), default=list, blank=True)
    #: the securities the list was computed over: ``securities`` ∪ the industries' members
    resolved_securities = models.JSONField(default=list, blank=True)
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    impact = models.PositiveSmallIntegerField(_("impact (1–5)"))
    suggestion_c1_c2 = models.TextField(_("suggestion for C1–C2"), max_length=2000, blank=True)
    suggestion_c3 = models.TextField(_("suggestion for C3"), max_length=2000, blank=True)
    suggestion_c4_c5 = models.TextField(_("suggestion for C4–C5"), max_length=2000, blank=True)
    suggestion_professional = models.TextField(_("suggestion for professional investors"), max_length=2000, blank=True)
    #: the latest published trading day when the event was recorded: the holdings it was measured on
    as_of = models.DateField(_("as of"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    #: firm-wide totals of the frozen list (figures, not customer data)
    affected_customers = models.PositiveIntegerField(_("affected customers"), default=0)
    total_exposure = models.DecimalField(_("total exposure"), default=0, **MONEY)
    tasks_created_at = models.DateTimeField(_("tasks created at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("market event")
        verbose_name_plural = _("market events")
        constraints = [models.CheckConstraint(condition=Q(impact__gte=1, impact__lte=5), name="event_impact_1_to_5")]

    def __str__(self) -> str:
        return f"{self.pk} {self.title}"

    def suggestion_for(self, group: str) -> str:
        return {
            RiskGroup.C1_C2: self.suggestion_c1_c2,
            RiskGroup.C3: self.suggestion_c3,
            RiskGroup.C4_C5: self.suggestion_c4_c5,
            RiskGroup.PROFESSIONAL: self.suggestion_professional,
        }.get(group, "")


class EventImpact(models.Model):
    """One affected customer of an event, frozen when the event was recorded: exposure = market
    value of the customer's holdings of the affected securities on ``as_of``; ratio = exposure ÷
    total assets that day; rank by exposure (descending, then customer number)."""

    event = models.ForeignKey(MarketEvent, on_delete=models.CASCADE, related_name="impacts")
    rank = models.PositiveIntegerField(_("rank"))
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    #: who served the customer when the event was recorded
    account_manager = models.ForeignKey(Employee, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    exposure = models.DecimalField(_("exposure"), **MONEY)
    total_assets = models.DecimalField(_("total assets"), null=True, blank=True, **MONEY)
    #: exposure ÷ total assets, 8 places (shown with 4); null when total assets are unknown or 0
    exposure_ratio = models.DecimalField(_("exposure ratio"), max_digits=16, decimal_places=8, null=True, blank=True)
    tier = models.CharField(_("tier"), max_length=8)
    risk_group = models.CharField(_("risk group"), max_length=12, choices=RiskGroup.choices)
    priority = models.CharField(_("priority"), max_length=6, choices=Priority.choices)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["event", "rank"]
        verbose_name = _("event impact")
        verbose_name_plural = _("event impacts")
        constraints = [
            models.UniqueConstraint(fields=["event", "customer"], name="one_impact_per_event_and_customer"),
        ]
        indexes = [models.Index(fields=["event", "rank"])]

    @property
    def suggestion(self) -> str:
        return self.event.suggestion_for(self.risk_group)


class Task(models.Model):
    """Something an account manager must do for a customer by a day (issue 6).

    ``event`` tasks come from a market event's list (one per event and customer, ever);
    ``follow_up`` (回访) tasks from a visit's next follow-up date; the data-driven kinds carry a
    ``dedup_key`` (e.g. ``"2026-04-22"`` for a day's large withdrawal) so that the same condition
    raises one open task per customer and kind at a time. Overdue open tasks are marked
    ``escalated`` (``services.tasks_escalate``) and shown to the team lead.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="service_tasks")
    #: the account manager who must do it (null: nobody serves the customer; the branch sees it)
    assignee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="service_tasks", verbose_name=_("assignee")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices)
    priority = models.CharField(_("priority"), max_length=6, choices=Priority.choices, default=Priority.MEDIUM)
    title = models.CharField(_("title"), max_length=200)
    suggestion = models.TextField(_("suggestion"), max_length=2000, blank=True)
    due_date = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    event = models.ForeignKey(MarketEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="tasks")
    #: identifies the condition a data-driven task was raised for; unique per customer and kind while open
    dedup_key = models.CharField(_("source"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    escalated = models.BooleanField(_("escalated"), default=False)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "customer"], condition=Q(event__isnull=False), name="one_task_per_event_and_customer"
            ),
            models.UniqueConstraint(
                fields=["customer", "kind", "dedup_key"],
                condition=Q(status="open") & ~Q(dedup_key=""),
                name="one_open_task_per_source",
            ),
        ]
        indexes = [
            models.Index(fields=["assignee", "status", "due_date"]),
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["customer", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.kind} {self.customer_id} due {self.due_date}"

    @property
    def on_time(self) -> bool | None:
        """Done by the end of the due day (None while open or cancelled)."""
        if self.status != TaskStatus.DONE or self.done_at is None:
            return None
        return timezone.localdate(self.done_at) <= self.due_date


class Visit(models.Model):
    """A logged contact with its outcome (回访 record). The contact itself is the customer's
    timeline entry (``customers.Interaction``, append-only); this row adds what the timeline does
    not hold: channel, outcome, the task it answered and the follow-up it scheduled."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    interaction = models.OneToOneField(Interaction, on_delete=models.CASCADE, related_name="visit")
    channel = models.CharField(_("channel"), max_length=8, choices=VisitChannel.choices)
    outcome = models.CharField(_("outcome"), max_length=10, choices=VisitOutcome.choices)
    #: the task this contact answered (completed by it)
    task = models.ForeignKey(Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="visits")
    next_follow_up = models.DateField(_("next follow-up"), null=True, blank=True)
    follow_up_task = models.OneToOneField(
        Task, on_delete=models.SET_NULL, null=True, blank=True, related_name="scheduled_by"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [models.Index(fields=["customer", "-created_at"])]


class TaskAssignment(models.Model):
    """One change of a task's assignee (issue 6, "Managers' views": reassign tasks, history kept):
    a team lead or branch manager giving it to someone else, or the task following its customer to
    a new account manager. The first assignee (when raised) has no row."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    from_employee = models.ForeignKey(Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_employee = models.ForeignKey(Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    objects = ScopedManager(customer_path="task__customer")

    class Meta:
        ordering = ["task", "at", "id"]
        verbose_name = _("task reassignment")
        verbose_name_plural = _("task reassignments")


class ServicePolicy(models.Model):
    """Head office's thresholds of the data-driven tasks (issue 6, "Events from the data"). The
    latest row is in force, earlier rows are its history; without a row the defaults of
    ``rules.DATA_RULE_DEFAULTS`` (with their sources) hold."""

    large_withdrawal_amount = models.DecimalField(_("large withdrawal: bank transfers out in a day ≥"), **MONEY)
    net_outflow_ratio = models.DecimalField(_("net outflow ≥ this share of assets"), max_digits=6, decimal_places=4)
    net_outflow_days = models.PositiveSmallIntegerField(_("net outflow: over this many trading days"))
    margin_warning_ratio = models.DecimalField(_("margin warning below maintenance ratio"), max_digits=8, decimal_places=4)
    margin_call_ratio = models.DecimalField(_("margin call below maintenance ratio"), max_digits=8, decimal_places=4)
    assessment_expiring_days = models.PositiveSmallIntegerField(_("risk assessment expiring within (days)"))
    dormant_days = models.PositiveSmallIntegerField(_("dormant: no trade for (days)"))
    birthday_days_ahead = models.PositiveSmallIntegerField(_("birthday: raise this many days ahead"))
    big_flow_amount = models.DecimalField(_("workspace: a big flow is ≥"), **MONEY)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("changed at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("service policy")
        verbose_name_plural = _("service policies")


class ServiceRequest(models.Model):
    """A customer's service request or complaint (issue 6): status new → in progress → resolved →
    closed, reopened back to in progress; due by kind and tier in trading days
    (``rules.request_deadline``); every status change kept in ``ServiceRequestChange``; one
    still new or in progress after its deadline is escalated to the team lead like a task."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="service_requests")
    kind = models.CharField(_("kind"), max_length=10, choices=RequestKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=RequestChannel.choices)
    content = models.TextField(_("content"), max_length=4000)
    status = models.CharField(_("status"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.NEW)
    #: who handles it: the customer's account manager when it was recorded (else the recorder)
    assignee = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="service_requests", verbose_name=_("assignee")
    )
    deadline = models.DateField(_("deadline"))
    #: still open after its deadline: shown to the team lead (``desk.requests_escalate``)
    escalated = models.BooleanField(_("escalated"), default=False)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), max_length=4000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["deadline", "id"]
        verbose_name = _("service request")
        verbose_name_plural = _("service requests")
        indexes = [
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["assignee", "status", "deadline"]),
            models.Index(fields=["status", "deadline"]),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.kind} {self.customer_id} {self.status}"


class ServiceRequestChange(models.Model):
    """One status change of a service request, with who made it and why (the request's history).
    The first row (no ``from_status``) is its recording."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="changes")
    from_status = models.CharField(_("from"), max_length=12, choices=RequestStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=RequestStatus.choices)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(customer_path="request__customer")

    class Meta:
        ordering = ["request", "at", "id"]
        verbose_name = _("service request change")
        verbose_name_plural = _("service request changes")
