"""Service requests and complaints (workflow, deadlines, history), the team view's numbers worked by
hand, reassigning tasks and customers with their history, an event's customers not contacted yet,
what changed since yesterday, the thresholds page — each in scope and audited."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from brokercrm.customers.models import Customer
from brokercrm.datacenter.models import IndicatorDaily
from brokercrm.org.models import AuditEvent
from brokercrm.segments.models import CustomerSegment, CustomerTag, TierChange
from brokercrm.service import desk, selectors, services, team
from brokercrm.service.changes import customer_changes
from brokercrm.service.models import ServiceRequest, ServiceRequestChange, Task, TaskAssignment
from brokercrm.service.services import event_create, task_complete, tasks_from_event, visit_log
from brokercrm.service.tests.factories import EVENT_SECURITIES, build_market

WED = date(2026, 4, 22)


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(selectors, "service_today", lambda: WED)
    return WED


# --- service requests and complaints ----------------------------------------------------------


def test_request_workflow_with_history_deadlines_by_kind_and_tier(world, clock):
    CustomerSegment.objects.create(
        customer=world.customers["a1b"], tier="silver", tier_since=WED, abcd_class="A", as_of=WED,
        contribution=D("0"), turnover=D("0"), net_commission_12m=D("0"),
    )  # fmt: skip
    am = world.user("am_a1")
    complaint = desk.request_create(actor=am, customer_no="10000001", kind="complaint", channel="phone", content="佣金扣错")
    # no tier (standard): a complaint is due in 2 trading days, a request in 5; silver request 3
    assert complaint.deadline == date(2026, 4, 24)
    assert desk.request_create(actor=am, customer_no="10000001", kind="request", channel="app", content="改手机号").deadline == date(2026, 4, 29)
    silver = desk.request_create(actor=world.user("am_a1b"), customer_no="10000002", kind="request", channel="branch", content="开通创业板")
    assert silver.deadline == date(2026, 4, 27) and silver.assignee.user.username == "am_a1b"
    with pytest.raises(ValidationError):  # new → closed skips the work
        desk.request_advance(actor=am, request_id=complaint.pk, status="closed")
    desk.request_advance(actor=am, request_id=complaint.pk, status="in_progress", note="核实中")
    with pytest.raises(ValidationError):  # resolving needs the resolution
        desk.request_advance(actor=am, request_id=complaint.pk, status="resolved")
    desk.request_advance(actor=am, request_id=complaint.pk, status="resolved", note="已退还多扣佣金 12.50 元")
    desk.request_advance(actor=am, request_id=complaint.pk, status="in_progress", note="客户不认可")  # reopened
    desk.request_advance(actor=am, request_id=complaint.pk, status="resolved", note="补充说明后客户认可")
    item = desk.request_advance(actor=am, request_id=complaint.pk, status="closed")
    assert (item.status, item.resolution) == ("closed", "补充说明后客户认可") and item.closed_at is not None
    history = [(c.from_status, c.to_status) for c in ServiceRequestChange.objects.unscoped().filter(request=complaint)]
    assert history == [
        ("", "new"), ("new", "in_progress"), ("in_progress", "resolved"), ("resolved", "in_progress"),
        ("in_progress", "resolved"), ("resolved", "closed"),
    ]  # fmt: skip
    assert AuditEvent.objects.filter(action="service_request_update", object_id=str(complaint.pk)).count() == 5
    assert AuditEvent.objects.filter(action="service_request_create").count() == 3


def test_requests_respect_scope(world, clock):
    item = desk.request_create(actor=world.user("am_a1"), customer_no="10000001", kind="request", channel="phone", content="x")
    with pytest.raises(Customer.DoesNotExist):
        desk.request_create(actor=world.user("am_b"), customer_no="10000001", kind="request", channel="phone", content="x")
    with pytest.raises(ServiceRequest.DoesNotExist):
        desk.request_advance(actor=world.user("am_b"), request_id=item.pk, status="in_progress")
    with pytest.raises(PermissionDenied):  # researchers do not serve customers
        desk.request_create(actor=world.user("researcher"), customer_no="10000001", kind="request", channel="phone", content="x")
    assert world.client("am_b").get(reverse("service:request", args=[item.pk])).status_code == 404
    assert [r.pk for r in desk.open_requests(actor=world.user("tl_a1"))] == [item.pk]
    assert desk.open_requests(actor=world.user("am_a1b")) == []


def test_overdue_requests_escalate_to_the_team_lead(world, clock):
    am = world.user("am_a1")
    # recorded Wednesday 22nd, no tier: a complaint is due Friday 24th, a request Wednesday 29th
    late = desk.request_create(actor=am, customer_no="10000001", kind="complaint", channel="phone", content="转账未到账")
    done = desk.request_create(actor=am, customer_no="10000001", kind="complaint", channel="phone", content="密码重置")
    desk.request_advance(actor=am, request_id=done.pk, status="resolved", note="已重置")
    later = desk.request_create(actor=am, customer_no="10000001", kind="request", channel="app", content="改地址")
    other = desk.request_create(actor=world.user("am_a2"), customer_no="10000003", kind="complaint", channel="phone", content="x")
    assert desk.requests_escalate(today=date(2026, 4, 24)) == 0  # due that day: not late yet
    # Monday 27th: both open complaints are late; the resolved one is not
    assert services.overdue_escalate(today=date(2026, 4, 27)) == (0, 2)
    assert desk.requests_escalate(today=date(2026, 4, 27)) == 0  # once
    assert [r.pk for r in desk.escalated_requests(actor=world.user("tl_a1"))] == [late.pk]  # 10000003 is team A2's
    assert [r.pk for r in desk.escalated_requests(actor=world.user("bm_a"))] == [late.pk, other.pk]
    assert desk.escalated_requests(actor=world.user("am_b")) == []
    page = world.client("tl_a1").get(reverse("service:escalated")).content.decode()
    assert "转账未到账" in page and "10000003" not in page and "改地址" not in page
    assert AuditEvent.objects.filter(action="customer_list", detail__via="service_escalated").exists()
    # resolving it takes it off the list; the mark stays (it was late)
    desk.request_advance(actor=am, request_id=late.pk, status="resolved", note="已到账")
    assert desk.escalated_requests(actor=world.user("tl_a1")) == []
    late.refresh_from_db()
    assert late.escalated and late.escalated_at is not None
    assert desk.requests_escalate(today=date(2026, 4, 30)) == 1  # the request, due the 29th
    assert ServiceRequest.objects.unscoped().get(pk=later.pk).escalated


def test_requests_through_the_pages_and_the_api(world, clock):
    am = world.client("am_a1")
    response = am.post(
        reverse("service:customer_request", args=["10000001"]), {"kind": "complaint", "channel": "wechat", "content": "APP 无法登录"}
    )
    assert response.status_code == 302
    item = ServiceRequest.objects.unscoped().get()
    page = am.get(reverse("service:request", args=[item.pk])).content.decode()
    assert "APP 无法登录" in page and 'data-testid="request-advance"' in page
    assert am.post(reverse("service:request", args=[item.pk]), {"status": "in_progress", "note": ""}).status_code == 302
    assert "10000001" in am.get(reverse("service:requests")).content.decode()
    assert "APP 无法登录" in am.get(reverse("customers:detail", args=["10000001"])).content.decode()
    assert 'data-testid="open-requests"' in am.get(reverse("service:workspace")).content.decode()
    api = am.post(
        "/api/customers/10000001/requests",
        data=json.dumps({"kind": "request", "channel": "app", "content": "打印对账单"}),
        content_type="application/json",
    )
    assert api.status_code == 201 and api.json()["deadline"] == "2026-04-29"
    moved = am.post(
        f"/api/requests/{api.json()['id']}/status", data=json.dumps({"status": "resolved", "note": "已邮寄"}), content_type="application/json"
    )
    assert moved.json()["status"] == "resolved"
    bad = am.post(f"/api/requests/{api.json()['id']}/status", data=json.dumps({"status": "new"}), content_type="application/json")
    assert bad.status_code == 422
    assert [r["kind"] for r in am.get("/api/customers/10000001/requests").json()] == ["request", "complaint"]
    assert world.client("am_b").get("/api/customers/10000001/requests").status_code == 404


# --- the team view ----------------------------------------------------------------------------


@pytest.fixture
def team_tasks(world):
    """Relative to the real today T (``done`` counts the last 30 days by the clock):

    | task | customer | assignee | status | due | escalated |
    | --- | --- | --- | --- | --- | --- |
    | t1 | a1 | am_a1 | open | T−1 | yes |
    | t2 | a1 | am_a1 | open | T+2 | |
    | t3 | a1 | am_a1 | done now | T (on time) | |
    | t4 | a1 | am_a1 | done now | T−3 (late) | |
    | t5 | a1b | am_a1b | open | T−5 | yes |
    | t6 | a2 | am_a2 | open | T−1 | |
    | t7 | a_unassigned | nobody | open | T−2 | |
    | t8 | b | am_b | open | T−1 | |

    and a complaint of a1 for am_a1, deadline T−1, in progress.
    """
    today = timezone.localdate()
    e, c = world.employees, world.customers
    spec = {
        "t1": ("a1", "am_a1", "open", -1, True), "t2": ("a1", "am_a1", "open", 2, False),
        "t3": ("a1", "am_a1", "done", 0, False), "t4": ("a1", "am_a1", "done", -3, False),
        "t5": ("a1b", "am_a1b", "open", -5, True), "t6": ("a2", "am_a2", "open", -1, False),
        "t7": ("a_unassigned", None, "open", -2, False), "t8": ("b", "am_b", "open", -1, False),
    }  # fmt: skip
    tasks = {}
    for name, (customer, assignee, status, due, escalated) in spec.items():
        tasks[name] = Task.objects.unscoped().create(
            customer=c[customer], assignee=e[assignee] if assignee else None, kind="follow_up", title=name,
            due_date=today + timedelta(days=due), status=status, escalated=escalated,
            done_at=timezone.now() if status == "done" else None,
        )  # fmt: skip
    ServiceRequest.objects.unscoped().create(
        customer=c["a1"], kind="complaint", channel="phone", content="x", status="in_progress", assignee=e["am_a1"],
        deadline=today - timedelta(days=1), created_by=world.user("am_a1"),
    )  # fmt: skip
    return tasks


def _figures(world, name):
    rows = team.team_figures(actor=world.user(name), today=timezone.localdate())
    return {
        (p.employee.user.username if p.employee else "-"): (p.open, p.overdue, p.escalated, p.done, p.done_on_time, p.requests_open, p.requests_overdue)
        for p in rows
    }


def test_team_numbers_per_person_by_hand(world, team_tasks):
    assert _figures(world, "tl_a1") == {
        "tl_a1": (0, 0, 0, 0, 0, 0, 0),
        "am_a1": (2, 1, 1, 2, 1, 1, 1),
        "am_a1b": (1, 1, 1, 0, 0, 0, 0),
    }
    assert _figures(world, "bm_a") == {
        "bm_a": (0, 0, 0, 0, 0, 0, 0),
        "tl_a1": (0, 0, 0, 0, 0, 0, 0),
        "am_a1": (2, 1, 1, 2, 1, 1, 1),
        "am_a1b": (1, 1, 1, 0, 0, 0, 0),
        "am_a2": (1, 1, 0, 0, 0, 0, 0),
        "-": (1, 1, 0, 0, 0, 0, 0),  # 10000004, served by nobody
    }
    assert _figures(world, "am_a1") == {}  # account managers have their own day, not the team's


def test_the_team_page_shows_the_overdue_tasks_in_scope_and_is_audited(world, team_tasks):
    page = world.client("tl_a1").get(reverse("service:team"))
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-task="{team_tasks["t1"].pk}"' in html and f'data-task="{team_tasks["t5"].pk}"' in html
    assert f'data-task="{team_tasks["t6"].pk}"' not in html and f'data-task="{team_tasks["t2"].pk}"' not in html
    assert AuditEvent.objects.filter(actor_username="tl_a1", action="customer_list", detail__via="service_team").exists()
    for name in ("am_a1", "researcher", "compliance"):
        assert world.client(name).get(reverse("service:team")).status_code == 403, name
    assert world.client("am_a1").get("/api/team").status_code == 403
    assert {p["username"]: p["overdue"] for p in world.client("tl_a1").get("/api/team").json()} == {"tl_a1": 0, "am_a1": 1, "am_a1b": 1}


def test_reassigning_a_task_keeps_the_history_and_stays_in_scope(world, team_tasks):
    tl, t1 = world.user("tl_a1"), team_tasks["t1"]
    with pytest.raises(PermissionDenied):
        team.task_reassign(actor=world.user("am_a1"), task_id=t1.pk, to=world.employees["am_a1b"])
    with pytest.raises(ValidationError):  # am_a1b does not serve 10000001 and cannot see it
        team.task_reassign(actor=tl, task_id=t1.pk, to=world.employees["am_a1b"])
    with pytest.raises(Task.DoesNotExist):  # 10000003 is team A2's
        team.task_reassign(actor=tl, task_id=team_tasks["t6"].pk, to=world.employees["tl_a1"])
    assert [e.user.username for e in team.reassign_choices(actor=tl, task=t1)] == ["tl_a1"]
    team.task_reassign(actor=tl, task_id=t1.pk, to=world.employees["tl_a1"], reason="我来跟进")
    # the team lead took it over: a publication does not give it back
    assert team.tasks_follow_customers() == 0
    response = world.client("tl_a1").post(
        reverse("service:task_reassign", args=[t1.pk]), {"to": world.employees["am_a1"].pk, "reason": "交回"}
    )
    assert response.status_code == 302
    history = [(h.from_employee.user.username, h.to_employee.user.username, h.reason) for h in TaskAssignment.objects.unscoped().filter(task=t1)]
    assert history == [("am_a1", "tl_a1", "我来跟进"), ("tl_a1", "am_a1", "交回")]
    assert AuditEvent.objects.filter(action="task_reassign", object_id=str(t1.pk)).count() == 2
    page = world.client("tl_a1").get(reverse("service:task_reassign", args=[t1.pk])).content.decode()
    assert "我来跟进" in page and "交回" in page
    assert world.client("tl_a1").get(reverse("service:task_reassign", args=[team_tasks["t6"].pk])).status_code == 404


def test_reassigning_a_customer_moves_their_open_tasks_and_requests(world, team_tasks):
    with pytest.raises(ValidationError):  # a team lead moves customers within the team only
        team.customer_hand_over(actor=world.user("tl_a1"), customer_no="10000001", account_manager=world.employees["am_a2"])
    with pytest.raises(PermissionDenied):  # an account manager does not assign customers (org.policy)
        team.customer_hand_over(actor=world.user("am_a1"), customer_no="10000001", account_manager=world.employees["am_a1b"])
    response = world.client("bm_a").post(
        reverse("service:customer_hand_over", args=["10000001"]), {"account_manager": world.employees["am_a1b"].pk, "reason": "调岗"}
    )
    assert response.status_code == 302
    moved = {t.title: t.assignee.user.username for t in Task.objects.unscoped().filter(customer=world.customers["a1"])}
    assert moved == {"t1": "am_a1b", "t2": "am_a1b", "t3": "am_a1", "t4": "am_a1"}  # done tasks stay with who did them
    assert ServiceRequest.objects.unscoped().get().assignee.user.username == "am_a1b"
    assert TaskAssignment.objects.unscoped().filter(to_employee=world.employees["am_a1b"]).count() == 2
    assert AuditEvent.objects.filter(action="customer_assign", object_id="10000001").exists()
    # the new manager's day shows them; the previous one's no longer
    assert "t1" in world.client("am_a1b").get(reverse("service:workspace")).content.decode()
    assert world.client("am_b").get(reverse("service:customer_hand_over", args=["10000001"])).status_code == 404


def test_a_team_lead_reassigning_on_the_customer_page_moves_the_open_tasks_at_once(world, team_tasks):
    response = world.client("tl_a1").post(
        reverse("customers:assign", args=["10000001"]), {"account_manager": "am_a1b", "reason": "休假"}
    )
    assert response.status_code == 302
    moved = {t.title: t.assignee.user.username for t in Task.objects.unscoped().filter(customer=world.customers["a1"])}
    assert moved == {"t1": "am_a1b", "t2": "am_a1b", "t3": "am_a1", "t4": "am_a1"}
    history = TaskAssignment.objects.unscoped().filter(task__customer=world.customers["a1"])
    assert {(h.from_employee.user.username, h.to_employee.user.username, h.by.username) for h in history} == {("am_a1", "am_a1b", "tl_a1")}
    assert "t1" in world.client("am_a1b").get(reverse("service:workspace")).content.decode()
    assert "t1" not in world.client("am_a1").get(reverse("service:workspace")).content.decode()
    # the team lead's page offers the team's account managers only
    page = world.client("tl_a1").get(reverse("customers:detail", args=["10000002"])).content.decode()
    assert 'value="am_a1"' in page and 'value="am_a2"' not in page


# --- an event's customers not contacted yet -----------------------------------------------------


def test_customers_of_an_event_not_yet_contacted(world, clock):
    build_market(world)
    event = event_create(actor=world.user("researcher"), title="T", securities=EVENT_SECURITIES, direction="negative", impact=3)
    tasks_from_event(actor=world.user("researcher"), event_id=event.pk, today=WED)
    a1_task = Task.objects.unscoped().get(event=event, customer=world.customers["a1"])
    visit_log(actor=world.user("am_a1"), customer_no="10000001", channel="phone", content="已告知", outcome="reached")
    task_complete(actor=world.user("am_a1b"), task_id=Task.objects.unscoped().get(event=event, customer=world.customers["a1b"]).pk)
    seen = lambda name: [i.customer.customer_no for i in team.event_uncontacted(actor=world.user(name), event_id=event.pk)]  # noqa: E731
    # a1 was called (a visit without answering the task still counts); a1b's task is done
    assert seen("bm_a") == ["10000003", "10000004"]
    assert seen("tl_a1") == []
    assert seen("am_a2") == ["10000003"]
    assert a1_task.status == "open"
    page = world.client("bm_a").get(reverse("service:event_uncontacted", args=[event.pk])).content.decode()
    assert 'data-customer="10000004"' in page and 'data-customer="10000001"' not in page
    assert AuditEvent.objects.filter(actor_username="bm_a", action="customer_list", detail__via="event_uncontacted").exists()
    assert world.client("researcher").get(reverse("service:event_uncontacted", args=[event.pk])).status_code == 403


# --- what changed since yesterday ---------------------------------------------------------------


def _indicators(customer, day, assets, bank_in="0", bank_out="0"):
    zero = {name: D("0") for name in (
        "cash_balance", "securities_in_value", "securities_out_value", "stock_value", "fund_value", "bond_value", "debt",
        "net_assets", "realized_pnl", "interest_base", "trade_amount", "commission", "net_commission", "frozen_balance", "avg_assets_20d",
    )}  # fmt: skip
    IndicatorDaily.objects.unscoped().create(
        customer=customer, trade_date=day, total_assets=D(assets), bank_in=D(bank_in), bank_out=D(bank_out), trade_count=0, **zero
    )


def test_my_customers_by_what_changed_since_the_day_before(world):
    """21 → 22 April:

    | customer | assets | flows on the 22nd | tags since the 22nd | tier | shown |
    | --- | --- | --- | --- | --- | --- |
    | a1 | 100,000 → 150,000 (+50,000) | — | — | — | 3rd (largest change, nothing flagged) |
    | a1b | 200,000 → 199,000 (−1,000) | bank out 60,000 (big: ≥ 50,000) | — | — | 1st |
    | a2 | 500,000 → 500,000 | — | high_value since the 22nd | silver → gold on the 22nd | 2nd |
    | b | 10,000 → 10,000 | — | one since the 21st | — | not shown (nothing changed) |
    """
    c = world.customers
    prev, day = date(2026, 4, 21), WED
    for key, before, after, out in (("a1", "100000", "150000", "0"), ("a1b", "200000", "199000", "60000"),
                                    ("a2", "500000", "500000", "0"), ("b", "10000", "10000", "0")):  # fmt: skip
        _indicators(c[key], prev, before)
        _indicators(c[key], day, after, bank_out=out)
    CustomerTag.objects.create(customer=c["a2"], tag_code="high_value", as_of=day)
    CustomerTag.objects.create(customer=c["b"], tag_code="old_tag", as_of=prev)
    TierChange.objects.create(customer=c["a2"], date=day, old="silver", new="gold", reason="upgrade")
    changes = customer_changes(actor=world.user("bm_a"))
    assert (changes.day, changes.previous) == (day, prev)
    assert [(r.customer_no, r.assets_change, r.big_flow, r.new_tags, r.tier_change) for r in changes.rows] == [
        ("10000002", D("-1000.00"), True, [], None),
        ("10000003", D("0.00"), False, ["high_value"], ("silver", "gold")),
        ("10000001", D("50000.00"), False, [], None),
    ]
    assert [r.customer_no for r in customer_changes(actor=world.user("am_a1")).rows] == ["10000001"]
    assert customer_changes(actor=world.user("am_b")).rows == []
    page = world.client("tl_a1").get(reverse("service:workspace")).content.decode()
    assert 'data-testid="customer-changes"' in page and 'data-customer="10000002"' in page and 'data-customer="10000003"' not in page


# --- head office's thresholds page ------------------------------------------------------------


def test_the_thresholds_page(world):
    form = {
        "large_withdrawal_amount": "300000", "net_outflow_ratio": "0.25", "net_outflow_days": "5",
        "margin_warning_ratio": "1.50", "margin_call_ratio": "1.30", "assessment_expiring_days": "30",
        "dormant_days": "120", "birthday_days_ahead": "7", "big_flow_amount": "50000", "note": "2026 年调整",
    }  # fmt: skip
    assert world.client("am_a1").get(reverse("service:policy")).status_code == 200
    assert world.client("bm_a").post(reverse("service:policy"), form).status_code == 403
    assert world.client("researcher").get(reverse("service:policy")).status_code == 403
    assert world.client("hq_admin").post(reverse("service:policy"), form).status_code == 302
    from brokercrm.service.rules import data_rule_thresholds

    t = data_rule_thresholds()
    assert (t["large_withdrawal_amount"], t["dormant_days"]) == (D("300000.00"), 120)
    assert AuditEvent.objects.filter(action="service_policy_update").exists()
    bad = world.client("hq_admin").post(reverse("service:policy"), form | {"margin_call_ratio": "1.60"})
    assert bad.status_code == 200 and data_rule_thresholds()["margin_call_ratio"] == D("1.30")
