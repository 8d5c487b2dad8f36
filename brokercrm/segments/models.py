"""Tiers and ABCD classes as pages need them (DOMAIN.md, "Tiers (客户级别) and the ABCD matrix").

The warehouse computes them (``segments.pipeline``); ``services.segments_publish`` keeps the
current values per customer and every tier change here, for the customer page and the
"who moved this month" list. Head office's thresholds and multipliers are ``TierPolicy`` rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.models import Customer
from brokercrm.org.scope import ScopedManager
from brokercrm.segments.choices import AbcdClass, SegmentVisibility, Tier, TierChangeReason

MONEY = {"max_digits": 18, "decimal_places": 2}


class CustomerSegment(models.Model):
    """A customer's current tier and ABCD class, with the figures behind the class.

    ``as_of`` is the trading day of the computation that last changed the row (a publication
    writes only rows that changed; the day the whole segmentation holds for is
    ``SegmentPublication.as_of``).
    """

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="segment")
    tier = models.CharField(_("tier"), max_length=8, choices=Tier.choices)
    tier_since = models.DateField(_("tier since"))
    abcd_class = models.CharField(_("ABCD class"), max_length=1, choices=AbcdClass.choices)
    as_of = models.DateField(_("as of"))
    #: Σ net commission + margin interest paid over the trailing 250 trading days
    contribution = models.DecimalField(_("contribution"), **MONEY)
    #: Σ trade amount ÷ mean total assets over the same window
    turnover = models.DecimalField(_("turnover rate"), max_digits=18, decimal_places=4)
    net_commission_12m = models.DecimalField(_("net commission, trailing 12 months"), **MONEY)
    commission_partial = models.BooleanField(_("less than 12 months of history"), default=False)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        verbose_name = _("customer segment")
        verbose_name_plural = _("customer segments")
        indexes = [models.Index(fields=["tier"]), models.Index(fields=["abcd_class"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.tier} {self.abcd_class}"


class TierChange(models.Model):
    """One change of a customer's tier: the starting tier (``initial``, no old tier), an upgrade
    or a downgrade, with its date (DOMAIN.md: "every change is kept with its date, old tier, new
    tier and reason")."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tier_changes")
    date = models.DateField(_("date"))
    old = models.CharField(_("old tier"), max_length=8, choices=Tier.choices, blank=True)
    new = models.CharField(_("new tier"), max_length=8, choices=Tier.choices)
    reason = models.CharField(_("reason"), max_length=12, choices=TierChangeReason.choices)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "-date"]
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        constraints = [models.UniqueConstraint(fields=["customer", "date"], name="one_tier_change_per_day")]
        indexes = [models.Index(fields=["date", "reason"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.date} {self.old or '-'} → {self.new}"


class CustomerTag(models.Model):
    """A tag a customer carries (``tagengine``), as of the latest published pipeline day.

    One row per customer and tag: "customers with tags X and Y in my scope" is an index lookup
    per tag (``tag_code, customer``) intersected in the database, not a scan of a text field.
    ``as_of`` is the trading day the customer was first seen carrying the tag (since then
    without a break in the published days); a publication writes only the pairs that appear
    and deletes those that end.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tags")
    tag_code = models.CharField(_("tag"), max_length=63)
    as_of = models.DateField(_("since"))

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "tag_code"]
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        constraints = [models.UniqueConstraint(fields=["customer", "tag_code"], name="one_row_per_customer_tag")]
        indexes = [models.Index(fields=["tag_code", "customer"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.tag_code}"


class TierPolicy(models.Model):
    """Head office's tier thresholds and points multipliers. The latest row is in force; earlier
    rows are the history of the policy. Without a row, the defaults of DOMAIN.md
    (``segments.pipeline.DEFAULT_TIER_THRESHOLDS`` / ``DEFAULT_POINTS_MULTIPLIERS``) hold."""

    silver_assets = models.DecimalField(_("silver: 20-day average assets"), **MONEY)
    silver_commission = models.DecimalField(_("silver: 12-month net commission"), **MONEY)
    gold_assets = models.DecimalField(_("gold: 20-day average assets"), **MONEY)
    gold_commission = models.DecimalField(_("gold: 12-month net commission"), **MONEY)
    diamond_assets = models.DecimalField(_("diamond: 20-day average assets"), **MONEY)
    diamond_commission = models.DecimalField(_("diamond: 12-month net commission"), **MONEY)
    standard_multiplier = models.DecimalField(_("standard: points multiplier"), max_digits=4, decimal_places=2)
    silver_multiplier = models.DecimalField(_("silver: points multiplier"), max_digits=4, decimal_places=2)
    gold_multiplier = models.DecimalField(_("gold: points multiplier"), max_digits=4, decimal_places=2)
    diamond_multiplier = models.DecimalField(_("diamond: points multiplier"), max_digits=4, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("tier policy")
        verbose_name_plural = _("tier policies")

    def __str__(self) -> str:
        return f"tier policy {self.created_at:%Y-%m-%d %H:%M}"


class SegmentPublication(models.Model):
    """One publication of the segmentation (``services.segments_publish``)."""

    as_of = models.DateField(_("as of"))
    published_at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("segmentation publication")
        verbose_name_plural = _("segmentation publications")


class SavedSegment(models.Model):
    """A segment a user built and saved (issue 5, "Segment builder"): a definition
    (``segments.audience``) evaluated again after every pipeline run (``segments_refresh``).

    Private segments are seen by their owner; shared ones by the employees of ``shared_node``
    (the owner's branch, or their own node above branches) and those above it. Members are
    computed in the owner's data scope and shown to a viewer within the viewer's scope.
    ``current_version`` moves only to a version whose members were written completely.
    """

    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("description"), max_length=300, blank=True)
    definition = models.JSONField(_("definition"))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="segments")
    visibility = models.CharField(
        _("visibility"), max_length=8, choices=SegmentVisibility.choices, default=SegmentVisibility.PRIVATE
    )
    shared_node = models.ForeignKey(
        "org.OrgNode", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("shared with")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)
    current_version = models.ForeignKey(
        "SegmentVersion", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved segment")
        verbose_name_plural = _("saved segments")

    def __str__(self) -> str:
        return self.name


class SegmentVersion(models.Model):
    """The members of a saved segment as of one published warehouse version.

    Members are a Parquet file under the data directory (``members_file``, relative to it:
    customer number, branch, tier, class, total assets), not rows: a head-office segment can hold
    hundreds of thousands of customers, refreshed after every run, and the OLTP database should
    not grow by that much each night. The file is written whole before this row exists.
    """

    segment = models.ForeignKey(SavedSegment, on_delete=models.CASCADE, related_name="versions")
    #: the warehouse snapshot version evaluated (``runner.current_version``'s folder name)
    snapshot_version = models.CharField(_("warehouse version"), max_length=32)
    as_of = models.DateField(_("as of"))
    definition = models.JSONField(_("definition"))
    member_count = models.PositiveIntegerField(_("members"))
    members_file = models.CharField(max_length=300)
    created_at = models.DateTimeField(_("computed at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("segment version")
        verbose_name_plural = _("segment versions")

    def __str__(self) -> str:
        return f"{self.segment_id} {self.snapshot_version} {self.member_count}"
