"""Re-match on change (DOMAIN.md: "When customer or product information changes, affected
customers are re-matched and told"). Receivers only hand over to the services."""

from __future__ import annotations

from typing import Any


def on_customer_profile_changed(sender: Any, customer: Any, actor: Any = None, reason: str = "", **kwargs: Any) -> None:
    from brokercrm.suitability.services import suitability_rematch_customer

    suitability_rematch_customer(customer=customer, actor=actor)


def on_product_terms_changed(sender: Any, product: Any, old: Any = None, actor: Any = None, **kwargs: Any) -> None:
    from brokercrm.suitability.services import suitability_rematch_product

    suitability_rematch_product(product=product, actor=actor)


def connect() -> None:
    from brokercrm.kyc.signals import customer_profile_changed
    from brokercrm.products.signals import product_terms_changed

    customer_profile_changed.connect(on_customer_profile_changed, dispatch_uid="suitability-rematch-customer")
    product_terms_changed.connect(on_product_terms_changed, dispatch_uid="suitability-rematch-product")
