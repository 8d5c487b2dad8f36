"""The KYC section of the customer 360 page (``customers.panels.CUSTOMER_PANELS``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from brokercrm.customers.panels import Panel
from brokercrm.kyc.selectors import (
    customer_assessments,
    customer_knowledge_tests,
    customer_recognitions,
    risk_profile,
)
from brokercrm.kyc.services import questionnaire_active
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can

#: history rows shown on the page
PANEL_ROWS = 20


def kyc_panel(*, request: HttpRequest, customer: Any) -> Panel | None:
    """Risk level with its expiry (expired highlighted), horizon, varieties, investor class, the
    assessment, recognition and knowledge-test histories, and the buttons the user may use."""
    user = request.user
    if not user_can(user=user, capability=Capability.VIEW_CUSTOMERS):
        return None
    number = customer.customer_no
    can_assess = user_can(user=user, capability=Capability.ASSESS_RISK)
    return Panel(
        template="kyc/_customer_panel.html",
        anchor="kyc",
        title=_("Risk and investor class"),
        context={
            "wide": True,
            "profile": risk_profile(customer),
            "assessments": customer_assessments(actor=user, customer_no=number)[:PANEL_ROWS],
            "recognitions": customer_recognitions(actor=user, customer_no=number)[:PANEL_ROWS],
            "tests": customer_knowledge_tests(actor=user, customer_no=number)[:PANEL_ROWS],
            "can_assess": can_assess and questionnaire_active() is not None,
            "can_request": can_assess,
            "can_decide": user_can(user=user, capability=Capability.RECOGNISE_PROFESSIONAL),
            "me": user.pk,
        },
    )
