"""Potential customers (leads): scoped like customers, masked by role, worked by account managers."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from brokercrm.customers.choices import LeadStatus
from brokercrm.customers.models import Lead
from brokercrm.customers.services import (
    ERR_LEAD_CONVERTED,
    ERR_LEAD_OUT_OF_SIGHT,
    ERR_LEAD_OUTSIDE_BRANCH,
    ERR_LEAD_STATUS_BY_HAND,
    ERR_NOT_IN_SCOPE,
    ERR_OUTSIDE_YOURS,
    lead_assign,
    lead_create,
    lead_set_status,
)
from brokercrm.org.choices import AuditAction
from brokercrm.org.models import AuditEvent
from brokercrm.testing import EXPECTED_SCOPE

ID_NUMBER = "110101199003070011"
MOBILE = "13912345678"

#: one lead placed like each customer of the test world: (branch, account manager)
PLACES = {
    "a1": ("a", "am_a1"),
    "a1b": ("a", "am_a1b"),
    "a2": ("a", "am_a2"),
    "a_unassigned": ("a", None),
    "b": ("b", "am_b"),
}


@pytest.fixture
def leads(world):
    return {
        key: Lead.objects.unscoped().create(
            name=f"潜客{key}", mobile=MOBILE, id_number=ID_NUMBER, source="event", branch=world.nodes[branch],
            account_manager=world.employees[manager] if manager else None,
        )  # fmt: skip
        for key, (branch, manager) in PLACES.items()
    }


def test_every_role_sees_the_leads_it_would_see_as_customers(world, leads):
    for username, expected in EXPECTED_SCOPE.items():
        data = world.client(username).get("/api/customers/leads").json() if expected else None
        if username == "researcher":
            assert world.client(username).get("/api/customers/leads").json()["count"] == 0
            assert world.client(username).get(reverse("customers:leads")).status_code == 403
            continue
        assert {i["id"] for i in data["items"]} == {leads[k].pk for k in expected}, username
        body = world.client(username).get(reverse("customers:leads")).content.decode()
        assert {k for k, lead in leads.items() if f"潜客{k}<" in body} == expected, username


def test_a_lead_out_of_scope_is_not_found_on_every_route(world, leads):
    client = world.client("am_b")
    pk = leads["a1"].pk
    assert client.get(reverse("customers:lead", args=[pk])).status_code == 404
    assert client.post(reverse("customers:lead_assign", args=[pk]), {"account_manager": "am_b"}).status_code == 404
    assert client.post(reverse("customers:lead_status", args=[pk]), {"status": "lost"}).status_code == 404
    assert client.get(f"/api/customers/leads/{pk}").status_code == 404
    assert client.post(
        f"/api/customers/leads/{pk}/assign", {"account_manager": "am_b"}, content_type="application/json"
    ).status_code == 404
    assert client.post(f"/api/customers/leads/{pk}/status", {"status": "lost"}, content_type="application/json").status_code == 404
    assert Lead.objects.unscoped().get(pk=pk).status == LeadStatus.NEW
    assert world.client("am_a1").get(reverse("customers:lead", args=[pk])).status_code == 200


def test_lead_personal_data_is_masked_for_roles_without_it(world, leads):
    url = reverse("customers:lead", args=[leads["a1"].pk])
    for username, masked in (("am_a1", False), ("compliance", False), ("bm_a", True), ("tl_a1", True), ("hq_admin", True)):
        body = world.client(username).get(url).content.decode()
        assert (ID_NUMBER in body, MOBILE in body) == (not masked, not masked), username
        if masked:
            assert "110101********0011" in body and "139****5678" in body
    item = world.client("bm_a").get(f"/api/customers/leads/{leads['a1'].pk}").json()
    assert (item["id_number"], item["mobile"], item["pii_masked"]) == ("110101********0011", "139****5678", True)
    listed = world.client("tl_a1").get(reverse("customers:leads")).content.decode()
    assert MOBILE not in listed and "139****5678" in listed


def test_an_account_manager_registers_a_lead_of_their_own(world):
    client = world.client("am_a1")
    response = client.post(
        reverse("customers:lead_create"),
        {"name": "钱九", "mobile": MOBILE, "id_type": "id_card", "id_number": ID_NUMBER.lower(), "source": "referral",
         "referrer_customer_no": world.customers["a1"].customer_no, "referrer_employee": "am_a2", "note": "朋友介绍"},
    )  # fmt: skip
    lead = Lead.objects.unscoped().get(name="钱九")
    assert response.status_code == 302 and response["Location"] == reverse("customers:lead", args=[lead.pk])
    assert (lead.branch.code, lead.account_manager.user.username, lead.created_by.username) == ("0101", "am_a1", "am_a1")
    assert (lead.referrer_customer, lead.referrer_employee.user.username) == (world.customers["a1"], "am_a2")
    assert lead.id_number == ID_NUMBER
    page = client.get(response["Location"]).content.decode()
    assert "张三" in page and "朋友介绍" in page


def test_registering_is_refused_with_reasons(world):
    tl = world.user("tl_a1")
    with pytest.raises(ValidationError) as caught:  # the team lead would lose an unassigned lead
        lead_create(actor=tl, name="孙十", mobile=MOBILE, source="walk_in")
    assert caught.value.messages == [str(ERR_LEAD_OUT_OF_SIGHT)]
    assert not Lead.objects.unscoped().exists()
    lead_create(actor=tl, name="孙十", mobile=MOBILE, source="walk_in", account_manager=world.employees["am_a1"])
    with pytest.raises(ValidationError) as caught:  # a referrer the account manager does not serve
        lead_create(actor=world.user("am_a1"), name="周一", mobile=MOBILE, source="referral",
                    referrer_customer_no=world.customers["b"].customer_no)  # fmt: skip
    assert caught.value.messages == [str(ERR_NOT_IN_SCOPE.format(customer_no=world.customers["b"].customer_no))]
    with pytest.raises(PermissionDenied):  # head office reads leads, branches work them
        lead_create(actor=world.user("hq_admin"), name="吴二", mobile=MOBILE, source="online", branch=world.nodes["a"])
    form = world.client("am_a1").post(reverse("customers:lead_create"), {"name": "郑三", "source": "online"})
    assert form.status_code == 422 and "郑三" in form.content.decode()  # the form comes back, filled in


def test_assigning_a_lead(world, leads):
    bm = world.user("bm_a")
    lead_assign(actor=bm, lead_id=leads["a_unassigned"].pk, account_manager=world.employees["am_a2"])
    assert Lead.objects.for_user(world.user("am_a2")).filter(pk=leads["a_unassigned"].pk).exists()
    with pytest.raises(ValidationError) as caught:
        lead_assign(actor=bm, lead_id=leads["a1"].pk, account_manager=world.employees["am_b"])
    assert caught.value.messages == [str(ERR_LEAD_OUTSIDE_BRANCH.format(username="am_b"))]
    with pytest.raises(ValidationError) as caught:  # a team lead assigns within the team only
        lead_assign(actor=world.user("tl_a1"), lead_id=leads["a1"].pk, account_manager=world.employees["am_a2"])
    assert caught.value.messages == [str(ERR_OUTSIDE_YOURS.format(username="am_a2"))]
    lead_assign(actor=world.user("tl_a1"), lead_id=leads["a1b"].pk, account_manager=world.employees["am_a1"])
    assert Lead.objects.for_user(world.user("am_a1")).filter(pk=leads["a1b"].pk).exists()
    # an account manager hands their own lead to a colleague of the branch, and no longer sees it
    response = world.client("am_a1").post(reverse("customers:lead_assign", args=[leads["a1"].pk]), {"account_manager": "am_a1b"})
    assert response.status_code == 302 and response["Location"] == reverse("customers:leads")
    assert Lead.objects.unscoped().get(pk=leads["a1"].pk).account_manager.user.username == "am_a1b"


def test_status_changes_keep_a_dated_note_and_converted_is_not_set_by_hand(world, leads):
    pk = leads["a1"].pk
    client = world.client("am_a1")
    client.post(reverse("customers:lead_status", args=[pk]), {"status": "contacted", "note": "已电话沟通"})
    lead = Lead.objects.unscoped().get(pk=pk)
    assert lead.status == LeadStatus.CONTACTED and "已电话沟通" in lead.note and "AM_A1" in lead.note
    with pytest.raises(ValidationError) as caught:
        lead_set_status(actor=world.user("am_a1"), lead_id=pk, status="converted")
    assert caught.value.messages == [str(ERR_LEAD_STATUS_BY_HAND)]
    Lead.objects.unscoped().filter(pk=pk).update(status=LeadStatus.CONVERTED)
    with pytest.raises(ValidationError) as caught:
        lead_set_status(actor=world.user("am_a1"), lead_id=pk, status="lost")
    assert caught.value.messages == [str(ERR_LEAD_CONVERTED)]


def test_list_filters_search_and_audit(world, leads):
    Lead.objects.unscoped().filter(pk=leads["a2"].pk).update(status="qualified", source="campaign", mobile="13700000000")
    client = world.client("bm_a")
    url = reverse("customers:leads")
    assert "潜客a2<" in client.get(url, {"status": "qualified"}).content.decode()
    assert "潜客a1<" not in client.get(url, {"status": "qualified"}).content.decode()
    assert "潜客a2<" not in client.get(url, {"source": "event"}).content.decode()
    assert "潜客a2<" in client.get(url, {"query": "1370"}).content.decode()
    found = client.get("/api/customers/leads", {"query": "潜客a1"}).json()
    assert {i["name"] for i in found["items"]} == {"潜客a1", "潜客a1b"}
    client.get(reverse("customers:lead", args=[leads["a2"].pk]))
    entry = AuditEvent.objects.get(action=AuditAction.CUSTOMER_VIEW, object_type="lead")
    assert (entry.actor_username, entry.object_id) == ("bm_a", str(leads["a2"].pk))


def test_api_registers_assigns_and_moves_a_lead(world):
    client = world.client("bm_a")
    created = client.post(
        "/api/customers/leads", {"name": "冯四", "mobile": MOBILE, "source": "event", "account_manager": "am_a2"},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assigned = client.post(f"/api/customers/leads/{pk}/assign", {"account_manager": "am_a1"}, content_type="application/json")
    assert assigned.json()["account_manager"] == "am_a1"
    moved = client.post(f"/api/customers/leads/{pk}/status", {"status": "qualified"}, content_type="application/json")
    assert moved.json()["status"] == "qualified"
    refused = client.post(f"/api/customers/leads/{pk}/status", {"status": "converted"}, content_type="application/json")
    assert refused.status_code == 422
    assert client.get("/api/customers/leads", {"page_size": 1000}).status_code == 422


def test_the_navigation_and_home_page_lead_to_the_leads(world, leads):
    home = world.client("am_a1").get(reverse("home")).content.decode()
    assert 'data-testid="nav-customers-leads"' in home and 'data-testid="home-leads"' in home
    card = home.split('data-testid="home-leads"')[1].split("</section>")[0]
    assert "<small>1</small>" in card  # am_a1's one lead
    researcher = world.client("researcher").get(reverse("home")).content.decode()
    assert 'data-testid="nav-customers-leads"' not in researcher and 'data-testid="home-leads"' not in researcher
