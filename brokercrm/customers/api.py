"""Customer endpoints of the REST API (thin: call selectors and services)."""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import (
    MAX_PAGE_SIZE,
    customer_assignment_history,
    customer_detail,
    customer_get,
    customer_page,
)
from brokercrm.customers.services import customer_assign, customer_list_record, customer_view_record
from brokercrm.org.selectors import account_manager_choices

router = Router(tags=["customers"])


class CustomerOut(Schema):
    customer_no: str
    name: str
    customer_type: str
    status: str
    branch_code: str
    branch_name: str
    account_manager: str
    id_number: str
    mobile: str
    open_date: date | None
    pii_masked: bool


class CustomerPage(Schema):
    items: list[CustomerOut]
    count: int
    page: int
    pages: int


class CustomerFilters(Schema):
    query: str = ""
    status: str = ""
    customer_type: str = ""
    branch_code: str = ""
    page: int = 1
    page_size: int = 50


class AssignmentOut(Schema):
    customer_no: str
    account_manager: str
    account_manager_name: str
    started_at: datetime
    ended_at: datetime | None
    assigned_by: str
    reason: str


class AssignIn(Schema):
    account_manager: str
    reason: str = ""


def _detail(request: HttpRequest, customer_no: str):
    try:
        return customer_detail(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404


@router.get("/", response=CustomerPage, summary="Customers in your scope")
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]):
    if not 1 <= filters.page_size <= MAX_PAGE_SIZE:
        raise HttpError(422, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    values = filters.dict(exclude={"page", "page_size"})
    page = customer_page(actor=request.user, page=filters.page, per_page=filters.page_size, **values)
    customer_list_record(
        actor=request.user, filters=values, shown=[r.customer_no for r in page.object_list], request=request, via="api"
    )
    return {
        "items": page.object_list,
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
    }


@router.get("/{customer_no}", response=CustomerOut, summary="One customer (404 when out of scope)")
def get_customer(request: HttpRequest, customer_no: str):
    customer = _detail(request, customer_no)
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="api")
    return customer


@router.get("/{customer_no}/assignments", response=list[AssignmentOut], summary="Who served the customer when")
@paginate(PageNumberPagination, page_size=50)
def list_assignments(request: HttpRequest, customer_no: str):
    _detail(request, customer_no)
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="api:assignments")
    return customer_assignment_history(actor=request.user, customer_no=customer_no)


@router.post("/{customer_no}/assign", response=CustomerOut, summary="Reassign to another account manager")
def assign_customer(request: HttpRequest, customer_no: str, payload: AssignIn):
    _detail(request, customer_no)
    branch = customer_get(actor=request.user, customer_no=customer_no).branch
    manager = account_manager_choices(actor=request.user, branch=branch).filter(
        user__username=payload.account_manager
    ).first()
    if manager is None:
        raise HttpError(422, "account_manager is not an account manager of the customer's branch")
    try:
        customer_assign(
            actor=request.user, customer_no=customer_no, account_manager=manager, reason=payload.reason, request=request
        )
    except PermissionDenied:
        raise HttpError(403, "not allowed")
    except ValidationError as exc:
        raise HttpError(422, " ".join(exc.messages))
    return _detail(request, customer_no)
