"""Reads of the product library. Products are not customer data: every user with
``VIEW_PRODUCTS`` sees the whole library; anyone else is refused (``PermissionDenied``)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet

from brokercrm.customers.choices import Pool
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.products.choices import ProductRisk, ProductStatus, ProductType
from brokercrm.products.models import Product, ProductDocument

#: the most rows one page or API call returns
MAX_PAGE_SIZE = 200
#: the ``required_pool`` filter value for "requires no pool"
NO_POOL = "none"
FILTERS = ("query", "product_type", "risk_level", "status", "required_pool")


def _require_view(actor: Any) -> None:
    if not user_can(user=actor, capability=Capability.VIEW_PRODUCTS):
        raise PermissionDenied("You may not do this.")


def clean_filters(values: dict[str, str]) -> dict[str, str]:
    """Keep the known filters, dropping values that are not valid codes (an unknown value filters
    nothing rather than everything)."""
    out = {name: (values.get(name) or "").strip()[:64] for name in FILTERS}
    valid = {
        "product_type": ProductType.values,
        "risk_level": ProductRisk.values,
        "status": ProductStatus.values,
        "required_pool": [*Pool.values, NO_POOL],
    }
    for name, allowed in valid.items():
        if out[name] not in allowed:
            out[name] = ""
    return out


def product_search(
    *,
    actor: Any,
    query: str = "",
    product_type: str = "",
    risk_level: str = "",
    status: str = "",
    required_pool: str = "",
) -> QuerySet[Product]:
    """Products matching a code or name prefix and the filters, by code. ``required_pool``:
    a pool code, or ``"none"`` for products that require no pool."""
    _require_view(actor)
    rows = Product.objects.all()
    query = query.strip()
    if query:
        rows = rows.filter(Q(product_code__istartswith=query) | Q(name__startswith=query))
    if product_type:
        rows = rows.filter(product_type=product_type)
    if risk_level:
        rows = rows.filter(risk_level=risk_level)
    if status:
        rows = rows.filter(status=status)
    if required_pool == NO_POOL:
        rows = rows.filter(required_pool="")
    elif required_pool:
        rows = rows.filter(required_pool=required_pool)
    return rows.order_by("product_code")


def product_page(*, actor: Any, page: int = 1, per_page: int = 25, **filters: str) -> Page:
    """One page of :func:`product_search`."""
    per_page = max(1, min(per_page, MAX_PAGE_SIZE))
    return Paginator(product_search(actor=actor, **filters), per_page).get_page(page)


def product_get(*, actor: Any, product_code: str) -> Product:
    """The product with that code, with its document count; ``Product.DoesNotExist`` if none."""
    _require_view(actor)
    return Product.objects.annotate(document_count=Count("documents")).get(product_code=product_code)


def product_documents(*, actor: Any, product: Product) -> QuerySet[ProductDocument]:
    _require_view(actor)
    return product.documents.select_related("uploaded_by").all()


def product_document_get(*, actor: Any, product_code: str, document_id: int) -> ProductDocument:
    """One document of a product; ``ProductDocument.DoesNotExist`` if the pair does not exist."""
    _require_view(actor)
    return ProductDocument.objects.select_related("product").get(pk=document_id, product__product_code=product_code)

