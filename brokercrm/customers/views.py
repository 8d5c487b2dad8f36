"""Customer pages: the scoped list (HTMX partial for search), the customer page, reassignment
and export. Thin: parse, call a selector or service, render."""

from __future__ import annotations

import csv

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
from brokercrm.customers.selectors import customer_assignment_history, customer_detail, customer_get, customer_page
from brokercrm.customers.services import customer_assign, customer_export, customer_list_record, customer_view_record
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
    return render(request, "customers/detail.html", _detail_context(request, customer_no, customer))


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
