"""The customer list, the customer page, reassignment and export, as users see them."""

import csv
import io

from django.test import Client
from django.urls import reverse

from brokercrm.customers.services import customer_create
from brokercrm.org.choices import AuditAction
from brokercrm.org.models import AuditEvent
from brokercrm.testing import EXPECTED_SCOPE


def _numbers_in(response, world):
    body = response.content.decode()
    return {key for key, c in world.customers.items() if c.customer_no in body}


def test_the_list_shows_exactly_the_users_customers(world):
    for username, expected in EXPECTED_SCOPE.items():
        response = world.client(username).get(reverse("customers:list"))
        assert response.status_code == 200
        assert _numbers_in(response, world) == expected, username


def test_search_by_number_name_and_mobile(world):
    client = world.client("hq_admin")
    customer_create(
        customer_no="20000009", name="欧阳娜", customer_type="individual", branch=world.nodes["b"], mobile="13900001111"
    )
    url = reverse("customers:list")
    for query in ("20000009", "欧阳", "1390000"):
        body = client.get(url, {"query": query}).content.decode()
        assert "20000009" in body and world.customers["a1"].customer_no not in body, query


def test_filters_and_pagination(world):
    client = world.client("bm_b")
    for i in range(30):
        customer_create(
            customer_no=f"3000{i:04d}", name=f"客户{i}", customer_type="institution", branch=world.nodes["b"],
            status="frozen" if i % 2 else "normal",
        )
    url = reverse("customers:list")
    first = client.get(url, {"customer_type": "institution"}).content.decode()
    assert "30000000" in first and "30000029" not in first  # 25 per page
    second = client.get(url, {"customer_type": "institution", "page": 2}).content.decode()
    assert "30000029" in second and "30000000" not in second
    frozen = client.get(url, {"status": "frozen", "customer_type": "institution"}).content.decode()
    assert "30000001" in frozen and "30000000" not in frozen
    # a filter naming another branch does not widen the scope
    other = client.get(url, {"branch_code": "0101"}).content.decode()
    assert world.customers["a1"].customer_no not in other


def test_htmx_search_returns_only_the_table(world):
    response = world.client("bm_a").get(reverse("customers:list"), {"query": "张"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and world.customers["a1"].customer_no in body
    assert world.customers["a2"].customer_no not in body


def test_id_numbers_and_mobiles_are_masked_for_roles_that_do_not_need_them(world):
    url = reverse("customers:detail", args=[world.customers["a1"].customer_no])
    for username, masked in (("am_a1", False), ("compliance", False), ("bm_a", True), ("tl_a1", True), ("hq_admin", True)):
        body = world.client(username).get(url).content.decode()
        assert ("110101198602276308" not in body) == masked, username
        assert ("13362988280" not in body) == masked, username
        if masked:
            assert "110101********6308" in body and "133****8280" in body


def test_every_view_of_a_customer_is_audited(world):
    number = world.customers["a1"].customer_no
    client = world.client("am_a1")
    client.get(reverse("customers:detail", args=[number]), REMOTE_ADDR="10.1.2.3", HTTP_USER_AGENT="pytest")
    entry = AuditEvent.objects.get(action=AuditAction.CUSTOMER_VIEW, object_id=number)
    assert (entry.actor_username, entry.ip_address, entry.user_agent) == ("am_a1", "10.1.2.3", "pytest")
    client.get(reverse("customers:list"), {"query": "张"})
    listed = AuditEvent.objects.get(action=AuditAction.CUSTOMER_LIST)
    assert listed.detail["customers"] == [number] and listed.detail["filters"] == {"query": "张"}


def test_reassign_from_the_customer_page(world):
    number = world.customers["a1"].customer_no
    client = world.client("bm_a")
    page = client.get(reverse("customers:detail", args=[number])).content.decode()
    assert 'name="account_manager"' in page and "am_b" not in page  # only the branch's managers
    response = client.post(
        reverse("customers:assign", args=[number]), {"account_manager": "am_a2", "reason": "调岗"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "AM_A2" in response.content.decode() and "调岗" in response.content.decode()
    assert number not in world.client("am_a1").get(reverse("customers:list")).content.decode()
    # an account manager sees no reassignment form and cannot post one
    own = world.client("am_a2")
    assert 'name="account_manager"' not in own.get(reverse("customers:detail", args=[number])).content.decode()
    assert own.post(reverse("customers:assign", args=[number]), {"account_manager": "am_a1"}).status_code == 403


def test_forms_need_a_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.user("bm_a"))
    number = world.customers["a1"].customer_no
    response = client.post(reverse("customers:assign", args=[number]), {"account_manager": "am_a2"})
    assert response.status_code == 403


def test_export_is_scoped_masked_and_audited(world):
    response = world.client("tl_a1").get(reverse("customers:export"))
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["customer_no"] for r in rows} == {world.customers[k].customer_no for k in EXPECTED_SCOPE["tl_a1"]}
    assert all(r["id_number"] == "110101********6308" for r in rows)
    entry = AuditEvent.objects.get(action=AuditAction.CUSTOMER_EXPORT)
    assert entry.actor_username == "tl_a1" and entry.detail["rows"] == 2
    assert world.client("compliance").get(reverse("customers:export")).status_code == 403
