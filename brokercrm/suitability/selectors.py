"""Reads of suitability: decisions for pages, API and exports, records, notices.

Every function that returns customer data takes the acting user and applies their data scope
(``objects.for_user``); ``suitability_table`` with ``actor=None`` is the operator's export path.
Decisions always come from ``engine.decide`` (through ``engine.Matcher`` in bulk): profiles are
read with one ``values()`` query per chunk of customers, never one ORM call per pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from django.core.paginator import Page, Paginator
from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import MAX_PAGE_SIZE, customer_get
from brokercrm.org.policy import Capability
from brokercrm.org.scope import acting_employee
from brokercrm.org.selectors import user_can
from brokercrm.products.choices import ProductStatus
from brokercrm.products.models import Product
from brokercrm.suitability.choices import SuitabilityResult
from brokercrm.suitability.engine import PROFILE_FIELDS, CustomerProfile, Decision, Matcher, ProductTerms
from brokercrm.suitability.models import RematchNotice, SuitabilityRecord
from brokercrm.suitability.pools import PoolSnapshot, pools_members, pools_of_customer, pools_read

#: customers read per query in bulk paths (well under every database's parameter limit)
CHUNK = 2000
#: products shown in the customer page's "may be recommended" list before "more"
RECOMMENDABLE_TOP = 20

ERR_UNKNOWN_CUSTOMERS = "Unknown customer numbers: {numbers}."
ERR_UNKNOWN_PRODUCTS = "Unknown product codes: {codes}."

PRODUCT_TERM_FIELDS = ("product_code", "risk_level", "horizon", "variety", "required_pool")


def decision_day() -> date:
    """The day pages and services decide for: today in the configured time zone."""
    return timezone.localdate()


def _chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def profiles_read(customers: QuerySet[Customer]) -> Iterator[CustomerProfile]:
    """Profiles of the customers of a (scoped) queryset, one ``values()`` query per chunk."""
    for row in customers.order_by("customer_no").values(*PROFILE_FIELDS).iterator(chunk_size=CHUNK):
        yield CustomerProfile.from_values(**row)


def product_terms(products: QuerySet[Product]) -> list[ProductTerms]:
    return [ProductTerms(**row) for row in products.order_by("product_code").values(*PRODUCT_TERM_FIELDS)]


def decision_inputs(
    *, customer: CustomerProfile, product: ProductTerms, pools: PoolSnapshot, day: date
) -> dict[str, Any]:
    """What a record keeps: the exact profile, product terms, pools (and their day) and day."""
    return {
        "day": day.isoformat(),
        "customer": customer.as_dict(),
        "product": product.as_dict(),
        "pools": dict(sorted(pools.of(customer.customer_no).items())),
        "pools_day": pools.day.isoformat() if pools.day else None,
    }


# --- one customer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductDecision:
    product: Product
    decision: Decision


def customer_product_decisions(
    *, actor: Any, customer_no: str, on_sale_only: bool = True, result: str = ""
) -> list[ProductDecision]:
    """Every product (on sale, by default) with the customer's suitability for it today; raises
    ``Customer.DoesNotExist`` when the customer is out of the actor's scope."""
    customer = customer_get(actor=actor, customer_no=customer_no)
    products = Product.objects.all()
    if on_sale_only:
        products = products.filter(status=ProductStatus.ON_SALE)
    products = list(products.order_by("product_code"))
    matcher = Matcher([ProductTerms.from_product(p) for p in products], day=decision_day())
    pools = pools_of_customer(actor=actor, customer_no=customer_no)
    decisions = matcher.decisions(CustomerProfile.from_customer(customer), pools.of(customer_no))
    rows = [ProductDecision(p, d) for p, d in zip(products, decisions)]
    return [r for r in rows if not result or r.decision.result == result]


def recommendable_products(*, actor: Any, customer_no: str, page: int = 1, per_page: int = RECOMMENDABLE_TOP) -> Page:
    """On-sale products the customer may be recommended (result ``match``), paginated."""
    rows = customer_product_decisions(actor=actor, customer_no=customer_no, result=SuitabilityResult.MATCH)
    return Paginator(rows, max(1, min(per_page, MAX_PAGE_SIZE))).get_page(page)


# --- one product -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchingCustomer:
    customer_no: str
    name: str
    branch_name: str
    account_manager_name: str
    risk_level: str
    investor_class: str


def product_matching_customers(*, actor: Any, product: Product, page: int = 1, per_page: int = 25) -> Page:
    """Customers in the actor's scope who match ``product`` today (``VIEW_PRODUCTS``), paginated;
    ``page.paginator.count`` is how many match."""
    if not user_can(user=actor, capability=Capability.VIEW_PRODUCTS):
        return Paginator([], per_page).get_page(1)
    scoped = Customer.objects.for_user(actor)
    terms = ProductTerms.from_product(product)
    matcher = Matcher([terms], day=decision_day())
    pools = PoolSnapshot(day=None)
    if terms.required_pool:
        pools = pools_members(actor=actor, pool=terms.required_pool)
    matching = [
        c.customer_no
        for c in profiles_read(scoped)
        if matcher.decisions(c, pools.of(c.customer_no))[0].result == SuitabilityResult.MATCH
    ]
    result = Paginator(matching, max(1, min(per_page, MAX_PAGE_SIZE))).get_page(page)
    shown = scoped.filter(customer_no__in=list(result.object_list)).select_related("branch", "account_manager")
    result.object_list = [
        MatchingCustomer(
            customer_no=c.customer_no,
            name=c.name,
            branch_name=c.branch.name,
            account_manager_name=str(c.account_manager) if c.account_manager else "",
            risk_level=c.get_risk_level_display() if c.risk_level else "",
            investor_class=c.get_investor_class_display(),
        )
        for c in shown.order_by("customer_no")
    ]
    return result


# --- many customers × products (export, API) ----------------------------------------------------


@dataclass
class SuitabilityTable:
    """Decisions of ``customer_nos`` × ``products`` on ``day``, produced lazily in export order
    (customer number, then product code)."""

    day: date
    customer_nos: list[str]
    products: list[ProductTerms]
    pools: PoolSnapshot
    _matcher: Matcher | None = field(default=None, repr=False)

    @property
    def count(self) -> int:
        return len(self.customer_nos) * len(self.products)

    def rows(self, *, offset: int = 0, limit: int | None = None) -> Iterator[tuple[str, str, Decision]]:
        """``(customer_no, product_code, decision)`` rows ``offset`` … ``offset + limit``."""
        if not self.products:
            return
        matcher = self._matcher or Matcher(self.products, day=self.day)
        self._matcher = matcher
        per = len(self.products)
        stop = self.count if limit is None else min(self.count, offset + limit)
        numbers = self.customer_nos[offset // per : (stop + per - 1) // per]
        position = (offset // per) * per
        for chunk in _chunks(numbers):
            profiles = {p.customer_no: p for p in profiles_read(Customer.objects.unscoped().filter(customer_no__in=chunk))}
            for number in chunk:
                for product, decision in zip(self.products, matcher.decisions(profiles[number], self.pools.of(number))):
                    if offset <= position < stop:
                        yield number, product.product_code, decision
                    position += 1


def suitability_table(
    *,
    day: date,
    actor: Any = None,
    customer_nos: Iterable[str] | None = None,
    product_codes: Iterable[str] | None = None,
    data_dir: Path | None = None,
) -> SuitabilityTable:
    """The suitability of customers × products as of ``day`` (DOMAIN.md), pools from the
    warehouse snapshot of ``day``.

    Customers: ``customer_nos``, else those in the pool snapshot of the day (the customers with a
    CNY account that day); with an ``actor``, only those in their scope (an unknown or
    out-of-scope number given explicitly is an error, the same error). Products: ``product_codes``,
    else the whole library. Raises ``ValueError`` naming unknown numbers or codes, and the
    warehouse's error when the day is not computed.
    """
    wanted = sorted(set(customer_nos)) if customer_nos is not None else None
    pools = pools_read(day=day, customer_nos=wanted, data_dir=data_dir)
    numbers = wanted if wanted is not None else sorted(pools.met)
    base = Customer.objects.for_user(actor) if actor is not None else Customer.objects.unscoped()
    known: set[str] = set()
    for chunk in _chunks(numbers):
        known.update(base.filter(customer_no__in=chunk).values_list("customer_no", flat=True))
    if actor is not None and wanted is None:
        numbers = [n for n in numbers if n in known]
    missing = [n for n in numbers if n not in known]
    if missing:
        raise ValueError(ERR_UNKNOWN_CUSTOMERS.format(numbers=", ".join(missing[:20])))
    products = Product.objects.all()
    if product_codes is not None:
        codes = sorted(set(product_codes))
        products = products.filter(product_code__in=codes)
        unknown = sorted(set(codes) - set(products.values_list("product_code", flat=True)))
        if unknown:
            raise ValueError(ERR_UNKNOWN_PRODUCTS.format(codes=", ".join(unknown)))
    return SuitabilityTable(day=day, customer_nos=numbers, products=product_terms(products), pools=pools)


# --- records -----------------------------------------------------------------------------------


def customer_records(*, actor: Any, customer_no: str) -> QuerySet[SuitabilityRecord]:
    """The customer's suitability records, newest first (empty when out of scope)."""
    return (
        SuitabilityRecord.objects.for_user(actor)
        .filter(customer__customer_no=customer_no)
        .select_related("product", "customer")
        .order_by("-created_at", "-id")
    )


def record_search(
    *,
    actor: Any,
    customer: str = "",
    product: str = "",
    result: str = "",
    purpose: str = "",
    username: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[SuitabilityRecord]:
    """Compliance's search of suitability records (``VIEW_SUITABILITY_RECORDS``), in scope,
    newest first."""
    if not user_can(user=actor, capability=Capability.VIEW_SUITABILITY_RECORDS):
        return SuitabilityRecord.objects.none()
    rows = SuitabilityRecord.objects.for_user(actor).select_related("customer", "product")
    if customer:
        rows = rows.filter(Q(customer__customer_no__startswith=customer) | Q(customer__name__startswith=customer))
    if product:
        rows = rows.filter(Q(product__product_code__startswith=product) | Q(product__name__startswith=product))
    if result:
        rows = rows.filter(result=result)
    if purpose:
        rows = rows.filter(purpose=purpose)
    if username:
        rows = rows.filter(actor_username__icontains=username)
    tz = timezone.get_current_timezone()
    if date_from:
        rows = rows.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        rows = rows.filter(created_at__lte=datetime.combine(date_to, time.max, tzinfo=tz))
    return rows.order_by("-created_at", "-id")


def last_results(*, customer_ids: Iterable[int] | None = None, product_ids: Iterable[int] | None = None) -> dict[tuple[int, int], str]:
    """The latest recorded result of each (customer id, product id) pair with a record (two
    queries whatever the number of pairs). For re-matching, not for responses."""
    rows = SuitabilityRecord.objects.unscoped()
    if customer_ids is not None:
        rows = rows.filter(customer_id__in=list(customer_ids))
    if product_ids is not None:
        rows = rows.filter(product_id__in=list(product_ids))
    latest = rows.values("customer_id", "product_id").annotate(last=Max("id")).values_list("last", flat=True)
    return {
        (c, p): r
        for c, p, r in SuitabilityRecord.objects.unscoped().filter(id__in=list(latest)).values_list(
            "customer_id", "product_id", "result"
        )
    }


# --- notices -----------------------------------------------------------------------------------


def rematch_notice_list(*, actor: Any, unread_only: bool = False) -> QuerySet[RematchNotice]:
    """Re-match notices addressed to the acting account manager (in scope), newest first."""
    employee = acting_employee(actor)
    if employee is None:
        return RematchNotice.objects.none()
    rows = RematchNotice.objects.for_user(actor).filter(account_manager=employee)
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows.select_related("customer", "product", "record").order_by("-created_at", "-id")

