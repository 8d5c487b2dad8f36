"""Relationships between customers: shown from both sides, linked only within the scope."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from brokercrm.customers.choices import RELATIONSHIP_INVERSE_LABELS, RelationshipKind
from brokercrm.customers.models import CustomerRelationship
from brokercrm.customers.selectors import customer_relationships
from brokercrm.customers.services import (
    ERR_NOT_IN_SCOPE,
    ERR_REL_DUPLICATE,
    ERR_REL_OTHER_OUT_OF_SCOPE,
    relationship_add,
    relationship_remove,
)
from brokercrm.testing import EXPECTED_SCOPE


def _no(world, key):
    return world.customers[key].customer_no


def test_a_relationship_reads_from_both_sides(world):
    # 李四 (a1b) referred 张三 (a1); the team lead sees both
    relationship_add(actor=world.user("tl_a1"), customer_no=_no(world, "a1"), kind="referrer", related_customer_no=_no(world, "a1b"))
    lead = world.user("tl_a1")
    (seen_from_a1,) = customer_relationships(actor=lead, customer_no=_no(world, "a1"))
    (seen_from_a1b,) = customer_relationships(actor=lead, customer_no=_no(world, "a1b"))
    referrer, referred = str(RelationshipKind.REFERRER.label), str(RELATIONSHIP_INVERSE_LABELS["referrer"])
    assert (seen_from_a1.label, seen_from_a1.other_name, seen_from_a1.direction) == (referrer, "李四", "outgoing")
    assert (seen_from_a1b.label, seen_from_a1b.other_name, seen_from_a1b.direction) == (referred, "张三", "incoming")
    page = world.client("tl_a1").get(reverse("customers:detail", args=[_no(world, "a1")])).content.decode()
    origin = page.split('data-testid="origin"')[1].split("</p>")[0]  # "referred by 李四" under the name
    assert "李四" in origin and _no(world, "a1b") in origin


def test_the_other_customer_is_not_shown_to_someone_who_does_not_serve_them(world):
    relationship_add(actor=world.user("bm_a"), customer_no=_no(world, "a1"), kind="spouse", related_customer_no=_no(world, "a2"))
    (row,) = customer_relationships(actor=world.user("am_a1"), customer_no=_no(world, "a1"))
    assert row.other_hidden and row.other_name == "" and row.other_customer_no == ""
    body = world.client("am_a1").get(reverse("customers:detail", args=[_no(world, "a1")])).content.decode()
    assert "王五" not in body and _no(world, "a2") not in body
    with pytest.raises(ValidationError) as caught:  # and they may not remove it
        relationship_remove(actor=world.user("am_a1"), customer_no=_no(world, "a1"), relationship_id=row.id)
    assert caught.value.messages == [str(ERR_REL_OTHER_OUT_OF_SCOPE)]


def test_linking_a_customer_outside_the_scope_is_refused_with_a_clear_message(world):
    number = _no(world, "a1")
    response = world.client("am_a1").post(
        reverse("customers:relationship_add", args=[number]),
        {"kind": "sibling", "related_customer_no": _no(world, "b")},
        HTTP_HX_REQUEST="true",
    )
    assert str(ERR_NOT_IN_SCOPE.format(customer_no=_no(world, "b"))) in response.content.decode()
    # a number that does not exist gets the same answer: existence is not revealed
    with pytest.raises(ValidationError) as caught:
        relationship_add(actor=world.user("am_a1"), customer_no=number, kind="sibling", related_customer_no="99999999")
    assert caught.value.messages == [str(ERR_NOT_IN_SCOPE.format(customer_no="99999999"))]
    assert not CustomerRelationship.objects.unscoped().exists()


def test_a_person_who_is_not_a_customer_is_named(world):
    number = _no(world, "a1")
    body = world.client("am_a1").post(
        reverse("customers:relationship_add", args=[number]),
        {"kind": "child", "related_name": "张小三", "note": "在读大学"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "张小三" in body and "在读大学" in body and str(RelationshipKind.CHILD.label) in body


def test_the_same_relationship_is_not_recorded_twice_from_either_side(world):
    actor = world.user("bm_a")
    relationship_add(actor=actor, customer_no=_no(world, "a1"), kind="parent", related_customer_no=_no(world, "a2"))
    for customer, kind, related in (("a1", "parent", "a2"), ("a2", "child", "a1")):
        with pytest.raises(ValidationError) as caught:
            relationship_add(actor=actor, customer_no=_no(world, customer), kind=kind, related_customer_no=_no(world, related))
        assert caught.value.messages == [str(ERR_REL_DUPLICATE)]


def test_removal_is_kept_on_record_and_can_be_recorded_again(world):
    actor = world.user("bm_a")
    row = relationship_add(actor=actor, customer_no=_no(world, "a1"), kind="colleague", related_customer_no=_no(world, "a2"))
    client = world.client("bm_a")
    body = client.post(
        reverse("customers:relationship_remove", args=[_no(world, "a2")]), {"relationship": row.pk}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "张三" not in body  # gone from 王五's list
    assert customer_relationships(actor=actor, customer_no=_no(world, "a1")) == []
    row.refresh_from_db()
    assert row.removed_at is not None and row.removed_by.username == "bm_a"
    relationship_add(actor=actor, customer_no=_no(world, "a1"), kind="colleague", related_customer_no=_no(world, "a2"))


def test_relationships_follow_the_data_scope_in_the_api(world):
    relationship_add(actor=world.user("am_a1"), customer_no=_no(world, "a1"), kind="sibling", related_name="张四")
    for username, expected in EXPECTED_SCOPE.items():
        response = world.client(username).get(f"/api/customers/{_no(world, 'a1')}/relationships")
        if "a1" in expected:
            assert [r["other_name"] for r in response.json()["items"]] == ["张四"], username
        else:
            assert response.status_code == 404, username
    with pytest.raises(PermissionDenied):  # compliance reads relationships, does not record them
        relationship_add(actor=world.user("compliance"), customer_no=_no(world, "a1"), kind="other", related_name="x")
