"""Template helpers of suitability: reason labels, result labels, the home page's notices block."""

from __future__ import annotations

from django import template

from brokercrm.suitability.choices import SuitabilityResult
from brokercrm.suitability.labels import reason_labels

register = template.Library()

#: notices shown on the home page before "all notices"
HOME_NOTICES = 10


@register.filter
def reasons(value) -> list[str]:
    """``"horizon;variety"`` or a tuple of codes → translated labels."""
    codes = value.split(";") if isinstance(value, str) else list(value or ())
    return reason_labels(c for c in codes if c)


@register.filter
def result_label(value: str) -> str:
    return str(SuitabilityResult(value).label) if value in SuitabilityResult.values else value


@register.inclusion_tag("suitability/_home_notices.html", takes_context=True)
def rematch_notices(context) -> dict:
    """The acting account manager's unread re-match notices (nothing for anyone else)."""
    from brokercrm.suitability.selectors import rematch_notice_list

    request = context.get("request")
    user = getattr(request, "user", None)
    rows = rematch_notice_list(actor=user, unread_only=True)
    return {"notices": list(rows[:HOME_NOTICES]), "unread": rows.count()}
