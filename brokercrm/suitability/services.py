"""Actions of suitability: recommend, issue a special risk warning, sell, re-match after a change,
mark a notice read, export. Every decision comes from ``engine.decide`` and every decision used
for a recommendation or a sale — refusals of prohibited sales included — is recorded with its
exact inputs (DOMAIN.md, "Investor classification and suitability")."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from brokercrm.customers.models import Customer
from brokercrm.org.choices import AuditAction
from brokercrm.org.policy import Capability
from brokercrm.org.scope import acting_employee
from brokercrm.org.selectors import user_can
from brokercrm.org.services import audit_record
from brokercrm.products.choices import ProductStatus
from brokercrm.products.models import Product
from brokercrm.suitability.choices import SuitabilityPurpose, SuitabilityResult
from brokercrm.suitability.engine import CustomerProfile, Decision, Matcher, ProductTerms, decide
from brokercrm.suitability.labels import reason_labels
from brokercrm.suitability.models import RematchNotice, RiskWarning, SuitabilityRecord
from brokercrm.suitability.pools import PoolSnapshot, pools_batch, pools_of_customer
from brokercrm.suitability.selectors import (
    CHUNK,
    decision_day,
    decision_inputs,
    last_results,
    profiles_read,
    suitability_table,
)

#: a special risk warning must be confirmed (and the sale made) within this time of being issued
WARNING_VALIDITY = timedelta(hours=24)
#: the columns of the suitability export (the worked example's contract)
EXPORT_COLUMNS = ("customer_no", "product_code", "result", "reasons")

ERR_NOT_ALLOWED = gettext_noop("You may not do this.")
ERR_CLOSED = gettext_noop("Product {code} is closed and is not sold.")
ERR_AMOUNT = gettext_noop("The amount must be a positive number of yuan.")
ERR_AMOUNT_BELOW_MIN = gettext_noop("The amount {amount} is below the product's minimum of {minimum}.")
ERR_NOT_MATCH = gettext_noop("Only a product that matches the customer may be recommended (result: {result}; {reasons}).")
ERR_PROHIBITED = gettext_noop("The sale is prohibited ({reasons}). The refusal is recorded.")
ERR_WARNING_NOT_NEEDED = gettext_noop("A special risk warning is issued only for a mismatch (result: {result}).")
ERR_WARNING_NOT_ISSUED = gettext_noop(
    "The product does not fit the customer ({reasons}): issue the special risk warning first."
)
ERR_WARNING_NOT_CONFIRMED = gettext_noop("The customer has not confirmed the special risk warning.")
WARNING_TEXT = gettext_noop(
    "Special risk warning. The product {product} (risk {risk}) does not fit your investor profile: "
    "{reasons}. The firm does not recommend it to you. If you still buy it, you do so at your own "
    "request and bear its risks, including the loss of your principal."
)


def _error(message: str, error_code: str, **values: Any) -> ValidationError:
    return ValidationError(gettext(message).format(**values), code=error_code)


def _reasons_text(decision: Decision) -> str:
    return "; ".join(reason_labels(decision.reasons)) or "—"


@dataclass(frozen=True)
class Situation:
    """One decision with everything it was made from."""

    profile: CustomerProfile
    terms: ProductTerms
    pools: PoolSnapshot
    day: date
    decision: Decision

    @property
    def inputs(self) -> dict[str, Any]:
        return decision_inputs(customer=self.profile, product=self.terms, pools=self.pools, day=self.day)


def suitability_situation(*, actor: Any, customer: Customer, product: Product) -> Situation:
    """Decide one pair now: today's profile and terms, the published pools."""
    profile = CustomerProfile.from_customer(customer)
    terms = ProductTerms.from_product(product)
    pools = pools_of_customer(actor=actor, customer_no=customer.customer_no)
    day = decision_day()
    return Situation(profile, terms, pools, day, decide(customer=profile, product=terms, pools=pools.of(customer.customer_no), day=day))


def _in_scope(*, actor: Any, customer: Customer, capability: Capability) -> Customer:
    if not user_can(user=actor, capability=capability):
        raise PermissionDenied(gettext(ERR_NOT_ALLOWED))
    # raises Customer.DoesNotExist out of scope: indistinguishable from a missing customer
    return Customer.objects.for_user(actor).get(pk=customer.pk)


def _record(*, actor: Any, customer: Customer, product: Product, purpose: str, situation: Situation, **extra: Any) -> SuitabilityRecord:
    user = actor if getattr(actor, "is_authenticated", False) else None
    return SuitabilityRecord.objects.create(
        customer=customer,
        product=product,
        purpose=purpose,
        result=situation.decision.result,
        reasons=situation.decision.reasons_text,
        inputs=situation.inputs,
        actor=user,
        actor_username=user.get_username() if user else "system",
        **extra,
    )


@transaction.atomic
def suitability_recommend(*, actor: Any, customer: Customer, product: Product) -> SuitabilityRecord:
    """Record a recommendation. Only a ``match`` may be recommended: ``mismatch_warn`` and
    ``prohibited`` products are refused (DOMAIN.md). Needs ``SELL_PRODUCTS`` and the customer in scope."""
    customer = _in_scope(actor=actor, customer=customer, capability=Capability.SELL_PRODUCTS)
    if product.status != ProductStatus.ON_SALE:
        raise _error(ERR_CLOSED, "closed", code=product.product_code)
    situation = suitability_situation(actor=actor, customer=customer, product=product)
    if situation.decision.result != SuitabilityResult.MATCH:
        raise _error(
            ERR_NOT_MATCH,
            "not_match",
            result=SuitabilityResult(situation.decision.result).label,
            reasons=_reasons_text(situation.decision),
        )
    return _record(actor=actor, customer=customer, product=product, purpose=SuitabilityPurpose.RECOMMENDATION, situation=situation)


@transaction.atomic
def suitability_warning_issue(*, actor: Any, customer: Customer, product: Product) -> RiskWarning:
    """Step 1 of a ``mismatch_warn`` sale: issue the special risk warning (its text names every
    reason) for the customer to read and confirm."""
    customer = _in_scope(actor=actor, customer=customer, capability=Capability.SELL_PRODUCTS)
    if product.status != ProductStatus.ON_SALE:
        raise _error(ERR_CLOSED, "closed", code=product.product_code)
    situation = suitability_situation(actor=actor, customer=customer, product=product)
    if situation.decision.result != SuitabilityResult.MISMATCH_WARN:
        raise _error(ERR_WARNING_NOT_NEEDED, "warning_not_needed", result=SuitabilityResult(situation.decision.result).label)
    text = gettext(WARNING_TEXT).format(
        product=str(product), risk=product.risk_level, reasons=_reasons_text(situation.decision)
    )
    return RiskWarning.objects.create(
        customer=customer,
        product=product,
        reasons=situation.decision.reasons_text,
        text=text,
        inputs=situation.inputs,
        issued_by=actor,
    )


def _amount(value: Any) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise _error(ERR_AMOUNT, "amount")
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise _error(ERR_AMOUNT, "amount")
    return amount


def suitability_sell(
    *, actor: Any, customer: Customer, product: Product, amount: Decimal | str, warning_confirmed: bool
) -> SuitabilityRecord:
    """Record a sale after the suitability decision (DOMAIN.md):

    - ``match``: recorded;
    - ``mismatch_warn``: only with a special risk warning issued in the app for this decision
      (``suitability_warning_issue``, within ``WARNING_VALIDITY``, not used by another sale) and
      confirmed by the customer (``warning_confirmed``); else ``ValidationError``;
    - ``prohibited``: always refused — the refusal is recorded, then ``ValidationError``.

    A closed product or an amount below the product's minimum is refused first.
    """
    customer = _in_scope(actor=actor, customer=customer, capability=Capability.SELL_PRODUCTS)
    if product.status != ProductStatus.ON_SALE:
        raise _error(ERR_CLOSED, "closed", code=product.product_code)
    amount = _amount(amount)
    if amount < product.min_amount:
        raise _error(ERR_AMOUNT_BELOW_MIN, "amount_below_min", amount=amount, minimum=product.min_amount)
    situation = suitability_situation(actor=actor, customer=customer, product=product)
    result = situation.decision.result
    if result == SuitabilityResult.PROHIBITED:
        with transaction.atomic():
            _record(
                actor=actor, customer=customer, product=product, purpose=SuitabilityPurpose.SALE,
                situation=situation, amount=amount, refused=True,
            )
        raise _error(ERR_PROHIBITED, "prohibited", reasons=_reasons_text(situation.decision))
    with transaction.atomic():
        extra: dict[str, Any] = {}
        if result == SuitabilityResult.MISMATCH_WARN:
            warning = (
                RiskWarning.objects.unscoped()
                .select_for_update(of=("self",))
                .filter(
                    customer=customer,
                    product=product,
                    reasons=situation.decision.reasons_text,
                    issued_at__gte=timezone.now() - WARNING_VALIDITY,
                    sale__isnull=True,
                )
                .order_by("-issued_at", "-id")
                .first()
            )
            if warning is None:
                raise _error(ERR_WARNING_NOT_ISSUED, "warning_not_issued", reasons=_reasons_text(situation.decision))
            if not warning_confirmed:
                raise _error(ERR_WARNING_NOT_CONFIRMED, "warning_not_confirmed")
            extra = {
                "risk_warning": warning,
                "risk_warning_issued_at": warning.issued_at,
                "risk_warning_confirmed_at": timezone.now(),
                "confirmed_by_customer": True,
            }
        return _record(
            actor=actor, customer=customer, product=product, purpose=SuitabilityPurpose.SALE,
            situation=situation, amount=amount, **extra,
        )


# --- re-match after a change ------------------------------------------------------------------


def _rematch(*, actor: Any, customer_ids: list[int] | None, product_ids: list[int] | None) -> list[RematchNotice]:
    """Re-decide the pairs (customer, product) that have a recorded recommendation or sale,
    restricted to the given customers or products; record a ``rematch`` and tell the account
    manager where the result differs from the pair's latest recorded result."""
    held = SuitabilityRecord.objects.unscoped().filter(
        purpose__in=[SuitabilityPurpose.RECOMMENDATION, SuitabilityPurpose.SALE]
    )
    if customer_ids is not None:
        held = held.filter(customer_id__in=customer_ids)
    if product_ids is not None:
        held = held.filter(product_id__in=product_ids)
    pairs = set(held.values_list("customer_id", "product_id").distinct())
    if not pairs:
        return []
    previous = last_results(
        customer_ids={c for c, _ in pairs} if customer_ids is not None else None,
        product_ids={p for _, p in pairs} if product_ids is not None else None,
    )
    products = {p.pk: p for p in Product.objects.filter(pk__in={p for _, p in pairs})}
    product_order = sorted(products)
    matcher = Matcher([ProductTerms.from_product(products[pk]) for pk in product_order], day=decision_day())
    index = {pk: i for i, pk in enumerate(product_order)}
    customer_pks = sorted({c for c, _ in pairs})
    user = actor if getattr(actor, "is_authenticated", False) else None
    notices: list[RematchNotice] = []
    for start in range(0, len(customer_pks), CHUNK):
        chunk = Customer.objects.unscoped().filter(pk__in=customer_pks[start : start + CHUNK])
        meta = {no: (pk, manager) for pk, no, manager in chunk.values_list("pk", "customer_no", "account_manager_id")}
        pools = pools_batch(customer_nos=list(meta))
        records: list[SuitabilityRecord] = []
        owners: list[int | None] = []
        for profile in profiles_read(chunk):
            pk, manager = meta[profile.customer_no]
            decisions = matcher.decisions(profile, pools.of(profile.customer_no))
            for product_pk in product_order:
                if (pk, product_pk) not in pairs:
                    continue
                decision = decisions[index[product_pk]]
                if decision.result == previous.get((pk, product_pk)):
                    continue
                terms = matcher.products[index[product_pk]]
                records.append(
                    SuitabilityRecord(
                        customer_id=pk,
                        product_id=product_pk,
                        purpose=SuitabilityPurpose.REMATCH,
                        result=decision.result,
                        reasons=decision.reasons_text,
                        inputs=decision_inputs(customer=profile, product=terms, pools=pools, day=matcher.day),
                        actor=user,
                        actor_username=user.get_username() if user else "system",
                    )
                )
                owners.append(manager)
        created = SuitabilityRecord.objects.bulk_create(records)
        notices.extend(
            RematchNotice(
                account_manager_id=manager,
                customer_id=record.customer_id,
                product_id=record.product_id,
                record=record,
                old_result=previous[(record.customer_id, record.product_id)],
                new_result=record.result,
            )
            for record, manager in zip(created, owners)
            if manager is not None
        )
    return RematchNotice.objects.bulk_create(notices)


@transaction.atomic
def suitability_rematch_customer(*, customer: Customer, actor: Any = None) -> list[RematchNotice]:
    """After the customer's profile changed: re-match the products they were recommended or sold."""
    return _rematch(actor=actor, customer_ids=[customer.pk], product_ids=None)


@transaction.atomic
def suitability_rematch_product(*, product: Product, actor: Any = None) -> list[RematchNotice]:
    """After a product's terms changed: re-match the customers it was recommended or sold to."""
    return _rematch(actor=actor, customer_ids=None, product_ids=[product.pk])


def rematch_notice_read(*, actor: Any, notice_ids: Iterable[int]) -> int:
    """Mark the actor's own notices read; returns how many changed."""
    employee = acting_employee(actor)
    if employee is None:
        return 0
    return (
        RematchNotice.objects.for_user(actor)
        .filter(account_manager=employee, pk__in=list(notice_ids), read_at__isnull=True)
        .update(read_at=timezone.now())
    )


# --- export ------------------------------------------------------------------------------------


def suitability_export(
    *,
    day: date,
    out: Path,
    data_dir: Path | None = None,
    customer_nos: Iterable[str] | None = None,
    product_codes: Iterable[str] | None = None,
    actor: Any = None,
    request: HttpRequest | None = None,
) -> int:
    """Write ``customer_no,product_code,result,reasons`` for customers × products as of ``day``
    (``selectors.suitability_table``), sorted by customer then product; returns the row count.

    The audit entry is written before the file. ``actor=None`` is the operator's CLI (no scope).
    """
    table = suitability_table(
        day=day, actor=actor, customer_nos=customer_nos, product_codes=product_codes, data_dir=data_dir
    )
    audit_record(
        actor=actor,
        username="cli",
        action=AuditAction.CUSTOMER_EXPORT,
        object_type="suitability",
        object_id=day.isoformat(),
        request=request,
        detail={
            "day": day.isoformat(),
            "rows": table.count,
            "customers": sorted(customer_nos) if customer_nos is not None else "pools snapshot",
            "products": sorted(product_codes) if product_codes is not None else "all",
        },
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = 0
    with open(out, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")  # as the worked example (and the pools export)
        writer.writerow(EXPORT_COLUMNS)
        for number, code, decision in table.rows():
            writer.writerow([number, code, decision.result, decision.reasons_text])
            rows += 1
    return rows
