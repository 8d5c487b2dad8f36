"""A published warehouse version written by hand, for the segment builder's tests: the latest
day's ``customers``, ``customer_indicators``, ``segments`` and ``tags`` snapshots of the
customers of ``brokercrm.testing.build_world`` (laid out like ``datacenter.runner``)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa

from brokercrm.datacenter import runner

DAY = date(2026, 4, 30)

#: customer_no → (branch, birth date, total assets, tier, ABCD, tags); 10000004 has no tier yet
CUSTOMERS = {
    "10000001": ("0101", date(1960, 5, 1), "2000000.00", "gold", "A", ("asset_1m_2m", "age_60_69")),
    "10000002": ("0101", date(1990, 1, 1), "300000.00", "silver", "B", ("asset_100k_500k",)),
    "10000003": ("0101", date(1985, 6, 30), "800000.00", "silver", "C", ("asset_500k_1m", "gender_female")),
    "10000004": ("0101", None, "0.00", None, None, ("asset_zero", "age_unknown")),
    "10000005": ("0102", date(1950, 1, 1), "12000000.00", "diamond", "A", ("asset_10m_plus", "age_70_plus")),
}


def _table(schema_name: str, rows: list[dict]) -> pa.Table:
    schema = runner.SNAPSHOT_TABLES[schema_name]
    return pa.table({n: [r.get(n) for r in rows] for n in schema.names}, schema=schema.to_pyarrow())


def write_warehouse(
    data_dir: Path, *, customers: dict | None = None, version: str = "v000001", day: date = DAY
) -> Path:
    """Write a version of the customers (default :data:`CUSTOMERS`) and publish it (CURRENT)."""
    customers = CUSTOMERS if customers is None else customers
    folder = runner.snapshots_dir(data_dir) / "versions" / version
    folder.mkdir(parents=True, exist_ok=True)
    (folder / runner.MANIFEST).write_text(json.dumps({"days": [day.isoformat()]}), encoding="utf-8")
    base = {"trade_date": day}
    rows = {
        "customers": [
            {**base, "customer_no": no, "branch_code": branch, "birth_date": birth, "customer_type": "individual",
             "status": "normal", "gender": "female" if "gender_female" in tags else "male", "risk_level": "C3",
             "investor_class": "ordinary"}
            for no, (branch, birth, _assets, _tier, _cls, tags) in customers.items()
        ],
        "customer_indicators": [
            {**base, "customer_no": no, "total_assets": D(assets), "net_assets": D(assets), "trade_count": 1}
            for no, (_b, _birth, assets, *_rest) in customers.items()
        ],
        "segments": [
            {**base, "customer_no": no, "branch_code": branch, "tier": tier, "abcd_class": cls,
             "contribution": D("100"), "turnover": D("1.5"), "net_commission_12m": D("50")}
            for no, (branch, _birth, _assets, tier, cls, _tags) in customers.items()
            if tier is not None
        ],
        "tags": [{**base, "customer_no": no, "tag_code": t} for no, (*_rest, tags) in customers.items() for t in tags],
    }  # fmt: skip
    for table, table_rows in rows.items():
        runner._write(_table(table, table_rows), runner._partition(folder, table, day), runner.SNAPSHOT_TABLES[table])
    (runner.snapshots_dir(data_dir) / runner.CURRENT).write_text(version + "\n", encoding="utf-8")
    return folder
