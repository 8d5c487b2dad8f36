"""Organisation services: the tree, employees, tokens and the audit log."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from brokercrm.org.choices import AuditAction, NodeKind, Role
from brokercrm.org.models import AuditEvent
from brokercrm.org.services import (
    ERR_NODE_CODE_TAKEN,
    ERR_NODE_PARENT_KIND,
    ERR_ROLE_NODE,
    api_token_authenticate,
    api_token_create,
    employee_create,
    org_node_create,
)


def test_tree_paths_nest(world):
    a1, a, hq = world.nodes["a1"], world.nodes["a"], world.nodes["hq"]
    assert a1.path.startswith(a.path) and a.path.startswith(hq.path)
    assert (hq.depth, a.depth, a1.depth) == (0, 2, 3)


def test_a_node_must_fit_under_its_parent(world):
    with pytest.raises(ValidationError) as caught:
        org_node_create(code="X", name="x", kind=NodeKind.TEAM, parent=world.nodes["east"])
    assert caught.value.messages == [ERR_NODE_PARENT_KIND.format(kind="team", parent="branch")]
    with pytest.raises(ValidationError) as caught:
        org_node_create(code="0101", name="dup", kind=NodeKind.BRANCH, parent=world.nodes["east"])
    assert caught.value.messages == [ERR_NODE_CODE_TAKEN.format(code="0101")]


def test_roles_are_placed_at_fitting_nodes(world):
    with pytest.raises(ValidationError) as caught:
        employee_create(username="x", password="A-long-pass-2026", role=Role.TEAM_LEAD, node=world.nodes["a"])
    assert caught.value.messages == [ERR_ROLE_NODE.format(role="team_lead", kinds="team")]


def test_passwords_are_validated_and_hashed_with_argon2(world, settings):
    settings.PASSWORD_HASHERS = settings.PASSWORD_HASHERS[1:]  # production list: Argon2 first
    with pytest.raises(ValidationError):
        employee_create(username="weak", password="123", role=Role.ACCOUNT_MANAGER, node=world.nodes["a1"])
    employee = employee_create(
        username="strong", password="A-long-pass-2026", role=Role.ACCOUNT_MANAGER, node=world.nodes["a1"]
    )
    assert employee.user.password.startswith("argon2")
    assert AuditEvent.objects.filter(action=AuditAction.USER_CREATE, object_id="strong").exists()


def test_api_tokens_are_stored_as_digests_and_expire(world):
    user = world.user("am_a1")
    record, token = api_token_create(user=user, name="t", expires_at=timezone.now() + timedelta(days=1))
    assert token not in record.digest and record.prefix == token[:12]
    assert api_token_authenticate(token=token) == user
    assert api_token_authenticate(token=token + "x") is None
    record.expires_at = timezone.now() - timedelta(seconds=1)
    record.save()
    assert api_token_authenticate(token=token) is None
    _, other = api_token_create(user=user, name="t2")
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert api_token_authenticate(token=other) is None
