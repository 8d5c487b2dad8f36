"""Customer endpoints of the REST API (thin: call selectors and services)."""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from brokercrm.customers.choices import IdType
from brokercrm.customers.models import Customer, Lead
from brokercrm.customers.selectors import (
    MAX_PAGE_SIZE,
    customer_assignment_history,
    customer_detail,
    customer_get,
    customer_interactions,
    customer_page,
    customer_relationships,
    lead_detail,
    lead_get,
    lead_page,
    lead_rows,
    user_display_name,
)
from brokercrm.customers.services import (
    customer_assign,
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
from brokercrm.org.models import Employee, OrgNode
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


# --- potential customers (leads); declared before "/{customer_no}" so "leads" is not a number ---


class LeadOut(Schema):
    id: int
    name: str
    mobile: str
    id_type: str
    id_number: str
    source: str
    status: str
    branch_code: str
    branch_name: str
    account_manager: str
    referrer_customer_no: str
    referrer_employee: str
    note: str
    created_at: datetime
    converted_customer_no: str
    converted_at: datetime | None
    pii_masked: bool


class LeadPage(Schema):
    items: list[LeadOut]
    count: int
    page: int
    pages: int


class LeadFilters(Schema):
    query: str = ""
    status: str = ""
    source: str = ""
    branch_code: str = ""
    page: int = 1
    page_size: int = 50


class LeadIn(Schema):
    name: str
    source: str
    mobile: str = ""
    id_type: str = IdType.ID_CARD
    id_number: str = ""
    referrer_customer_no: str = ""
    referrer_employee: str = ""
    #: branch code; defaults to the caller's branch
    branch_code: str = ""
    #: username of an account manager of the branch; an account manager keeps their own leads
    account_manager: str = ""
    note: str = ""


class LeadAssignIn(Schema):
    account_manager: str


class LeadStatusIn(Schema):
    status: str
    note: str = ""


def _lead(request: HttpRequest, lead_id: int):
    try:
        return lead_detail(actor=request.user, lead_id=lead_id)
    except Lead.DoesNotExist:
        raise Http404


def _http_errors(call):
    try:
        return call()
    except PermissionDenied:
        raise HttpError(403, "not allowed")
    except ValidationError as exc:
        raise HttpError(422, " ".join(exc.messages))


@router.get("/leads", response=LeadPage, summary="Potential customers (leads) in your scope")
def list_leads(request: HttpRequest, filters: Query[LeadFilters]):
    if not 1 <= filters.page_size <= MAX_PAGE_SIZE:
        raise HttpError(422, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    values = filters.dict(exclude={"page", "page_size"})
    page = lead_page(actor=request.user, page=filters.page, per_page=filters.page_size, **values)
    lead_list_record(actor=request.user, filters=values, shown=[r.id for r in page.object_list], request=request, via="api")
    return {"items": page.object_list, "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}


@router.post("/leads", response={201: LeadOut}, summary="Register a potential customer")
def create_lead(request: HttpRequest, payload: LeadIn):
    branch = None
    if payload.branch_code:
        branch = OrgNode.objects.filter(code=payload.branch_code).first()
        if branch is None:
            raise HttpError(422, f"branch_code: no branch {payload.branch_code}")
    manager = None
    if payload.account_manager:
        manager = Employee.objects.filter(user__username=payload.account_manager).select_related("user", "node").first()
        if manager is None:
            raise HttpError(422, f"account_manager: no employee {payload.account_manager}")
    data = payload.dict(exclude={"branch_code", "account_manager"})
    lead = _http_errors(lambda: lead_create(actor=request.user, branch=branch, account_manager=manager, **data))
    return Status(201, _lead(request, lead.pk))


@router.get("/leads/{lead_id}", response=LeadOut, summary="One potential customer (404 when out of scope)")
def get_lead(request: HttpRequest, lead_id: int):
    lead = _lead(request, lead_id)
    lead_view_record(actor=request.user, lead_id=lead_id, request=request, via="api")
    return lead


@router.post("/leads/{lead_id}/assign", response=LeadOut, summary="Give a lead to an account manager of its branch")
def assign_lead(request: HttpRequest, lead_id: int, payload: LeadAssignIn):
    _lead(request, lead_id)
    branch = lead_get(actor=request.user, lead_id=lead_id).branch
    manager = account_manager_choices(actor=request.user, branch=branch).filter(user__username=payload.account_manager).first()
    if manager is None:
        raise HttpError(422, "account_manager is not an account manager of the lead's branch")
    lead = _http_errors(lambda: lead_assign(actor=request.user, lead_id=lead_id, account_manager=manager))
    # the lead as assigned, even when the new manager is outside the caller's scope
    return lead_rows([lead], actor=request.user)[0]


@router.post("/leads/{lead_id}/status", response=LeadOut, summary="Change a lead's status (new, contacted, qualified, lost)")
def set_lead_status(request: HttpRequest, lead_id: int, payload: LeadStatusIn):
    _lead(request, lead_id)
    _http_errors(lambda: lead_set_status(actor=request.user, lead_id=lead_id, status=payload.status, note=payload.note))
    return _lead(request, lead_id)


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


# --- interactions and relationships ----------------------------------------------------------


class InteractionOut(Schema):
    id: int
    customer_no: str
    kind: str
    content: str
    occurred_at: datetime
    author: str
    author_name: str
    created_at: datetime

    # read from the Interaction rows, so that a page of the timeline is one query
    @staticmethod
    def resolve_customer_no(obj) -> str:
        return obj.customer.customer_no

    @staticmethod
    def resolve_author(obj) -> str:
        return obj.author.get_username()

    @staticmethod
    def resolve_author_name(obj) -> str:
        return user_display_name(obj.author)


class InteractionIn(Schema):
    kind: str
    content: str
    occurred_at: datetime | None = None


class RelationshipOut(Schema):
    id: int
    customer_no: str
    kind: str
    label: str
    direction: str
    other_customer_no: str
    other_name: str
    other_hidden: bool
    note: str
    created_by: str
    created_at: datetime


class RelationshipIn(Schema):
    kind: str
    related_customer_no: str = ""
    related_name: str = ""
    note: str = ""


class RelationshipRemoveIn(Schema):
    relationship: int


@router.get("/{customer_no}/interactions", response=list[InteractionOut], summary="The customer's timeline, newest first")
@paginate(PageNumberPagination, page_size=20)
def list_interactions(request: HttpRequest, customer_no: str):
    _detail(request, customer_no)
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="api:interactions")
    return customer_interactions(actor=request.user, customer_no=customer_no)


@router.post("/{customer_no}/interactions", response={201: InteractionOut}, summary="Add a note, call, meeting … (append-only)")
def add_interaction(request: HttpRequest, customer_no: str, payload: InteractionIn):
    _detail(request, customer_no)
    created = _http_errors(lambda: interaction_add(actor=request.user, customer_no=customer_no, **payload.dict()))
    return Status(201, created)


@router.get("/{customer_no}/relationships", response=list[RelationshipOut], summary="Relationships, both directions")
@paginate(PageNumberPagination, page_size=50)
def list_relationships(request: HttpRequest, customer_no: str):
    _detail(request, customer_no)
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="api:relationships")
    return customer_relationships(actor=request.user, customer_no=customer_no)


@router.post("/{customer_no}/relationships", response={201: RelationshipOut}, summary="Record a relationship")
def add_relationship(request: HttpRequest, customer_no: str, payload: RelationshipIn):
    _detail(request, customer_no)
    created = _http_errors(lambda: relationship_add(actor=request.user, customer_no=customer_no, **payload.dict()))
    rows = customer_relationships(actor=request.user, customer_no=customer_no)
    return Status(201, next(r for r in rows if r.id == created.pk))


@router.post("/{customer_no}/relationships/remove", response=list[RelationshipOut], summary="End a relationship")
def remove_relationship(request: HttpRequest, customer_no: str, payload: RelationshipRemoveIn):
    _detail(request, customer_no)
    _http_errors(
        lambda: relationship_remove(actor=request.user, customer_no=customer_no, relationship_id=payload.relationship)
    )
    return customer_relationships(actor=request.user, customer_no=customer_no)
