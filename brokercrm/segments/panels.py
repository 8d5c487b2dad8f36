"""The tier and ABCD section of the customer 360 page (``customers.panels.CUSTOMER_PANELS``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.panels import Panel
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.segments.selectors import (
    basic_services,
    customer_segment,
    customer_tags,
    customer_tier_history,
    segments_as_of,
)


def segment_panel(*, request: HttpRequest, customer: Any) -> Panel | None:
    """Tier with its since-date and history, the ABCD class with its strategy, the customer's
    tags (named from the tag catalogue), and the extended services the tier is entitled to (DOMAIN.md, "Tiers …", "Service system")."""
    if not user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS):
        return None
    number = customer.customer_no
    return Panel(
        template="segments/_customer_panel.html",
        anchor="segment",
        title=_("Tier and ABCD class"),
        context={
            "segment": customer_segment(actor=request.user, customer_no=number),
            "history": customer_tier_history(actor=request.user, customer_no=number),
            "tags": customer_tags(actor=request.user, customer_no=number),
            "basic_services": basic_services(),
            "as_of": segments_as_of(),
        },
    )
