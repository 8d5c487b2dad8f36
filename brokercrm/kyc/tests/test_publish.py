"""Latest wins through the data center's real publish (the hook in ``datacenter_publish``)."""

from datetime import date

from brokercrm.customers.models import Customer
from brokercrm.datacenter import runner
from brokercrm.datacenter.services import datacenter_publish
from brokercrm.datacenter.tests.builders import Book
from brokercrm.kyc.models import RiskAssessment
from brokercrm.kyc.services import risk_assessment_submit
from brokercrm.kyc.tests.factories import typical

D1, D2, D3 = date(2026, 4, 20), date(2026, 4, 21), date(2026, 4, 22)
COUNTER = {"risk_level": "C2", "risk_expiry": date(2027, 4, 30), "invest_horizon": "short", "invest_varieties": "fixed_income"}


def _run(book, data_dir, days):
    book.publish(data_dir, days=days)
    runner.pipeline_run(data_dir=data_dir)
    datacenter_publish(data_dir=data_dir)


def test_republished_unchanged_counter_data_keeps_a_newer_crm_assessment(world, questionnaire, tmp_path):
    book = Book()
    book.customer(D1, "10000001", branch_code="0101", **COUNTER)
    book.account(D1, "N1", "10000001", branch_code="0101").cash(D1, "N1", "1000.00", "1000.00")
    book.day(D2)
    book.customer(D3, "10000001", branch_code="0101", mobile="13900000000", **COUNTER)  # another field changed
    _run(book, tmp_path, [D1])
    assert Customer.objects.unscoped().get(customer_no="10000001").risk_level == "C2"
    counter = RiskAssessment.objects.unscoped().get(source="counter")
    assert (counter.assessed_on, counter.risk_level, counter.expires_on) == (D1, "C2", date(2027, 4, 30))

    risk_assessment_submit(actor=world.user("am_a1"), customer="10000001", answers=typical(questionnaire), assessed_on=D2)
    _run(book, tmp_path, [D2, D3])
    customer = Customer.objects.unscoped().get(customer_no="10000001")
    assert (customer.mobile, customer.risk_level, customer.invest_horizon) == ("13900000000", "C4", "medium")
    assert RiskAssessment.objects.unscoped().filter(source="counter").count() == 1
