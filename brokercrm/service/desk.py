"""The service desk: customers' service requests and complaints (issue 6). Services (record,
advance) and selectors (lists, history), each read through the data scope.

Workflow: new → in progress → resolved → closed; a resolved or closed request can be reopened
(back to in progress); a new one may be resolved at once. Resolving needs the resolution text.
The deadline is set when the request is recorded, by kind and the customer's tier, in trading
days (``rules.request_deadline``); one still new or in progress after it is escalated to the
team lead (``requests_escalate``). Every status change is kept (``ServiceRequestChange``) and
audited; the handler is the customer's account manager (else whoever recorded it), and follows
the customer when they are reassigned (``team.tasks_follow_customers``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import customer_get
from brokercrm.org.choices import AuditAction
from brokercrm.org.policy import Capability
from brokercrm.org.scope import acting_employee
from brokercrm.org.selectors import user_can
from brokercrm.org.services import audit_record
from brokercrm.service import rules
from brokercrm.service.choices import REQUEST_OPEN_STATUSES, REQUEST_TRANSITIONS, RequestChannel, RequestKind, RequestStatus
from brokercrm.service.models import ServiceRequest, ServiceRequestChange

ERR_NOT_ALLOWED = "You may not do this."
ERR_KIND = _("Choose a service request or a complaint.")
ERR_CHANNEL = _("Choose how the customer reached us.")
ERR_CONTENT = _("Write what the customer asked or complained about.")
ERR_TRANSITION = _("A request that is “{current}” cannot become “{target}”.")
ERR_RESOLUTION = _("Write how it was resolved.")


def _require(actor: Any) -> None:
    if not user_can(user=actor, capability=Capability.ADD_INTERACTIONS):
        raise PermissionDenied(ERR_NOT_ALLOWED)


def _today() -> date:
    from brokercrm.service.selectors import service_today

    return service_today()


@transaction.atomic
def request_create(
    *,
    actor: Any,
    customer_no: str,
    kind: str,
    channel: str,
    content: str,
    today: date | None = None,
    request: HttpRequest | None = None,
) -> ServiceRequest:
    """Record a service request or complaint for a customer in the actor's scope (else
    ``Customer.DoesNotExist``); needs ``ADD_INTERACTIONS``."""
    _require(actor)
    customer = customer_get(actor=actor, customer_no=customer_no)
    if kind not in RequestKind.values:
        raise ValidationError(ERR_KIND)
    if channel not in RequestChannel.values:
        raise ValidationError(ERR_CHANNEL)
    content = content.strip()
    if not content:
        raise ValidationError(ERR_CONTENT)
    segment = getattr(Customer.objects.unscoped().select_related("segment").get(pk=customer.pk), "segment", None)
    tier = getattr(segment, "tier", "") or rules.DEFAULT_TIER
    manager_id = customer.account_manager_id
    if manager_id is None:
        me = acting_employee(actor)
        manager_id = me.pk if me is not None else None
    item = ServiceRequest.objects.create(
        customer=customer,
        kind=kind,
        channel=channel,
        content=content[:4000],
        assignee_id=manager_id,
        deadline=rules.request_deadline(kind=kind, tier=tier, recorded_on=today or _today()),
        created_by=actor,
    )
    ServiceRequestChange.objects.create(request=item, from_status="", to_status=RequestStatus.NEW, by=actor)
    audit_record(
        actor=actor,
        action=AuditAction.SERVICE_REQUEST_CREATE,
        object_type="service_request",
        object_id=str(item.pk),
        request=request,
        detail={"customer": customer.customer_no, "kind": kind, "channel": channel},
    )
    return item


@transaction.atomic
def request_advance(
    *, actor: Any, request_id: int, status: str, note: str = "", request: HttpRequest | None = None
) -> ServiceRequest:
    """Move a request to ``status`` along the workflow (see the module doc), with a note; to
    resolved the note is the resolution. A request outside the actor's scope does not exist for
    them (``ServiceRequest.DoesNotExist``)."""
    _require(actor)
    item = ServiceRequest.objects.for_user(actor).select_for_update(of=("self",)).select_related("customer").get(pk=request_id)
    if status not in REQUEST_TRANSITIONS.get(item.status, ()):
        raise ValidationError(
            ERR_TRANSITION.format(current=RequestStatus(item.status).label, target=RequestStatus(status).label if status in RequestStatus.values else status)
        )
    note = note.strip()
    if status == RequestStatus.RESOLVED and not note:
        raise ValidationError(ERR_RESOLUTION)
    previous = item.status
    now = timezone.now()
    item.status = status
    fields = ["status"]
    if status == RequestStatus.RESOLVED:
        item.resolution, item.resolved_at = note[:4000], now
        fields += ["resolution", "resolved_at"]
    elif status == RequestStatus.CLOSED:
        item.closed_at = now
        fields.append("closed_at")
    elif previous in (RequestStatus.RESOLVED, RequestStatus.CLOSED):  # reopened
        item.resolved_at = item.closed_at = None
        fields += ["resolved_at", "closed_at"]
    item.save(update_fields=fields)
    ServiceRequestChange.objects.create(request=item, from_status=previous, to_status=status, note=note[:2000], by=actor, at=now)
    audit_record(
        actor=actor,
        action=AuditAction.SERVICE_REQUEST_UPDATE,
        object_type="service_request",
        object_id=str(item.pk),
        request=request,
        detail={"customer": item.customer.customer_no, "from": previous, "to": status},
    )
    return item


def requests_escalate(*, today: date | None = None) -> int:
    """Mark every request or complaint still new or in progress after its deadline escalated
    (shown to the team lead beside the escalated tasks), like ``services.tasks_escalate``; run
    after each publication and by ``brokercrm tasks escalate``. Returns how many were newly
    escalated. The mark stays when the request is later resolved: it was late."""
    today = today or _today()
    return (
        ServiceRequest.objects.unscoped()
        .filter(status__in=REQUEST_OPEN_STATUSES, escalated=False, deadline__lt=today)
        .update(escalated=True, escalated_at=timezone.now())
    )


# --- reads ----------------------------------------------------------------------------------


def requests_in_scope(*, actor: Any) -> QuerySet[ServiceRequest]:
    return ServiceRequest.objects.for_user(actor).select_related("customer", "assignee__user")


def open_requests(*, actor: Any, limit: int = 200) -> list[ServiceRequest]:
    """Requests and complaints still being worked (new, in progress) of the customers the actor
    sees, soonest deadline first (complaints before requests on the same day)."""
    return list(requests_in_scope(actor=actor).filter(status__in=REQUEST_OPEN_STATUSES).order_by("deadline", "kind", "id")[:limit])


def escalated_requests(*, actor: Any, limit: int = 500) -> list[ServiceRequest]:
    """Open requests and complaints marked escalated, of the customers the actor sees, oldest
    deadline first."""
    return list(
        requests_in_scope(actor=actor)
        .filter(status__in=REQUEST_OPEN_STATUSES, escalated=True)
        .order_by("deadline", "kind", "id")[:limit]
    )


def customer_requests(*, actor: Any, customer_no: str, limit: int = 20) -> list[ServiceRequest]:
    return list(
        requests_in_scope(actor=actor).filter(customer__customer_no=customer_no).order_by("-created_at", "-id")[:limit]
    )


def request_get(*, actor: Any, request_id: int) -> ServiceRequest:
    return requests_in_scope(actor=actor).get(pk=request_id)


def request_changes(*, actor: Any, request_id: int) -> list[ServiceRequestChange]:
    return list(ServiceRequestChange.objects.for_user(actor).filter(request_id=request_id).select_related("by").order_by("at", "id"))


def next_statuses(item: ServiceRequest) -> list[tuple[str, str]]:
    """The statuses the request may move to, with their labels (reopen is "in progress")."""
    return [(s, RequestStatus(s).label) for s in REQUEST_TRANSITIONS.get(item.status, ())]
