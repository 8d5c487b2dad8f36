"""The interactions timeline: append-only, newest first, added in place with HTMX, scoped."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from brokercrm.customers.models import Customer, Interaction
from brokercrm.customers.services import ERR_IN_FUTURE, ERR_NO_CONTENT, interaction_add
from brokercrm.testing import EXPECTED_SCOPE


def _add(world, n, *, customer="a1", author="am_a1"):
    start = timezone.now() - timedelta(days=n)
    return [
        Interaction.objects.unscoped().create(
            customer=world.customers[customer], kind="call", content=f"第{i}次电话", occurred_at=start + timedelta(hours=i),
            author=world.user(author),
        )  # fmt: skip
        for i in range(n)
    ]


def test_an_account_manager_adds_an_entry_in_place(world):
    number = world.customers["a1"].customer_no
    response = world.client("am_a1").post(
        reverse("customers:interactions", args=[number]),
        {"kind": "meeting", "content": "面谈：关注养老规划"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "面谈：关注养老规划" in body and "AM_A1" in body  # the new entry with its author
    assert 'name="content"' in body and "面谈：关注养老规划</textarea>" not in body  # a fresh form on top
    entry = Interaction.objects.unscoped().get()
    assert (entry.kind, entry.author.username) == ("meeting", "am_a1")


def test_a_refused_entry_keeps_what_was_typed_and_says_why(world):
    number = world.customers["a1"].customer_no
    later = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    body = world.client("am_a1").post(
        reverse("customers:interactions", args=[number]),
        {"kind": "call", "content": "明天回电", "occurred_at": later},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert str(ERR_IN_FUTURE) in body and "明天回电</textarea>" in body
    assert not Interaction.objects.unscoped().exists()


def test_the_timeline_is_newest_first_and_pages_by_twenty(world):
    _add(world, 25)
    number = world.customers["a1"].customer_no
    page = world.client("am_a1").get(reverse("customers:detail", args=[number])).content.decode()
    assert page.index("第24次电话") < page.index("第23次电话")
    assert "第5次电话" in page and "第4次电话" not in page  # 20 on the first page
    assert f"{reverse('customers:interactions', args=[number])}?page=2" in page
    more = world.client("am_a1").get(reverse("customers:interactions", args=[number]), {"page": 2}).content.decode()
    assert "第4次电话" in more and "第0次电话" in more and "第5次电话" not in more
    assert "?page=3" not in more


def test_the_timeline_follows_the_data_scope(world):
    _add(world, 1, customer="a1")
    number = world.customers["a1"].customer_no
    for username, expected in EXPECTED_SCOPE.items():
        response = world.client(username).get(f"/api/customers/{number}/interactions")
        if "a1" in expected:
            assert [i["content"] for i in response.json()["items"]] == ["第0次电话"], username
        else:
            assert response.status_code == 404, username


def test_only_people_who_work_with_customers_add_entries(world):
    number = world.customers["a1"].customer_no
    with pytest.raises(PermissionDenied):  # compliance reads, does not write
        interaction_add(actor=world.user("compliance"), customer_no=number, kind="note", content="x")
    with pytest.raises(Customer.DoesNotExist):
        interaction_add(actor=world.user("am_a2"), customer_no=number, kind="note", content="x")
    with pytest.raises(ValidationError) as caught:
        interaction_add(actor=world.user("am_a1"), customer_no=number, kind="note", content="   ")
    assert caught.value.messages == [str(ERR_NO_CONTENT)]
    assert world.client("compliance").post(
        reverse("customers:interactions", args=[number]), {"kind": "note", "content": "x"}
    ).status_code == 403
    page = world.client("compliance").get(reverse("customers:detail", args=[number])).content.decode()
    assert 'data-testid="interaction-form"' not in page


def test_api_adds_and_lists_entries(world):
    number = world.customers["a1"].customer_no
    client = world.client("tl_a1")
    created = client.post(
        f"/api/customers/{number}/interactions", {"kind": "wechat", "content": "发送了研报"}, content_type="application/json"
    )
    assert created.status_code == 201 and created.json()["author"] == "tl_a1"
    refused = client.post(f"/api/customers/{number}/interactions", {"kind": "fax", "content": "x"}, content_type="application/json")
    assert refused.status_code == 422
    listed = client.get(f"/api/customers/{number}/interactions").json()
    assert [(i["kind"], i["content"]) for i in listed["items"]] == [("wechat", "发送了研报")]


def test_there_is_no_way_to_edit_or_delete_an_entry(world):
    (entry,) = _add(world, 1)
    number = world.customers["a1"].customer_no
    client = world.client("am_a1")
    assert client.delete(reverse("customers:interactions", args=[number])).status_code == 405
    assert client.put(f"/api/customers/{number}/interactions").status_code == 405
    assert Interaction.objects.unscoped().get().content == entry.content
