"""The demo's potential customers, relationships and timelines."""

from datetime import date, timedelta

from brokercrm.customers.choices import LeadStatus, RelationshipKind
from brokercrm.customers.demo import demo_customer_activity
from brokercrm.customers.models import CustomerRelationship, Interaction, Lead
from brokercrm.customers.services import customer_create


def test_demo_activity_is_consistent_and_loaded_once(world):
    managers = [world.employees[u] for u in ("am_a1", "am_a1b", "am_a2")]
    for i in range(30):
        customer_create(
            customer_no=f"5000{i:04d}", name=f"演示{i}", customer_type="individual", branch=world.nodes["a"],
            account_manager=managers[i % 3], id_type="id_card", id_number=f"11010119800101{i:04d}",
            open_date=date(2025, 1, 1) + timedelta(days=i),
        )  # fmt: skip
    made = demo_customer_activity(seed=7, leads=20, converted=6, relationships=20)
    assert made.leads == Lead.objects.unscoped().count() == 26 and made.converted == 6
    converted = Lead.objects.unscoped().filter(status=LeadStatus.CONVERTED).select_related("converted_customer")
    assert len(converted) == 6
    for lead in converted:
        assert lead.converted_customer.id_number == lead.id_number
        if lead.referrer_customer_id:  # the referral is on the new customer's record
            assert CustomerRelationship.objects.unscoped().filter(
                customer=lead.converted_customer, related_customer_id=lead.referrer_customer_id, kind=RelationshipKind.REFERRER
            ).exists()
    entries = Interaction.objects.unscoped().select_related("customer__account_manager__user", "author")
    assert made.interactions == len(entries) > 0
    assert all(e.author == e.customer.account_manager.user for e in entries)  # written by the customer's manager
    assert made.relationships == CustomerRelationship.objects.unscoped().filter(created_by__isnull=False).count()
    assert demo_customer_activity(seed=7).leads == 0 and Lead.objects.unscoped().count() == 26


def test_demo_aml_reviews_fall_within_each_level_cycle(world):
    from brokercrm.customers.demo import demo_aml_reviews
    from brokercrm.customers.models import Customer
    from brokercrm.customers.rules import add_months
    from brokercrm.service.data_events import aml_review_due

    as_of = date(2026, 4, 22)
    levels = {"a1": "high", "a1b": "medium", "a2": "low", "a_unassigned": "", "b": "high"}
    for key, level in levels.items():
        Customer.objects.unscoped().filter(pk=world.customers[key].pk).update(aml_level=level, open_date=date(2015, 6, 1))
    assert demo_aml_reviews(seed=7, as_of=as_of, overdue_share=0) == 4
    for key in ("a1", "a1b", "a2", "b"):
        c = Customer.objects.unscoped().get(pk=world.customers[key].pk)
        assert c.aml_reviewed_on < as_of and aml_review_due(level=c.aml_level, reviewed=c.aml_reviewed_on, opened=c.open_date) > as_of
    assert Customer.objects.unscoped().get(pk=world.customers["a_unassigned"].pk).aml_reviewed_on is None  # no rating
    reviewed = dict(Customer.objects.unscoped().values_list("pk", "aml_reviewed_on"))
    assert demo_aml_reviews(seed=8, as_of=as_of, overdue_share=0) == 0  # loaded once
    assert dict(Customer.objects.unscoped().values_list("pk", "aml_reviewed_on")) == reviewed
    assert add_months(as_of, -6) < Customer.objects.unscoped().get(pk=world.customers["a1"].pk).aml_reviewed_on
