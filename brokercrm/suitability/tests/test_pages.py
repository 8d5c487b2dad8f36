"""What people see: the customer page's suitability panel and sale form, a product's matching
customers, compliance's record search, the account manager's re-match notices; scope everywhere."""

import json
import re

import pytest
from django.urls import reverse

from brokercrm.org.models import AuditEvent
from brokercrm.suitability.models import RematchNotice, SuitabilityRecord
from brokercrm.suitability.services import suitability_recommend, suitability_rematch_customer
from brokercrm.suitability.tests.factories import make_product, set_pool, set_profile


@pytest.fixture
def setup(world):
    for key in ("a1", "a1b", "a2", "a_unassigned", "b"):
        set_profile(world.customers[key])
    set_profile(world.customers["a2"], risk_level="C1")  # R3 does not fit a2
    return {
        "fits": make_product("P1", name="稳健一号"),
        "risky": make_product("P2", name="进取二号", risk_level="R4"),
        "closed": make_product("P3", name="已关闭", status="closed"),
    }


def _htmx(client, url, data):
    return client.post(url, data, HTTP_HX_REQUEST="true").content.decode()


def test_the_customer_page_lists_products_they_may_be_recommended(world, setup):
    page = world.client("am_a1").get(reverse("customers:detail", args=["10000001"])).content.decode()
    assert 'data-testid="recommendable-products"' in page
    panel = page.split('data-testid="recommendable-products"')[1].split("</table>")[0]
    assert "稳健一号" in panel and "进取二号" not in panel and "已关闭" not in panel
    assert 'data-testid="sale-form"' in page  # an account manager sells
    # a branch manager sees the list but no sale form
    page = world.client("bm_a").get(reverse("customers:detail", args=["10000001"])).content.decode()
    assert 'data-testid="recommendable-products"' in page and 'data-testid="sale-form"' not in page


def test_recommend_button_records_a_recommendation(world, setup):
    html = _htmx(world.client("am_a1"), reverse("suitability:recommend", args=["10000001"]), {"product_code": "P1"})
    assert 'data-testid="recommended"' in html
    html = _htmx(world.client("am_a1"), reverse("suitability:recommend", args=["10000001"]), {"product_code": "P2"})
    assert 'data-testid="recommended"' not in html
    assert list(SuitabilityRecord.objects.unscoped().values_list("product__product_code", "purpose")) == [("P1", "recommendation")]


def test_the_sale_form_takes_a_mismatch_through_the_risk_warning(world, setup):
    client = world.client("am_a1")
    url = reverse("suitability:sell", args=["10000001"])
    html = _htmx(client, url, {"step": "check", "product_code": "P2", "amount": "20000"})
    assert 'data-testid="risk-warning"' in html and "R4" in html
    assert not SuitabilityRecord.objects.unscoped().exists()
    # confirming without the customer's tick is refused
    html = _htmx(client, url, {"step": "confirm", "product_code": "P2", "amount": "20000"})
    assert 'data-testid="sale-error"' in html and not SuitabilityRecord.objects.unscoped().exists()
    html = _htmx(client, url, {"step": "confirm", "product_code": "P2", "amount": "20000", "customer_confirmed": "yes"})
    assert 'data-testid="sale-recorded"' in html
    record = SuitabilityRecord.objects.unscoped().get()
    assert (record.result, record.confirmed_by_customer, str(record.amount)) == ("mismatch_warn", True, "20000.00")


def test_the_sale_form_sells_a_match_at_once_and_refuses_a_prohibited_sale(world, setup):
    client = world.client("am_a1")
    url = reverse("suitability:sell", args=["10000001"])
    assert 'data-testid="sale-recorded"' in _htmx(client, url, {"step": "check", "product_code": "P1", "amount": "1000"})
    set_profile(world.customers["a1"], risk_level="")  # no assessment: prohibited
    html = _htmx(client, url, {"step": "check", "product_code": "P1", "amount": "1000"})
    assert 'data-testid="sale-error"' in html
    assert list(SuitabilityRecord.objects.unscoped().order_by("id").values_list("result", "refused")) == [
        ("match", False),
        ("prohibited", True),
    ]


def test_the_sale_form_is_for_sellers_only(world, setup):
    url = reverse("suitability:sell", args=["10000001"])
    assert world.client("bm_a").post(url, {"product_code": "P1", "amount": "1000"}).status_code == 403


def _matching(client, code="P1"):
    return client.get(reverse("suitability:product_matching", args=[code]), HTTP_HX_REQUEST="true").content.decode()


def test_a_product_lists_its_matching_customers_within_the_viewers_scope(world, setup):
    everyone = _matching(world.client("hq_admin"))
    # a2 (C1) does not fit R3; everyone else does
    assert re.search(r'data-testid="matching-count">\D*(\d+)', everyone).group(1) == "4"
    for number in ("10000001", "10000002", "10000004", "10000005"):
        assert number in everyone
    assert "10000003" not in everyone
    mine = _matching(world.client("am_a1"))
    assert "10000001" in mine and "10000002" not in mine and "10000005" not in mine
    branch_b = _matching(world.client("bm_b"))
    assert "10000005" in branch_b and "10000001" not in branch_b
    assert AuditEvent.objects.filter(action="customer_list", detail__via="suitability:matching").count() == 3


def test_a_pool_product_matches_only_published_pool_members(world, setup):
    make_product("P9", required_pool="star")
    set_pool(world.customers["a1"], "star", True)
    set_pool(world.customers["a1b"], "star", False)
    html = _matching(world.client("hq_admin"), "P9")
    assert "10000001" in html and "10000002" not in html and "10000004" not in html


def test_the_product_page_partial_loads_the_matching_list(world, setup):
    from django.template.loader import render_to_string

    html = render_to_string("products/_matching.html", {"product": setup["fits"]})
    assert reverse("suitability:product_matching", args=["P1"]) in html and 'hx-trigger="load"' in html


def test_compliance_searches_records_and_the_search_is_audited(world, setup):
    suitability_recommend(actor=world.user("am_a1"), customer=world.customers["a1"], product=setup["fits"])
    suitability_recommend(actor=world.user("am_b"), customer=world.customers["b"], product=setup["fits"])
    client = world.client("compliance")
    page = client.get(reverse("suitability:records"), {"customer": "10000005", "purpose": "recommendation"}).content.decode()
    table = page.split('data-testid="suitability-records"')[1]
    assert "10000005" in table and "10000001" not in table
    page = client.get(reverse("suitability:records"), {"username": "am_a1"}).content.decode()
    assert "10000001" in page.split('data-testid="suitability-records"')[1]
    event = AuditEvent.objects.filter(action="customer_list", detail__via="suitability:records").order_by("-id").first()
    assert event.detail["filters"] == {"username": "am_a1"}
    record = SuitabilityRecord.objects.unscoped().filter(customer=world.customers["a1"]).get()
    detail = client.get(reverse("suitability:record", args=[record.pk])).content.decode()
    assert 'data-testid="record-inputs"' in detail and "C3" in detail
    # not for account managers, nor branch managers
    assert world.client("am_a1").get(reverse("suitability:records")).status_code == 403
    assert world.client("bm_a").get(reverse("suitability:record", args=[record.pk])).status_code == 403


def test_records_follow_the_data_scope(world, setup):
    suitability_recommend(actor=world.user("am_a1"), customer=world.customers["a1"], product=setup["fits"])
    suitability_recommend(actor=world.user("am_b"), customer=world.customers["b"], product=setup["fits"])
    seen = {
        name: set(SuitabilityRecord.objects.for_user(world.user(name)).values_list("customer__customer_no", flat=True))
        for name in ("hq_admin", "compliance", "bm_a", "am_a1", "am_a1b", "researcher")
    }
    assert seen == {
        "hq_admin": {"10000001", "10000005"},
        "compliance": {"10000001", "10000005"},
        "bm_a": {"10000001"},
        "am_a1": {"10000001"},
        "am_a1b": set(),
        "researcher": set(),
    }
    api = json.loads(world.client("am_b").get("/api/customers/10000005/suitability/records").content)
    assert [i["customer_no"] for i in api["items"]] == ["10000005"]


def test_the_account_manager_is_told_on_the_home_page_and_the_notices_page(world, setup):
    a1 = world.customers["a1"]
    suitability_recommend(actor=world.user("am_a1"), customer=a1, product=setup["fits"])
    set_profile(a1, risk_level="C1")
    suitability_rematch_customer(customer=a1)
    client = world.client("am_a1")
    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="home-rematch-notices"' in home and "稳健一号" in home
    # nobody else is told
    assert 'data-testid="home-rematch-notices"' not in world.client("am_a1b").get(reverse("home")).content.decode()
    assert 'data-testid="home-rematch-notices"' not in world.client("bm_a").get(reverse("home")).content.decode()
    notices = client.get(reverse("suitability:notices")).content.decode()
    assert "稳健一号" in notices
    notice = RematchNotice.objects.unscoped().get(customer=a1)
    # another manager cannot mark it read
    world.client("am_a1b").post(reverse("suitability:notices_read"), {"all": "1", "notice": notice.pk})
    notice.refresh_from_db()
    assert notice.read_at is None
    client.post(reverse("suitability:notices_read"), {"notice": notice.pk, "next": "home"})
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert 'data-testid="home-rematch-notices"' not in client.get(reverse("home")).content.decode()


def test_the_customer_api_lists_decisions_today(world, setup):
    set_pool(world.customers["a1"], "star", True)
    body = json.loads(world.client("am_a1").get("/api/customers/10000001/suitability").content)
    assert [(i["product_code"], i["result"], i["reasons"]) for i in body["items"]] == [
        ("P1", "match", []),
        ("P2", "mismatch_warn", ["risk_level"]),
    ]
    assert world.client("am_b").get("/api/customers/10000001/suitability").status_code == 404
