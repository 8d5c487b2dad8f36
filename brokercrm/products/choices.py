"""Choices of the product library (DOMAIN.md, "Product library import")."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# The product's horizon and variety use the customer's codes, so matching compares like with like.
from brokercrm.customers.choices import InvestHorizon as ProductHorizon  # noqa: F401
from brokercrm.customers.choices import InvestVariety as ProductVariety  # noqa: F401


class ProductType(models.TextChoices):
    FUND = "fund", _("Fund")
    BOND = "bond", _("Bond")
    ASSET_MGMT = "asset_mgmt", _("Asset management plan")
    WEALTH = "wealth", _("Wealth management")
    STRUCTURED = "structured", _("Structured product")
    SERVICE = "service", _("Service")
    OTHER = "other", _("Other")


class ProductRisk(models.TextChoices):
    """R1 (low) … R5 (high), DOMAIN.md "Investor classification and suitability"."""

    R1 = "R1", _("R1 low")
    R2 = "R2", _("R2 medium-low")
    R3 = "R3", _("R3 medium")
    R4 = "R4", _("R4 medium-high")
    R5 = "R5", _("R5 high")


class ProductStatus(models.TextChoices):
    ON_SALE = "on_sale", _("On sale")
    CLOSED = "closed", _("Off sale")
