"""The KYC pages and API as users see them."""

from datetime import date, timedelta

from django.conf import settings
from django.urls import reverse

from brokercrm.customers.models import Customer
from brokercrm.kyc.models import KnowledgeTest, Questionnaire, RiskAssessment
from brokercrm.kyc.services import question_save, risk_assessment_submit
from brokercrm.kyc.tests.factories import typical


def _english(client):
    """Pages speak Chinese unless the user chose English (the language cookie)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _set_expiry(customer, expiry, level="C3"):
    Customer.objects.unscoped().filter(pk=customer.pk).update(risk_level=level, risk_expiry=expiry)


def test_the_customer_page_shows_the_kyc_panel_and_the_assessors_buttons(world, questionnaire):
    risk_assessment_submit(actor=world.user("am_a1"), customer=world.customers["a1"], answers=typical(questionnaire))
    page = world.client("am_a1").get(reverse("customers:detail", args=["10000001"]))
    html = page.content.decode()
    assert 'data-testid="kyc-profile"' in html and "68" in html
    assert reverse("kyc:assess", args=["10000001"]) in html
    assert reverse("kyc:knowledge_test_new", args=["10000001"]) in html
    # a branch manager sees the history but has no assessment button
    html = world.client("bm_a").get(reverse("customers:detail", args=["10000001"])).content.decode()
    assert 'data-testid="kyc-assessments"' in html and reverse("kyc:assess", args=["10000001"]) not in html


def test_an_expired_assessment_is_highlighted(world):
    _set_expiry(world.customers["a1"], date.today() - timedelta(days=1))
    html = world.client("am_a1").get(reverse("customers:detail", args=["10000001"])).content.decode()
    assert 'data-testid="kyc-expired"' in html


def test_taking_an_assessment_through_the_page(world, questionnaire):
    client = _english(world.client("am_a1"))
    url = reverse("kyc:assess", args=["10000001"])
    assert "您的年龄是" in client.get(url).content.decode()
    form = {f"q_{k}": v for k, v in typical(questionnaire).items()}
    incomplete = {k: v for k, v in list(form.items())[1:]}
    response = client.post(url, incomplete)
    assert response.status_code == 200 and "Question 1 is not answered" in response.content.decode()
    assert not RiskAssessment.objects.unscoped().exists()
    response = client.post(url, form)
    assert response.status_code == 302 and response["Location"].endswith("#kyc")
    assert Customer.objects.unscoped().get(customer_no="10000001").risk_level == "C4"


def test_the_expiring_list_and_home_block_show_the_managers_own_customers(world):
    today = date.today()
    _set_expiry(world.customers["a1"], today + timedelta(days=30))  # in the window (30 days)
    _set_expiry(world.customers["a2"], today + timedelta(days=10))  # another manager's customer
    _set_expiry(world.customers["a1b"], today + timedelta(days=31))  # not yet
    page = world.client("am_a1").get(reverse("kyc:expiring")).content.decode()
    assert "10000001" in page and "10000003" not in page
    home = world.client("am_a1").get("/").content.decode()
    assert 'data-testid="home-kyc-expiring"' in home and "10000001" in home
    # the branch manager's list holds the branch's customers, expired ones too
    _set_expiry(world.customers["a1b"], today - timedelta(days=400))
    page = world.client("bm_a").get(reverse("kyc:expiring")).content.decode()
    assert all(n in page for n in ("10000001", "10000002", "10000003"))
    assert page.index("10000002") < page.index("10000003") < page.index("10000001")  # longest expired first


def test_the_expiring_api_is_paginated_and_scoped(world):
    _set_expiry(world.customers["a1"], date.today() - timedelta(days=2))
    _set_expiry(world.customers["b"], date.today())
    body = world.client("am_a1").get("/api/kyc/expiring").json()
    assert body["count"] == 1
    assert body["items"][0]["customer_no"] == "10000001" and body["items"][0]["expired"] is True


def test_the_assessment_api(world, questionnaire):
    client = _english(world.client("am_a1"))
    questions = client.get("/api/kyc/questionnaire").json()["questions"]
    assert len(questions) == 11
    bad = client.post("/api/kyc/10000001/assessments", {"answers": {}}, content_type="application/json")
    assert bad.status_code == 422 and "not answered" in bad.json()["detail"]
    created = client.post(
        "/api/kyc/10000001/assessments", {"answers": typical(questionnaire)}, content_type="application/json"
    )
    assert created.status_code == 201 and created.json()["risk_level"] == "C4" and created.json()["score"] == 68
    listed = client.get("/api/kyc/10000001/assessments").json()
    assert listed["count"] == 1 and listed["items"][0]["source"] == "crm"


def test_editing_a_used_questionnaire_creates_a_new_version(world, questionnaire):
    risk_assessment_submit(actor=world.user("am_a1"), customer=world.customers["a1"], answers=typical(questionnaire))
    client = world.client("hq_admin")
    assert client.get(reverse("kyc:questionnaire")).status_code == 200
    assert world.client("am_a1").get(reverse("kyc:questionnaire")).status_code == 403
    form = {
        "text": "您的年龄是（周岁）？", "kind": "scored", "options-TOTAL_FORMS": "3", "options-INITIAL_FORMS": "0",
        "options-0-text": "60 岁以下", "options-0-score": "10", "options-1-text": "60 岁及以上", "options-1-score": "2",
        "options-2-text": "", "options-2-score": "",
    }  # fmt: skip
    response = client.post(reverse("kyc:question_edit", args=[2]), form)
    assert response.status_code == 302
    old, new = Questionnaire.objects.get(version=1), Questionnaire.objects.get(is_active=True)
    assert new.version == 2 and not old.is_active
    assert old.questions.get(order=2).text == "您的年龄是？" and old.questions.get(order=2).options.count() == 4
    assert new.questions.get(order=2).text == "您的年龄是（周岁）？" and new.questions.get(order=2).options.count() == 2
    assert RiskAssessment.objects.unscoped().get().questionnaire == old
    # a second edit of the unused new version stays in it
    question_save(actor=world.user("hq_admin"), order=2, text="年龄？", kind="scored", multi_select=False,
                  options=[{"text": "a", "score": 1}, {"text": "b", "score": 2}])  # fmt: skip
    assert Questionnaire.objects.count() == 2


def test_a_questionnaire_scoring_above_100_is_refused(world, questionnaire):
    client = _english(world.client("hq_admin"))
    form = {
        "text": "再加一题", "kind": "scored", "options-TOTAL_FORMS": "2", "options-INITIAL_FORMS": "0",
        "options-0-text": "是", "options-0-score": "5", "options-1-text": "否", "options-1-score": "0",
    }  # fmt: skip
    response = client.post(reverse("kyc:question_new"), form)
    assert response.status_code == 200 and "highest possible score is 105" in response.content.decode()
    assert questionnaire.questions.count() == 11 and Questionnaire.objects.count() == 1


def test_recording_a_knowledge_test(world):
    client = world.client("am_a1")
    url = reverse("kyc:knowledge_test_new", args=["10000001"])
    assert client.post(url, {"test": "options", "score": "79"}).status_code == 302
    assert client.post(url, {"test": "options", "score": "80"}).status_code == 302
    assert list(KnowledgeTest.objects.unscoped().order_by("id").values_list("score", "passed")) == [(79, False), (80, True)]


def test_the_decider_queue_shows_the_bar_check(world):
    client = world.client("am_a1")
    client.post(
        reverse("kyc:recognition_new", args=["10000001"]),
        {"kind": "recognise_ii", "financial_assets": "4000000", "experience_years": "3"},
    )
    page = world.client("bm_a").get(reverse("kyc:recognitions")).content.decode()
    assert "10000001" in page and "¥5,000,000" in page
    assert world.client("am_a1").get(reverse("kyc:recognitions")).status_code == 403
    assert "10000001" not in world.client("bm_b").get(reverse("kyc:recognitions")).content.decode()


def test_the_home_page_links_deciders_and_head_office(world):
    world.client("am_a1").post(
        reverse("kyc:recognition_new", args=["10000001"]), {"kind": "recognise_ii", "financial_assets": "6000000"}
    )
    home = world.client("bm_a").get("/").content.decode()
    assert 'data-testid="home-kyc"' in home and reverse("kyc:recognitions") in home
    assert reverse("kyc:recognitions") not in world.client("bm_b").get("/").content.decode()  # nothing in their scope
    assert reverse("kyc:questionnaire") in world.client("hq_admin").get("/").content.decode()
