"""Template helpers of KYC: the home page's KYC block."""

from __future__ import annotations

from django import template

from brokercrm.kyc import rules
from brokercrm.kyc.selectors import assessments_expiring, pending_recognitions, risk_profile
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can

register = template.Library()

#: rows shown on the home page before "all"
HOME_ROWS = 10


@register.inclusion_tag("kyc/_home_expiring.html", takes_context=True)
def kyc_expiring_block(context) -> dict:
    """For account managers: their customers whose assessment expires soon or has expired; for
    deciders: the professional-investor requests waiting; for head office: the questionnaire link."""
    request = context.get("request")
    user = getattr(request, "user", None)
    result: dict = {
        "rows": [],
        "pending": pending_recognitions(actor=user).count()
        if user_can(user=user, capability=Capability.RECOGNISE_PROFESSIONAL)
        else 0,
        "can_manage": user_can(user=user, capability=Capability.MANAGE_QUESTIONNAIRE),
    }
    if user_can(user=user, capability=Capability.ASSESS_RISK):
        rows = assessments_expiring(actor=user)
        result |= {
            "rows": [(c, risk_profile(c)) for c in rows[:HOME_ROWS]],
            "total": rows.count(),
            "days": rules.expiring_days(),
            "can_assess": True,
        }
    return result


@register.filter
def kyc_get(mapping, key) -> set:
    """The answers chosen for question ``key`` on a re-shown form (a set of option ids as text)."""
    return (mapping or {}).get(str(key), set())
