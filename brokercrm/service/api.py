"""Proactive service in the REST API: market events and their impact lists, tasks, visits.
Thin: the same selectors and services as the pages, the same scope, every list paginated."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import customer_get
from brokercrm.customers.services import customer_list_record
from brokercrm.service import selectors
from brokercrm.service.models import MarketEvent, Task
from brokercrm.service.services import event_create, ratio_text, task_complete, tasks_from_event, visit_log

router = Router(tags=["service"])


def _http_errors(call):
    try:
        return call()
    except PermissionDenied:
        raise HttpError(403, "not allowed")
    except ValidationError as exc:
        raise HttpError(422, " ".join(exc.messages))


class EventIn(Schema):
    title: str
    direction: str
    impact: int
    #: ``["SH600036", "SZ000001"]``
    securities: list[str] = []
    #: Shenwan industries: every security of the industry is affected
    industries: list[str] = []
    description: str = ""
    suggestion_c1_c2: str = ""
    suggestion_c3: str = ""
    suggestion_c4_c5: str = ""
    suggestion_professional: str = ""


class EventOut(Schema):
    id: int
    title: str
    description: str
    securities: list[str]
    industries: list[str]
    direction: str
    impact: int
    as_of: date
    created_at: datetime
    affected_customers: int
    total_exposure: str
    tasks_created_at: datetime | None
    suggestion_c1_c2: str
    suggestion_c3: str
    suggestion_c4_c5: str
    suggestion_professional: str

    @staticmethod
    def resolve_total_exposure(obj: MarketEvent) -> str:
        return f"{obj.total_exposure:.2f}"


class EventPage(Schema):
    items: list[EventOut]
    count: int
    page: int
    pages: int


class ImpactOut(Schema):
    rank: int
    customer_no: str
    account_manager: str
    exposure: str
    exposure_ratio: str
    tier: str
    risk_group: str
    priority: str
    suggestion: str


class ImpactPage(Schema):
    items: list[ImpactOut]
    count: int
    page: int
    pages: int


class Paging(Schema):
    page: int = 1
    page_size: int = 50


class TaskOut(Schema):
    id: int
    customer_no: str
    assignee: str
    kind: str
    priority: str
    title: str
    suggestion: str
    due_date: date
    status: str
    event_id: int | None
    escalated: bool
    done_at: datetime | None


class TaskList(Schema):
    today: date
    overdue: list[TaskOut]
    due_today: list[TaskOut]
    upcoming: list[TaskOut]


class VisitIn(Schema):
    channel: str
    content: str
    outcome: str
    next_follow_up: date | None = None
    task_id: int | None = None


class VisitOut(Schema):
    id: int
    customer_no: str
    channel: str
    outcome: str
    next_follow_up: date | None
    follow_up_task_id: int | None
    task_id: int | None


def _task_out(t: Task) -> dict:
    return {
        "id": t.pk,
        "customer_no": t.customer.customer_no,
        "assignee": t.assignee.user.get_username() if t.assignee else "",
        "kind": t.kind,
        "priority": t.priority,
        "title": t.title,
        "suggestion": t.suggestion,
        "due_date": t.due_date,
        "status": t.status,
        "event_id": t.event_id,
        "escalated": t.escalated,
        "done_at": t.done_at,
    }


def _check_page_size(size: int) -> None:
    if not 1 <= size <= selectors.MAX_PAGE_SIZE:
        raise HttpError(422, f"page_size must be between 1 and {selectors.MAX_PAGE_SIZE}")


@router.get("/events", response=EventPage, summary="Market events")
def list_events(request: HttpRequest, paging: Query[Paging]):
    if not selectors.can_view_events(request.user):
        raise HttpError(403, "not allowed")
    _check_page_size(paging.page_size)
    from django.core.paginator import Paginator

    page = Paginator(selectors.event_list(actor=request.user), paging.page_size).get_page(paging.page)
    return {"items": list(page.object_list), "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}


@router.post("/events", response={201: EventOut}, summary="Record a market event (its impact list is frozen as of the latest published day)")
def create_event(request: HttpRequest, body: EventIn):
    event = _http_errors(
        lambda: event_create(
            actor=request.user,
            title=body.title,
            description=body.description,
            securities=body.securities,
            industries=body.industries,
            direction=body.direction,
            impact=body.impact,
            suggestions={
                "c1_c2": body.suggestion_c1_c2,
                "c3": body.suggestion_c3,
                "c4_c5": body.suggestion_c4_c5,
                "professional": body.suggestion_professional,
            },
        )
    )
    return Status(201, event)


def _event(request: HttpRequest, event_id: int) -> MarketEvent:
    try:
        return selectors.event_get(actor=request.user, event_id=event_id)
    except MarketEvent.DoesNotExist:
        raise Http404


@router.get("/events/{event_id}", response=EventOut, summary="One market event")
def get_event(request: HttpRequest, event_id: int):
    return _event(request, event_id)


@router.get("/events/{event_id}/impact", response=ImpactPage, summary="The event's affected customers that you see, by rank")
def event_impact(request: HttpRequest, event_id: int, paging: Query[Paging]):
    event = _event(request, event_id)
    _check_page_size(paging.page_size)
    page = selectors.event_impact_page(actor=request.user, event_id=event.pk, page=paging.page, per_page=paging.page_size)
    items = [
        {
            "rank": r.rank,
            "customer_no": r.customer.customer_no,
            "account_manager": r.account_manager.user.get_username() if r.account_manager else "",
            "exposure": f"{r.exposure:.2f}",
            "exposure_ratio": ratio_text(r.exposure_ratio),
            "tier": r.tier,
            "risk_group": r.risk_group,
            "priority": r.priority,
            "suggestion": event.suggestion_for(r.risk_group),
        }
        for r in page.object_list
    ]
    if items:
        customer_list_record(
            actor=request.user, filters={"event": str(event.pk)}, shown=[i["customer_no"] for i in items], request=request, via="api"
        )
    return {"items": items, "count": page.paginator.count, "page": page.number, "pages": page.paginator.num_pages}


class Created(Schema):
    created: int


@router.post("/events/{event_id}/tasks", response=Created, summary="Turn the event's list into tasks (none twice)")
def create_event_tasks(request: HttpRequest, event_id: int):
    event = _event(request, event_id)
    return {"created": _http_errors(lambda: tasks_from_event(actor=request.user, event_id=event.pk))}


@router.get("/tasks", response=TaskList, summary="Your open tasks: overdue, today's and the coming week's, high priority first")
def list_tasks(request: HttpRequest):
    w = selectors.task_workspace(actor=request.user)
    shown = sorted({t.customer.customer_no for t in w.overdue + w.due_today + w.upcoming})
    if shown:
        customer_list_record(actor=request.user, filters={}, shown=shown, request=request, via="api")
    return {
        "today": w.today,
        "overdue": [_task_out(t) for t in w.overdue],
        "due_today": [_task_out(t) for t in w.due_today],
        "upcoming": [_task_out(t) for t in w.upcoming],
    }


@router.post("/tasks/{task_id}/done", response=TaskOut, summary="Mark a task done")
def complete_task(request: HttpRequest, task_id: int):
    try:
        selectors.task_get(actor=request.user, task_id=task_id)
    except Task.DoesNotExist:
        raise Http404
    _http_errors(lambda: task_complete(actor=request.user, task_id=task_id))
    return _task_out(selectors.task_get(actor=request.user, task_id=task_id))


def _customer(request: HttpRequest, customer_no: str) -> Customer:
    try:
        return customer_get(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404


@router.get("/customers/{customer_no}/tasks", response=list[TaskOut], summary="A customer's open tasks")
def customer_tasks(request: HttpRequest, customer_no: str):
    _customer(request, customer_no)
    return [_task_out(t) for t in selectors.customer_open_tasks(actor=request.user, customer_no=customer_no)]


@router.post("/customers/{customer_no}/visits", response={201: VisitOut}, summary="Log a visit (a next follow-up date raises a follow-up task)")
def log_visit(request: HttpRequest, customer_no: str, body: VisitIn):
    _customer(request, customer_no)
    try:
        visit = _http_errors(
            lambda: visit_log(
                actor=request.user,
                customer_no=customer_no,
                channel=body.channel,
                content=body.content,
                outcome=body.outcome,
                next_follow_up=body.next_follow_up,
                task_id=body.task_id,
            )
        )
    except Task.DoesNotExist:
        raise Http404
    return Status(
        201,
        {
            "id": visit.pk,
            "customer_no": customer_no,
            "channel": visit.channel,
            "outcome": visit.outcome,
            "next_follow_up": visit.next_follow_up,
            "follow_up_task_id": visit.follow_up_task_id,
            "task_id": visit.task_id,
        },
    )


# --- service requests and complaints, the team view (issue 6) -----------------------------------

from brokercrm.service import desk, team  # noqa: E402
from brokercrm.service.models import ServiceRequest  # noqa: E402


class RequestIn(Schema):
    kind: str
    channel: str
    content: str


class RequestOut(Schema):
    id: int
    customer_no: str
    kind: str
    channel: str
    content: str
    status: str
    deadline: date
    escalated: bool
    assignee: str
    resolution: str
    created_at: datetime


class RequestStatusIn(Schema):
    status: str
    note: str = ""


def _request_out(r: ServiceRequest) -> dict:
    return {
        "id": r.pk,
        "customer_no": r.customer.customer_no,
        "kind": r.kind,
        "channel": r.channel,
        "content": r.content,
        "status": r.status,
        "deadline": r.deadline,
        "escalated": r.escalated,
        "assignee": r.assignee.user.get_username() if r.assignee else "",
        "resolution": r.resolution,
        "created_at": r.created_at,
    }


@router.get("/customers/{customer_no}/requests", response=list[RequestOut], summary="A customer's service requests and complaints, newest first")
def customer_service_requests(request: HttpRequest, customer_no: str):
    _customer(request, customer_no)
    return [_request_out(r) for r in desk.customer_requests(actor=request.user, customer_no=customer_no)]


@router.post("/customers/{customer_no}/requests", response={201: RequestOut}, summary="Record a service request or complaint (due by kind and tier)")
def create_service_request(request: HttpRequest, customer_no: str, body: RequestIn):
    _customer(request, customer_no)
    item = _http_errors(
        lambda: desk.request_create(
            actor=request.user, customer_no=customer_no, kind=body.kind, channel=body.channel, content=body.content, request=request
        )
    )
    return Status(201, _request_out(desk.request_get(actor=request.user, request_id=item.pk)))


@router.post("/requests/{request_id}/status", response=RequestOut, summary="Move a request along new → in progress → resolved → closed (or reopen)")
def advance_service_request(request: HttpRequest, request_id: int, body: RequestStatusIn):
    try:
        desk.request_get(actor=request.user, request_id=request_id)
    except ServiceRequest.DoesNotExist:
        raise Http404
    _http_errors(lambda: desk.request_advance(actor=request.user, request_id=request_id, status=body.status, note=body.note, request=request))
    return _request_out(desk.request_get(actor=request.user, request_id=request_id))


class PersonOut(Schema):
    username: str
    role: str
    open: int
    overdue: int
    escalated: int
    done: int
    done_on_time: int
    requests_open: int
    requests_overdue: int


@router.get("/team", response=list[PersonOut], summary="Tasks per person of your team or branch (team leads, branch managers)")
def team_figures(request: HttpRequest):
    if not team.can_manage_tasks(request.user):
        raise HttpError(403, "not allowed")
    rows = team.team_figures(actor=request.user, today=selectors.service_today())
    return [
        {
            "username": p.employee.user.get_username() if p.employee else "",
            "role": p.employee.role if p.employee else "",
            "open": p.open,
            "overdue": p.overdue,
            "escalated": p.escalated,
            "done": p.done,
            "done_on_time": p.done_on_time,
            "requests_open": p.requests_open,
            "requests_overdue": p.requests_overdue,
        }
        for p in rows
    ]


class ReassignIn(Schema):
    #: the username of the person to give the task to
    to: str
    reason: str = ""


@router.post("/tasks/{task_id}/reassign", response=TaskOut, summary="Give an open task to someone who sees its customer (history kept)")
def reassign_task(request: HttpRequest, task_id: int, body: ReassignIn):
    from brokercrm.org.selectors import employee_list

    if not team.can_manage_tasks(request.user):
        raise HttpError(403, "not allowed")
    try:
        selectors.task_get(actor=request.user, task_id=task_id)
    except Task.DoesNotExist:
        raise Http404
    target = employee_list(actor=request.user).filter(user__username=body.to).first()
    if target is None:
        raise HttpError(422, "no such person in your part of the organisation")
    _http_errors(lambda: team.task_reassign(actor=request.user, task_id=task_id, to=target, reason=body.reason, request=request))
    return _task_out(selectors.task_get(actor=request.user, task_id=task_id))
