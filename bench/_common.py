"""Shared by the benchmark scripts: warehouse layout, day context, CSV export, comparison, memory.

Nothing here is timed. The references read the same files the pipeline reads:

* flows: ``data_dir/warehouse/flows/<table>/counter=<c>/trade_date=<d>/part-0.parquet``
* state of earlier days: a snapshot folder laid out like a published pipeline version
  (``<table>/trade_date=<d>/part-0.parquet``, runner.py) — the pipeline's own published version
  (scenario new-day) or the folder a reference writes its own days into (scenario backfill).
"""

from __future__ import annotations

import csv
import os
import resource
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

#: Mirrors of brokercrm.datacenter.pipeline constants (kept literal so that a reference does not
#: import the code it checks; pipeline.py is the source: INDICATORS, AVG_ASSETS_DAYS …).
INDICATORS = (
    "cash_balance",
    "bank_in",
    "bank_out",
    "securities_in_value",
    "securities_out_value",
    "stock_value",
    "fund_value",
    "bond_value",
    "debt",
    "total_assets",
    "net_assets",
    "realized_pnl",
    "interest_base",
    "trade_amount",
    "trade_count",
    "commission",
    "net_commission",
    "frozen_balance",
)
EXPORT_COLUMNS = ("trade_date", "customer_no", *INDICATORS, "avg_assets_20d")
AVG_ASSETS_DAYS = 20
BASE_CURRENCY = "CNY"
SNAPSHOT_TABLES = (
    "closes",
    "accounts",
    "positions",
    "account_indicators",
    "customer_indicators",
    "reconciliation",
    "dq_warnings",
)
#: Flow tables a day step reads (customers are not needed by the indicators).
FLOW_TABLES = (
    "fund_accounts",
    "securities",
    "quotes",
    "trades",
    "cash_flows",
    "security_transfers",
    "freezes",
    "positions",
    "margin_debts",
)


# --- layout ---------------------------------------------------------------------------------------


def flows_root(data_dir: Path) -> Path:
    return Path(data_dir) / "warehouse" / "flows"


def flow_files(data_dir: Path, table: str, day: date) -> list[Path]:
    """The day's files of one flow table, one per counter that delivered the day."""
    folder = flows_root(data_dir) / table
    return sorted(folder.glob(f"counter=*/trade_date={day.isoformat()}/part-0.parquet"))


def snapshot_file(state_dir: Path, table: str, day: date) -> Path:
    return Path(state_dir) / table / f"trade_date={day.isoformat()}" / "part-0.parquet"


def published_version(data_dir: Path) -> Path:
    """The pipeline's published snapshot folder (runner.py: ``snapshots/CURRENT``)."""
    snapshots = Path(data_dir) / "warehouse" / "snapshots"
    name = (snapshots / "CURRENT").read_text(encoding="utf-8").strip()
    return snapshots / "versions" / name


@dataclass(frozen=True)
class DayContext:
    """What a one-day step needs to know besides the files (all derived from the flow folders)."""

    day: date
    previous_day: date | None
    #: Earlier trading days of the 20-day window ending d (avg_assets_20d), oldest first.
    history_days: tuple[date, ...]
    #: Counters whose first delivered day is d (their positions file opens Q and H).
    opening_counters: tuple[str, ...]


def calendar(data_dir: Path) -> tuple[list[date], dict[str, date]]:
    """Trading days (union of every counter's day folders) and each counter's initial day."""
    days_of: dict[str, set[date]] = {}
    for path in (flows_root(data_dir) / "trades").glob("counter=*/trade_date=*"):
        counter = path.parent.name.split("=", 1)[1]
        days_of.setdefault(counter, set()).add(date.fromisoformat(path.name.split("=", 1)[1]))
    days = sorted({d for ds in days_of.values() for d in ds})
    return days, {c: min(ds) for c, ds in days_of.items()}


def day_context(data_dir: Path, day: date) -> DayContext:
    days, initial = calendar(data_dir)
    i = days.index(day)
    return DayContext(
        day=day,
        previous_day=days[i - 1] if i > 0 else None,
        history_days=tuple(days[max(0, i - AVG_ASSETS_DAYS + 1) : i]),
        opening_counters=tuple(sorted(c for c, first in initial.items() if first == day)),
    )


# --- the output contract (exports.export_indicators) -------------------------------------------


def export_customer_csv(customer_indicators: Path, out: Path) -> int:
    """A reference's customer_indicators Parquet written like ``export_indicators`` writes the
    pipeline's (COUNTERS.md, "Output contract"), so that the two files compare line by line.

    Vectorized with Arrow: half-up (away from zero, ``half_towards_infinity``) to 8 places, then
    to the cent — the rule of ``exports.to_cents`` — on the exact decimals.
    """
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    table = pq.read_table(customer_indicators).sort_by("customer_no")
    columns = {
        "trade_date": table["trade_date"].cast(pa.string()),
        "customer_no": table["customer_no"],
    }
    for name in EXPORT_COLUMNS[2:]:
        col = table[name]
        if name == "trade_count":
            columns[name] = col.cast(pa.string())
            continue
        cents = pc.round(pc.round(col, 8, round_mode="half_towards_infinity"), 2, round_mode="half_towards_infinity")
        columns[name] = cents.cast(pa.decimal128(38, 2)).cast(pa.string())
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as fh:
        fh.write((",".join(EXPORT_COLUMNS) + "\n").encode())
        pcsv.write_csv(
            pa.table(columns),
            fh,
            write_options=pcsv.WriteOptions(include_header=False, quoting_style="none", eol="\n"),
        )
    return table.num_rows


@dataclass
class Comparison:
    rows_a: int
    rows_b: int
    differing_rows: int
    #: column → number of rows where it differs
    columns: dict[str, int]
    examples: list[str]

    @property
    def same(self) -> bool:
        return self.rows_a == self.rows_b and self.differing_rows == 0

    def summary(self) -> str:
        if self.same:
            return f"identical ({self.rows_a} customers, every column to the cent)"
        cols = ", ".join(f"{k}: {v}" for k, v in sorted(self.columns.items()))
        return (
            f"DIFFERENT: rows {self.rows_a} vs {self.rows_b}, {self.differing_rows} rows differ"
            f" ({cols}); e.g. {self.examples[:3]}"
        )


def compare_csv(a: Path, b: Path) -> Comparison:
    """Compare two indicator exports cell by cell, keyed by customer_no (byte-identical files,
    the usual case, are recognised without parsing)."""
    import filecmp

    if filecmp.cmp(a, b, shallow=False):
        with open(a, "rb") as fh:
            rows = sum(1 for _ in fh) - 1
        return Comparison(rows, rows, 0, {}, [])

    def load(path: Path) -> tuple[list[str], dict[str, list[str]]]:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            return header, {row[1]: row for row in reader}

    ha, ra = load(a)
    hb, rb = load(b)
    if ha != hb:
        return Comparison(len(ra), len(rb), len(ra), {"<header>": 1}, [f"{ha} vs {hb}"])
    columns: dict[str, int] = {}
    examples: list[str] = []
    differing = 0
    for key in ra.keys() | rb.keys():
        x, y = ra.get(key), rb.get(key)
        if x == y:
            continue
        differing += 1
        if x is None or y is None:
            columns["<missing row>"] = columns.get("<missing row>", 0) + 1
            continue
        for name, u, v in zip(ha, x, y):
            if u != v:
                columns[name] = columns.get(name, 0) + 1
                if len(examples) < 10:
                    examples.append(f"{key}.{name}: {u} vs {v}")
    return Comparison(len(ra), len(rb), differing, columns, examples)


def count_rows(state_dir: Path, table: str, day: date) -> int:
    path = snapshot_file(state_dir, table, day)
    return pq.ParquetFile(path).metadata.num_rows if path.exists() else -1


def read_snapshot(state_dir: Path, table: str, day: date) -> pa.Table | None:
    path = snapshot_file(state_dir, table, day)
    return pq.read_table(path) if path.exists() else None


# --- memory ---------------------------------------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Peak resident memory of this process while the block runs (a 20 ms sampler thread, no
    psutil), next to ``ru_maxrss`` (the process's high-water mark since it started)."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.baseline = 0
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            time.sleep(self.interval)

    def __enter__(self) -> PeakRSS:
        self.baseline = self.peak = _rss_bytes()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @staticmethod
    def maxrss() -> int:
        """``getrusage(RUSAGE_SELF).ru_maxrss`` in bytes (Linux reports KiB)."""
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
