"""Customer pages: the scoped list (HTMX partial for search), the customer page, reassignment
and export. Thin: parse, call a selector or service, render."""

from __future__ import annotations

import csv
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from brokercrm.customers.choices import CustomerStatus, CustomerType
from brokercrm.customers.models import Customer
from brokercrm.customers.panels import customer_panels
from brokercrm.customers.selectors import customer_assignment_history, customer_detail, customer_get, customer_page
from brokercrm.customers.services import customer_assign, customer_export, customer_list_record, customer_view_record
from brokercrm.datacenter.models import FlowKind
from brokercrm.datacenter.selectors import (
    customer_fund_accounts,
    customer_holdings,
    customer_indicator_history,
    customer_margin_debts,
    customer_recent_flows,
    indicator_chart,
)
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import account_manager_choices, org_node_list, user_can

FILTERS = ("query", "status", "customer_type", "branch_code")


def _filters(request: HttpRequest) -> dict[str, str]:
    values = {name: request.GET.get(name, "").strip()[:64] for name in FILTERS}
    if values["status"] not in CustomerStatus.values:
        values["status"] = ""
    if values["customer_type"] not in CustomerType.values:
        values["customer_type"] = ""
    return values


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = customer_page(actor=request.user, page=_page_number(request), per_page=25, **filters)
    customer_list_record(
        actor=request.user, filters=filters, shown=[r.customer_no for r in page.object_list], request=request
    )
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "statuses": CustomerStatus.choices,
        "types": CustomerType.choices,
        "branches": org_node_list(actor=request.user).filter(kind="branch"),
        "querystring": params.urlencode(),
        "can_export": user_can(user=request.user, capability=Capability.EXPORT_CUSTOMERS),
    }
    template = "customers/_table.html" if request.htmx else "customers/list.html"
    return render(request, template, context)


@login_required
@require_GET
def customer_detail_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    try:
        customer = customer_detail(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404
    customer_view_record(actor=request.user, customer_no=customer_no, request=request)
    context = _detail_context(request, customer_no, customer) | _counter_data_context(request, customer_no)
    context["panels"] = customer_panels(
        request=request, customer=customer_get(actor=request.user, customer_no=customer_no)
    )
    return render(request, "customers/detail.html", context)


def _detail_context(request: HttpRequest, customer_no: str, customer) -> dict:
    can_assign = user_can(user=request.user, capability=Capability.ASSIGN_CUSTOMERS)
    managers = []
    if can_assign:
        branch = customer_get(actor=request.user, customer_no=customer_no).branch
        managers = account_manager_choices(actor=request.user, branch=branch)
    return {
        "customer": customer,
        "assignments": customer_assignment_history(actor=request.user, customer_no=customer_no),
        "can_assign": can_assign,
        "managers": managers,
    }


def _counter_data_context(request: HttpRequest, customer_no: str) -> dict:
    """Accounts, holdings, debts, indicator history and recent flows published from counter data."""
    history = customer_indicator_history(actor=request.user, customer_no=customer_no)
    holdings = list(customer_holdings(actor=request.user, customer_no=customer_no))
    return {
        "accounts": customer_fund_accounts(actor=request.user, customer_no=customer_no),
        "holdings": holdings,
        "holdings_value": sum((h.market_value for h in holdings), Decimal(0)),
        "holdings_pnl": sum((h.unrealized_pnl for h in holdings), Decimal(0)),
        "debts": customer_margin_debts(actor=request.user, customer_no=customer_no),
        "latest": history[-1] if history else None,
        "chart": indicator_chart(history) if history else None,
        "flow_kinds": FlowKind.choices,
        "flow_kind": FlowKind.TRADE,
        "flows": customer_recent_flows(actor=request.user, customer_no=customer_no, kind=FlowKind.TRADE),
    }


@login_required
@require_GET
def customer_flows_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    """One tab of the customer's recent flows (HTMX partial)."""
    try:
        customer = customer_detail(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404
    kind = request.GET.get("kind", FlowKind.TRADE)
    if kind not in FlowKind.values:
        kind = FlowKind.TRADE
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via=f"flows:{kind}")
    return render(
        request,
        "customers/_flows.html",
        {
            "customer": customer,
            "flow_kinds": FlowKind.choices,
            "flow_kind": kind,
            "flows": customer_recent_flows(actor=request.user, customer_no=customer_no, kind=kind),
        },
    )


@login_required
@require_POST
def customer_assign_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    try:
        customer = customer_detail(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404
    if not user_can(user=request.user, capability=Capability.ASSIGN_CUSTOMERS):
        raise PermissionDenied
    branch = customer_get(actor=request.user, customer_no=customer_no).branch
    manager = (
        account_manager_choices(actor=request.user, branch=branch)
        .filter(user__username=request.POST.get("account_manager", ""))
        .first()
    )
    error = None
    if manager is None:
        error = _("Choose an account manager of the customer's branch.")
    else:
        try:
            customer_assign(
                actor=request.user,
                customer_no=customer_no,
                account_manager=manager,
                reason=request.POST.get("reason", "").strip()[:200],
                request=request,
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if error:
        messages.error(request, error)
    if request.htmx:
        customer = customer_detail(actor=request.user, customer_no=customer_no)
        return render(request, "customers/_assignment.html", _detail_context(request, customer_no, customer))
    return redirect("customers:detail", customer_no=customer_no)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def customer_export_view(request: HttpRequest) -> StreamingHttpResponse:
    rows = customer_export(actor=request.user, request=request, **_filters(request))
    writer = csv.writer(_Echo())
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        ("\ufeff" if i == 0 else "") + writer.writerow(row) for i, row in enumerate(rows)
    )
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = f'attachment; filename="customers-{stamp}.csv"'
    return response
