"""Head office's tags, their versions, and the coverage of every tag per published day."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokercrm.tags.choices import TagCategory, TagChange

#: ``tagengine.catalogue.CODE_PATTERN`` allows 63 characters
CODE_LENGTH = 63


class CustomTag(models.Model):
    """A tag head office wrote (the fields of a ``[[tag]]`` of ``builtin_tags.toml``).

    Written only through ``services`` (which validate the whole catalogue first); the code is the
    tag's identity in the warehouse and never changes. A deactivated tag is no longer computed; its
    code stays taken (reactivate it rather than reusing the code).
    """

    code = models.CharField(_("code"), max_length=CODE_LENGTH, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    category = models.CharField(_("category"), max_length=16, choices=TagCategory.choices)
    description = models.TextField(_("description"))
    rule = models.TextField(_("rule"))
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("changed at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: the last change of what the pipeline computes (the rule, or active): coverage counted
    #: before it is not this tag's yet
    rule_changed_at = models.DateTimeField(_("rule changed at"), default=timezone.now)

    class Meta:
        ordering = ["code"]
        verbose_name = _("custom tag")
        verbose_name_plural = _("custom tags")

    def __str__(self) -> str:
        return self.code


class CustomTagVersion(models.Model):
    """One version of a custom tag: who changed what, when (append-only; never edited)."""

    tag = models.ForeignKey(CustomTag, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField(_("version"))
    change = models.CharField(_("change"), max_length=12, choices=TagChange.choices)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    category = models.CharField(_("category"), max_length=16)
    description = models.TextField(_("description"))
    rule = models.TextField(_("rule"))
    active = models.BooleanField(_("active"))
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    #: kept as text too, so the version survives the user's deletion ("cli" from the command line)
    changed_by_username = models.CharField(_("changed by"), max_length=150)

    class Meta:
        ordering = ["tag", "-version"]
        verbose_name = _("custom tag version")
        verbose_name_plural = _("custom tag versions")
        constraints = [models.UniqueConstraint(fields=["tag", "version"], name="one_tag_version_number")]

    def __str__(self) -> str:
        return f"{self.tag_id} v{self.version} {self.change}"


class CoverageDay(models.Model):
    """A trading day whose tag coverage was counted: how many customers were evaluated, and the
    fingerprint of the ``tags`` snapshot counted (a recomputed day is counted again)."""

    as_of = models.DateField(_("day"), unique=True)
    #: customers evaluated on the day (rows of its ``customer_indicators`` snapshot)
    population = models.PositiveIntegerField(_("customers evaluated"))
    fingerprint = models.CharField(max_length=64)
    counted_at = models.DateTimeField(_("counted at"), auto_now=True)

    class Meta:
        ordering = ["-as_of"]
        verbose_name = _("tag coverage day")
        verbose_name_plural = _("tag coverage days")

    def __str__(self) -> str:
        return f"{self.as_of} ({self.population})"


class TagCoverage(models.Model):
    """Customers carrying a tag on a day (an aggregate: no customer is named). A tag no customer
    carried that day has no row."""

    as_of = models.DateField(_("day"))
    tag_code = models.CharField(_("tag"), max_length=CODE_LENGTH)
    customers = models.PositiveIntegerField(_("customers"))

    class Meta:
        ordering = ["-as_of", "tag_code"]
        verbose_name = _("tag coverage")
        verbose_name_plural = _("tag coverage")
        constraints = [models.UniqueConstraint(fields=["as_of", "tag_code"], name="one_coverage_per_tag_day")]
        indexes = [models.Index(fields=["tag_code", "as_of"])]

    def __str__(self) -> str:
        return f"{self.as_of} {self.tag_code} {self.customers}"
