"""Suitability pages: a customer's products and records, recommend and sell (with the two-step
special risk warning), a product's matching customers, compliance's record search, and the
account manager's re-match notices. Thin: parse, call a selector or service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import customer_detail, customer_get
from brokercrm.customers.services import customer_list_record, customer_view_record
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.products.choices import ProductStatus
from brokercrm.products.models import Product
from brokercrm.suitability.choices import SuitabilityPurpose, SuitabilityResult
from brokercrm.suitability.selectors import (
    customer_product_decisions,
    customer_records,
    product_matching_customers,
    record_search,
    rematch_notice_list,
)
from brokercrm.suitability.services import (
    rematch_notice_read,
    suitability_recommend,
    suitability_sell,
    suitability_warning_issue,
)

#: a sale refused for these reasons goes on to step 1 of the special risk warning
WARNING_NEEDED = ("warning_not_issued", "warning_not_confirmed")


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _querystring(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _customer(request: HttpRequest, customer_no: str):
    """The masked row of an in-scope customer; 404 otherwise (never 403: existence is not revealed)."""
    try:
        return customer_detail(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404


@login_required
@require_GET
def customer_products(request: HttpRequest, customer_no: str) -> HttpResponse:
    """Every on-sale product with the customer's suitability for it today (filter by result)."""
    customer = _customer(request, customer_no)
    if not user_can(user=request.user, capability=Capability.VIEW_PRODUCTS):
        raise PermissionDenied
    result = request.GET.get("result", SuitabilityResult.MATCH)
    if result not in SuitabilityResult.values:
        result = ""
    rows = customer_product_decisions(actor=request.user, customer_no=customer_no, result=result)
    page = Paginator(rows, 50).get_page(_page_number(request))
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="suitability:products")
    return render(
        request,
        "suitability/customer_products.html",
        {
            "customer": customer,
            "page": page,
            "result": result,
            "results": SuitabilityResult.choices,
            "querystring": _querystring(request),
            "can_sell": user_can(user=request.user, capability=Capability.SELL_PRODUCTS),
        },
    )


@login_required
@require_GET
def customer_records_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    """The customer's suitability records, newest first."""
    customer = _customer(request, customer_no)
    page = Paginator(customer_records(actor=request.user, customer_no=customer_no), 50).get_page(_page_number(request))
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="suitability:records")
    return render(
        request,
        "suitability/customer_records.html",
        {"customer": customer, "page": page, "querystring": _querystring(request)},
    )


def _on_sale_product(request: HttpRequest) -> Product | None:
    code = request.POST.get("product_code", "").strip()[:32]
    return Product.objects.filter(product_code=code).first() if code else None


@login_required
@require_POST
def customer_recommend(request: HttpRequest, customer_no: str) -> HttpResponse:
    """Record a recommendation (refused unless the product matches)."""
    _customer(request, customer_no)
    if not user_can(user=request.user, capability=Capability.SELL_PRODUCTS):
        raise PermissionDenied
    product = _on_sale_product(request)
    error = record = None
    if product is None:
        error = _("Choose a product.")
    else:
        try:
            record = suitability_recommend(
                actor=request.user, customer=customer_get(actor=request.user, customer_no=customer_no), product=product
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if request.htmx:
        return render(request, "suitability/_recommended.html", {"record": record, "error": error, "product": product})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Recommendation recorded."))
    return redirect("customers:detail", customer_no=customer_no)


@login_required
@require_POST
def customer_sell(request: HttpRequest, customer_no: str) -> HttpResponse:
    """The sale form. Step 1 (``step=check``): a match is sold at once, a prohibited sale is
    refused (and recorded by the service), a mismatch issues the special risk warning and asks
    for the customer's confirmation. Step 2 (``step=confirm``): sell with that confirmation."""
    customer_row = _customer(request, customer_no)
    if not user_can(user=request.user, capability=Capability.SELL_PRODUCTS):
        raise PermissionDenied
    customer = customer_get(actor=request.user, customer_no=customer_no)
    product = _on_sale_product(request)
    amount = request.POST.get("amount", "").strip()[:32]
    context: dict = {"customer": customer_row, "product": product, "amount": amount, "warning": None, "record": None, "error": None}
    if product is None:
        context["error"] = _("Choose a product.")
    else:
        confirming = request.POST.get("step") == "confirm"
        try:
            context["record"] = suitability_sell(
                actor=request.user,
                customer=customer,
                product=product,
                amount=amount,
                warning_confirmed=confirming and request.POST.get("customer_confirmed") == "yes",
            )
        except ValidationError as exc:
            if exc.code in WARNING_NEEDED and not confirming:
                context["warning"] = suitability_warning_issue(actor=request.user, customer=customer, product=product)
            else:
                context["error"] = " ".join(exc.messages)
    context["on_sale"] = Product.objects.filter(status=ProductStatus.ON_SALE).order_by("product_code")
    if request.htmx:
        return render(request, "suitability/_sale.html", context)
    if context["error"]:
        messages.error(request, context["error"])
    elif context["record"] is not None:
        messages.success(request, _("Sale recorded."))
    else:
        return render(request, "suitability/sale.html", context)
    return redirect("customers:detail", customer_no=customer_no)


@login_required
@require_GET
def product_matching(request: HttpRequest, product_code: str) -> HttpResponse:
    """Customers in the viewer's scope who match the product (HTMX partial of the product page;
    a page of its own without HTMX)."""
    if not user_can(user=request.user, capability=Capability.VIEW_PRODUCTS):
        raise PermissionDenied
    product = Product.objects.filter(product_code=product_code).first()
    if product is None:
        raise Http404
    page = product_matching_customers(actor=request.user, product=product, page=_page_number(request))
    customer_list_record(
        actor=request.user,
        filters={"suitability_match": product.product_code},
        shown=[c.customer_no for c in page.object_list],
        request=request,
        via="suitability:matching",
    )
    context = {"product": product, "page": page, "querystring": _querystring(request)}
    template = "suitability/_matching_table.html" if request.htmx else "suitability/matching.html"
    return render(request, template, context)


RECORD_FILTERS = ("customer", "product", "result", "purpose", "username")


@login_required
@require_GET
def records(request: HttpRequest) -> HttpResponse:
    """Compliance searches every suitability decision and its inputs (``VIEW_SUITABILITY_RECORDS``)."""
    if not user_can(user=request.user, capability=Capability.VIEW_SUITABILITY_RECORDS):
        raise PermissionDenied
    filters: dict = {name: request.GET.get(name, "").strip()[:64] for name in RECORD_FILTERS}
    if filters["result"] not in SuitabilityResult.values:
        filters["result"] = ""
    if filters["purpose"] not in SuitabilityPurpose.values:
        filters["purpose"] = ""
    filters["date_from"] = _date_param(request, "date_from")
    filters["date_to"] = _date_param(request, "date_to")
    page = Paginator(record_search(actor=request.user, **filters), 50).get_page(_page_number(request))
    customer_list_record(
        actor=request.user,
        filters={k: str(v) for k, v in filters.items() if v},
        shown=sorted({r.customer.customer_no for r in page.object_list}),
        request=request,
        via="suitability:records",
    )
    context = {
        "page": page,
        "filters": filters,
        "results": SuitabilityResult.choices,
        "purposes": SuitabilityPurpose.choices,
        "querystring": _querystring(request),
    }
    template = "suitability/_records_table.html" if request.htmx else "suitability/records.html"
    return render(request, template, context)


def _date_param(request: HttpRequest, name: str):
    try:
        return parse_date(request.GET.get(name, ""))
    except ValueError:
        return None


@login_required
@require_GET
def record_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    """One record with the exact inputs it was decided from (compliance)."""
    if not user_can(user=request.user, capability=Capability.VIEW_SUITABILITY_RECORDS):
        raise PermissionDenied
    record = record_search(actor=request.user).filter(pk=record_id).select_related("risk_warning").first()
    if record is None:
        raise Http404
    customer_view_record(
        actor=request.user, customer_no=record.customer.customer_no, request=request, via=f"suitability:record:{record.pk}"
    )
    return render(request, "suitability/record.html", {"record": record})


@login_required
@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    """The account manager's re-match notices, unread first."""
    rows = rematch_notice_list(actor=request.user)
    page = Paginator(rows, 50).get_page(_page_number(request))
    return render(request, "suitability/notices.html", {"page": page, "querystring": _querystring(request)})


@login_required
@require_POST
def notices_read(request: HttpRequest) -> HttpResponse:
    """Mark notices read: the ones posted (``notice``), or every unread one (``all``)."""
    if request.POST.get("all"):
        ids = list(rematch_notice_list(actor=request.user, unread_only=True).values_list("pk", flat=True))
    else:
        ids = [int(v) for v in request.POST.getlist("notice") if v.isdigit()]
    rematch_notice_read(actor=request.user, notice_ids=ids)
    return redirect("home" if request.POST.get("next") == "home" else "suitability:notices")
