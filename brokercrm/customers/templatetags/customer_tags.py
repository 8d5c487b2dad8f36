"""Template helpers of the customer app: the leads card of the home page."""

from __future__ import annotations

from django import template

from brokercrm.customers.choices import LeadStatus
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can

register = template.Library()


@register.inclusion_tag("customers/_home_leads.html", takes_context=True)
def home_leads(context) -> dict:
    """The actor's open leads per status (for people who work leads)."""
    from brokercrm.customers.selectors import lead_counts

    request = context.get("request")
    user = getattr(request, "user", None)
    if not user_can(user=user, capability=Capability.MANAGE_LEADS):
        return {"show": False}
    counts = lead_counts(actor=user)
    return {
        "show": True,
        "rows": [(value, label, counts.get(value, 0)) for value, label in LeadStatus.choices],
        "total": sum(counts.values()),
    }
