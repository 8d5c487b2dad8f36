"""Every page and API endpoint that touches one customer, swept with three kinds of user."""

from django.urls import reverse

from brokercrm.customers.choices import RelationshipKind
from brokercrm.customers.models import CustomerRelationship
from brokercrm.testing import CustomerEndpointSweep, Endpoint, customer_routes, swept_routes


def _relationship_of(world, key):
    """A relationship of the swept customer, for the removal endpoints."""
    row = CustomerRelationship.objects.unscoped().create(
        customer=world.customers[key], related_name="周八", kind=RelationshipKind.SIBLING
    )
    return {"relationship": row.pk}


def _assign_to(username):
    # each reassignment goes to a different manager: a no-op reassignment is refused
    return lambda world, key: {"account_manager": username, "reason": "sweep"}


class TestCustomerEndpoints(CustomerEndpointSweep):
    endpoints = (
        Endpoint("page: customer", "GET", lambda no: reverse("customers:detail", args=[no])),
        Endpoint(
            "page: reassign",
            "POST",
            lambda no: reverse("customers:assign", args=[no]),
            payload=_assign_to("am_a2"),
            ok_status=302,
        ),
        Endpoint("page: recent flows", "GET", lambda no: reverse("customers:flows", args=[no]) + "?kind=cash"),
        Endpoint("api: customer", "GET", lambda no: f"/api/customers/{no}", api=True),
        Endpoint("api: assignments", "GET", lambda no: f"/api/customers/{no}/assignments", api=True),
        Endpoint(
            "api: reassign", "POST", lambda no: f"/api/customers/{no}/assign", payload=_assign_to("am_a1b"), api=True, json=True
        ),
        Endpoint("page: interactions (more)", "GET", lambda no: reverse("customers:interactions", args=[no]) + "?page=1"),
        Endpoint(
            "page: add interaction",
            "POST",
            lambda no: reverse("customers:interactions", args=[no]),
            payload=lambda world, key: {"kind": "call", "content": "sweep"},
            ok_status=302,
        ),
        Endpoint(
            "page: add relationship",
            "POST",
            lambda no: reverse("customers:relationship_add", args=[no]),
            payload=lambda world, key: {"kind": "sibling", "related_name": "周八"},
            ok_status=302,
        ),
        Endpoint(
            "page: remove relationship",
            "POST",
            lambda no: reverse("customers:relationship_remove", args=[no]),
            payload=_relationship_of,
            ok_status=302,
        ),
        Endpoint("api: interactions", "GET", lambda no: f"/api/customers/{no}/interactions", api=True),
        Endpoint(
            "api: add interaction",
            "POST",
            lambda no: f"/api/customers/{no}/interactions",
            payload=lambda world, key: {"kind": "call", "content": "sweep"},
            api=True,
            json=True,
            ok_status=201,
        ),
        Endpoint("api: relationships", "GET", lambda no: f"/api/customers/{no}/relationships", api=True),
        Endpoint(
            "api: add relationship",
            "POST",
            lambda no: f"/api/customers/{no}/relationships",
            payload=lambda world, key: {"kind": "sibling", "related_name": "周八"},
            api=True,
            json=True,
            ok_status=201,
        ),
        Endpoint(
            "api: remove relationship",
            "POST",
            lambda no: f"/api/customers/{no}/relationships/remove",
            payload=_relationship_of,
            api=True,
            json=True,
        ),
    )


def test_the_sweep_covers_every_customer_route(db):
    routes = customer_routes()
    assert routes, "no customer route found: the route walk is broken"
    assert routes <= swept_routes(), f"not swept: {sorted(routes - swept_routes())}"
