"""Customer master and the history of who served each customer."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from django.utils import timezone

from brokercrm.customers.choices import (
    AccountType,
    AmlLevel,
    CustomerStatus,
    CustomerType,
    Gender,
    IdType,
    InteractionKind,
    InvestHorizon,
    InvestorClass,
    LeadSource,
    LeadStatus,
    RelationshipKind,
    RiskLevel,
)
from brokercrm.org.models import Employee, OrgNode
from brokercrm.org.scope import ScopedManager


class Customer(models.Model):
    """A person, institution or product served by the brokerage (DOMAIN.md glossary: customer).

    ``customer_no`` is unique company-wide. Rows are read only through ``Customer.objects.for_user``
    (data scope, fail-closed); the data center fills and updates the master from counter data.
    """

    customer_no = models.CharField(_("customer number"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    customer_type = models.CharField(_("type"), max_length=16, choices=CustomerType.choices)
    status = models.CharField(_("status"), max_length=16, choices=CustomerStatus.choices, default=CustomerStatus.NORMAL)
    branch = models.ForeignKey(
        OrgNode, on_delete=models.PROTECT, related_name="customers", verbose_name=_("branch")
    )
    account_manager = models.ForeignKey(
        Employee,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("account manager"),
    )
    id_type = models.CharField(_("ID type"), max_length=20, choices=IdType.choices, blank=True)
    id_number = models.CharField(_("ID number"), max_length=40, blank=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True, db_index=True)
    open_date = models.DateField(_("open date"), null=True, blank=True)
    # --- from the counter (COUNTERS.md, customers); filled by the data center's publish ---
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    risk_level = models.CharField(_("risk level"), max_length=4, choices=RiskLevel.choices, blank=True)
    risk_expiry = models.DateField(_("risk assessment valid until"), null=True, blank=True)
    investor_class = models.CharField(
        _("investor class"), max_length=20, choices=InvestorClass.choices, default=InvestorClass.ORDINARY
    )
    invest_horizon = models.CharField(_("investment horizon"), max_length=8, choices=InvestHorizon.choices, blank=True)
    #: standard varieties joined by "," (COUNTERS.md order), e.g. "fixed_income,equity"
    invest_varieties = models.CharField(_("investment varieties"), max_length=80, blank=True)
    first_trade_date = models.DateField(_("first trade date"), null=True, blank=True)
    aml_level = models.CharField(_("AML risk level"), max_length=8, choices=AmlLevel.choices, blank=True)
    #: the last AML review; the next is due a cycle later (``customers.rules.aml_next_review``)
    aml_reviewed_on = models.DateField(_("AML last reviewed on"), null=True, blank=True)
    #: the counter system the customer's data comes from (hundsun, apex …); empty when entered by hand
    counter = models.CharField(_("counter"), max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["customer_no"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["account_manager", "status"]),
            # lead conversion matches new customers by ID number (``customers.services.leads_convert``)
            models.Index(fields=["id_number", "id_type"]),
        ]

    def __str__(self) -> str:
        return f"{self.customer_no} {self.name}"


class CustomerAssignment(models.Model):
    """One period during which an account manager served a customer.

    The current period has ``ended_at`` null; ``customers.services.customer_assign`` closes it
    and opens the next in one transaction, so the history of who served whom when is complete.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="assignments")
    account_manager = models.ForeignKey(Employee, on_delete=models.PROTECT, related_name="assignments")
    started_at = models.DateTimeField(_("from"))
    ended_at = models.DateTimeField(_("until"), null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "-started_at", "-id"]
        verbose_name = _("customer assignment")
        verbose_name_plural = _("customer assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(ended_at__isnull=True), name="one_current_assignment"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} → {self.account_manager_id} from {self.started_at:%Y-%m-%d}"


class FundAccount(models.Model):
    """A cash account at the broker (DOMAIN.md glossary: fund account); a customer has one or
    more, normal or credit. Filled from counter data by the data center's publish."""

    fund_account = models.CharField(_("fund account"), max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="fund_accounts")
    account_type = models.CharField(_("account type"), max_length=8, choices=AccountType.choices)
    currency = models.CharField(_("currency"), max_length=3)
    open_date = models.DateField(_("open date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=CustomerStatus.choices)
    counter = models.CharField(_("counter"), max_length=16)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "fund_account"]
        verbose_name = _("fund account")
        verbose_name_plural = _("fund accounts")

    def __str__(self) -> str:
        return self.fund_account


class CustomerRelationship(models.Model):
    """A customer's relation to another customer or to a person who is not one.

    Reads "``related`` is the customer's ``kind``" (a ``referrer`` referred the customer); stored
    once and shown from both sides. Linking another customer needs that customer in the actor's
    scope (``customers.services.relationship_add``). Removal is recorded, not erased.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="relationships")
    related_customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="related_to",
        verbose_name=_("related customer"),
    )  # fmt: skip
    #: the related person's name when they are not a customer
    related_name = models.CharField(_("related person"), max_length=100, blank=True)
    kind = models.CharField(_("relationship"), max_length=16, choices=RelationshipKind.choices)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "kind", "id"]
        verbose_name = _("customer relationship")
        verbose_name_plural = _("customer relationships")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "related_customer", "kind"],
                condition=models.Q(removed_at__isnull=True, related_customer__isnull=False),
                name="one_current_relationship_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.related_customer_id or self.related_name}"


class Interaction(models.Model):
    """One contact with a customer (note, call, meeting …) on their timeline. Append-only: never
    edited or deleted, so the timeline is a record of what was said when."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(_("kind"), max_length=16, choices=InteractionKind.choices)
    content = models.TextField(_("content"), max_length=2000)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [models.Index(fields=["customer", "-occurred_at", "-id"])]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.kind} {self.occurred_at:%Y-%m-%d %H:%M}"


class Lead(models.Model):
    """A potential customer (潜在客户). Customer data: scoped like customers by ``branch`` and
    ``account_manager`` (fail-closed), personal data masked by role. Becomes ``converted`` when a
    customer with the same ID opens an account (``customers.services.leads_convert``)."""

    name = models.CharField(_("name"), max_length=100, db_index=True)
    mobile = models.CharField(_("mobile"), max_length=20, blank=True, db_index=True)
    id_type = models.CharField(_("ID type"), max_length=20, choices=IdType.choices, default=IdType.ID_CARD)
    id_number = models.CharField(_("ID number"), max_length=40, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=LeadSource.choices)
    referrer_customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="referred_leads",
        verbose_name=_("referred by customer"),
    )  # fmt: skip
    referrer_employee = models.ForeignKey(
        Employee, on_delete=models.SET_NULL, null=True, blank=True, related_name="referred_leads",
        verbose_name=_("referred by employee"),
    )  # fmt: skip
    branch = models.ForeignKey(OrgNode, on_delete=models.PROTECT, related_name="leads", verbose_name=_("branch"))
    account_manager = models.ForeignKey(
        Employee, on_delete=models.PROTECT, null=True, blank=True, related_name="leads",
        verbose_name=_("account manager"),
    )  # fmt: skip
    status = models.CharField(_("status"), max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    converted_customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="converted_leads",
        verbose_name=_("converted to customer"),
    )  # fmt: skip
    converted_at = models.DateTimeField(_("converted at"), null=True, blank=True)

    objects = ScopedManager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["account_manager", "status"]),
            models.Index(fields=["id_number", "id_type"]),
        ]

    def __str__(self) -> str:
        return f"{self.pk} {self.name}"
