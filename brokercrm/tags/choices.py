"""Tag categories with their labels; the codes are ``tagengine.catalogue.CATEGORIES`` (a test keeps
the two equal)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TagCategory(models.TextChoices):
    BASIC = "basic", _("Basic profile")
    ASSETS = "assets", _("Assets and flows")
    HOLDINGS = "holdings", _("Holdings")
    BEHAVIOUR = "behaviour", _("Trading behaviour")
    PROFIT = "profit", _("Profit and loss")
    MARGIN = "margin", _("Margin trading")
    RISK = "risk", _("Risk")
    LIFECYCLE = "lifecycle", _("Lifecycle")
    VALUE = "value", _("Value")


class TagChange(models.TextChoices):
    """What a version of a custom tag records."""

    CREATED = "created", _("Created")
    UPDATED = "updated", _("Changed")
    DEACTIVATED = "deactivated", _("Deactivated")
    REACTIVATED = "reactivated", _("Reactivated")


def category_label(code: str) -> str:
    return str(TagCategory(code).label) if code in TagCategory.values else code
