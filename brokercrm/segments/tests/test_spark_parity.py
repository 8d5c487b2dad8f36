"""Spark parity: tiers and ABCD classes compute identically on Apache Spark (local) and DuckDB.

The worked example's segmentation snapshots (every table, every day) are computed on both
engines from the same indicator snapshots and compared byte for byte in value; then the
hand-worked median and turnover cases of ``test_abcd`` run on Spark, whose decimal products are
sized differently from DuckDB's (the turnover's exact division depends on it).

Skipped without pyspark or Java, failed instead with ``BROKERCRM_REQUIRE_SPARK=1`` (CI): the
``spark`` fixture of the data center's parity test.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from brokercrm.datacenter import runner
from brokercrm.datacenter.tests.test_spark_parity import spark  # noqa: F401  (the module's session)
from brokercrm.segments import pipeline as sp
from brokercrm.segments.tests.sample import compute_segments, ingest_sample

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated"),
]


def test_sample_segments_are_identical_on_spark_and_duckdb(spark, tmp_path):  # noqa: F811
    data_dir = tmp_path / "data"
    ingest_sample(data_dir)
    duck, sparked = tmp_path / "duckdb", tmp_path / "spark"
    shutil.copytree(data_dir, duck)
    shutil.copytree(data_dir, sparked)
    days = compute_segments(duck, runner.connect("duckdb"))
    assert compute_segments(sparked, runner.connect("spark")) == days
    differences = []
    for table in sp.SEGMENT_SCHEMAS:
        for day in days:
            a = pq.read_table(runner._partition(runner.current_version(duck), table, day))
            b = pq.read_table(runner._partition(runner.current_version(sparked), table, day))
            if not a.equals(b):
                differences.append((table, day, a.to_pylist()[:2], b.to_pylist()[:2]))
    assert differences == []


def test_medians_and_exact_turnover_are_identical_on_spark(spark):  # noqa: F811
    from brokercrm.datacenter.runner import _Tables
    from brokercrm.segments.tests.test_abcd import DAY, _branches, _present, _sums

    rows = [
        ("c10", 1, "10", "0", "100", "100"),
        ("c20a", 1, "20", "0", "200", "100"),
        ("c20b", 1, "15", "5", "300", "100"),
        ("e10", 1, "10", "0", "300", "100"),
        ("e20", 1, "20", "0", "250", "100"),
        ("x", 3, "0", "0", "100", "7"),
        ("h", 1, "0", "0", "1", "2048"),
        ("z", 2, "0", "0", "5000", "0"),
        ("big", 250, "987654.32", "12.5", "987654321.98", "3086419725.3000"),
    ]
    branches = {r[0]: ("0101" if i % 2 else "0102") for i, r in enumerate(rows)}
    results = []
    for engine in ("duckdb", "spark"):
        con = runner.connect(engine)
        with tempfile.TemporaryDirectory() as folder:
            tables = _Tables(con, None if engine == "duckdb" else Path(folder))
            expr = sp.abcd_class(
                sums=tables(_sums(rows)),
                customer_indicators=tables(_present(r[0] for r in rows)),
                branches=tables(_branches(branches)),
                day=DAY,
            ).order_by("customer_no")
            results.append(con.to_pyarrow(expr).to_pylist())
            tables.release()
    assert results[0] == results[1]
