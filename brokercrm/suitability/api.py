"""Suitability endpoints of the REST API (thin: the same selectors and services as the pages).

``router`` is mounted at ``/api/suitability``; ``customer_router`` adds
``/api/customers/{customer_no}/suitability…`` beside the customer endpoints.
"""


import datetime as dt
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import MAX_PAGE_SIZE, customer_get
from brokercrm.customers.services import customer_list_record, customer_view_record
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.products.models import Product
from brokercrm.suitability.pools import pools_day
from brokercrm.suitability.selectors import customer_product_decisions, customer_records, record_search, suitability_table
from brokercrm.suitability.services import suitability_recommend, suitability_sell, suitability_warning_issue

router = Router(tags=["suitability"])
customer_router = Router(tags=["suitability"])


class DecisionOut(Schema):
    customer_no: str
    product_code: str
    result: str
    reasons: list[str]


class DecisionPage(Schema):
    day: date
    items: list[DecisionOut]
    count: int
    page: int
    pages: int


class TableFilters(Schema):
    date: dt.date | None = None
    customers: str = ""
    products: str = ""
    page: int = 1
    page_size: int = 100


class RecordOut(Schema):
    id: int
    customer_no: str
    product_code: str
    purpose: str
    result: str
    reasons: list[str]
    refused: bool
    amount: Decimal | None
    risk_warning_issued_at: datetime | None
    risk_warning_confirmed_at: datetime | None
    confirmed_by_customer: bool
    actor: str
    created_at: datetime
    inputs: dict

    @staticmethod
    def resolve_customer_no(obj) -> str:
        return obj.customer.customer_no

    @staticmethod
    def resolve_product_code(obj) -> str:
        return obj.product.product_code

    @staticmethod
    def resolve_reasons(obj) -> list[str]:
        return obj.reason_list

    @staticmethod
    def resolve_actor(obj) -> str:
        return obj.actor_username


class RecordFilters(Schema):
    customer: str = ""
    product: str = ""
    result: str = ""
    purpose: str = ""
    username: str = ""
    date_from: date | None = None
    date_to: date | None = None


class ProductIn(Schema):
    product_code: str


class SaleIn(Schema):
    product_code: str
    amount: Decimal
    warning_confirmed: bool = False


class WarningOut(Schema):
    id: int
    customer_no: str
    product_code: str
    reasons: list[str]
    text: str
    issued_at: datetime


def _split(value: str) -> list[str] | None:
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


@router.get("", response=DecisionPage, summary="Suitability of customers × products as of a day (your scope)")
def list_decisions(request: HttpRequest, filters: Query[TableFilters]):
    """Customers: ``customers`` (comma-separated), else those in the day's pool snapshot within
    your scope; products: ``products``, else the whole library. Ordered like the export."""
    if not user_can(user=request.user, capability=Capability.VIEW_PRODUCTS):
        raise HttpError(403, "not allowed")
    if not 1 <= filters.page_size <= MAX_PAGE_SIZE:
        raise HttpError(422, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    day = filters.date or pools_day()
    if day is None:
        raise HttpError(422, "no trading day has been published yet")
    try:
        table = suitability_table(
            day=day, actor=request.user, customer_nos=_split(filters.customers), product_codes=_split(filters.products)
        )
    except (ValueError, FileNotFoundError) as exc:
        raise HttpError(422, str(exc))
    pages = max(1, -(-table.count // filters.page_size))
    page = min(max(1, filters.page), pages)
    items = [
        {"customer_no": c, "product_code": p, "result": d.result, "reasons": list(d.reasons)}
        for c, p, d in table.rows(offset=(page - 1) * filters.page_size, limit=filters.page_size)
    ]
    customer_list_record(
        actor=request.user,
        filters={"day": day.isoformat(), "customers": filters.customers, "products": filters.products},
        shown=sorted({i["customer_no"] for i in items}),
        request=request,
        via="api:suitability",
    )
    return {"day": day, "items": items, "count": table.count, "page": page, "pages": pages}


@router.get("/records", response=list[RecordOut], summary="Search suitability records (compliance)")
@paginate(PageNumberPagination, page_size=50)
def list_records(request: HttpRequest, filters: Query[RecordFilters]):
    if not user_can(user=request.user, capability=Capability.VIEW_SUITABILITY_RECORDS):
        raise HttpError(403, "not allowed")
    values = filters.dict()
    customer_list_record(
        actor=request.user, filters={k: str(v) for k, v in values.items() if v}, shown=[], request=request, via="api:suitability:records"
    )
    return record_search(actor=request.user, **values)


# --- one customer ----------------------------------------------------------------------------------


def _customer(request: HttpRequest, customer_no: str) -> Customer:
    try:
        return customer_get(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404


def _product(code: str) -> Product:
    product = Product.objects.filter(product_code=code).first()
    if product is None:
        raise HttpError(422, f"unknown product {code}")
    return product


@customer_router.get(
    "/{customer_no}/suitability", response=list[DecisionOut], summary="The customer's suitability for each product"
)
@paginate(PageNumberPagination, page_size=100)
def customer_decisions(request: HttpRequest, customer_no: str, day: date | None = Query(None, alias="date"), products: str = ""):
    """Without ``date``: today, with the latest published pools, on-sale products (what the
    customer page shows). With ``date``: as the export computes that day, every product."""
    _customer(request, customer_no)
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="api:suitability")
    codes = _split(products)
    if day is None:
        rows = customer_product_decisions(actor=request.user, customer_no=customer_no)
        return [
            {"customer_no": customer_no, "product_code": r.product.product_code, "result": r.decision.result, "reasons": list(r.decision.reasons)}
            for r in rows
            if codes is None or r.product.product_code in codes
        ]
    try:
        table = suitability_table(day=day, actor=request.user, customer_nos=[customer_no], product_codes=codes)
    except (ValueError, FileNotFoundError) as exc:
        raise HttpError(422, str(exc))
    return [{"customer_no": c, "product_code": p, "result": d.result, "reasons": list(d.reasons)} for c, p, d in table.rows()]


@customer_router.get(
    "/{customer_no}/suitability/records", response=list[RecordOut], summary="The customer's suitability records"
)
@paginate(PageNumberPagination, page_size=50)
def customer_record_list(request: HttpRequest, customer_no: str):
    _customer(request, customer_no)
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="api:suitability:records")
    return customer_records(actor=request.user, customer_no=customer_no)


def _service_errors(call):
    try:
        return call()
    except PermissionDenied:
        raise HttpError(403, "not allowed")
    except ValidationError as exc:
        raise HttpError(422, " ".join(exc.messages))


@customer_router.post("/{customer_no}/suitability/recommend", response=RecordOut, summary="Record a recommendation (match only)")
def recommend(request: HttpRequest, customer_no: str, payload: ProductIn):
    customer = _customer(request, customer_no)
    product = _product(payload.product_code)
    return _service_errors(lambda: suitability_recommend(actor=request.user, customer=customer, product=product))


@customer_router.post("/{customer_no}/suitability/warning", response=WarningOut, summary="Issue the special risk warning")
def issue_warning(request: HttpRequest, customer_no: str, payload: ProductIn):
    customer = _customer(request, customer_no)
    product = _product(payload.product_code)
    warning = _service_errors(lambda: suitability_warning_issue(actor=request.user, customer=customer, product=product))
    return {
        "id": warning.pk,
        "customer_no": customer_no,
        "product_code": product.product_code,
        "reasons": warning.reasons.split(";") if warning.reasons else [],
        "text": warning.text,
        "issued_at": warning.issued_at,
    }


@customer_router.post("/{customer_no}/suitability/sell", response=RecordOut, summary="Record a sale after the suitability check")
def sell(request: HttpRequest, customer_no: str, payload: SaleIn):
    customer = _customer(request, customer_no)
    product = _product(payload.product_code)
    record = _service_errors(
        lambda: suitability_sell(
            actor=request.user, customer=customer, product=product, amount=payload.amount, warning_confirmed=payload.warning_confirmed
        )
    )
    return record
