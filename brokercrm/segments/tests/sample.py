"""The worked example (examples/sample) through ingest, the indicator pipeline and then the
segmentation stage day by day, the way the runner will run it: the previous day's state in, the
day's snapshots out, written beside the indicator snapshots of the published version."""

from __future__ import annotations

from pathlib import Path

from brokercrm.datacenter import runner, warehouse
from brokercrm.datacenter.ingest import ingest
from brokercrm.segments import pipeline as sp
from brokercrm.segments.stage import branches_from_customers, compute_segments_day

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "sample"


def ingest_sample(data_dir: Path, *, engine: str = "duckdb") -> None:
    for counter in ("hundsun", "apex"):
        assert ingest(counter, SAMPLE / "exports" / counter, data_dir=data_dir).ok
    runner.pipeline_run(data_dir=data_dir, engine=engine)


def compute_segments(data_dir: Path, con, thresholds=sp.DEFAULT_TIER_THRESHOLDS) -> list:
    """Compute and write every segmentation snapshot of every computed day; return the days."""
    days = runner.computed_days(data_dir=data_dir)
    version = runner.current_version(data_dir)
    state = {"tier_state": None, "commission_months": None, "abcd_sums": None}
    for day in days:
        leaving_day = sp.abcd_leaving_day(days, day)
        out = compute_segments_day(
            con=con,
            day=day,
            calendar=days,
            customer_indicators=runner.read_snapshot(data_dir=data_dir, table="customer_indicators", day=day),
            accounts=runner.read_snapshot(data_dir=data_dir, table="accounts", day=day),
            cash_flows=warehouse.read_flows(data_dir, "cash_flows", start=day, end=day),
            branches=branches_from_customers(warehouse.read_flows(data_dir, "customers", end=day)),
            leaving=runner.read_snapshot(data_dir=data_dir, table="abcd_daily", day=leaving_day) if leaving_day else None,
            thresholds=thresholds,
            **state,
        )
        for table, arrow in out.items():
            runner._write(arrow, runner._partition(version, table, day), sp.SEGMENT_SCHEMAS[table])
        state = {name: out[name] for name in state}
    return days
