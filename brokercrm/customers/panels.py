"""Sections of the customer 360 page that other apps contribute (KYC, suitability, pools …).

Each entry of :data:`CUSTOMER_PANELS` is the dotted path of a callable
``(*, request, customer) -> Panel | None``. ``customer`` is the model instance, already
checked against the user's data scope by the page; the callable reads through its own app's
selectors (which apply the scope again) and returns ``None`` when the user may not see the
section. The page renders the panels in this order, each with its template and ``panel`` =
the context it returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils.module_loading import import_string

CUSTOMER_PANELS: tuple[str, ...] = (
    "brokercrm.datacenter.panels.pools_panel",
    "brokercrm.kyc.panels.kyc_panel",
    "brokercrm.suitability.panels.suitability_panel",
    "brokercrm.segments.panels.segment_panel",
    "brokercrm.service.panels.service_panel",
)


@dataclass(frozen=True)
class Panel:
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    #: page section anchor (``#id``), also the element id HTMX targets
    anchor: str = ""
    #: the section's name in the page's section navigation (not listed there when empty)
    title: str = ""


def customer_panels(*, request: HttpRequest, customer: Any) -> list[Panel]:
    panels = []
    for path in CUSTOMER_PANELS:
        panel = import_string(path)(request=request, customer=customer)
        if panel is not None:
            panels.append(panel)
    return panels
