"""The suitability section of the customer 360 page (``customers.panels.CUSTOMER_PANELS``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from brokercrm.customers.panels import Panel
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.products.choices import ProductStatus
from brokercrm.products.models import Product
from brokercrm.suitability.selectors import RECOMMENDABLE_TOP, customer_records, recommendable_products

#: records shown on the customer page before "all records"
PANEL_RECORDS = 20


def suitability_panel(*, request: HttpRequest, customer: Any) -> Panel | None:
    """Products the customer may be recommended (on sale, ``match``), their suitability records,
    and for account managers the recommend buttons and the sale form."""
    if not user_can(user=request.user, capability=Capability.VIEW_PRODUCTS):
        return None
    number = customer.customer_no
    can_sell = user_can(user=request.user, capability=Capability.SELL_PRODUCTS)
    records = customer_records(actor=request.user, customer_no=number)
    return Panel(
        template="suitability/_customer_panel.html",
        anchor="suitability",
        context={
            "wide": True,
            "recommendable": recommendable_products(actor=request.user, customer_no=number, per_page=RECOMMENDABLE_TOP),
            "records": list(records[:PANEL_RECORDS]),
            "records_more": records.count() > PANEL_RECORDS,
            "can_sell": can_sell,
            "on_sale": list(Product.objects.filter(status=ProductStatus.ON_SALE).order_by("product_code")) if can_sell else [],
        },
    )
