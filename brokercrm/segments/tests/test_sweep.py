"""Customer endpoints of the segments app, swept with three kinds of user (``brokercrm.testing``)."""

from brokercrm.testing import CustomerEndpointSweep, Endpoint


class TestSegmentEndpoints(CustomerEndpointSweep):
    endpoints = (Endpoint("api: customer segment", "GET", lambda no: f"/api/segments/customers/{no}", api=True),)
