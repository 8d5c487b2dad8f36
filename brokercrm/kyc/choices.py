"""Choices of the KYC app (DOMAIN.md, "Investor classification and suitability")."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class QuestionKind(models.TextChoices):
    """What a questionnaire answer feeds. Every question adds the score of its highest chosen
    option; ``horizon`` and ``varieties`` also set the customer's horizon / varieties from the
    chosen options' codes; a ``lowest_category`` gate carries no score, only options flagged
    "lowest category" (e.g. "no civil capacity")."""

    SCORED = "scored", _("Scored")
    HORIZON = "horizon", _("Investment horizon")
    VARIETIES = "varieties", _("Investment varieties")
    LOWEST_CATEGORY = "lowest_category", _("Lowest-category gate")


class AssessmentSource(models.TextChoices):
    CRM = "crm", _("CRM")
    COUNTER = "counter", _("Counter")


class RecognitionKind(models.TextChoices):
    """Professional-investor requests (DOMAIN.md): recognition as type II, an ordinary investor
    applying to become professional (type III), a type II investor asking to be treated as ordinary."""

    RECOGNISE_II = "recognise_ii", _("Recognise as professional investor (II)")
    CONVERT_TO_III = "convert_to_iii", _("Ordinary investor applies to become professional (III)")
    CONVERT_TO_ORDINARY = "convert_to_ordinary", _("Professional investor (II) asks to be treated as ordinary")


class RecognitionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class KnowledgeTestKind(models.TextChoices):
    """Knowledge tests recorded in the CRM; ``options`` is the one the options pool needs."""

    OPTIONS = "options", _("Stock options knowledge test")
