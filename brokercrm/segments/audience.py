"""Audiences: a segment definition evaluated over the published warehouse (issue 5, "Segment builder").

A **definition** is a small JSON tree::

    {"op": "and" | "or", "items": [node, ...]}      every / any of the items (an empty group: no condition)
    {"op": "not", "items": [node]}                   the customers the one item does not match
    {"tag": "high_net_worth"}                        customers carrying the tag (the tag catalogue)
    {"field": "total_assets", "cmp": ">=", "value": "1000000"}
    {"field": "total_assets", "cmp": "between", "value": ["500000", "1000000"]}
    {"field": "tier", "cmp": "in", "value": ["gold", "diamond"]}

over the fields of :data:`FIELDS` (per customer, on the latest computed day). A customer without a
value (no birth date, no tier yet …) does not match a field condition, and ``not`` is the
complement within the scope. :func:`definition_validate` refuses anything else with a message
naming the condition ("condition 2.1: …"); nothing is evaluated or saved then.

**Evaluation** reads an *audience base*: one Parquet file per published warehouse version, one row
per customer with its branch, the fields, and its tags as bitmasks (``tags_0``, ``tags_1`` …, 63
tags per column; ``tags.json`` maps a tag code to its column and bit). A tag condition is then a
bitwise AND on one integer column, not a semi-join over the 40-million-row long ``tags`` snapshot:
a five-condition audience over a million customers is counted and paged in a few milliseconds
(bench/segments.py). The base is built once per version (:func:`audience_base_build`, after a
publish or on first use) from the ``customers``, ``customer_indicators``, ``segments`` and ``tags``
snapshots of the latest day. A definition compiles to one Ibis expression (:func:`audience_filter`);
user values are literals of the expression, never SQL text.

**Scope** (:class:`AudienceScope`) is applied to every query, fail-closed: branch codes (a
branch, region or head office) or customer numbers (an account manager, a team); a scope with
neither matches nobody. ``segments.selectors.audience_scope`` derives it from the acting user.

No Django models here: the pages, the API, the refresh job and the benchmark share this module.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.choices import CustomerStatus, CustomerType, Gender, InvestorClass, RiskLevel
from brokercrm.segments.choices import AbcdClass, Tier

# --- the fields -----------------------------------------------------------------------------------

MONEY = "money"
INTEGER = "integer"
DECIMAL = "decimal"
CHOICE = "choice"

NUMBER_CMPS: tuple[str, ...] = (">=", ">", "<=", "<", "=", "!=", "between")
CHOICE_CMPS: tuple[str, ...] = ("in", "not_in")
CMP_LABELS = {
    ">=": "≥", ">": ">", "<=": "≤", "<": "<", "=": "=", "!=": "≠", "between": _("between"),
    "in": _("is one of"), "not_in": _("is none of"),
}  # fmt: skip

#: money in the base: rounded to the cent in 18 digits (int64 underneath; a yuan amount below
#: 10**16). Comparing the warehouse's decimal(38, 10) (int128) costs ten times more per row on
#: DuckDB; the rounding is paid once, when the base is built.
BASE_MONEY = "decimal(18, 2)"
BASE_RATIO = "decimal(18, 4)"


@dataclass(frozen=True)
class FieldSpec:
    """One field a condition may test: its name in definitions, its label and kind."""

    name: str
    label: Any
    kind: str
    #: for choice fields: (value, label) pairs; ``None`` for ``branch`` (the organisation's codes)
    choices: tuple[tuple[str, Any], ...] | None = None
    help: Any = ""

    @property
    def cmps(self) -> tuple[str, ...]:
        return CHOICE_CMPS if self.kind == CHOICE else NUMBER_CMPS


def _choices(text_choices) -> tuple[tuple[str, Any], ...]:
    return tuple((member.value, member.label) for member in text_choices)


#: The fields of a definition, in the order the builder offers them. Values are those of the
#: latest computed trading day (``as_of``); money in yuan.
FIELDS: Mapping[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec("tier", _("Tier"), CHOICE, _choices(Tier)),
        FieldSpec("abcd_class", _("ABCD class"), CHOICE, tuple((c.value, c.value) for c in AbcdClass)),
        FieldSpec("branch", _("Branch"), CHOICE, None),
        FieldSpec("risk_level", _("Risk level"), CHOICE, _choices(RiskLevel)),
        FieldSpec("customer_type", _("Customer type"), CHOICE, _choices(CustomerType)),
        FieldSpec("investor_class", _("Investor class"), CHOICE, _choices(InvestorClass)),
        FieldSpec("gender", _("Gender"), CHOICE, _choices(Gender)),
        FieldSpec("status", _("Status"), CHOICE, _choices(CustomerStatus)),
        FieldSpec("age", _("Age"), INTEGER, help=_("completed years")),
        FieldSpec("total_assets", _("Total assets"), MONEY),
        FieldSpec("net_assets", _("Net assets"), MONEY),
        FieldSpec("avg_assets_20d", _("20-day average assets"), MONEY),
        FieldSpec("cash_balance", _("Cash balance"), MONEY),
        FieldSpec("stock_value", _("Stock value"), MONEY),
        FieldSpec("fund_value", _("Fund value"), MONEY),
        FieldSpec("bond_value", _("Bond value"), MONEY),
        FieldSpec("debt", _("Debt"), MONEY),
        FieldSpec("trade_amount", _("Trade amount (latest day)"), MONEY),
        FieldSpec("trade_count", _("Trades (latest day)"), INTEGER),
        FieldSpec("commission", _("Commission (latest day)"), MONEY),
        FieldSpec("net_commission", _("Net commission (latest day)"), MONEY),
        FieldSpec("realized_pnl", _("Realized P&L (latest day)"), MONEY),
        FieldSpec("net_commission_12m", _("Net commission, 12 months"), MONEY),
        FieldSpec("contribution", _("Contribution (ABCD)"), MONEY),
        FieldSpec("turnover", _("Turnover rate (ABCD)"), DECIMAL),
    )
}
#: definition field → column of the audience base
COLUMNS = {name: ("branch_code" if name == "branch" else name) for name in FIELDS}
#: columns of the customer_indicators snapshot carried into the base as money
_INDICATOR_MONEY = (
    "total_assets", "net_assets", "avg_assets_20d", "cash_balance", "stock_value", "fund_value", "bond_value",
    "debt", "trade_amount", "commission", "net_commission", "realized_pnl",
)  # fmt: skip
_CUSTOMER_TEXT = ("customer_type", "gender", "status", "risk_level", "investor_class")

#: bits per tag column (int64, the sign bit unused)
TAG_BITS = 63
#: the limits of one definition (a definition is a filter a person reads, not a program)
MAX_CONDITIONS = 50
MAX_DEPTH = 6
#: customers on the first page of a preview
PREVIEW_SIZE = 50

# --- validation -----------------------------------------------------------------------------------

ERR_NOT_JSON = _("The definition is not valid JSON.")
ERR_NOT_OBJECT = _("{where}: a condition is an object with “op” and “items”, “tag”, or “field”, “cmp” and “value”.")
ERR_UNKNOWN_KEYS = _("{where}: unknown key(s) {keys}.")
ERR_UNKNOWN_OP = _("{where}: unknown operator “{op}”; use and, or, not.")
ERR_ITEMS = _("{where}: “items” must be a list of conditions.")
ERR_NOT_ONE = _("{where}: “not” takes exactly one condition.")
ERR_UNKNOWN_TAG = _("{where}: unknown tag “{tag}”.")
ERR_UNKNOWN_FIELD = _("{where}: unknown field “{field}”.")
ERR_CMP = _("{where}: {field} cannot be compared with “{cmp}”; use one of {cmps}.")
ERR_NUMBER = _("{where}: {field} needs a number, not “{value}”.")
ERR_INTEGER = _("{where}: {field} needs a whole number, not “{value}”.")
ERR_BETWEEN = _("{where}: “between” needs two numbers, low then high.")
ERR_BETWEEN_ORDER = _("{where}: the low end of “between” is above the high end.")
ERR_CHOICES = _("{where}: {field} needs a list of one or more values.")
ERR_CHOICE = _("{where}: “{value}” is not a value of {field}; use one of {choices}.")
ERR_TOO_MANY = _("A segment has at most {limit} conditions.")
ERR_TOO_DEEP = _("Groups nest at most {limit} levels deep.")


class DefinitionError(ValueError):
    """A definition refused: every problem found, each a sentence for the user."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = [str(p) for p in problems]
        super().__init__("\n".join(self.problems))


def _where(path: tuple[int, ...]) -> str:
    if not path:
        return str(_("The definition"))
    return str(_("Condition {n}").format(n=".".join(str(i + 1) for i in path)))


def _number(raw: Any) -> Decimal | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, Decimal)):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(repr(raw))
    elif isinstance(raw, str):
        try:
            value = Decimal(raw.strip().replace(",", ""))
        except InvalidOperation:
            return None
    else:
        return None
    return value if value.is_finite() and abs(value) < Decimal(10) ** 16 else None


def _value_text(raw: Any) -> str:
    return str(raw)[:40]


def definition_validate(
    definition: Any,
    *,
    tags: Iterable[str],
    branches: Iterable[str] | None = None,
) -> dict:
    """Check ``definition`` strictly and return it normalised (numbers as decimal strings, lists
    of choices sorted and without repeats).

    ``tags`` are the known tag codes (the catalogue); ``branches`` the known branch codes (None:
    any code is accepted). A JSON text is parsed first.

    Raises
    ------
    DefinitionError
        With every problem found.
    """
    if isinstance(definition, (str, bytes)):
        try:
            definition = json.loads(definition)
        except ValueError:
            raise DefinitionError([ERR_NOT_JSON]) from None
    known_tags = frozenset(tags)
    known_branches = frozenset(branches) if branches is not None else None
    problems: list[str] = []
    counted = [0]

    def node(raw: Any, path: tuple[int, ...]) -> dict | None:
        where = _where(path)
        if len(path) > MAX_DEPTH:
            problems.append(str(ERR_TOO_DEEP).format(limit=MAX_DEPTH))
            return None
        if not isinstance(raw, dict):
            problems.append(str(ERR_NOT_OBJECT).format(where=where))
            return None
        if "op" in raw or "items" in raw:
            return group(raw, path, where)
        counted[0] += 1
        if "tag" in raw:
            return tag(raw, where)
        if "field" in raw:
            return condition(raw, where)
        problems.append(str(ERR_NOT_OBJECT).format(where=where))
        return None

    def unknown_keys(raw: dict, allowed: set[str], where: str) -> bool:
        extra = sorted(set(raw) - allowed)
        if extra:
            problems.append(str(ERR_UNKNOWN_KEYS).format(where=where, keys=", ".join(f"“{k}”" for k in extra)))
        return bool(extra)

    def group(raw: dict, path: tuple[int, ...], where: str) -> dict | None:
        if unknown_keys(raw, {"op", "items"}, where):
            return None
        op = raw.get("op")
        if op not in ("and", "or", "not"):
            problems.append(str(ERR_UNKNOWN_OP).format(where=where, op=_value_text(op)))
            return None
        items = raw.get("items")
        if not isinstance(items, list):
            problems.append(str(ERR_ITEMS).format(where=where))
            return None
        if op == "not" and len(items) != 1:
            problems.append(str(ERR_NOT_ONE).format(where=where))
            return None
        children = [node(item, (*path, i)) for i, item in enumerate(items)]
        return {"op": op, "items": children}

    def tag(raw: dict, where: str) -> dict | None:
        if unknown_keys(raw, {"tag"}, where):
            return None
        code = raw.get("tag")
        if not isinstance(code, str) or code not in known_tags:
            problems.append(str(ERR_UNKNOWN_TAG).format(where=where, tag=_value_text(code)))
            return None
        return {"tag": code}

    def condition(raw: dict, where: str) -> dict | None:
        if unknown_keys(raw, {"field", "cmp", "value"}, where):
            return None
        name = raw.get("field")
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if spec is None:
            problems.append(str(ERR_UNKNOWN_FIELD).format(where=where, field=_value_text(name)))
            return None
        label = str(spec.label)
        cmp = raw.get("cmp")
        if cmp not in spec.cmps:
            problems.append(
                str(ERR_CMP).format(where=where, field=label, cmp=_value_text(cmp), cmps=", ".join(spec.cmps))
            )
            return None
        value = raw.get("value")
        if spec.kind == CHOICE:
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                problems.append(str(ERR_CHOICES).format(where=where, field=label))
                return None
            allowed = [c for c, _label in spec.choices] if spec.choices is not None else known_branches
            if allowed is not None:
                bad = [v for v in value if v not in allowed]
                if bad:
                    problems.append(
                        str(ERR_CHOICE).format(
                            where=where, value=_value_text(bad[0]), field=label, choices=", ".join(sorted(allowed))
                        )
                    )
                    return None
            return {"field": name, "cmp": cmp, "value": sorted(set(value))}
        if cmp == "between":
            if not isinstance(value, list) or len(value) != 2:
                problems.append(str(ERR_BETWEEN).format(where=where))
                return None
            bounds = [number(v, spec, where) for v in value]
            if None in bounds:
                return None
            if Decimal(bounds[0]) > Decimal(bounds[1]):
                problems.append(str(ERR_BETWEEN_ORDER).format(where=where))
                return None
            return {"field": name, "cmp": cmp, "value": bounds}
        single = number(value, spec, where)
        return None if single is None else {"field": name, "cmp": cmp, "value": single}

    def number(raw: Any, spec: FieldSpec, where: str) -> str | None:
        value = _number(raw)
        if value is None:
            problems.append(str(ERR_NUMBER).format(where=where, field=spec.label, value=_value_text(raw)))
            return None
        if spec.kind == INTEGER:
            if value != value.to_integral_value():
                problems.append(str(ERR_INTEGER).format(where=where, field=spec.label, value=_value_text(raw)))
                return None
            return str(int(value))
        return format(value.normalize(), "f")

    root = node(definition, ())
    if counted[0] > MAX_CONDITIONS:
        problems.append(str(ERR_TOO_MANY).format(limit=MAX_CONDITIONS))
    if problems:
        raise DefinitionError(list(dict.fromkeys(problems)))
    assert root is not None
    return root


EMPTY_DEFINITION: dict = {"op": "and", "items": []}


def definition_tags(definition: Mapping) -> list[str]:
    """Tag codes a (valid) definition reads, in order of appearance."""
    if "tag" in definition:
        return [definition["tag"]]
    return [code for item in definition.get("items", ()) for code in definition_tags(item)]


def definition_conditions(definition: Mapping) -> int:
    """How many tag and field conditions a (valid) definition has."""
    if "op" in definition:
        return sum(definition_conditions(item) for item in definition["items"])
    return 1


# --- scope ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudienceScope:
    """Whom an audience may contain: customers of ``branch_codes``, or the customers numbered
    ``customer_nos`` (an account manager's, a team's). Fail-closed: neither given → nobody."""

    branch_codes: tuple[str, ...] | None = None
    customer_nos: tuple[str, ...] | None = None

    @classmethod
    def nobody(cls) -> AudienceScope:
        return cls()

    @property
    def empty(self) -> bool:
        if self.customer_nos is not None:
            return not self.customer_nos
        return not self.branch_codes

    def describe(self) -> dict:
        """What the audit entry records of the scope (sizes, not the lists)."""
        if self.customer_nos is not None:
            return {"customers": len(self.customer_nos)}
        return {"branches": sorted(self.branch_codes or ())}


# --- the audience base ----------------------------------------------------------------------------

#: a DuckDB database file: native storage scans several times faster than Parquet, and a
#: read-only connection pages it in through DuckDB's buffer manager instead of holding a copy
BASE_FILE = "base.duckdb"
BASE_TABLE = "audience_base"
TAGS_FILE = "tags.json"


def audience_dir(data_dir: Path) -> Path:
    """``data_dir/segments/audience``: one folder per warehouse version."""
    return Path(data_dir) / "segments" / "audience"


def audience_base_expr(
    *,
    day: date,
    customers: ir.Table,
    indicators: ir.Table | None,
    segments: ir.Table | None,
    tags: ir.Table | None,
    tag_slots: Mapping[str, tuple[int, int]],
    branches: Sequence[str],
) -> ir.Table:
    """One row per customer of the ``customers`` snapshot of ``day``: branch, the fields of
    :data:`FIELDS` and the tag bitmasks (``tag_slots``: code → (column, bit)). ``branch_ix`` is
    the branch's position in ``branches`` (scope filters compare small integers, not strings).
    Pure: Ibis in, Ibis out."""
    m = customers
    branch_ix = ibis.cases(
        *[(m.branch_code == code, ibis.literal(i, "int16")) for i, code in enumerate(branches)],
        else_=ibis.null("int16"),
    ) if branches else ibis.null("int16")
    birthday_later = (m.birth_date.month() > day.month) | (
        (m.birth_date.month() == day.month) & (m.birth_date.day() > day.day)
    )
    age = (ibis.literal(day.year) - m.birth_date.year() - ibis.ifelse(birthday_later, 1, 0)).cast("int32")
    values: dict[str, ir.Value] = {
        "customer_no": m.customer_no,
        "branch_code": m.branch_code,
        "branch_ix": branch_ix,
        **{name: m[name] for name in _CUSTOMER_TEXT},
        "age": age,
    }
    joined = m
    if indicators is not None:
        ci = indicators.select("customer_no", *_INDICATOR_MONEY, "trade_count").rename(ci_customer_no="customer_no")
        joined = joined.left_join(ci, m.customer_no == ci.ci_customer_no)
        values.update({name: _cents(ci[name]) for name in _INDICATOR_MONEY})
        values["trade_count"] = ci.trade_count.cast("int64")
    else:
        values.update({name: ibis.null(BASE_MONEY) for name in _INDICATOR_MONEY})
        values["trade_count"] = ibis.null("int64")
    if segments is not None:
        s = segments.select(
            "customer_no", "tier", "abcd_class", "net_commission_12m", "contribution", "turnover"
        ).rename(s_customer_no="customer_no")
        joined = joined.left_join(s, m.customer_no == s.s_customer_no)
        values.update(
            tier=s.tier,
            abcd_class=s.abcd_class,
            net_commission_12m=_cents(s.net_commission_12m),
            contribution=_cents(s.contribution),
            turnover=s.turnover.round(4).cast(BASE_RATIO),
        )
    else:
        values.update(
            tier=ibis.null("string"), abcd_class=ibis.null("string"), net_commission_12m=ibis.null(BASE_MONEY),
            contribution=ibis.null(BASE_MONEY), turnover=ibis.null(BASE_RATIO),
        )  # fmt: skip
    columns = _tag_columns(len(tag_slots))
    if tags is not None and tag_slots:
        slots = ibis.memtable(
            pa.table(
                {
                    "slot_code": pa.array(list(tag_slots), pa.string()),
                    "slot_column": pa.array([c for c, _b in tag_slots.values()], pa.int64()),
                    "slot_bit": pa.array([1 << b for _c, b in tag_slots.values()], pa.int64()),
                }
            )
        )
        pairs = tags.select("customer_no", "tag_code").join(slots, tags.tag_code == slots.slot_code)
        bits = pairs.group_by(t_customer_no=pairs.customer_no).aggregate(
            **{
                name: ibis.ifelse(pairs.slot_column == i, pairs.slot_bit, 0).bit_or().cast("int64")
                for i, name in enumerate(columns)
            }
        )
        joined = joined.left_join(bits, m.customer_no == bits.t_customer_no)
        values.update({name: bits[name].fill_null(0) for name in columns})
    else:
        values.update({name: ibis.literal(0, "int64") for name in columns})
    for spec in FIELDS.values():  # choices as small integers: a filter compares numbers, not text
        if spec.kind == CHOICE and spec.choices is not None:
            column = values[COLUMNS[spec.name]]
            values[f"{COLUMNS[spec.name]}_ix"] = ibis.cases(
                *[(column == value, ibis.literal(i, "int8")) for i, (value, _label) in enumerate(spec.choices)],
                else_=ibis.ifelse(column.isnull(), ibis.null("int8"), ibis.literal(-1, "int8")),
            )
    return joined.select(**values).order_by("customer_no")


def _cents(value: ir.DecimalValue) -> ir.DecimalValue:
    # round first: DuckDB narrows a rounded decimal several times faster than an unrounded one
    return value.round(2).cast(BASE_MONEY)


def _tag_columns(n_tags: int) -> list[str]:
    return [f"tags_{i}" for i in range((n_tags + TAG_BITS - 1) // TAG_BITS)] or ["tags_0"]


def tag_slots_for(codes: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Code → (column, bit), codes sorted: the layout of the base's tag bitmasks."""
    return {code: divmod(i, TAG_BITS) for i, code in enumerate(sorted(set(codes)))}


@dataclass(frozen=True)
class AudienceBase:
    """A built audience base: its file, the trading day, and where each tag's bit is."""

    path: Path
    as_of: date
    version: str
    tag_slots: Mapping[str, tuple[int, int]]
    rows: int
    #: branch codes of the base; ``branch_ix`` is the position in this list
    branches: tuple[str, ...] = ()


def _latest_day(version_dir: Path) -> date | None:
    manifest = version_dir / "manifest.json"
    if not manifest.exists():
        return None
    days = json.loads(manifest.read_text(encoding="utf-8")).get("days", [])
    return max((date.fromisoformat(d) for d in days), default=None)


def _snapshot_path(version_dir: Path, table: str, day: date) -> Path:
    return version_dir / table / f"trade_date={day.isoformat()}" / "part-0.parquet"


_BUILD_LOCK = threading.Lock()


def audience_base_build(*, data_dir: Path, version_dir: Path | None = None) -> AudienceBase | None:
    """The audience base of the published warehouse version (built when missing), or None
    before the first pipeline run. Safe to call concurrently: a base is written to a temporary
    folder and renamed into place whole."""
    from brokercrm.datacenter import runner

    version_dir = version_dir or runner.current_version(Path(data_dir))
    if version_dir is None:
        return None
    day = _latest_day(version_dir)
    if day is None:
        return None
    folder = audience_dir(data_dir) / version_dir.name
    existing = _open_base(folder, version_dir.name)
    if existing is not None:
        return existing
    with _BUILD_LOCK:
        existing = _open_base(folder, version_dir.name)
        if existing is not None:
            return existing
        customers_path = _snapshot_path(version_dir, "customers", day)
        if not customers_path.exists():
            return None
        staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}"
        staging.mkdir(parents=True)
        try:
            con = ibis.duckdb.connect(staging / BASE_FILE)
            try:
                def read(table: str) -> ir.Table | None:
                    path = _snapshot_path(version_dir, table, day)
                    return con.read_parquet(path, table_name=f"snap_{table}") if path.exists() else None

                tags = read("tags")
                codes = (
                    con.to_pyarrow(tags.select("tag_code").distinct())["tag_code"].to_pylist()
                    if tags is not None
                    else []
                )
                slots = tag_slots_for(codes)
                customers = read("customers")
                branches = sorted(
                    b for b in con.to_pyarrow(customers.select("branch_code").distinct())["branch_code"].to_pylist() if b
                )
                expr = audience_base_expr(
                    day=day,
                    customers=customers,
                    indicators=read("customer_indicators"),
                    segments=read("segments"),
                    tags=tags,
                    tag_slots=slots,
                    branches=branches,
                )
                rows = int(con.to_pyarrow(con.create_table(BASE_TABLE, expr).count()).as_py())
                for table in ("customers", "customer_indicators", "segments", "tags"):
                    con.raw_sql(f'DROP VIEW IF EXISTS "snap_{table}"')
                con.raw_sql("CHECKPOINT")
            finally:
                con.disconnect()
            meta = {"as_of": day.isoformat(), "version": version_dir.name, "rows": rows, "branches": branches, "tags": {c: list(s) for c, s in slots.items()}}
            (staging / TAGS_FILE).write_text(json.dumps(meta, sort_keys=True), encoding="utf-8")
            try:
                os.replace(staging, folder)
            except OSError:  # built meanwhile by another process: theirs is the same
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _clean_bases(audience_dir(data_dir), keep={version_dir.name, *_recent_versions(data_dir)})
        return _open_base(folder, version_dir.name)


def _recent_versions(data_dir: Path) -> set[str]:
    from brokercrm.datacenter import runner

    versions = runner.snapshots_dir(Path(data_dir)) / "versions"
    return {p.name for p in versions.iterdir()} if versions.is_dir() else set()


def _clean_bases(root: Path, keep: set[str]) -> None:
    """Remove the bases of versions the warehouse no longer keeps (and dead staging folders)."""
    if not root.is_dir():
        return
    for path in root.iterdir():
        if path.name.startswith(".") or path.name not in keep:
            if path.name.startswith(".") and path.stat().st_mtime > time.time() - 3600:
                continue  # another process may be writing it
            shutil.rmtree(path, ignore_errors=True)


def _open_base(folder: Path, version: str) -> AudienceBase | None:
    meta_path, base_path = folder / TAGS_FILE, folder / BASE_FILE
    if not (meta_path.exists() and base_path.exists()):
        return None
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return AudienceBase(
        path=base_path,
        as_of=date.fromisoformat(meta["as_of"]),
        version=version,
        tag_slots={code: (slot[0], slot[1]) for code, slot in meta["tags"].items()},
        rows=int(meta.get("rows", 0)),
        branches=tuple(meta.get("branches", ())),
    )


# --- compiling a definition -----------------------------------------------------------------------

_SQL_CMPS = {">=": ">=", ">": ">", "<=": "<=", "<": "<", "=": "=", "!=": "<>"}


def audience_sql(
    definition: Mapping, *, tag_slots: Mapping[str, tuple[int, int]], branches: Sequence[str] = ()
) -> tuple[str, list]:
    """The SQL condition of a (validated) definition over the audience base, and its parameters.

    Every user value is a bound parameter; column names come only from :data:`COLUMNS` and the
    base's tag columns, never from the definition's text. Parametrised SQL rather than an Ibis
    expression here: a builder request runs two small queries, and compiling an expression
    (sqlglot) costs more than running it (bench/segments.py).
    """
    params: list = []

    def compile_node(node: Mapping) -> str:
        if "op" in node:
            parts = [compile_node(item) for item in node["items"]]
            if node["op"] == "not":
                return f"NOT ({parts[0]})"
            if not parts:
                return "TRUE"
            return "(" + (" AND " if node["op"] == "and" else " OR ").join(parts) + ")"
        if "tag" in node:
            slot = tag_slots.get(node["tag"])
            if slot is None:  # nobody carries the tag on this day
                return "FALSE"
            column, bit = slot
            params.append(1 << bit)
            return f"((tags_{int(column)} & ?) <> 0)"
        spec = FIELDS[node["field"]]
        column = f'"{COLUMNS[spec.name]}"'
        value = node["value"]
        negate = "NOT " if node["cmp"] == "not_in" else ""
        if spec.name == "branch":  # by position in the base's branches, like the scope
            positions = [i for i, code in enumerate(branches) if code in set(value)]
            if not positions:
                return "TRUE" if negate else "FALSE"
            params.extend(positions)
            return f"coalesce(branch_ix {negate}IN ({', '.join('?' for _p in positions)}), FALSE)"
        if spec.kind == CHOICE:  # by position in the field's choices (the base's ``<column>_ix``)
            assert spec.choices is not None
            positions = [i for i, (choice, _label) in enumerate(spec.choices) if choice in set(value)]
            params.extend(positions)
            marks = ", ".join("?" for _p in positions)
            return f'coalesce("{COLUMNS[spec.name]}_ix" {negate}IN ({marks}), FALSE)'
        typed = int if spec.kind == INTEGER else Decimal
        if node["cmp"] == "between":
            params.extend(typed(v) for v in value)
            return f"coalesce({column} BETWEEN ? AND ?, FALSE)"
        params.append(typed(value))
        return f"coalesce({column} {_SQL_CMPS[node['cmp']]} ?, FALSE)"

    return compile_node(definition), params


def _scope_sql(scope: AudienceScope, branches: Sequence[str]) -> tuple[str, list]:
    if scope.customer_nos is not None:
        return "customer_no IN (SELECT unnest(?::VARCHAR[]))", [sorted(set(scope.customer_nos))]
    wanted = set(scope.branch_codes or ())
    positions = [i for i, code in enumerate(branches) if code in wanted]
    if not positions:
        return "FALSE", []
    if len(positions) == len(branches):  # every branch of the day (head office): no filter to run
        return "branch_ix IS NOT NULL", []
    return f"branch_ix IN ({', '.join('?' for _p in positions)})", positions


# --- evaluating -----------------------------------------------------------------------------------

#: columns of a preview row and of a members file
PREVIEW_COLUMNS = ("customer_no", "branch_code", "tier", "abcd_class", "total_assets")


@dataclass
class AudienceResult:
    """How many customers an audience has, and the first of them (by customer number)."""

    count: int
    rows: list[dict] = field(default_factory=list)
    as_of: date | None = None
    version: str = ""


class _Engine:
    """A read-only DuckDB connection to one audience base, kept open for the version; each query
    runs on its own cursor, so the threads of a process query side by side."""

    def __init__(self, base: AudienceBase) -> None:
        import duckdb

        self.base = base
        self.con = duckdb.connect(str(base.path), read_only=True)

    def query(self, sql: str, params: list) -> pa.Table:
        cursor = self.con.cursor()
        try:
            return cursor.execute(sql, params).fetch_arrow_table()
        finally:
            cursor.close()

    def close(self) -> None:
        self.con.close()


_ENGINES: dict[str, _Engine] = {}
_ENGINES_LOCK = threading.Lock()
#: engines kept open at once (the current version and the one before, for readers mid-switch)
_KEEP_ENGINES = 2


def audience_engine(*, data_dir: Path) -> _Engine | None:
    """The cached engine of the published version's base (built on first use), or None before
    the first pipeline run."""
    from brokercrm.datacenter import runner

    version_dir = runner.current_version(Path(data_dir))
    if version_dir is None:
        return None
    key = str(audience_dir(data_dir) / version_dir.name)
    engine = _ENGINES.get(key)
    if engine is not None and engine.base.path.exists():
        return engine
    base = audience_base_build(data_dir=data_dir, version_dir=version_dir)
    if base is None:
        return None
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None or not engine.base.path.exists():
            engine = _ENGINES[key] = _Engine(base)
            for old in list(_ENGINES)[:-_KEEP_ENGINES]:
                _ENGINES.pop(old).close()
    return engine


def audience_engines_reset() -> None:
    """Close every cached engine (tests switch data directories)."""
    with _ENGINES_LOCK:
        for key in list(_ENGINES):
            _ENGINES.pop(key).close()


def _where_sql(engine: _Engine, definition: Mapping, scope: AudienceScope) -> tuple[str, list]:
    scope_sql, scope_params = _scope_sql(scope, engine.base.branches)
    condition, params = audience_sql(definition, tag_slots=engine.base.tag_slots, branches=engine.base.branches)
    return f"WHERE {scope_sql} AND {condition}", [*scope_params, *params]


def audience_evaluate(
    *, engine: _Engine, definition: Mapping, scope: AudienceScope, limit: int = PREVIEW_SIZE, offset: int = 0
) -> AudienceResult:
    """Count a validated definition within ``scope`` and return ``limit`` customers from
    ``offset`` (by customer number) with the preview columns."""
    result = AudienceResult(count=0, as_of=engine.base.as_of, version=engine.base.version)
    if scope.empty:
        return result
    where, params = _where_sql(engine, definition, scope)
    result.count = engine.query(f"SELECT count(*) AS n FROM {BASE_TABLE} {where}", params)["n"][0].as_py()
    if limit > 0 and result.count > offset:
        columns = ", ".join(PREVIEW_COLUMNS)
        page = engine.query(
            f"SELECT {columns} FROM {BASE_TABLE} {where} ORDER BY customer_no LIMIT ? OFFSET ?",
            [*params, int(limit), int(offset)],
        )
        result.rows = page.to_pylist()
    return result


def audience_members(*, engine: _Engine, definition: Mapping, scope: AudienceScope) -> pa.Table:
    """Every customer of the audience (the preview columns), by customer number."""
    columns = ", ".join(PREVIEW_COLUMNS)
    if scope.empty:
        return engine.query(f"SELECT {columns} FROM {BASE_TABLE} WHERE FALSE", [])
    where, params = _where_sql(engine, definition, scope)
    return engine.query(f"SELECT {columns} FROM {BASE_TABLE} {where} ORDER BY customer_no", params)


def members_write(table: pa.Table, path: Path) -> None:
    """Write a members table whole or not at all (temporary file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def members_read(path: Path, scope: AudienceScope) -> pa.Table:
    """A members file limited to ``scope`` (fail-closed), by customer number."""
    import pyarrow.compute as pc

    table = pq.read_table(path)
    if scope.empty:
        return table.slice(0, 0)
    if scope.customer_nos is not None:
        keep = pc.is_in(table["customer_no"], value_set=pa.array(sorted(set(scope.customer_nos)), pa.string()))
    else:
        keep = pc.is_in(table["branch_code"], value_set=pa.array(sorted(set(scope.branch_codes or ())), pa.string()))
    return table.filter(pc.fill_null(keep, False))


def members_empty() -> pa.Table:
    """An empty members table (no warehouse yet)."""
    return pa.table({c: pa.array([], pa.string()) for c in ("customer_no", "branch_code", "tier", "abcd_class")} | {
        "total_assets": pa.array([], pa.decimal128(38, 10))
    })
