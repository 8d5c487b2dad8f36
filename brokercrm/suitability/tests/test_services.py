"""Recommend, sell (with the two-step special risk warning), records kept as evidence, re-match."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from brokercrm.customers.models import Customer
from brokercrm.suitability.models import RematchNotice, RiskWarning, SuitabilityRecord
from brokercrm.suitability.services import (
    suitability_recommend,
    suitability_rematch_customer,
    suitability_rematch_product,
    suitability_sell,
    suitability_warning_issue,
)
from brokercrm.suitability.tests.factories import make_product, set_pool, set_profile


def _code(caught) -> str:
    return caught.value.code


@pytest.fixture
def a1(world):
    return set_profile(world.customers["a1"])


def test_a_matching_product_is_recommended_and_recorded_with_its_inputs(world, a1):
    product = make_product("P1")
    record = suitability_recommend(actor=world.user("am_a1"), customer=a1, product=product)
    assert (record.purpose, record.result, record.reasons, record.actor_username) == ("recommendation", "match", "", "am_a1")
    inputs = record.inputs
    assert inputs["day"] == timezone.localdate().isoformat()
    assert inputs["customer"]["risk_level"] == "C3" and inputs["customer"]["invest_varieties"] == ["equity", "fixed_income"]
    assert inputs["product"] == {"product_code": "P1", "risk_level": "R3", "horizon": "medium", "variety": "equity", "required_pool": ""}
    assert inputs["pools"] == {}


def test_a_mismatch_is_never_recommended(world, a1):
    product = make_product("P1", risk_level="R4")
    with pytest.raises(ValidationError) as caught:
        suitability_recommend(actor=world.user("am_a1"), customer=a1, product=product)
    assert _code(caught) == "not_match"
    assert not SuitabilityRecord.objects.unscoped().exists()


def test_only_sellers_in_scope_may_recommend(world, a1):
    product = make_product("P1")
    with pytest.raises(PermissionDenied):  # a branch manager does not sell
        suitability_recommend(actor=world.user("bm_a"), customer=a1, product=product)
    with pytest.raises(Customer.DoesNotExist):  # another branch's manager does not see the customer
        suitability_recommend(actor=world.user("am_b"), customer=a1, product=product)


def test_a_matching_sale_is_recorded_with_its_amount(world, a1):
    record = suitability_sell(
        actor=world.user("am_a1"), customer=a1, product=make_product("P1"), amount="5000.50", warning_confirmed=False
    )
    assert (record.purpose, record.result, record.amount, record.refused) == ("sale", "match", Decimal("5000.50"), False)
    assert record.risk_warning is None and not record.confirmed_by_customer


def test_a_mismatch_sale_needs_the_warning_issued_then_confirmed(world, a1):
    am = world.user("am_a1")
    product = make_product("P1", risk_level="R4", horizon="long")  # C3/medium: risk_level and horizon fail
    with pytest.raises(ValidationError) as caught:
        suitability_sell(actor=am, customer=a1, product=product, amount="1000", warning_confirmed=True)
    assert _code(caught) == "warning_not_issued"  # confirming a warning nobody issued is not enough

    warning = suitability_warning_issue(actor=am, customer=a1, product=product)
    assert warning.reasons == "horizon;risk_level"
    assert "R4" in warning.text and str(product) in warning.text

    with pytest.raises(ValidationError) as caught:
        suitability_sell(actor=am, customer=a1, product=product, amount="1000", warning_confirmed=False)
    assert _code(caught) == "warning_not_confirmed"
    assert not SuitabilityRecord.objects.unscoped().exists()

    record = suitability_sell(actor=am, customer=a1, product=product, amount="1000", warning_confirmed=True)
    assert (record.result, record.reasons, record.confirmed_by_customer) == ("mismatch_warn", "horizon;risk_level", True)
    assert record.risk_warning == warning and record.risk_warning_issued_at == warning.issued_at
    assert record.risk_warning_confirmed_at >= warning.issued_at

    # one warning, one sale: the next sale needs a new warning
    with pytest.raises(ValidationError) as caught:
        suitability_sell(actor=am, customer=a1, product=product, amount="1000", warning_confirmed=True)
    assert _code(caught) == "warning_not_issued"


def test_a_stale_warning_does_not_count(world, a1):
    am = world.user("am_a1")
    product = make_product("P1", risk_level="R4")
    warning = suitability_warning_issue(actor=am, customer=a1, product=product)
    RiskWarning.objects.unscoped().filter(pk=warning.pk).update(issued_at=timezone.now() - timedelta(days=2))
    with pytest.raises(ValidationError) as caught:
        suitability_sell(actor=am, customer=a1, product=product, amount="1000", warning_confirmed=True)
    assert _code(caught) == "warning_not_issued"


def test_a_warning_is_only_issued_for_a_mismatch(world, a1):
    with pytest.raises(ValidationError) as caught:
        suitability_warning_issue(actor=world.user("am_a1"), customer=a1, product=make_product("P1"))
    assert _code(caught) == "warning_not_needed"


def test_a_prohibited_sale_is_refused_and_the_refusal_recorded(world, a1):
    set_profile(a1, risk_level="C0")
    product = make_product("P1", risk_level="R2")
    with pytest.raises(ValidationError) as caught:
        suitability_sell(actor=world.user("am_a1"), customer=a1, product=product, amount="2000", warning_confirmed=True)
    assert _code(caught) == "prohibited"
    record = SuitabilityRecord.objects.unscoped().get()
    assert (record.purpose, record.result, record.reasons, record.refused, record.amount) == (
        "sale", "prohibited", "lowest_category", True, Decimal("2000.00"),
    )


@pytest.mark.parametrize(
    "terms, amount, code",
    [({"status": "closed"}, "5000", "closed"), ({}, "999.99", "amount_below_min"), ({}, "-1", "amount"), ({}, "1.234", "amount")],
)
def test_closed_products_and_bad_amounts_are_refused(world, a1, terms, amount, code):
    with pytest.raises(ValidationError) as caught:
        suitability_sell(actor=world.user("am_a1"), customer=a1, product=make_product("P1", **terms), amount=amount, warning_confirmed=False)
    assert _code(caught) == code
    assert not SuitabilityRecord.objects.unscoped().exists()


def test_the_published_pool_decides_a_pool_product(world, a1):
    am = world.user("am_a1")
    product = make_product("P1", required_pool="margin")
    with pytest.raises(ValidationError):
        suitability_recommend(actor=am, customer=a1, product=product)
    set_pool(a1, "margin", True)
    record = suitability_recommend(actor=am, customer=a1, product=product)
    assert record.result == "match" and record.inputs["pools"] == {"margin": True}
    assert record.inputs["pools_day"] == timezone.localdate().isoformat()


def test_records_are_append_only(world, a1):
    record = suitability_recommend(actor=world.user("am_a1"), customer=a1, product=make_product("P1"))
    record.result = "prohibited"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError), transaction.atomic():
        SuitabilityRecord.objects.unscoped().all().delete()
    assert SuitabilityRecord.objects.unscoped().get().result == "match"


# --- re-match -------------------------------------------------------------------------------------


def test_a_profile_change_rematches_and_tells_the_account_manager_once(world, a1):
    am = world.user("am_a1")
    p1, p2 = make_product("P1"), make_product("P2", risk_level="R2")
    suitability_recommend(actor=am, customer=a1, product=p1)
    suitability_recommend(actor=am, customer=a1, product=p2)
    make_product("P3", risk_level="R1")  # never recommended: not re-matched

    set_profile(a1, risk_level="C2")  # R3 no longer fits; R2 still does
    notices = suitability_rematch_customer(customer=a1, actor=world.user("hq_admin"))
    assert [(n.product.product_code, n.old_result, n.new_result) for n in notices] == [("P1", "match", "mismatch_warn")]
    assert notices[0].account_manager == world.employees["am_a1"]
    rematch = SuitabilityRecord.objects.unscoped().get(purpose="rematch")
    assert (rematch.product, rematch.reasons, rematch.actor_username) == (p1, "risk_level", "hq_admin")
    assert rematch.inputs["customer"]["risk_level"] == "C2"

    # nothing changed since: nothing recorded, nobody told again
    assert suitability_rematch_customer(customer=a1) == []
    set_profile(a1, risk_level="C2", invest_varieties="fixed_income,equity,other")  # no result changes
    assert suitability_rematch_customer(customer=a1) == []
    assert RematchNotice.objects.unscoped().count() == 1


def test_a_product_change_rematches_its_customers_in_bulk(world, a1):
    a1b = set_profile(world.customers["a1b"])
    loose = set_profile(world.customers["a_unassigned"])
    c2 = set_profile(world.customers["b"], risk_level="C5", invest_horizon="long")
    product = make_product("P1")
    suitability_recommend(actor=world.user("am_a1"), customer=a1, product=product)
    suitability_sell(actor=world.user("am_a1b"), customer=a1b, product=product, amount="1000", warning_confirmed=False)
    suitability_recommend(actor=world.user("am_b"), customer=c2, product=product)
    # an unassigned customer's record (recommended before the manager left)
    SuitabilityRecord.objects.create(
        customer=loose, product=product, purpose="recommendation", result="match", inputs={}, actor_username="x"
    )

    product.risk_level = "R5"
    product.save()
    notices = suitability_rematch_product(product=product, actor=None)
    told = sorted((n.account_manager.user.username, n.old_result, n.new_result) for n in notices)
    # C5/long still matches R5 (b is not told); C3 customers fall to mismatch_warn
    assert told == [("am_a1", "match", "mismatch_warn"), ("am_a1b", "match", "mismatch_warn")]
    # the unassigned customer is re-matched and recorded, with nobody to tell
    assert SuitabilityRecord.objects.unscoped().filter(purpose="rematch").count() == 3
    assert SuitabilityRecord.objects.unscoped().filter(purpose="rematch", actor_username="system").count() == 3


def test_the_signals_trigger_the_rematch(world, a1):
    kyc_signals = pytest.importorskip("brokercrm.kyc.signals")
    product_signals = pytest.importorskip("brokercrm.products.signals")
    product = make_product("P1")
    suitability_recommend(actor=world.user("am_a1"), customer=a1, product=product)
    set_profile(a1, risk_level="C1")
    kyc_signals.customer_profile_changed.send(sender=Customer, customer=a1, actor=None, reason="test")
    assert RematchNotice.objects.unscoped().filter(new_result="mismatch_warn").count() == 1
    set_profile(a1, risk_level="C3")
    product_signals.product_terms_changed.send(sender=type(product), product=product, old={}, actor=None)
    assert RematchNotice.objects.unscoped().filter(new_result="match").count() == 1
