"""Choices of segmentation (DOMAIN.md, "Tiers (客户级别) and the ABCD matrix", "Service system").

The codes are those of ``segments.pipeline`` (``TIERS``, ``ABCD_CLASSES``, the change reasons);
a test keeps the two equal.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    """客户级别, lowest first."""

    STANDARD = "standard", _("Standard")
    SILVER = "silver", _("Silver")
    GOLD = "gold", _("Gold")
    DIAMOND = "diamond", _("Diamond")


class AbcdClass(models.TextChoices):
    """Contribution × turnover, each high or low against the branch median."""

    A = "A", _("A · high contribution, high turnover")
    B = "B", _("B · high contribution, low turnover")
    C = "C", _("C · low contribution, high turnover")
    D = "D", _("D · low contribution, low turnover")


#: DOMAIN.md: the strategy for each class, shown to the account manager.
ABCD_STRATEGIES = {
    AbcdClass.A: _("Help them manage efficiently; fast market information."),
    AbcdClass.B: _("Stimulate: product ideas and plans."),
    AbcdClass.C: _("Online self-service channels, lower cost to serve."),
    AbcdClass.D: _("Guidance, education, broadcast information."),
}


class TierChangeReason(models.TextChoices):
    INITIAL = "initial", _("Starting tier")
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")


class TierService(models.TextChoices):
    """Extended ("care") services, free, by tier (DOMAIN.md, "Service system")."""

    CALL_CENTRE_PRIORITY = "call_centre_priority", _("Call-centre priority")
    DEDICATED_LINE = "dedicated_line", _("Dedicated service line")
    BRANCH_ONE_TO_ONE = "branch_one_to_one", _("One-to-one branch service")
    ADVISER = "adviser", _("Personal adviser")
    STRATEGY_SEMINARS = "strategy_seminars", _("Strategy seminars")
    THIRD_PARTY_RESEARCH = "third_party_research", _("Third-party research")


#: DOMAIN.md: silver gets call-centre priority; gold a dedicated service line and one-to-one
#: branch service; diamond both plus an adviser, strategy seminars and third-party research.
TIER_SERVICES: dict[str, tuple[TierService, ...]] = {
    Tier.STANDARD: (),
    Tier.SILVER: (TierService.CALL_CENTRE_PRIORITY,),
    Tier.GOLD: (TierService.DEDICATED_LINE, TierService.BRANCH_ONE_TO_ONE),
    Tier.DIAMOND: (
        TierService.DEDICATED_LINE,
        TierService.BRANCH_ONE_TO_ONE,
        TierService.ADVISER,
        TierService.STRATEGY_SEMINARS,
        TierService.THIRD_PARTY_RESEARCH,
    ),
}
#: DOMAIN.md: every tier receives these, free.
BASIC_SERVICES = (
    _("Quotes"),
    _("Orders"),
    _("Queries"),
    _("Basic information"),
    _("Research reports on the website"),
)


class SegmentVisibility(models.TextChoices):
    """Who sees a saved segment (issue 5, "Segment builder")."""

    PRIVATE = "private", _("Only me")
    BRANCH = "branch", _("Shared with my branch")
