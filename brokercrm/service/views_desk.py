"""Pages of the service desk and the managers' views (issue 6): service requests and complaints,
the team view (tasks per person, overdue tasks, reassigning tasks and customers), an event's
customers not yet contacted, and head office's thresholds of the data-driven tasks. Thin: parse,
call a selector or service, render; every customer list shown is audited."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokercrm.customers.models import Customer
from brokercrm.customers.services import customer_list_record, customer_view_record
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.service import desk, rules, selectors, team
from brokercrm.service.choices import REQUEST_OPEN_STATUSES
from brokercrm.service.data_events import service_policy_history, service_policy_update
from brokercrm.service.forms import HandOverForm, ReassignForm, RequestAdvanceForm, RequestForm, ServicePolicyForm
from brokercrm.service.models import MarketEvent, ServiceRequest, Task


def _errors(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


def _require(request: HttpRequest, capability: Capability) -> None:
    if not user_can(user=request.user, capability=capability):
        raise PermissionDenied


# --- service requests and complaints ----------------------------------------------------------


@login_required
@require_POST
def customer_request_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    """Record a service request or complaint from the customer page's service section."""
    from brokercrm.customers.selectors import customer_get

    try:
        customer_get(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404
    _require(request, Capability.ADD_INTERACTIONS)
    form = RequestForm(request.POST)
    if form.is_valid():
        try:
            item = desk.request_create(actor=request.user, customer_no=customer_no, request=request, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Recorded; due %(day)s.") % {"day": item.deadline.isoformat()})
    else:
        messages.error(request, _errors(form))
    return redirect(reverse("customers:detail", args=[customer_no]) + "#service")


@login_required
@require_GET
def request_list_view(request: HttpRequest) -> HttpResponse:
    """Open requests and complaints of the customers the user sees, soonest deadline first."""
    _require(request, Capability.VIEW_CUSTOMERS)
    items = desk.open_requests(actor=request.user)
    shown = sorted({r.customer.customer_no for r in items})
    if shown:
        customer_list_record(actor=request.user, filters={}, shown=shown, request=request, via="service_requests")
    return render(request, "service/requests.html", {"items": items, "today": selectors.service_today()})


@login_required
@require_http_methods(["GET", "POST"])
def request_detail_view(request: HttpRequest, request_id: int) -> HttpResponse:
    try:
        item = desk.request_get(actor=request.user, request_id=request_id)
    except ServiceRequest.DoesNotExist:
        raise Http404
    form = RequestAdvanceForm(request.POST or None)
    if request.method == "POST":
        _require(request, Capability.ADD_INTERACTIONS)
        if form.is_valid():
            try:
                desk.request_advance(
                    actor=request.user, request_id=item.pk, status=form.cleaned_data["status"], note=form.cleaned_data["note"], request=request
                )
            except ValidationError as exc:
                form.add_error(None, " ".join(exc.messages))
            else:
                messages.success(request, _("Status changed."))
                return redirect("service:request", request_id=item.pk)
    else:
        customer_view_record(actor=request.user, customer_no=item.customer.customer_no, request=request, via="service_request")
    return render(
        request,
        "service/request.html",
        {
            "item": item,
            "changes": desk.request_changes(actor=request.user, request_id=item.pk),
            "next_statuses": desk.next_statuses(item),
            "form": form,
            "can_act": user_can(user=request.user, capability=Capability.ADD_INTERACTIONS),
            "overdue": item.status in REQUEST_OPEN_STATUSES and item.deadline < selectors.service_today(),
        },
    )


# --- the team view --------------------------------------------------------------------------


@login_required
@require_GET
def team_view(request: HttpRequest) -> HttpResponse:
    """Tasks per person of the team or branch, the overdue tasks, and the recent events."""
    _require(request, Capability.MANAGE_TASKS)
    today = selectors.service_today()
    overdue = team.team_overdue_tasks(actor=request.user, today=today)
    shown = sorted({t.customer.customer_no for t in overdue})
    if shown:
        customer_list_record(actor=request.user, filters={}, shown=shown, request=request, via="service_team")
    return render(
        request,
        "service/team.html",
        {
            "today": today,
            "people": team.team_figures(actor=request.user, today=today),
            "overdue": overdue,
            "events": list(selectors.event_list(actor=request.user)[:10]),
            "can_assign": user_can(user=request.user, capability=Capability.ASSIGN_CUSTOMERS),
            "node": team.acting_node_label(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_reassign_view(request: HttpRequest, task_id: int) -> HttpResponse:
    _require(request, Capability.MANAGE_TASKS)
    try:
        task = selectors.task_get(actor=request.user, task_id=task_id)
    except Task.DoesNotExist:
        raise Http404
    choices = team.reassign_choices(actor=request.user, task=task)
    form = ReassignForm(request.POST or None, choices=choices)
    if request.method == "POST" and form.is_valid():
        try:
            team.task_reassign(
                actor=request.user, task_id=task.pk, to=form.cleaned_data["to"], reason=form.cleaned_data["reason"], request=request
            )
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, _("Task reassigned."))
            return redirect("service:team")
    return render(
        request,
        "service/task_reassign.html",
        {"task": task, "form": form, "history": team.task_history(actor=request.user, task_id=task.pk)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def customer_hand_over_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    """Reassign a customer to another account manager; their open tasks and requests follow."""
    from brokercrm.customers.selectors import customer_get
    from brokercrm.org.selectors import account_manager_choices

    try:
        customer = customer_get(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404
    _require(request, Capability.ASSIGN_CUSTOMERS)
    managers = account_manager_choices(actor=request.user, branch=customer.branch)
    if customer.account_manager_id:
        managers = managers.exclude(pk=customer.account_manager_id)
    form = HandOverForm(request.POST or None, managers=managers)
    if request.method == "POST":
        if form.is_valid():
            try:
                moved = team.customer_hand_over(
                    actor=request.user,
                    customer_no=customer_no,
                    account_manager=form.cleaned_data["account_manager"],
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("Customer reassigned; %(n)s open tasks moved with them.") % {"n": moved})
        else:
            messages.error(request, _errors(form))
        return redirect("service:team")
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="service_hand_over")
    open_tasks = selectors.customer_open_tasks(actor=request.user, customer_no=customer_no)
    return render(request, "service/hand_over.html", {"customer": customer, "form": form, "open_tasks": open_tasks})


@login_required
@require_GET
def event_uncontacted_view(request: HttpRequest, event_id: int) -> HttpResponse:
    """The event's affected customers (in the user's scope) not contacted yet."""
    _require(request, Capability.VIEW_CUSTOMERS)
    try:
        event = selectors.event_get(actor=request.user, event_id=event_id)
    except MarketEvent.DoesNotExist:
        raise Http404
    rows = team.event_uncontacted(actor=request.user, event_id=event.pk)
    tasks = team.event_open_tasks(actor=request.user, event_id=event.pk, customer_ids=[r.customer_id for r in rows])
    shown = [r.customer.customer_no for r in rows]
    if shown:
        customer_list_record(actor=request.user, filters={"event": str(event.pk)}, shown=shown, request=request, via="event_uncontacted")
    return render(
        request,
        "service/uncontacted.html",
        {"event": event, "rows": [(r, tasks.get(r.customer_id)) for r in rows], "today": selectors.service_today()},
    )


# --- head office's thresholds ---------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def service_policy_view(request: HttpRequest) -> HttpResponse:
    can_manage = user_can(user=request.user, capability=Capability.MANAGE_SEGMENTS)
    if not (can_manage or user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS)):
        raise PermissionDenied
    current = rules.data_rule_thresholds()
    form = ServicePolicyForm(request.POST or None, initial=current)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            values = dict(form.cleaned_data)
            note = values.pop("note")
            try:
                service_policy_update(actor=request.user, values=values, note=note, request=request)
            except ValidationError as exc:
                form.add_error(None, " ".join(exc.messages))
            else:
                messages.success(request, _("The new thresholds apply from the next publication."))
                return redirect("service:policy")
    labels = {name: ServicePolicyForm.base_fields[name].label for name in rules.DATA_RULE_DEFAULTS}
    return render(
        request,
        "service/policy.html",
        {
            "current": [(labels[name], current[name]) for name in rules.DATA_RULE_DEFAULTS],
            "form": form,
            "can_manage": can_manage,
            "history": service_policy_history(),
        },
    )
