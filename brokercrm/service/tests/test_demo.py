"""The demo's service activity: events recorded and handed out through the services, requests
and complaints in every status with the overdue ones escalated, calls that answered tasks; once."""

from __future__ import annotations

from datetime import date

import pytest

from brokercrm.org.models import AuditEvent
from brokercrm.service import selectors
from brokercrm.service.demo import service_demo_load
from brokercrm.service.models import EventImpact, MarketEvent, ServiceRequest, Task, Visit
from brokercrm.service.tests.factories import build_market

TODAY = date(2026, 4, 27)  # a Monday


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(selectors, "service_today", lambda: TODAY)
    return TODAY


def test_demo_service_activity_goes_through_the_services_and_loads_once(world, clock):
    build_market(world)
    made = service_demo_load(seed=3, requests=3, call_share=0.5)
    food, banks = MarketEvent.objects.order_by("id")
    assert (food.title, banks.title) == ("白酒消费税征收环节后移预期升温", "银行板块分红率提升")
    assert made.events == 2 and food.affected_customers > 0 and banks.affected_customers > 0
    # the first event is handed out: one task per affected customer who has an account manager
    served = EventImpact.objects.unscoped().filter(event=food, customer__account_manager__isnull=False).count()
    assert made.tasks == served == Task.objects.unscoped().filter(event=food).count() > 0
    assert not Task.objects.unscoped().filter(event=banks).exists()
    # calls answered half the tasks, each by the task's assignee, the task done
    visits = list(Visit.objects.unscoped().select_related("task__assignee__user", "author"))
    assert made.visits == len(visits) == served // 2
    assert all(v.task.status == "done" and v.author == v.task.assignee.user for v in visits)
    # requests by the customers' account managers; exactly those open past their deadline escalated
    items = list(ServiceRequest.objects.unscoped().select_related("customer__account_manager__user", "created_by"))
    assert made.requests == len(items) == 3
    assert all(r.created_by == r.customer.account_manager.user for r in items)
    late = {r.pk for r in items if r.status in ("new", "in_progress") and r.deadline < TODAY}
    assert {r.pk for r in items if r.escalated} == late and made.escalated == len(late) > 0
    assert AuditEvent.objects.filter(action="service_request_create").count() == 3
    # once
    assert service_demo_load(seed=4) == type(made)(0, 0, 0, 0, 0)
    assert MarketEvent.objects.count() == 2 and ServiceRequest.objects.unscoped().count() == 3
