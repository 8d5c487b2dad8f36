"""In a real browser (Playwright driving Debian's Chromium): an account manager takes a customer's
risk questionnaire, tries to recommend a product that no longer fits, sells it through the
two-step special risk warning, is refused a prohibited sale; compliance then finds every one of
these decisions in the suitability records.

The demo is small (150 customers, 3 simulated trading days): the qualified pools need 20 trading
days, so every pool is "insufficient history" and a product behind a pool is prohibited for all.
Fixtures (``browser``, ``demo``) live in ``conftest.py``; ``live_server`` is pytest-django's.
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest

pytestmark = pytest.mark.browser

#: the answers given with the customer, by question order: the option texts of the seeded
#: default questionnaire (``kyc.services.DEFAULT_QUESTIONNAIRE``) and, by hand, their scores
ANSWERS: dict[int, tuple[list[str], int]] = {
    1: (["是"], 0),  # full civil capacity: no lowest-category gate
    2: (["60 岁以上"], 2),
    3: (["10 万元以下"], 2),
    4: (["50 万元以下"], 2),
    5: (["少于 2 年"], 4),
    6: (["有一些金融产品的基础知识"], 4),
    7: (["银行存款、国债、货币基金"], 2),
    8: (["保本，获得稳定收益"], 2),
    9: (["5 年以上"], 10),  # horizon: long
    10: (["10% 以内"], 4),
    # every variety (a multi-select question scores its highest option: 10)
    11: (
        [
            "债券、货币市场基金、债券基金等固定收益类",
            "股票、混合型基金、偏股型基金等权益类",
            "期货、期权、融资融券等衍生品类",
            "结构化产品等复杂或高风险产品",
            "其他产品",
        ],
        10,
    ),
}
#: 0 + 2 + 2 + 2 + 4 + 4 + 2 + 2 + 10 + 4 + 10 = 42: band C3 (37–53), with a long horizon and
#: every variety — so after this assessment only the risk level can make a product not fit
EXPECTED_SCORE = 42
C3_LABEL = "C3 稳健型"


def _valid_through(day: date) -> date:
    """By hand: an assessment taken on ``day`` is valid 24 months, through the day before."""
    try:
        later = day.replace(year=day.year + 2)
    except ValueError:  # 29 February → 28 February
        later = day.replace(year=day.year + 2, day=28)
    return later - timedelta(days=1)


def _login(page, base: str, username: str, password: str, then: str) -> None:
    page.goto(f"{base}{then}")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}{then}")


def _pick_customer_and_products():
    """A customer whose current (demo) assessment is valid at C4 or C5 and who may today be
    recommended an R4/R5 product without a pool (``fits``), plus an on-sale product behind a
    qualified pool (``behind_pool``). Chosen through the suitability selectors, as the page does."""
    from django.utils import timezone

    from brokercrm.customers.models import Customer
    from brokercrm.products.models import Product
    from brokercrm.suitability.selectors import recommendable_products

    today = timezone.localdate()
    candidates = (
        Customer.objects.unscoped()
        .filter(
            account_manager__isnull=False,
            customer_type="individual",
            status="normal",
            investor_class="ordinary",
            risk_level__in=["C4", "C5"],
            risk_expiry__gte=today,
        )
        .select_related("account_manager__user")
        .order_by("customer_no")
    )
    for customer in candidates:
        user = customer.account_manager.user
        rows = recommendable_products(actor=user, customer_no=customer.customer_no).object_list
        fits = [r.product for r in rows if r.product.risk_level in ("R4", "R5") and not r.product.required_pool]
        if fits:
            behind_pool = (
                Product.objects.filter(status="on_sale").exclude(required_pool="").order_by("product_code").first()
            )
            return customer, user, fits[0], behind_pool
    pytest.fail("the demo has no C4/C5 customer who may be recommended an R4/R5 product without a pool")


def test_risk_assessment_then_mismatch_sale_with_warning_and_prohibited_sale_found_by_compliance(
    browser, live_server, demo
):
    from django.utils import timezone

    from brokercrm.kyc.models import RiskAssessment
    from brokercrm.kyc.services import questionnaire_active
    from brokercrm.suitability.models import RiskWarning, SuitabilityRecord

    base = live_server.url
    customer, am_user, fits, behind_pool = _pick_customer_and_products()
    number = customer.customer_no
    assert behind_pool is not None, "the demo library has products behind a qualified pool"

    # the hand-picked answers score what the comment says, read from the seeded questionnaire
    questions = {q.order: q for q in questionnaire_active().questions.prefetch_related("options")}
    assert sorted(questions) == sorted(ANSWERS), "the seeded questionnaire has 11 questions"
    for order, (texts, score) in ANSWERS.items():
        options = {o.text: o for o in questions[order].options.all()}
        assert max(options[t].score for t in texts) == score, f"question {order}"
        assert not any(options[t].lowest_category for t in texts)
    assert sum(score for _texts, score in ANSWERS.values()) == EXPECTED_SCORE

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    _login(page, base, am_user.username, demo, f"/customers/{number}/")

    # a second tab keeps the customer page as it was before the new assessment
    stale = context.new_page()
    stale.goto(f"{base}/customers/{number}/")
    stale.locator(f"#recommend-{fits.product_code} button").wait_for()
    page.bring_to_front()  # a background tab gets few animation frames: Playwright would crawl

    # --- 1. the risk questionnaire, taken with the customer --------------------------------
    page.locator("#kyc").get_by_role("link", name="进行风险测评").click()
    page.wait_for_url(f"{base}/kyc/{number}/assess/")
    fieldsets = page.locator("[data-testid=assessment-form] fieldset")
    assert fieldsets.count() == len(ANSWERS)
    for order, (texts, _score) in ANSWERS.items():
        fieldset = fieldsets.nth(order - 1)
        assert fieldset.locator("legend").inner_text().startswith(f"{order}. {questions[order].text}")
        for text in texts:
            fieldset.get_by_label(text, exact=True).check()
    page.get_by_role("button", name="提交测评").click()
    page.wait_for_url(f"{base}/customers/{number}/#kyc")

    today = timezone.localdate()
    expiry = _valid_through(today).isoformat()
    assert page.locator("ul.messages li.success").inner_text() == (
        f"风险测评已记录：得分 {EXPECTED_SCORE}，{C3_LABEL}，有效期至 {expiry}。"
    )
    profile = page.locator("[data-testid=kyc-profile] dd").first.inner_text()
    assert profile.startswith(C3_LABEL) and expiry in profile
    newest = page.locator("[data-testid=kyc-assessments] tbody tr").first.locator("td")
    assert newest.nth(0).inner_text() == today.isoformat()
    assert newest.nth(2).inner_text() == C3_LABEL
    assert newest.nth(3).inner_text() == str(EXPECTED_SCORE)
    assert newest.nth(4).inner_text() == expiry
    assert "C3" in page.locator("[data-testid=investor-profile]").inner_text()
    recorded = RiskAssessment.objects.unscoped().filter(customer=customer).order_by("-id").first()
    assert (recorded.score, recorded.risk_level, recorded.expires_on.isoformat()) == (EXPECTED_SCORE, "C3", expiry)

    # --- 2. the product no longer fits: not offered, a recommendation is refused ----------
    code = fits.product_code
    assert page.locator(f"#recommend-{code}").count() == 0  # no longer among "may be recommended"
    stale.bring_to_front()
    stale.locator(f"#recommend-{code} button").click()  # the page opened before the assessment
    refusal = stale.locator(f"#recommend-{code} .error")
    refusal.wait_for()
    assert "不匹配（须风险警示）" in refusal.inner_text()
    assert "产品风险等级高于客户风险承受能力" in refusal.inner_text()
    assert not SuitabilityRecord.objects.unscoped().filter(customer=customer, purpose="recommendation").exists()
    page.bring_to_front()

    # the sale goes through the special risk warning: shown with its reason, confirmed, recorded
    amount = max(fits.min_amount, Decimal("10000.00"))
    sale = page.locator("#suitability-sale")
    sale.locator("select[name=product_code]").select_option(code)
    sale.locator("input[name=amount]").fill(str(amount))
    sale.get_by_role("button", name="检查适当性并销售").click()
    warning = sale.locator("[data-testid=risk-warning]")
    warning.wait_for()
    assert "特别风险警示" in warning.inner_text()
    assert code in warning.inner_text() and "产品风险等级高于客户风险承受能力" in warning.inner_text()
    assert RiskWarning.objects.unscoped().filter(customer=customer, product=fits, reasons="risk_level").count() == 1
    assert not SuitabilityRecord.objects.unscoped().filter(customer=customer, purpose="sale").exists()
    warning.get_by_label("客户已阅读并确认该警示，仍坚持购买").check()
    warning.get_by_role("button", name="登记销售").click()
    done = sale.locator("[data-testid=sale-recorded]")
    done.wait_for()
    assert code in done.inner_text() and "客户已确认特别风险警示。" in done.inner_text()
    sold = SuitabilityRecord.objects.unscoped().get(customer=customer, product=fits, purpose="sale")
    assert (sold.result, sold.reasons, sold.amount, sold.refused) == ("mismatch_warn", "risk_level", amount, False)
    assert sold.confirmed_by_customer and sold.risk_warning.reasons == "risk_level"
    assert sold.risk_warning_confirmed_at >= sold.risk_warning_issued_at
    assert sold.inputs["customer"]["risk_level"] == "C3" and sold.actor_username == am_user.username

    # --- 3. a product behind a qualified pool the customer is not in: refused, recorded ----
    page.goto(f"{base}/customers/{number}/")
    sale = page.locator("#suitability-sale")
    sale.locator("select[name=product_code]").select_option(behind_pool.product_code)
    sale.locator("input[name=amount]").fill(str(max(behind_pool.min_amount, Decimal("10000.00"))))
    sale.get_by_role("button", name="检查适当性并销售").click()
    error = sale.locator("[data-testid=sale-error]")
    error.wait_for()
    assert error.inner_text().startswith("禁止销售（不在合格客户池：")
    assert error.inner_text().endswith("拒绝已记录。")
    assert sale.locator("[data-testid=risk-warning]").count() == 0  # no warning can unlock it
    refused = SuitabilityRecord.objects.unscoped().get(customer=customer, product=behind_pool, purpose="sale")
    assert (refused.result, refused.reasons, refused.refused) == (
        "prohibited",
        f"pool:{behind_pool.required_pool}",
        True,
    )
    assert not refused.confirmed_by_customer and refused.risk_warning is None
    # the customer page lists both sales among its suitability records
    page.reload()
    rows = page.locator("#suitability [data-testid=suitability-records] tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("[data-result]").get_attribute("data-result") == "prohibited"
    assert "已拒绝" in rows.nth(0).inner_text()
    assert rows.nth(1).locator("[data-result]").get_attribute("data-result") == "mismatch_warn"
    context.close()

    # --- 4. compliance finds these decisions ----------------------------------------------
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    _login(page, base, "compliance", demo, "/suitability/records/")
    page.fill("form.filters input[name=customer]", number)
    page.locator("form.filters").get_by_role("button", name="查询").click()
    page.wait_for_function(
        "n => [...document.querySelectorAll('#records-table tbody tr')].every(r => r.innerText.includes(n))",
        arg=number,
    )
    rows = page.locator("#records-table [data-testid=suitability-records] tbody tr")
    assert rows.count() == 2
    texts = rows.all_inner_texts()
    assert behind_pool.product_code in texts[0] and "已拒绝" in texts[0] and am_user.username in texts[0]
    assert rows.nth(0).locator("[data-result]").get_attribute("data-result") == "prohibited"
    assert code in texts[1] and am_user.username in texts[1]
    assert rows.nth(1).locator("[data-result]").get_attribute("data-result") == "mismatch_warn"
    assert "产品风险等级高于客户风险承受能力" in texts[1]
    # the sale's own record: the warning the customer confirmed and the inputs it was decided from
    rows.nth(1).locator("td").first.get_by_role("link").click()
    page.wait_for_url(f"{base}/suitability/records/{sold.pk}/")
    assert sold.risk_warning.text in page.locator("main").inner_text()
    inputs = page.locator("[data-testid=record-inputs]").inner_text()
    assert "C3" in inputs and expiry in inputs
    context.close()
