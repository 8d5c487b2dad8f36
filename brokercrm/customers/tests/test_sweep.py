"""Every page and API endpoint that touches one customer, swept with three kinds of user."""

from django.urls import reverse

from brokercrm.testing import CustomerEndpointSweep, Endpoint, customer_routes, swept_routes


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
    )


def test_the_sweep_covers_every_customer_route(db):
    routes = customer_routes()
    assert routes, "no customer route found: the route walk is broken"
    assert routes <= swept_routes(), f"not swept: {sorted(routes - swept_routes())}"
