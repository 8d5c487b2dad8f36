"""The suitability decision: one pure function, used by every page, API, export and service.

Rule: DOMAIN.md, "Suitability decision, as of day D" (after 证券期货投资者适当性管理办法, CSRC 2017,
and the SAC implementation guideline 2017):

1. Required pool not met → ``prohibited`` (``pool:<name>``) — and nothing else is checked.
2. Professional investor → ``match`` (horizon and variety are not checked).
3. Ordinary with no assessment, or expired at D → ``prohibited`` (``no_valid_assessment``).
4. Lowest category and product above R1 → ``prohibited`` (``lowest_category``).
5. Otherwise each failed dimension (``risk_level``, ``horizon``, ``variety``) is a reason for
   ``mismatch_warn``; no reason → ``match``.

Reasons are sorted. Nothing here reads the database: callers build the small frozen inputs
(``CustomerProfile.from_customer``, ``ProductTerms.from_product``) and pass pool eligibility.
:class:`Matcher` decides many customers × products at once, calling :func:`decide` once per
distinct customer *situation* instead of once per pair.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Iterable, Iterator, Mapping, Sequence

from brokercrm.suitability.choices import POOL_REASON_PREFIX, Reason, SuitabilityResult

#: risk tolerance → the highest product risk it covers (C0 is the lowest category, within C1)
CUSTOMER_RISK_RANK = {"C0": 1, "C1": 1, "C2": 2, "C3": 3, "C4": 4, "C5": 5}
LOWEST_CATEGORY = "C0"
PRODUCT_RISK_RANK = {"R1": 1, "R2": 2, "R3": 3, "R4": 4, "R5": 5}
#: investment horizon, shortest first (0–1 / 1–5 / 5+ years)
HORIZON_RANK = {"short": 0, "medium": 1, "long": 2}
ORDINARY = "ordinary"


@dataclass(frozen=True)
class CustomerProfile:
    """The customer's effective suitability profile (what the decision reads)."""

    customer_no: str
    risk_level: str = ""  # C0..C5, "" = never assessed
    risk_expiry: date | None = None  # last valid day
    investor_class: str = ORDINARY  # ordinary / professional_i / _ii / _iii
    invest_horizon: str = ""  # short / medium / long, "" = none
    invest_varieties: frozenset[str] = frozenset()

    @property
    def professional(self) -> bool:
        return self.investor_class.startswith("professional")

    def assessment_valid(self, day: date) -> bool:
        """An assessment counts on ``day`` up to and including its expiry (DOMAIN.md)."""
        return self.risk_level in CUSTOMER_RISK_RANK and self.risk_expiry is not None and self.risk_expiry >= day

    @classmethod
    def from_values(
        cls,
        *,
        customer_no: str,
        risk_level: str | None,
        risk_expiry: date | None,
        investor_class: str | None,
        invest_horizon: str | None,
        invest_varieties: str | Iterable[str] | None,
    ) -> CustomerProfile:
        if isinstance(invest_varieties, str) or invest_varieties is None:
            varieties = frozenset(v.strip() for v in (invest_varieties or "").split(",") if v.strip())
        else:
            varieties = frozenset(invest_varieties)
        return cls(
            customer_no=customer_no,
            risk_level=risk_level or "",
            risk_expiry=risk_expiry,
            investor_class=investor_class or ORDINARY,
            invest_horizon=invest_horizon or "",
            invest_varieties=varieties,
        )

    @classmethod
    def from_customer(cls, customer: Any) -> CustomerProfile:
        """From a ``customers.Customer`` (its effective profile fields)."""
        return cls.from_values(**{name: getattr(customer, name) for name in PROFILE_FIELDS})

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for the record's ``inputs``."""
        return {
            "customer_no": self.customer_no,
            "risk_level": self.risk_level,
            "risk_expiry": self.risk_expiry.isoformat() if self.risk_expiry else None,
            "investor_class": self.investor_class,
            "invest_horizon": self.invest_horizon,
            "invest_varieties": sorted(self.invest_varieties),
        }


#: the customer fields a profile is built from (for ``values()`` queries)
PROFILE_FIELDS = ("customer_no", "risk_level", "risk_expiry", "investor_class", "invest_horizon", "invest_varieties")


@dataclass(frozen=True)
class ProductTerms:
    """The product terms the decision reads."""

    product_code: str
    risk_level: str  # R1..R5
    horizon: str  # short / medium / long
    variety: str
    required_pool: str = ""

    @classmethod
    def from_product(cls, product: Any) -> ProductTerms:
        return cls(
            product_code=product.product_code,
            risk_level=product.risk_level,
            horizon=product.horizon,
            variety=product.variety,
            required_pool=product.required_pool or "",
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    result: str  # SuitabilityResult value
    reasons: tuple[str, ...] = ()

    @property
    def reasons_text(self) -> str:
        """Reasons as in exports and records: sorted, ``;``-joined."""
        return ";".join(self.reasons)


def pool_reason(pool: str) -> str:
    return f"{POOL_REASON_PREFIX}{pool}"


def decide(*, customer: CustomerProfile, product: ProductTerms, pools: Mapping[str, bool], day: date) -> Decision:
    """The suitability of ``product`` for ``customer`` on ``day`` (DOMAIN.md steps 1–5).

    ``pools`` maps a pool code to whether the customer is in it; a missing pool is not met.
    """
    # 1. an entry rule decides alone
    if product.required_pool and not pools.get(product.required_pool, False):
        return Decision(SuitabilityResult.PROHIBITED.value, (pool_reason(product.required_pool),))
    # 2. professional investors: all products
    if customer.professional:
        return Decision(SuitabilityResult.MATCH.value)
    # 3. no assessment, or expired on day
    if not customer.assessment_valid(day):
        return Decision(SuitabilityResult.PROHIBITED.value, (Reason.NO_VALID_ASSESSMENT.value,))
    product_rank = PRODUCT_RISK_RANK[product.risk_level]
    # 4. lowest category: R1 only
    if customer.risk_level == LOWEST_CATEGORY and product_rank > 1:
        return Decision(SuitabilityResult.PROHIBITED.value, (Reason.LOWEST_CATEGORY.value,))
    # 5. every failed dimension
    reasons = []
    if product_rank > CUSTOMER_RISK_RANK[customer.risk_level]:
        reasons.append(Reason.RISK_LEVEL.value)
    if customer.invest_horizon not in HORIZON_RANK or HORIZON_RANK[product.horizon] > HORIZON_RANK[customer.invest_horizon]:
        reasons.append(Reason.HORIZON.value)
    if product.variety not in customer.invest_varieties:
        reasons.append(Reason.VARIETY.value)
    if reasons:
        return Decision(SuitabilityResult.MISMATCH_WARN.value, tuple(sorted(reasons)))
    return Decision(SuitabilityResult.MATCH.value)


class Matcher:
    """Decide many customers against a fixed list of products on one day.

    A customer's decisions depend only on their *situation*: risk level, whether the assessment
    is valid on the day, investor class, horizon, varieties, and membership of the pools the
    products require. Customers in the same situation share one tuple of decisions, computed by
    :func:`decide` the first time that situation is seen — so a million customers cost a million
    dictionary lookups, not forty million decisions, and there is still one copy of the rule.
    """

    def __init__(self, products: Sequence[ProductTerms], *, day: date) -> None:
        self.products = tuple(products)
        self.day = day
        self.required_pools = tuple(sorted({p.required_pool for p in self.products if p.required_pool}))
        self._memo: dict[tuple, tuple[Decision, ...]] = {}

    def _situation(self, customer: CustomerProfile, pools: Mapping[str, bool]) -> tuple:
        return (
            customer.risk_level,
            customer.assessment_valid(self.day),
            customer.professional,
            customer.invest_horizon,
            customer.invest_varieties,
            tuple(bool(pools.get(p, False)) for p in self.required_pools),
        )

    def decisions(self, customer: CustomerProfile, pools: Mapping[str, bool]) -> tuple[Decision, ...]:
        """One decision per product, in the products' order."""
        key = self._situation(customer, pools)
        found = self._memo.get(key)
        if found is None:
            found = tuple(decide(customer=customer, product=p, pools=pools, day=self.day) for p in self.products)
            self._memo[key] = found
        return found

    def pairs(
        self, customers: Iterable[CustomerProfile], pools: Mapping[str, Mapping[str, bool]]
    ) -> Iterator[tuple[CustomerProfile, ProductTerms, Decision]]:
        """Every (customer, product, decision), customers in the order given, products in theirs;
        ``pools`` maps a customer number to its pool eligibility (missing: no pool met)."""
        for customer in customers:
            for product, decision in zip(self.products, self.decisions(customer, pools.get(customer.customer_no, {}))):
                yield customer, product, decision
