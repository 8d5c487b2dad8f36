"""KYC endpoints of the REST API (thin: the same selectors and services as the pages)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate

from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import customer_get
from brokercrm.customers.services import customer_list_record, customer_view_record
from brokercrm.kyc.selectors import assessments_expiring, customer_assessments, questionnaire_with_questions
from brokercrm.kyc.services import questionnaire_active, risk_assessment_submit
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can

router = Router(tags=["kyc"])


class AssessmentOut(Schema):
    id: int
    customer_no: str
    source: str
    assessed_on: date
    expires_on: date | None
    risk_level: str
    score: int | None
    invest_horizon: str
    invest_varieties: str
    questionnaire_version: int | None
    actor: str


class AssessmentIn(Schema):
    #: question id → option id(s) of the active questionnaire (``GET /api/kyc/questionnaire``)
    answers: dict[str, list[int]]
    assessed_on: date | None = None


class OptionOut(Schema):
    id: int
    order: int
    text: str
    score: int
    code: str
    lowest_category: bool


class QuestionOut(Schema):
    id: int
    order: int
    text: str
    kind: str
    multi_select: bool
    options: list[OptionOut]


class QuestionnaireOut(Schema):
    version: int
    title: str
    questions: list[QuestionOut]


class ExpiringOut(Schema):
    customer_no: str
    name: str
    risk_level: str
    risk_expiry: date
    expired: bool
    account_manager: str

    @staticmethod
    def resolve_expired(obj: Customer) -> bool:
        return obj.risk_expiry < timezone.localdate()

    @staticmethod
    def resolve_account_manager(obj: Customer) -> str:
        return obj.account_manager.user.get_username() if obj.account_manager else ""


def _customer(request: HttpRequest, customer_no: str) -> Customer:
    try:
        return customer_get(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404


@router.get("/questionnaire", response=QuestionnaireOut, summary="The active risk questionnaire")
def get_questionnaire(request: HttpRequest):
    if not user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS):
        raise HttpError(403, "not allowed")
    questionnaire = questionnaire_active()
    if questionnaire is None:
        raise Http404
    questions = questionnaire_with_questions(questionnaire)
    return {
        "version": questionnaire.version,
        "title": questionnaire.title,
        "questions": [
            {
                "id": q.pk, "order": q.order, "text": q.text, "kind": q.kind, "multi_select": q.multi_select,
                "options": [
                    {"id": o.pk, "order": o.order, "text": o.text, "score": o.score, "code": o.code,
                     "lowest_category": o.lowest_category}
                    for o in q.options.all()
                ],
            }  # fmt: skip
            for q in questions
        ],
    }


@router.get("/expiring", response=list[ExpiringOut], summary="Assessments expiring soon or expired (your scope)")
@paginate(PageNumberPagination, page_size=50)
def list_expiring(request: HttpRequest, within_days: int | None = None):
    if within_days is not None and not 0 <= within_days <= 366:
        raise HttpError(422, "within_days must be between 0 and 366")
    customer_list_record(actor=request.user, filters={"kyc": "expiring"}, shown=[], request=request, via="api")
    return assessments_expiring(actor=request.user, within_days=within_days).select_related("account_manager__user")


@router.get("/{customer_no}/assessments", response=list[AssessmentOut], summary="The customer's risk assessments")
@paginate(PageNumberPagination, page_size=50)
def list_assessments(request: HttpRequest, customer_no: str):
    _customer(request, customer_no)
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="api:kyc:assessments")
    return customer_assessments(actor=request.user, customer_no=customer_no)


@router.post("/{customer_no}/assessments", response={201: AssessmentOut}, summary="Record a risk assessment")
def post_assessment(request: HttpRequest, customer_no: str, payload: AssessmentIn):
    customer = _customer(request, customer_no)
    try:
        assessment = risk_assessment_submit(
            actor=request.user, customer=customer, answers=payload.answers, assessed_on=payload.assessed_on
        )
    except PermissionDenied:
        raise HttpError(403, "not allowed")
    except ValidationError as exc:
        raise HttpError(422, " ".join(exc.messages))
    row = next(r for r in customer_assessments(actor=request.user, customer_no=customer_no) if r.id == assessment.pk)
    return Status(201, row)
