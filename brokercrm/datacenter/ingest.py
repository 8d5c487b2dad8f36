"""Ingest a counter's day folders into the warehouse, with a quarantine for bad rows.

Enforces COUNTERS.md:

* "Export layout": one sub-folder per trading day (``YYYYMMDD``), taken in date order; a
  re-delivered day (its files' checksum changed) replaces the old one; an unchanged day is skipped;
  the first day delivered for a counter is its initial day (positions carry cost prices).
* "Bad input": unreadable rows go to the quarantine and the rest of the day loads; read = loaded +
  quarantined per file; a day missing a required file or column is refused whole and nothing of it
  is published.
* "Reference data": ``reference/industry.csv`` beside the counter folders, replaced whole.

Nothing here imports Django; the CLI and the Django app call :func:`ingest`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from brokercrm.datacenter.adapters import (
    REASON_BAD_SECURITY_CODE,
    REASON_DUPLICATE_SECURITY,
    REASON_MISSING,
    REASON_UNKNOWN_CODE,
    REASON_UNKNOWN_CUSTOMER,
    REASON_UNKNOWN_FUND_ACCOUNT,
    REASON_UNKNOWN_SECURITY,
    CounterAdapter,
    DayRefused,
    MissingFileError,
    ParsedFile,
    adapter_for,
    read_delimited,
)
from brokercrm.datacenter.dictionaries import COUNTERS, INDUSTRY_FILE, STANDARD_CODES, STANDARD_TABLES
from brokercrm.datacenter.warehouse import INDUSTRY_SCHEMA, WarehouseWriter, flows_path, warehouse_writer

__all__ = [
    "DayResult",
    "FileResult",
    "IngestError",
    "IngestProgress",
    "IngestResult",
    "ReferenceResult",
    "ingest",
]

log = logging.getLogger(__name__)

STATUS_INGESTED = "ingested"  #: a day seen for the first time, published
STATUS_REPLACED = "replaced"  #: a re-delivered day (content changed), published over the old one
STATUS_SKIPPED = "skipped"  #: an already-ingested day whose files did not change
STATUS_REFUSED = "refused"  #: nothing of the day was published; see the message

MSG_UNKNOWN_COUNTER = "unknown counter {counter!r}; known: {known}"
MSG_NOT_A_FOLDER = "{path} is not a folder"
MSG_NO_DAYS = "{path} has no day folders (YYYYMMDD)"
MSG_BAD_DAY_FOLDER = "{folder}: folder name is not a date (YYYYMMDD)"
MSG_BLOCKED = "{day}: not ingested because the earlier day {refused} was refused; days are ingested in order"
MSG_UNREADABLE = "{day}: cannot read the day's files ({error})"
MSG_REFERENCE_BAD_ROW = "{file}: line {line}, field {field}: {reason}"

_DAY_FOLDER = re.compile(r"^\d{8}$")
#: Tables whose rows other tables refer to, by key (COUNTERS.md "Bad input": "a fund account or
#: customer that does not exist"; securities: "the full security master, every day").
_KEYS: Mapping[str, tuple[str, ...]] = {
    "customers": ("customer_no",),
    "fund_accounts": ("fund_account",),
    "securities": ("exchange", "security_code"),
}
#: Customers and fund accounts arrive as changes ("new or changed … of the day"), so the known set
#: is this day's plus every earlier day's; the security master is complete every day.
_ACCUMULATED = frozenset({"customers", "fund_accounts"})
_UNKNOWN_REASON = {
    "customers": REASON_UNKNOWN_CUSTOMER,
    "fund_accounts": REASON_UNKNOWN_FUND_ACCOUNT,
    "securities": REASON_UNKNOWN_SECURITY,
}
_INDUSTRY_COLUMNS = ("exchange", "security_code", "industry")


class IngestError(Exception):
    """The ingest cannot start (unknown counter, a path that is not a counter or day folder)."""


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileResult:
    """Counts of one file of one day: ``read == loaded + quarantined``."""

    table: str
    file: str
    read: int
    loaded: int
    quarantined: int


@dataclass(frozen=True)
class DayResult:
    """What happened to one day folder."""

    trade_date: dt.date | None
    folder: str
    status: str
    files: tuple[FileResult, ...] = ()
    message: str | None = None
    checksum: str | None = None

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def loaded(self) -> int:
        return sum(f.loaded for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)


@dataclass(frozen=True)
class ReferenceResult:
    """What happened to ``reference/industry.csv``."""

    file: str
    status: str
    rows: int = 0
    message: str | None = None


@dataclass(frozen=True)
class IngestResult:
    """The outcome of one :func:`ingest` call, per day and per file."""

    counter: str
    path: str
    days: tuple[DayResult, ...]
    reference: ReferenceResult | None = None

    @property
    def ok(self) -> bool:
        """False when any day (or the reference file) was refused."""
        refused_reference = self.reference is not None and self.reference.status == STATUS_REFUSED
        return not self.refused and not refused_reference

    @property
    def refused(self) -> tuple[DayResult, ...]:
        return tuple(d for d in self.days if d.status == STATUS_REFUSED)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json``: dates as ISO strings, counts per day and file, totals."""
        days = []
        for day in self.days:
            item = asdict(day)
            item["trade_date"] = day.trade_date.isoformat() if day.trade_date else None
            item["files"] = [asdict(f) for f in day.files]
            item.update(read=day.read, loaded=day.loaded, quarantined=day.quarantined)
            days.append(item)
        statuses = (STATUS_INGESTED, STATUS_REPLACED, STATUS_SKIPPED, STATUS_REFUSED)
        return {
            "counter": self.counter,
            "path": self.path,
            "ok": self.ok,
            "days": days,
            "reference": asdict(self.reference) if self.reference else None,
            "totals": {
                **{status: sum(d.status == status for d in self.days) for status in statuses},
                "read": sum(d.read for d in self.days),
                "loaded": sum(d.loaded for d in self.days),
                "quarantined": sum(d.quarantined for d in self.days),
            },
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


@dataclass(frozen=True)
class IngestProgress:
    """Reported to the ``progress`` callback: once before the first day, then after every day."""

    counter: str
    done: int
    total: int
    trade_date: dt.date | None = None
    status: str | None = None


# --- checksums ----------------------------------------------------------------------------------


def _file_stats(paths: Mapping[str, Path]) -> dict[str, list[int]]:
    """Size, mtime and inode per file: when all are unchanged the content is taken as unchanged,
    so re-running over hundreds of ingested days does not re-hash gigabytes."""
    out = {}
    for name in sorted(paths):
        st = paths[name].stat()
        out[name] = [st.st_size, st.st_mtime_ns, st.st_ino]
    return out


def _checksum(paths: Mapping[str, Path]) -> str:
    """SHA-256 over the day's required files (name, size, bytes), in name order."""
    digest = hashlib.sha256()
    for name in sorted(paths):
        path = paths[name]
        digest.update(f"{name}\0{path.stat().st_size}\0".encode())
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return f"sha256:{digest.hexdigest()}"


# --- known keys across days ---------------------------------------------------------------------


def _key(rows: pa.Table, key: tuple[str, ...]) -> pa.ChunkedArray:
    if len(key) == 1:
        return rows.column(key[0])
    return pc.binary_join_element_wise(*(rows.column(k) for k in key), "\x1f")


class _EarlierKeys:
    """Keys of one table over the already-ingested days of a counter before a given day.

    Days are ingested in date order, so the set only grows during a run; each earlier day's file
    is read once.
    """

    def __init__(self, *, data_dir: Path, counter: str, table: str) -> None:
        self.folder = flows_path(data_dir, table) / f"counter={counter}"
        self.key = _KEYS[table]
        self.loaded: set[dt.date] = set()
        self.chunks: list[pa.Array] = []

    def before(self, day: dt.date, ingested: list[dt.date]) -> list[pa.Array]:
        for earlier in sorted(ingested):
            if earlier < day and earlier not in self.loaded:
                path = self.folder / f"trade_date={earlier.isoformat()}" / "part-0.parquet"
                rows = pq.read_table(path, columns=list(self.key))
                self.chunks.append(pc.unique(_key(rows, self.key)) if rows.num_rows else pa.array([], pa.string()))
                self.loaded.add(earlier)
        return list(self.chunks)


def _apply_references(
    parsed: dict[str, ParsedFile],
    *,
    earlier: Mapping[str, list[pa.Array]],
) -> dict[str, ParsedFile]:
    """Quarantine rows that refer to a customer, fund account or security that does not exist.

    Enforces COUNTERS.md "Bad input" ("a fund account or customer that does not exist"): a
    customer or fund account exists when it is in this day's file or an earlier ingested day's; a
    security exists when it is in this day's security master ("the full security master, every
    day"). Referred tables are taken in order (customers, fund accounts, securities), each after
    its own references were checked, so a customer quarantined for a bad code also quarantines
    its accounts and their flows; within a row the first referring field in file order is blamed.
    """
    items = dict(parsed)
    for target, key in _KEYS.items():
        own = items[target].rows
        today = _key(own, key).combine_chunks() if own.num_rows else pa.array([], pa.string())
        chunks = [*earlier.get(target, []), today] if target in _ACCUMULATED else [today]
        known = pa.concat_arrays([c.cast(pa.string()) for c in chunks])
        referring = [
            t for t, fields in STANDARD_TABLES.items()
            if t != target and set(key) <= set(fields) and items[t].rows.num_rows
        ]
        if not referring:
            continue
        # one lookup for every referring table: building the hash set of a million keys costs
        # more than probing it, so it is built once
        probes = [_key(items[t].rows, key) for t in referring]
        found = pc.is_in(pa.chunked_array([c for p in probes for c in p.chunks], pa.string()), value_set=known)
        missing = ~np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)
        offset = 0
        for table, probe in zip(referring, probes, strict=True):
            mask = missing[offset : offset + len(probe)]
            offset += len(probe)
            items[table] = items[table].reject(mask, field=key[-1], reason=_UNKNOWN_REASON[target])
    return items


# --- one day ------------------------------------------------------------------------------------


def _day_files(adapter: CounterAdapter, folder: Path) -> dict[str, Path]:
    return {adapter.file_name(table): folder / adapter.file_name(table) for table in STANDARD_TABLES}


def _read_day(
    *,
    adapter: CounterAdapter,
    folder: Path,
    day: dt.date,
    initial_day: bool,
    earlier: Mapping[str, _EarlierKeys],
    ingested: list[dt.date],
) -> dict[str, ParsedFile]:
    """Parse and check every file of a day folder; raises :class:`DayRefused` before any parsing
    when a file or a column is missing (COUNTERS.md "Bad input", last sentence)."""
    label = folder.name
    for table in STANDARD_TABLES:
        adapter.check_header(table=table, path=folder / adapter.file_name(table), day=label)
    parsed = {
        table: adapter.read(
            table=table, path=folder / adapter.file_name(table), trade_date=day, initial_day=initial_day
        )
        for table in STANDARD_TABLES
    }
    return _apply_references(parsed, earlier={t: keys.before(day, ingested) for t, keys in earlier.items()})


def _publish(
    writer: WarehouseWriter,
    *,
    counter: str,
    day: dt.date,
    folder: Path,
    parsed: Mapping[str, ParsedFile],
    checksum: str,
    stats: Mapping[str, list[int]],
    initial_day: bool,
) -> tuple[FileResult, ...]:
    files = tuple(
        FileResult(table=p.table, file=p.file, read=p.read, loaded=p.loaded, quarantined=p.quarantined)
        for p in parsed.values()
    )
    entry = {
        "checksum": checksum,
        "ingested_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "source": str(folder.resolve()),
        "initial_day": initial_day,
        "files": {
            f.file: {"table": f.table, "read": f.read, "loaded": f.loaded, "quarantined": f.quarantined} for f in files
        },
    }
    writer.publish_day(
        counter=counter,
        trade_date=day,
        tables={table: p.rows for table, p in parsed.items()},
        quarantine=pa.concat_tables([p.quarantine for p in parsed.values()]),
        entry=entry,
    )
    writer.record_file_stats(counter=counter, trade_date=day, stats=dict(stats))
    return files


# --- reference data -----------------------------------------------------------------------------


def _ingest_reference(writer: WarehouseWriter, path: Path) -> ReferenceResult:
    """Publish ``reference/industry.csv`` whole, or refuse it whole naming the first bad line.

    Enforces COUNTERS.md "Reference data" (UTF-8, columns ``exchange, security_code, industry``,
    replaced whole). A curated reference file is all-or-nothing: any bad row refuses the file and
    the previous one stays.
    """
    name = INDUSTRY_FILE
    data = path.read_bytes()
    checksum = f"sha256:{hashlib.sha256(data).hexdigest()}"
    previous = writer.reference_entry("industry")
    if previous and previous.get("checksum") == checksum:
        return ReferenceResult(file=name, status=STATUS_SKIPPED, rows=previous.get("rows", 0))
    try:
        raw = read_delimited(data, encoding="utf-8", delimiter=",", required=_INDUSTRY_COLUMNS, file=name)
    except DayRefused as exc:
        return ReferenceResult(file=name, status=STATUS_REFUSED, message=str(exc))
    problems = [(line, "", reason) for line, reason, _ in raw.bad]
    exchange, code, industry = (raw.columns[c] for c in _INDUSTRY_COLUMNS)
    lines = raw.lines.to_numpy()
    known_exchange = pc.is_in(exchange, value_set=pa.array(STANDARD_CODES["exchange"]))
    six_characters = pc.and_(pc.ascii_is_alnum(code), pc.equal(pc.utf8_length(code), 6))
    checks = [
        ("exchange", pc.invert(known_exchange), REASON_UNKNOWN_CODE),
        ("security_code", pc.invert(six_characters), REASON_BAD_SECURITY_CODE),
        ("industry", pc.equal(industry, ""), REASON_MISSING),
    ]
    for column, mask, reason in checks:
        for i in np.flatnonzero(pc.fill_null(mask, True).to_numpy(zero_copy_only=False)):
            problems.append((int(lines[i]), column, reason))
    keys = pc.binary_join_element_wise(exchange, code, "\x1f").to_numpy(zero_copy_only=False)
    _, first = np.unique(keys, return_index=True)
    for i in sorted(set(range(len(keys))) - set(first.tolist())):
        problems.append((int(lines[i]), "security_code", REASON_DUPLICATE_SECURITY))
    if problems:
        line, column, reason = min(problems)
        message = MSG_REFERENCE_BAD_ROW.format(file=name, line=line, field=column or "(row)", reason=reason)
        return ReferenceResult(file=name, status=STATUS_REFUSED, message=message)
    table = pa.Table.from_arrays([exchange, code, industry], schema=INDUSTRY_SCHEMA)
    entry = {
        "checksum": checksum,
        "rows": table.num_rows,
        "source": str(path.resolve()),
        "ingested_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    status = STATUS_REPLACED if previous else STATUS_INGESTED
    writer.publish_reference(name="industry", table=table, entry=entry)
    return ReferenceResult(file=name, status=status, rows=table.num_rows)


# --- entry point --------------------------------------------------------------------------------


def _day_folders(path: Path) -> tuple[list[Path], Path]:
    """Day folders under PATH (a counter root, or one day folder) and the folder holding
    ``reference/`` (beside the counter folders)."""
    if _DAY_FOLDER.fullmatch(path.name):
        return [path], path.parent.parent
    folders = sorted(p for p in path.iterdir() if p.is_dir() and _DAY_FOLDER.fullmatch(p.name))
    return folders, path.parent


def _parse_day(name: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(name, "%Y%m%d").date()
    except ValueError:
        return None


def ingest(
    counter: str,
    path: Path,
    *,
    data_dir: Path,
    progress: Callable[[IngestProgress], None] | None = None,
) -> IngestResult:
    """Ingest a counter's day folders (or one day folder) into the warehouse under ``data_dir``.

    Enforces COUNTERS.md "Export layout" (days in order; a re-delivered day replaces the old one;
    unchanged days are skipped; the first day is the initial day), "Bad input" (quarantine of
    unreadable rows, read = loaded + quarantined, refusal of a day missing a file or column) and
    "Reference data" (``reference/industry.csv`` beside the counter folders, replaced whole).

    Parameters
    ----------
    counter
        A counter style of ``dictionaries.COUNTERS`` (``"hundsun"``, ``"apex"``).
    path
        The counter's root folder (day sub-folders ``YYYYMMDD``) or a single day folder.
    data_dir
        The data directory; the warehouse is ``data_dir / "warehouse"``.
    progress
        Called with an :class:`IngestProgress` before the first day and after every day.

    Returns
    -------
    IngestResult
        Per day: status, per-file counts, refusal message. ``.ok`` is false when a day was refused.

    Raises
    ------
    IngestError
        Unknown counter, or ``path`` is not a folder or holds no day folders.

    Notes
    -----
    After a refused day, later days that would be written are refused too (message
    :data:`MSG_BLOCKED`): their fund accounts and customers may come from the refused day, and
    ingesting them would leave a hole in the calendar. A replaced day does not re-check the later
    days already ingested against its new content.
    """
    if counter not in COUNTERS:
        raise IngestError(MSG_UNKNOWN_COUNTER.format(counter=counter, known=", ".join(sorted(COUNTERS))))
    path = Path(path)
    if not path.is_dir():
        raise IngestError(MSG_NOT_A_FOLDER.format(path=path))
    folders, base = _day_folders(path)
    if not folders:
        raise IngestError(MSG_NO_DAYS.format(path=path))
    adapter = adapter_for(counter)
    data_dir = Path(data_dir)
    notify = progress or (lambda event: None)
    notify(IngestProgress(counter=counter, done=0, total=len(folders)))

    results: list[DayResult] = []
    with warehouse_writer(data_dir) as writer:
        reference_file = base / INDUSTRY_FILE
        reference = _ingest_reference(writer, reference_file) if reference_file.is_file() else None

        dates = [d for d in (_parse_day(f.name) for f in folders) if d is not None]
        initial = min([*writer.registry(counter), *dates], default=None)
        earlier = {t: _EarlierKeys(data_dir=data_dir, counter=counter, table=t) for t in _ACCUMULATED}
        refused_day: str | None = None

        for done, folder in enumerate(folders, start=1):
            result = _ingest_folder(
                writer,
                adapter=adapter,
                folder=folder,
                initial=initial,
                earlier=earlier,
                refused_day=refused_day,
            )
            if result.status == STATUS_REFUSED and result.trade_date is not None and refused_day is None:
                refused_day = folder.name
            log.info("%s %s: %s %s", counter, folder.name, result.status, result.message or "")
            results.append(result)
            notify(
                IngestProgress(
                    counter=counter, done=done, total=len(folders), trade_date=result.trade_date, status=result.status
                )
            )

    return IngestResult(counter=counter, path=str(path), days=tuple(results), reference=reference)


def _ingest_folder(
    writer: WarehouseWriter,
    *,
    adapter: CounterAdapter,
    folder: Path,
    initial: dt.date | None,
    earlier: Mapping[str, _EarlierKeys],
    refused_day: str | None,
) -> DayResult:
    """Skip, refuse or publish one day folder."""
    day = _parse_day(folder.name)
    if day is None:
        message = MSG_BAD_DAY_FOLDER.format(folder=folder.name)
        return DayResult(trade_date=None, folder=folder.name, status=STATUS_REFUSED, message=message)
    paths = _day_files(adapter, folder)
    missing = [name for name, p in paths.items() if not p.is_file()]
    if missing:
        message = str(MissingFileError(day=folder.name, files=missing))
        return DayResult(trade_date=day, folder=folder.name, status=STATUS_REFUSED, message=message)

    try:
        return _ingest_files(writer, adapter=adapter, folder=folder, day=day, paths=paths, initial=initial,
                             earlier=earlier, refused_day=refused_day)  # fmt: skip
    except OSError as exc:
        # an unreadable file (permissions, I/O error) refuses the day like a missing one
        message = MSG_UNREADABLE.format(day=folder.name, error=exc)
        return DayResult(trade_date=day, folder=folder.name, status=STATUS_REFUSED, message=message)


def _ingest_files(
    writer: WarehouseWriter,
    *,
    adapter: CounterAdapter,
    folder: Path,
    day: dt.date,
    paths: Mapping[str, Path],
    initial: dt.date | None,
    earlier: Mapping[str, _EarlierKeys],
    refused_day: str | None,
) -> DayResult:
    """Skip an unchanged day, or read, check and publish it."""
    counter = adapter.name
    registry = writer.registry(counter)
    previous = registry.get(day)
    stats = _file_stats(paths)
    if previous and writer.file_stats(counter).get(day) == stats:
        return DayResult(trade_date=day, folder=folder.name, status=STATUS_SKIPPED, checksum=previous["checksum"])
    checksum = _checksum(paths)
    if previous and previous.get("checksum") == checksum:
        # same content, new stats (copied, touched): remember them so the next run skips fast
        writer.record_file_stats(counter=counter, trade_date=day, stats=stats)
        return DayResult(trade_date=day, folder=folder.name, status=STATUS_SKIPPED, checksum=checksum)
    if refused_day is not None:
        message = MSG_BLOCKED.format(day=folder.name, refused=refused_day)
        return DayResult(trade_date=day, folder=folder.name, status=STATUS_REFUSED, message=message, checksum=checksum)

    initial_day = day == initial
    try:
        parsed = _read_day(
            adapter=adapter, folder=folder, day=day, initial_day=initial_day, earlier=earlier, ingested=list(registry)
        )
    except DayRefused as exc:
        return DayResult(trade_date=day, folder=folder.name, status=STATUS_REFUSED, message=str(exc), checksum=checksum)
    files = _publish(
        writer,
        counter=counter,
        day=day,
        folder=folder,
        parsed=parsed,
        checksum=checksum,
        stats=stats,
        initial_day=initial_day,
    )
    status = STATUS_REPLACED if previous else STATUS_INGESTED
    return DayResult(trade_date=day, folder=folder.name, status=status, files=files, checksum=checksum)
