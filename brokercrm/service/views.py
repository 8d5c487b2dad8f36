"""Pages of proactive service: market events and their impact lists, the account manager's
workspace (tasks, visits, figures) and the team lead's escalated tasks. Thin: parse, call a
selector or service, render; HTMX partials beside the pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokercrm.customers.models import Customer
from brokercrm.customers.services import customer_list_record
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.service import desk, selectors
from brokercrm.service.choices import Priority, RiskGroup
from brokercrm.service.forms import EventForm, VisitForm, split_list
from brokercrm.service.models import MarketEvent, Task
from brokercrm.service.services import event_create, ratio_text, task_complete, tasks_from_event, visit_log


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


# --- market events --------------------------------------------------------------------------


@login_required
@require_GET
def event_list_view(request: HttpRequest) -> HttpResponse:
    if not selectors.can_view_events(request.user):
        raise PermissionDenied
    page = selectors.event_list(actor=request.user)
    from django.core.paginator import Paginator

    return render(
        request,
        "service/events.html",
        {
            "page": Paginator(page, 25).get_page(_page_number(request)),
            "can_manage": user_can(user=request.user, capability=Capability.MANAGE_EVENTS),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def event_create_view(request: HttpRequest) -> HttpResponse:
    if not user_can(user=request.user, capability=Capability.MANAGE_EVENTS):
        raise PermissionDenied
    form = EventForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            event = event_create(
                actor=request.user,
                title=data["title"],
                description=data["description"],
                securities=split_list(data["securities"]),
                industries=split_list(data["industries"]),
                direction=data["direction"],
                impact=data["impact"],
                suggestions={group: data[f"suggestion_{group}"] for group in RiskGroup.values},
            )
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Event recorded: %(n)s customers affected as of %(day)s.")
                % {"n": event.affected_customers, "day": event.as_of.isoformat()},
            )
            return redirect("service:event", event_id=event.pk)
    return render(request, "service/event_form.html", {"form": form})


@login_required
@require_GET
def event_detail_view(request: HttpRequest, event_id: int) -> HttpResponse:
    try:
        event = selectors.event_get(actor=request.user, event_id=event_id)
    except MarketEvent.DoesNotExist:
        raise Http404
    page = selectors.event_impact_page(actor=request.user, event_id=event.pk, page=_page_number(request))
    shown = [row.customer.customer_no for row in page.object_list]
    if shown:
        customer_list_record(
            actor=request.user, filters={"event": str(event.pk)}, shown=shown, request=request, via="event_impact"
        )
    rows = [
        {
            "impact": row,
            "ratio": ratio_text(row.exposure_ratio),
            "suggestion": event.suggestion_for(row.risk_group),
        }
        for row in page.object_list
    ]
    context = {
        "event": event,
        "page": page,
        "rows": rows,
        "priority_counts": [
            (label, selectors.event_priority_counts(actor=request.user, event_id=event.pk).get(value, 0))
            for value, label in Priority.choices
        ],
        "task_counts": selectors.event_task_counts(actor=request.user, event_id=event.pk),
        "can_manage": user_can(user=request.user, capability=Capability.MANAGE_EVENTS),
        "suggestions": [(label, event.suggestion_for(value)) for value, label in RiskGroup.choices],
    }
    return render(request, "service/event.html", context)


@login_required
@require_POST
def event_tasks_view(request: HttpRequest, event_id: int) -> HttpResponse:
    """"Create tasks": one task per affected customer for their account manager (none twice)."""
    try:
        event = selectors.event_get(actor=request.user, event_id=event_id)
    except MarketEvent.DoesNotExist:
        raise Http404
    created = tasks_from_event(actor=request.user, event_id=event.pk)
    messages.success(request, _("%(n)s tasks created for the account managers.") % {"n": created})
    return redirect("service:event", event_id=event.pk)


# --- the account manager's workspace --------------------------------------------------------


def _require_customers(request: HttpRequest) -> None:
    if not user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS):
        raise PermissionDenied


def _workspace_context(request: HttpRequest) -> dict:
    workspace = selectors.task_workspace(actor=request.user)
    return {
        "workspace": workspace,
        "sections": [
            ("overdue", _("Overdue"), workspace.overdue),
            ("today", _("Today"), workspace.due_today),
            ("upcoming", _("Coming days"), workspace.upcoming),
        ],
        "can_act": user_can(user=request.user, capability=Capability.ADD_INTERACTIONS),
        "visit_form": VisitForm(),
    }


def _record_tasks_shown(request: HttpRequest, tasks: list[Any], via: str) -> None:
    """Audit the customers of the tasks (or service requests) a page listed."""
    shown = sorted({t.customer.customer_no for t in tasks})
    if shown:
        customer_list_record(actor=request.user, filters={}, shown=shown, request=request, via=via)


@login_required
@require_GET
def workspace_view(request: HttpRequest) -> HttpResponse:
    _require_customers(request)
    context = _workspace_context(request)
    w = context["workspace"]
    _record_tasks_shown(request, w.overdue + w.due_today + w.upcoming, "service_workspace")
    context["figures"] = selectors.my_figures(actor=request.user)
    # issue 6: what changed since yesterday, the open requests and complaints, the managers' links
    from brokercrm.service import desk
    from brokercrm.service.changes import customer_changes

    context["changes"] = customer_changes(actor=request.user)
    context["requests"] = desk.open_requests(actor=request.user, limit=50)
    shown = [c.customer_no for c in context["changes"].rows] + [r.customer.customer_no for r in context["requests"]]
    if shown:
        customer_list_record(actor=request.user, filters={}, shown=sorted(set(shown)), request=request, via="service_workspace_changes")
    context["can_manage_tasks"] = user_can(user=request.user, capability=Capability.MANAGE_TASKS)
    return render(request, "service/workspace.html", context)


def _task_or_404(request: HttpRequest, task_id: int) -> Task:
    try:
        return selectors.task_get(actor=request.user, task_id=task_id)
    except Task.DoesNotExist:
        raise Http404


@login_required
@require_POST
def task_done_view(request: HttpRequest, task_id: int) -> HttpResponse:
    task = _task_or_404(request, task_id)
    error = ""
    try:
        task = task_complete(actor=request.user, task_id=task.pk)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if request.htmx:
        task = selectors.task_get(actor=request.user, task_id=task.pk)
        return render(request, "service/_task.html", {"task": task, "error": error, "can_act": True, "visit_form": VisitForm()})
    if error:
        messages.error(request, error)
    return redirect("service:workspace")


@login_required
@require_http_methods(["GET", "POST"])
def task_visit_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """Log a visit for a task, in place: the form (GET) and its submission (POST)."""
    task = _task_or_404(request, task_id)
    if not user_can(user=request.user, capability=Capability.ADD_INTERACTIONS):
        raise PermissionDenied
    form = VisitForm(request.POST or None)
    error = ""
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                visit_log(
                    actor=request.user,
                    customer_no=task.customer.customer_no,
                    channel=data["channel"],
                    content=data["content"],
                    outcome=data["outcome"],
                    next_follow_up=data["next_follow_up"],
                    task_id=task.pk,
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                task = selectors.task_get(actor=request.user, task_id=task.pk)
                if request.htmx:
                    return render(request, "service/_task.html", {"task": task, "can_act": True, "logged": True})
                messages.success(request, _("Visit logged."))
                return redirect("service:workspace")
        else:
            error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    context = {"task": task, "form": form, "error": error}
    if request.htmx:
        return render(request, "service/_visit_form.html", context)
    return render(request, "service/visit.html", context)


@login_required
@require_GET
def escalated_view(request: HttpRequest) -> HttpResponse:
    """Overdue tasks and service requests escalated to the team lead (and to whoever sees those
    customers)."""
    _require_customers(request)
    tasks = list(selectors.escalated_tasks(actor=request.user)[:500])
    items = desk.escalated_requests(actor=request.user)
    _record_tasks_shown(request, [*tasks, *items], "service_escalated")
    return render(request, "service/escalated.html", {"tasks": tasks, "items": items})


@login_required
@require_POST
def customer_visit_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    """Log a visit from the customer page's service section (no task)."""
    from brokercrm.customers.selectors import customer_get

    try:
        customer_get(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404
    if not user_can(user=request.user, capability=Capability.ADD_INTERACTIONS):
        raise PermissionDenied
    form = VisitForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            visit_log(
                actor=request.user,
                customer_no=customer_no,
                channel=data["channel"],
                content=data["content"],
                outcome=data["outcome"],
                next_follow_up=data["next_follow_up"],
            )
            messages.success(request, _("Visit logged."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect(reverse("customers:detail", args=[customer_no]) + "#service")
