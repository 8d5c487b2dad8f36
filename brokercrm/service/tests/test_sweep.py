"""Every service page and API endpoint that takes a customer number, swept with three kinds of user."""

from datetime import date

import pytest
from django.urls import reverse

from brokercrm.service.models import Task
from brokercrm.testing import CustomerEndpointSweep, Endpoint, build_world


def _visit_form(world, key):
    return {"channel": "phone", "content": "电话回访", "outcome": "reached", "next_follow_up": ""}


def _visit_json(world, key):
    return {"channel": "wechat", "content": "微信告知", "outcome": "reached"}


def _request_form(world, key):
    return {"kind": "complaint", "channel": "phone", "content": "电话投诉"}


class TestServiceEndpoints(CustomerEndpointSweep):
    @pytest.fixture
    def world(self, db):
        world = build_world()
        Task.objects.unscoped().create(
            customer=world.customers["a1"], assignee=world.employees["am_a1"], kind="follow_up", title="回访",
            due_date=date(2026, 4, 27),
        )  # fmt: skip
        return world

    endpoints = (
        Endpoint("page: log visit", "POST", lambda no: reverse("service:customer_visit", args=[no]), payload=_visit_form, ok_status=302),
        Endpoint("api: customer tasks", "GET", lambda no: f"/api/customers/{no}/tasks", api=True),
        Endpoint("api: log visit", "POST", lambda no: f"/api/customers/{no}/visits", payload=_visit_json, api=True, json=True, ok_status=201),
        # issue 6: service requests and complaints, reassigning the customer with their tasks
        Endpoint("page: record request", "POST", lambda no: reverse("service:customer_request", args=[no]), payload=_request_form, ok_status=302),
        Endpoint("page: hand over", "GET", lambda no: reverse("service:customer_hand_over", args=[no])),
        Endpoint("api: customer requests", "GET", lambda no: f"/api/customers/{no}/requests", api=True),
        Endpoint("api: record request", "POST", lambda no: f"/api/customers/{no}/requests", payload=_request_form, api=True, json=True, ok_status=201),
    )
