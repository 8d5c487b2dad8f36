"""Actions on customers. Each is one transaction and writes its audit entry."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Iterable, Iterator

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.choices import IdType, InteractionKind, LeadSource, LeadStatus, RelationshipKind
from brokercrm.customers.models import Customer, CustomerAssignment, CustomerRelationship, Interaction, Lead
from brokercrm.customers.selectors import customer_get, customer_rows, customer_search, lead_branch_choices, lead_get
from brokercrm.customers.signals import customer_reassigned
from brokercrm.org.choices import AuditAction, NodeKind, Role
from brokercrm.org.models import Employee, OrgNode
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import employee_list, user_can
from brokercrm.org.scope import acting_employee
from brokercrm.org.services import audit_record

ERR_NOT_ALLOWED = "You may not do this."
ERR_NOT_ACCOUNT_MANAGER = "{username} is not an active account manager."
ERR_OUTSIDE_BRANCH = "{username} does not work in the customer's branch."
ERR_OUTSIDE_YOURS = _("{username} does not work in your part of the organisation.")
ERR_SAME_MANAGER = "The customer is already served by {username}."
ERR_BRANCH_KIND = "A customer's branch must be a branch node."

#: the columns of a customer export, in order
EXPORT_COLUMNS = (
    "customer_no",
    "name",
    "customer_type",
    "status",
    "branch_code",
    "branch_name",
    "account_manager",
    "id_number",
    "mobile",
    "open_date",
)


@transaction.atomic
def customer_create(
    *,
    customer_no: str,
    name: str,
    customer_type: str,
    branch: OrgNode,
    account_manager: Employee | None = None,
    status: str = "normal",
    id_type: str = "",
    id_number: str = "",
    mobile: str = "",
    open_date: date | None = None,
) -> Customer:
    """Add a customer to the master (the data center does this from counter data); an initial
    account manager opens the first assignment period."""
    if branch.kind != NodeKind.BRANCH:
        raise ValidationError(ERR_BRANCH_KIND)
    customer = Customer.objects.create(
        customer_no=customer_no,
        name=name,
        customer_type=customer_type,
        branch=branch,
        account_manager=account_manager,
        status=status,
        id_type=id_type,
        id_number=id_number,
        mobile=mobile,
        open_date=open_date,
    )
    if account_manager is not None:
        CustomerAssignment.objects.create(
            customer=customer, account_manager=account_manager, started_at=timezone.now()
        )
    return customer


@transaction.atomic
def customer_assign(
    *,
    actor: Any,
    customer_no: str,
    account_manager: Employee,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Customer:
    """Hand a customer to another account manager, keeping the history of who served them when.

    The actor needs ``ASSIGN_CUSTOMERS`` and the customer in scope (else ``Customer.DoesNotExist``,
    as if it did not exist); the new manager must be an active account manager of the customer's
    branch and of the actor's part of the organisation (a team lead moves customers within the
    team). The current assignment period is closed and a new one opened at the same instant;
    ``signals.customer_reassigned`` then moves what follows the customer (open tasks).
    """
    if not user_can(user=actor, capability=Capability.ASSIGN_CUSTOMERS):
        raise PermissionDenied(ERR_NOT_ALLOWED)
    customer = customer_get(actor=actor, customer_no=customer_no)
    _check_within_actor(actor=actor, manager=account_manager)
    return _customer_reassign(customer_id=customer.pk, account_manager=account_manager, actor=actor, reason=reason, request=request)


def _customer_reassign(
    *, customer_id: int, account_manager: Employee, actor: Any, reason: str, request: HttpRequest | None = None,
    system: str = "",
) -> Customer:
    """The rule of :func:`customer_assign` once the actor is cleared (``actor`` None and ``system``
    naming the process when the system assigns, e.g. a lead conversion)."""
    customer = Customer.objects.unscoped().select_for_update().select_related("branch").get(pk=customer_id)
    username = account_manager.user.get_username()
    if account_manager.role != Role.ACCOUNT_MANAGER or not account_manager.is_active:
        raise ValidationError(ERR_NOT_ACCOUNT_MANAGER.format(username=username))
    if not account_manager.node.path.startswith(customer.branch.path):
        raise ValidationError(ERR_OUTSIDE_BRANCH.format(username=username))
    if customer.account_manager_id == account_manager.pk:
        raise ValidationError(ERR_SAME_MANAGER.format(username=username))
    now = timezone.now()
    previous = customer.account_manager
    CustomerAssignment.objects.unscoped().filter(customer=customer, ended_at__isnull=True).update(ended_at=now)
    CustomerAssignment.objects.create(
        customer=customer, account_manager=account_manager, started_at=now, assigned_by=actor, reason=reason
    )
    customer.account_manager = account_manager
    customer.save(update_fields=["account_manager", "updated_at"])
    customer_reassigned.send(
        sender=__name__, customer=customer, previous_id=previous.pk if previous else None, actor=actor
    )
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_ASSIGN,
        object_type="customer",
        object_id=customer.customer_no,
        request=request,
        detail={
            "from": previous.user.get_username() if previous else None,
            "to": username,
            "reason": reason,
        },
        username=system,
    )
    return customer


def customer_view_record(*, actor: Any, customer_no: str, request: HttpRequest | None, via: str = "page") -> None:
    """Write the audit entry for one view of a customer's data."""
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_VIEW,
        object_type="customer",
        object_id=customer_no,
        request=request,
        detail={"via": via},
    )


def customer_list_record(
    *, actor: Any, filters: dict[str, Any], shown: list[str], request: HttpRequest | None, via: str = "page"
) -> None:
    """Write the audit entry for one list of customers shown (which filters, which customers)."""
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_LIST,
        object_type="customer",
        request=request,
        detail={"via": via, "filters": {k: v for k, v in filters.items() if v}, "customers": shown},
    )


def customer_export(*, actor: Any, request: HttpRequest | None = None, **filters: str) -> Iterator[list[str]]:
    """Rows of a customer export (header first), masked where required.

    The audit entry (filters and row count) is written *before* the first row is produced, so an
    export interrupted half-way is still on record.
    """
    if not user_can(user=actor, capability=Capability.EXPORT_CUSTOMERS):
        raise PermissionDenied(ERR_NOT_ALLOWED)
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_EXPORT,
        object_type="customer",
        request=request,
        detail={
            "filters": {k: v for k, v in filters.items() if v},
            "rows": customer_search(actor=actor, **filters).count(),
        },
    )
    return _export_rows(actor=actor, filters=filters)


def _export_rows(*, actor: Any, filters: dict[str, str]) -> Iterator[list[str]]:
    yield list(EXPORT_COLUMNS)
    for row in customer_rows(actor=actor, **filters):
        yield [
            row.customer_no,
            row.name,
            row.customer_type,
            row.status,
            row.branch_code,
            row.branch_name,
            row.account_manager,
            row.id_number,
            row.mobile,
            row.open_date.isoformat() if row.open_date else "",
        ]


# --- relationships ---------------------------------------------------------------------------

ERR_INVALID_CHOICE = _("{field}: “{value}” is not a valid choice.")
ERR_REL_TARGET = _("Give the related customer's number or the related person's name.")
ERR_NOT_IN_SCOPE = _(
    "Customer {customer_no} is not among the customers you serve: only customers in your scope can be linked."
)
ERR_REL_SELF = _("A customer cannot be related to themselves.")
ERR_REL_DUPLICATE = _("This relationship is already recorded.")
ERR_REL_NOT_FOUND = _("This customer has no such relationship.")
ERR_REL_OTHER_OUT_OF_SCOPE = _(
    "The other customer of this relationship is outside your scope: ask someone who serves both to remove it."
)

#: the same relationship recorded from the other side ("A is B's parent" = "B is A's child")
INVERSE_KIND = {
    RelationshipKind.SPOUSE: RelationshipKind.SPOUSE,
    RelationshipKind.PARENT: RelationshipKind.CHILD,
    RelationshipKind.CHILD: RelationshipKind.PARENT,
    RelationshipKind.SIBLING: RelationshipKind.SIBLING,
    RelationshipKind.RELATIVE: RelationshipKind.RELATIVE,
    RelationshipKind.COLLEAGUE: RelationshipKind.COLLEAGUE,
    RelationshipKind.OTHER: RelationshipKind.OTHER,
}


def _require(actor: Any, capability: Capability) -> None:
    if not user_can(user=actor, capability=capability):
        raise PermissionDenied(ERR_NOT_ALLOWED)


def _choice(value: str, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise ValidationError(ERR_INVALID_CHOICE.format(field=field, value=value))
    return value


def _customer_in_scope(*, actor: Any, customer_no: str) -> Customer:
    """Another customer named by number in a form: refused with a clear message when the actor may
    not see them (the same message as for a number that does not exist)."""
    try:
        return customer_get(actor=actor, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise ValidationError(ERR_NOT_IN_SCOPE.format(customer_no=customer_no))


@transaction.atomic
def relationship_add(
    *,
    actor: Any,
    customer_no: str,
    kind: str,
    related_customer_no: str = "",
    related_name: str = "",
    note: str = "",
) -> CustomerRelationship:
    """Record "``related`` is the customer's ``kind``" (a ``referrer`` referred the customer).

    Needs ``ADD_INTERACTIONS`` and the customer in scope (else ``Customer.DoesNotExist``). A related
    customer is named by number and must be in the actor's scope too; a person who is not a customer
    is named by name. The same relationship is not recorded twice (from either side).
    """
    _require(actor, Capability.ADD_INTERACTIONS)
    customer = customer_get(actor=actor, customer_no=customer_no)
    kind = _choice(kind, RelationshipKind, "kind")
    related_customer_no, related_name = related_customer_no.strip(), related_name.strip()[:100]
    related = None
    if related_customer_no:
        related = _customer_in_scope(actor=actor, customer_no=related_customer_no)
        if related.pk == customer.pk:
            raise ValidationError(ERR_REL_SELF)
        current = CustomerRelationship.objects.unscoped().filter(removed_at__isnull=True)
        same = Q(customer=customer, related_customer=related, kind=kind)
        if kind in INVERSE_KIND:
            same |= Q(customer=related, related_customer=customer, kind=INVERSE_KIND[kind])
        if current.filter(same).exists():
            raise ValidationError(ERR_REL_DUPLICATE)
        related_name = ""
    elif not related_name:
        raise ValidationError(ERR_REL_TARGET)
    return CustomerRelationship.objects.create(
        customer=customer,
        related_customer=related,
        related_name=related_name,
        kind=kind,
        note=note.strip()[:200],
        created_by=actor,
    )


@transaction.atomic
def relationship_remove(*, actor: Any, customer_no: str, relationship_id: int) -> CustomerRelationship:
    """End a relationship shown on the customer's page (kept, marked removed by whom and when).

    Needs ``ADD_INTERACTIONS``, the customer in scope and — when the other party is a customer —
    that customer in scope too.
    """
    _require(actor, Capability.ADD_INTERACTIONS)
    customer = customer_get(actor=actor, customer_no=customer_no)
    row = (
        CustomerRelationship.objects.unscoped()
        .select_for_update()
        .filter(Q(customer=customer) | Q(related_customer=customer), pk=relationship_id, removed_at__isnull=True)
        .first()
    )
    if row is None:
        raise ValidationError(ERR_REL_NOT_FOUND)
    other = row.related_customer_id if row.customer_id == customer.pk else row.customer_id
    if other is not None and not Customer.objects.for_user(actor).filter(pk=other).exists():
        raise ValidationError(ERR_REL_OTHER_OUT_OF_SCOPE)
    row.removed_at, row.removed_by = timezone.now(), actor
    row.save(update_fields=["removed_at", "removed_by"])
    return row


# --- interactions ----------------------------------------------------------------------------

ERR_NO_CONTENT = _("Write what was said or done.")
ERR_CONTENT_TOO_LONG = _("Keep it under {n} characters.")
ERR_IN_FUTURE = _("An interaction cannot lie in the future.")
INTERACTION_MAX_LENGTH = 2000


@transaction.atomic
def interaction_add(
    *, actor: Any, customer_no: str, kind: str, content: str, occurred_at: datetime | None = None
) -> Interaction:
    """Add a note, call, meeting … to the customer's timeline. Append-only: there is no edit and
    no delete. Needs ``ADD_INTERACTIONS`` and the customer in scope (else ``Customer.DoesNotExist``)."""
    _require(actor, Capability.ADD_INTERACTIONS)
    customer = customer_get(actor=actor, customer_no=customer_no)
    kind = _choice(kind, InteractionKind, "kind")
    content = content.strip()
    if not content:
        raise ValidationError(ERR_NO_CONTENT)
    if len(content) > INTERACTION_MAX_LENGTH:
        raise ValidationError(ERR_CONTENT_TOO_LONG.format(n=INTERACTION_MAX_LENGTH))
    now = timezone.now()
    # a minute's grace for clocks that differ between the browser and the server
    if occurred_at is not None and occurred_at > now + timedelta(minutes=1):
        raise ValidationError(ERR_IN_FUTURE)
    return Interaction.objects.create(
        customer=customer, kind=kind, content=content, occurred_at=occurred_at or now, author=actor, created_at=now
    )


# --- leads (potential customers) -------------------------------------------------------------

ERR_LEAD_NAME = _("A lead needs a name.")
ERR_LEAD_CONTACT = _("A lead needs a mobile or an ID number.")
ERR_LEAD_BRANCH = _("Choose a branch you work in.")
ERR_LEAD_OUT_OF_SIGHT = _(
    "You would not see this lead afterwards: choose an account manager whose customers you see."
)
ERR_LEAD_EMPLOYEE = _("No active employee has the username {username}.")
ERR_LEAD_CONVERTED = _("The lead was converted to a customer; it can no longer change.")
ERR_LEAD_STATUS_BY_HAND = _("A lead becomes converted when the person opens an account, not by hand.")
ERR_LEAD_OUTSIDE_BRANCH = _("{username} does not work in the lead's branch.")
ERR_LEAD_SAME_MANAGER = _("The lead is already with {username}.")

#: the system "user" named in the audit log when a lead conversion assigns an account manager
LEAD_CONVERSION = "system:lead_conversion"


def _check_within_actor(*, actor: Any, manager: Employee) -> None:
    """The actor may give customers and leads only to people of their own part of the organisation."""
    if not employee_list(actor=actor).filter(pk=manager.pk).exists():
        raise ValidationError(ERR_OUTSIDE_YOURS.format(username=manager.user.get_username()))


def _check_lead_manager(*, manager: Employee, branch: OrgNode) -> None:
    username = manager.user.get_username()
    if manager.role != Role.ACCOUNT_MANAGER or not manager.is_active:
        raise ValidationError(ERR_NOT_ACCOUNT_MANAGER.format(username=username))
    if not manager.node.path.startswith(branch.path):
        raise ValidationError(ERR_LEAD_OUTSIDE_BRANCH.format(username=username))


@transaction.atomic
def lead_create(
    *,
    actor: Any,
    name: str,
    source: str,
    mobile: str = "",
    id_type: str = IdType.ID_CARD,
    id_number: str = "",
    referrer_customer_no: str = "",
    referrer_employee: str = "",
    branch: OrgNode | None = None,
    account_manager: Employee | None = None,
    note: str = "",
) -> Lead:
    """Register a potential customer (needs ``MANAGE_LEADS``).

    The branch defaults to the actor's own; an account manager registering a lead keeps it unless
    they name a colleague. A referring customer must be in the actor's scope; a referring employee
    is named by username. The actor must see the lead afterwards (a lead nobody in reach serves is
    refused rather than lost).
    """
    _require(actor, Capability.MANAGE_LEADS)
    name, mobile, id_number = name.strip()[:100], mobile.strip()[:20], id_number.strip().upper()[:40]
    if not name:
        raise ValidationError(ERR_LEAD_NAME)
    if not (mobile or id_number):
        raise ValidationError(ERR_LEAD_CONTACT)
    source = _choice(source, LeadSource, "source")
    id_type = _choice(id_type or IdType.ID_CARD, IdType, "id_type")
    employee = acting_employee(actor)
    branches = lead_branch_choices(actor=actor)
    if branch is None and len(branches) == 1:
        branch = branches[0]
    if branch is None or branch.pk not in {b.pk for b in branches}:
        raise ValidationError(ERR_LEAD_BRANCH)
    if account_manager is None and employee is not None and employee.role == Role.ACCOUNT_MANAGER:
        account_manager = employee
    if account_manager is not None:
        _check_lead_manager(manager=account_manager, branch=branch)
    referrer = _customer_in_scope(actor=actor, customer_no=referrer_customer_no.strip()) if referrer_customer_no.strip() else None
    referring_employee = None
    if referrer_employee.strip():
        referring_employee = (
            Employee.objects.filter(user__username=referrer_employee.strip(), is_active=True).select_related("user").first()
        )
        if referring_employee is None:
            raise ValidationError(ERR_LEAD_EMPLOYEE.format(username=referrer_employee.strip()))
    lead = Lead.objects.create(
        name=name,
        mobile=mobile,
        id_type=id_type,
        id_number=id_number,
        source=source,
        referrer_customer=referrer,
        referrer_employee=referring_employee,
        branch=branch,
        account_manager=account_manager,
        note=note.strip()[:2000],
        created_by=actor,
    )
    if not Lead.objects.for_user(actor).filter(pk=lead.pk).exists():
        raise ValidationError(ERR_LEAD_OUT_OF_SIGHT)  # rolls the creation back
    return lead


@transaction.atomic
def lead_assign(*, actor: Any, lead_id: int, account_manager: Employee) -> Lead:
    """Give a lead to an account manager of its branch. Allowed with ``ASSIGN_CUSTOMERS``, or with
    ``MANAGE_LEADS`` for the lead's own account manager or the person who registered it. The lead
    must be in scope (else ``Lead.DoesNotExist``)."""
    lead = lead_get(actor=actor, lead_id=lead_id)
    own = lead.created_by_id == actor.pk or (
        lead.account_manager_id is not None and lead.account_manager_id == getattr(acting_employee(actor), "pk", None)
    )
    as_owner = own and user_can(user=actor, capability=Capability.MANAGE_LEADS)
    if not (as_owner or user_can(user=actor, capability=Capability.ASSIGN_CUSTOMERS)):
        raise PermissionDenied(ERR_NOT_ALLOWED)
    lead = Lead.objects.unscoped().select_for_update().select_related("branch").get(pk=lead.pk)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError(ERR_LEAD_CONVERTED)
    _check_lead_manager(manager=account_manager, branch=lead.branch)
    if not as_owner:  # who registered or serves a lead may pass it on within the branch
        _check_within_actor(actor=actor, manager=account_manager)
    if lead.account_manager_id == account_manager.pk:
        raise ValidationError(ERR_LEAD_SAME_MANAGER.format(username=account_manager.user.get_username()))
    lead.account_manager = account_manager
    lead.save(update_fields=["account_manager", "updated_at"])
    return lead


@transaction.atomic
def lead_set_status(*, actor: Any, lead_id: int, status: str, note: str = "") -> Lead:
    """Move a lead along (new → contacted → qualified, or lost); a note is appended to the lead's
    notes with the date and the author. ``converted`` is reserved for :func:`leads_convert`."""
    _require(actor, Capability.MANAGE_LEADS)
    lead = lead_get(actor=actor, lead_id=lead_id)
    status = _choice(status, LeadStatus, "status")
    if status == LeadStatus.CONVERTED:
        raise ValidationError(ERR_LEAD_STATUS_BY_HAND)
    lead = Lead.objects.unscoped().select_for_update().get(pk=lead.pk)
    if lead.status == LeadStatus.CONVERTED:
        raise ValidationError(ERR_LEAD_CONVERTED)
    lead.status = status
    note = note.strip()
    if note:
        employee = acting_employee(actor)
        stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
        line = f"[{stamp} {employee or actor.get_username()} · {LeadStatus(status).label}] {note}"
        lead.note = f"{lead.note}\n{line}".strip()
    lead.save(update_fields=["status", "note", "updated_at"])
    return lead


#: numbers of customers matched per query (under SQLite's bound-parameter limit)
_CONVERT_BATCH = 900


def leads_convert(*, customer_nos: Iterable[str] | None = None, customer_ids: Iterable[int] | None = None) -> int:
    """Convert the leads that became customers; returns how many were converted.

    Called by the data center right after it publishes counter customers. A lead not yet converted
    matches a customer with the same ID type and ID number who opened the account on or after the
    day the lead was registered (or whose open date is unknown): a customer who already had an
    account before is no "new customer" of that lead. Per match, in one transaction:

    - the lead becomes ``converted``, with the customer and the time;
    - a lead referred by a customer gets that customer recorded as the new customer's ``referrer``
      (referral attribution), unless already recorded;
    - a customer without an account manager is given the lead's (the rule and history of
      :func:`customer_assign`), when that manager is active and works in the customer's branch.

    With neither argument, every customer is considered. One query per batch of 900 customers finds
    the matches.
    """
    if customer_nos is not None:
        key, values = "customer_no__in", list(dict.fromkeys(customer_nos))
    elif customer_ids is not None:
        key, values = "pk__in", list(dict.fromkeys(customer_ids))
    else:
        key, values = "", [None]
    open_leads = Lead.objects.unscoped().exclude(status=LeadStatus.CONVERTED).exclude(id_number="")
    if not values or not open_leads.exists():
        return 0
    converted = 0
    for start in range(0, len(values), _CONVERT_BATCH):
        customers = Customer.objects.unscoped().filter(
            id_type=OuterRef("id_type"), id_number=OuterRef("id_number")
        ).filter(Q(open_date__isnull=True) | Q(open_date__gte=OuterRef("registered_on")))
        if key:
            customers = customers.filter(**{key: values[start : start + _CONVERT_BATCH]})
        matches = list(
            open_leads.annotate(registered_on=TruncDate("created_at"))
            .annotate(match=Subquery(customers.order_by("id").values("id")[:1]))
            .filter(match__isnull=False)
            .select_related("account_manager__user", "account_manager__node")
        )
        if matches:
            converted += _convert(matches)
    return converted


@transaction.atomic
def _convert(leads: list[Lead]) -> int:
    now = timezone.now()
    for lead in leads:
        lead.status, lead.converted_customer_id, lead.converted_at = LeadStatus.CONVERTED, lead.match, now
    Lead.objects.unscoped().bulk_update(leads, ["status", "converted_customer", "converted_at"])
    referred = [lead for lead in leads if lead.referrer_customer_id and lead.referrer_customer_id != lead.match]
    recorded = set(
        CustomerRelationship.objects.unscoped()
        .filter(
            kind=RelationshipKind.REFERRER,
            removed_at__isnull=True,
            customer_id__in=[lead.match for lead in referred],
        )
        .values_list("customer_id", "related_customer_id")
    )
    new = {(lead.match, lead.referrer_customer_id) for lead in referred} - recorded
    CustomerRelationship.objects.unscoped().bulk_create(
        [
            CustomerRelationship(customer_id=c, related_customer_id=r, kind=RelationshipKind.REFERRER, created_at=now)
            for c, r in sorted(new)
        ]
    )
    unserved = set(
        Customer.objects.unscoped()
        .filter(pk__in=[lead.match for lead in leads], account_manager__isnull=True)
        .values_list("pk", flat=True)
    )
    for lead in leads:
        if lead.match in unserved and lead.account_manager is not None:
            try:
                _customer_reassign(
                    customer_id=lead.match,
                    account_manager=lead.account_manager,
                    actor=None,
                    reason=str(_("Converted from lead {id}")).format(id=lead.pk),
                    system=LEAD_CONVERSION,
                )
            except ValidationError:
                continue  # the lead's manager left or works elsewhere: the branch assigns by hand
            unserved.discard(lead.match)
    return len(leads)


def lead_list_record(
    *, actor: Any, filters: dict[str, Any], shown: list[int], request: HttpRequest | None, via: str = "page"
) -> None:
    """Audit one list of leads shown (leads are customer data)."""
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_LIST,
        object_type="lead",
        request=request,
        detail={"via": via, "filters": {k: v for k, v in filters.items() if v}, "leads": shown},
    )


def lead_view_record(*, actor: Any, lead_id: int, request: HttpRequest | None, via: str = "page") -> None:
    """Audit one view of a lead."""
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_VIEW,
        object_type="lead",
        object_id=str(lead_id),
        request=request,
        detail={"via": via},
    )
