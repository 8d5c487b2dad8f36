"""Tag endpoints of the REST API (thin: the selectors and services of the pages).

``GET /api/tags`` the catalogue with coverage; ``GET /api/tags/{code}`` one tag with its history;
``POST /api/tags`` a custom tag (head office; 422 with the engine's problems when refused);
``POST /api/tags/validate`` what the engine says of a rule.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.errors import HttpError

from brokercrm.tags.selectors import SORTS, TagRow, can_manage, can_view, coverage_latest, rule_check, tag_detail, tag_history, tag_rows
from brokercrm.tags.services import TagRefused, custom_tag_create, problem_field

router = Router(tags=["tags"])
MAX_PAGE_SIZE = 500


class TagOut(Schema):
    code: str
    name_zh: str
    name_en: str
    category: str
    description: str
    rule: str
    custom: bool
    active: bool
    #: what the rule reads directly
    features: list[str]
    tags: list[str]
    #: customers carrying it on the latest counted day (None: not counted yet)
    customers: int | None
    #: percentage of the customers evaluated that day
    share: Decimal | None


class TagPage(Schema):
    items: list[TagOut]
    count: int
    page: int
    pages: int
    coverage_as_of: date | None
    customers_evaluated: int


class TagFilters(Schema):
    category: str = ""
    query: str = ""
    sort: str = "code"
    page: int = 1
    page_size: int = 100


class HistoryOut(Schema):
    as_of: date
    customers: int
    share: Decimal | None


class TagDetailOut(TagOut):
    all_features: list[str]
    all_tags: list[str]
    inputs: list[str]
    read_by: list[str]
    history: list[HistoryOut]


class TagIn(Schema):
    code: str
    name_zh: str
    name_en: str
    category: str
    description: str
    rule: str


class RuleIn(Schema):
    rule: str
    #: the code of the tag being written (to refuse a rule that reads itself)
    code: str = ""


class RuleOut(Schema):
    valid: bool
    message: str
    column: int
    pointer: str
    features: list[str]
    tags: list[str]


def _out(row: TagRow) -> dict:
    return {
        "code": row.code,
        "name_zh": row.name_zh,
        "name_en": row.name_en,
        "category": row.category,
        "description": row.description,
        "rule": row.rule,
        "custom": row.custom,
        "active": row.active,
        "features": list(row.features),
        "tags": list(row.tags),
        "customers": row.customers,
        "share": row.share,
    }


def _need_view(request: HttpRequest) -> None:
    if not can_view(request.user):
        raise HttpError(403, "not allowed")


@router.get("", response=TagPage)
def list_tags(request: HttpRequest, filters: Query[TagFilters]):
    """Every tag of the catalogue with its coverage on the latest counted day."""
    _need_view(request)
    if not 1 <= filters.page_size <= MAX_PAGE_SIZE:
        raise HttpError(422, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if filters.sort not in SORTS:
        raise HttpError(422, f"sort must be one of {', '.join(SORTS)}")
    rows = tag_rows(category=filters.category, query=filters.query, sort=filters.sort)
    pages = max(1, -(-len(rows) // filters.page_size))
    page = min(max(1, filters.page), pages)
    start = (page - 1) * filters.page_size
    coverage = coverage_latest()
    return {
        "items": [_out(r) for r in rows[start : start + filters.page_size]],
        "count": len(rows),
        "page": page,
        "pages": pages,
        "coverage_as_of": coverage.as_of,
        "customers_evaluated": coverage.population,
    }


@router.post("/validate", response=RuleOut)
def validate_rule(request: HttpRequest, payload: RuleIn):
    """What the engine says of a rule: valid and what it reads, or the error with its column."""
    _need_view(request)
    check = rule_check(payload.rule[:4000], code=payload.code[:63])
    return {
        "valid": check.valid,
        "message": check.message,
        "column": check.column,
        "pointer": check.pointer,
        "features": list(check.features),
        "tags": list(check.tags),
    }


@router.get("/{code}", response=TagDetailOut)
def get_tag(request: HttpRequest, code: str):
    _need_view(request)
    detail = tag_detail(code)
    if detail is None:
        raise HttpError(404, "no such tag")
    return {
        **_out(detail.row),
        "all_features": list(detail.all_features),
        "all_tags": list(detail.all_tags),
        "inputs": list(detail.inputs),
        "read_by": list(detail.read_by),
        "history": [{"as_of": p.as_of, "customers": p.customers, "share": p.share} for p in tag_history(code)],
    }


@router.post("", response={201: TagDetailOut})
def create_tag(request: HttpRequest, payload: TagIn):
    """Add a custom tag (head office). Refused whole (422) with the engine's problems."""
    if not can_manage(request.user):
        raise HttpError(403, "not allowed")
    try:
        tag = custom_tag_create(actor=request.user, request=request, **payload.dict())
    except PermissionDenied:
        raise HttpError(403, "not allowed") from None
    except TagRefused as exc:
        raise HttpError(
            422, "; ".join(f"{problem_field(p) or 'tag'}: {p.message}" for p in exc.problems)
        ) from None
    return Status(201, get_tag(request, tag.code))
