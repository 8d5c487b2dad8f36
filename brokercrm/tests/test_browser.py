"""In a real browser (Playwright driving Debian's Chromium, no browser download): a demo
account manager logs in, sees exactly their customers, opens one, and switches language.

Skipped when Chromium or Playwright is missing, unless ``BROKERCRM_REQUIRE_BROWSER=1`` (CI),
which turns the absence into a failure.
"""

import os
import shutil

import pytest

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str | None:
    return os.environ.get("BROKERCRM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    required = os.environ.get("BROKERCRM_REQUIRE_BROWSER") == "1"
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("BROKERCRM_REQUIRE_BROWSER=1 but playwright is not installed")
        pytest.skip("playwright is not installed")
    if executable is None:
        if required:
            pytest.fail("BROKERCRM_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    # Playwright's sync API runs an event loop in this thread; Django's ORM must be allowed here
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory):
    """A small simulated brokerage, computed once for the module."""
    from brokercrm.simulate import simulate

    data_dir = tmp_path_factory.mktemp("demo")
    simulate(out=data_dir / "demo-exports", customers=150, days=3, seed=5)
    return data_dir


@pytest.fixture
def demo(transactional_db, demo_warehouse):
    from brokercrm.demo import DEMO_PASSWORD, demo_load

    demo_load(data_dir=demo_warehouse)
    return DEMO_PASSWORD


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
    assert page.get_by_role("heading", name="Profile").is_visible()
    assert page.locator("nav.mainnav").inner_text().count("Customers") == 1
    context.close()
