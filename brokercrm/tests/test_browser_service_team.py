"""In a real browser (Playwright driving Debian's Chromium): a publication's data raises a margin call
for an account manager's customer; nobody acts on it; two trading days later it is overdue and
escalated, and the team lead sees it in the team view, takes it over and sees the history.

The clock of the service pages is moved by replacing ``service.selectors.service_today`` (the live
server runs in this process).
"""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = pytest.mark.browser

DAY = date(2026, 4, 22)  # Wednesday: the published day; a diamond customer's task is due Thursday
LATER = date(2026, 4, 27)  # the Monday after


def _login(page, base: str, username: str, password: str, then: str) -> None:
    page.goto(f"{base}{then}")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}{then}")


def test_a_team_lead_sees_the_overdue_task_and_takes_it_over(browser, live_server, transactional_db, tmp_path, monkeypatch):
    from brokercrm.service import selectors
    from brokercrm.service.data_events import data_events_raise
    from brokercrm.service.models import Task, TaskAssignment
    from brokercrm.service.services import tasks_escalate
    from brokercrm.service.tests.snapshots import write_snapshots
    from brokercrm.testing import PASSWORD, build_world

    world = build_world()
    today = {"day": DAY}
    monkeypatch.setattr(selectors, "service_today", lambda: today["day"])
    # 10000001 (am_a1, team A1): credit account at 125 % — a margin call
    write_snapshots(
        tmp_path,
        days=[DAY],
        accounts={DAY: [{"fund_account": "K1", "customer_no": "10000001", "account_type": "credit", "total_assets": "125000.00", "debt": "100000.00"}]},
    )
    assert data_events_raise(data_dir=tmp_path, day=DAY).raised == {"margin_call": 1}
    task = Task.objects.unscoped().get()
    assert task.due_date == date(2026, 4, 29)  # standard: 5 trading days
    today["day"] = LATER
    Task.objects.unscoped().filter(pk=task.pk).update(due_date=date(2026, 4, 24))  # as if the customer were gold
    assert tasks_escalate(today=LATER) == 1

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    _login(page, live_server.url, "tl_a1", PASSWORD, "/service/team/")
    row = page.locator(f"[data-testid=team-overdue] tr[data-task='{task.pk}']")
    row.wait_for()
    assert "10000001" in row.inner_text() and "K1" in row.inner_text()
    person = page.locator("[data-testid=team-figures] tr[data-person=am_a1]")
    assert person.locator("[data-col=overdue]").inner_text() == "1"
    assert person.locator("[data-col=escalated]").inner_text() == "1"
    # the team lead takes it over
    row.locator("[data-testid=task-reassign]").click()
    form = page.locator("[data-testid=reassign-form]")
    form.wait_for()
    form.locator("select[name=to]").select_option(str(world.employees["tl_a1"].pk))
    form.locator("input[name=reason]").fill("客户经理休假，我来跟进")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/service/team/")
    assert page.locator("[data-testid=team-figures] tr[data-person=tl_a1] [data-col=overdue]").inner_text() == "1"
    assert TaskAssignment.objects.unscoped().get(task=task).to_employee == world.employees["tl_a1"]
    page.goto(f"{live_server.url}/service/tasks/{task.pk}/reassign")
    assert "客户经理休假" in page.locator("[data-testid=task-history]").inner_text()
    context.close()

    # an account manager of another team sees none of it
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    _login(page, live_server.url, "am_b", PASSWORD, "/service/")
    assert "10000001" not in page.content()
    page.goto(f"{live_server.url}/service/team/")
    assert "10000001" not in page.content()
    context.close()
