from brokercrm.customers.models import Customer
from brokercrm.kyc.demo import kyc_demo_load
from brokercrm.kyc.models import RiskAssessment


def test_the_demo_loads_once_and_sets_the_customers_profiles(world):
    counts = kyc_demo_load(seed=7, assessments=4)
    assert counts["assessments"] == 4
    assessed = RiskAssessment.objects.unscoped().values_list("customer__customer_no", "risk_level")
    levels = dict(Customer.objects.unscoped().values_list("customer_no", "risk_level"))
    assert all(levels[number] == level for number, level in assessed)
    assert kyc_demo_load(seed=7, assessments=4) == {}
