"""The edge of the indicator pipeline: read the warehouse, compute day by day, publish atomically.

``pipeline.py`` holds the rules as Ibis expressions; this module chooses the engine once
(:func:`connect`), feeds those expressions one trading day after another with the previous
day's state and that day's flows, and writes the results as Parquet snapshots.

Snapshot layout, under ``data_dir/warehouse/snapshots``::

    CURRENT                      name of the published version (switched by an atomic rename)
    versions/<version>/
        manifest.json            computed days, their input fingerprints, each counter's initial day
        account_indicators/trade_date=YYYY-MM-DD/part-0.parquet
        customer_indicators/...  positions/...  reconciliation/...  dq_warnings/...
        accounts/...  closes/... (state carried to the next day: cash, account master, closes)
        customers/...            the customer master (carried; branch, birth date, gender too)
        commission_months/ tier_state/ abcd_sums/   segmentation state (carried)
        tier_changes/ abcd_daily/ segments/         tiers and ABCD classes (segments.stage)
        tags/...                 the tags of the day, long: customer_no, tag_code (tagengine)

A run builds a new version in a staging folder (hard links for the days it keeps, new files for
the days it computes) and publishes it by replacing ``CURRENT``; a run that dies leaves the last
published version untouched. Only the previous day's state and the new day's flows are read per
day (and 19 earlier days of customer totals for avg_assets_20d), so a day costs the same however
long the history.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Callable, Container, Iterator, Mapping, MutableMapping, Sequence, TypeVar

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.parquet as pq

from brokercrm.datacenter import pipeline as pl
from brokercrm.datacenter import warehouse
from brokercrm.datacenter import statements
from brokercrm.datacenter.dictionaries import STANDARD_TABLES
from brokercrm.datacenter.schema import table_schema
from brokercrm.segments import pipeline as sp
from brokercrm.segments.stage import segments_stage
from brokercrm.tagengine import features as tf
from brokercrm.tagengine.catalogue import (
    BUILTIN_TAGS,
    Catalogue,
    compute_tags_wide,
    load_catalogue,
    tags_long_from_wide,
)
from brokercrm.tagengine.language import DAY_COLUMNS, EvaluationDay, day_values

ENGINES = ("duckdb", "spark")

#: The tags of a day, long form: one row per customer and tag they carry (a customer without
#: tags has no row). Long rather than one column per tag: a tag is data (head office adds one
#: without a release, so the columns would change), most customers carry few of the 150 tags,
#: and both readers want the long form: the export joins a customer's codes, the publish diffs
#: (customer, tag) pairs.
TAGS_SCHEMA = ibis.schema({"trade_date": "date", "customer_no": "string", "tag_code": "string"})

#: Snapshot tables and their schemas, in the order a day writes them.
SNAPSHOT_TABLES: Mapping[str, ibis.Schema] = {
    "closes": pl.CLOSES_SCHEMA,
    "accounts": pl.ACCOUNTS_SCHEMA,
    "customers": pl.CUSTOMERS_SCHEMA,
    "positions": pl.POSITIONS_SCHEMA,
    "account_indicators": pl.ACCOUNT_INDICATORS_SCHEMA,
    "customer_indicators": pl.CUSTOMER_INDICATORS_SCHEMA,
    "pools": pl.POOLS_SCHEMA,
    # segments.pipeline: tier state, commission months, ABCD sums (carried), tier changes, the
    # ABCD day values (subtracted 250 days later) and the segments (tier + class) of the day
    **sp.SEGMENT_SCHEMAS,
    # the tags' windows: running sums carried from day to day (tagengine.features.window_state)
    "tag_windows": tf.WINDOW_STATE_SCHEMA,
    "tags": TAGS_SCHEMA,
    "reconciliation": pl.RECONCILIATION_SCHEMA,
    "dq_warnings": pl.DQ_WARNINGS_SCHEMA,
}
#: Row order of each snapshot file, so that a re-run writes the same bytes.
SORT_KEYS: Mapping[str, tuple[str, ...]] = {
    "closes": ("exchange", "security_code"),
    "accounts": ("fund_account",),
    "customers": ("customer_no",),
    "positions": ("fund_account", "exchange", "security_code"),
    "account_indicators": ("fund_account",),
    "customer_indicators": ("customer_no",),
    "pools": ("customer_no", "pool"),
    **sp.SEGMENT_SORT_KEYS,
    "tag_windows": ("customer_no",),
    "tags": ("customer_no", "tag_code"),
    "reconciliation": ("kind", "fund_account", "exchange", "security_code"),
    "dq_warnings": ("kind", "counter", "fund_account", "exchange", "security_code"),
}
_T = TypeVar("_T")
#: Names of ``compute_day``'s stages, by the schema of what they compute.
_STAGE_NAMES: Mapping[int, str] = {
    **{id(schema): table for table, schema in SNAPSHOT_TABLES.items()},
    id(tf.FEATURE_SCHEMA): "tag_features",
}
MANIFEST = "manifest.json"
CURRENT = "CURRENT"
#: A run computing days after the last published one publishes the days it has finished at least
#: this often (seconds), so that a long backfill killed or failing half-way keeps them and the
#: next run goes on from there; a recomputation of published days never does (until it passes
#: the last of them), since its version would lack the later days.
CHECKPOINT_SECONDS = 600.0
#: What avg_assets_20d and the pools' average need of earlier days (COUNTERS.md, "Per customer";
#: DOMAIN.md, "Qualified customer pools").
_HISTORY_COLUMNS = ("customer_no", "trade_date", "total_assets", "pool_assets")
#: What a run keeps in memory of each earlier day's customer indicators: the columns above and
#: those the tags' windows read (``tagengine.features.REQUIRED_COLUMNS["history"]``).
_KEPT_HISTORY_COLUMNS = tuple(dict.fromkeys([*_HISTORY_COLUMNS, *tf.REQUIRED_COLUMNS["history"]]))
#: What the tags read of each earlier day's trades.
_TRADE_COLUMNS = tf.REQUIRED_COLUMNS["trades"]
#: Carried from one day to the next (the previous day's table is the next day's input).
_BASE_CARRIED = ("closes", "accounts", "customers", "positions")
_LANE_CARRIED = ("tier_state", "commission_months", "abcd_sums", "tag_windows")
_CARRIED = (*_BASE_CARRIED, *_LANE_CARRIED)
#: The tables the segments and tags (the second lane) write.
_LANE_TABLES = frozenset([*sp.SEGMENT_SORT_KEYS, "tag_windows", "tags"])
#: The snapshot layout. A published version of another layout is recomputed from the first day.
#: 3: segments (tiers, ABCD) and tags; branch, birth date and gender in ``customers``.
#: 4: ``tag_windows``, the tags' window sums carried instead of six months of history re-read.
LAYOUT = 4
#: The date column of each CRM fact table (``schema.CRM_FACT_FILES``).
CRM_DATE_COLUMNS: Mapping[str, str] = {
    "assessments.parquet": "assessed_on",
    "investor_classes.parquet": "effective_on",
    "knowledge_tests.parquet": "passed_on",
}

ERR_ENGINE = "unknown engine {engine!r}: choose one of duckdb, spark"
ERR_LOCKED = "another pipeline run holds {path}"
ERR_NO_STATE = (
    "the state of {day} is not in the published snapshot: run with date_from on or before it"
)


@dataclass(frozen=True)
class PipelineResult:
    """What :func:`pipeline_run` did."""

    #: Days computed by this run, in order (empty when everything was up to date).
    computed: tuple[date, ...]
    #: Ingested days not computed because a counter has not delivered them (or an earlier day) yet.
    pending: tuple[date, ...]
    #: The published snapshot version (unchanged when nothing was computed; None when none exists).
    version: str | None
    #: Reconciliation breaks and data-quality warnings written for the computed days.
    breaks: int = 0
    warnings: int = 0
    seconds: float = 0.0
    #: Rows per snapshot table written by this run.
    rows: Mapping[str, int] = field(default_factory=dict)
    #: Days kept whose pools were recomputed because the CRM facts as of that day changed.
    pools_recomputed: tuple[date, ...] = ()
    #: Seconds per stage of the computed days (``compute_day``'s ``stage_seconds``), summed; the
    #: segments and tags run beside the next day's base, so the stages overlap.
    stage_seconds: Mapping[str, float] = field(default_factory=dict)
    #: Seconds the run waited for the segments and tags (of the day before, while the next day's
    #: base was done; of the last day, all of them, and the writing of their files after the
    #: base's): ``seconds`` less this is what the run would take without them.
    lane_wait_seconds: float = 0.0
    #: Versions published during the run with the days finished by then (``checkpoint_seconds``),
    #: before ``version``; each is a complete state, which a run killed later leaves current.
    checkpoints: tuple[str, ...] = ()


# --- engine ---------------------------------------------------------------------------------------


def connect(engine: str = "duckdb") -> ibis.BaseBackend:
    """The Ibis backend for ``engine`` (DESIGN.md: DuckDB embedded by default, Spark at scale).

    Spark runs locally (``local[*]``) with ``spark.sql.decimalOperations.allowPrecisionLoss``
    off: a decimal result then keeps its scale (as on DuckDB) instead of dropping digits past 38,
    which is what keeps the two engines' money identical.
    """
    if engine == "duckdb":
        return ibis.duckdb.connect()
    if engine == "spark":
        import sys

        from pyspark.sql import SparkSession

        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        session = (
            SparkSession.builder.master("local[*]")
            .appName("brokercrm-pipeline")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="brokercrm-spark-"))
            .config("spark.sql.decimalOperations.allowPrecisionLoss", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        # A session that already existed keeps its settings: this one must hold regardless.
        session.conf.set("spark.sql.decimalOperations.allowPrecisionLoss", "false")
        return ibis.pyspark.connect(session)
    raise ValueError(ERR_ENGINE.format(engine=engine))


# --- warehouse layout -----------------------------------------------------------------------------


def _warehouse(data_dir: Path) -> Path:
    return Path(data_dir) / "warehouse"


def snapshots_dir(data_dir: Path) -> Path:
    """``data_dir/warehouse/snapshots``."""
    return _warehouse(data_dir) / "snapshots"


def current_version(data_dir: Path) -> Path | None:
    """The folder of the published snapshot version, or None before the first run."""
    pointer = snapshots_dir(data_dir) / CURRENT
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    folder = snapshots_dir(data_dir) / "versions" / name
    return folder if folder.is_dir() else None


def _partition(version: Path, table: str, day: date) -> Path:
    return version / table / f"trade_date={day.isoformat()}" / "part-0.parquet"


def snapshot_fingerprint(*, data_dir: Path, table: str, day: date) -> str:
    """sha-256 of one day's published snapshot file ("" when there is none): a re-run writes the
    same bytes, so an unchanged fingerprint is an unchanged table."""
    version = current_version(data_dir)
    if version is None:
        return ""
    path = _partition(version, table, day)
    if not path.exists():
        return ""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_snapshot(*, data_dir: Path, table: str, day: date) -> pa.Table | None:
    """One day of a published snapshot table, or None when that day is not computed."""
    version = current_version(data_dir)
    if version is None:
        return None
    path = _partition(version, table, day)
    if not path.exists():
        return None
    return pq.ParquetFile(path).read()


def computed_days(*, data_dir: Path) -> list[date]:
    """Days in the published snapshot, in order."""
    version = current_version(data_dir)
    if version is None:
        return []
    return sorted(date.fromisoformat(d) for d in _read_manifest(version)["days"])


def _fingerprint(entries: list[tuple[str, Mapping]]) -> str:
    """A day's input identity: each counter's registry entry for it, less the time of ingest (a
    re-delivery with the same content needs no recomputation; one with new content does)."""
    digest = hashlib.sha256()
    for counter, entry in sorted(entries, key=lambda item: item[0]):
        kept = {k: v for k, v in entry.items() if k != "ingested_at"}
        digest.update(json.dumps([counter, kept], sort_keys=True, default=str).encode())
    return digest.hexdigest()


def segmentation_fingerprint(
    *,
    thresholds: Mapping[str, sp.TierThreshold],
    catalogue: Catalogue,
    industries: pa.Table | None,
) -> str:
    """The identity of what the segment and tag stages take besides the flows: the tier
    thresholds, the tags' codes and rules, and the reference industries. Part of every day's
    fingerprint: a change of any of them recomputes the computed days (the tier state carries
    forward, so from the first)."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps(
            {
                "thresholds": {
                    tier: [str(t.avg_assets), str(t.net_commission)] for tier, t in sorted(thresholds.items())
                },
                "tags": [[tag.code, tag.rule] for tag in catalogue],
            },
            sort_keys=True,
        ).encode()
    )
    if industries is not None:
        ordered = industries.sort_by([(c, "ascending") for c in industries.column_names])
        for values in zip(*(ordered.column(c).to_pylist() for c in ordered.column_names)):
            digest.update(json.dumps(values).encode() + b"\n")
    return digest.hexdigest()


def _day_fingerprint(inputs: str, *, evaluation_day: bool, segmentation: str) -> str:
    """A day's fingerprint: its inputs (:func:`_fingerprint`), whether it is a tier evaluation
    day (``segments.pipeline.is_evaluation_day``: it changes when the next month's first day
    arrives after a month ending in holidays) and :func:`segmentation_fingerprint`."""
    return hashlib.sha256(json.dumps([inputs, evaluation_day, segmentation]).encode()).hexdigest()


def _evaluation_days(calendar: list[date]) -> dict[date, bool]:
    """``is_evaluation_day`` of every day of the calendar (each judged by the day after it)."""
    return {d: sp.is_evaluation_day(calendar[i : i + 2], d) for i, d in enumerate(calendar)}


def _read_flow(data_dir: Path, table: str, day: date) -> pa.Table:
    return warehouse.read_flows(data_dir, table, start=day, end=day)


def crm_fingerprints(crm: Mapping[str, pa.Table], days: list[date]) -> dict[date, str]:
    """Per day D, the identity of the CRM facts that count as of D (those dated on or before D).

    A fact recorded after a run, dated on or before a computed day, changes that day's
    fingerprint and every later one's: :func:`pipeline_run` then recomputes those days' pools.
    """
    lines: dict[date, list[str]] = {}
    for name in sorted(crm):
        table = crm[name]
        if table.num_rows == 0:
            continue
        dates = table.column(CRM_DATE_COLUMNS[name]).to_pylist()
        columns = [table.column(c).to_pylist() for c in table.column_names]
        for when, values in zip(dates, zip(*columns)):
            if when is not None:
                lines.setdefault(when, []).append(json.dumps([name, *values], default=str))
    digest = hashlib.sha256()
    pending = sorted(lines)
    result: dict[date, str] = {}
    for day in sorted(days):
        while pending and pending[0] <= day:
            for line in sorted(lines[pending.pop(0)]):
                digest.update(line.encode() + b"\n")
        result[day] = digest.copy().hexdigest()
    return result


# --- manifest and publication ---------------------------------------------------------------------


def _read_manifest(version: Path | None) -> dict:
    if version is None or not (version / MANIFEST).exists():
        return {"days": {}, "initial_days": {}}
    return json.loads((version / MANIFEST).read_text(encoding="utf-8"))


@contextlib.contextmanager
def _lock(data_dir: Path) -> Iterator[None]:
    import fcntl

    root = snapshots_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    path = root / ".lock"
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise RuntimeError(ERR_LOCKED.format(path=path)) from exc
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _publish(data_dir: Path, staging: Path) -> str:
    """Rename the staging folder into ``versions/`` and switch ``CURRENT`` to it atomically."""
    versions = snapshots_dir(data_dir) / "versions"
    taken = [int(p.name[1:]) for p in versions.iterdir() if re.fullmatch(r"v\d+", p.name)]
    name = f"v{max(taken, default=0) + 1:06d}"
    os.replace(staging, versions / name)
    _fsync_dir(versions)
    pointer = snapshots_dir(data_dir) / CURRENT
    tmp = pointer.with_name(f".{CURRENT}.{uuid.uuid4().hex}")
    tmp.write_text(name + "\n", encoding="utf-8")
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, pointer)
    _fsync_dir(pointer.parent)
    return name


def _manifest(
    days: Sequence[date],
    *,
    fingerprints: Mapping[date, str],
    crm_days: Mapping[date, str],
    initial_days: Mapping[str, date],
) -> dict:
    return {
        "days": {d.isoformat(): {"fingerprint": fingerprints[d], "crm": crm_days[d]} for d in sorted(days)},
        "initial_days": {c: d.isoformat() for c, d in sorted(initial_days.items())},
        "layout": LAYOUT,
    }


def _write_manifest(folder: Path, manifest: dict) -> None:
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _link_days(source: Path, target: Path, days: Sequence[date], skip: Container[tuple[str, date]] = ()) -> None:
    """Link the files of ``days`` of the version folder ``source`` into ``target`` (all tables
    but the ``(table, day)`` pairs of ``skip``)."""
    for d in days:
        for table in SNAPSHOT_TABLES:
            src = _partition(source, table, d)
            if (table, d) not in skip and src.exists():
                _link_or_copy(src, _partition(target, table, d))


def _checkpoint(data_dir: Path, staging: Path, days: Sequence[date], manifest: dict) -> str:
    """Publish ``days`` of the staging folder (finished: their files written) as a version of
    their own, its files linked, while the run goes on in the staging folder."""
    folder = staging.with_name(f".staging-{uuid.uuid4().hex}")
    _link_days(staging, folder, days)
    _write_manifest(folder, manifest)
    return _publish(data_dir, folder)


def _clean(data_dir: Path, keep: set[str]) -> None:
    """Remove staging leftovers of killed runs and versions older than ``keep``.

    The version just replaced is kept one run longer: a reader that resolved ``CURRENT`` a
    moment before the switch can still open its files.
    """
    versions = snapshots_dir(data_dir) / "versions"
    if not versions.is_dir():
        return
    for path in versions.iterdir():
        if path.name not in keep:
            shutil.rmtree(path, ignore_errors=True)
    for path in snapshots_dir(data_dir).glob(f".{CURRENT}.*"):
        path.unlink(missing_ok=True)


# --- the day loop ---------------------------------------------------------------------------------


def _write(table: pa.Table, path: Path, schema: ibis.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.select(list(schema.names)).cast(schema.to_pyarrow()).replace_schema_metadata(None)
    # Fixed writer settings: the same rows give the same bytes on a re-run. Dictionaries and
    # statistics for the keys and labels (strings, dates, integers), which readers filter on;
    # none for the amounts, near-unique and in no order, where building them is a sixth of the
    # writing for nothing (100k customers: a day's files 0.79 -> 0.67 s, 26.3 -> 23.7 MiB).
    plain = [f.name for f in table.schema if not pa.types.is_decimal(f.type)]
    pq.write_table(table, path, compression="zstd", use_dictionary=plain, write_statistics=plain)


def _previous(calendar: list[date], day: date) -> date | None:
    position = calendar.index(day)
    return calendar[position - 1] if position > 0 else None


def _memtable(arrow: pa.Table) -> ir.Table:
    return ibis.memtable(arrow)


class _Tables:
    """Hands Arrow tables to the backend.

    DuckDB reads them in place (``ibis.memtable``). Spark gets them through Parquet files: Ibis
    registers a Spark memtable through pandas, which fails on null decimals and would ship every
    row through the driver once more. Spark is given each file's schema (:func:`_spark_parquet`).
    """

    def __init__(self, con: ibis.BaseBackend, folder: Path | None) -> None:
        self.con = con
        self.folder = folder
        self.count = 0
        self.names: list[str] = []
        self.views: list[str] = []

    def __call__(self, arrow: pa.Table) -> ir.Table:
        if self.folder is None:
            table = _memtable(arrow)
            self.names.append(table.op().name)
            return table
        self.count += 1
        path = self.folder / f"table-{self.count}.parquet"
        pq.write_table(arrow, path)
        name = f"brokercrm_day_{uuid.uuid4().hex}"
        self.names.append(name)
        return _spark_parquet(self.con, path, arrow.schema, name)

    def parquet(self, paths: Sequence[Path], schema: pa.Schema) -> ir.Table:
        """Parquet files (of one snapshot table) as one table, read by the backend where they
        lie: the columns of ``schema`` only, nothing held in Python's memory."""
        if self.folder is None:
            table = self.con.read_parquet([str(p) for p in paths])
            self.views.append(table.op().name)
        else:
            name = f"brokercrm_day_{uuid.uuid4().hex}"
            self.names.append(name)
            table = _spark_parquet(self.con, paths, schema, name)
        return table.select(list(schema.names)).cast(ibis.Schema.from_pyarrow(schema))

    def release(self) -> None:
        """Forget the day's in-memory tables. Ibis registers a DuckDB memtable until the process
        exits, and the connection keeps the Arrow data behind it alive: without this a backfill
        holds every day's inputs and results in memory (about 0.2 GiB a day at 100k customers)."""
        if self.folder is None:
            for name in self.names:
                with contextlib.suppress(Exception):
                    self.con.con.unregister(name)
            for name in self.views:
                with contextlib.suppress(Exception):
                    self.con.drop_view(name, force=True)
            self.views.clear()
        else:
            # Spark: the day's views point at files of a temporary folder about to be removed.
            for name in self.names:
                with contextlib.suppress(Exception):
                    self.con._session.catalog.dropTempView(name)
        self.names.clear()


def with_tables(con: ibis.BaseBackend, work: Callable[[_Tables], _T], *, prefix: str) -> _T:
    """Run ``work`` with a :class:`_Tables` for ``con`` (on Spark, over a temporary folder for
    its Parquet files) and forget the tables it registered afterwards."""
    if con.name == "duckdb":
        tables = _Tables(con, None)
        try:
            return work(tables)
        finally:
            tables.release()
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        tables = _Tables(con, Path(folder))
        try:
            return work(tables)
        finally:
            tables.release()


def _spark_parquet(con: ibis.BaseBackend, path: Path | Sequence[Path], schema: pa.Schema, name: str) -> ir.Table:
    """Spark only: Parquet file(s) as the temporary view ``name``, read with the schema it was
    written with. ``con.read_parquet`` would let Spark infer the schema, which runs a Spark job
    per file (about 0.1 s, some 20 files a day: an eighth of a day's time on Spark local)."""
    from ibis.backends.pyspark.datatypes import PySparkSchema

    spark_schema = PySparkSchema.from_ibis(ibis.Schema.from_pyarrow(schema))
    paths = [str(path)] if isinstance(path, Path) else [str(p) for p in path]
    con._session.read.schema(spark_schema).parquet(*paths).createOrReplaceTempView(name)
    return con.table(name)


def _state(
    version: Path | None, table: str, day: date | None, columns: tuple[str, ...] | None = None
) -> pa.Table | None:
    if version is None or day is None:
        return None
    path = _partition(version, table, day)
    if not path.exists():
        return None
    return pq.ParquetFile(path).read(columns=list(columns) if columns is not None else None)


def _plan(
    *,
    ready: list[date],
    fingerprints: Mapping[date, str],
    initial_days: Mapping[str, date],
    manifest: dict,
    date_from: date | None,
    date_to: date | None,
) -> tuple[list[date], list[date]]:
    """(days kept from the published version, days to compute), both in order."""
    done = {date.fromisoformat(d): v for d, v in manifest["days"].items()}
    stale = None
    for d in ready:
        entry = done.get(d)
        if entry is None or entry["fingerprint"] != fingerprints[d]:
            stale = d
            break
    published_initial = {c: date.fromisoformat(v) for c, v in manifest["initial_days"].items()}
    for counter, first in initial_days.items():
        if published_initial.get(counter) not in (None, first):
            stale = min(first, published_initial[counter], stale or first)
    # A published day that is no longer ready (its counter re-delivered nothing) is stale too.
    for d in sorted(done):
        if d not in fingerprints:
            stale = min(d, stale or d)
            break
    start = stale
    if date_from is not None:
        start = min(x for x in (start, date_from) if x is not None)
    if start is None:
        return [d for d in ready if d in done], []
    keep = [d for d in ready if d < start and d in done]
    # State carries forward: everything published after the start is recomputed as well.
    last_done = max((d for d in done if d >= start), default=None)
    todo = [
        d
        for d in ready
        if d >= start
        and ((date_to is None or d <= date_to) or (last_done is not None and d <= last_done))
    ]
    return keep, todo


def pipeline_run(
    *,
    data_dir: Path,
    date_from: date | None = None,
    date_to: date | None = None,
    engine: str = "duckdb",
    progress: Callable[[int, int, date], None] | None = None,
    thresholds: Mapping[str, sp.TierThreshold] | None = None,
    catalogue: Catalogue | None = None,
    checkpoint_seconds: float | None = CHECKPOINT_SECONDS,
) -> PipelineResult:
    """Compute the base indicators of every ingested trading day not yet computed, and publish them.

    Days are computed in order, each from the previous day's state (holdings with their average
    cost, cash and frozen balances, the account master, the latest closes) and its own flows
    (COUNTERS.md, "Base indicators" to "Per customer"). A day is ready when every counter that
    had started by then has delivered it. A day whose flows changed since it was computed (a
    re-delivery), or the range ``date_from``–``date_to``, is recomputed together with every
    later computed day, since state carries forward.

    The new snapshot version is written to a staging folder and published atomically; the
    version it replaces stays readable until the next run removes it. A long run of days after
    the last published one also publishes the days it has finished every ``checkpoint_seconds``
    (a checkpoint): killed or failing later, it leaves them published, and the next run goes on
    from the last of them.

    Parameters
    ----------
    data_dir
        The data directory; flows are read from ``data_dir/warehouse/flows``.
    date_from, date_to
        Recompute from ``date_from`` (and every later computed day); compute no new day after
        ``date_to``.
    engine
        ``duckdb`` (default) or ``spark``.
    progress
        Called after each day as ``progress(done, total, day)``.
    thresholds
        The tier thresholds in force (``segments.selectors.tier_policy_thresholds``; default
        ``segments.pipeline.DEFAULT_TIER_THRESHOLDS``).
    catalogue
        The tags (``tagengine.catalogue``; default the built-in ones).
    checkpoint_seconds
        How often to publish the finished days (:data:`CHECKPOINT_SECONDS`; ``0``: after every
        day; ``None``: only at the end).
    """
    started = time.monotonic()
    thresholds = sp.DEFAULT_TIER_THRESHOLDS if thresholds is None else thresholds
    sp.validate_thresholds(thresholds)
    catalogue = load_catalogue(BUILTIN_TAGS) if catalogue is None else catalogue
    data_dir = Path(data_dir)
    if engine not in ENGINES:
        raise ValueError(ERR_ENGINE.format(engine=engine))
    with _lock(data_dir):
        registries = {c: warehouse.registry(data_dir, c) for c in warehouse.ingested_days(data_dir)}
        days_of = {c: set(entries) for c, entries in registries.items() if entries}
        initial_days = {c: min(days) for c, days in days_of.items()}
        calendar = sorted({d for days in days_of.values() for d in days})
        ready: list[date] = []
        for d in calendar:
            # A day is ready once every counter that had started by then has delivered it.
            if all(d in days_of[c] for c, first in initial_days.items() if first <= d):
                ready.append(d)
            else:
                break
        pending = tuple(d for d in calendar if d not in ready)
        industries = warehouse.read_industry(data_dir)
        segmentation = segmentation_fingerprint(
            thresholds=thresholds, catalogue=catalogue, industries=industries
        )
        evaluation = _evaluation_days(calendar)
        fingerprints = {
            d: _day_fingerprint(
                _fingerprint([(c, registries[c][d]) for c in days_of if d in days_of[c]]),
                evaluation_day=evaluation[d],
                segmentation=segmentation,
            )
            for d in ready
        }
        published = current_version(data_dir)
        manifest = _read_manifest(published)
        if manifest.get("layout") != LAYOUT and ready:
            # Another snapshot layout (an older version of this code): recompute every day.
            date_from = ready[0]
        crm = warehouse.read_crm_facts(data_dir)
        crm_days = crm_fingerprints(crm, ready)
        keep, todo = _plan(
            ready=ready,
            fingerprints=fingerprints,
            initial_days=initial_days,
            manifest=manifest,
            date_from=date_from,
            date_to=date_to,
        )
        repool = [d for d in keep if manifest["days"][d.isoformat()].get("crm") != crm_days[d]]
        if not todo and not repool:
            _clean(data_dir, {published.name} if published else set())
            return PipelineResult(
                computed=(),
                pending=pending,
                version=published.name if published else None,
                seconds=time.monotonic() - started,
            )

        # The engine starts only when there is work (a Spark session takes seconds and a JVM).
        con = connect(engine)
        versions = snapshots_dir(data_dir) / "versions"
        versions.mkdir(parents=True, exist_ok=True)
        staging = versions / f".staging-{uuid.uuid4().hex}"
        staging.mkdir()
        manifest_of = partial(_manifest, fingerprints=fingerprints, crm_days=crm_days, initial_days=initial_days)
        # the version readers see, which every clean-up keeps: the published one, then each checkpoint
        current = published.name if published else None
        checkpoints: list[str] = []
        published_last = max(map(date.fromisoformat, manifest["days"]), default=None)
        last_checkpoint = time.monotonic()
        # two writers: a day's tables are written side by side (at 1M customers a day's files take
        # ~5.5 s of zstd encoding, half of it waited for after the last day)
        writer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="brokercrm-write")
        try:
            if published is not None:
                _link_days(published, staging, keep, skip={("pools", d) for d in repool})
            totals = {table: 0 for table in SNAPSHOT_TABLES}
            stages: dict[str, float] = {}
            lane_stages: dict[str, float] = {}  # the second lane's, added to ``stages`` at the end
            for d in repool:
                # Only the CRM facts as of d changed: the day's indicators and state stand.
                arrow = compute_pools(
                    con=con,
                    day=d,
                    window=_window(calendar, d),
                    customer_indicators=_state(staging, "customer_indicators", d),
                    customer_history=[
                        h
                        for w in _window(calendar, d)[:-1]
                        if (h := _state(staging, "customer_indicators", w, _HISTORY_COLUMNS))
                        is not None
                    ],
                    customers=_state(staging, "customers", d),
                    accounts=_state(staging, "accounts", d),
                    crm=crm,
                )
                _write(arrow, _partition(staging, "pools", d), SNAPSHOT_TABLES["pools"])
                totals["pools"] += arrow.num_rows
            customer_history: dict[date, pa.Table] = {}
            trades_history: dict[date, pa.Table] = {}
            # The state carried from one day to the next stays in memory during a run; only the
            # first day reads it back from the published version.
            first_previous = _previous(calendar, todo[0]) if todo else None
            if first_previous is not None and first_previous not in keep:
                raise RuntimeError(ERR_NO_STATE.format(day=first_previous))
            carry = {t: _state(staging, t, first_previous) if todo else None for t in _BASE_CARRIED}
            # A day's base (and pools) is computed on this thread; its segments and tags on a
            # second thread with a second DuckDB connection, beside the next day's base (they
            # read the day's base and feed only the next day's segments and tags): two lanes
            # keep both cores busier where one would wait on Python. Each day's files are
            # written by threads from the moment each table is computed (pyarrow releases the
            # GIL; no day reads the day before from disk). A day ends when its lane is done; then
            # the writes of the day before it are waited for, so at most three days are in
            # flight. A failure waits for the work under way before the staging folder goes.
            # (Spark: one lane, in order.)
            lane = (
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="brokercrm-lane") if engine == "duckdb" else None
            )
            lane_con = connect(engine) if lane is not None else con
            # The segmentation state the first day's lane starts from is read on the lane's thread,
            # beside that day's base (1M customers: about half of the 1.3 s the state of the day
            # before took to read, off the base's path).
            def read_lane_state() -> dict[str, pa.Table | None]:
                return {t: _state(staging, t, first_previous) if todo else None for t in _LANE_CARRIED}

            lane_state: Future = lane.submit(read_lane_state) if lane is not None else Future()
            if lane is None:
                lane_state.set_result(read_lane_state())
            if lane is not None and len(todo) > 1:
                # Two lanes at once: the base's statements on half the cores, the lane's on all of
                # them (100k customers × 12 days, interleaved: 40.9 → 37.9 s on average; 37.4 s
                # with both on half). One day keeps all of them: nothing runs beside its base.
                threads = int(con.con.execute("SELECT current_setting('threads')").fetchone()[0])
                con.con.execute(f"SET threads = {max(1, threads // 2)}")
            in_flight: list[tuple[str, Future]] = []
            lane_wait = 0.0
            previous: tuple[int, date, Future, Mapping[str, pa.Table], list[tuple[str, Future]]] | None = None

            def finish(
                index: int,
                day: date,
                lane_work: Future,
                written: Mapping[str, pa.Table],
                writing: list[tuple[str, Future]],
            ) -> None:
                nonlocal in_flight, lane_wait
                waiting = time.perf_counter()
                lane_work.result()
                lane_wait += time.perf_counter() - waiting
                for _, done in in_flight:
                    done.result()
                in_flight = writing
                for table, arrow in written.items():
                    totals[table] += arrow.num_rows
                carry.update({t: written[t] for t in _LANE_CARRIED})
                if progress is not None:
                    progress(index + 1, len(todo), day)

            try:
                for index, day in enumerate(todo):
                    if (
                        previous is not None
                        and checkpoint_seconds is not None
                        and time.monotonic() - last_checkpoint >= checkpoint_seconds
                        and (published_last is None or previous[1] >= published_last)
                    ):
                        # A checkpoint: the day before is finished (its lane, then its files), and
                        # published with every day before it; this day's lane starts from the state.
                        finish(*previous)
                        previous = None
                        for _, done in in_flight:
                            done.result()
                        finished = [*keep, *todo[:index]]
                        checkpoints.append(_checkpoint(data_dir, staging, finished, manifest_of(finished)))
                        _clean(data_dir, {checkpoints[-1], staging.name} | ({current} if current else set()))
                        current = checkpoints[-1]
                        last_checkpoint = time.monotonic()
                    previous_day = _previous(calendar, day)
                    window = _window(calendar, day)
                    tag_window = _tag_window(calendar, day)
                    trade_window = tag_window[-tf.TRADES_DAYS :]
                    for w in window[:-1]:
                        if w not in customer_history:
                            # Only the columns avg_assets_20d, the pools and the tags' windows need
                            # (a full day is ~40 columns); read once per run, then kept in memory.
                            old = _state(staging, "customer_indicators", w, _KEPT_HISTORY_COLUMNS)
                            if old is not None:
                                customer_history[w] = old.select(list(_KEPT_HISTORY_COLUMNS))
                    for w in list(customer_history):
                        if w not in window:
                            del customer_history[w]
                    for w in trade_window[:-1]:
                        if w not in trades_history:
                            trades_history[w] = _read_flow(data_dir, "trades", w).select(list(_TRADE_COLUMNS))
                    for w in list(trades_history):
                        if w not in trade_window:
                            del trades_history[w]
                    flows = {table: _read_flow(data_dir, table, day) for table in STANDARD_TABLES}
                    trades_history[day] = flows["trades"].select(list(_TRADE_COLUMNS))
                    history = [customer_history[w] for w in window[:-1] if w in customer_history]
                    writing: list[tuple[str, Future]] = []
                    written = _Results(partial(_submit_write, writer, staging, day, writing))
                    with_tables(
                        con,
                        _on(
                            con,
                            stages,
                            _base_day,
                            written,
                            day=day,
                            previous_day=previous_day,
                            window=window,
                            opening_counters=sorted(c for c, first in initial_days.items() if first == day),
                            flows=flows,
                            customer_history=history,
                            crm=crm,
                            **{t: carry[t] for t in _BASE_CARRIED},
                        ),
                        prefix="brokercrm-day-",
                    )
                    carry.update({t: written[t] for t in _BASE_CARRIED})
                    customer_history[day] = written["customer_indicators"].select(list(_KEPT_HISTORY_COLUMNS))
                    if previous is not None:
                        finish(*previous)  # this day's segments and tags start from the day before's
                    elif index == 0:
                        carry.update(lane_state.result())
                    lane_work = partial(
                        with_tables,
                        lane_con,
                        _on(
                            lane_con,
                            lane_stages,
                            _segments_and_tags,
                            written,
                            day=day,
                            previous_day=previous_day,
                            flows=flows,
                            trading_days=calendar,
                            # the tags' six months: the window's days from memory, the older ones
                            # from their snapshot files (read by the backend, never all in memory)
                            tag_history={
                                w: customer_history[w] if w in customer_history else path
                                for w in tag_window[:-1]
                                if w in customer_history
                                or (path := _partition(staging, "customer_indicators", w)).exists()
                            },
                            trades_history=[trades_history[w] for w in trade_window if w in trades_history],
                            leaving=_state(staging, "abcd_daily", sp.abcd_leaving_day(calendar, day)),
                            industries=industries,
                            thresholds=thresholds,
                            catalogue=catalogue,
                            **{t: carry[t] for t in _LANE_CARRIED},
                        ),
                        prefix="brokercrm-lane-",
                    )
                    if lane is not None:
                        submitted = lane.submit(lane_work)
                    else:
                        waiting = time.perf_counter()
                        submitted = Future()
                        submitted.set_result(lane_work())
                        lane_wait += time.perf_counter() - waiting
                    previous = (index, day, submitted, written, writing)
                if previous is not None:
                    finish(*previous)
                # The base's files were handed to the writers first; what is left to wait for
                # after them is the lane's (the tags' long table above all), counted as its wait.
                for table, done in in_flight:
                    if table not in _LANE_TABLES:
                        done.result()
                waiting = time.perf_counter()
                for _, done in in_flight:
                    done.result()
                lane_wait += time.perf_counter() - waiting
            finally:
                if lane is not None:
                    lane.shutdown(wait=True, cancel_futures=True)
            for name, seconds in lane_stages.items():
                stages[name] = stages.get(name, 0.0) + seconds
            _write_manifest(staging, manifest_of([*keep, *todo]))
            name = _publish(data_dir, staging)
        except BaseException:
            writer.shutdown(wait=True, cancel_futures=True)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            writer.shutdown(wait=True)
        _clean(data_dir, {name, current} if current else {name})
    return PipelineResult(
        computed=tuple(todo),
        pending=pending,
        version=name,
        breaks=totals["reconciliation"],
        warnings=totals["dq_warnings"],
        seconds=time.monotonic() - started,
        rows=totals,
        pools_recomputed=tuple(repool),
        stage_seconds={k: round(v, 3) for k, v in stages.items()},
        lane_wait_seconds=round(lane_wait, 3),
        checkpoints=tuple(checkpoints),
    )


def _tag_window(calendar: list[date], day: date) -> list[date]:
    """The trading days ending ``day`` the tags read (``tagengine.features.HISTORY_DAYS`` before
    it); it covers :func:`_window` and the tags' 60 days of trades."""
    position = calendar.index(day)
    days = max(tf.HISTORY_DAYS + 1, pl.AVG_ASSETS_DAYS, pl.POOL_HISTORY_DAYS, tf.TRADES_DAYS)
    return calendar[max(0, position - days + 1) : position + 1]


def _window(calendar: list[date], day: date) -> list[date]:
    """The last 20 trading days ending ``day`` (avg_assets_20d and the pools' average)."""
    position = calendar.index(day)
    days = max(pl.AVG_ASSETS_DAYS, pl.POOL_HISTORY_DAYS)
    return calendar[max(0, position - days + 1) : position + 1]


def compute_day(
    *,
    con: ibis.BaseBackend,
    day: date,
    previous_day: date | None,
    window: list[date],
    opening_counters: list[str],
    flows: Mapping[str, pa.Table],
    closes: pa.Table | None,
    accounts: pa.Table | None,
    positions: pa.Table | None,
    customer_history: list[pa.Table],
    customers: pa.Table | None = None,
    crm: Mapping[str, pa.Table] | None = None,
    trading_days: list[date] | None = None,
    tag_history: Mapping[date, pa.Table | Path] | None = None,
    tag_windows: pa.Table | None = None,
    trades_history: list[pa.Table] | None = None,
    tier_state: pa.Table | None = None,
    commission_months: pa.Table | None = None,
    abcd_sums: pa.Table | None = None,
    leaving: pa.Table | None = None,
    industries: pa.Table | None = None,
    thresholds: Mapping[str, sp.TierThreshold] | None = None,
    catalogue: Catalogue | None = None,
    stage_seconds: dict[str, float] | None = None,
    on_table: Callable[[str, pa.Table], None] | None = None,
) -> dict[str, pa.Table]:
    """Compute one trading day from the previous day's state and the day's flows, without I/O.

    Parameters
    ----------
    con
        The backend (:func:`connect`).
    day, previous_day
        d and the trading day before it (None on the calendar's first day).
    window
        The last 20 trading days ending d (COUNTERS.md, avg_assets_20d).
    opening_counters
        Counters whose initial day is d (their positions file gives Q and H = Q × cost_price).
    flows
        The day's standard flow tables by name (``schema.table_schema``); a missing one is empty.
    closes, accounts, positions, customers
        The previous day's ``closes``, ``accounts``, ``positions`` and ``customers`` (None on a
        first day).
    customer_history
        ``customer_indicators`` of earlier days of the window (at least ``customer_no,
        trade_date, total_assets, pool_assets``).
    crm
        The CRM facts (``warehouse.read_crm_facts``); None: none.
    trading_days
        The trading calendar (at least up to d; later days tell whether d ends its month, the
        tier evaluation day). None: ``window``.
    tag_history
        ``customer_indicators`` of earlier trading days by day (``_KEPT_HISTORY_COLUMNS``), each
        an Arrow table or its snapshot's Parquet file; None: ``customer_history``. With
        ``tag_windows`` only the days leaving the windows and the look-back days are read
        (``tagengine.features.leaving_days``, ``lookback_days``); without it, every day of the
        ``tagengine.features.HISTORY_DAYS`` before d.
    tag_windows
        The previous day's ``tag_windows`` (the tags' window sums), or None: then they start
        from ``tag_history``.
    trades_history
        The ``trades`` flows of the ``tagengine.features.TRADES_DAYS`` trading days ending d
        (d's included); None: d's alone.
    tier_state, commission_months, abcd_sums
        The previous day's segmentation state (``segments.pipeline``; None on a first day).
    leaving
        ``abcd_daily`` of ``segments.pipeline.abcd_leaving_day`` (None while the calendar is
        shorter than the ABCD window).
    industries
        The reference industries (``warehouse.read_industry``), or None.
    thresholds, catalogue
        The tier thresholds and the tags (defaults: DOMAIN.md's, the built-in tags).
    stage_seconds
        When given, the seconds of each stage (named by the table it computes; ``tag_features``
        for the tags' feature table) are added to it.
    on_table
        When given, called as ``on_table(name, arrow)`` with each result as soon as it is
        computed, while the day goes on (the runner starts writing it then).

    Returns
    -------
    Every snapshot table of d (``SNAPSHOT_TABLES``) as Arrow, rows in ``SORT_KEYS`` order.
    """
    base = dict(
        day=day,
        previous_day=previous_day,
        window=window,
        opening_counters=opening_counters,
        flows=flows,
        closes=closes,
        accounts=accounts,
        positions=positions,
        customer_history=customer_history,
        customers=customers,
        crm=crm,
    )
    extra = dict(
        day=day,
        previous_day=previous_day,
        flows=flows,
        trading_days=sorted(trading_days if trading_days is not None else window),
        tag_history=tag_history if tag_history is not None else _by_day(customer_history),
        tag_windows=tag_windows,
        trades_history=trades_history,
        tier_state=tier_state,
        commission_months=commission_months,
        abcd_sums=abcd_sums,
        leaving=leaving,
        industries=industries,
        thresholds=sp.DEFAULT_TIER_THRESHOLDS if thresholds is None else thresholds,
        catalogue=_builtin_catalogue() if catalogue is None else catalogue,
    )

    def work(tables: _Tables) -> dict[str, pa.Table]:
        written = _Results(on_table)
        _base_day(_Stages(con, tables, stage_seconds), written, **base)
        _segments_and_tags(_Stages(con, tables, stage_seconds), written, **extra)
        return dict(written)

    return with_tables(con, work, prefix="brokercrm-day-")


def _on(
    con: ibis.BaseBackend, stage_seconds: dict[str, float] | None, compute: Callable[..., None], *args, **kwargs
) -> Callable[[_Tables], None]:
    """``compute(stages, *args, **kwargs)`` with :class:`_Stages` over the tables of
    :func:`with_tables` (its arguments bound now, for a lane that runs it later)."""
    return lambda tables: compute(_Stages(con, tables, stage_seconds), *args, **kwargs)


def _submit_write(
    writer: ThreadPoolExecutor,
    staging: Path,
    day: date,
    writing: list[tuple[str, Future]],
    table: str,
    arrow: pa.Table,
) -> None:
    """Hands a computed table of ``day`` to the writer threads (``writing`` gets it and its future)."""
    writing.append((table, writer.submit(_write, arrow, _partition(staging, table, day), SNAPSHOT_TABLES[table])))


class _Stages:
    """Runs a day's stages on one backend: each expression is executed once, its result cast to
    its schema and registered again as an in-memory table for the next expressions; the seconds
    since the previous stage are charged to the stage (building, compiling and executing)."""

    def __init__(self, con: ibis.BaseBackend, tables: _Tables, stage_seconds: dict[str, float] | None) -> None:
        self.con = con
        self.tables = tables
        self.stage_seconds = stage_seconds
        self.lap = time.perf_counter()

    def run(
        self,
        expr: ir.Table | Callable[[], pa.Table],
        schema: ibis.Schema,
        order: tuple[str, ...] = (),
        stage: str | None = None,
    ) -> tuple[pa.Table, ir.Table]:
        # (``expr`` may also be a function that computes the result by other means, in order)
        if isinstance(expr, ir.Table):
            arrow = statements.to_arrow(self.con, expr.order_by(list(order)) if order else expr)
        else:
            arrow = expr()
        arrow = arrow.cast(schema.to_pyarrow())
        self.charge(stage or _STAGE_NAMES.get(id(schema), "other"))
        return arrow, self.tables(arrow)

    def charge(self, name: str) -> None:
        if self.stage_seconds is not None:
            now = time.perf_counter()
            self.stage_seconds[name] = self.stage_seconds.get(name, 0.0) + now - self.lap
            self.lap = now


def _flow_tables(tables: _Tables, flows: Mapping[str, pa.Table], names: Sequence[str]) -> dict[str, ir.Table]:
    return {
        table: tables(flows[table] if table in flows else table_schema(table).empty_table()) for table in names
    }


def _history_table(tables: _Tables, customer_history: list[pa.Table]) -> ir.Table | None:
    """The earlier days of the avg_assets_20d window as one table (None on a first day)."""
    history = [t.select(list(_HISTORY_COLUMNS)) for t in customer_history]
    return tables(pa.concat_tables([t.cast(history[0].schema) for t in history])) if history else None


def _base_day(
    stages: _Stages,
    written: MutableMapping[str, pa.Table],
    *,
    day: date,
    previous_day: date | None,
    window: list[date],
    opening_counters: list[str],
    flows: Mapping[str, pa.Table],
    closes: pa.Table | None,
    accounts: pa.Table | None,
    positions: pa.Table | None,
    customer_history: list[pa.Table],
    customers: pa.Table | None,
    crm: Mapping[str, pa.Table] | None,
) -> None:
    """The base tables of d (COUNTERS.md): closes, accounts, customers, positions, the account
    and customer indicators (all the next day's base needs of d), the qualified pools, the
    reconciliation breaks and the data-quality warnings, stored into ``written`` as each is
    computed."""
    run, _memtable = stages.run, stages.tables
    flow = _flow_tables(_memtable, flows, STANDARD_TABLES)
    written["closes"], closes_t = run(
        pl.close_prices(
            quotes=flow["quotes"],
            securities=flow["securities"],
            day=day,
            previous=_memtable(closes) if closes is not None else None,
        ),
        pl.CLOSES_SCHEMA,
        SORT_KEYS["closes"],
    )
    written["accounts"], accounts_t = run(
        pl.accounts_step(
            previous=_memtable(accounts) if accounts is not None else None,
            fund_accounts=flow["fund_accounts"],
            cash_flows=flow["cash_flows"],
            freezes=flow["freezes"],
            day=day,
        ),
        pl.ACCOUNTS_SCHEMA,
        SORT_KEYS["accounts"],
    )
    written["customers"], customers_t = run(
        pl.customers_step(
            previous=_memtable(customers) if customers is not None else None,
            customers=flow["customers"],
            accounts=accounts_t,
            trades=flow["trades"],
            day=day,
        ),
        pl.CUSTOMERS_SCHEMA,
        SORT_KEYS["customers"],
    )
    previous_positions = _memtable(
        positions if positions is not None else pl.POSITIONS_SCHEMA.to_pyarrow().empty_table()
    )
    opening = (
        pl.opening_positions(positions=flow["positions"], counters=opening_counters, day=day)
        if opening_counters
        else None
    )
    step = pl.position_step(
        previous=previous_positions,
        trades=flow["trades"],
        transfers=flow["security_transfers"],
        closes=closes_t,
        day=day,
        opening=opening,
        opening_counters=opening_counters,
    )
    # The step feeds three results: materialize it once rather than once per result.
    _, detail = run(step.detail, pl.STEP_DETAIL_SCHEMA)
    step = replace(step, detail=detail)
    written["positions"], positions_t = run(
        step.positions, pl.POSITIONS_SCHEMA, SORT_KEYS["positions"]
    )
    written["account_indicators"], account_t = run(
        pl.account_indicators(
            accounts=accounts_t,
            trades=flow["trades"],
            transfers=flow["security_transfers"],
            positions=flow["positions"],
            margin_debts=flow["margin_debts"],
            closes=closes_t,
            realized=step.realized,
            day=day,
            previous_day=previous_day,
        ),
        pl.ACCOUNT_INDICATORS_SCHEMA,
        SORT_KEYS["account_indicators"],
    )
    history_t = _history_table(_memtable, customer_history)
    written["customer_indicators"], customer_t = run(
        pl.customer_indicators(account_indicators=account_t, history=history_t, window=window, day=day),
        pl.CUSTOMER_INDICATORS_SCHEMA,
        SORT_KEYS["customer_indicators"],
    )
    written["pools"], _ = run(
        _pools_expr(
            tables=_memtable,
            day=day,
            window=window,
            customer_indicators=customer_t,
            history=history_t,
            customers=customers_t,
            accounts=accounts_t,
            crm=crm,
        ),
        pl.POOLS_SCHEMA,
        SORT_KEYS["pools"],
    )
    written["reconciliation"], _ = run(
        pl.reconciliation(
            computed=positions_t,
            counter_positions=flow["positions"],
            accounts=accounts_t,
            oversold=step.oversold,
            day=day,
        ),
        pl.RECONCILIATION_SCHEMA,
        SORT_KEYS["reconciliation"],
    )
    written["dq_warnings"], _ = run(
        pl.dq_warnings(
            closes=closes_t,
            accounts=accounts_t,
            positions=flow["positions"],
            transfers=flow["security_transfers"],
            margin_debts=flow["margin_debts"],
            trades=flow["trades"],
            opening_counters=opening_counters,
            day=day,
        ),
        pl.DQ_WARNINGS_SCHEMA,
        SORT_KEYS["dq_warnings"],
    )


#: The base tables the segments and tags read.
_BASE_READ = ("closes", "accounts", "customers", "positions", "account_indicators", "customer_indicators")


def _segments_and_tags(
    stages: _Stages,
    written: MutableMapping[str, pa.Table],
    *,
    day: date,
    previous_day: date | None,
    flows: Mapping[str, pa.Table],
    trading_days: list[date],
    tag_history: Mapping[date, pa.Table | Path],
    tag_windows: pa.Table | None,
    trades_history: list[pa.Table] | None,
    tier_state: pa.Table | None,
    commission_months: pa.Table | None,
    abcd_sums: pa.Table | None,
    leaving: pa.Table | None,
    industries: pa.Table | None,
    thresholds: Mapping[str, sp.TierThreshold],
    catalogue: Catalogue,
) -> None:
    """The tiers and ABCD classes and the tags of d, from d's base tables (in ``written``, as
    :func:`_base_day` stored them) and the previous day's segmentation state, stored into
    ``written`` as each is computed. Nothing of it feeds the next day's base, so a run computes
    it beside the next day's base (:func:`pipeline_run`)."""
    run, _memtable = stages.run, stages.tables
    t = {name: _memtable(written[name]) for name in _BASE_READ}
    flow = _flow_tables(_memtable, flows, ("cash_flows", "securities"))
    # Tiers and ABCD classes (segments.stage), then the tags, which read them.
    written.update(
        segments_stage(
            run=run,
            tables=_memtable,
            day=day,
            calendar=trading_days,
            customer_indicators=t["customer_indicators"],
            accounts=t["accounts"],
            cash_flows=flow["cash_flows"],
            branches=t["customers"].select("customer_no", "branch_code"),
            tier_state=tier_state,
            commission_months=commission_months,
            abcd_sums=abcd_sums,
            leaving=leaving,
            thresholds=thresholds,
        )
    )
    features, written["tag_windows"] = _tag_features(
        tables=_memtable,
        run=run,
        day=day,
        previous_day=previous_day,
        trading_days=trading_days,
        customers=t["customers"],
        customer_indicators=t["customer_indicators"],
        tag_history=tag_history,
        tag_windows=tag_windows,
        accounts=t["accounts"],
        account_indicators=t["account_indicators"],
        positions=t["positions"],
        closes=t["closes"],
        securities=flow["securities"],
        industries=industries,
        trades=flows.get("trades") if trades_history is None else None,
        trades_history=trades_history,
        segments=_memtable(written["segments"]),
    )
    wide_arrow, _ = run(
        _tags_wide(stages.con, features, catalogue, day),
        ibis.schema({"customer_no": "string", **{code: "boolean" for code in catalogue.codes}}),
        ("customer_no",), stage="tags",
    )
    long = tags_long_from_wide(wide_arrow)
    trade_date = pa.repeat(pa.scalar(day, pa.date32()), long.num_rows)
    written["tags"] = pa.table(
        {"trade_date": trade_date, "customer_no": long.column("customer_no"), "tag_code": long.column("tag_code")}
    ).cast(TAGS_SCHEMA.to_pyarrow())
    stages.charge("tags")  # turning them long is the tags' work, not the next stage's


class _Results(dict):
    """A day's results by table, each handed to ``on_table`` (if any) as it is stored."""

    def __init__(self, on_table: Callable[[str, pa.Table], None] | None) -> None:
        super().__init__()
        self.on_table = on_table

    def __setitem__(self, name: str, arrow: pa.Table) -> None:
        super().__setitem__(name, arrow)
        if self.on_table is not None:
            self.on_table(name, arrow)

    def update(self, results: Mapping[str, pa.Table]) -> None:  # type: ignore[override]
        for name, arrow in results.items():
            self[name] = arrow


def _by_day(tables: Sequence[pa.Table]) -> dict[date, pa.Table]:
    """Customer indicators of earlier days, by their day."""
    return {t.column("trade_date")[0].as_py(): t for t in tables if t.num_rows}


def _builtin_catalogue() -> Catalogue:
    global _BUILTIN
    if _BUILTIN is None:
        _BUILTIN = load_catalogue(BUILTIN_TAGS)
    return _BUILTIN


_BUILTIN: Catalogue | None = None


#: compiled tag queries (``_tags_wide``): id(catalogue) → (catalogue, feature schema, SQL)
_TAG_PLANS: dict[int, tuple[Catalogue, pa.Schema, str]] = {}
_TAG_FEATURES_VIEW = "brokercrm_tag_features"


def _tags_wide(
    con: ibis.BaseBackend, features: tuple[pa.Table, ir.Table], catalogue: Catalogue, day: date
) -> ir.Table | Callable[[], pa.Table]:
    """The tags of d, one boolean column per tag (``compute_tags_wide``), over the day's feature
    table (as Arrow and as the backend's table).

    On DuckDB the query is compiled once per catalogue and process and serves every day: the
    evaluation day enters as columns of the feature table (``language.EvaluationDay``) instead
    of literals, so the hundreds of rules are not built and compiled again each day (seconds a
    day — most of a small day's time, and what a backfill of a year repeats 250 times). Other
    engines evaluate the expression with the day's literals; the values are the same."""
    arrow, table = features
    if getattr(con, "name", "") != "duckdb":
        return compute_tags_wide(table, catalogue, day=day)

    def evaluate() -> pa.Table:
        columns = arrow
        for name, value in day_values(day).items():
            kind = pa.date32() if DAY_COLUMNS[name] == "date" else pa.int64()
            columns = columns.append_column(name, pa.repeat(pa.scalar(value, kind), columns.num_rows))
        plan = _TAG_PLANS.get(id(catalogue))
        if plan is None or plan[0] is not catalogue or plan[1] != columns.schema:
            placeholder = ibis.table(ibis.Schema.from_pyarrow(columns.schema), name=_TAG_FEATURES_VIEW)
            expr = compute_tags_wide(placeholder, catalogue, day=EvaluationDay.columns(placeholder))
            if len(_TAG_PLANS) >= 4:
                _TAG_PLANS.clear()
            plan = _TAG_PLANS[id(catalogue)] = (catalogue, columns.schema, con.compile(expr.order_by("customer_no")))
        raw = con.con
        raw.register(_TAG_FEATURES_VIEW, columns)
        try:
            return raw.execute(plan[2]).fetch_arrow_table()
        finally:
            raw.unregister(_TAG_FEATURES_VIEW)

    return evaluate


def _tag_features(
    *,
    tables: Callable[[pa.Table], ir.Table],
    run: Callable[..., tuple[pa.Table, ir.Table]],
    day: date,
    previous_day: date | None,
    trading_days: list[date],
    customers: ir.Table,
    customer_indicators: ir.Table,
    tag_history: Mapping[date, pa.Table | Path],
    tag_windows: pa.Table | None,
    accounts: ir.Table,
    account_indicators: ir.Table,
    positions: ir.Table,
    closes: ir.Table,
    securities: ir.Table,
    industries: pa.Table | None,
    trades: pa.Table | None,
    trades_history: list[pa.Table] | None,
    segments: ir.Table,
) -> tuple[tuple[pa.Table, ir.Table], pa.Table]:
    """The feature table of d (``tagengine.features``: as Arrow and as the backend's table, for
    ``_tags_wide``), and d's ``tag_windows``: the window sums (from the previous day's, or from
    every day of ``tag_history`` when there are none), from which the features are computed.

    ``tag_history`` holds earlier days' customer indicators as Arrow tables (the days a run
    keeps in memory anyway) or as the Parquet files of their snapshots, which the backend reads
    where they lie: six months of history at a million customers is some 20 GiB as Arrow.
    Carrying the sums, a day reads at most the three days leaving the windows and the three
    look-back days."""
    columns = [c for c in _KEPT_HISTORY_COLUMNS if c in tf.REQUIRED_COLUMNS["history"]]
    schema = SNAPSHOT_TABLES["customer_indicators"].to_pyarrow()
    schema = pa.schema([schema.field(c) for c in columns])

    def history_of(days: Sequence[date]) -> ir.Table | None:
        parts = [tag_history[d] for d in days if d in tag_history]
        in_memory = [
            t.select(columns).cast(schema)
            for t in parts
            if isinstance(t, pa.Table) and all(c in t.column_names for c in columns)
        ]
        files = [p for p in parts if isinstance(p, Path)]
        found = ([tables(pa.concat_tables(in_memory))] if in_memory else []) + (
            [tables.parquet(files, schema)] if files else []
        )
        return ibis.union(*found, distinct=False) if len(found) > 1 else (found[0] if found else None)

    calendar = [d for d in trading_days if d <= day][-(tf.HISTORY_DAYS + 1) :]
    lookback = tf.lookback_days(calendar, day)
    if tag_windows is not None and previous_day is not None:
        gone = tf.leaving_days(calendar, day)
        missing = sorted(d for d in gone.values() if d is not None and d not in tag_history)
        if missing:  # the sums would silently keep a day that left the window
            raise RuntimeError(ERR_NO_STATE.format(day=missing[0]))
        state = tf.window_state(
            customer_indicators=customer_indicators,
            previous=tables(tag_windows),
            leaving={w: history_of([d]) if d else None for w, d in gone.items()},
            trading_days=calendar,
            day=day,
        )
    else:
        state = tf.window_state_from_history(
            customer_indicators=customer_indicators,
            history=history_of([d for d in calendar if d < day]),
            trading_days=calendar,
            day=day,
        )
    state_arrow, state_t = run(state, tf.WINDOW_STATE_SCHEMA, SORT_KEYS["tag_windows"])
    lookbacks = {key: history_of([d]) if d else None for key, d in lookback.items()}
    parts = list(trades_history) if trades_history is not None else []
    if trades is not None:
        parts.append(trades)
    parts = [p.select(list(_TRADE_COLUMNS)) for p in parts] or [
        table_schema("trades").empty_table().select(list(_TRADE_COLUMNS))
    ]
    trades_t = tables(pa.concat_tables([p.cast(parts[0].schema) for p in parts]))
    calendar = [d for d in trading_days if d <= day][-(tf.HISTORY_DAYS + 1) :]
    features = run(
        tf.feature_table(
            day=day,
            trading_days=calendar,
            customers=customers,
            customer_indicators=customer_indicators,
            history=None,
            accounts=accounts,
            account_indicators=account_indicators,
            positions=positions,
            closes=closes,
            securities=securities,
            industries=tables(industries) if industries is not None else None,
            trades=trades_t,
            segments=segments,
            window_state=state_t,
            lookbacks=lookbacks,
        ),
        tf.FEATURE_SCHEMA,
    )
    return features, state_arrow


def _pools_expr(
    *,
    tables: Callable[[pa.Table], ir.Table],
    day: date,
    window: list[date],
    customer_indicators: ir.Table,
    history: ir.Table | None,
    customers: ir.Table,
    accounts: ir.Table,
    crm: Mapping[str, pa.Table] | None,
) -> ir.Table:
    from brokercrm.datacenter.schema import CRM_FACT_FILES

    facts: dict[str, ir.Table] = {}
    for name, schema in CRM_FACT_FILES.items():
        table = (crm or {}).get(name)
        if table is None:
            table = pa.schema([f.with_nullable(True) for f in schema]).empty_table()
        facts[name] = tables(table)
    return pl.pools(
        customer_indicators=customer_indicators,
        history=history,
        window=window,
        customers=customers,
        accounts=accounts,
        assessments=facts["assessments.parquet"],
        investor_classes=facts["investor_classes.parquet"],
        knowledge_tests=facts["knowledge_tests.parquet"],
        day=day,
    )


def compute_pools(
    *,
    con: ibis.BaseBackend,
    day: date,
    window: list[date],
    customer_indicators: pa.Table,
    customer_history: list[pa.Table],
    customers: pa.Table,
    accounts: pa.Table,
    crm: Mapping[str, pa.Table] | None,
) -> pa.Table:
    """The pools of one computed day from its published state (customer indicators, customer
    master, accounts) and the CRM facts, without I/O: what a run does to a day whose indicators
    stand but whose CRM facts changed."""

    def work(tables: _Tables) -> pa.Table:
        expr = _pools_expr(
            tables=tables,
            day=day,
            window=window,
            customer_indicators=tables(customer_indicators),
            history=_history_table(tables, customer_history),
            customers=tables(customers),
            accounts=tables(accounts),
            crm=crm,
        ).order_by(list(SORT_KEYS["pools"]))
        return statements.to_arrow(con, expr).cast(pl.POOLS_SCHEMA.to_pyarrow())

    return with_tables(con, work, prefix="brokercrm-pools-")
