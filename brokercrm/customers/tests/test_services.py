"""Reassignment keeps the history of who served a customer when."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from brokercrm.customers.models import Customer, CustomerAssignment
from brokercrm.customers.services import ERR_OUTSIDE_BRANCH, ERR_SAME_MANAGER, customer_assign
from brokercrm.org.choices import AuditAction
from brokercrm.org.models import AuditEvent


def test_reassignment_closes_the_old_period_and_opens_a_new_one(world):
    number = world.customers["a1"].customer_no
    customer_assign(actor=world.user("bm_a"), customer_no=number, account_manager=world.employees["am_a2"], reason="holiday")
    customer_assign(actor=world.user("hq_admin"), customer_no=number, account_manager=world.employees["am_a1"])
    periods = list(CustomerAssignment.objects.unscoped().filter(customer__customer_no=number).order_by("id"))
    assert [p.account_manager.user.username for p in periods] == ["am_a1", "am_a2", "am_a1"]
    assert periods[0].ended_at == periods[1].started_at
    assert periods[1].ended_at == periods[2].started_at and periods[2].ended_at is None
    assert periods[1].assigned_by.username == "bm_a" and periods[1].reason == "holiday"
    assert Customer.objects.unscoped().get(customer_no=number).account_manager.user.username == "am_a1"
    entry = AuditEvent.objects.filter(action=AuditAction.CUSTOMER_ASSIGN).order_by("id").first()
    assert entry.detail == {"from": "am_a1", "to": "am_a2", "reason": "holiday"}


def test_the_new_manager_sees_the_customer_and_the_old_one_does_not(world):
    number = world.customers["a1"].customer_no
    customer_assign(actor=world.user("bm_a"), customer_no=number, account_manager=world.employees["am_a2"])
    assert Customer.objects.for_user(world.user("am_a2")).filter(customer_no=number).exists()
    assert not Customer.objects.for_user(world.user("am_a1")).filter(customer_no=number).exists()


def test_reassignment_rules(world):
    number = world.customers["a1"].customer_no
    with pytest.raises(PermissionDenied):  # an account manager may not reassign
        customer_assign(actor=world.user("am_a1"), customer_no=number, account_manager=world.employees["am_a2"])
    with pytest.raises(Customer.DoesNotExist):  # another branch's manager does not see it
        customer_assign(actor=world.user("bm_b"), customer_no=number, account_manager=world.employees["am_b"])
    with pytest.raises(ValidationError) as caught:
        customer_assign(actor=world.user("hq_admin"), customer_no=number, account_manager=world.employees["am_b"])
    assert caught.value.messages == [ERR_OUTSIDE_BRANCH.format(username="am_b")]
    with pytest.raises(ValidationError) as caught:
        customer_assign(actor=world.user("bm_a"), customer_no=number, account_manager=world.employees["am_a1"])
    assert caught.value.messages == [ERR_SAME_MANAGER.format(username="am_a1")]
    assert CustomerAssignment.objects.unscoped().filter(customer__customer_no=number).count() == 1


def test_a_customer_without_manager_gets_a_first_period(world):
    number = world.customers["a_unassigned"].customer_no
    customer_assign(actor=world.user("bm_a"), customer_no=number, account_manager=world.employees["am_a1"])
    periods = CustomerAssignment.objects.unscoped().filter(customer__customer_no=number)
    assert periods.count() == 1 and periods.get().ended_at is None
