"""Business rules of the customer app that carry a number: each default lives here, once.

AML review cycle (DOMAIN.md, "Anti-money-laundering display"): a customer's AML risk rating is
reviewed periodically, high risk at least every 6 months by default; medium (12) and low (24) are
the firm defaults that go with it. A deployment overrides any of them with the Django setting
``AML_REVIEW_MONTHS`` (e.g. ``{"high": 3}``); levels not named keep their default.
"""

from __future__ import annotations

import calendar
from datetime import date

from django.conf import settings

from brokercrm.customers.choices import AmlLevel

#: months between two AML reviews, per AML risk level (DOMAIN.md, "Anti-money-laundering display")
AML_REVIEW_MONTHS: dict[str, int] = {AmlLevel.HIGH: 6, AmlLevel.MEDIUM: 12, AmlLevel.LOW: 24}


def aml_review_months() -> dict[str, int]:
    """The AML review cycle in force: the defaults above, overridden by ``settings.AML_REVIEW_MONTHS``."""
    return {**AML_REVIEW_MONTHS, **getattr(settings, "AML_REVIEW_MONTHS", {})}


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole calendar months; the 31st of a shorter month becomes its last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def aml_next_review(*, aml_level: str, reviewed_on: date | None, open_date: date | None) -> date | None:
    """The date the customer's AML rating is next due for review: the last review (or, never
    reviewed, the open date) plus the cycle of their level. ``None`` without a level or a start."""
    months = aml_review_months().get(aml_level)
    start = reviewed_on or open_date
    if months is None or start is None:
        return None
    return add_months(start, months)
