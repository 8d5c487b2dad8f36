"""Pages of the organisation app: the home page per role, the tree and the audit log."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date

from brokercrm.customers.selectors import customer_counts, customer_page
from brokercrm.org.choices import AuditAction, Role
from brokercrm.org.policy import Capability
from brokercrm.org.scope import acting_employee
from brokercrm.org.selectors import audit_search, employee_list, org_node_tree, user_can
from brokercrm.org.services import audit_record


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A home page per role: what this person works on first."""
    employee = acting_employee(request.user)
    context: dict = {"role": employee.role if employee else None}
    if employee is None:
        return render(request, "org/home.html", context)
    if employee.role == Role.ACCOUNT_MANAGER:
        context["my_customers"] = customer_page(actor=request.user, per_page=10)
    if employee.role in (Role.BRANCH_MANAGER, Role.TEAM_LEAD):
        context["by_manager"] = customer_counts(actor=request.user, by="account_manager")
    if employee.role in (Role.HQ_ADMIN, Role.BRANCH_MANAGER, Role.COMPLIANCE):
        context["by_branch"] = customer_counts(actor=request.user, by="branch")
    if user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS):
        context["by_status"] = customer_counts(actor=request.user, by="status")
    if user_can(user=request.user, capability=Capability.VIEW_AUDIT):
        context["recent_audit"] = audit_search(actor=request.user)[:10]
    return render(request, "org/home.html", context)


@login_required
def org_tree(request: HttpRequest) -> HttpResponse:
    """The user's part of the organisation tree with its people."""
    nodes = org_node_tree(actor=request.user)
    people: dict[int, list] = {}
    for employee in employee_list(actor=request.user):
        people.setdefault(employee.node_id, []).append(employee)
    rows = [{"node": n, "people": people.get(n.pk, []), "indent": n.depth - (nodes[0].depth if nodes else 0)} for n in nodes]
    return render(request, "org/tree.html", {"rows": rows})


@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """Compliance searches the audit log (who, when, what, from where)."""
    if not user_can(user=request.user, capability=Capability.VIEW_AUDIT):
        raise PermissionDenied
    filters = {
        "username": request.GET.get("username", "").strip(),
        "action": request.GET.get("action", "") if request.GET.get("action") in AuditAction.values else "",
        "object_id": request.GET.get("object_id", "").strip(),
        "date_from": _date_param(request, "date_from"),
        "date_to": _date_param(request, "date_to"),
    }
    page = Paginator(audit_search(actor=request.user, **filters), 50).get_page(request.GET.get("page"))
    audit_record(
        actor=request.user,
        action=AuditAction.AUDIT_SEARCH,
        object_type="audit",
        request=request,
        detail={k: str(v) for k, v in filters.items() if v},
    )
    template = "org/_audit_table.html" if request.htmx else "org/audit.html"
    return render(
        request,
        template,
        {"page": page, "filters": filters, "actions": AuditAction.choices, "querystring": _querystring(request)},
    )


def _date_param(request: HttpRequest, name: str):
    try:
        return parse_date(request.GET.get(name, ""))
    except ValueError:  # well-formed but impossible, e.g. 2026-02-30
        return None


def _querystring(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
