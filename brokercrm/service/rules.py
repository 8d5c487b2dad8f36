"""Rules of proactive service that carry a number: each default lives here, once, with its source.
A deployment overrides any of them with the Django setting of the same name
(e.g. ``SERVICE_PRIORITY_HIGH_RATIO = Decimal("0.25")``).

- ``SERVICE_PRIORITY_HIGH_RATIO`` / ``SERVICE_PRIORITY_MEDIUM_RATIO``: an affected customer's
  priority is *high* when the exposure ratio is ≥ 30 % or the tier is one of
  ``SERVICE_PRIORITY_HIGH_TIERS`` (gold and above), *medium* when the ratio is ≥ 10 %, *low*
  otherwise (issue 6, "Market events").
- ``SERVICE_DEADLINE_DAYS``: a task is due this many **trading** days after it is raised, by the
  customer's tier: diamond 1, gold 2, silver 3, standard 5 (DOMAIN.md, "Service system"; issue 6).
  A customer without a tier is served as standard.

Risk groups (the suggestion an account manager reads): a professional investor (type I, II or
III) is ``professional`` whatever their questionnaire said; an ordinary investor's group comes
from the risk level: C1–C2 (the lowest category C0 included), C3, C4–C5. A customer with no
assessment, or an expired one, is given the most cautious group, C1–C2 — DOMAIN.md: "an expired
one counts as no assessment", and nobody unassessed should be told more than a conservative
investor.

Trading days: the exchanges' calendar (weekdays that are not exchange holidays,
``simulate.calendar.EXCHANGE_HOLIDAYS``, 2023–2026 from the exchanges' notices); outside the
listed years only weekends are skipped.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings

from brokercrm.service.choices import Priority, RiskGroup
from brokercrm.simulate.calendar import is_trading_day

SERVICE_PRIORITY_HIGH_RATIO = Decimal("0.30")
SERVICE_PRIORITY_MEDIUM_RATIO = Decimal("0.10")
SERVICE_PRIORITY_HIGH_TIERS: tuple[str, ...] = ("gold", "diamond")
SERVICE_DEADLINE_DAYS: dict[str, int] = {"diamond": 1, "gold": 2, "silver": 3, "standard": 5}
#: the tier of a customer the segmentation has not placed yet
DEFAULT_TIER = "standard"

PROFESSIONAL_CLASSES = ("professional_i", "professional_ii", "professional_iii")


def setting(name: str):
    """The deployment's value of a rule, else the default above."""
    return getattr(settings, name, globals()[name])


def risk_group(*, risk_level: str, investor_class: str, risk_expiry: date | None = None, today: date | None = None) -> str:
    """The suggestion group of a customer (see the module doc)."""
    if investor_class in PROFESSIONAL_CLASSES:
        return RiskGroup.PROFESSIONAL
    if risk_expiry is not None and today is not None and risk_expiry < today:
        return RiskGroup.C1_C2
    if risk_level in ("C4", "C5"):
        return RiskGroup.C4_C5
    if risk_level == "C3":
        return RiskGroup.C3
    return RiskGroup.C1_C2


def priority(*, ratio: Decimal | None, tier: str) -> str:
    """High: ratio ≥ the high threshold or a high tier; medium: ratio ≥ the medium threshold;
    low otherwise. An unknown ratio (no total assets on the day) counts as below every threshold."""
    if tier in setting("SERVICE_PRIORITY_HIGH_TIERS"):
        return Priority.HIGH
    if ratio is not None and ratio >= Decimal(setting("SERVICE_PRIORITY_HIGH_RATIO")):
        return Priority.HIGH
    if ratio is not None and ratio >= Decimal(setting("SERVICE_PRIORITY_MEDIUM_RATIO")):
        return Priority.MEDIUM
    return Priority.LOW


def priority_rule():
    """:func:`priority` on integer cents, for many rows at once: ``decide(exposure_cents,
    assets_cents, tier)`` (assets None or 0: the ratio is unknown). The thresholds are read once
    and compared exactly as integers (ratio ≥ t ⇔ exposure × 10⁸ ≥ t × 10⁸ × assets)."""
    scale = 10**8
    high = int(Decimal(setting("SERVICE_PRIORITY_HIGH_RATIO")) * scale)
    medium = int(Decimal(setting("SERVICE_PRIORITY_MEDIUM_RATIO")) * scale)
    high_tiers = frozenset(setting("SERVICE_PRIORITY_HIGH_TIERS"))

    def decide(exposure: int, assets: int | None, tier: str) -> str:
        if tier in high_tiers:
            return Priority.HIGH
        if assets:
            if exposure * scale >= high * assets:
                return Priority.HIGH
            if exposure * scale >= medium * assets:
                return Priority.MEDIUM
        return Priority.LOW

    return decide


def add_trading_days(day: date, n: int) -> date:
    """The ``n``-th trading day after ``day`` (``n`` = 0: ``day`` itself if it trades, else the next)."""
    current = day
    if n <= 0:
        while not is_trading_day(current):
            current += timedelta(days=1)
        return current
    while n > 0:
        current += timedelta(days=1)
        if is_trading_day(current):
            n -= 1
    return current


def deadline(*, tier: str, raised_on: date) -> date:
    """When a task raised on ``raised_on`` for a customer of ``tier`` is due."""
    days = setting("SERVICE_DEADLINE_DAYS")
    return add_trading_days(raised_on, int(days.get(tier or DEFAULT_TIER, days[DEFAULT_TIER])))


# --- data-driven tasks (issue 6, "Events from the data") --------------------------------------
#
# The thresholds head office edits (``ServicePolicy``, latest row in force; ``/service/policy/``).
# Defaults and their sources:
# - large withdrawal: bank transfers out of ¥200,000 or more in a day, or a net outflow of 30 % or
#   more of the assets over 5 trading days (issue 6);
# - margin: warning below a maintenance ratio of 150 %, call below 130 % (DOMAIN.md, "Margin
#   trading": default levels set by contract since 2019);
# - risk assessment expiring within 30 days (issue 6; the KYC page's ``KYC_EXPIRING_DAYS``);
# - dormant: no trade for 90 days (issue 6);
# - birthday: raised 7 days ahead so that the greeting can be planned (firm practice, no source);
# - the workspace's "big flow": ¥50,000 in or out in a day (firm practice, no source).
# A Django setting ``SERVICE_DATA_RULES`` (a dict of the same names) changes the defaults for a
# deployment; head office's policy row overrides both.

DATA_RULE_DEFAULTS: dict[str, Decimal | int] = {
    "large_withdrawal_amount": Decimal("200000.00"),
    "net_outflow_ratio": Decimal("0.30"),
    "net_outflow_days": 5,
    "margin_warning_ratio": Decimal("1.50"),
    "margin_call_ratio": Decimal("1.30"),
    "assessment_expiring_days": 30,
    "dormant_days": 90,
    "birthday_days_ahead": 7,
    "big_flow_amount": Decimal("50000.00"),
}

#: the priority of each data-driven task (margin call high: the customer must top up within 2
#: trading days or be liquidated, DOMAIN.md; a large withdrawal may be a customer leaving)
DATA_RULE_PRIORITIES: dict[str, str] = {
    "large_withdrawal": Priority.HIGH,
    "net_outflow": Priority.HIGH,
    "margin_call": Priority.HIGH,
    "margin_warning": Priority.MEDIUM,
    "limit_down": Priority.MEDIUM,
    "assessment_expiring": Priority.MEDIUM,
    "aml_review": Priority.MEDIUM,
    "dormant": Priority.LOW,
    "tier_upgrade": Priority.MEDIUM,
    "tier_downgrade": Priority.HIGH,
    "birthday": Priority.LOW,
}

#: a tier change is raised when it is at most this many calendar days older than the published day
TIER_CHANGE_DAYS = 7


def data_rule_thresholds() -> dict[str, Decimal | int]:
    """The thresholds in force: head office's latest ``ServicePolicy``, else the deployment's
    ``SERVICE_DATA_RULES`` over the defaults above."""
    from brokercrm.service.models import ServicePolicy

    values = {**DATA_RULE_DEFAULTS, **getattr(settings, "SERVICE_DATA_RULES", {})}
    policy = ServicePolicy.objects.order_by("-created_at", "-id").first()
    if policy is not None:
        values.update({name: getattr(policy, name) for name in DATA_RULE_DEFAULTS})
    return {name: (Decimal(value) if isinstance(DATA_RULE_DEFAULTS[name], Decimal) else int(value)) for name, value in values.items()}


def margin_level(ratio: Decimal | None, *, warning: Decimal, call: Decimal) -> str:
    """``"call"`` below the call ratio, ``"warning"`` below the warning ratio, else ``""`` (a
    ratio of None — no debt — is never low). Strictly below: 150 % exactly is not a warning."""
    if ratio is None:
        return ""
    if ratio < call:
        return "call"
    if ratio < warning:
        return "warning"
    return ""


#: daily price limit in % by board (exchange rules; the simulator's boards): STAR (688) and
#: ChiNext (300/301) 20, Beijing 30, risk-warning (ST, *ST) 5, other A shares 10
def price_limit_pct(*, exchange: str, security_code: str, name: str = "") -> int:
    if "ST" in name.upper():
        return 5
    if exchange == "BJ":
        return 30
    if security_code.startswith("688") or security_code.startswith(("300", "301")):
        return 20
    return 10


def limit_down_price(*, pre_close: Decimal, limit_pct: int) -> Decimal:
    """The limit-down price: the previous close × (1 − limit), rounded half up to the cent
    (exchange trading rules; the tick of A shares is ¥0.01)."""
    from decimal import ROUND_HALF_UP

    return (pre_close * (100 - limit_pct) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)


# --- service requests and complaints ------------------------------------------------------------
#
# ``SERVICE_REQUEST_DEADLINE_DAYS``: a request is due this many trading days after it is recorded,
# by the customer's tier, the same as a task (DOMAIN.md "Service system"); a complaint sooner (firm
# policy, no regulation found that fixes a shorter delay: a complaint is answered before a request).

SERVICE_REQUEST_DEADLINE_DAYS: dict[str, dict[str, int]] = {
    "request": {"diamond": 1, "gold": 2, "silver": 3, "standard": 5},
    "complaint": {"diamond": 1, "gold": 1, "silver": 2, "standard": 2},
}


def request_deadline(*, kind: str, tier: str, recorded_on: date) -> date:
    days = setting("SERVICE_REQUEST_DEADLINE_DAYS")[kind]
    return add_trading_days(recorded_on, int(days.get(tier or DEFAULT_TIER, days[DEFAULT_TIER])))
