"""Taking an assessment, and "latest wins" between the CRM and the counter (DOMAIN.md)."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from brokercrm.customers.models import Customer
from brokercrm.kyc.models import InvestorClassChange, RiskAssessment
from brokercrm.kyc.services import assessments_apply_counter, risk_assessment_submit
from brokercrm.kyc.signals import customer_profile_changed
from brokercrm.kyc.tests.factories import typical

D1, D2, D3 = date(2025, 3, 3), date(2025, 3, 10), date(2025, 3, 17)


def _fresh(customer) -> Customer:
    return Customer.objects.unscoped().get(pk=customer.pk)


def _counter_row(customer, day, *, level="C2", expiry=date(2026, 1, 31), horizon="short", varieties="fixed_income", klass="ordinary"):
    return {
        "customer_no": customer.customer_no, "risk_level": level, "risk_expiry": expiry, "invest_horizon": horizon,
        "invest_varieties": varieties, "investor_class": klass, "trade_date": day,
    }  # fmt: skip


def _publish(customer, day, **values):
    """What the data center's publish does: overwrite the fields with the counter's, then call the hook."""
    row = _counter_row(customer, day, **values)
    Customer.objects.unscoped().filter(pk=customer.pk).update(
        risk_level=row["risk_level"], risk_expiry=row["risk_expiry"], invest_horizon=row["invest_horizon"],
        invest_varieties=row["invest_varieties"], investor_class=row["investor_class"],
    )  # fmt: skip
    return assessments_apply_counter([row], day)


@pytest.fixture
def signals():
    received = []

    def receiver(sender, customer, actor, reason, **kwargs):
        received.append((customer.customer_no, reason, actor))

    customer_profile_changed.connect(receiver)
    yield received
    customer_profile_changed.disconnect(receiver)


def test_an_account_manager_assesses_their_customer(world, questionnaire, signals):
    customer = world.customers["a1"]
    assessment = risk_assessment_submit(
        actor=world.user("am_a1"), customer=customer, answers=typical(questionnaire), assessed_on=date(2025, 3, 15)
    )
    assert (assessment.score, assessment.risk_level, assessment.source) == (68, "C4", "crm")
    assert assessment.expires_on == date(2027, 3, 14)
    assert assessment.questionnaire == questionnaire
    c = _fresh(customer)
    assert (c.risk_level, c.risk_expiry, c.invest_horizon, c.invest_varieties) == (
        "C4", date(2027, 3, 14), "medium", "fixed_income,equity"
    )
    assert signals == [("10000001", "crm_assessment", world.user("am_a1"))]
    from brokercrm.org.models import AuditEvent

    entry = AuditEvent.objects.get(action="risk_assess")
    assert (entry.actor, entry.object_id, entry.detail["risk_level"]) == (world.user("am_a1"), "10000001", "C4")


def test_only_assessors_with_the_customer_in_scope_may_assess(world, questionnaire):
    with pytest.raises(Customer.DoesNotExist):
        risk_assessment_submit(actor=world.user("am_b"), customer=world.customers["a1"], answers=typical(questionnaire))
    with pytest.raises(PermissionDenied):
        risk_assessment_submit(actor=world.user("bm_a"), customer=world.customers["a1"], answers=typical(questionnaire))
    assert not RiskAssessment.objects.unscoped().exists()


def test_an_assessment_cannot_be_dated_in_the_future(world, questionnaire):
    with pytest.raises(ValidationError, match="future"):
        risk_assessment_submit(
            actor=world.user("am_a1"), customer=world.customers["a1"], answers=typical(questionnaire),
            assessed_on=date.today() + timedelta(days=1),
        )  # fmt: skip


def test_the_counter_newer_than_the_crm_wins(world, questionnaire):
    customer = world.customers["a1"]
    risk_assessment_submit(actor=world.user("am_a1"), customer=customer, answers=typical(questionnaire), assessed_on=D1)
    assert _publish(customer, D2, level="C2") == 1
    c = _fresh(customer)
    assert (c.risk_level, c.risk_expiry, c.invest_horizon) == ("C2", date(2026, 1, 31), "short")
    counter = RiskAssessment.objects.unscoped().get(source="counter")
    assert counter.assessed_on == D2 and counter.risk_level == "C2"


def test_a_crm_assessment_newer_than_the_counter_wins_and_survives_republishing(world, questionnaire, signals):
    customer = world.customers["a1"]
    _publish(customer, D1, level="C2")
    risk_assessment_submit(actor=world.user("am_a1"), customer=customer, answers=typical(questionnaire), assessed_on=D2)
    assert _fresh(customer).risk_level == "C4"
    signals.clear()
    # the counter re-delivers the customer (another field changed): its risk values did not change
    assert _publish(customer, D3, level="C2") == 0
    c = _fresh(customer)
    assert (c.risk_level, c.invest_horizon) == ("C4", "medium")
    assert RiskAssessment.objects.unscoped().filter(source="counter").count() == 1
    assert signals == []  # nothing changed for the customer


def test_on_the_same_day_the_crm_wins_either_order(world, questionnaire):
    a, b = world.customers["a1"], world.customers["a2"]
    risk_assessment_submit(actor=world.user("am_a1"), customer=a, answers=typical(questionnaire), assessed_on=D2)
    _publish(a, D2, level="C1")
    _publish(b, D2, level="C1")
    risk_assessment_submit(actor=world.user("am_a2"), customer=b, answers=typical(questionnaire), assessed_on=D2)
    assert _fresh(a).risk_level == "C4" and _fresh(b).risk_level == "C4"


def test_a_counter_change_after_a_crm_assessment_wins_and_is_signalled(world, questionnaire, signals):
    customer = world.customers["a1"]
    _publish(customer, D1, level="C2")
    risk_assessment_submit(actor=world.user("am_a1"), customer=customer, answers=typical(questionnaire), assessed_on=D2)
    signals.clear()
    _publish(customer, D3, level="C5")
    assert _fresh(customer).risk_level == "C5"
    assert signals == [("10000001", "counter_change", None)]


def test_a_customer_first_seen_never_assessed_gets_no_record(world):
    customer = world.customers["a1"]
    assert _publish(customer, D1, level="", expiry=None, horizon="", varieties="") == 0
    assert not RiskAssessment.objects.unscoped().exists() and not InvestorClassChange.objects.unscoped().exists()


def test_customer_numbers_read_the_published_fields(world):
    customer = world.customers["a1"]
    Customer.objects.unscoped().filter(pk=customer.pk).update(risk_level="C3", risk_expiry=date(2026, 5, 1))
    assert assessments_apply_counter([customer.customer_no], D1) == 1
    record = RiskAssessment.objects.unscoped().get()
    assert (record.risk_level, record.expires_on, record.assessed_on) == ("C3", date(2026, 5, 1), D1)


def test_many_customers_in_one_call(world, questionnaire):
    # a newer CRM assessment for a1 only; every other customer takes the counter's values
    risk_assessment_submit(actor=world.user("am_a1"), customer=world.customers["a1"], answers=typical(questionnaire), assessed_on=D2)
    rows = [_counter_row(c, D1, level="C3") for c in world.customers.values()]
    Customer.objects.unscoped().update(risk_level="C3", risk_expiry=date(2026, 1, 31), invest_horizon="short")
    assert assessments_apply_counter(rows, D1) == 5
    levels = dict(Customer.objects.unscoped().values_list("customer_no", "risk_level"))
    assert levels == {"10000001": "C4", "10000002": "C3", "10000003": "C3", "10000004": "C3", "10000005": "C3"}
