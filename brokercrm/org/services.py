"""Actions on the organisation, users, tokens and the audit log (services write; selectors read)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from brokercrm.org.choices import NODE_PARENT_KIND, AuditAction, NodeKind, Role
from brokercrm.org.models import ApiToken, AuditEvent, Employee, OrgNode

ERR_NODE_PARENT_KIND = "A {kind} node must sit under a {parent} node."
ERR_NODE_HQ_PARENT = "The head office node has no parent."
ERR_NODE_CODE_TAKEN = "Node code {code} is already used."
ERR_USERNAME_TAKEN = "Username {username} is already used."
ERR_ROLE_NODE = "Role {role} needs a node of kind {kinds}."

#: where in the tree each role may be placed
ROLE_NODE_KINDS: dict[str, tuple[str, ...]] = {
    Role.HQ_ADMIN: (NodeKind.HQ,),
    Role.COMPLIANCE: (NodeKind.HQ, NodeKind.REGION, NodeKind.BRANCH),
    Role.RESEARCHER: (NodeKind.HQ, NodeKind.REGION, NodeKind.BRANCH),
    Role.BRANCH_MANAGER: (NodeKind.BRANCH, NodeKind.REGION),
    Role.TEAM_LEAD: (NodeKind.TEAM,),
    Role.ACCOUNT_MANAGER: (NodeKind.TEAM, NodeKind.BRANCH),
}


def _client_address(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # behind a trusted proxy set by the deployment; REMOTE_ADDR is what the socket saw
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    actor: Any,
    action: str,
    object_type: str = "",
    object_id: str = "",
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
    username: str = "",
) -> AuditEvent:
    """Append an audit entry: who, when, what, from where (issue 2, "Security by default")."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_username=(user.get_username() if user else username)[:150],
        action=AuditAction(action),
        object_type=object_type,
        object_id=str(object_id)[:100],
        ip_address=_client_address(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[:300],
        path=(request.get_full_path() if request else "")[:500],
        detail=detail or {},
    )


@transaction.atomic
def org_node_create(*, code: str, name: str, kind: str, parent: OrgNode | None) -> OrgNode:
    """Add a node; its kind must fit under its parent's (HQ → region → branch → team)."""
    kind = NodeKind(kind)
    expected = NODE_PARENT_KIND[kind]
    if expected is None and parent is not None:
        raise ValidationError(ERR_NODE_HQ_PARENT)
    if expected is not None and (parent is None or parent.kind != expected):
        raise ValidationError(ERR_NODE_PARENT_KIND.format(kind=kind.value, parent=expected.value))
    if OrgNode.objects.filter(code=code).exists():
        raise ValidationError(ERR_NODE_CODE_TAKEN.format(code=code))
    node = OrgNode.objects.create(code=code, name=name, kind=kind, parent=parent)
    node.path = f"{parent.path if parent else '/'}{node.pk}/"
    node.depth = (parent.depth + 1) if parent else 0
    node.save(update_fields=["path", "depth"])
    return node


def org_node_ensure(*, code: str, name: str, kind: str, parent: OrgNode | None) -> OrgNode:
    """The node with ``code``, created if missing (idempotent loaders use this)."""
    existing = OrgNode.objects.filter(code=code).first()
    return existing or org_node_create(code=code, name=name, kind=kind, parent=parent)


@transaction.atomic
def employee_create(
    *,
    username: str,
    password: str,
    role: str,
    node: OrgNode,
    display_name: str = "",
    actor: Any = None,
    check_password: bool = True,
) -> Employee:
    """Create a login and place it in the tree with a role.

    The password is validated by Django's validators and stored with Argon2. HQ admins are
    also Django staff, so they can configure the head office in the admin.
    """
    role = Role(role)
    if node.kind not in ROLE_NODE_KINDS[role]:
        raise ValidationError(ERR_ROLE_NODE.format(role=role.value, kinds="/".join(ROLE_NODE_KINDS[role])))
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise ValidationError(ERR_USERNAME_TAKEN.format(username=username))
    user = User(username=username, is_staff=role == Role.HQ_ADMIN, is_superuser=role == Role.HQ_ADMIN)
    if check_password:
        validate_password(password, user)
    user.set_password(password)
    user.save()
    employee = Employee.objects.create(user=user, node=node, role=role, display_name=display_name)
    audit_record(
        actor=actor,
        username="system",
        action=AuditAction.USER_CREATE,
        object_type="user",
        object_id=username,
        detail={"role": role.value, "node": node.code},
    )
    return employee


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user: Any, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Issue an API token; returns the record and the token text, which is never stored."""
    token = f"bcrm_{secrets.token_urlsafe(32)}"
    record = ApiToken.objects.create(
        user=user, name=name, prefix=token[:12], digest=_digest(token), expires_at=expires_at
    )
    audit_record(actor=user, action=AuditAction.TOKEN_CREATE, object_type="api_token", object_id=record.prefix)
    return record, token


def api_token_authenticate(*, token: str) -> Any | None:
    """The active user owning ``token``, or ``None`` (unknown, revoked, expired, inactive)."""
    now = timezone.now()
    record = ApiToken.objects.select_related("user").filter(digest=_digest(token), revoked_at__isnull=True).first()
    if record is None or (record.expires_at and record.expires_at <= now) or not record.user.is_active:
        return None
    ApiToken.objects.filter(pk=record.pk).update(last_used_at=now)
    return record.user
