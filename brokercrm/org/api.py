"""Organisation endpoints of the REST API."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from brokercrm.org.policy import ROLE_CAPABILITIES, Capability
from brokercrm.org.scope import acting_employee
from brokercrm.org.selectors import audit_search, org_node_list, user_can

router = Router(tags=["organisation"])


class MeOut(Schema):
    username: str
    display_name: str
    role: str | None
    node_code: str | None
    capabilities: list[str]


class NodeOut(Schema):
    code: str
    name: str
    kind: str
    parent_code: str | None
    depth: int


class AuditOut(Schema):
    at: datetime
    actor_username: str
    action: str
    object_type: str
    object_id: str
    ip_address: str | None
    path: str
    detail: dict


class AuditFilters(Schema):
    username: str = ""
    action: str = ""
    object_id: str = ""


@router.get("/me", response=MeOut, summary="Who you are and what your role allows")
def me(request: HttpRequest):
    employee = acting_employee(request.user)
    return {
        "username": request.user.get_username(),
        "display_name": str(employee) if employee else "",
        "role": employee.role if employee else None,
        "node_code": employee.node.code if employee else None,
        "capabilities": sorted(ROLE_CAPABILITIES.get(employee.role, ())) if employee else [],
    }


@router.get("/nodes", response=list[NodeOut], summary="Your part of the organisation tree")
@paginate(PageNumberPagination, page_size=100)
def nodes(request: HttpRequest):
    return [
        {"code": n.code, "name": n.name, "kind": n.kind, "parent_code": n.parent.code if n.parent else None, "depth": n.depth}
        for n in org_node_list(actor=request.user)
    ]


@router.get("/audit", response=list[AuditOut], summary="Search the audit log (compliance)")
@paginate(PageNumberPagination, page_size=50)
def audit(request: HttpRequest, filters: Query[AuditFilters]):
    if not user_can(user=request.user, capability=Capability.VIEW_AUDIT):
        raise HttpError(403, "not allowed")
    return audit_search(actor=request.user, **filters.dict())
