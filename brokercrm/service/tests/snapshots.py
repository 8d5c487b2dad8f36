"""Hand-written warehouse snapshots for the data-driven rules: only the columns a rule reads, in
the published layout (``snapshots/CURRENT`` → a version with a manifest of days and one
``<table>/trade_date=<day>/part-0.parquet`` per day), so each case is a few rows worked by hand."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

MONEY = pa.decimal128(38, 10)
INDICATOR_COLUMNS = {
    "customer_no": pa.string(),
    "trade_date": pa.date32(),
    "bank_in": MONEY,
    "bank_out": MONEY,
    "securities_in_value": MONEY,
    "securities_out_value": MONEY,
    "total_assets": MONEY,
    "trade_count": pa.int64(),
}
ACCOUNT_COLUMNS = {
    "fund_account": pa.string(),
    "customer_no": pa.string(),
    "trade_date": pa.date32(),
    "account_type": pa.string(),
    "total_assets": MONEY,
    "debt": MONEY,
}


def _table(rows: list[dict], columns: dict[str, pa.DataType], day: date) -> pa.Table:
    defaults = {name: (Decimal(0) if kind == MONEY else 0) for name, kind in columns.items()}
    full = [defaults | {"trade_date": day} | {k: (Decimal(v) if columns[k] == MONEY else v) for k, v in r.items()} for r in rows]
    return pa.Table.from_pylist(full, schema=pa.schema(columns))


def write_snapshots(
    data_dir: Path,
    *,
    days: list[date],
    customers: dict[date, list[dict]] | None = None,
    accounts: dict[date, list[dict]] | None = None,
) -> None:
    """``customers``: day → customer_indicators rows; ``accounts``: day → account_indicators rows.
    Every day of ``days`` is computed (in the manifest); a day without rows has an empty file."""
    version = Path(data_dir) / "warehouse" / "snapshots" / "versions" / "v1"
    version.mkdir(parents=True, exist_ok=True)
    (version / "manifest.json").write_text(json.dumps({"days": {d.isoformat(): "x" for d in days}}), encoding="utf-8")
    (Path(data_dir) / "warehouse" / "snapshots" / "CURRENT").write_text("v1", encoding="utf-8")
    for table, by_day, columns in (
        ("customer_indicators", customers or {}, INDICATOR_COLUMNS),
        ("account_indicators", accounts or {}, ACCOUNT_COLUMNS),
    ):
        for d in days:
            folder = version / table / f"trade_date={d.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(_table(by_day.get(d, []), columns, d), folder / "part-0.parquet")
