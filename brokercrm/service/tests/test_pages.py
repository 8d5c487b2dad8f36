"""The service pages and API as their users see them: the researcher records an event and creates
the tasks, the account manager works them in place; scope, masking and audit on every page."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.urls import reverse

from brokercrm.org.models import AuditEvent
from brokercrm.service import selectors
from brokercrm.service.models import MarketEvent, Task
from brokercrm.service.tests.factories import build_market

EVENT_FORM = {
    "title": "白酒消费税调整",
    "securities": "SH600036，SZ000858",
    "industries": "",
    "direction": "negative",
    "impact": "4",
    "suggestion_c1_c2": "稳健为主",
    "suggestion_c3": "适度减仓",
    "suggestion_c4_c5": "关注机会",
    "suggestion_professional": "自行判断",
}


@pytest.fixture
def market(world, monkeypatch):
    build_market(world)
    monkeypatch.setattr(selectors, "service_today", lambda: date(2026, 4, 22))
    return world


def _create(world) -> MarketEvent:
    response = world.client("researcher").post(reverse("service:event_create"), EVENT_FORM)
    assert response.status_code == 302, response.content[:500]
    return MarketEvent.objects.get()


def test_researcher_records_an_event_and_creates_tasks_account_manager_sees_them(market):
    researcher = market.client("researcher")
    assert researcher.get(reverse("service:event_create")).status_code == 200
    event = _create(market)
    page = researcher.get(reverse("service:event", args=[event.pk])).content.decode()
    # the researcher sees the firm-wide figures, but no customer
    assert 'data-testid="event-affected">5<' in page and "10000001" not in page
    response = researcher.post(reverse("service:event_tasks", args=[event.pk]))
    assert response.status_code == 302 and Task.objects.unscoped().count() == 4
    # the account manager sees their own customer's task (high) and nobody else's
    workspace = market.client("am_a1").get(reverse("service:workspace")).content.decode()
    assert "10000001" in workspace and "10000002" not in workspace and "适度减仓" in workspace
    # the impact list, scoped to the viewer, audited
    impact = market.client("am_a1").get(reverse("service:event", args=[event.pk])).content.decode()
    assert 'data-customer="10000001"' in impact and 'data-customer="10000002"' not in impact
    assert AuditEvent.objects.filter(actor_username="am_a1", action="customer_list", detail__via="event_impact").exists()
    assert AuditEvent.objects.filter(actor_username="am_a1", action="customer_list", detail__via="service_workspace").exists()


def test_only_researchers_and_head_office_record_events(market):
    for name in ("am_a1", "bm_a", "compliance"):
        assert market.client(name).get(reverse("service:event_create")).status_code == 403, name
        assert market.client(name).post(reverse("service:event_create"), EVENT_FORM).status_code == 403, name
    assert market.client("hq_admin").get(reverse("service:event_create")).status_code == 200
    event = _create(market)
    assert market.client("bm_a").post(reverse("service:event_tasks", args=[event.pk])).status_code == 403
    assert market.client("am_a1").get(reverse("service:events")).status_code == 200
    assert market.client("researcher").get(reverse("service:workspace")).status_code == 403


def test_a_bad_code_is_shown_on_the_form(market):
    response = market.client("researcher").post(reverse("service:event_create"), EVENT_FORM | {"securities": "600036"})
    assert response.status_code == 200 and "SH600036" in response.content.decode()
    assert not MarketEvent.objects.exists()


def test_done_and_log_visit_in_place(market):
    event = _create(market)
    market.client("researcher").post(reverse("service:event_tasks", args=[event.pk]))
    task = Task.objects.unscoped().get(customer=market.customers["a1"])
    am = market.client("am_a1")
    form = am.get(reverse("service:task_visit", args=[task.pk]), HTTP_HX_REQUEST="true")
    assert 'data-testid="visit-form"' in form.content.decode()
    done = am.post(
        reverse("service:task_visit", args=[task.pk]),
        {"channel": "phone", "content": "已告知", "outcome": "reached", "next_follow_up": "2026-04-24"},
        HTTP_HX_REQUEST="true",
    )
    assert 'data-testid="task-closed"' in done.content.decode()
    follow_up = Task.objects.unscoped().get(kind="follow_up")
    assert follow_up.due_date == date(2026, 4, 24)
    # another account manager cannot touch it
    other = Task.objects.unscoped().get(customer=market.customers["a1b"])
    assert am.post(reverse("service:task_done", args=[other.pk])).status_code == 404
    assert market.client("am_a1b").post(reverse("service:task_done", args=[other.pk]), HTTP_HX_REQUEST="true").status_code == 200
    assert Task.objects.unscoped().get(pk=other.pk).status == "done"


def test_the_customer_page_has_the_service_section(market):
    page = market.client("am_a1b").get(reverse("customers:detail", args=["10000002"])).content.decode()
    # silver: 3 trading days
    assert 'id="service"' in page and 'data-testid="service-level"' in page and "3" in page


def test_the_api_creates_lists_and_dispatches(market):
    researcher = market.client("researcher")
    body = {"title": "T", "securities": ["SH600036", "SZ000858"], "direction": "negative", "impact": 4}
    created = researcher.post("/api/events", data=json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.content
    event_id = created.json()["id"]
    assert created.json()["affected_customers"] == 5
    impact = market.client("bm_a").get(f"/api/events/{event_id}/impact").json()
    assert [(i["rank"], i["customer_no"], i["exposure"], i["exposure_ratio"], i["priority"]) for i in impact["items"]] == [
        (1, "10000001", "82500.00", "0.3300", "high"),
        (2, "10000002", "15000.00", "0.1500", "medium"),
        (3, "10000003", "15000.00", "0.0150", "high"),
        (4, "10000004", "3000.00", "0.3000", "high"),
    ]
    assert researcher.post(f"/api/events/{event_id}/tasks").json() == {"created": 4}
    assert researcher.post(f"/api/events/{event_id}/tasks").json() == {"created": 0}
    tasks = market.client("am_b").get("/api/tasks").json()
    assert [t["customer_no"] for t in tasks["upcoming"]] == ["10000005"]
    bad = researcher.post("/api/events", data=json.dumps(body | {"impact": 9}), content_type="application/json")
    assert bad.status_code == 422
    assert market.client("am_a1").post("/api/events", data=json.dumps(body), content_type="application/json").status_code == 403
