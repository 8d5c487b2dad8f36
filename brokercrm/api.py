"""The REST API (django-ninja): OpenAPI docs at ``/api/docs``; session or bearer-token auth;
the same selectors, services and data scope as the pages; every list is paginated."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.security import HttpBearer, SessionAuth

from brokercrm.org.services import api_token_authenticate


class TokenAuth(HttpBearer):
    """``Authorization: Bearer bcrm_…`` — a token issued by ``brokercrm token create``."""

    def authenticate(self, request: HttpRequest, token: str):
        user = api_token_authenticate(token=token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="brokercrm API",
    version="1",
    description="Customer relationship management for securities brokerages. "
    "Every endpoint applies the caller's data scope.",
    auth=[SessionAuth(), TokenAuth()],
    urls_namespace="api",
)

from brokercrm.customers.api import router as customers_router  # noqa: E402
from brokercrm.kyc.api import router as kyc_router  # noqa: E402
from brokercrm.org.api import router as org_router  # noqa: E402
from brokercrm.products.api import router as products_router  # noqa: E402
from brokercrm.suitability.api import customer_router as suitability_customer_router  # noqa: E402
from brokercrm.suitability.api import router as suitability_router  # noqa: E402

api.add_router("/customers", customers_router)
api.add_router("/org", org_router)
api.add_router("/products", products_router)
api.add_router("/kyc", kyc_router)
api.add_router("/suitability", suitability_router)
# /api/customers/{customer_no}/suitability… beside the customer endpoints
api.add_router("/customers", suitability_customer_router)
# /api/pools and /api/customers/{customer_no}/pools (qualified customer pools)
from brokercrm.datacenter.api import router as pools_router  # noqa: E402

api.add_router("/", pools_router)
# /api/segments (tiers, ABCD classes, tier changes, the tier policy)
from brokercrm.segments.api import router as segments_router  # noqa: E402

api.add_router("/segments", segments_router)
# /api/tags (the tag catalogue with coverage; head office's own tags)
from brokercrm.tags.api import router as tags_router  # noqa: E402

api.add_router("/tags", tags_router)
# /api/events (market events and their impact lists) and /api/tasks (the account manager's tasks)
from brokercrm.service.api import router as service_router  # noqa: E402

api.add_router("/", service_router)
