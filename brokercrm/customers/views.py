"""Customer pages: the scoped list (HTMX partial for search), the customer page, reassignment
and export. Thin: parse, call a selector or service, render."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from brokercrm.customers.choices import (
    CustomerStatus,
    CustomerType,
    IdType,
    InteractionKind,
    LeadSource,
    LeadStatus,
    RelationshipKind,
)
from brokercrm.customers.models import Customer, Lead
from brokercrm.customers.panels import customer_panels
from brokercrm.customers.selectors import (
    customer_assignment_history,
    customer_detail,
    customer_get,
    customer_interaction_page,
    customer_lead_origin,
    customer_page,
    customer_relationships,
    lead_branch_choices,
    lead_detail,
    lead_get,
    lead_page,
    referred_by,
)
from brokercrm.customers.services import (
    ERR_LEAD_CONVERTED,
    customer_assign,
    customer_export,
    customer_list_record,
    customer_view_record,
    interaction_add,
    lead_assign,
    lead_create,
    lead_list_record,
    lead_set_status,
    lead_view_record,
    relationship_add,
    relationship_remove,
)
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
from brokercrm.org.scope import acting_employee
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
    context = (
        _detail_context(request, customer_no, customer)
        | _counter_data_context(request, customer_no)
        | _relationships_context(request, customer)
        | _interactions_context(request, customer)
    )
    context["lead_origin"] = customer_lead_origin(actor=request.user, customer_no=customer_no)
    context["panels"] = panels = customer_panels(
        request=request, customer=customer_get(actor=request.user, customer_no=customer_no)
    )
    context["sections"] = [
        ("profile", _("Profile")),
        ("investor", _("Investor profile")),
        ("assignment", _("Served by")),
        ("relationships", _("Relationships")),
        ("interactions", _("Interactions")),
        ("indicators", _("Assets")),
        ("accounts", _("Fund accounts")),
        ("holdings", _("Holdings")),
        ("flows", _("Recent activity")),
    ] + [(p.anchor, p.title) for p in panels if p.anchor and p.title]
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


# --- relationships and the interactions timeline (sections of the customer page) -------------


def _customer_or_404(request: HttpRequest, customer_no: str):
    try:
        return customer_detail(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404


def _relationships_context(request: HttpRequest, customer, error: str = "") -> dict:
    rows = customer_relationships(actor=request.user, customer_no=customer.customer_no)
    return {
        "customer": customer,
        "relationships": rows,
        "referred_by": referred_by(rows),
        "relationship_kinds": RelationshipKind.choices,
        "can_add_interactions": user_can(user=request.user, capability=Capability.ADD_INTERACTIONS),
        "relationship_error": error,
    }


def _interactions_context(request: HttpRequest, customer, error: str = "", form: dict | None = None) -> dict:
    return {
        "customer": customer,
        "interactions": customer_interaction_page(actor=request.user, customer_no=customer.customer_no),
        "interaction_kinds": InteractionKind.choices,
        "can_add_interactions": user_can(user=request.user, capability=Capability.ADD_INTERACTIONS),
        "interaction_error": error,
        "interaction_form": form or {},
    }


def _occurred_at(value: str) -> datetime | None:
    """A ``datetime-local`` value in the user's time zone; empty means now."""
    value = value.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(_("“%(value)s” is not a date and time.") % {"value": value[:30]})
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@login_required
def customer_interactions_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    """GET: one more page of the timeline (HTMX "more"). POST: add an entry; the timeline section is
    rendered again with the new entry on top (HTMX) or the page reloads (no JavaScript)."""
    customer = _customer_or_404(request, customer_no)
    if request.method == "POST":
        if not user_can(user=request.user, capability=Capability.ADD_INTERACTIONS):
            raise PermissionDenied
        form = {name: request.POST.get(name, "") for name in ("kind", "content", "occurred_at")}
        error = ""
        try:
            interaction_add(
                actor=request.user,
                customer_no=customer_no,
                kind=form["kind"],
                content=form["content"],
                occurred_at=_occurred_at(form["occurred_at"]),
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        if not request.htmx:
            if error:
                messages.error(request, error)
            return redirect(f"{reverse('customers:detail', args=[customer_no])}#interactions")
        customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="interactions")
        context = _interactions_context(request, customer, error=error, form=form if error else None)
        return render(request, "customers/_interactions.html", context)
    if request.method != "GET":
        return HttpResponse(status=405)
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="interactions")
    page = customer_interaction_page(actor=request.user, customer_no=customer_no, page=_page_number(request))
    return render(request, "customers/_interaction_items.html", {"customer": customer, "interactions": page})


@login_required
@require_POST
def customer_relationship_add_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    customer = _customer_or_404(request, customer_no)
    if not user_can(user=request.user, capability=Capability.ADD_INTERACTIONS):
        raise PermissionDenied
    error = ""
    try:
        relationship_add(
            actor=request.user,
            customer_no=customer_no,
            kind=request.POST.get("kind", ""),
            related_customer_no=request.POST.get("related_customer_no", "")[:32],
            related_name=request.POST.get("related_name", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    return _relationships_response(request, customer, error)


@login_required
@require_POST
def customer_relationship_remove_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    customer = _customer_or_404(request, customer_no)
    if not user_can(user=request.user, capability=Capability.ADD_INTERACTIONS):
        raise PermissionDenied
    error = ""
    try:
        relationship_remove(
            actor=request.user, customer_no=customer_no, relationship_id=int(request.POST.get("relationship", "0"))
        )
    except ValueError:
        error = _("Choose a relationship to remove.")
    except ValidationError as exc:
        error = " ".join(exc.messages)
    return _relationships_response(request, customer, error)


def _relationships_response(request: HttpRequest, customer, error: str) -> HttpResponse:
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(f"{reverse('customers:detail', args=[customer.customer_no])}#relationships")
    customer_view_record(actor=request.user, customer_no=customer.customer_no, request=request, via="relationships")
    return render(request, "customers/_relationships.html", _relationships_context(request, customer, error))


# --- potential customers (leads) -------------------------------------------------------------

LEAD_FILTERS = ("query", "status", "source", "branch_code")


def _lead_filters(request: HttpRequest) -> dict[str, str]:
    values = {name: request.GET.get(name, "").strip()[:64] for name in LEAD_FILTERS}
    if values["status"] not in LeadStatus.values:
        values["status"] = ""
    if values["source"] not in LeadSource.values:
        values["source"] = ""
    return values


@login_required
@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    if not user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS):
        raise PermissionDenied
    filters = _lead_filters(request)
    page = lead_page(actor=request.user, page=_page_number(request), per_page=25, **filters)
    lead_list_record(actor=request.user, filters=filters, shown=[r.id for r in page.object_list], request=request)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "statuses": LeadStatus.choices,
        "sources": LeadSource.choices,
        "branches": org_node_list(actor=request.user).filter(kind="branch"),
        "querystring": params.urlencode(),
        "can_manage": user_can(user=request.user, capability=Capability.MANAGE_LEADS),
    }
    template = "customers/_lead_table.html" if request.htmx else "customers/leads.html"
    return render(request, template, context)


def _manager_choices(request: HttpRequest, branches) -> list:
    managers = []
    for branch in branches:
        managers.extend(account_manager_choices(actor=request.user, branch=branch))
    return managers


@login_required
def lead_create_view(request: HttpRequest) -> HttpResponse:
    if not user_can(user=request.user, capability=Capability.MANAGE_LEADS):
        raise PermissionDenied
    branches = lead_branch_choices(actor=request.user)
    managers = _manager_choices(request, branches)
    form: dict = {"source": LeadSource.REFERRAL, "id_type": IdType.ID_CARD}
    error = ""
    if request.method == "POST":
        names = (
            "name", "mobile", "id_type", "id_number", "source", "referrer_customer_no", "referrer_employee",
            "branch", "account_manager", "note",
        )  # fmt: skip
        form = {name: request.POST.get(name, "").strip() for name in names}
        branch = next((b for b in branches if str(b.pk) == form["branch"]), None)
        manager = next((m for m in managers if m.user.get_username() == form["account_manager"]), None)
        try:
            if form["account_manager"] and manager is None:
                raise ValidationError(_("Choose an account manager of the lead's branch."))
            lead = lead_create(
                actor=request.user,
                name=form["name"],
                mobile=form["mobile"],
                id_type=form["id_type"],
                id_number=form["id_number"],
                source=form["source"],
                referrer_customer_no=form["referrer_customer_no"][:32],
                referrer_employee=form["referrer_employee"][:150],
                branch=branch,
                account_manager=manager,
                note=form["note"],
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Lead registered."))
            return redirect("customers:lead", lead_id=lead.pk)
    elif request.method != "GET":
        return HttpResponse(status=405)
    context = {
        "form": form,
        "error": error,
        "branches": branches,
        "managers": managers,
        "sources": LeadSource.choices,
        "id_types": IdType.choices,
    }
    return render(request, "customers/lead_form.html", context, status=422 if error else 200)


def _lead_context(request: HttpRequest, lead_id: int) -> dict:
    lead = lead_detail(actor=request.user, lead_id=lead_id)
    model = lead_get(actor=request.user, lead_id=lead_id)
    employee = acting_employee(request.user)
    own = model.created_by_id == request.user.pk or (employee is not None and model.account_manager_id == employee.pk)
    can_manage = user_can(user=request.user, capability=Capability.MANAGE_LEADS)
    can_assign = lead.status != LeadStatus.CONVERTED and (
        user_can(user=request.user, capability=Capability.ASSIGN_CUSTOMERS) or (own and can_manage)
    )
    return {
        "lead": lead,
        "can_assign": can_assign,
        "managers": account_manager_choices(actor=request.user, branch=model.branch) if can_assign else [],
        "can_set_status": can_manage and lead.status != LeadStatus.CONVERTED,
        "statuses": [(v, label) for v, label in LeadStatus.choices if v != LeadStatus.CONVERTED],
    }


def _lead_or_404(request: HttpRequest, lead_id: int) -> dict:
    try:
        return _lead_context(request, lead_id)
    except Lead.DoesNotExist:
        raise Http404


@login_required
@require_GET
def lead_detail_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    context = _lead_or_404(request, lead_id)
    lead_view_record(actor=request.user, lead_id=lead_id, request=request)
    return render(request, "customers/lead.html", context)


@login_required
@require_POST
def lead_assign_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    context = _lead_or_404(request, lead_id)
    if context["lead"].status == LeadStatus.CONVERTED:
        messages.error(request, ERR_LEAD_CONVERTED)
        return _after_lead_change(request, lead_id)
    if not context["can_assign"]:
        raise PermissionDenied
    manager = next((m for m in context["managers"] if m.user.get_username() == request.POST.get("account_manager")), None)
    try:
        if manager is None:
            raise ValidationError(_("Choose an account manager of the lead's branch."))
        lead_assign(actor=request.user, lead_id=lead_id, account_manager=manager)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Lead assigned."))
    return _after_lead_change(request, lead_id)


@login_required
@require_POST
def lead_status_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    _lead_or_404(request, lead_id)
    if not user_can(user=request.user, capability=Capability.MANAGE_LEADS):
        raise PermissionDenied
    try:
        lead_set_status(
            actor=request.user, lead_id=lead_id, status=request.POST.get("status", ""), note=request.POST.get("note", "")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return _after_lead_change(request, lead_id)


def _after_lead_change(request: HttpRequest, lead_id: int) -> HttpResponse:
    # an assignment may take the lead out of the actor's sight: then back to the list
    try:
        lead_get(actor=request.user, lead_id=lead_id)
    except Lead.DoesNotExist:
        return redirect("customers:leads")
    return redirect("customers:lead", lead_id=lead_id)
