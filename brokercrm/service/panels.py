"""The service section of the customer 360 page (``customers.panels.CUSTOMER_PANELS``): the task
deadline the customer's tier gives (DOMAIN.md, "Service system"; the extended services themselves
are in the segments section), open tasks, visits, and a visit form."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.panels import Panel
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.service import rules
from brokercrm.service.forms import VisitForm
from brokercrm.service.selectors import customer_open_tasks, customer_visits, deadline_days


def service_panel(*, request: HttpRequest, customer: Any) -> Panel | None:
    if not user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS):
        return None
    from brokercrm.segments.choices import Tier
    from brokercrm.segments.models import CustomerSegment

    segment = CustomerSegment.objects.for_user(request.user).filter(customer=customer).first()
    tier = segment.tier if segment else rules.DEFAULT_TIER
    number = customer.customer_no
    return Panel(
        template="service/_customer_panel.html",
        anchor="service",
        title=_("Service"),
        context={
            "tier_label": Tier(tier).label if tier in Tier.values else tier,
            "deadline_days": deadline_days(tier),
            "tasks": customer_open_tasks(actor=request.user, customer_no=number),
            "visits": customer_visits(actor=request.user, customer_no=number),
            "can_log": user_can(user=request.user, capability=Capability.ADD_INTERACTIONS),
            "form": VisitForm(),
            # issue 6: the customer's service requests and complaints, and the form to record one
            "requests": _customer_requests(request, number),
            "request_form": _request_form(),
            "can_hand_over": user_can(user=request.user, capability=Capability.ASSIGN_CUSTOMERS),
        },
    )


def _customer_requests(request: HttpRequest, customer_no: str) -> list:
    from brokercrm.service.desk import customer_requests

    return customer_requests(actor=request.user, customer_no=customer_no)


def _request_form():
    from brokercrm.service.forms import RequestForm

    return RequestForm()
