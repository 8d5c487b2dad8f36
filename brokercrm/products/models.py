"""The product library: what the brokerage sells or recommends, with its risk level R1–R5."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.choices import Pool
from brokercrm.products.choices import ProductHorizon, ProductRisk, ProductStatus, ProductType, ProductVariety


class Product(models.Model):
    """A product or service (DOMAIN.md, "Product library import"). Not customer data: every user
    with ``VIEW_PRODUCTS`` sees the whole library; head office edits it."""

    product_code = models.CharField(_("product code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    product_type = models.CharField(_("product type"), max_length=16, choices=ProductType.choices)
    risk_level = models.CharField(_("risk level"), max_length=2, choices=ProductRisk.choices)
    horizon = models.CharField(_("horizon"), max_length=8, choices=ProductHorizon.choices)
    variety = models.CharField(_("variety"), max_length=16, choices=ProductVariety.choices)
    #: the qualified pool a buyer must be in (empty: none)
    required_pool = models.CharField(_("required pool"), max_length=16, choices=Pool.choices, blank=True)
    issuer = models.CharField(_("issuer"), max_length=200, blank=True)
    min_amount = models.DecimalField(_("minimum amount"), max_digits=18, decimal_places=2, default=0)
    status = models.CharField(_("status"), max_length=8, choices=ProductStatus.choices, default=ProductStatus.ON_SALE)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        indexes = [models.Index(fields=["status", "risk_level"])]

    def __str__(self) -> str:
        return f"{self.product_code} {self.name}"
