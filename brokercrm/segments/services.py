"""Writes of segmentation: publishing the warehouse's tiers and classes, and head office's policy."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.models import Customer
from brokercrm.datacenter.exports import to_cents
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.segments import pipeline as sp
from brokercrm.segments.choices import AbcdClass, SegmentVisibility, Tier, TierChangeReason
from brokercrm.segments.models import (
    CustomerSegment,
    CustomerTag,
    SavedSegment,
    SegmentPublication,
    SegmentVersion,
    TierChange,
    TierPolicy,
)

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


# --- saved segments (the segment builder, ``segments.audience``) -----------------------------------

logger = logging.getLogger(__name__)

ERR_SEGMENT_NAME = _("Give the segment a name.")
ERR_SEGMENT_NOT_ALLOWED = _("You may not build segments.")
ERR_SEGMENT_NOT_OWNER = _("Only the owner may change or delete this segment.")
ERR_SEGMENT_VISIBILITY = _("Choose who sees the segment.")
ERR_EXPORT_NOT_ALLOWED = _("You may not export customers.")
#: versions of a segment kept (the current one always)
SEGMENT_VERSIONS_KEPT = 5
#: the most rows an Excel export holds (a sheet holds 1,048,576)
EXPORT_MAX_ROWS = 1_000_000


def _shared_node(actor: Any):
    """The node a shared segment is shared with: the owner's branch (a team's parent), or the
    owner's own node above branches (region, head office)."""
    from brokercrm.org.choices import NodeKind
    from brokercrm.org.scope import acting_employee

    employee = acting_employee(actor)
    if employee is None:
        return None
    node = employee.node
    return node.parent if node.kind == NodeKind.TEAM and node.parent_id else node


@transaction.atomic
def segment_save(
    *,
    actor: Any,
    name: str,
    definition: Any,
    visibility: str,
    description: str = "",
    segment: SavedSegment | None = None,
) -> SavedSegment:
    """Create (``segment`` None) or change a saved segment; the definition is validated strictly
    and nothing is saved when it is refused (``ValidationError`` with every problem). Its members
    are computed after the commit (:func:`segment_version_compute`)."""
    from brokercrm.segments.audience import DefinitionError
    from brokercrm.segments.selectors import definition_check

    if not user_can(user=actor, capability=Capability.VIEW_CUSTOMERS):
        raise PermissionDenied(ERR_SEGMENT_NOT_ALLOWED)
    if segment is not None and segment.owner_id != actor.pk:
        raise PermissionDenied(ERR_SEGMENT_NOT_OWNER)
    problems: list[str] = []
    name = (name or "").strip()[:100]
    if not name:
        problems.append(str(ERR_SEGMENT_NAME))
    if visibility not in SegmentVisibility.values:
        problems.append(str(ERR_SEGMENT_VISIBILITY))
    try:
        normalised = definition_check(definition)
    except DefinitionError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ValidationError(problems)
    segment = segment or SavedSegment(owner=actor)
    segment.name = name
    segment.description = (description or "").strip()[:300]
    segment.definition = normalised
    segment.visibility = visibility
    segment.shared_node = _shared_node(actor) if visibility == SegmentVisibility.BRANCH else None
    segment.save()
    return segment


def segment_delete(*, actor: Any, segment: SavedSegment, data_dir: Path | None = None) -> None:
    """Delete the actor's own segment and its member files."""
    if segment.owner_id != actor.pk:
        raise PermissionDenied(ERR_SEGMENT_NOT_OWNER)
    root = _data_root(data_dir)
    files = list(segment.versions.values_list("members_file", flat=True))
    segment.delete()
    for name in files:
        (root / name).unlink(missing_ok=True)


def _data_root(data_dir: Path | None) -> Path:
    from django.conf import settings

    return Path(data_dir or settings.DATA_DIR)


def segment_version_compute(*, segment: SavedSegment, data_dir: Path | None = None, engine=None) -> SegmentVersion | None:
    """Evaluate ``segment`` in its owner's scope over the published warehouse and make the result
    its current version. The members file is written whole first; only then is the version row
    created and the pointer moved, in one transaction — a failure anywhere leaves the previous
    version current. None before the first pipeline run."""
    from brokercrm.segments import audience as au
    from brokercrm.segments.selectors import audience_scope, definition_check

    root = _data_root(data_dir)
    engine = engine or au.audience_engine(data_dir=root)
    if engine is None:
        return None
    definition = definition_check(segment.definition)
    members = au.audience_members(engine=engine, definition=definition, scope=audience_scope(actor=segment.owner))
    relative = Path("segments") / "members" / str(segment.pk) / f"{engine.base.version}-{uuid.uuid4().hex[:12]}.parquet"
    au.members_write(members, root / relative)
    try:
        with transaction.atomic():
            version = SegmentVersion.objects.create(
                segment=segment,
                snapshot_version=engine.base.version,
                as_of=engine.base.as_of,
                definition=definition,
                member_count=members.num_rows,
                members_file=str(relative),
            )
            SavedSegment.objects.filter(pk=segment.pk).update(current_version=version)
    except BaseException:
        (root / relative).unlink(missing_ok=True)
        raise
    segment.current_version = version
    _prune_versions(segment, root)
    return version


def _prune_versions(segment: SavedSegment, root: Path) -> None:
    old = list(segment.versions.exclude(pk=segment.current_version_id).order_by("-created_at", "-id")[SEGMENT_VERSIONS_KEPT - 1 :])
    for version in old:
        (root / version.members_file).unlink(missing_ok=True)
        version.delete()


@dataclass
class SegmentsRefreshSummary:
    """What :func:`segments_refresh` did."""

    refreshed: int = 0
    failed: int = 0
    #: segment id → the error, for the failed ones (their previous version stays current)
    errors: dict[int, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {"saved_segments_refreshed": self.refreshed, "saved_segments_failed": self.failed}


def segments_refresh(*, data_dir: Path | None = None) -> SegmentsRefreshSummary:
    """A new membership version of every saved segment over the published warehouse version
    (run after each successful publish). Each segment moves its pointer only when its version was
    written completely; one that fails keeps its previous version and the others go on."""
    from brokercrm.segments import audience as au

    summary = SegmentsRefreshSummary()
    segments = list(SavedSegment.objects.select_related("owner").order_by("id"))
    if not segments:
        return summary
    root = _data_root(data_dir)
    try:
        engine = au.audience_engine(data_dir=root)
    except Exception as exc:  # the warehouse is unreadable: every segment keeps its version
        logger.exception("segments_refresh: the audience base could not be built")
        summary.failed = len(segments)
        summary.errors = {s.pk: str(exc) for s in segments}
        return summary
    if engine is None:
        return summary
    for segment in segments:
        try:
            segment_version_compute(segment=segment, data_dir=root, engine=engine)
        except Exception as exc:
            logger.exception("segments_refresh: segment %s failed", segment.pk)
            summary.failed += 1
            summary.errors[segment.pk] = str(exc)
        else:
            summary.refreshed += 1
    return summary


#: the columns of a segment export, in order (headers are translated)
SEGMENT_EXPORT_COLUMNS = (
    ("customer_no", _("Customer number")),
    ("name", _("Name")),
    ("branch_code", _("Branch code")),
    ("branch_name", _("Branch")),
    ("account_manager", _("Account manager")),
    ("mobile", _("Mobile")),
    ("tier", _("Tier")),
    ("abcd_class", _("ABCD class")),
    ("total_assets", _("Total assets")),
)


def segment_export(
    *, actor: Any, members, request=None, segment: SavedSegment | None = None, definition: Any = None, as_of: date | None = None
) -> bytes:
    """An Excel workbook of an audience's members (``members``: a table of
    ``audience.PREVIEW_COLUMNS`` already limited to the actor's scope), names and account managers
    as the actor may see them, mobiles masked as in the customer list. The audit entry (which
    segment, how many rows) is written before the workbook is built."""
    import io

    import openpyxl

    from brokercrm.org.choices import AuditAction
    from brokercrm.org.services import audit_record
    from brokercrm.segments.selectors import audience_rows

    if not user_can(user=actor, capability=Capability.EXPORT_CUSTOMERS):
        raise PermissionDenied(ERR_EXPORT_NOT_ALLOWED)
    members = members.slice(0, EXPORT_MAX_ROWS)
    audit_record(
        actor=actor,
        action=AuditAction.CUSTOMER_EXPORT,
        object_type="segment",
        object_id=str(segment.pk) if segment else "",
        request=request,
        detail={
            "via": "segment_export",
            "segment": segment.name if segment else "",
            "definition": definition if segment is None else segment.definition,
            "as_of": as_of.isoformat() if as_of else "",
            "rows": members.num_rows,
        },
    )
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(_("Members"))[:31])
    sheet.append([str(label) for _name, label in SEGMENT_EXPORT_COLUMNS])
    rows = members.to_pylist()
    for start in range(0, len(rows), 5000):
        for row in audience_rows(actor=actor, rows=rows[start : start + 5000]):
            values = {**row.__dict__, "tier": row.tier_label, "total_assets": row.total_assets}
            sheet.append([values[name] for name, _label in SEGMENT_EXPORT_COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
