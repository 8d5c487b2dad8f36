"""Every suitability page and API endpoint that touches one customer, swept with three kinds of user."""

import pytest
from django.urls import reverse

from brokercrm.suitability.services import suitability_recommend
from brokercrm.testing import CustomerEndpointSweep, Endpoint, build_world
from brokercrm.suitability.tests.factories import make_product, set_profile


class _WithProduct(CustomerEndpointSweep):
    @pytest.fixture
    def world(self, db):
        world = build_world()
        set_profile(world.customers["a1"])
        # a record, so that the records endpoints have something of the customer to show
        suitability_recommend(actor=world.user("am_a1"), customer=world.customers["a1"], product=make_product("P0"))
        make_product("P1")
        return world


class TestSuitabilityReadEndpoints(_WithProduct):
    endpoints = (
        Endpoint("page: products", "GET", lambda no: reverse("suitability:customer_products", args=[no]) + "?result="),
        Endpoint("page: records", "GET", lambda no: reverse("suitability:customer_records", args=[no])),
        Endpoint("api: suitability", "GET", lambda no: f"/api/customers/{no}/suitability", api=True),
        Endpoint("api: records", "GET", lambda no: f"/api/customers/{no}/suitability/records", api=True),
    )


def _product(world, key):
    return {"product_code": "P1"}


def _sale(world, key):
    return {"product_code": "P1", "amount": "1000"}


class TestSuitabilityWriteEndpoints(_WithProduct):
    in_scope_user = "am_a1"
    endpoints = (
        Endpoint("page: recommend", "POST", lambda no: reverse("suitability:recommend", args=[no]), payload=_product, ok_status=302),
        Endpoint("page: sell", "POST", lambda no: reverse("suitability:sell", args=[no]), payload=_sale, ok_status=302),
        Endpoint("api: recommend", "POST", lambda no: f"/api/customers/{no}/suitability/recommend", payload=_product, api=True, json=True),
        Endpoint("api: warning", "POST", lambda no: f"/api/customers/{no}/suitability/warning", payload=_product, api=True, json=True, ok_status=422),
        Endpoint("api: sell", "POST", lambda no: f"/api/customers/{no}/suitability/sell", payload=_sale, api=True, json=True),
    )
