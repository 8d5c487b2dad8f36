"""What pages need from the warehouse, published to the OLTP database (DESIGN.md, "publish: a
small upsert of what people need in pages").

Trade facts stay in the Parquet warehouse; a customer page reads only these tables, through
the data scope, by indexed lookups on the customer — it never scans a trade table. History is
kept for a rolling window of recent trading days (``BROKERCRM_PUBLISH_DAYS``, default 60); the
full history stays in the warehouse.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.choices import Pool
from brokercrm.customers.models import Customer
from brokercrm.org.scope import ScopedManager

MONEY = {"max_digits": 20, "decimal_places": 2}
PRICE = {"max_digits": 18, "decimal_places": 4}

class IndicatorDaily(models.Model):
    """A customer's base indicators (元指标) on one trading day (COUNTERS.md, "Per customer")."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    trade_date = models.DateField(_("trade date"))
    cash_balance = models.DecimalField(_("cash balance"), **MONEY)
    bank_in = models.DecimalField(_("bank in"), **MONEY)
    bank_out = models.DecimalField(_("bank out"), **MONEY)
    securities_in_value = models.DecimalField(_("securities in value"), **MONEY)
    securities_out_value = models.DecimalField(_("securities out value"), **MONEY)
    stock_value = models.DecimalField(_("stock value"), **MONEY)
    fund_value = models.DecimalField(_("fund value"), **MONEY)
    bond_value = models.DecimalField(_("bond value"), **MONEY)
    debt = models.DecimalField(_("debt"), **MONEY)
    total_assets = models.DecimalField(_("total assets"), **MONEY)
    net_assets = models.DecimalField(_("net assets"), **MONEY)
    realized_pnl = models.DecimalField(_("realized P&L"), **MONEY)
    interest_base = models.DecimalField(_("interest base"), **MONEY)
    trade_amount = models.DecimalField(_("trade amount"), **MONEY)
    trade_count = models.IntegerField(_("trade count"))
    commission = models.DecimalField(_("commission"), **MONEY)
    net_commission = models.DecimalField(_("net commission"), **MONEY)
    frozen_balance = models.DecimalField(_("frozen balance"), **MONEY)
    avg_assets_20d = models.DecimalField(_("20-day average assets"), **MONEY)
    avg_assets_20d_partial = models.BooleanField(_("partial average"), default=False)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        verbose_name = _("daily indicators")
        verbose_name_plural = _("daily indicators")
        constraints = [models.UniqueConstraint(fields=["customer", "trade_date"], name="one_indicator_row_per_day")]
        indexes = [models.Index(fields=["trade_date"])]


class Holding(models.Model):
    """A position at the end of the latest computed day, with its moving-average cost."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    fund_account = models.CharField(_("fund account"), max_length=32)
    trade_date = models.DateField(_("trade date"))
    exchange = models.CharField(_("exchange"), max_length=2)
    security_code = models.CharField(_("security code"), max_length=6)
    security_name = models.CharField(_("security"), max_length=60, blank=True)
    security_type = models.CharField(_("type"), max_length=16, blank=True)
    industry = models.CharField(_("industry"), max_length=40, blank=True)
    quantity = models.BigIntegerField(_("quantity"))
    close_price = models.DecimalField(_("close"), **PRICE)
    market_value = models.DecimalField(_("market value"), **MONEY)
    average_cost = models.DecimalField(_("average cost"), **PRICE)
    unrealized_pnl = models.DecimalField(_("unrealized P&L"), **MONEY)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "fund_account", "exchange", "security_code"]
        verbose_name = _("holding")
        verbose_name_plural = _("holdings")
        indexes = [models.Index(fields=["customer", "fund_account"]), models.Index(fields=["exchange", "security_code"])]


class FlowKind(models.TextChoices):
    TRADE = "trade", _("Trade")
    CASH = "cash", _("Cash flow")
    TRANSFER = "transfer", _("Custody transfer")
    FREEZE = "freeze", _("Freeze")


#: labels of the standard codes shown in a flow's ``detail`` (COUNTERS.md code values)
FLOW_DETAIL_LABELS = {
    "buy": _("Buy"),
    "sell": _("Sell"),
    "bank_in": _("Bank transfer in"),
    "bank_out": _("Bank transfer out"),
    "trade_settle": _("Trade settlement"),
    "interest": _("Interest"),
    "dividend": _("Dividend"),
    "fee": _("Fee"),
    "other": _("Other"),
    "in": _("Transfer in"),
    "out": _("Transfer out"),
    "judicial": _("Judicial freeze"),
    "pledge": _("Pledge freeze"),
    "financing": _("Financing"),
    "short": _("Short selling"),
}


class AccountFlow(models.Model):
    """A recent trade, cash flow, custody transfer or freeze of one fund account, as published
    for the customer page (rolling window; the warehouse keeps everything)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    fund_account = models.CharField(_("fund account"), max_length=32)
    trade_date = models.DateField(_("trade date"))
    kind = models.CharField(_("kind"), max_length=10, choices=FlowKind.choices)
    serial_no = models.BigIntegerField(_("serial number"))
    #: buy/sell, bank_in/…, in/out, judicial/… — the standard code of the flow's own kind
    detail = models.CharField(_("detail"), max_length=20)
    exchange = models.CharField(_("exchange"), max_length=2, blank=True)
    security_code = models.CharField(_("security code"), max_length=6, blank=True)
    quantity = models.BigIntegerField(_("quantity"), null=True, blank=True)
    price = models.DecimalField(_("price"), null=True, blank=True, **PRICE)
    amount = models.DecimalField(_("amount"), null=True, blank=True, **MONEY)
    fees = models.DecimalField(_("fees"), null=True, blank=True, **MONEY)
    balance_after = models.DecimalField(_("balance after"), null=True, blank=True, **MONEY)
    channel = models.CharField(_("channel"), max_length=10, blank=True)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["-trade_date", "fund_account", "kind", "-serial_no"]
        verbose_name = _("account flow")
        verbose_name_plural = _("account flows")
        indexes = [models.Index(fields=["customer", "trade_date"]), models.Index(fields=["trade_date"])]

    @property
    def detail_label(self) -> str:
        return str(FLOW_DETAIL_LABELS.get(self.detail, self.detail))


class MarginDebt(models.Model):
    """A margin contract's liability at the end of the latest computed day (credit accounts)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    fund_account = models.CharField(_("fund account"), max_length=32)
    trade_date = models.DateField(_("trade date"))
    kind = models.CharField(_("kind"), max_length=10)
    exchange = models.CharField(_("exchange"), max_length=2)
    security_code = models.CharField(_("security code"), max_length=6)
    financing_balance = models.DecimalField(_("financing balance"), **MONEY)
    short_quantity = models.BigIntegerField(_("short quantity"))
    interest_payable = models.DecimalField(_("interest payable"), **MONEY)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "fund_account", "kind", "exchange", "security_code"]
        verbose_name = _("margin debt")
        verbose_name_plural = _("margin debts")
        indexes = [models.Index(fields=["customer"])]

    @property
    def kind_label(self) -> str:
        return str(FLOW_DETAIL_LABELS.get(self.kind, self.kind))


class PoolEligibility(models.Model):
    """Whether a customer is in a qualified pool (合格客户池) on the latest computed day, and why
    not (DOMAIN.md, "Qualified customer pools"). One row per customer and pool; the publish
    rewrites only the rows whose result changed, so ``as_of`` is the trading day whose evaluation
    produced the current result (it has held on every later computed day)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    pool = models.CharField(_("pool"), max_length=16, choices=Pool.choices)
    as_of = models.DateField(_("as of"))
    eligible = models.BooleanField(_("eligible"))
    #: the failed reasons (``customers.choices.PoolReason``), sorted, joined by ";"; empty when eligible
    reasons = models.CharField(_("reasons"), max_length=120, blank=True)

    objects = ScopedManager(customer_path="customer")

    class Meta:
        ordering = ["customer", "pool"]
        verbose_name = _("pool eligibility")
        verbose_name_plural = _("pool eligibility")
        constraints = [models.UniqueConstraint(fields=["customer", "pool"], name="one_row_per_customer_and_pool")]
        indexes = [models.Index(fields=["pool", "eligible"])]

    @property
    def reason_codes(self) -> tuple[str, ...]:
        return tuple(self.reasons.split(";")) if self.reasons else ()


class PublishRun(models.Model):
    """One publication of warehouse results to this database: which snapshot version and days."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    snapshot_version = models.CharField(max_length=100)
    latest_day = models.DateField(null=True, blank=True)
    days = models.JSONField(default=list)
    counts = models.JSONField(default=dict)
    #: sha-256 of the published pools snapshot file of ``latest_day`` (a CRM fact can change the
    #: pools without a new trading day: the next publish then republishes them)
    pools_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]
