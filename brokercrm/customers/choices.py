"""Choices of the customer app; codes are the standard values of COUNTERS.md."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerType(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    INSTITUTION = "institution", _("Institution")
    PRODUCT = "product", _("Product")


class CustomerStatus(models.TextChoices):
    NORMAL = "normal", _("Normal")
    FROZEN = "frozen", _("Frozen")
    LOST = "lost", _("Lost")
    CLOSED = "closed", _("Closed")


class IdType(models.TextChoices):
    ID_CARD = "id_card", _("ID card")
    PASSPORT = "passport", _("Passport")
    BUSINESS_LICENCE = "business_licence", _("Business licence")
