"""The impact list of a market event (issue 6, "Market events"), computed from the published
warehouse version and frozen as ``EventImpact`` rows.

As of the latest published trading day ``as_of`` (``PublishRun.latest_day``: the day whose
customers the pages show), from that day's snapshots of the warehouse's published version
(``datacenter.runner``):

- ``positions`` (quantity > 0) of the affected securities, valued at ``closes`` exactly as the
  published holdings are (``pipeline.market_value``: quantity × close, repo at 100 a unit; a
  security without a close is worth 0) and rounded half up to the cent per holding — the
  figure the customer's holdings page shows;
- ``accounts`` for each fund account's customer (every account, any currency: the published
  holdings include them all);
- ``customer_indicators`` for the total assets of the day (rounded to the cent like
  ``IndicatorDaily.total_assets``; no row → unknown);
- ``segments`` for the tier of the day (no row: standard, ``rules.DEFAULT_TIER``).

DuckDB sums and ranks (exposure descending, then customer number) in integer cents. The
database then gives, for the affected customers only, their id, who serves them now and their
effective risk profile (the CRM's: a CRM assessment wins over the counter's, which the
warehouse's customer master does not know); the risk group and the priority are decided in
Python on integers (``rules``). Customers the database does not know yet (published after the
day) are left out and the ranks close up.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import re
import shutil
import uuid
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Iterator, NamedTuple

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.models import Customer
from brokercrm.datacenter import pipeline as pl
from brokercrm.datacenter import runner, warehouse
from brokercrm.datacenter.models import PublishRun
from brokercrm.service import rules
from brokercrm.service.models import EventImpact, MarketEvent

ERR_NOT_PUBLISHED = _("No trading day has been published yet: there are no holdings to measure the event on.")
ERR_NOT_IN_WAREHOUSE = _(
    "The published trading day {day} is not in the warehouse's published version: run the pipeline again."
)
ERR_UNKNOWN_INDUSTRY = _("No security belongs to the industry “{industry}”.")

RATIO_PLACES = Decimal("0.00000001")
#: snapshots the list cannot be computed without; the others may be missing (a warehouse
#: computed before the segment stage has no ``segments``)
REQUIRED = ("positions", "closes", "accounts")
OPTIONAL = ("customer_indicators", "segments")
#: rows per INSERT statement when freezing (fewer when the database allows fewer parameters)
FREEZE_ROWS = 3000
#: rows per row group of the holdings index: an event reads whole row groups
INDEX_ROW_GROUP = 16_384
SECURITY_CODE = re.compile(r"^(SH|SZ|BJ)\d{6}$")


class ImpactRow(NamedTuple):
    """One affected customer, before it is frozen."""

    customer_id: int
    customer_no: str
    account_manager_id: int | None
    exposure: Decimal
    total_assets: Decimal | None
    ratio: Decimal | None
    tier: str
    risk_group: str
    priority: str


def latest_published_day() -> date | None:
    """The latest trading day published to the database (the day an event is measured on)."""
    run = PublishRun.objects.filter(finished_at__isnull=False, latest_day__isnull=False).order_by("-latest_day").first()
    return run.latest_day if run is not None else None


def industry_members(industries: list[str], *, data_dir: Path | None = None) -> dict[str, list[str]]:
    """Every security (``"SH600036"``) of each Shenwan industry, from the warehouse's industry
    reference — the file the publish labels holdings with; without it no industry has members."""
    members: dict[str, set[str]] = {name: set() for name in industries}
    table = warehouse.read_industry(Path(data_dir or settings.DATA_DIR))
    if table is not None:
        for exchange, code, industry in zip(*(table.column(c).to_pylist() for c in ("exchange", "security_code", "industry"))):
            if industry in members:
                members[industry].add(f"{exchange}{code}")
    return {name: sorted(codes) for name, codes in members.items()}


def _cents(value: ir.DecimalValue) -> ir.IntegerValue:
    """A computed amount as integer cents, rounded like ``datacenter.exports.to_cents`` (to 8
    places, then half up — away from zero — to the cent), exactly, in the engine."""
    return (value.round(8).round(2) * 100).cast("int64")


def snapshot_paths(*, as_of: date, data_dir: Path | None = None) -> dict[str, Path]:
    """The day's snapshot files the list reads (``ValidationError`` when the published version
    lacks the day). An optional snapshot that is missing is left out."""
    version = runner.current_version(Path(data_dir or settings.DATA_DIR))
    if version is None:
        raise ValidationError(ERR_NOT_PUBLISHED)
    paths = {table: runner._partition(version, table, as_of) for table in (*REQUIRED, *OPTIONAL)}
    if not all(paths[table].is_file() for table in REQUIRED):
        raise ValidationError(ERR_NOT_IN_WAREHOUSE.format(day=as_of.isoformat()))
    return {table: path for table, path in paths.items() if path.is_file()}


def _holdings_expr(con: ibis.BaseBackend, paths: dict[str, Path]) -> ir.Table:
    """One row per published holding of the day (quantity > 0): ``security`` (``"SH600036"``),
    ``customer_no``, ``cents`` (its market value), and the customer's ``assets`` (cents, null
    when unknown) and ``tier`` (null: not placed) of the day."""
    pos = con.read_parquet(paths["positions"]).select("fund_account", "exchange", "security_code", "quantity")
    pos = pos.filter(pos.quantity > 0)
    closes = con.read_parquet(paths["closes"]).select("exchange", "security_code", "security_type", "close_price")
    valued = pos.left_join(closes, ["exchange", "security_code"])
    value = pl.market_value(
        quantity=valued.quantity,
        close_price=valued.close_price.fill_null(0),
        security_type=valued.security_type.fill_null("stock"),
    )
    holdings = valued.select("fund_account", security=valued.exchange.concat(valued.security_code), cents=_cents(value))
    accounts = con.read_parquet(paths["accounts"]).select("fund_account", "customer_no")
    owned = holdings.join(accounts, "fund_account").select("security", "customer_no", "cents")
    if "customer_indicators" in paths:
        ci = con.read_parquet(paths["customer_indicators"])
        owned = owned.left_join(ci.select("customer_no", assets=_cents(ci.total_assets)), "customer_no").drop(
            "customer_no_right"
        )
    else:
        owned = owned.mutate(assets=ibis.null("int64"))
    if "segments" in paths:
        seg = con.read_parquet(paths["segments"]).select("customer_no", "tier")
        owned = owned.left_join(seg, "customer_no").drop("customer_no_right")
    else:
        owned = owned.mutate(tier=ibis.null("string"))
    return owned.select("security", "customer_no", "cents", "assets", "tier")


def _index_dir(data_dir: Path) -> Path:
    return warehouse.warehouse_path(data_dir) / "cache" / "impact"


def holdings_index(*, as_of: date, data_dir: Path | None = None) -> Path:
    """The day's holdings by security (:func:`_holdings_expr`, sorted by security then customer,
    in row groups of :data:`INDEX_ROW_GROUP` rows): built once per published version and day,
    so that an event reads the row groups of its securities only instead of every position.

    A derived file, like a database index: under ``warehouse/cache/impact/<version>/``, written
    to a temporary name and renamed (a concurrent builder writes the same bytes); the folders of
    other versions are removed. ``brokercrm pipeline run`` builds it after publishing; otherwise
    the first event of the day does (seconds at a million customers)."""
    data_dir = Path(data_dir or settings.DATA_DIR)
    paths = snapshot_paths(as_of=as_of, data_dir=data_dir)
    version = runner.current_version(data_dir)
    folder = _index_dir(data_dir) / version.name
    target = folder / f"holdings-{as_of.isoformat()}.parquet"
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}"
    con = ibis.duckdb.connect()
    try:
        expr = _holdings_expr(con, paths).order_by(["security", "customer_no"])
        con.to_parquet(expr, temporary, row_group_size=INDEX_ROW_GROUP, compression="zstd")
    finally:
        con.disconnect()
    os.replace(temporary, target)
    for other in _index_dir(data_dir).iterdir():
        if other.is_dir() and other.name != version.name:
            shutil.rmtree(other, ignore_errors=True)
    return target


def exposure_table(*, securities: list[str], index: Path) -> pa.Table:
    """Per affected customer of the firm: ``customer_no``, ``exposure`` and ``assets`` (integer
    cents; assets null when unknown) and ``tier`` (null: not placed), ranked by exposure
    descending then customer number — one DuckDB statement over the day's holdings index.

    The codes are bound as one parameter each: DuckDB then skips the index's row groups whose
    securities lie outside them (a list parameter, ``IN (SELECT unnest($1))``, reads them all)."""
    codes = sorted(set(securities))
    if any(not SECURITY_CODE.match(c) for c in codes):
        raise ValueError("not a security code")
    placeholders = ", ".join(f"${i}" for i in range(2, len(codes) + 2))
    sql = (
        "SELECT customer_no, SUM(cents) AS exposure, ANY_VALUE(assets) AS assets, ANY_VALUE(tier) AS tier "
        f"FROM read_parquet($1) WHERE security IN ({placeholders}) "
        "GROUP BY customer_no ORDER BY exposure DESC, customer_no"
    )
    con = duckdb.connect()
    try:
        return con.execute(sql, [str(index), *codes]).fetch_arrow_table()
    finally:
        con.close()


def max_query_params() -> int:
    """Bound parameters one statement may carry: SQLite's compiled limit (32,766 since 3.32;
    Django assumes 999), else the backend's (PostgreSQL: 65,535)."""
    connection.ensure_connection()
    raw = connection.connection
    if connection.vendor == "sqlite" and hasattr(raw, "getlimit"):
        import sqlite3

        return raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 65535


def _customers(numbers: list[str]) -> dict[str, tuple]:
    """customer_no → (id, account manager id, risk level, risk expiry, investor class), for the
    customers the database knows: plain parametrised SELECTs, as few as the database's
    bound-parameter limit allows (the ORM's per-row conversions cost more than the lookups)."""
    meta = Customer._meta
    columns = ", ".join(
        meta.get_field(name).column
        for name in ("customer_no", "id", "account_manager", "risk_level", "risk_expiry", "investor_class")
    )
    select = f"SELECT {columns} FROM {meta.db_table} WHERE {meta.get_field('customer_no').column} "
    if connection.vendor == "postgresql":
        # one array parameter: PostgreSQL plans ``= ANY($1)`` once, where a 65k-item IN list
        # is text to parse and a plan per statement
        statements = [(select + "= ANY(%s)", [numbers])]
    else:
        size = max_query_params() - 10
        statements = [
            (select + f"IN ({', '.join(['%s'] * len(batch))})", batch)
            for batch in (numbers[start : start + size] for start in range(0, len(numbers), size))
        ]
    known: dict[str, tuple] = {}
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            for number, customer_id, manager, level, expiry, investor_class in cursor.fetchall():
                if isinstance(expiry, str):  # SQLite hands dates back as text
                    expiry = date.fromisoformat(expiry)
                known[number] = (customer_id, manager, level, expiry, investor_class)
    return known


def impact_compute(*, securities: list[str], as_of: date, data_dir: Path | None = None) -> list[ImpactRow]:
    """The ranked impact list of the firm (every customer, no scope) as of ``as_of`` (see the
    module doc). ``ValidationError`` when the published warehouse lacks the day."""
    index = holdings_index(as_of=as_of, data_dir=data_dir)
    if not securities:
        return []
    table = exposure_table(securities=securities, index=index)
    # tens of thousands of new tuples and decimals would set off full collections of the whole
    # process's heap (a third of this function's time at a million customers); none is garbage
    with _gc_paused():
        return _rows(table, as_of=as_of)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _rows(table: pa.Table, *, as_of: date) -> list[ImpactRow]:
    """:func:`exposure_table`'s rows resolved to the database's customers, with the rules."""
    numbers = table.column("customer_no").to_pylist()
    known = _customers(numbers)
    decide = rules.priority_rule()
    groups: dict[tuple, str] = {}  # rules.risk_group per distinct profile (a handful at a million customers)
    default_tier = rules.DEFAULT_TIER
    out = []
    for number, cents, assets, tier in zip(
        numbers, *(table.column(c).to_pylist() for c in ("exposure", "assets", "tier"))
    ):
        customer = known.get(number)
        if customer is None:
            continue
        customer_id, manager, level, expiry, investor_class = customer
        profile = (level, investor_class, expiry is not None and expiry < as_of)
        group = groups.get(profile)
        if group is None:
            group = groups[profile] = rules.risk_group(
                risk_level=level, investor_class=investor_class, risk_expiry=expiry, today=as_of
            )
        tier = tier or default_tier
        out.append(
            ImpactRow(
                customer_id,
                number,
                manager,
                Decimal(cents).scaleb(-2),
                Decimal(assets).scaleb(-2) if assets is not None else None,
                (Decimal(cents) / assets).quantize(RATIO_PLACES, ROUND_HALF_UP) if assets else None,
                tier,
                group,
                decide(cents, assets, tier),
            )
        )
    return out


def impact_freeze(*, event: MarketEvent, rows: list[ImpactRow]) -> int:
    """Write the ranked rows as the event's ``EventImpact`` rows and its totals (inside the
    caller's transaction).

    PostgreSQL: one ``COPY … FROM STDIN`` (psycopg 3), about four times faster than INSERTs.
    SQLite: multi-row parametrised INSERTs of :data:`FREEZE_ROWS` rows each. Building a model
    instance per row, or one statement execution per row, costs more than the whole computation
    at tens of thousands of rows.
    """
    table = EventImpact._meta.db_table
    columns = (
        "event_id", "rank", "customer_id", "account_manager_id", "exposure", "total_assets", "exposure_ratio",
        "tier", "risk_group", "priority",
    )  # fmt: skip
    event_id = event.pk
    values = (
        (event_id, rank, r.customer_id, r.account_manager_id, r.exposure, r.total_assets, r.ratio, r.tier, r.risk_group, r.priority)
        for rank, r in enumerate(rows, 1)
    )
    with connection.cursor() as cursor, _gc_paused():
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
        else:
            head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
            one = f"({', '.join(['%s'] * len(columns))})"
            per_statement = max(1, min(FREEZE_ROWS, max_query_params() // len(columns)))
            while batch := list(itertools.islice(values, per_statement)):
                cursor.execute(head + ", ".join([one] * len(batch)), [v for row in batch for v in row])
    event.affected_customers = len(rows)
    event.total_exposure = sum((r.exposure for r in rows), Decimal(0))
    event.save(update_fields=["affected_customers", "total_exposure"])
    return len(rows)
