"""In a real browser (Playwright driving Debian's Chromium): a researcher records a market event on
the securities an account manager's customers hold and turns the list into tasks; the account
manager sees their tasks in priority order, logs a call with a follow-up date, and the follow-up
appears in "today" on that date.

The clock of the service pages is moved by replacing ``service.selectors.service_today`` (the live
server runs in this process); deadlines are set to 0 trading days so every task is due "today".
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

pytestmark = pytest.mark.browser

RAISED = date(2026, 4, 22)  # a Wednesday
FOLLOW_UP = date(2026, 4, 24)  # the Friday after
PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


def _login(page, base: str, username: str, password: str, then: str) -> None:
    page.goto(f"{base}{then}")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}{then}")


def _securities_of(username: str) -> list[str]:
    """The two securities most held by the account manager's customers (from the published holdings)."""
    from brokercrm.datacenter.models import Holding

    held = Counter(
        f"{h.exchange}{h.security_code}"
        for h in Holding.objects.unscoped().filter(customer__account_manager__user__username=username).only("exchange", "security_code")
    )
    assert held, f"{username}'s customers hold nothing in the demo"
    return [code for code, _n in held.most_common(2)]


def test_event_to_tasks_to_a_logged_call_and_its_follow_up(browser, live_server, demo, demo_warehouse, settings, monkeypatch):
    from brokercrm.service import selectors
    from brokercrm.service.models import MarketEvent, Task, Visit

    settings.DATA_DIR = demo_warehouse  # the impact list is computed from the published warehouse version

    today = {"day": RAISED}
    monkeypatch.setattr(selectors, "service_today", lambda: today["day"])
    settings.SERVICE_DEADLINE_DAYS = {"diamond": 0, "gold": 0, "silver": 0, "standard": 0}
    base = live_server.url
    am = "am_0101_1_1"
    securities = _securities_of(am)

    # --- the researcher records the event and creates the tasks ------------------------------
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    _login(page, base, "researcher", demo, "/service/events/new")
    form = page.locator("[data-testid=event-form]")
    form.locator("input[name=title]").fill("行业政策调整")
    form.locator("input[name=securities]").fill(",".join(securities))
    form.locator("select[name=direction]").select_option("negative")
    form.locator("select[name=impact]").select_option("4")
    form.locator("textarea[name=suggestion_c1_c2]").fill("提示风险，建议降低仓位")
    form.locator("textarea[name=suggestion_c3]").fill("关注波动，适度调整")
    form.locator("textarea[name=suggestion_c4_c5]").fill("关注超跌机会")
    form.locator("textarea[name=suggestion_professional]").fill("供参考")
    page.locator("[data-testid=event-submit]").click()
    page.wait_for_selector("[data-testid=event-title]")
    event = MarketEvent.objects.get()
    assert page.url == f"{base}/service/events/{event.pk}/"
    assert int(page.locator("[data-testid=event-affected]").inner_text()) == event.affected_customers > 0
    # researchers do not see customer records: the list is empty for them
    assert page.locator("[data-testid=impact] tbody tr[data-customer]").count() == 0
    page.locator("[data-testid=event-create-tasks]").click()
    page.wait_for_selector("ul.messages li")
    mine = Task.objects.unscoped().filter(event=event, assignee__user__username=am)
    assert mine.exists()
    context.close()

    # --- the account manager's day: the tasks by priority --------------------------------------
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    _login(page, base, am, demo, "/service/")
    cards = page.locator("[data-testid=tasks-today] [data-testid=task]")
    assert cards.count() == mine.count()
    priorities = [cards.nth(i).get_attribute("data-priority") for i in range(cards.count())]
    assert [PRIORITY_RANK[p] for p in priorities] == sorted(PRIORITY_RANK[p] for p in priorities)
    assert sorted(priorities) == sorted(t.priority for t in mine)

    # --- a call logged in place, with a follow-up date -----------------------------------------
    first = cards.first
    task_id = int(first.get_attribute("data-task"))
    customer_no = first.get_attribute("data-customer")
    first.locator("[data-testid=task-log-visit]").click()
    visit = page.locator(f"#task-{task_id} [data-testid=visit-form]")
    visit.wait_for()
    visit.locator("select[name=channel]").select_option("phone")
    visit.locator("textarea[name=content]").fill("已电话告知政策影响，客户表示将考虑减仓")
    visit.locator("select[name=outcome]").select_option("call_back")
    visit.locator("input[name=next_follow_up]").fill(FOLLOW_UP.isoformat())
    visit.locator("[data-testid=visit-submit]").click()
    page.locator(f"#task-{task_id} [data-testid=task-closed]").wait_for()
    logged = Visit.objects.unscoped().get(task_id=task_id)
    assert (logged.channel, logged.outcome, logged.next_follow_up) == ("phone", "call_back", FOLLOW_UP)
    assert logged.interaction.kind == "call"

    # the follow-up is not today's on the day of the call …
    page.reload()
    assert page.locator(f"[data-testid=tasks-today] [data-kind=follow_up][data-customer='{customer_no}']").count() == 0
    # … and it is on the follow-up date
    today["day"] = FOLLOW_UP
    page.reload()
    follow_up = page.locator(f"[data-testid=tasks-today] [data-kind=follow_up][data-customer='{customer_no}']")
    assert follow_up.count() == 1
    # the call is on the customer's timeline
    page.goto(f"{base}/customers/{customer_no}/")
    assert "已电话告知政策影响" in page.locator("[data-testid=timeline]").inner_text()
    context.close()
