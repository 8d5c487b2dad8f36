"""Business rules of the KYC app that carry a number: each default lives here, once, with its
source (DOMAIN.md, "Investor classification and suitability"). A deployment overrides any of them
with the Django setting of the same name (e.g. ``KYC_VALIDITY_MONTHS = 12``).

- ``KYC_RISK_BANDS``: the questionnaire score bands, 0–100: lowest category 0, C1 1–19, C2 20–36,
  C3 37–53, C4 54–82, C5 83–100 (each band given by its lowest score).
- ``KYC_VALIDITY_MONTHS``: an assessment expires after 24 months (firms use 12 or 24).
- ``KYC_EXPIRING_DAYS``: the "expiring soon" list looks 30 days ahead (firm practice).
- ``KYC_KNOWLEDGE_PASS_MARK``: a knowledge test passes at 80 of 100 (exchange practice for options).
- ``KYC_PROFESSIONAL_BARS``: the professional-investor bars of the CSRC 2017 measures.

**Expiry convention.** ``expires_on`` is the *last day the assessment is valid*, the counters'
``risk_expiry`` convention (COUNTERS.md): an assessment taken on 2024-03-15 with 24 months'
validity is valid through 2026-03-14 and expired from 2026-03-15. An expired assessment counts
as no assessment.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings

from brokercrm.customers.rules import add_months

#: (lowest score of the band, risk level); C0 is the lowest category within C1
KYC_RISK_BANDS: tuple[tuple[int, str], ...] = ((0, "C0"), (1, "C1"), (20, "C2"), (37, "C3"), (54, "C4"), (83, "C5"))
KYC_VALIDITY_MONTHS = 24
KYC_EXPIRING_DAYS = 30
KYC_KNOWLEDGE_PASS_MARK = 80
#: the most a questionnaire may score (the bands cover 0–100)
KYC_MAX_SCORE = 100

MILLION = Decimal("1000000")
#: professional-investor bars (DOMAIN.md; 证券期货投资者适当性管理办法 art. 8 and 11)
KYC_PROFESSIONAL_BARS: dict[str, dict[str, Decimal]] = {
    # type II, natural person: financial assets ≥ 5m or 3-year average income ≥ 0.5m, plus 2 years'
    # investment experience (or 2 years' finance work, or a listed professional qualification)
    "person_ii": {"financial_assets": 5 * MILLION, "income": Decimal("500000"), "years": Decimal(2)},
    # type II, entity: net assets ≥ 20m and financial assets ≥ 10m and 2 years' investment experience
    "entity_ii": {"net_assets": 20 * MILLION, "financial_assets": 10 * MILLION, "years": Decimal(2)},
    # ordinary person applying to become professional (III): ≥ 3m or income ≥ 0.3m, 1 year
    "person_iii": {"financial_assets": 3 * MILLION, "income": Decimal("300000"), "years": Decimal(1)},
}


def _setting(name: str, default):
    return getattr(settings, name, default)


def risk_bands() -> tuple[tuple[int, str], ...]:
    return tuple(sorted(_setting("KYC_RISK_BANDS", KYC_RISK_BANDS)))


def validity_months() -> int:
    return int(_setting("KYC_VALIDITY_MONTHS", KYC_VALIDITY_MONTHS))


def expiring_days() -> int:
    return int(_setting("KYC_EXPIRING_DAYS", KYC_EXPIRING_DAYS))


def knowledge_pass_mark() -> int:
    return int(_setting("KYC_KNOWLEDGE_PASS_MARK", KYC_KNOWLEDGE_PASS_MARK))


def professional_bars() -> dict[str, dict[str, Decimal]]:
    return {**KYC_PROFESSIONAL_BARS, **_setting("KYC_PROFESSIONAL_BARS", {})}


def risk_level_for(score: int) -> str:
    """The risk level of a questionnaire score: the band whose lowest score is the highest one
    not above ``score`` (0 → C0, the lowest category)."""
    level = risk_bands()[0][1]
    for lowest, band in risk_bands():
        if score >= lowest:
            level = band
    return level


def assessment_expiry(assessed_on: date) -> date:
    """The last day an assessment taken on ``assessed_on`` is valid (see the module doc)."""
    return add_months(assessed_on, validity_months()) - timedelta(days=1)


def assessment_valid(expires_on: date | None, day: date) -> bool:
    """Whether an assessment valid through ``expires_on`` still counts on ``day``."""
    return expires_on is not None and day <= expires_on
