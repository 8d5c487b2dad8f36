"""Know your customer: the risk questionnaire, risk assessments, investor-class changes,
professional-investor recognitions and knowledge tests (DOMAIN.md, "Investor classification and
suitability")."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.choices import InvestHorizon, InvestorClass, RiskLevel
from brokercrm.customers.models import Customer
from brokercrm.kyc.choices import (
    AssessmentSource,
    KnowledgeTestKind,
    QuestionKind,
    RecognitionKind,
    RecognitionStatus,
)
from brokercrm.org.scope import ScopedManager


def document_storage() -> FileSystemStorage:
    """Evidence documents live under the data directory, never in a public folder; they are
    served only through the scoped download view."""
    from brokercrm.config import get_config

    return FileSystemStorage(location=get_config().data_dir / "uploads")


class Questionnaire(models.Model):
    """One version of the risk-tolerance questionnaire (SAC template). One version is active;
    editing a version that assessments used creates the next version, so an assessment always
    points at the questions its answers refer to (``kyc.services.questionnaire_for_edit``)."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    title = models.CharField(_("title"), max_length=200)
    is_active = models.BooleanField(_("active"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-version"]
        verbose_name = _("risk questionnaire")
        verbose_name_plural = _("risk questionnaires")
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=Q(is_active=True), name="one_active_questionnaire")
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.title}"


class Question(models.Model):
    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="questions")
    order = models.PositiveSmallIntegerField(_("order"))
    text = models.CharField(_("question"), max_length=300)
    kind = models.CharField(_("kind"), max_length=16, choices=QuestionKind.choices, default=QuestionKind.SCORED)
    multi_select = models.BooleanField(_("several answers allowed"), default=False)

    class Meta:
        ordering = ["questionnaire", "order"]
        constraints = [models.UniqueConstraint(fields=["questionnaire", "order"], name="one_question_per_order")]

    def __str__(self) -> str:
        return f"{self.order}. {self.text}"


class Option(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="options")
    order = models.PositiveSmallIntegerField(_("order"))
    text = models.CharField(_("answer"), max_length=300)
    score = models.PositiveSmallIntegerField(_("score"), default=0)
    #: horizon questions: an ``InvestHorizon`` code; varieties questions: an ``InvestVariety`` code
    code = models.CharField(_("maps to"), max_length=16, blank=True)
    #: choosing it puts the customer in the lowest category (C0), whatever the score
    lowest_category = models.BooleanField(_("lowest category"), default=False)

    class Meta:
        ordering = ["question", "order"]
        constraints = [models.UniqueConstraint(fields=["question", "order"], name="one_option_per_order")]

    def __str__(self) -> str:
        return f"{self.order}. {self.text}"


class RiskAssessment(models.Model):
    """One risk assessment of a customer, from the CRM questionnaire or seen in the counter's data.

    The customer's effective risk level, expiry, horizon and varieties are those of the latest
    assessment by ``assessed_on``; on the same day the CRM's wins ("latest wins",
    ``kyc.services``). ``expires_on`` is the last day it is valid (``kyc.rules``). Append-only.
    A counter record with an empty ``risk_level`` means the counter cleared the assessment.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="risk_assessments")
    source = models.CharField(_("source"), max_length=8, choices=AssessmentSource.choices)
    questionnaire = models.ForeignKey(
        Questionnaire, on_delete=models.PROTECT, null=True, blank=True, related_name="assessments"
    )
    #: ``{"<question id>": [<option id>, …]}`` of the questionnaire version used
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    risk_level = models.CharField(_("risk level"), max_length=4, choices=RiskLevel.choices, blank=True)
    invest_horizon = models.CharField(_("investment horizon"), max_length=8, choices=InvestHorizon.choices, blank=True)
    #: standard varieties joined by "," in COUNTERS.md order
    invest_varieties = models.CharField(_("investment varieties"), max_length=80, blank=True)
    assessed_on = models.DateField(_("assessed on"))
    expires_on = models.DateField(_("valid until"), null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "-assessed_on", "-id"]
        verbose_name = _("risk assessment")
        verbose_name_plural = _("risk assessments")
        indexes = [
            models.Index(fields=["customer", "source", "assessed_on"]),
            models.Index(fields=["source", "assessed_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.source} {self.assessed_on} {self.risk_level}"


class InvestorClassChange(models.Model):
    """A customer's investor class from a day on: from an approved CRM recognition or seen in the
    counter's data. The effective class is the latest by ``effective_on`` (CRM wins a tie)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="investor_class_changes")
    source = models.CharField(_("source"), max_length=8, choices=AssessmentSource.choices)
    investor_class = models.CharField(_("investor class"), max_length=20, choices=InvestorClass.choices)
    effective_on = models.DateField(_("effective on"))
    recognition = models.OneToOneField(
        "ProfessionalRecognition", on_delete=models.PROTECT, null=True, blank=True, related_name="class_change"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "-effective_on", "-id"]
        verbose_name = _("investor class change")
        verbose_name_plural = _("investor class changes")
        indexes = [models.Index(fields=["customer", "source", "effective_on"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.investor_class} from {self.effective_on}"


class ProfessionalRecognition(models.Model):
    """A request to recognise a customer as a professional investor, or to convert between
    ordinary and professional, with its evidence; an account manager requests it, a user with
    ``RECOGNISE_PROFESSIONAL`` approves or rejects it (the firm decides, DOMAIN.md). Approval is
    refused when the evidence does not meet the bar (``kyc.rules.KYC_PROFESSIONAL_BARS``)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="professional_recognitions")
    kind = models.CharField(_("request"), max_length=24, choices=RecognitionKind.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=RecognitionStatus.choices, default=RecognitionStatus.PENDING
    )
    financial_assets = models.DecimalField(
        _("financial assets"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    #: entities only
    net_assets = models.DecimalField(_("net assets"), max_digits=18, decimal_places=2, null=True, blank=True)
    #: average annual income of the last 3 years (persons)
    annual_income = models.DecimalField(
        _("average annual income (3 years)"), max_digits=18, decimal_places=2, null=True, blank=True
    )
    experience_years = models.DecimalField(
        _("years of investment experience"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    finance_work_years = models.DecimalField(
        _("years of work in finance"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    qualifications = models.TextField(_("professional qualifications"), max_length=1000, blank=True)
    #: the firm warned the customer of the consequences (needed for III, DOMAIN.md "must warn")
    risk_warning_issued = models.BooleanField(_("risk warning issued"), default=False)
    #: the customer's written request (needed to be treated as ordinary)
    written_request = models.BooleanField(_("written request received"), default=False)
    note = models.CharField(_("note"), max_length=500, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)
    #: the day the new class takes effect (approved requests)
    effective_on = models.DateField(_("effective on"), null=True, blank=True)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "-requested_at", "-id"]
        verbose_name = _("professional investor recognition")
        verbose_name_plural = _("professional investor recognitions")
        indexes = [models.Index(fields=["status", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.status}"


class RecognitionDocument(models.Model):
    """An evidence document of a recognition (asset certificate, income proof, written request)."""

    recognition = models.ForeignKey(ProfessionalRecognition, on_delete=models.CASCADE, related_name="documents")
    file = models.FileField(_("document"), upload_to="kyc/recognitions/%Y/%m/", storage=document_storage)
    name = models.CharField(_("file name"), max_length=200)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(customer_path="recognition__customer")

    class Meta:
        ordering = ["recognition", "id"]

    def __str__(self) -> str:
        return self.name


class KnowledgeTest(models.Model):
    """A knowledge test the customer took (the options pool needs a passed ``options`` test,
    DOMAIN.md "Qualified customer pools"). ``passed`` = score ≥ the pass mark in force then."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="knowledge_tests")
    test = models.CharField(_("test"), max_length=16, choices=KnowledgeTestKind.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    pass_mark = models.PositiveSmallIntegerField(_("pass mark"))
    passed = models.BooleanField(_("passed"))
    taken_on = models.DateField(_("taken on"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "-taken_on", "-id"]
        verbose_name = _("knowledge test")
        verbose_name_plural = _("knowledge tests")
        indexes = [models.Index(fields=["test", "passed", "taken_on"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.test} {self.score}"
