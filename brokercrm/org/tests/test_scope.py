"""The data scope: who sees which customer, and that everything else sees nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser

from brokercrm.customers.models import Customer, CustomerAssignment
from brokercrm.testing import EXPECTED_SCOPE


def visible(world, username):
    numbers = set(Customer.objects.for_user(world.user(username)).values_list("customer_no", flat=True))
    return {key for key, c in world.customers.items() if c.customer_no in numbers}


@pytest.mark.parametrize("username", sorted(EXPECTED_SCOPE))
def test_each_role_sees_exactly_its_customers(world, username):
    assert visible(world, username) == EXPECTED_SCOPE[username]


@pytest.mark.parametrize("username", sorted(EXPECTED_SCOPE))
def test_related_rows_follow_the_customer_scope(world, username):
    rows = CustomerAssignment.objects.for_user(world.user(username))
    keys = {k for k, c in world.customers.items() if rows.filter(customer=c).exists()}
    # the unassigned customer has no assignment row at all
    assert keys == EXPECTED_SCOPE[username] - {"a_unassigned"}


def test_a_query_without_scope_returns_nothing(world):
    assert Customer.objects.count() == 0
    assert list(Customer.objects.filter(customer_no=world.customers["a1"].customer_no)) == []
    assert CustomerAssignment.objects.count() == 0
    # related managers go through the default manager too
    assert world.employees["am_a1"].customers.count() == 0


def test_unscoped_is_the_explicit_escape_hatch(world):
    assert Customer.objects.unscoped().count() == len(world.customers)


def test_anonymous_inactive_and_unplaced_users_see_nothing(world):
    assert Customer.objects.for_user(AnonymousUser()).count() == 0
    assert Customer.objects.for_user(None).count() == 0
    stranger = get_user_model().objects.create_user("stranger", password="x-very-long-pass")
    assert Customer.objects.for_user(stranger).count() == 0
    superuser = get_user_model().objects.create_superuser("root", password="x-very-long-pass")
    assert Customer.objects.for_user(superuser).count() == 0, "superuser without a role is not a scope"

    user = world.user("hq_admin")
    user.is_active = False
    user.save()
    assert Customer.objects.for_user(get_user_model().objects.get(pk=user.pk)).count() == 0

    employee = world.employees["bm_a"]
    employee.is_active = False
    employee.save()
    assert Customer.objects.for_user(get_user_model().objects.get(pk=employee.user_id)).count() == 0


def test_scope_follows_a_move_to_another_team(world):
    from brokercrm.org.models import Employee

    Employee.objects.filter(pk=world.employees["am_a2"].pk).update(node=world.nodes["a1"])
    fresh = get_user_model().objects.get(username="tl_a1")
    numbers = set(Customer.objects.for_user(fresh).values_list("customer_no", flat=True))
    assert world.customers["a2"].customer_no in numbers
