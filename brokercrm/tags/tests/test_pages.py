"""The tag pages and API: the catalogue with lineage and coverage, a tag with its history, and
head office's form with the rule checked as it is typed."""

from __future__ import annotations

import json
from datetime import date

from django.utils.html import escape

from brokercrm.tags.models import CoverageDay, CustomTag, TagCoverage
from brokercrm.tags.services import custom_tag_create

from brokercrm.tags.tests.test_catalogue import BANKS

D1, D2 = date(2026, 4, 21), date(2026, 4, 22)


def _coverage():
    CoverageDay.objects.create(as_of=D1, population=200, fingerprint="a")
    CoverageDay.objects.create(as_of=D2, population=200, fingerprint="b")
    TagCoverage.objects.create(as_of=D1, tag_code="senior_60_plus", customers=30)
    TagCoverage.objects.create(as_of=D2, tag_code="senior_60_plus", customers=50)
    TagCoverage.objects.create(as_of=D2, tag_code="prefers_banks", customers=7)


def test_the_catalogue_lists_builtin_and_custom_tags_with_lineage_and_coverage(world):
    custom_tag_create(actor=world.user("hq_admin"), **BANKS)
    _coverage()
    page = world.client("am_a1").get("/tags/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-tag="senior_60_plus"' in html and 'data-tag="bank_holder"' in html
    assert "老年客户" in html  # Chinese first
    row = html.split('data-tag="senior_60_plus"')[1].split("</tr>")[0]
    assert ">50<" in row and "25.00%" in row  # 50 of the 200 evaluated on the latest day
    custom = html.split('data-tag="bank_holder"')[1].split("</tr>")[0]
    assert "top_industry" in custom and "total_assets" in custom  # lineage
    assert 'data-testid="nav-tags-list"' in html


def test_the_catalogue_filters_by_category_and_sorts_by_coverage(world):
    _coverage()
    client = world.client("hq_admin")
    html = client.get("/tags/", {"category": "margin"}).content.decode()
    assert 'data-tag="margin_account"' in html and 'data-tag="senior_60_plus"' not in html
    html = client.get("/tags/", {"sort": "-customers"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html  # the table alone for HTMX
    order = [part.split('"')[0] for part in html.split('data-tag="')[1:3]]
    assert order == ["senior_60_plus", "prefers_banks"]


def test_english_names_under_an_english_ui(world):
    client = world.client("hq_admin")
    client.cookies["django_language"] = "en"
    html = client.get("/tags/", {"query": "senior_60"}).content.decode()
    row = html.split('data-tag="senior_60_plus"')[1].split("</tr>")[0]
    assert "Senior (60+)" in row and "老年客户" not in row


def test_a_tag_page_shows_rule_lineage_and_history(world):
    _coverage()
    page = world.client("am_a1").get("/tags/aggressive_in_cash/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "cash_ratio_high" in html and "risk_level" in html  # reads a tag and a feature
    page = world.client("am_a1").get("/tags/senior_60_plus/")
    html = page.content.decode()
    assert 'data-testid="tag-history-chart"' in html and "echarts.min.js" in html
    data = json.loads(html.split('id="tag-history-data" type="application/json">')[1].split("</script>")[0])
    assert data["dates"] == ["2026-04-21", "2026-04-22"] and list(data["series"].values()) == [[30, 50]]
    assert world.client("am_a1").get("/tags/no_such_tag/").status_code == 404
    assert 'data-testid="tag-edit"' not in html


def test_head_office_adds_a_tag_through_the_form(world):
    client = world.client("hq_admin")
    assert client.get("/tags/new/").status_code == 200
    response = client.post("/tags/new/", BANKS)
    assert response.status_code == 302 and response["Location"] == "/tags/bank_holder/"
    html = client.get("/tags/bank_holder/").content.decode()
    assert 'data-testid="tag-edit"' in html and 'data-testid="tag-versions"' in html
    assert 'data-testid="tag-customers"' in html


def test_a_bad_rule_in_the_form_shows_the_engines_message_and_pointer(world):
    client = world.client("hq_admin")
    response = client.post("/tags/new/", {**BANKS, "rule": "total_assets >= 100k"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="error-rule"' in html
    assert escape("a number cannot be followed by 'k'") in html and "(column 20)" in html
    assert "total_assets &gt;= 100k\n" + " " * 19 + "^" in html
    response = client.post("/tags/new/", {**BANKS, "code": "age_under_30"})
    assert 'data-testid="error-code"' in response.content.decode()
    assert not CustomTag.objects.exists()


def test_the_rule_is_checked_as_it_is_typed(world):
    client = world.client("hq_admin")
    ok = client.post("/tags/check/", {"rule": "tag('prefers_banks') and age >= 50"}, HTTP_HX_REQUEST="true")
    html = ok.content.decode()
    assert 'data-testid="rule-valid"' in html and "age" in html and "tag('prefers_banks')" in html
    bad = client.post("/tags/check/", {"rule": "agee > 1"}).content.decode()
    assert 'data-testid="rule-error"' in bad and escape("did you mean 'age'?") in bad and "^" in bad


def test_edit_and_deactivate_from_the_pages(world):
    client = world.client("hq_admin")
    custom_tag_create(actor=world.user("hq_admin"), **BANKS)
    assert client.get("/tags/bank_holder/edit/").status_code == 200
    response = client.post("/tags/bank_holder/edit/", {**BANKS, "rule": "top_industry = '银行'"})
    assert response.status_code == 302
    assert CustomTag.objects.get().rule == "top_industry = '银行'"
    client.post("/tags/bank_holder/active/", {"active": "0"})
    assert not CustomTag.objects.get().active
    html = client.get("/tags/bank_holder/").content.decode()
    assert 'data-testid="tag-inactive"' in html and 'data-testid="tag-reactivate"' in html
    assert 'data-tag="bank_holder"' not in client.get("/tags/").content.decode()


def test_an_account_manager_cannot_write(world):
    client = world.client("am_a1")
    custom_tag_create(actor=world.user("hq_admin"), **BANKS)
    assert 'data-testid="tag-new"' not in client.get("/tags/").content.decode()
    assert client.get("/tags/new/").status_code == 403
    assert client.post("/tags/new/", {**BANKS, "code": "other"}).status_code == 403
    assert client.post("/tags/bank_holder/edit/", {**BANKS, "rule": "age > 1"}).status_code == 403
    assert client.post("/tags/bank_holder/active/", {"active": "0"}).status_code == 403
    assert client.post("/tags/check/", {"rule": "age > 1"}).status_code == 403
    tag = CustomTag.objects.get()
    assert tag.active and tag.rule == BANKS["rule"] and CustomTag.objects.count() == 1


def test_api_lists_creates_and_validates(world):
    _coverage()
    am, hq = world.client("am_a1"), world.client("hq_admin")
    listing = am.get("/api/tags", {"category": "basic", "page_size": 500}).json()
    senior = next(t for t in listing["items"] if t["code"] == "senior_60_plus")
    assert (senior["customers"], senior["share"], senior["features"]) == (50, "25.00", ["age"])
    assert listing["coverage_as_of"] == "2026-04-22" and listing["customers_evaluated"] == 200
    assert am.post("/api/tags", BANKS, content_type="application/json").status_code == 403
    bad = hq.post("/api/tags", {**BANKS, "rule": "total_assets >= 100k"}, content_type="application/json")
    assert bad.status_code == 422 and "column 20" in bad.json()["detail"]
    created = hq.post("/api/tags", BANKS, content_type="application/json")
    assert created.status_code == 201 and created.json()["custom"] is True
    detail = am.get("/api/tags/senior_60_plus").json()
    assert [p["customers"] for p in detail["history"]] == [30, 50]
    check = am.post("/api/tags/validate", {"rule": "age >> 1"}, content_type="application/json").json()
    assert (check["valid"], check["column"]) == (False, 6)
    assert world.client("researcher").get("/api/tags").status_code == 403
