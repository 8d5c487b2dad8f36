"""Tasks from an event, deadlines by tier in trading days, visits and their follow-ups, escalation,
and the workspace's order — worked by hand on the market of ``factories``."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from brokercrm.customers.models import Interaction
from brokercrm.service import rules, selectors
from brokercrm.service.models import Task, Visit
from brokercrm.service.services import event_create, task_complete, task_raise, tasks_escalate, tasks_from_event, visit_log
from brokercrm.service.tests.factories import EVENT_SECURITIES, build_market

WED = date(2026, 4, 22)


@pytest.fixture
def event(world):
    build_market(world)
    return event_create(
        actor=world.user("researcher"), title="白酒消费税", securities=EVENT_SECURITIES, direction="negative", impact=4,
        suggestions={"c3": "适度减仓"},
    )  # fmt: skip


def test_deadlines_count_trading_days_by_tier():
    # Wednesday 2026-04-22: Thu 23, Fri 24, (weekend), Mon 27, Tue 28, Wed 29
    assert rules.deadline(tier="diamond", raised_on=WED) == date(2026, 4, 23)
    assert rules.deadline(tier="gold", raised_on=WED) == date(2026, 4, 24)
    assert rules.deadline(tier="silver", raised_on=WED) == date(2026, 4, 27)
    assert rules.deadline(tier="standard", raised_on=WED) == date(2026, 4, 29)
    assert rules.deadline(tier="", raised_on=WED) == date(2026, 4, 29)  # no tier: standard
    # Thursday 2026-04-30: 1–5 May is the Labour Day closure
    assert rules.deadline(tier="diamond", raised_on=date(2026, 4, 30)) == date(2026, 5, 6)


def test_deadlines_are_configurable(settings):
    settings.SERVICE_DEADLINE_DAYS = {"diamond": 0, "gold": 1, "silver": 1, "standard": 2}
    assert rules.deadline(tier="diamond", raised_on=WED) == WED
    assert rules.deadline(tier="standard", raised_on=WED) == date(2026, 4, 24)


def test_one_click_one_task_per_customer_with_a_manager_never_twice(world, event):
    created = tasks_from_event(actor=world.user("researcher"), event_id=event.pk, today=WED)
    # five affected customers, one (10000004) served by nobody
    assert created == 4
    tasks = {t.customer.customer_no: t for t in Task.objects.unscoped().select_related("customer", "assignee__user")}
    assert {n: (t.assignee.user.username, t.priority, t.due_date) for n, t in tasks.items()} == {
        "10000001": ("am_a1", "high", date(2026, 4, 29)),  # no tier: standard, 5 trading days
        "10000002": ("am_a1b", "medium", date(2026, 4, 27)),  # silver: 3
        "10000003": ("am_a2", "high", date(2026, 4, 24)),  # gold: 2
        "10000005": ("am_b", "low", date(2026, 4, 29)),  # standard: 5
    }
    assert tasks["10000001"].suggestion == "适度减仓" and tasks["10000001"].kind == "event"
    # a second click (or a second dispatcher) creates nothing
    assert tasks_from_event(actor=world.user("hq_admin"), event_id=event.pk, today=WED) == 0
    # even once a task is done
    task_complete(actor=world.user("am_a1"), task_id=tasks["10000001"].pk)
    assert tasks_from_event(actor=world.user("researcher"), event_id=event.pk, today=WED) == 0
    assert Task.objects.unscoped().count() == 4


def test_the_workspace_lists_overdue_and_today_high_priority_first(world, event):
    tasks_from_event(actor=world.user("researcher"), event_id=event.pk, today=WED)
    extra = task_raise(customer_id=world.customers["a1"].pk, kind="large_withdrawal", title="大额转出", dedup_key="2026-04-28",
                       priority="low", due_date=date(2026, 4, 29))  # fmt: skip
    assert extra is not None
    # the same condition again while the task is open: nothing new
    assert task_raise(customer_id=world.customers["a1"].pk, kind="large_withdrawal", title="大额转出", dedup_key="2026-04-28") is None
    w = selectors.task_workspace(actor=world.user("am_a1"), today=date(2026, 4, 29))
    assert [(t.kind, t.priority) for t in w.due_today] == [("event", "high"), ("large_withdrawal", "low")]
    assert w.overdue == []
    w = selectors.task_workspace(actor=world.user("tl_a1"), today=date(2026, 4, 30))
    # the team lead sees the team's customers' tasks: 10000001's two and 10000002's (all overdue)
    assert [(t.customer.customer_no, t.priority) for t in w.overdue] == [
        ("10000001", "high"), ("10000002", "medium"), ("10000001", "low"),
    ]  # fmt: skip


def test_a_visit_goes_on_the_timeline_completes_the_task_and_schedules_the_follow_up(world, event, monkeypatch):
    tasks_from_event(actor=world.user("researcher"), event_id=event.pk, today=WED)
    task = Task.objects.unscoped().get(customer=world.customers["a1"])
    am = world.user("am_a1")
    monkeypatch.setattr(selectors, "service_today", lambda: date(2026, 4, 23))
    visit = visit_log(
        actor=am, customer_no="10000001", channel="phone", content="已电话告知风险，客户考虑减仓", outcome="call_back",
        next_follow_up=date(2026, 4, 27), task_id=task.pk,
    )  # fmt: skip
    task.refresh_from_db()
    assert task.status == "done"
    interaction = Interaction.objects.unscoped().get(pk=visit.interaction_id)
    assert interaction.kind == "call" and interaction.content == "已电话告知风险，客户考虑减仓"
    follow_up = visit.follow_up_task
    assert (follow_up.kind, follow_up.due_date, follow_up.assignee.user.username) == ("follow_up", date(2026, 4, 27), "am_a1")
    # not today's yet on Thursday …
    assert follow_up not in selectors.task_workspace(actor=am, today=date(2026, 4, 23)).due_today
    # … today's on Monday 27th
    assert [t.pk for t in selectors.task_workspace(actor=am, today=date(2026, 4, 27)).due_today] == [follow_up.pk]
    # a follow-up date in the past is refused, and nothing is written
    with pytest.raises(ValidationError):
        visit_log(actor=am, customer_no="10000001", channel="sms", content="x", outcome="reached", next_follow_up=date(2026, 4, 22))
    assert Visit.objects.unscoped().count() == 1


def test_visits_and_tasks_respect_scope(world, event):
    tasks_from_event(actor=world.user("researcher"), event_id=event.pk, today=WED)
    task = Task.objects.unscoped().get(customer=world.customers["a1"])
    with pytest.raises(Task.DoesNotExist):
        task_complete(actor=world.user("am_b"), task_id=task.pk)
    with pytest.raises(Task.DoesNotExist):
        visit_log(actor=world.user("am_b"), customer_no="10000005", channel="phone", content="x", outcome="reached", task_id=task.pk)
    # a task of another customer cannot be answered by a visit to this one
    with pytest.raises(ValidationError):
        visit_log(actor=world.user("bm_a"), customer_no="10000002", channel="phone", content="x", outcome="reached", task_id=task.pk)


def test_overdue_tasks_escalate_to_the_team_lead(world, event):
    tasks_from_event(actor=world.user("researcher"), event_id=event.pk, today=WED)
    # on Monday 27th the gold task (due Friday 24th) is overdue
    assert tasks_escalate(today=date(2026, 4, 27)) == 1
    assert tasks_escalate(today=date(2026, 4, 27)) == 0  # once
    assert [t.customer.customer_no for t in selectors.escalated_tasks(actor=world.user("bm_a"))] == ["10000003"]
    assert list(selectors.escalated_tasks(actor=world.user("tl_a1"))) == []  # 10000003 is team A2's
    assert tasks_escalate(today=date(2026, 4, 30)) == 3
    # oldest due first: 10000002's silver task (27th), then 10000001's (29th)
    assert [t.customer.customer_no for t in selectors.escalated_tasks(actor=world.user("tl_a1"))] == ["10000002", "10000001"]
    page = world.client("tl_a1").get(reverse("service:escalated")).content.decode()
    assert "10000001" in page and "10000003" not in page
