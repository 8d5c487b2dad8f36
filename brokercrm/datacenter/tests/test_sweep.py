"""Customer endpoints of the datacenter app, swept with three kinds of user (``brokercrm.testing``)."""

from brokercrm.testing import CustomerEndpointSweep, Endpoint


class TestPoolEndpoints(CustomerEndpointSweep):
    endpoints = (Endpoint("api: customer pools", "GET", lambda no: f"/api/customers/{no}/pools", api=True),)
