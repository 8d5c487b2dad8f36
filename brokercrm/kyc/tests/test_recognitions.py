"""Professional investors: the bars of DOMAIN.md, the four-eyes decision, latest wins on the class."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from brokercrm.customers.models import Customer
from brokercrm.kyc.models import InvestorClassChange, ProfessionalRecognition, RecognitionDocument
from brokercrm.kyc.services import (
    assessments_apply_counter,
    recognition_bar_failures,
    recognition_decide,
    recognition_request,
)

M = Decimal("1000000")


def _bars(kind, customer_type="individual", **evidence):
    defaults = {"qualifications": "", "risk_warning_issued": False, "written_request": False}
    return recognition_bar_failures(ProfessionalRecognition(kind=kind, **{**defaults, **evidence}), customer_type=customer_type)


@pytest.mark.parametrize(
    "assets, income, years, ok",
    [
        (5 * M, 0, 2, True),  # at the asset bar
        (5 * M - Decimal("0.01"), 0, 2, False),  # one cent short, no income
        (0, Decimal("500000"), 2, True),  # at the income bar
        (0, Decimal("499999.99"), 2, False),
        (5 * M, 0, Decimal("1.9"), False),  # not 2 years
    ],
)
def test_person_type_ii_bar(assets, income, years, ok):
    failures = _bars("recognise_ii", financial_assets=assets, annual_income=income, experience_years=years)
    assert (failures == []) is ok


def test_person_type_ii_experience_may_be_finance_work_or_a_qualification():
    assert _bars("recognise_ii", financial_assets=6 * M, experience_years=0, finance_work_years=2) == []
    assert _bars("recognise_ii", financial_assets=6 * M, experience_years=0, qualifications="CFA") == []
    failures = _bars("recognise_ii", financial_assets=6 * M, experience_years=1)
    assert len(failures) == 1 and "2 years of investment experience" in failures[0]


@pytest.mark.parametrize(
    "assets, income, years, ok",
    [
        (3 * M, 0, 1, True),
        (3 * M - Decimal("0.01"), Decimal("299999.99"), 1, False),
        (0, Decimal("300000"), 1, True),
        (3 * M, 0, Decimal("0.9"), False),
    ],
)
def test_person_type_iii_bar(assets, income, years, ok):
    failures = _bars("convert_to_iii", financial_assets=assets, annual_income=income, experience_years=years, risk_warning_issued=True)
    assert (failures == []) is ok


def test_type_iii_needs_the_risk_warning():
    failures = _bars("convert_to_iii", financial_assets=4 * M, experience_years=3)
    assert failures == ["The risk warning must be issued before an ordinary investor becomes professional."]


@pytest.mark.parametrize(
    "net, assets, years, n_failures",
    [(20 * M, 10 * M, 2, 0), (20 * M - 1, 10 * M, 2, 1), (20 * M, 10 * M - 1, 2, 1), (20 * M, 10 * M, 1, 1), (0, 0, 0, 3)],
)
def test_entity_type_ii_bar_needs_all_three(net, assets, years, n_failures):
    failures = _bars("recognise_ii", "institution", net_assets=net, financial_assets=assets, experience_years=years)
    assert len(failures) == n_failures


def test_being_treated_as_ordinary_needs_the_written_request():
    assert _bars("convert_to_ordinary") == ["The customer's written request is required."]
    assert _bars("convert_to_ordinary", written_request=True) == []


def test_request_then_approval_sets_the_class(world):
    customer = world.customers["a1"]
    upload = SimpleUploadedFile("资产证明.pdf", b"%PDF-1.4 10000001")
    request = recognition_request(
        actor=world.user("am_a1"), customer=customer, kind="recognise_ii", financial_assets="5200000.00",
        experience_years="3", documents=[upload],
    )  # fmt: skip
    assert request.status == "pending" and request.financial_assets == Decimal("5200000.00")
    assert RecognitionDocument.objects.unscoped().get().name == "资产证明.pdf"
    decided = recognition_decide(
        actor=world.user("bm_a"), customer=customer, recognition_id=request.pk, approve=True, effective_on=date(2025, 3, 10)
    )
    assert decided.status == "approved" and decided.effective_on == date(2025, 3, 10)
    assert Customer.objects.unscoped().get(pk=customer.pk).investor_class == "professional_ii"
    from brokercrm.org.models import AuditEvent

    trail = list(AuditEvent.objects.filter(object_id=customer.customer_no).order_by("pk").values_list("action", "actor_username"))
    assert trail == [("recognition_request", "am_a1"), ("recognition_decide", "bm_a")]


def test_approval_below_the_bar_is_refused_with_the_reason(world):
    customer = world.customers["a1"]
    request = recognition_request(
        actor=world.user("am_a1"), customer=customer, kind="recognise_ii", financial_assets="4999999.99", experience_years="3"
    )
    with pytest.raises(ValidationError) as exc:
        recognition_decide(actor=world.user("bm_a"), customer=customer, recognition_id=request.pk, approve=True)
    assert "¥5,000,000" in exc.value.messages[0]
    assert Customer.objects.unscoped().get(pk=customer.pk).investor_class == "ordinary"
    # a rejection is always possible
    recognition_decide(actor=world.user("bm_a"), customer=customer, recognition_id=request.pk, approve=False)
    assert ProfessionalRecognition.objects.unscoped().get().status == "rejected"


def test_who_may_request_and_decide(world):
    customer = world.customers["a1"]
    with pytest.raises(PermissionDenied):  # branch managers decide, they do not request
        recognition_request(actor=world.user("bm_a"), customer=customer, kind="recognise_ii")
    request = recognition_request(actor=world.user("am_a1"), customer=customer, kind="recognise_ii", financial_assets="6000000", experience_years="2")
    with pytest.raises(ValidationError, match="already has a pending request"):
        recognition_request(actor=world.user("am_a1"), customer=customer, kind="recognise_ii")
    with pytest.raises(PermissionDenied):  # account managers do not decide
        recognition_decide(actor=world.user("am_a1"), customer=customer, recognition_id=request.pk, approve=True)
    with pytest.raises(Customer.DoesNotExist):  # the other branch's manager does not see the customer
        recognition_decide(actor=world.user("bm_b"), customer=customer, recognition_id=request.pk, approve=True)


def test_a_request_must_fit_the_current_class(world):
    customer = world.customers["a1"]
    with pytest.raises(ValidationError, match="does not apply"):
        recognition_request(actor=world.user("am_a1"), customer=customer, kind="convert_to_ordinary", written_request=True)


def test_the_class_follows_latest_wins_against_the_counter(world):
    customer = world.customers["a1"]
    row = {"customer_no": customer.customer_no, "risk_level": "", "risk_expiry": None, "invest_horizon": "",
           "invest_varieties": "", "investor_class": "ordinary", "trade_date": date(2025, 3, 3)}  # fmt: skip
    assessments_apply_counter([row], date(2025, 3, 3))  # ordinary on the counter: nothing to record
    assert not InvestorClassChange.objects.unscoped().exists()
    request = recognition_request(
        actor=world.user("am_a1"), customer=customer, kind="convert_to_iii", financial_assets="3000000",
        experience_years="1", risk_warning_issued=True,
    )  # fmt: skip
    recognition_decide(actor=world.user("bm_a"), customer=customer, recognition_id=request.pk, approve=True, effective_on=date(2025, 3, 10))
    # the counter re-delivers the customer unchanged (still ordinary): the newer CRM class stays
    Customer.objects.unscoped().filter(pk=customer.pk).update(investor_class="ordinary")
    assessments_apply_counter([row | {"trade_date": date(2025, 3, 17)}], date(2025, 3, 17))
    assert Customer.objects.unscoped().get(pk=customer.pk).investor_class == "professional_iii"
    # the counter then records the customer as type II: newer, it wins
    Customer.objects.unscoped().filter(pk=customer.pk).update(investor_class="professional_ii")
    assessments_apply_counter([row | {"investor_class": "professional_ii", "trade_date": date(2025, 3, 18)}], date(2025, 3, 18))
    assert Customer.objects.unscoped().get(pk=customer.pk).investor_class == "professional_ii"
