"""Test helpers: products and customer profiles in known states."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from brokercrm.customers.models import Customer
from brokercrm.products.models import Product


def make_product(code: str = "P1", **kw) -> Product:
    values = dict(
        name=f"产品{code}",
        product_type="fund",
        risk_level="R3",
        horizon="medium",
        variety="equity",
        required_pool="",
        min_amount=Decimal("1000.00"),
        status="on_sale",
    )
    values.update(kw)
    return Product.objects.create(product_code=code, **values)


def set_profile(customer: Customer, **kw) -> Customer:
    """Give a customer an effective profile (default: C3, valid a year, medium, fixed income + equity)."""
    values = dict(
        risk_level="C3",
        risk_expiry=timezone.localdate() + timedelta(days=365),
        investor_class="ordinary",
        invest_horizon="medium",
        invest_varieties="fixed_income,equity",
    )
    values.update(kw)
    Customer.objects.unscoped().filter(pk=customer.pk).update(**values)
    customer.refresh_from_db()
    return customer


def set_pool(customer: Customer, pool: str, eligible: bool, as_of: date | None = None) -> None:
    """A published pool result (what the data center's publish writes)."""
    from brokercrm.datacenter.models import PoolEligibility

    PoolEligibility.objects.unscoped().update_or_create(
        customer=customer,
        pool=pool,
        defaults={"eligible": eligible, "as_of": as_of or timezone.localdate(), "reasons": "" if eligible else "assets"},
    )
