"""A potential customer who opens an account is converted when the counter's customers are
published: matched by ID type and number, referral recorded, account manager handed over."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from brokercrm.customers.choices import LeadStatus, RelationshipKind
from brokercrm.customers.models import Customer, CustomerAssignment, CustomerRelationship, Lead
from brokercrm.customers.services import LEAD_CONVERSION, customer_create, leads_convert
from brokercrm.org.choices import AuditAction
from brokercrm.org.models import AuditEvent

ID = "110101199203150024"


def _lead(world, *, id_type="id_card", id_number=ID, manager="am_a1", referrer=None, **extra):
    return Lead.objects.unscoped().create(
        name="陈七", mobile="13800000000", id_type=id_type, id_number=id_number, source="referral",
        branch=world.nodes["a"], account_manager=world.employees[manager] if manager else None,
        referrer_customer=world.customers[referrer] if referrer else None, **extra,
    )  # fmt: skip


def _open(world, number, *, id_type="id_card", id_number=ID, manager=None, branch="a", opened=None):
    """A customer as the counter's publish creates it (by default: no account manager, opened today)."""
    return customer_create(
        customer_no=number, name="陈七", customer_type="individual", branch=world.nodes[branch],
        account_manager=world.employees[manager] if manager else None, id_type=id_type, id_number=id_number,
        open_date=opened or timezone.localdate(),
    )  # fmt: skip


def test_a_matching_id_converts_the_lead(world):
    lead = _lead(world)
    customer = _open(world, "20000001")
    assert leads_convert(customer_nos=["20000001"]) == 1
    lead.refresh_from_db()
    assert (lead.status, lead.converted_customer, lead.converted_at is not None) == (LeadStatus.CONVERTED, customer, True)


def test_no_match_different_id_type_or_opened_before_the_lead_converts_nothing(world):
    lead = _lead(world)
    passport = _lead(world, id_type="passport", id_number="E12345678")
    _open(world, "20000001", id_number="110101199203150032")  # another person
    _open(world, "20000002", id_type="id_card", id_number="E12345678")  # same number, other ID type
    yesterday = timezone.localdate() - timedelta(days=1)
    _open(world, "20000003", opened=yesterday)  # already a customer before the lead was registered
    assert leads_convert(customer_nos=["20000001", "20000002", "20000003"]) == 0
    assert {lead.status, Lead.objects.unscoped().get(pk=passport.pk).status} == {LeadStatus.NEW}
    # only the customers published are matched
    _open(world, "20000004")
    assert leads_convert(customer_nos=["20000001"]) == 0
    assert leads_convert(customer_nos=["20000004"]) == 1


def test_a_converted_lead_stays_with_its_customer(world):
    lead = _lead(world)
    first = _open(world, "20000001")
    leads_convert(customer_nos=["20000001"])
    _open(world, "20000002")  # the same person opens a second account later
    assert leads_convert(customer_nos=["20000002"]) == 0
    lead.refresh_from_db()
    assert lead.converted_customer == first


def test_the_referrer_is_recorded_for_the_new_customer(world):
    _lead(world, referrer="a1b")
    customer = _open(world, "20000001")
    leads_convert(customer_nos=["20000001"])
    relation = CustomerRelationship.objects.unscoped().get(customer=customer)
    assert (relation.kind, relation.related_customer) == (RelationshipKind.REFERRER, world.customers["a1b"])
    page = world.client("bm_a").get(reverse("customers:detail", args=["20000001"])).content.decode()
    origin = page.split('data-testid="origin"')[1].split("</p>")[0]
    assert "李四" in origin and world.customers["a1b"].customer_no in origin  # referred by 李四
    assert reverse("customers:lead", args=[Lead.objects.unscoped().get().pk]) in origin  # converted from the lead


def test_the_leads_manager_serves_a_customer_who_has_none(world):
    lead = _lead(world, manager="am_a1")
    customer = _open(world, "20000001")
    leads_convert(customer_ids=[customer.pk])
    customer.refresh_from_db()
    assert customer.account_manager == world.employees["am_a1"]
    period = CustomerAssignment.objects.unscoped().get(customer=customer)
    assert period.ended_at is None and str(lead.pk) in period.reason
    entry = AuditEvent.objects.get(action=AuditAction.CUSTOMER_ASSIGN, object_id="20000001")
    assert entry.actor_username == LEAD_CONVERSION and entry.detail["to"] == "am_a1"


def test_a_customer_who_has_a_manager_keeps_them(world):
    _lead(world, manager="am_a1")
    customer = _open(world, "20000001", manager="am_a2")
    leads_convert(customer_nos=["20000001"])
    customer.refresh_from_db()
    assert customer.account_manager == world.employees["am_a2"]
    assert CustomerAssignment.objects.unscoped().filter(customer=customer).count() == 1
    # and a lead whose manager works in another branch than the new account leaves it unassigned
    _lead(world, id_number="110101199203150040", manager="am_b")
    other = _open(world, "20000002", id_number="110101199203150040")
    assert leads_convert(customer_nos=["20000002"]) == 1
    assert Customer.objects.unscoped().get(pk=other.pk).account_manager is None

