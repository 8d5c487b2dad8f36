"""Writes of segmentation: publishing the warehouse's tiers and classes, and head office's policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Iterator, Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.models import Customer
from brokercrm.datacenter.exports import to_cents
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.segments import pipeline as sp
from brokercrm.segments.choices import AbcdClass, Tier, TierChangeReason
from brokercrm.segments.models import CustomerSegment, CustomerTag, SegmentPublication, TierChange, TierPolicy

BATCH = 5000
TURNOVER_PLACES = Decimal("0.0001")

ERR_NOT_ALLOWED = _("Only head office may change the tier policy.")
ERR_THRESHOLD_ORDER = _("Each tier's thresholds must be at least those of the tier below it.")
ERR_NEGATIVE = _("Thresholds and multipliers cannot be negative.")
ERR_UNKNOWN_TIER = "row {n}: unknown tier {value!r}"
ERR_UNKNOWN_CLASS = "row {n}: unknown ABCD class {value!r}"
ERR_UNKNOWN_REASON = "change {n}: unknown reason {value!r}"

#: Compared to decide whether a row changed; ``as_of`` moves only with them.
_COMPARED = ("tier", "tier_since", "abcd_class", "contribution", "turnover", "net_commission_12m", "commission_partial")


@dataclass
class SegmentsPublishSummary:
    """What :func:`segments_publish` wrote."""

    as_of: date
    #: rows created or updated (unchanged rows are not written)
    segments_written: int = 0
    segments_unchanged: int = 0
    changes_written: int = 0
    #: rows for customer numbers the database does not know yet (published with the customers)
    skipped: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _batches(rows: Iterable[Any], size: int = BATCH) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _values(row: Mapping[str, Any], n: int) -> tuple:
    tier, cls = row["tier"], row["abcd_class"]
    if tier not in Tier.values:
        raise ValidationError(ERR_UNKNOWN_TIER.format(n=n, value=tier))
    if cls not in AbcdClass.values:
        raise ValidationError(ERR_UNKNOWN_CLASS.format(n=n, value=cls))
    return (
        tier,
        row["tier_since"],
        cls,
        to_cents(Decimal(row["contribution"] or 0)),
        Decimal(row["turnover"] or 0).quantize(TURNOVER_PLACES, rounding=ROUND_HALF_UP),
        to_cents(Decimal(row.get("net_commission_12m") or 0)),
        bool(row.get("commission_partial")),
    )


@transaction.atomic
def segments_publish(
    *,
    rows: Iterable[Mapping[str, Any]],
    changes: Iterable[Mapping[str, Any]],
    as_of: date,
    changes_from: date | None = None,
) -> SegmentsPublishSummary:
    """Keep the computed tiers and classes for pages, in one transaction.

    ``rows`` are the ``segments`` snapshot of ``as_of`` (``pipeline.SEGMENTS_SCHEMA``, e.g.
    ``table.to_pylist()``): only rows whose values differ from the stored ones are written
    (upserts in batches), so a day where few customers move costs little at a million customers.
    ``changes`` are ``tier_changes`` rows (``pipeline.TIER_CHANGES_SCHEMA``: customer_no,
    trade_date, old_tier, new_tier, reason) of the days being published; with ``changes_from``
    (the first recomputed day), the stored changes dated on or after it are replaced.
    Customers the database does not know yet are skipped (counted in ``skipped``).
    """
    summary = SegmentsPublishSummary(as_of=as_of)
    ids = dict(Customer.objects.unscoped().values_list("customer_no", "id"))
    stored = {
        values[0]: values[1:]
        for values in CustomerSegment.objects.unscoped().values_list("customer_id", *_COMPARED).iterator(chunk_size=BATCH)
    }

    def changed_rows() -> Iterator[CustomerSegment]:
        for n, row in enumerate(rows, 1):
            customer_id = ids.get(row["customer_no"])
            if customer_id is None:
                summary.skipped += 1
                continue
            values = _values(row, n)
            if stored.get(customer_id) == values:
                summary.segments_unchanged += 1
                continue
            yield CustomerSegment(customer_id=customer_id, as_of=as_of, **dict(zip(_COMPARED, values)))

    for batch in _batches(changed_rows()):
        CustomerSegment.objects.unscoped().bulk_create(
            batch, update_conflicts=True, unique_fields=["customer"], update_fields=[*_COMPARED, "as_of"]
        )
        summary.segments_written += len(batch)

    if changes_from is not None:
        TierChange.objects.unscoped().filter(date__gte=changes_from).delete()

    def change_rows() -> Iterator[TierChange]:
        for n, change in enumerate(changes, 1):
            customer_id = ids.get(change["customer_no"])
            if customer_id is None:
                summary.skipped += 1
                continue
            if change["reason"] not in TierChangeReason.values:
                raise ValidationError(ERR_UNKNOWN_REASON.format(n=n, value=change["reason"]))
            yield TierChange(
                customer_id=customer_id,
                date=change["trade_date"],
                old=change["old_tier"] or "",
                new=change["new_tier"],
                reason=change["reason"],
            )

    for batch in _batches(change_rows()):
        TierChange.objects.unscoped().bulk_create(batch, ignore_conflicts=True)
        summary.changes_written += len(batch)
    summary.counts = {
        "segments_written": summary.segments_written,
        "segments_unchanged": summary.segments_unchanged,
        "changes": summary.changes_written,
        "skipped": summary.skipped,
    }
    SegmentPublication.objects.create(as_of=as_of, counts=summary.counts)
    return summary


@dataclass
class TagsPublishSummary:
    """What :func:`tags_publish` wrote."""

    as_of: date
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    #: pairs for customer numbers the database does not know yet
    skipped: int = 0


@transaction.atomic
def tags_publish(*, rows: Iterable[tuple[str, str]], as_of: date) -> TagsPublishSummary:
    """Make the stored tags those of ``rows`` (``(customer_no, tag_code)`` pairs of the pipeline's
    ``tags`` snapshot of ``as_of``), in one transaction.

    Only the differences are written: pairs new since the stored ones are created with
    ``as_of``, pairs no longer carried are deleted, the rest (most, day to day) are not touched.
    Customers the database does not know yet are skipped.
    """
    summary = TagsPublishSummary(as_of=as_of)
    ids = dict(Customer.objects.unscoped().values_list("customer_no", "id"))
    wanted: set[tuple[int, str]] = set()
    for number, code in rows:
        customer_id = ids.get(number)
        if customer_id is None:
            summary.skipped += 1
            continue
        wanted.add((customer_id, code))
    stored = set(CustomerTag.objects.unscoped().values_list("customer_id", "tag_code").iterator(chunk_size=BATCH))
    gone: dict[str, list[int]] = {}
    for customer_id, code in stored - wanted:
        gone.setdefault(code, []).append(customer_id)
    for code, customers in sorted(gone.items()):
        for batch in _batches(sorted(customers), 900):
            summary.removed += CustomerTag.objects.unscoped().filter(tag_code=code, customer_id__in=batch).delete()[0]
    added = sorted(wanted - stored)
    for batch in _batches(added):
        CustomerTag.objects.unscoped().bulk_create(
            [CustomerTag(customer_id=customer_id, tag_code=code, as_of=as_of) for customer_id, code in batch]
        )
        summary.added += len(batch)
    summary.unchanged = len(wanted & stored)
    return summary


@transaction.atomic
def tier_policy_update(
    *,
    actor: Any,
    thresholds: Mapping[str, sp.TierThreshold],
    multipliers: Mapping[str, Decimal],
    note: str = "",
) -> TierPolicy:
    """Put a new tier policy in force (head office). The earlier ones stay as its history.

    ``thresholds``: silver, gold, diamond → :class:`pipeline.TierThreshold`; ``multipliers``:
    every tier → points multiplier. The pipeline applies the policy from its next run.
    """
    if not user_can(user=actor, capability=Capability.MANAGE_SEGMENTS):
        raise PermissionDenied(ERR_NOT_ALLOWED)
    values = [v for t in thresholds.values() for v in (t.avg_assets, t.net_commission)] + list(multipliers.values())
    if any(Decimal(v) < 0 for v in values):
        raise ValidationError(ERR_NEGATIVE)
    try:
        sp.validate_thresholds(thresholds)
    except ValueError as exc:
        raise ValidationError(ERR_THRESHOLD_ORDER) from exc
    fields: dict[str, Any] = {}
    for tier in sp.TIERS[1:]:
        fields[f"{tier}_assets"] = thresholds[tier].avg_assets
        fields[f"{tier}_commission"] = thresholds[tier].net_commission
    for tier in sp.TIERS:
        fields[f"{tier}_multiplier"] = multipliers[tier]
    policy = TierPolicy(note=note[:200], created_by=actor if getattr(actor, "is_authenticated", False) else None, **fields)
    policy.full_clean()
    policy.save()
    return policy
