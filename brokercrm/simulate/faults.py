"""Realistic damage to a simulated export, and the manifest that lists it.

Row faults are **extra lines**: a copy of a real row of that file with one thing broken (a fresh
serial number where the table has one, so only the intended reason applies). The clean rows are
left untouched, so once the ingest quarantines exactly the listed lines, the day reconciles
as if nothing happened. Each kind of bad row (COUNTERS.md, "Bad input") is injected once per
counter. Two day-level faults refuse a whole day: one Hundsun day has a file missing a
required column, one Apex day misses a file. Neither falls on the initial day, which must load.

Every damaged file's original is kept under ``faults.clean/<counter>/<day>/<file>`` so a test
can re-deliver the repaired day (ingest is idempotent per day).

The manifest ``faults.json`` lists one entry per fault::

    {"counter": "hundsun", "day": "20250106", "file": "deliver.csv", "line": 7,
     "field": "business_amount", "standard_field": "quantity", "reason": "unparsable_number",
     "value": "#VALUE!"}

``line`` counts from 1 (the header); ``field``/``line`` are ``null`` when they do not apply.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from brokercrm.datacenter.dictionaries import STANDARD_TABLES, CounterFormat

__all__ = ["CLEAN_DIR", "MANIFEST", "REASONS", "Fault", "inject_faults"]

MANIFEST = "faults.json"
CLEAN_DIR = "faults.clean"

#: Reason kinds, in the words of COUNTERS.md "Bad input".
WRONG_FIELD_COUNT = "wrong_field_count"
UNPARSABLE_NUMBER = "unparsable_number"
UNPARSABLE_DATE = "unparsable_date"
TOO_MANY_DECIMALS = "too_many_decimals"
UNKNOWN_CODE = "unknown_code"
MISSING_KEY = "missing_key"
UNKNOWN_FUND_ACCOUNT = "unknown_fund_account"
DUPLICATE_SERIAL = "duplicate_serial"
MISSING_COLUMN = "missing_column"
MISSING_FILE = "missing_file"
REASONS = (
    WRONG_FIELD_COUNT,
    UNPARSABLE_NUMBER,
    UNPARSABLE_DATE,
    TOO_MANY_DECIMALS,
    UNKNOWN_CODE,
    MISSING_KEY,
    UNKNOWN_FUND_ACCOUNT,
    DUPLICATE_SERIAL,
    MISSING_COLUMN,
    MISSING_FILE,
)


@dataclass(frozen=True)
class Fault:
    counter: str
    day: str
    file: str
    line: int | None
    field: str | None
    standard_field: str | None
    reason: str
    value: str | None = None


#: Which row fault goes where, per counter: (reason, table, standard field, new value or None).
#: ``None`` values are computed from the copied row (see ``_mutate``).
_ROW_PLAN: dict[str, list[tuple[str, str, str | None, str | None]]] = {
    "hundsun": [
        (WRONG_FIELD_COUNT, "trades", None, None),
        (UNPARSABLE_NUMBER, "trades", "quantity", "#VALUE!"),
        (UNPARSABLE_DATE, "customers", "open_date", "20230231"),
        (TOO_MANY_DECIMALS, "cash_flows", "amount", None),
        (UNKNOWN_CODE, "cash_flows", "kind", "2998"),
        (MISSING_KEY, "trades", "serial_no", ""),
        (UNKNOWN_FUND_ACCOUNT, "trades", "fund_account", None),
        (DUPLICATE_SERIAL, "cash_flows", "serial_no", None),
    ],
    "apex": [
        (WRONG_FIELD_COUNT, "cash_flows", None, None),
        (UNPARSABLE_NUMBER, "cash_flows", "amount", "12O4.50"),
        (UNPARSABLE_DATE, "fund_accounts", "open_date", "20241301"),
        (TOO_MANY_DECIMALS, "trades", "price", None),
        (UNKNOWN_CODE, "trades", "channel", "XX"),
        (MISSING_KEY, "cash_flows", "fund_account", ""),
        (UNKNOWN_FUND_ACCOUNT, "cash_flows", "fund_account", None),
        (DUPLICATE_SERIAL, "trades", "serial_no", None),
    ],
}

#: Day-level faults: (counter, reason, table, standard field of the dropped column).
_DAY_PLAN = (
    ("hundsun", MISSING_COLUMN, "cash_flows", "balance_after"),
    ("apex", MISSING_FILE, "positions", None),
)

_FLOW_TABLES = ("trades", "cash_flows", "security_transfers", "freezes")


def inject_faults(
    *, out: Path, counters: dict[str, CounterFormat], days: list[str], rng: np.random.Generator
) -> list[Fault]:
    """Damage the export under ``out`` and write ``out/faults.json``; returns the faults."""
    faults: list[Fault] = []
    skipped: list[dict[str, str]] = []
    later = days[1:]
    refused: set[tuple[str, str]] = set()
    day_faults: list[tuple[str, str, str, str | None, str]] = []
    for counter, reason, table, field in _DAY_PLAN:
        if not later:
            skipped.append(
                {"counter": counter, "reason": reason, "why": "only the initial day exists"}
            )
            continue
        day = later[int(rng.integers(len(later)))]
        refused.add((counter, day))
        day_faults.append((counter, day, reason, field, table))

    for counter, plan in _ROW_PLAN.items():
        fmt = counters[counter]
        edits: dict[Path, list[tuple[str, str, str | None, str | None]]] = {}
        for reason, table, field, value in plan:
            path = _pick_file(
                out, fmt, table, [d for d in days if (counter, d) not in refused], rng
            )
            if path is None:
                skipped.append({"counter": counter, "reason": reason, "why": f"no {table} rows"})
                continue
            edits.setdefault(path, []).append((reason, table, field, value))
        serials: dict[str, int] = {}  # next free serial per day, shared by the day's files
        for path in sorted(edits):
            faults.extend(_damage_rows(out, fmt, path, edits[path], rng, serials))

    for counter, day, reason, field, table in day_faults:
        fmt = counters[counter]
        path = out / counter / day / fmt.files[table]
        _keep_clean(out, path)
        if reason == MISSING_FILE:
            path.unlink()
            faults.append(Fault(counter, day, path.name, None, None, None, reason))
        else:
            column = fmt.columns[table][field]
            _drop_column(fmt, path, column)
            faults.append(Fault(counter, day, path.name, None, column, field, reason))

    faults.sort(key=lambda f: (f.counter, f.day, f.file, f.line or 0))
    manifest = {
        "note": "row faults are extra lines; the original of every damaged file is under "
        + CLEAN_DIR,
        "faults": [asdict(f) for f in faults],
        "skipped": skipped,
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return faults


def _pick_file(
    out: Path, fmt: CounterFormat, table: str, days: list[str], rng: np.random.Generator
) -> Path | None:
    """A day file of ``table`` with at least one row, chosen at random."""
    candidates = []
    for day in days:
        path = out / fmt.name / day / fmt.files[table]
        with path.open("rb") as fh:
            fh.readline()
            if fh.readline():
                candidates.append(path)
    if not candidates:
        return None
    return candidates[int(rng.integers(len(candidates)))]


def _keep_clean(out: Path, path: Path) -> None:
    clean = out / CLEAN_DIR / path.relative_to(out)
    if not clean.exists():
        clean.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, clean)


def _damage_rows(
    out: Path,
    fmt: CounterFormat,
    path: Path,
    edits: list[tuple[str, str, str | None, str | None]],
    rng: np.random.Generator,
    serials: dict[str, int],
) -> list[Fault]:
    _keep_clean(out, path)
    text = path.read_bytes().decode(fmt.encoding)
    lines = text.split("\n")[:-1]  # the file ends with a line break
    header, rows = lines[0], lines[1:]
    sep = fmt.delimiter
    day = path.parent.name
    table = edits[0][1]
    fields = list(STANDARD_TABLES[table])
    next_serial = serials.get(day) or _max_serial(out, fmt, day) + 1

    entries: list[list] = [[row, None] for row in rows]
    for reason, _table, field, value in edits:
        src = int(rng.integers(len(rows)))
        values = rows[src].split(sep)
        if "serial_no" in fields and reason != DUPLICATE_SERIAL:
            values[fields.index("serial_no")] = str(next_serial)
            next_serial += 1
        new_value = _mutate(fmt, reason, field, value, values, fields)
        if field is not None and reason != DUPLICATE_SERIAL:
            values[fields.index(field)] = new_value
        if reason == WRONG_FIELD_COUNT:
            values = values[:-1] if fmt.name == "hundsun" else [*values, "0"]
        column = fmt.columns[table][field] if field else None
        fault = Fault(fmt.name, day, path.name, 0, column, field, reason, new_value)
        # A duplicate follows its original; other bad rows land anywhere.
        if reason == DUPLICATE_SERIAL:
            at = next(i for i, e in enumerate(entries) if e[0] == rows[src] and e[1] is None) + 1
        else:
            at = int(rng.integers(len(entries) + 1))
        entries.insert(at, [sep.join(values), fault])

    found: list[Fault] = []
    for number, (_row, fault) in enumerate(entries, start=2):
        if fault is not None:
            found.append(Fault(**{**asdict(fault), "line": number}))
    body = "\n".join([header, *(e[0] for e in entries)]) + "\n"
    path.write_bytes(body.encode(fmt.encoding))
    serials[day] = next_serial
    return found


def _mutate(
    fmt: CounterFormat,
    reason: str,
    field: str | None,
    value: str | None,
    values: list[str],
    fields: list[str],
) -> str | None:
    if value is not None:
        return value
    if field is None:
        return None
    current = values[fields.index(field)]
    if reason == TOO_MANY_DECIMALS:
        # Amounts allow 2 decimals, prices 4: add digits past the limit.
        return current + (
            "7" if field != "price" else "0" * (4 - len(current.partition(".")[2])) + "35"
        )
    if reason == UNKNOWN_FUND_ACCOUNT:
        # Slot 9 is never issued, so this account number cannot exist.
        return current[:2] + "9" * (len(current) - 3) + "9"
    if reason == DUPLICATE_SERIAL:
        return current
    raise ValueError(reason)


def _max_serial(out: Path, fmt: CounterFormat, day: str) -> int:
    """Highest serial number of a counter's day over every flow file."""
    highest = 0
    for table in _FLOW_TABLES:
        path = out / fmt.name / day / fmt.files[table]
        if not path.exists():
            continue
        lines = path.read_bytes().decode(fmt.encoding).split("\n")[1:]
        col = list(STANDARD_TABLES[table]).index("serial_no")
        for line in lines:
            if line:
                serial = line.split(fmt.delimiter)[col]
                if serial.isdigit():
                    highest = max(highest, int(serial))
    return highest


def _drop_column(fmt: CounterFormat, path: Path, column: str) -> None:
    text = path.read_bytes().decode(fmt.encoding)
    lines = text.split("\n")[:-1]
    col = lines[0].split(fmt.delimiter).index(column)
    kept = [
        fmt.delimiter.join(v for i, v in enumerate(line.split(fmt.delimiter)) if i != col)
        for line in lines
    ]
    path.write_bytes(("\n".join(kept) + "\n").encode(fmt.encoding))
