"""Reads of the tag catalogue: the built-in tags plus head office's active ones, their lineage,
coverage (customers per tag on the latest counted day, and share) and history.

Coverage is an aggregate (no customer is named), read from ``TagCoverage``; pages still require
``VIEW_CAPABILITY`` to show it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Mapping

from django.utils.translation import get_language

from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.tagengine.catalogue import (
    BUILTIN_TAGS,
    FIELDS,
    Catalogue,
    CatalogueError,
    Problem,
    build_catalogue,
    load_entries,
)
from brokercrm.tagengine.features import FEATURE_TYPES, FEATURES
from brokercrm.tagengine.language import RuleError, compile_rule
from brokercrm.tags.choices import category_label
from brokercrm.tags.models import CoverageDay, CustomTag, CustomTagVersion, TagCoverage

#: who may see the catalogue and its coverage, and who may write head office's tags
VIEW_CAPABILITY = Capability.VIEW_CUSTOMERS
MANAGE_CAPABILITY = Capability.MANAGE_SEGMENTS
#: sort keys of the catalogue page (a leading "-" reverses)
SORTS = ("code", "name", "category", "customers", "-customers")
SHARE_PLACES = Decimal("0.01")


def can_view(user: Any) -> bool:
    return user_can(user=user, capability=VIEW_CAPABILITY)


def can_manage(user: Any) -> bool:
    return user_can(user=user, capability=MANAGE_CAPABILITY)


# --- the catalogue ---------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def builtin_entries() -> tuple[Mapping[str, str], ...]:
    """The ``[[tag]]`` tables of ``builtin_tags.toml`` (read once per process)."""
    return tuple(load_entries(BUILTIN_TAGS))


def builtin_codes() -> frozenset[str]:
    return frozenset(e["code"] for e in builtin_entries())


def custom_entry(tag: CustomTag) -> dict[str, str]:
    """A stored tag as the engine reads it."""
    return {name: getattr(tag, name) for name in FIELDS}


def custom_entries(*, without: str | None = None) -> list[dict[str, str]]:
    """Head office's active tags (less ``without``), in code order."""
    tags = CustomTag.objects.filter(active=True).exclude(code=without or "").order_by("code")
    return [custom_entry(t) for t in tags]


@functools.lru_cache(maxsize=8)
def _build(entries: tuple[tuple[str, ...], ...]) -> Catalogue:
    return build_catalogue([dict(zip(FIELDS, e)) for e in entries])


def catalogue_of(entries: Iterable[Mapping[str, Any]]) -> Catalogue:
    """The validated catalogue of ``entries`` (memoised: most calls see the same tags)."""
    key = tuple(tuple(e.get(name) for name in FIELDS) for e in entries)
    return _build(key)


def current_catalogue() -> Catalogue:
    """The built-in tags and head office's active ones, validated together: what the pipeline
    computes (``brokercrm pipeline run``) and what pages list.

    Raises ``CatalogueError`` when a stored tag no longer validates (a release removed a feature
    it reads): the pipeline then stops with the problems rather than computing part of the tags.
    """
    return catalogue_of([*builtin_entries(), *custom_entries()])


def catalogue_state() -> tuple[Catalogue, list[Problem]]:
    """The current catalogue and no problems; or, when the stored tags no longer validate, the
    built-in tags and the problems (for pages, which must still open)."""
    try:
        return current_catalogue(), []
    except CatalogueError as error:
        return catalogue_of(builtin_entries()), error.problems


# --- the rule, checked as it is typed ------------------------------------------------------------


@dataclass(frozen=True)
class RuleCheck:
    """What the engine says of a rule: valid (and what it reads), or the error with its pointer."""

    valid: bool
    message: str = ""
    #: 1-based column of the error, 0 when the error is not at a place in the rule
    column: int = 0
    #: the rule and a caret under the error, for a monospaced block
    pointer: str = ""
    features: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


def rule_check(rule: str, *, code: str = "") -> RuleCheck:
    """Compile ``rule`` against the features and the current tags; with ``code`` (the tag being
    written), also refuse a rule that reads the tag itself or a tag that reads it back."""
    catalogue, _problems = catalogue_state()
    known = set(catalogue.codes) | ({code} if code else set())
    try:
        compiled = compile_rule(rule, features=FEATURE_TYPES, tags=known)
    except RuleError as error:
        return RuleCheck(valid=False, message=error.message, column=error.column, pointer=error.pointer())
    if code and compiled.tags:
        others = [e for e in catalogue if e.code != code]
        candidate = {"code": code, "name_zh": "-", "name_en": "-", "category": "basic", "description": "-", "rule": rule}
        try:
            build_catalogue([*({n: getattr(t, n) for n in FIELDS} for t in others), candidate])
        except CatalogueError as error:
            cycles = [p for p in error.problems if "cycle" in p.message]
            if cycles:
                return RuleCheck(valid=False, message=cycles[0].message)
    return RuleCheck(valid=True, features=tuple(sorted(compiled.features)), tags=tuple(sorted(compiled.tags)))


# --- coverage --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """Customers per tag on the latest counted day."""

    as_of: date | None
    population: int
    customers: Mapping[str, int]
    counted_at: Any = None

    def share(self, code: str) -> Decimal | None:
        """Percentage of the day's evaluated customers carrying ``code`` (None before any count)."""
        if not self.population:
            return None
        return (Decimal(self.customers.get(code, 0)) * 100 / self.population).quantize(SHARE_PLACES, ROUND_HALF_UP)


def coverage_latest() -> Coverage:
    day = CoverageDay.objects.order_by("-as_of").first()
    if day is None:
        return Coverage(as_of=None, population=0, customers={})
    counts = dict(TagCoverage.objects.filter(as_of=day.as_of).values_list("tag_code", "customers"))
    return Coverage(as_of=day.as_of, population=day.population, customers=counts, counted_at=day.counted_at)


@dataclass(frozen=True)
class HistoryPoint:
    as_of: date
    customers: int
    population: int
    share: Decimal | None


def tag_history(code: str) -> list[HistoryPoint]:
    """Customers carrying ``code`` on every counted day, oldest first (0 on a counted day without a
    row: nobody carried it, or it was not in the catalogue yet)."""
    counts = dict(TagCoverage.objects.filter(tag_code=code).values_list("as_of", "customers"))
    points = []
    for as_of, population in CoverageDay.objects.order_by("as_of").values_list("as_of", "population"):
        n = counts.get(as_of, 0)
        share = (Decimal(n) * 100 / population).quantize(SHARE_PLACES, ROUND_HALF_UP) if population else None
        points.append(HistoryPoint(as_of=as_of, customers=n, population=population, share=share))
    return points


def history_chart(points: list[HistoryPoint], label: str) -> dict[str, Any]:
    """The history as the pages' ECharts line (``app.js`` ``drawCharts``)."""
    return {"dates": [p.as_of.isoformat() for p in points], "series": {label: [p.customers for p in points]}}


# --- rows for pages and the API --------------------------------------------------------------------


def english() -> bool:
    return (get_language() or "zh-hans").startswith("en")


@dataclass(frozen=True)
class TagRow:
    code: str
    name: str
    name_zh: str
    name_en: str
    category: str
    category_label: str
    description: str
    rule: str
    custom: bool
    active: bool
    #: what the rule reads directly
    features: tuple[str, ...]
    tags: tuple[str, ...]
    customers: int | None
    share: Decimal | None
    #: a custom tag changed after the latest count: its coverage comes with the next pipeline run
    pending: bool = False


def _row(entry: Mapping[str, str], *, catalogue: Catalogue | None, coverage: Coverage, custom: CustomTag | None) -> TagRow:
    code = entry["code"]
    compiled = catalogue[code].compiled if catalogue is not None and code in catalogue else None
    active = custom.active if custom is not None else True
    pending = bool(
        custom is not None
        and custom.active
        and (coverage.counted_at is None or custom.rule_changed_at > coverage.counted_at)
    )
    counted = coverage.as_of is not None and active and not pending
    return TagRow(
        code=code,
        name=entry["name_en"] if english() else entry["name_zh"],
        name_zh=entry["name_zh"],
        name_en=entry["name_en"],
        category=entry["category"],
        category_label=category_label(entry["category"]),
        description=entry["description"],
        rule=entry["rule"],
        custom=custom is not None,
        active=active,
        features=tuple(sorted(compiled.features)) if compiled else (),
        tags=tuple(sorted(compiled.tags)) if compiled else (),
        customers=coverage.customers.get(code, 0) if counted else None,
        share=coverage.share(code) if counted else None,
        pending=pending,
    )


def tag_rows(*, category: str = "", query: str = "", sort: str = "code", inactive: bool = False) -> list[TagRow]:
    """Every tag of the catalogue (built-in first, then head office's), filtered and sorted;
    ``inactive`` adds head office's deactivated tags."""
    catalogue, _problems = catalogue_state()
    coverage = coverage_latest()
    customs = {t.code: t for t in CustomTag.objects.all()}
    rows = [_row(e, catalogue=catalogue, coverage=coverage, custom=None) for e in builtin_entries()]
    rows += [
        _row(custom_entry(t), catalogue=catalogue, coverage=coverage, custom=t)
        for t in customs.values()
        if t.active or inactive
    ]
    if category:
        rows = [r for r in rows if r.category == category]
    needle = query.strip().lower()
    if needle:
        rows = [r for r in rows if needle in r.code or needle in r.name_zh.lower() or needle in r.name_en.lower()]
    if sort not in SORTS:
        sort = "code"
    if sort in ("customers", "-customers"):
        sign = -1 if sort == "-customers" else 1
        rows.sort(key=lambda r: (sign * (r.customers if r.customers is not None else -1), r.code))
    elif sort == "name":
        rows.sort(key=lambda r: (r.name, r.code))
    elif sort == "category":
        rows.sort(key=lambda r: (r.category_label, r.code))
    else:
        rows.sort(key=lambda r: r.code)
    return rows


@dataclass(frozen=True)
class TagDetail:
    row: TagRow
    #: feature name → its label in the active language, for what the rule reads directly
    feature_labels: tuple[tuple[str, str], ...]
    #: what it reads through the tags it reads, and the feature table's inputs behind all of it
    all_features: tuple[str, ...]
    all_tags: tuple[str, ...]
    inputs: tuple[str, ...]
    #: the tags of the catalogue that read this one
    read_by: tuple[str, ...]
    custom: CustomTag | None
    versions: tuple[CustomTagVersion, ...]


def tag_detail(code: str) -> TagDetail | None:
    """A tag of the catalogue (or a deactivated custom tag), or None."""
    catalogue, _problems = catalogue_state()
    custom = CustomTag.objects.filter(code=code).first()
    entry: Mapping[str, str] | None = None
    if custom is not None:
        entry = custom_entry(custom)
    else:
        entry = next((e for e in builtin_entries() if e["code"] == code), None)
    if entry is None:
        return None
    row = _row(entry, catalogue=catalogue, coverage=coverage_latest(), custom=custom)
    lineage = catalogue.lineage(code) if code in catalogue else None
    label = (lambda f: FEATURES[f].label_en) if english() else (lambda f: FEATURES[f].label_zh)
    return TagDetail(
        row=row,
        feature_labels=tuple((f, label(f)) for f in row.features if f in FEATURES),
        all_features=tuple(sorted(lineage.all_features)) if lineage else (),
        all_tags=tuple(sorted(lineage.all_tags)) if lineage else (),
        inputs=tuple(sorted(lineage.inputs)) if lineage else (),
        read_by=tuple(sorted(t.code for t in catalogue if t.compiled is not None and code in t.compiled.tags)),
        custom=custom,
        versions=tuple(custom.versions.select_related("changed_by").order_by("-version")) if custom else (),
    )
