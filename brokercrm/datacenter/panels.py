"""The qualified-pools section of the customer 360 page (``customers.panels.CUSTOMER_PANELS``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from brokercrm.customers.panels import Panel
from brokercrm.datacenter.selectors import customer_pools, pools_as_of
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can


def pools_panel(*, request: HttpRequest, customer: Any) -> Panel | None:
    """Each pool yes/no, with every reason for a "no" (``VIEW_POOLS``)."""
    if not user_can(user=request.user, capability=Capability.VIEW_POOLS):
        return None
    pools = list(customer_pools(actor=request.user, customer_no=customer.customer_no).values())
    return Panel(
        template="datacenter/_customer_panel.html",
        anchor="pools",
        context={
            "pools": pools,
            "as_of": pools_as_of() if pools else None,
            "can_list": True,
        },
    )
