"""The product library: what the brokerage sells or recommends, with its risk level R1–R5."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.deconstruct import deconstructible
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


def product_document_root() -> Path:
    """Where product documents are kept: ``MEDIA_ROOT/products`` when the deployment configures a
    media root, else ``DATA_DIR/media/products``. Read on every use, so tests can point it elsewhere."""
    if getattr(settings, "MEDIA_ROOT", ""):
        return Path(settings.MEDIA_ROOT) / "products"
    return Path(settings.DATA_DIR) / "media" / "products"


@deconstructible(path="brokercrm.products.models.ProductDocumentStorage")
class ProductDocumentStorage(FileSystemStorage):
    """Files under :func:`product_document_root`. They have no public URL: the product page serves
    them to users with ``VIEW_PRODUCTS`` only."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def base_location(self):  # type: ignore[override]
        return product_document_root()

    @property
    def location(self):  # type: ignore[override]
        return os.path.abspath(product_document_root())

    @property
    def base_url(self):  # type: ignore[override]
        return None


class ProductDocument(models.Model):
    """A document of a product: prospectus, contract, risk disclosure (head office uploads)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="documents", verbose_name=_("product"))
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(_("file"), storage=ProductDocumentStorage(), upload_to="%Y/%m/", max_length=300)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("product document")
        verbose_name_plural = _("product documents")

    def __str__(self) -> str:
        return f"{self.product.product_code} {self.title}"

    @property
    def filename(self) -> str:
        return Path(self.file.name).name
