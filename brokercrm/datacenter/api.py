"""Qualified-pool endpoints of the REST API (thin: the same selectors as the pages)."""

from __future__ import annotations

from datetime import date

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from brokercrm.customers.choices import Pool, PoolReason
from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import MAX_PAGE_SIZE, customer_get
from brokercrm.customers.services import customer_list_record, customer_view_record
from brokercrm.datacenter.selectors import customer_pools, pool_members, pools_as_of
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can

router = Router(tags=["pools"])


class PoolOut(Schema):
    pool: str
    eligible: bool
    reasons: list[str]
    as_of: date


class CustomerPoolsOut(Schema):
    customer_no: str
    #: the trading day of the published pools (None before the first publication)
    evaluated_on: date | None
    pools: list[PoolOut]


class PoolMemberOut(Schema):
    customer_no: str
    name: str
    branch_code: str
    account_manager: str
    pool: str
    eligible: bool
    reasons: list[str]
    as_of: date


class PoolMemberPage(Schema):
    items: list[PoolMemberOut]
    count: int
    page: int
    pages: int


class PoolFilters(Schema):
    pool: str
    eligible: bool = True
    reason: str = ""
    page: int = 1
    page_size: int = 50


def _require_pools(request: HttpRequest) -> None:
    if not user_can(user=request.user, capability=Capability.VIEW_POOLS):
        raise HttpError(403, "not allowed")


@router.get(
    "/customers/{customer_no}/pools",
    response=CustomerPoolsOut,
    summary="One customer's qualified pools with the reasons for each no (404 when out of scope)",
)
def get_customer_pools(request: HttpRequest, customer_no: str):
    try:
        customer_get(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404
    _require_pools(request)
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="api:pools")
    pools = customer_pools(actor=request.user, customer_no=customer_no)
    return {
        "customer_no": customer_no,
        "evaluated_on": pools_as_of() if pools else None,
        "pools": [
            {"pool": p.pool, "eligible": p.eligible, "reasons": list(p.reasons), "as_of": p.as_of}
            for p in pools.values()
        ],
    }


@router.get("/pools", response=PoolMemberPage, summary="Customers in your scope in (or not in) a pool")
def list_pool_members(request: HttpRequest, filters: Query[PoolFilters]):
    if filters.pool not in Pool.values:
        raise HttpError(422, f"pool must be one of {', '.join(Pool.values)}")
    if filters.reason and filters.reason not in PoolReason.values:
        raise HttpError(422, f"reason must be one of {', '.join(PoolReason.values)}")
    if not 1 <= filters.page_size <= MAX_PAGE_SIZE:
        raise HttpError(422, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    _require_pools(request)
    rows = pool_members(
        actor=request.user, pool=filters.pool, eligible=filters.eligible, reason=filters.reason or None
    )
    page = Paginator(rows, filters.page_size).get_page(filters.page)
    items = [
        {
            "customer_no": row.customer.customer_no,
            "name": row.customer.name,
            "branch_code": row.customer.branch.code,
            "account_manager": row.customer.account_manager.user.get_username()
            if row.customer.account_manager
            else "",
            "pool": row.pool,
            "eligible": row.eligible,
            "reasons": list(row.reason_codes),
            "as_of": row.as_of,
        }
        for row in page.object_list
    ]
    customer_list_record(
        actor=request.user,
        filters=filters.dict(exclude={"page", "page_size"}),
        shown=[item["customer_no"] for item in items],
        request=request,
        via="api:pools",
    )
    return {"items": items, "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}
