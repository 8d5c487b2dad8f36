"""Spark parity: the pipeline gives exactly the same results on Apache Spark (local) as on DuckDB.

``pipeline.py`` holds the rules once, as Ibis expressions; ``runner.connect`` picks the engine.
This module proves the single source holds: the same warehouse computed on both engines gives the
same published snapshots (every table, every day, at 10 decimal places — the segmentation and
the tags included) and byte-identical
exports (``export_indicators`` for every day, ``export_reconciliation``), which also match the
independently worked ``examples/sample/expected``.

Two data sets: the worked example (22 days, two counters, no reconciliation break) and the
hand-worked traps of ``test_indicators_traps`` (4 days with a weekend and a holiday, a counter
starting later, oversell / position / cash breaks and every data-quality warning), so that the
reconciliation export compared here is not only headers.

Without pyspark or Java the module is skipped; with ``BROKERCRM_REQUIRE_SPARK=1`` (CI) it fails
instead. One SparkSession serves the module: it is started through ``runner.connect("spark")``
(the configuration a pipeline run uses), ``pipeline_run`` gets it back from ``getOrCreate``, and
it is stopped at the end.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from brokercrm.datacenter import runner
from brokercrm.datacenter.exports import export_indicators, export_pools, export_reconciliation
from brokercrm.datacenter.ingest import ingest

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    # Ibis reads Spark results through pandas; under pandas 3 pyspark and Ibis warn about their
    # own use of deprecated pandas options (thousands of times per run), nothing of ours.
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated"),
]

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "sample"
REQUIRE_SPARK = os.environ.get("BROKERCRM_REQUIRE_SPARK") == "1"


def _spark_missing() -> str | None:
    """Why Spark cannot run here (pyspark or Java missing), or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (install the extra: uv pip install -e '.[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        java = Path(java_home) / "bin" / "java"
        if not java.exists():
            return f"JAVA_HOME={java_home} has no bin/java (unset it to use java on PATH)"
    elif shutil.which("java") is None:
        return "java is not on PATH (Spark needs a JDK 17 or 21)"
    return None


@pytest.fixture(scope="module")
def spark():
    """The module's one local SparkSession, stopped at the end."""
    missing = _spark_missing()
    if missing is not None:
        if REQUIRE_SPARK:
            pytest.fail(f"BROKERCRM_REQUIRE_SPARK=1 but Spark cannot run: {missing}", pytrace=False)
        pytest.skip(missing)
    from pyspark.sql import SparkSession

    runner.connect("spark")
    session = SparkSession.getActiveSession()
    assert session is not None
    yield session
    session.stop()


def _run_both(data_dir: Path, spark) -> tuple[Path, Path, runner.PipelineResult, runner.PipelineResult]:
    """Copy the ingested ``data_dir`` twice and compute one copy per engine."""
    from pyspark.sql import SparkSession

    duck, sparked = data_dir.with_name(data_dir.name + "-duckdb"), data_dir.with_name(data_dir.name + "-spark")
    shutil.copytree(data_dir, duck)
    shutil.copytree(data_dir, sparked)
    on_duckdb = runner.pipeline_run(data_dir=duck, engine="duckdb")
    on_spark = runner.pipeline_run(data_dir=sparked, engine="spark")
    # The run used the module's session rather than starting one of its own.
    assert SparkSession.getActiveSession() is spark
    return duck, sparked, on_duckdb, on_spark


def _differences(duck: Path, sparked: Path, days: list[date], out: Path) -> list[str]:
    """Every difference between the two engines' snapshots and exports, as readable lines."""
    found: list[str] = []
    on_duckdb, on_spark = runner.computed_days(data_dir=duck), runner.computed_days(data_dir=sparked)
    if on_duckdb != on_spark:
        found.append(f"computed days: duckdb {on_duckdb} spark {on_spark}")
    version_d, version_s = runner.current_version(duck), runner.current_version(sparked)
    files = sorted(p.relative_to(version_d) for p in version_d.rglob("*.parquet"))
    spark_files = sorted(p.relative_to(version_s) for p in version_s.rglob("*.parquet"))
    if files != spark_files:
        found.append(f"snapshot files differ: {sorted(set(files) ^ set(spark_files))}")
    for rel in files:
        if not (version_s / rel).exists():
            continue
        a, b = pq.read_table(version_d / rel), pq.read_table(version_s / rel)
        if a.schema != b.schema:
            found.append(f"{rel}: schema duckdb {a.schema} spark {b.schema}")
        elif not a.equals(b):
            x, y = a.to_pylist(), b.to_pylist()
            rows = [(i, r, s) for i, (r, s) in enumerate(zip(x, y)) if r != s][:3]
            found.append(f"{rel}: {len(x)} vs {len(y)} rows, first differing rows {rows}")
    out.mkdir(parents=True, exist_ok=True)
    for day in days:
        for kind, export in (
            ("indicators", export_indicators),
            ("reconciliation", export_reconciliation),
            ("pools", export_pools),
        ):
            d_file, s_file = out / f"{kind}-{day}-duckdb.csv", out / f"{kind}-{day}-spark.csv"
            export(data_dir=duck, day=day, out=d_file)
            export(data_dir=sparked, day=day, out=s_file)
            if d_file.read_bytes() != s_file.read_bytes():
                d_lines = d_file.read_text(encoding="utf-8").splitlines()
                s_lines = s_file.read_text(encoding="utf-8").splitlines()
                diff = [(d, s) for d, s in zip(d_lines, s_lines) if d != s][:3]
                found.append(f"{kind} {day}: {len(d_lines)} vs {len(s_lines)} lines, e.g. {diff}")
    return found


def test_sample_brokerage_is_identical_on_spark_and_duckdb(spark, tmp_path):
    data_dir = tmp_path / "data"
    for counter in ("hundsun", "apex"):
        assert ingest(counter, SAMPLE / "exports" / counter, data_dir=data_dir).ok
    duck, sparked, on_duckdb, on_spark = _run_both(data_dir, spark)

    expected_files = sorted((SAMPLE / "expected").glob("indicators-*.csv"))
    days = [date.fromisoformat(p.stem.removeprefix("indicators-")) for p in expected_files]
    assert len(days) == 22
    assert list(on_spark.computed) == list(on_duckdb.computed) == days
    assert (on_spark.breaks, on_spark.warnings, dict(on_spark.rows)) == (
        on_duckdb.breaks,
        on_duckdb.warnings,
        dict(on_duckdb.rows),
    )

    out = tmp_path / "exports"
    assert _differences(duck, sparked, days, out) == []
    # And both are the independently worked figures (the expected files end lines with CRLF).
    for path, day in zip(expected_files, days):
        got = (out / f"indicators-{day}-spark.csv").read_text(encoding="utf-8").splitlines()
        assert got == path.read_text(encoding="utf-8").splitlines(), day
    last = days[-1]
    assert (out / f"pools-{last}-spark.csv").read_bytes() == (SAMPLE / "expected" / f"pools-{last}.csv").read_bytes()
    # The segment and tag stages are among the snapshots compared above (every table, every day);
    # their export is byte-identical too, and tier and class are the worked ones.
    from brokercrm.segments.exports import export_segments

    version = runner.current_version(sparked)
    for table in ("segments", "tier_state", "abcd_sums", "tags"):
        assert (version / table / f"trade_date={last}" / "part-0.parquet").exists(), table
    export_segments(data_dir=duck, day=last, out=out / "segments-duckdb.csv")
    export_segments(data_dir=sparked, day=last, out=out / "segments-spark.csv")
    assert (out / "segments-spark.csv").read_bytes() == (out / "segments-duckdb.csv").read_bytes()
    got = [line.split(",")[:3] for line in (out / "segments-spark.csv").read_text(encoding="utf-8").splitlines()]
    expected = [line.split(",") for line in (SAMPLE / "expected" / f"segments-{last}.csv").read_text(encoding="utf-8").splitlines()]
    assert got[1:] == expected[1:]
    assert all(line.split(",")[3] for line in (out / "segments-spark.csv").read_text(encoding="utf-8").splitlines()[1:])


def test_traps_with_breaks_and_warnings_are_identical_on_spark_and_duckdb(spark, tmp_path):
    from brokercrm.datacenter.tests.test_indicators_traps import DAYS, _book

    data_dir = tmp_path / "data"
    _book().publish(data_dir)
    duck, sparked, on_duckdb, on_spark = _run_both(data_dir, spark)

    assert list(on_spark.computed) == list(on_duckdb.computed) == list(DAYS)
    # The comparison below covers real breaks and warnings, not only empty files.
    assert on_duckdb.breaks >= 3 and on_duckdb.warnings > 0
    assert (on_spark.breaks, on_spark.warnings, dict(on_spark.rows)) == (
        on_duckdb.breaks,
        on_duckdb.warnings,
        dict(on_duckdb.rows),
    )
    assert _differences(duck, sparked, list(DAYS), tmp_path / "exports") == []


def test_pools_month_ends_and_crm_facts_are_identical_on_spark_and_duckdb(spark, tmp_path):
    """Months added to a date at the end of a month (08-31 + 6 → 02-28), 24 months over a leap
    day, CRM facts newer and older than the counter's, and a CRM fact recorded after a run."""
    import pyarrow as pa

    from brokercrm.datacenter import warehouse
    from brokercrm.datacenter.schema import CRM_ASSESSMENTS_SCHEMA, CRM_KNOWLEDGE_TESTS_SCHEMA
    from brokercrm.datacenter.tests.builders import Book

    days = [date(2026, 2, 26), date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 2)]
    b = Book()
    opened = {"M0831": date(2025, 8, 31), "M0828": date(2025, 8, 28), "M0901": date(2025, 9, 1)}
    for number, open_date in opened.items():
        b.customer(days[0], number, open_date=open_date, risk_level="C4", risk_expiry=date(2026, 2, 28),
                   first_trade_date=date(2024, 2, 29))
        b.account(days[0], f"N{number}", number).cash(days[0], f"N{number}", "600000.00", "600000.00")
        b.account(days[0], f"K{number}", number, account_type="credit", open_date=open_date)
    b.customer(days[1], "M0901", open_date=opened["M0901"], risk_level="C3", risk_expiry=date(2027, 1, 1),
               first_trade_date=None)
    for d in days:
        b.day(d)
    data_dir = tmp_path / "data"
    b.publish(data_dir)
    folder = warehouse.crm_facts_path(data_dir)
    folder.mkdir(parents=True)
    assessments = [
        {"customer_no": "M0828", "assessed_on": date(2026, 2, 27), "risk_level": "C5",
         "risk_expiry": date(2028, 1, 1), "invest_horizon": "long", "invest_varieties": "equity"},
        {"customer_no": "M0901", "assessed_on": date(2026, 2, 26), "risk_level": "C5",
         "risk_expiry": date(2028, 1, 1), "invest_horizon": "long", "invest_varieties": "equity"},
    ]
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(assessments, schema=CRM_ASSESSMENTS_SCHEMA), folder / "assessments.parquet")
    duck, sparked, on_duckdb, on_spark = _run_both(data_dir, spark)
    assert list(on_spark.computed) == list(on_duckdb.computed) == days
    assert _differences(duck, sparked, days, tmp_path / "exports") == []
    pools = (tmp_path / "exports" / "pools-2026-02-28-spark.csv").read_text(encoding="utf-8").splitlines()
    assert "M0831,options,no,insufficient_history;knowledge_test" in pools  # 6 months complete on 02-28
    assert "M0901,options,no,account_age;insufficient_history;knowledge_test" in pools
    # a knowledge test recorded after the run recomputes the pools of the days it counts on
    tests = [{"customer_no": "M0831", "test": "options", "passed_on": date(2026, 2, 27)}]
    for root in (duck, sparked):
        pq.write_table(
            pa.Table.from_pylist(tests, schema=CRM_KNOWLEDGE_TESTS_SCHEMA),
            warehouse.crm_facts_path(root) / "knowledge_tests.parquet",
        )
    again_duckdb = runner.pipeline_run(data_dir=duck, engine="duckdb")
    again_spark = runner.pipeline_run(data_dir=sparked, engine="spark")
    assert again_spark.pools_recomputed == again_duckdb.pools_recomputed == tuple(days[1:])
    assert _differences(duck, sparked, days, tmp_path / "exports-again") == []
