"""Segmentation endpoints of the REST API (thin: the selectors of the pages, the same scope)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import customer_get
from brokercrm.customers.services import customer_list_record, customer_view_record
from brokercrm.segments.choices import AbcdClass, Tier
from brokercrm.segments.selectors import (
    DIRECTIONS,
    MAX_PAGE_SIZE,
    customer_segment,
    customer_tier_history,
    segments_page,
    tier_changes_page,
    tier_policy_current,
)
from brokercrm.segments.views import parse_month

router = Router(tags=["segments"])


class SegmentOut(Schema):
    customer_no: str
    tier: str
    tier_since: date
    abcd_class: str
    #: tag codes, sorted (empty until the tag engine)
    tags: list[str]
    contribution: Decimal
    turnover: Decimal
    as_of: date


class SegmentPage(Schema):
    items: list[SegmentOut]
    count: int
    page: int
    pages: int


class SegmentFilters(Schema):
    tier: str = ""
    abcd_class: str = ""
    page: int = 1
    page_size: int = 50


class TierChangeOut(Schema):
    customer_no: str
    date: date
    old: str
    new: str
    reason: str


class TierChangePage(Schema):
    items: list[TierChangeOut]
    count: int
    page: int
    pages: int


class TierChangeFilters(Schema):
    month: str
    direction: str = ""
    page: int = 1
    page_size: int = 50


class CustomerSegmentOut(Schema):
    customer_no: str
    tier: str | None
    tier_since: date | None
    abcd_class: str | None
    abcd_strategy: str | None
    services: list[str]
    history: list[TierChangeOut]


class ThresholdOut(Schema):
    tier: str
    avg_assets: Decimal
    net_commission: Decimal


class PolicyOut(Schema):
    thresholds: list[ThresholdOut]
    multipliers: dict[str, Decimal]
    changed_at: datetime | None


def _page_size(size: int) -> None:
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise HttpError(422, f"page_size must be between 1 and {MAX_PAGE_SIZE}")


def _segment_out(r) -> dict:
    return {
        "customer_no": r.customer_no, "tier": r.tier, "tier_since": r.tier_since, "abcd_class": r.abcd_class,
        "tags": list(r.tags), "contribution": r.contribution, "turnover": r.turnover, "as_of": r.as_of,
    }  # fmt: skip


def _change_out(c) -> dict:
    return {"customer_no": c.customer_no, "date": c.date, "old": c.old, "new": c.new, "reason": c.reason}


@router.get("/", response=SegmentPage, summary="Tier, ABCD class and tags of the customers in your scope")
def list_segments(request: HttpRequest, filters: Query[SegmentFilters]):
    _page_size(filters.page_size)
    if filters.tier and filters.tier not in Tier.values:
        raise HttpError(422, f"tier must be one of {', '.join(Tier.values)}")
    if filters.abcd_class and filters.abcd_class not in AbcdClass.values:
        raise HttpError(422, "abcd_class must be one of A, B, C, D")
    page = segments_page(
        actor=request.user, tier=filters.tier, abcd_class=filters.abcd_class, page=filters.page, per_page=filters.page_size
    )
    customer_list_record(
        actor=request.user,
        filters={"tier": filters.tier, "abcd_class": filters.abcd_class},
        shown=[r.customer_no for r in page.object_list],
        request=request,
        via="api:segments",
    )
    return {
        "items": [_segment_out(r) for r in page.object_list],
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
    }


@router.get("/tier-changes", response=TierChangePage, summary="Upgrades and downgrades of a month (YYYY-MM)")
def list_tier_changes(request: HttpRequest, filters: Query[TierChangeFilters]):
    _page_size(filters.page_size)
    try:
        month = parse_month(filters.month)
    except ValueError as exc:
        raise HttpError(422, str(exc)) from None
    if filters.direction and filters.direction not in DIRECTIONS:
        raise HttpError(422, "direction must be up or down")
    page = tier_changes_page(
        actor=request.user, month=month, direction=filters.direction, page=filters.page, per_page=filters.page_size
    )
    customer_list_record(
        actor=request.user,
        filters={"month": filters.month, "direction": filters.direction},
        shown=[r.customer_no for r in page.object_list],
        request=request,
        via="api:tier_changes",
    )
    return {
        "items": [_change_out(c) for c in page.object_list],
        "count": page.paginator.count,
        "page": page.number,
        "pages": page.paginator.num_pages,
    }


@router.get("/customers/{customer_no}", response=CustomerSegmentOut, summary="A customer's tier, class and tier history")
def customer_segment_detail(request: HttpRequest, customer_no: str):
    try:
        customer_get(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404 from None
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="api:segment")
    s = customer_segment(actor=request.user, customer_no=customer_no)
    return {
        "customer_no": customer_no,
        "tier": s.tier if s else None,
        "tier_since": s.tier_since if s else None,
        "abcd_class": s.abcd_class if s else None,
        "abcd_strategy": s.abcd_strategy if s else None,
        "services": list(s.services) if s else [],
        "history": [_change_out(c) for c in customer_tier_history(actor=request.user, customer_no=customer_no)],
    }


@router.get("/policy", response=PolicyOut, summary="The tier thresholds and points multipliers in force")
def policy(request: HttpRequest):
    current = tier_policy_current()
    return {
        "thresholds": [
            {"tier": t, "avg_assets": v.avg_assets, "net_commission": v.net_commission} for t, v in current.thresholds.items()
        ],
        "multipliers": dict(current.multipliers),
        "changed_at": current.changed_at,
    }


# --- the segment builder and saved segments --------------------------------------------------------

from typing import Any  # noqa: E402

from django.conf import settings as django_settings  # noqa: E402

from brokercrm.org.policy import Capability  # noqa: E402
from brokercrm.org.selectors import user_can  # noqa: E402
from brokercrm.segments import audience as au  # noqa: E402
from brokercrm.segments.models import SavedSegment  # noqa: E402
from brokercrm.segments.selectors import (  # noqa: E402
    audience_preview,
    audience_rows,
    definition_check,
    segment_get,
    segment_list,
    segment_members_table,
)


class AudienceIn(Schema):
    #: the definition tree (docs/segmentation.md, "Segment builder")
    definition: dict[str, Any]
    page: int = 1
    page_size: int = 50


class AudienceRowOut(Schema):
    customer_no: str
    name: str
    branch_code: str
    account_manager: str
    tier: str
    abcd_class: str
    total_assets: Decimal | None


class AudienceOut(Schema):
    count: int
    as_of: date | None
    #: the definition as validated (numbers as decimal strings, choices sorted)
    definition: dict[str, Any]
    items: list[AudienceRowOut]
    page: int


class SavedSegmentOut(Schema):
    id: int
    name: str
    description: str
    owner: str
    visibility: str
    definition: dict[str, Any]
    member_count: int | None
    as_of: date | None
    updated_at: datetime


class MembersPage(Schema):
    segment: int
    as_of: date | None
    count: int
    items: list[AudienceRowOut]
    page: int
    pages: int


def _builder_allowed(request: HttpRequest) -> None:
    if not user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS):
        raise HttpError(403, "You may not build segments.")


def _row_out(r) -> dict:
    return {
        "customer_no": r.customer_no, "name": r.name, "branch_code": r.branch_code, "account_manager": r.account_manager,
        "tier": r.tier, "abcd_class": r.abcd_class, "total_assets": r.total_assets,
    }  # fmt: skip


def _saved_out(s: SavedSegment) -> dict:
    v = s.current_version
    return {
        "id": s.pk, "name": s.name, "description": s.description, "owner": s.owner.get_username(),
        "visibility": s.visibility, "definition": s.definition, "member_count": v.member_count if v else None,
        "as_of": v.as_of if v else None, "updated_at": s.updated_at,
    }  # fmt: skip


@router.post("/audience", response=AudienceOut, summary="Count and list a segment definition's customers in your scope")
def audience(request: HttpRequest, body: AudienceIn):
    """Evaluates ``definition`` over the published warehouse, in the caller's data scope: the
    count and one page of customers by customer number. 422 with every problem for an invalid
    definition."""
    _builder_allowed(request)
    _page_size(body.page_size)
    try:
        valid = definition_check(body.definition)
    except au.DefinitionError as exc:
        raise HttpError(422, "; ".join(exc.problems)) from None
    page = max(1, body.page)
    preview = audience_preview(actor=request.user, definition=valid, limit=body.page_size, offset=(page - 1) * body.page_size)
    customer_list_record(
        actor=request.user,
        filters={"segment": valid},
        shown=[r.customer_no for r in preview.rows],
        request=request,
        via="api:segment_audience",
    )
    return {"count": preview.count, "as_of": preview.as_of, "definition": valid, "items": [_row_out(r) for r in preview.rows], "page": page}


@router.get("/saved", response=list[SavedSegmentOut], summary="Your saved segments and those shared with you")
def saved_segments(request: HttpRequest):
    _builder_allowed(request)
    return [_saved_out(s) for s in segment_list(actor=request.user)]


def _saved_or_404(request: HttpRequest, segment_id: int) -> SavedSegment:
    _builder_allowed(request)
    try:
        return segment_get(actor=request.user, segment_id=segment_id)
    except SavedSegment.DoesNotExist:
        raise Http404 from None


@router.get("/saved/{segment_id}", response=SavedSegmentOut, summary="One saved segment")
def saved_segment(request: HttpRequest, segment_id: int):
    return _saved_out(_saved_or_404(request, segment_id))


@router.get("/saved/{segment_id}/members", response=MembersPage, summary="A saved segment's members (current version) in your scope")
def saved_segment_members(request: HttpRequest, segment_id: int, page: int = 1, page_size: int = 50):
    segment = _saved_or_404(request, segment_id)
    _page_size(page_size)
    table = segment_members_table(segment=segment, actor=request.user, data_dir=django_settings.DATA_DIR)
    count = table.num_rows
    pages = max(1, -(-count // page_size))
    page = min(max(1, page), pages)
    rows = audience_rows(actor=request.user, rows=table.slice((page - 1) * page_size, page_size).to_pylist())
    customer_list_record(
        actor=request.user,
        filters={"segment": segment.pk},
        shown=[r.customer_no for r in rows],
        request=request,
        via="api:segment_members",
    )
    version = segment.current_version
    return {
        "segment": segment.pk, "as_of": version.as_of if version else None, "count": count,
        "items": [_row_out(r) for r in rows], "page": page, "pages": pages,
    }  # fmt: skip
