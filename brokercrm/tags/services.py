"""Writes of the tag catalogue (head office's tags) and of tag coverage.

Every change to a custom tag is validated by building the WHOLE catalogue — the built-in tags and
head office's active tags with the change applied — through the tag engine
(``tagengine.catalogue.build_catalogue``). Any problem refuses the change with the engine's
messages (a rule error carries its column and a pointer); nothing is stored. A stored change is
a new version (``CustomTagVersion``) and an audit entry; the pipeline computes it from its next
run (the runner's fingerprint covers every tag's rule, so every computed day is recomputed).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping

import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from brokercrm.datacenter import runner
from brokercrm.org.choices import AuditAction
from brokercrm.org.services import audit_record
from brokercrm.tagengine.catalogue import FIELDS, CatalogueError, Problem, build_catalogue
from brokercrm.tags.choices import TagChange
from brokercrm.tags.models import CoverageDay, CustomTag, CustomTagVersion, TagCoverage
from brokercrm.tags.selectors import builtin_codes, builtin_entries, can_manage, custom_entries, custom_entry

ERR_NOT_ALLOWED = "Only head office may write tags."
ERR_BUILTIN_CLASH = "code {code!r} is a built-in tag: choose another code"
ERR_CODE_TAKEN = "code {code!r} is already used by a custom tag (reactivate or edit it)"
ERR_RESERVED = "code {code!r} is reserved by the tag pages: choose another code"
ERR_TOO_LONG = "{field!r} is longer than {limit} characters"
ERR_NO_TAG = "no tag in the file: write one or more [[tag]] tables (or the fields at the top level)"
#: path segments of the tag pages that a code would shadow
RESERVED_CODES = frozenset({"new", "check"})
LIMITS = {"name_zh": 100, "name_en": 100, "rule": 4000, "description": 2000}
#: the fields a change may set (the code is the tag's identity)
EDITABLE = ("name_zh", "name_en", "category", "description", "rule")


class TagRefused(ValidationError):
    """A change refused whole, with the engine's problems (``tagengine.catalogue.Problem``)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__([str(p) for p in self.problems])


_FIELD_IN_MESSAGE = re.compile(r"^(?:missing field |)'(\w+)'")


def problem_field(problem: Problem) -> str | None:
    """The form field a problem belongs to (None: the whole tag)."""
    message = problem.message
    if problem.position is not None or message.startswith("rule:") or "cycle" in message:
        return "rule"
    if message.startswith("unknown category"):
        return "category"
    if message.startswith("code") or message.startswith("code must"):
        return "code"
    match = _FIELD_IN_MESSAGE.match(message)
    if match and match.group(1) in FIELDS:
        return match.group(1)
    return None


def _require(actor: Any) -> None:
    """``actor`` None is the operator's command line; anyone else needs the capability."""
    if actor is not None and not can_manage(actor):
        raise PermissionDenied(ERR_NOT_ALLOWED)


def _clean(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (v.strip() if isinstance(v, str) else v) for k, v in entry.items()}


def _limits(entry: Mapping[str, Any], label: str) -> list[Problem]:
    return [
        Problem(label, ERR_TOO_LONG.format(field=name, limit=limit))
        for name, limit in LIMITS.items()
        if isinstance(entry.get(name), str) and len(entry[name]) > limit
    ]


def _validate(entries: list[Mapping[str, Any]], *, without: Iterable[str] = ()) -> None:
    """Build the catalogue of the built-in tags, the active custom tags (less ``without``) and
    ``entries``; raise :class:`TagRefused` with every problem."""
    skip = set(without)
    stored = [e for e in custom_entries() if e["code"] not in skip]
    try:
        build_catalogue([*builtin_entries(), *stored, *entries])
    except CatalogueError as error:
        raise TagRefused(error.problems) from None


def _version(tag: CustomTag, change: str, actor: Any, username: str) -> CustomTagVersion:
    last = tag.versions.order_by("-version").values_list("version", flat=True).first() or 0
    user = actor if getattr(actor, "is_authenticated", False) else None
    return CustomTagVersion.objects.create(
        tag=tag,
        version=last + 1,
        change=change,
        **{name: getattr(tag, name) for name in EDITABLE},
        active=tag.active,
        changed_by=user,
        changed_by_username=(user.get_username() if user else username or "cli")[:150],
    )


def _audit(actor: Any, action: str, tag: CustomTag, request: HttpRequest | None, username: str, **detail: Any) -> None:
    audit_record(
        actor=actor,
        username=username or "cli",
        action=action,
        object_type="tag",
        object_id=tag.code,
        request=request,
        detail=detail,
    )


@transaction.atomic
def custom_tags_create(
    *, actor: Any, entries: Iterable[Mapping[str, Any]], request: HttpRequest | None = None, username: str = ""
) -> list[CustomTag]:
    """Add head office's tags (dicts of ``tagengine.catalogue.FIELDS``), all or none.

    Refused (:class:`TagRefused`) when a code is a built-in tag's, a custom tag's (active or not)
    or a feature's, or when the catalogue with them does not validate.
    """
    _require(actor)
    entries = [_clean(e) if isinstance(e, Mapping) else e for e in entries]
    problems: list[Problem] = []
    builtin = builtin_codes()
    taken = set(CustomTag.objects.values_list("code", flat=True))
    checked = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            problems.append(Problem(f"#{i + 1}", "a tag is a table of fields"))
            continue
        code = entry.get("code")
        label = repr(code) if isinstance(code, str) and code else f"#{i + 1}"
        problems += _limits(entry, label)
        if isinstance(code, str) and code in builtin:
            problems.append(Problem(label, ERR_BUILTIN_CLASH.format(code=code)))
        elif isinstance(code, str) and code in taken:
            problems.append(Problem(label, ERR_CODE_TAKEN.format(code=code)))
        elif isinstance(code, str) and code in RESERVED_CODES:
            problems.append(Problem(label, ERR_RESERVED.format(code=code)))
        else:
            checked.append(entry)
    try:
        _validate(checked)
    except TagRefused as error:
        problems += error.problems
    if problems:
        raise TagRefused(problems)
    user = actor if getattr(actor, "is_authenticated", False) else None
    created = []
    for entry in entries:
        tag = CustomTag.objects.create(**{name: entry[name] for name in FIELDS}, created_by=user, updated_by=user)
        _version(tag, TagChange.CREATED, actor, username)
        _audit(actor, AuditAction.TAG_CREATE, tag, request, username, rule=tag.rule, category=tag.category)
        created.append(tag)
    return created


def custom_tag_create(
    *, actor: Any, request: HttpRequest | None = None, username: str = "", **fields: Any
) -> CustomTag:
    """Add one tag (``code, name_zh, name_en, category, description, rule``)."""
    return custom_tags_create(actor=actor, entries=[fields], request=request, username=username)[0]


@transaction.atomic
def custom_tag_update(
    *, actor: Any, tag: CustomTag, request: HttpRequest | None = None, username: str = "", **fields: Any
) -> CustomTag:
    """Change a tag's names, category, description or rule (not its code). An unchanged tag
    writes nothing; a deactivated tag is validated as if it were active (so that it can be
    reactivated)."""
    _require(actor)
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise TagRefused([Problem(repr(tag.code), f"cannot change {', '.join(unknown)}")])
    entry = {**custom_entry(tag), **_clean(fields)}
    changed = {name: [getattr(tag, name), entry[name]] for name in EDITABLE if entry[name] != getattr(tag, name)}
    if not changed:
        return tag
    problems = _limits(entry, repr(tag.code))
    if problems:
        raise TagRefused(problems)
    _validate([entry], without=[tag.code])
    for name in EDITABLE:
        setattr(tag, name, entry[name])
    if "rule" in changed:
        tag.rule_changed_at = timezone.now()
    tag.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    tag.save()
    _version(tag, TagChange.UPDATED, actor, username)
    _audit(actor, AuditAction.TAG_UPDATE, tag, request, username, changed=changed)
    return tag


@transaction.atomic
def custom_tag_set_active(
    *, actor: Any, tag: CustomTag, active: bool, request: HttpRequest | None = None, username: str = ""
) -> CustomTag:
    """Deactivate (no longer computed; refused while another active tag reads it) or reactivate
    (validated again: the catalogue may have changed since)."""
    _require(actor)
    if tag.active == active:
        return tag
    if active:
        _validate([custom_entry(tag)], without=[tag.code])
    else:
        _validate([], without=[tag.code])
    tag.active = active
    tag.rule_changed_at = timezone.now()
    tag.updated_by = actor if getattr(actor, "is_authenticated", False) else None
    tag.save()
    change = TagChange.REACTIVATED if active else TagChange.DEACTIVATED
    _version(tag, change, actor, username)
    _audit(actor, AuditAction.TAG_UPDATE, tag, request, username, changed={"active": [not active, active]})
    return tag


def read_tag_file(path: Path) -> list[dict[str, Any]]:
    """The tags of a TOML file: ``[[tag]]`` tables (as ``builtin_tags.toml``), or one tag's fields
    at the top level. A file that cannot be read is refused (:class:`TagRefused`)."""
    label = Path(path).name
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise TagRefused([Problem(label, f"cannot read the file: {error.strerror or error}")]) from None
    except tomllib.TOMLDecodeError as error:
        raise TagRefused([Problem(label, f"not TOML: {error}")]) from None
    if "tag" in data:
        unknown = sorted(set(data) - {"tag"})
        if unknown or not isinstance(data["tag"], list):
            raise TagRefused([Problem(label, ERR_NO_TAG)])
        entries = data["tag"]
    elif "code" in data:
        entries = [data]
    else:
        entries = []
    if not entries:
        raise TagRefused([Problem(label, ERR_NO_TAG)])
    return entries


# --- coverage --------------------------------------------------------------------------------------


def _population(data_dir: Path, day: date) -> int:
    """Customers evaluated on ``day``: the rows of its ``customer_indicators`` snapshot (the feature
    table's rows), read from the Parquet footer only."""
    version = runner.current_version(data_dir)
    path = runner._partition(version, "customer_indicators", day) if version else None
    if path is None or not path.exists():
        return 0
    return pq.ParquetFile(path).metadata.num_rows


def _counts(data_dir: Path, day: date) -> dict[str, int]:
    """Customers per tag of ``day``'s ``tags`` snapshot (one row per customer and tag carried)."""
    tags = runner.read_snapshot(data_dir=data_dir, table="tags", day=day)
    if tags is None or tags.num_rows == 0:
        return {}
    counted = pc.value_counts(tags.column("tag_code")).to_pylist()
    return {c["values"]: c["counts"] for c in counted}


@dataclass
class CoverageSummary:
    days: list[date]
    tags_republished: bool = False

    def counts(self) -> dict[str, int]:
        """For the publish summary: nothing when nothing was counted."""
        if not self.days:
            return {}
        return {"tag_coverage_days": len(self.days), **({"tags_republished": 1} if self.tags_republished else {})}


def tag_coverage_publish(*, data_dir: Path, republish_tags: bool = False) -> CoverageSummary:
    """Count customers per tag for every computed day whose ``tags`` snapshot is new or changed
    since it was last counted (the published days, days recomputed after a change of the
    catalogue, and — once — the earlier days, which fills the history).

    ``republish_tags``: when the latest day's tags changed, also make the stored customer tags
    those of the snapshot (``segments.services.tags_publish``) — the publish calls this when no new
    day arrived but the pipeline recomputed the days (a custom tag added, changed or deactivated).
    """
    data_dir = Path(data_dir)
    days = runner.computed_days(data_dir=data_dir)
    stored = dict(CoverageDay.objects.values_list("as_of", "fingerprint"))
    summary = CoverageSummary(days=[])
    for day in days:
        fingerprint = runner.snapshot_fingerprint(data_dir=data_dir, table="tags", day=day)
        if not fingerprint or stored.get(day) == fingerprint:
            continue
        counts = _counts(data_dir, day)
        with transaction.atomic():
            if republish_tags and day == days[-1]:
                from brokercrm.segments.services import tags_publish

                tags = runner.read_snapshot(data_dir=data_dir, table="tags", day=day)
                pairs = zip(tags.column("customer_no").to_pylist(), tags.column("tag_code").to_pylist())
                tags_publish(rows=pairs, as_of=day)
                summary.tags_republished = True
            TagCoverage.objects.filter(as_of=day).delete()
            TagCoverage.objects.bulk_create(
                [TagCoverage(as_of=day, tag_code=code, customers=n) for code, n in sorted(counts.items())]
            )
            CoverageDay.objects.update_or_create(
                as_of=day, defaults={"population": _population(data_dir, day), "fingerprint": fingerprint}
            )
        summary.days.append(day)
    return summary
