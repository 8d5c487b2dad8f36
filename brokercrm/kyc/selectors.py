"""Reads of KYC data. Every function that returns customer data takes the acting user and applies
their data scope (the models' ``for_user``); an out-of-scope customer raises
``Customer.DoesNotExist`` as if it did not exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from brokercrm.customers.choices import RiskLevel
from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import customer_get, variety_labels
from brokercrm.kyc import rules
from brokercrm.kyc.choices import RecognitionStatus
from brokercrm.kyc.models import (
    KnowledgeTest,
    ProfessionalRecognition,
    Questionnaire,
    RecognitionDocument,
    RiskAssessment,
)


def _person(user: Any) -> str:
    if user is None:
        return ""
    employee = getattr(user, "employee", None)
    return str(employee) if employee is not None else user.get_username()


def questionnaire_with_questions(questionnaire: Questionnaire | None) -> list:
    """The questions of a version with their options prefetched, in order."""
    if questionnaire is None:
        return []
    return list(questionnaire.questions.prefetch_related("options").order_by("order"))


@dataclass(frozen=True)
class RiskProfile:
    """A customer's effective KYC profile on a day (the latest assessment wins, ``kyc.services``)."""

    risk_level: str
    risk_level_label: str
    risk_expiry: date | None
    #: no assessment, or expired: counts as no assessment (DOMAIN.md)
    valid: bool
    expired: bool
    #: valid but expiring within ``kyc.rules.expiring_days()``
    expiring: bool
    lowest_category: bool
    invest_horizon_label: str
    invest_variety_labels: tuple[str, ...]
    investor_class: str
    investor_class_label: str


def risk_profile(customer: Customer, *, today: date | None = None) -> RiskProfile:
    """The profile of a customer already read through the actor's scope."""
    today = today or timezone.localdate()
    has = bool(customer.risk_level)
    valid = has and rules.assessment_valid(customer.risk_expiry, today)
    return RiskProfile(
        risk_level=customer.risk_level,
        risk_level_label=customer.get_risk_level_display() if has else "",
        risk_expiry=customer.risk_expiry,
        valid=valid,
        expired=has and not valid,
        expiring=valid and customer.risk_expiry <= today + timedelta(days=rules.expiring_days()),
        lowest_category=customer.risk_level == RiskLevel.C0,
        invest_horizon_label=customer.get_invest_horizon_display() if customer.invest_horizon else "",
        invest_variety_labels=variety_labels(customer.invest_varieties),
        investor_class=customer.investor_class,
        investor_class_label=customer.get_investor_class_display(),
    )


@dataclass(frozen=True)
class AssessmentRow:
    id: int
    customer_no: str
    source: str
    source_label: str
    assessed_on: date
    expires_on: date | None
    risk_level: str
    risk_level_label: str
    score: int | None
    invest_horizon: str
    invest_varieties: str
    questionnaire_version: int | None
    actor: str


def customer_assessments(*, actor: Any, customer_no: str) -> list[AssessmentRow]:
    """The customer's assessments, newest first (raises ``Customer.DoesNotExist`` when out of scope)."""
    customer = customer_get(actor=actor, customer_no=customer_no)
    rows = (
        RiskAssessment.objects.for_user(actor)
        .filter(customer=customer)
        .select_related("actor__employee", "questionnaire")
        .order_by("-assessed_on", "-id")
    )
    return [
        AssessmentRow(
            id=a.pk,
            customer_no=customer.customer_no,
            source=a.source,
            source_label=a.get_source_display(),
            assessed_on=a.assessed_on,
            expires_on=a.expires_on,
            risk_level=a.risk_level,
            risk_level_label=a.get_risk_level_display() if a.risk_level else "",
            score=a.score,
            invest_horizon=a.invest_horizon,
            invest_varieties=a.invest_varieties,
            questionnaire_version=a.questionnaire.version if a.questionnaire else None,
            actor=_person(a.actor),
        )
        for a in rows
    ]


def customer_recognitions(*, actor: Any, customer_no: str) -> list[ProfessionalRecognition]:
    customer = customer_get(actor=actor, customer_no=customer_no)
    return list(
        ProfessionalRecognition.objects.for_user(actor)
        .filter(customer=customer)
        .select_related("requested_by__employee", "decided_by__employee")
        .prefetch_related("documents")
        .order_by("-requested_at", "-id")
    )


def customer_knowledge_tests(*, actor: Any, customer_no: str) -> list[KnowledgeTest]:
    customer = customer_get(actor=actor, customer_no=customer_no)
    return list(
        KnowledgeTest.objects.for_user(actor)
        .filter(customer=customer)
        .select_related("actor__employee")
        .order_by("-taken_on", "-id")
    )


def recognition_document_get(*, actor: Any, customer_no: str, document_id: int) -> RecognitionDocument:
    """An evidence document of one of the customer's requests (``DoesNotExist`` when out of scope)."""
    customer = customer_get(actor=actor, customer_no=customer_no)
    return RecognitionDocument.objects.for_user(actor).get(pk=document_id, recognition__customer=customer)


def pending_recognitions(*, actor: Any) -> QuerySet[ProfessionalRecognition]:
    """Pending requests of customers in the actor's scope, oldest first (the decider's queue)."""
    return (
        ProfessionalRecognition.objects.for_user(actor)
        .filter(status=RecognitionStatus.PENDING)
        .select_related("customer", "requested_by__employee")
        .order_by("requested_at", "id")
    )


def assessments_expiring(*, actor: Any, within_days: int | None = None, today: date | None = None) -> QuerySet[Customer]:
    """Customers in the actor's scope whose assessment expires within ``within_days`` (default
    ``kyc.rules.expiring_days()``) or has expired, soonest (longest expired) first."""
    today = today or timezone.localdate()
    within = rules.expiring_days() if within_days is None else within_days
    return (
        Customer.objects.for_user(actor)
        .exclude(risk_level="")
        .filter(risk_expiry__isnull=False, risk_expiry__lte=today + timedelta(days=within))
        .select_related("account_manager")
        .order_by("risk_expiry", "customer_no")
    )
