"""In a real browser (Playwright driving Debian's Chromium, no browser download): a demo
account manager logs in, sees exactly their customers, opens one, and switches language.

Skipped when Chromium or Playwright is missing, unless ``BROKERCRM_REQUIRE_BROWSER=1`` (CI),
which turns the absence into a failure.
"""

import pytest

pytestmark = pytest.mark.browser


def test_account_manager_sees_only_their_customers_and_switches_language(browser, live_server, demo):
    from brokercrm.customers.models import Customer
    from brokercrm.org.models import Employee

    zhang = Employee.objects.get(user__username="am_0101_1_1")
    mine = set(Customer.objects.unscoped().filter(account_manager=zhang).values_list("customer_no", flat=True))
    assert mine, "the demo gives am_zhang customers"

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/customers/")
    assert "/accounts/login/" in page.url
    assert page.locator("h1").inner_text() == "登录"
    page.fill("input[name=username]", "am_0101_1_1")
    page.fill("input[name=password]", demo)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/customers/")  # back where the login was asked for
    shown: set[str] = set()
    while True:
        shown |= set(page.locator("[data-testid=customer-rows] tbody tr td:first-child a").all_inner_texts())
        following = page.locator("nav.pager a", has_text="下一页")
        if following.count() == 0:
            break
        following.first.click()
        page.wait_for_load_state("networkidle")
    assert shown == mine

    # search narrows the table in place (HTMX), still within scope
    number = sorted(mine)[0]
    page.fill("[data-testid=customer-search]", number)
    page.locator("[data-testid=customer-rows] tbody tr").first.wait_for()
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=customer-rows] tbody tr').length === n", arg=1
    )
    assert page.locator("[data-testid=customer-rows] tbody tr td:first-child").inner_text() == number

    # someone else's customer is not found
    other = Customer.objects.unscoped().exclude(account_manager=zhang).first()
    response = page.goto(f"{live_server.url}/customers/{other.customer_no}/")
    assert response.status == 404

    page.goto(f"{live_server.url}/customers/{number}/")
    assert page.locator("[data-testid=mobile]").inner_text().count("*") == 0  # account managers see PII
    # counter data: the indicator history is drawn by ECharts, holdings and flows are listed
    page.locator("[data-testid=indicator-chart] canvas").first.wait_for()
    assert page.locator("[data-testid=holdings] tbody tr").count() >= 1
    page.locator("nav.tabs a").nth(1).click()
    page.locator("[data-testid=flows-cash]").wait_for()
    page.click("[data-testid=lang-en]")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Profile", exact=True).is_visible()
    assert page.locator("nav.mainnav").inner_text().count("Customers") == 1
    context.close()
