"""Suitability records, special risk warnings and re-match notices.

Records are evidence (DOMAIN.md: every decision used for a sale or recommendation is recorded —
who, when, inputs, result — and kept ≥ 20 years): they are append-only. The app never updates or
deletes one; the customer and product they refer to are protected from deletion.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.models import Customer
from brokercrm.org.models import Employee
from brokercrm.org.scope import ScopedManager
from brokercrm.products.models import Product
from brokercrm.suitability.choices import SuitabilityPurpose, SuitabilityResult

#: how many years records are kept at least (DOMAIN.md); the app deletes none
RETENTION_YEARS = 20

ERR_APPEND_ONLY = "Suitability records and risk warnings are kept and never changed or deleted."


class AppendOnly(models.Model):
    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(ERR_APPEND_ONLY)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(ERR_APPEND_ONLY)


class RiskWarning(AppendOnly):
    """A special risk warning issued in the app before a ``mismatch_warn`` sale (DOMAIN.md): the
    text the customer was shown, with the reasons. A sale that used it points to it."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="risk_warnings")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="risk_warnings")
    reasons = models.CharField(_("reasons"), max_length=200)
    text = models.TextField(_("warning text"))
    inputs = models.JSONField(_("inputs"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True, db_index=True)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("special risk warning")
        verbose_name_plural = _("special risk warnings")
        indexes = [models.Index(fields=["customer", "product", "-issued_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.product_id} {self.issued_at:%Y-%m-%d %H:%M}"


class SuitabilityRecord(AppendOnly):
    """One suitability decision used for a recommendation, a sale (or its refusal) or a re-match,
    with the exact inputs it was made from (DOMAIN.md, "Investor classification and suitability")."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="suitability_records")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="suitability_records")
    purpose = models.CharField(_("purpose"), max_length=16, choices=SuitabilityPurpose.choices)
    result = models.CharField(_("result"), max_length=16, choices=SuitabilityResult.choices)
    #: sorted reason codes joined by ";" (as in the export)
    reasons = models.CharField(_("reasons"), max_length=200, blank=True)
    #: the profile, product terms, pools and day the decision was made from
    inputs = models.JSONField(_("inputs"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor_username = models.CharField(_("by"), max_length=150, db_index=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    # --- sales ---
    amount = models.DecimalField(_("amount"), max_digits=18, decimal_places=2, null=True, blank=True)
    #: a refused sale (prohibited) is recorded too
    refused = models.BooleanField(_("refused"), default=False)
    risk_warning = models.OneToOneField(
        RiskWarning, on_delete=models.PROTECT, null=True, blank=True, related_name="sale", verbose_name=_("risk warning")
    )
    risk_warning_issued_at = models.DateTimeField(_("risk warning issued at"), null=True, blank=True)
    risk_warning_confirmed_at = models.DateTimeField(_("risk warning confirmed at"), null=True, blank=True)
    confirmed_by_customer = models.BooleanField(_("confirmed by the customer"), default=False)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("suitability record")
        verbose_name_plural = _("suitability records")
        indexes = [
            models.Index(fields=["customer", "product", "-id"]),
            models.Index(fields=["product", "customer"]),
            models.Index(fields=["purpose", "result"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.product_id} {self.purpose} {self.result}"

    @property
    def reason_list(self) -> list[str]:
        return self.reasons.split(";") if self.reasons else []


class RematchNotice(models.Model):
    """Tells an account manager that a customer's suitability for a product changed after a
    customer or product change (DOMAIN.md: "affected customers are re-matched and told")."""

    account_manager = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="rematch_notices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="rematch_notices")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="rematch_notices")
    record = models.OneToOneField(SuitabilityRecord, on_delete=models.PROTECT, related_name="notice")
    old_result = models.CharField(_("previous result"), max_length=16, choices=SuitabilityResult.choices)
    new_result = models.CharField(_("new result"), max_length=16, choices=SuitabilityResult.choices)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("re-match notice")
        verbose_name_plural = _("re-match notices")
        indexes = [models.Index(fields=["account_manager", "read_at"])]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.product_id} {self.old_result} → {self.new_result}"


@receiver(pre_delete, sender=SuitabilityRecord)
@receiver(pre_delete, sender=RiskWarning)
def _refuse_delete(sender, instance, **kwargs):
    """Bulk deletes (``QuerySet.delete``) bypass ``Model.delete``; this stops them too."""
    raise PermissionError(ERR_APPEND_ONLY)
