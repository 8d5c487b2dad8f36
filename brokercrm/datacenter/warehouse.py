"""The Parquet warehouse of standard flows: layout, atomic publishing of a day, and read helpers.

Layout under ``data_dir / "warehouse"`` (hive partitioning, one file per partition)::

    flows/<table>/counter=<name>/trade_date=<YYYY-MM-DD>/part-0.parquet   schema.table_schema(table)
    quarantine/counter=<name>/trade_date=<YYYY-MM-DD>/part-0.parquet      adapters.QUARANTINE_SCHEMA
    reference/industry.parquet                                            exchange, security_code, industry
    registry/counters/<name>.json     ingested days: checksum, file counts, ingested_at (UTC)
    registry/reference.json           the reference file's checksum
    registry/stats/<name>.json        size/mtime/inode of each day's files, to skip re-hashing
    .lock .generation .journal/ .staging/ .trash/     publishing machinery, never read by readers

Every published day has a file for every table and for the quarantine, empty when there are no
rows, so a re-delivered day replaces all of the old one.

Publishing a day is atomic (DESIGN.md, "Warehouse": "published atomically … a crashed run changes
nothing"; COUNTERS.md, "Bad input": nothing of a refused day is published). The day's files are
written and fsynced in a staging folder; then a journal naming the folders to swap is written
with one ``os.replace`` — that is the commit point. The folders are then renamed into place, the
registry is updated, and the journal is removed. A run killed before the commit leaves the
previous state (the staging folder is discarded); a run killed after it is rolled forward by the
next writer or reader. Readers take a consistent snapshot of the registry (a generation counter
and the journal folder are checked before and after) and only ever see registered days, so they
never see half a day.

Nothing here imports Django. Ibis is imported only by :func:`flow_table`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from brokercrm.datacenter.adapters import QUARANTINE_SCHEMA
from brokercrm.datacenter.dictionaries import STANDARD_TABLES
from brokercrm.datacenter.schema import table_schema

if TYPE_CHECKING:  # pragma: no cover
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

__all__ = [
    "INDUSTRY_SCHEMA",
    "WarehouseBusy",
    "WarehouseWriter",
    "flow_files",
    "flow_table",
    "crm_facts_path",
    "flows_path",
    "industry_path",
    "ingested_days",
    "quarantine_files",
    "quarantine_path",
    "read_crm_facts",
    "read_flows",
    "read_industry",
    "read_quarantine",
    "registry",
    "trading_calendar",
    "warehouse_path",
    "warehouse_writer",
]

WAREHOUSE = "warehouse"
PART = "part-0.parquet"
#: Parquet codec: zstd is both smaller and about as fast as snappy for these tables.
COMPRESSION = "zstd"

#: Reference industries as stored (COUNTERS.md, "Reference data").
INDUSTRY_SCHEMA = pa.schema(
    [
        pa.field("exchange", pa.string(), nullable=False),
        pa.field("security_code", pa.string(), nullable=False),
        pa.field("industry", pa.string(), nullable=False),
    ]
)

_LOCK = ".lock"
_GENERATION = ".generation"
_JOURNAL = ".journal"
_STAGING = ".staging"
_TRASH = ".trash"
_REGISTRY = "registry"

#: How long a reader waits for a writer's swap of one day (renames only: milliseconds).
READER_WAIT_SECONDS = 30.0

MSG_BUSY = "the warehouse at {root} stayed mid-publish for {seconds:.0f} s; is an ingest stuck?"


class WarehouseBusy(RuntimeError):
    """A reader could not get a consistent snapshot (a publish never finished)."""


# --- paths --------------------------------------------------------------------------------------


def warehouse_path(data_dir: Path) -> Path:
    """Root of the warehouse: ``data_dir / "warehouse"``."""
    return Path(data_dir) / WAREHOUSE


def flows_path(data_dir: Path, table: str) -> Path:
    """Folder of one standard flow table, hive-partitioned by ``counter`` and ``trade_date``."""
    if table not in STANDARD_TABLES:
        raise KeyError(f"unknown table {table!r}; known: {', '.join(STANDARD_TABLES)}")
    return warehouse_path(data_dir) / "flows" / table


def quarantine_path(data_dir: Path) -> Path:
    """Folder of the quarantine, hive-partitioned by ``counter`` and ``trade_date``."""
    return warehouse_path(data_dir) / "quarantine"


def industry_path(data_dir: Path) -> Path:
    """The reference industries file."""
    return warehouse_path(data_dir) / "reference" / "industry.parquet"


def crm_facts_path(data_dir: Path) -> Path:
    """Folder of the CRM facts the qualified pools read (``schema.CRM_FACT_FILES``): risk
    assessments, investor-class recognitions and knowledge tests, written by ``brokercrm.kyc``."""
    return warehouse_path(data_dir) / "crm"


def read_crm_facts(data_dir: Path) -> dict[str, pa.Table]:
    """Every CRM fact table by file name (``schema.CRM_FACT_FILES``), cast to its schema; a
    missing file is an empty table (no facts of that kind)."""
    from brokercrm.datacenter.schema import CRM_FACT_FILES

    folder = crm_facts_path(data_dir)
    tables: dict[str, pa.Table] = {}
    for name, schema in CRM_FACT_FILES.items():
        loose = pa.schema([f.with_nullable(True) for f in schema])
        path = folder / name
        if path.exists():
            table = pq.read_table(path, columns=schema.names).select(schema.names)
            tables[name] = table.cast(loose).replace_schema_metadata(None)
        else:
            tables[name] = loose.empty_table()
    return tables


def _partition(counter: str, day: dt.date) -> str:
    return f"counter={counter}/trade_date={day.isoformat()}"


def _flow_rel(table: str, counter: str, day: dt.date) -> str:
    return f"flows/{table}/{_partition(counter, day)}"


def _quarantine_rel(counter: str, day: dt.date) -> str:
    return f"quarantine/{_partition(counter, day)}"


def _registry_file(root: Path, counter: str) -> Path:
    return root / _REGISTRY / "counters" / f"{counter}.json"


def _stats_file(root: Path, counter: str) -> Path:
    return root / _REGISTRY / "stats" / f"{counter}.json"


def _reference_registry_file(root: Path) -> Path:
    return root / _REGISTRY / "reference.json"


# --- small durable-file helpers -----------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write a file so that readers see the old or the new content, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    if durable:
        _fsync_dir(path.parent)


def _atomic_write_json(path: Path, payload: Any) -> None:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    _atomic_write_bytes(path, text.encode("utf-8"))


def _write_parquet(path: Path, table: pa.Table, *, durable: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pq.write_table(table, fh, compression=COMPRESSION)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())


def _fsync_paths(paths: Iterable[Path]) -> None:
    """fsync files and folders concurrently: the file system commits them together, which on a
    busy disk is several times faster than one after the other."""
    paths = list(paths)

    def sync(path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    with ThreadPoolExecutor(max_workers=min(16, len(paths) or 1)) as pool:
        list(pool.map(sync, paths))


def _read_json(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default


def _generation(root: Path) -> int:
    try:
        return int((root / _GENERATION).read_text() or 0)
    except FileNotFoundError:
        return 0


def _bump_generation(root: Path) -> None:
    # only readers' consistency checks use it; a generation lost in a crash is harmless
    _atomic_write_bytes(root / _GENERATION, str(_generation(root) + 1).encode(), durable=False)


def _pending_journals(root: Path) -> list[Path]:
    try:
        return sorted((root / _JOURNAL).glob("*.json"))
    except FileNotFoundError:
        return []


# --- registry -----------------------------------------------------------------------------------


def _load_registry(root: Path, counter: str) -> dict[dt.date, dict[str, Any]]:
    days = _read_json(_registry_file(root, counter), {"days": {}})["days"]
    return {dt.date.fromisoformat(day): entry for day, entry in sorted(days.items())}


def _save_registry(root: Path, counter: str, days: Mapping[dt.date, Mapping[str, Any]]) -> None:
    payload = {"counter": counter, "days": {day.isoformat(): dict(days[day]) for day in sorted(days)}}
    _atomic_write_json(_registry_file(root, counter), payload)


def _registered_counters(root: Path) -> list[str]:
    folder = root / _REGISTRY / "counters"
    return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []


# --- writing ------------------------------------------------------------------------------------


class WarehouseWriter:
    """Publishes days and reference data; obtained from :func:`warehouse_writer` (holds the lock)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._registries: dict[str, dict[dt.date, dict[str, Any]]] = {}

    def registry(self, counter: str) -> dict[dt.date, dict[str, Any]]:
        """Ingested days of ``counter`` → their registry entry (checksum, counts, ingested_at)."""
        if counter not in self._registries:
            self._registries[counter] = _load_registry(self.root, counter)
        return dict(self._registries[counter])

    def file_stats(self, counter: str) -> dict[dt.date, Any]:
        """Per ingested day, the size/mtime/inode of its files when last checked (writer-only).

        Kept apart from the registry entries on purpose: the entries identify a day's content
        (the indicator pipeline fingerprints them), the stats only let an unchanged day be
        skipped without hashing it again.
        """
        stats = _read_json(_stats_file(self.root, counter), {})
        return {dt.date.fromisoformat(day): value for day, value in stats.items()}

    def record_file_stats(self, *, counter: str, trade_date: dt.date, stats: Any) -> None:
        """Remember the stats of a day's files once its checksum is known to match."""
        current = _read_json(_stats_file(self.root, counter), {})
        current[trade_date.isoformat()] = stats
        # losing this in a crash only costs one more checksum on the next run: no fsync
        payload = json.dumps(current, separators=(",", ":"), sort_keys=True).encode()
        _atomic_write_bytes(_stats_file(self.root, counter), payload, durable=False)

    def reference_entry(self, name: str) -> dict[str, Any] | None:
        """Registry entry of a reference file (``"industry"``), or None if never published."""
        return _read_json(_reference_registry_file(self.root), {}).get(name)

    def publish_day(
        self,
        *,
        counter: str,
        trade_date: dt.date,
        tables: Mapping[str, pa.Table],
        quarantine: pa.Table,
        entry: Mapping[str, Any],
    ) -> None:
        """Publish one counter day atomically, replacing any earlier version of it.

        Enforces DESIGN.md "Warehouse" (published atomically; a crashed run changes nothing) and
        COUNTERS.md "re-delivering a day replaces it".

        Parameters
        ----------
        counter, trade_date
            The partition.
        tables
            Every standard table → its rows, each with exactly ``schema.table_schema(table)``.
        quarantine
            The day's quarantined rows, :data:`~brokercrm.datacenter.adapters.QUARANTINE_SCHEMA`.
        entry
            The registry entry (JSON-serialisable): checksum, file counts, ingested_at, …
        """
        missing = set(STANDARD_TABLES) - set(tables)
        if missing:
            raise ValueError(f"publish_day needs every table; missing {sorted(missing)}")
        txn = f"{counter}-{trade_date:%Y%m%d}-{uuid.uuid4().hex[:12]}"
        stage = self.root / _STAGING / txn
        # One flat staging folder per partition (not the whole hive tree): fewer directories to
        # create and remove, which is what a publish mostly costs on a busy disk.
        parts = [(_flow_rel(t, counter, trade_date), tables[t].cast(table_schema(t))) for t in STANDARD_TABLES]
        parts.append((_quarantine_rel(counter, trade_date), quarantine.cast(QUARANTINE_SCHEMA)))
        moves = [[f"{i:02d}", rel] for i, (rel, _) in enumerate(parts)]
        # Parquet encoding releases the GIL: the day's files are written side by side
        with ThreadPoolExecutor(max_workers=pa.cpu_count()) as pool:
            list(pool.map(lambda m, part: _write_parquet(stage / m[0] / PART, part[1], durable=False), moves, parts))
        # everything the journal names must be on disk before the journal is
        _fsync_paths([p for staged, _ in moves for p in (stage / staged / PART, stage / staged)] + [stage])
        journal = {
            "txn": txn,
            "counter": counter,
            "trade_date": trade_date.isoformat(),
            "moves": moves,
            "entry": dict(entry),
        }
        # Commit point: from here on the day is published, by this run or by the next recovery.
        _atomic_write_json(self.root / _JOURNAL / f"{txn}.json", journal)
        _bump_generation(self.root)
        self._apply(journal)

    def _apply(self, journal: Mapping[str, Any]) -> None:
        """Swap a committed day into place; idempotent, so a recovery can repeat it."""
        txn = journal["txn"]
        stage = self.root / _STAGING / txn
        trash = self.root / _TRASH / txn
        for staged, rel in journal["moves"]:
            src, dst = stage / staged, self.root / rel
            if not src.exists():
                continue  # already swapped by an earlier, interrupted attempt
            if dst.exists():
                trash.mkdir(parents=True, exist_ok=True)
                os.replace(dst, trash / staged)
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        counter = journal["counter"]
        days = self.registry(counter)
        days[dt.date.fromisoformat(journal["trade_date"])] = dict(journal["entry"])
        _save_registry(self.root, counter, days)
        self._registries[counter] = days
        (self.root / _JOURNAL / f"{txn}.json").unlink(missing_ok=True)
        _bump_generation(self.root)
        shutil.rmtree(trash, ignore_errors=True)
        shutil.rmtree(stage, ignore_errors=True)

    def publish_reference(self, *, name: str, table: pa.Table, entry: Mapping[str, Any]) -> None:
        """Replace a reference file whole (COUNTERS.md "Reference data": "replaced whole").

        The Parquet file is swapped with one ``os.replace``; the registry entry follows. A crash
        between the two only makes the next ingest publish the same file again.
        """
        if name != "industry":
            raise KeyError(f"unknown reference {name!r}")
        path = industry_path(self.root.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        _write_parquet(tmp, table.cast(INDUSTRY_SCHEMA))
        os.replace(tmp, path)
        _fsync_dir(path.parent)
        entries = _read_json(_reference_registry_file(self.root), {})
        entries[name] = dict(entry)
        _atomic_write_json(_reference_registry_file(self.root), entries)
        _bump_generation(self.root)

    def recover(self) -> None:
        """Finish committed publishes and discard uncommitted staging left by a killed run."""
        committed = set()
        for path in _pending_journals(self.root):
            journal = json.loads(path.read_text(encoding="utf-8"))
            committed.add(journal["txn"])
            self._apply(journal)
        for folder in (self.root / _STAGING, self.root / _TRASH):
            if folder.is_dir():
                for leftover in folder.iterdir():
                    if leftover.name not in committed:
                        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def _locked(root: Path, *, blocking: bool) -> Iterator[bool]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / _LOCK, "a+") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def warehouse_writer(data_dir: Path) -> Iterator[WarehouseWriter]:
    """Exclusive writer of the warehouse; waits for another writer, then finishes its crashes.

    One writer at a time (an OS file lock on ``warehouse/.lock``), so two ingests never
    interleave their publishes or registry updates.
    """
    root = warehouse_path(data_dir)
    with _locked(root, blocking=True):
        writer = WarehouseWriter(root)
        writer.recover()
        yield writer


# --- reading ------------------------------------------------------------------------------------


def _snapshot(data_dir: Path) -> dict[str, dict[dt.date, dict[str, Any]]]:
    """Registries of every counter, as of a moment when no day was half-swapped.

    A seqlock: the generation counter and the journal folder are read before and after the
    registries; any publish in between makes the reader look again. A journal left by a killed
    writer is rolled forward when the lock is free; while a live writer holds it, the reader waits
    for its swap (renames only) to end.
    """
    root = warehouse_path(data_dir)
    deadline = time.monotonic() + READER_WAIT_SECONDS
    while True:
        before = _generation(root)
        pending = _pending_journals(root)
        if not pending:
            registries = {c: _load_registry(root, c) for c in _registered_counters(root)}
            if _generation(root) == before and not _pending_journals(root):
                return registries
        elif root.is_dir():
            with _locked(root, blocking=False) as got:
                if got:
                    WarehouseWriter(root).recover()
                    continue
        if time.monotonic() > deadline:
            raise WarehouseBusy(MSG_BUSY.format(root=root, seconds=READER_WAIT_SECONDS))
        time.sleep(0.02)


def registry(data_dir: Path, counter: str) -> dict[dt.date, dict[str, Any]]:
    """Ingested days of one counter → registry entry (checksum, files, ingested_at, source)."""
    return _snapshot(data_dir).get(counter, {})


def ingested_days(data_dir: Path) -> dict[str, list[dt.date]]:
    """Every counter → its ingested trading days, sorted."""
    return {counter: sorted(days) for counter, days in _snapshot(data_dir).items()}


def trading_calendar(data_dir: Path) -> list[dt.date]:
    """Sorted union of the days ingested for any counter (COUNTERS.md, "Export layout": "the
    trading calendar is the sorted list of folders")."""
    return sorted({day for days in _snapshot(data_dir).values() for day in days})


def _selected(
    data_dir: Path,
    *,
    counters: Iterable[str] | None,
    start: dt.date | None,
    end: dt.date | None,
) -> list[tuple[str, dt.date]]:
    snapshot = _snapshot(data_dir)
    wanted = sorted(snapshot) if counters is None else [c for c in counters if c in snapshot]
    return [
        (counter, day)
        for counter in wanted
        for day in sorted(snapshot[counter])
        if (start is None or day >= start) and (end is None or day <= end)
    ]


def flow_files(
    data_dir: Path,
    table: str,
    *,
    counters: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[Path]:
    """Parquet files of a standard table for the ingested days, by counter then date.

    Parameters
    ----------
    table
        A standard table (``"trades"``, ``"positions"``…).
    counters
        Restrict to these counters (default: all).
    start, end
        Inclusive trade-date bounds (default: all days).
    """
    folder = flows_path(data_dir, table)
    return [folder / _partition(c, d) / PART for c, d in _selected(data_dir, counters=counters, start=start, end=end)]


def quarantine_files(
    data_dir: Path,
    *,
    counters: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[Path]:
    """Quarantine Parquet files of the ingested days, by counter then date."""
    folder = quarantine_path(data_dir)
    return [folder / _partition(c, d) / PART for c, d in _selected(data_dir, counters=counters, start=start, end=end)]


def _read_all(paths: list[Path], schema: pa.Schema) -> pa.Table:
    if not paths:
        return schema.empty_table()
    return pa.concat_tables([pq.read_table(p, schema=schema) for p in paths])


def read_flows(
    data_dir: Path,
    table: str,
    *,
    counters: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pa.Table:
    """A standard table across counters and days as one Arrow table (``schema.table_schema``)."""
    return _read_all(flow_files(data_dir, table, counters=counters, start=start, end=end), table_schema(table))


def read_quarantine(
    data_dir: Path,
    *,
    counters: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> pa.Table:
    """Every quarantined row of the ingested days (``adapters.QUARANTINE_SCHEMA``)."""
    return _read_all(quarantine_files(data_dir, counters=counters, start=start, end=end), QUARANTINE_SCHEMA)


def read_industry(data_dir: Path) -> pa.Table | None:
    """The reference industries, or None when no ``reference/industry.csv`` was ever ingested.

    Securities without a row have industry ``dictionaries.UNKNOWN_INDUSTRY`` (COUNTERS.md,
    "Reference data"); applying that default is the pipeline's join, not stored here.
    """
    path = industry_path(data_dir)
    return pq.read_table(path, schema=INDUSTRY_SCHEMA) if path.is_file() else None


def flow_table(
    data_dir: Path,
    table: str,
    *,
    con: BaseBackend | None = None,
    counters: Iterable[str] | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> ir.Table:
    """A standard table across counters and days as an Ibis table.

    Parameters
    ----------
    con
        The Ibis backend to read with (default: a new in-memory DuckDB connection). On DuckDB the
        files are read with hive partitioning, so filters on ``counter``/``trade_date`` prune files.
    counters, start, end
        As in :func:`flow_files`.

    Notes
    -----
    With no ingested day, the result is an empty in-memory table with the standard schema.
    """
    import ibis

    paths = flow_files(data_dir, table, counters=counters, start=start, end=end)
    if not paths:
        return ibis.memtable(table_schema(table).empty_table())
    con = con if con is not None else ibis.duckdb.connect()
    options = {"hive_partitioning": True} if con.name == "duckdb" else {}
    return con.read_parquet([str(p) for p in paths], **options)
