"""Choices of the suitability app (DOMAIN.md, "Suitability decision, as of day D")."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SuitabilityResult(models.TextChoices):
    MATCH = "match", _("Match")
    MISMATCH_WARN = "mismatch_warn", _("Mismatch (warning required)")
    PROHIBITED = "prohibited", _("Prohibited")


class SuitabilityPurpose(models.TextChoices):
    """What a recorded decision was used for."""

    RECOMMENDATION = "recommendation", _("Recommendation")
    SALE = "sale", _("Sale")
    REMATCH = "rematch", _("Re-match after a change")


class Reason(models.TextChoices):
    """Why a pair is not a plain match; ``pool:<name>`` (a required pool not met) is built from
    the pool code and has no fixed member."""

    NO_VALID_ASSESSMENT = "no_valid_assessment", _("No valid risk assessment")
    LOWEST_CATEGORY = "lowest_category", _("Lowest category: only R1 products")
    RISK_LEVEL = "risk_level", _("Product risk above the customer's risk tolerance")
    HORIZON = "horizon", _("Product horizon longer than the customer's")
    VARIETY = "variety", _("Product variety not among the customer's")


#: prefix of the reason "required qualified pool not met"
POOL_REASON_PREFIX = "pool:"
