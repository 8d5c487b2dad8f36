"""Product endpoints of the REST API (thin: the same selectors and services as the pages).
Reading needs ``VIEW_PRODUCTS``, writing ``MANAGE_PRODUCTS``; anyone else gets 403."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from brokercrm.products.models import Product
from brokercrm.products.selectors import MAX_PAGE_SIZE, clean_filters, product_get, product_page
from brokercrm.products.services import product_create, product_update

router = Router(tags=["products"])


class ProductOut(Schema):
    product_code: str
    name: str
    product_type: str
    risk_level: str
    horizon: str
    variety: str
    required_pool: str
    issuer: str
    min_amount: Decimal
    status: str
    description: str
    updated_at: datetime


class ProductPage(Schema):
    items: list[ProductOut]
    count: int
    page: int
    pages: int


class ProductFilters(Schema):
    query: str = ""
    product_type: str = ""
    risk_level: str = ""
    status: str = ""
    #: a pool code, or "none" for products that require no pool
    required_pool: str = ""
    page: int = 1
    page_size: int = 50


class ProductIn(Schema):
    product_code: str
    name: str
    product_type: str
    risk_level: str
    horizon: str
    variety: str
    required_pool: str = ""
    issuer: str = ""
    min_amount: Decimal = Decimal(0)
    status: str = "on_sale"
    description: str = ""


class ProductChange(Schema):
    """Only the fields given are changed (the code never changes)."""

    name: str | None = None
    product_type: str | None = None
    risk_level: str | None = None
    horizon: str | None = None
    variety: str | None = None
    required_pool: str | None = None
    issuer: str | None = None
    min_amount: Decimal | None = None
    status: str | None = None
    description: str | None = None


def _invalid(exc: ValidationError) -> HttpError:
    if hasattr(exc, "error_dict"):
        return HttpError(422, "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()))
    return HttpError(422, " ".join(exc.messages))


def _get(request: HttpRequest, product_code: str) -> Product:
    try:
        return product_get(actor=request.user, product_code=product_code)
    except PermissionDenied:
        raise HttpError(403, "not allowed")
    except Product.DoesNotExist:
        raise Http404


@router.get("/", response=ProductPage, summary="The product library")
def list_products(request: HttpRequest, filters: Query[ProductFilters]):
    if not 1 <= filters.page_size <= MAX_PAGE_SIZE:
        raise HttpError(422, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    values = clean_filters(filters.dict(exclude={"page", "page_size"}))
    try:
        page = product_page(actor=request.user, page=filters.page, per_page=filters.page_size, **values)
    except PermissionDenied:
        raise HttpError(403, "not allowed")
    return {"items": page.object_list, "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}


@router.get("/{product_code}", response=ProductOut, summary="One product")
def get_product(request: HttpRequest, product_code: str):
    return _get(request, product_code)


@router.post("/", response={201: ProductOut}, summary="Add a product (head office)")
def create_product(request: HttpRequest, payload: ProductIn):
    try:
        product = product_create(actor=request.user, request=request, via="api", **payload.dict())
    except PermissionDenied:
        raise HttpError(403, "not allowed")
    except ValidationError as exc:
        raise _invalid(exc)
    return Status(201, product)


@router.put("/{product_code}", response=ProductOut, summary="Change a product (head office)")
def update_product(request: HttpRequest, product_code: str, payload: ProductChange):
    product = _get(request, product_code)
    try:
        return product_update(
            actor=request.user, product=product, request=request, via="api", **payload.dict(exclude_none=True)
        )
    except PermissionDenied:
        raise HttpError(403, "not allowed")
    except ValidationError as exc:
        raise _invalid(exc)
