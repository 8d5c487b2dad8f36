"""Tags compute identically on Spark and DuckDB: the feature table and every built-in tag.

The hand-built brokerage of ``world.py`` goes to both engines (Parquet files read with their
schema on Spark, as the runner does); the feature tables must be equal value for value and the
tags row for row. A few extra rules exercise the language's exact division, date functions and
text on both. Skipped without pyspark or Java, failing instead with ``BROKERCRM_REQUIRE_SPARK=1``.
"""

from __future__ import annotations

import os
import uuid

import ibis
import pyarrow.parquet as pq
import pytest

from brokercrm.datacenter import runner
from brokercrm.datacenter.tests.test_spark_parity import _spark_missing
from brokercrm.tagengine.catalogue import compute_tags, compute_tags_wide, load_catalogue
from brokercrm.tagengine.features import feature_table
from brokercrm.tagengine.tests import world

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
    pytest.mark.filterwarnings("ignore:The 'future.infer_string' option is deprecated"),
]

#: Rules beyond the catalogue, for the language's trickier constructs.
EXTRA = [
    {"code": "x_ratio", "rule": "cash_balance / total_assets >= 0.48 and cash_balance / total_assets <= 0.55"},
    {"code": "x_nested", "rule": "(net_assets - cash_balance) / (debt - 1000000) < 0"},
    {"code": "x_months", "rule": "months_since(open_date) = 36 or days_until(risk_expiry) between 0 and 30"},
    {"code": "x_minmax", "rule": "max(age, 30) >= 40 or min(credit_debt / credit_assets, 1) < 0.8"},
    {"code": "x_text", "rule": "coalesce(top_industry, '无') in ('无', '银行') and not preferred_channel is null or gender is null"},
]


@pytest.fixture(scope="module")
def spark():
    missing = _spark_missing()
    if missing is not None:
        if os.environ.get("BROKERCRM_REQUIRE_SPARK") == "1":
            pytest.fail(f"BROKERCRM_REQUIRE_SPARK=1 but Spark cannot run: {missing}", pytrace=False)
        pytest.skip(missing)
    from pyspark.sql import SparkSession

    con = runner.connect("spark")
    # Five customers: Spark's default of 200 shuffle partitions is all overhead here.
    previous = con._session.conf.get("spark.sql.shuffle.partitions")
    con._session.conf.set("spark.sql.shuffle.partitions", "2")
    yield con
    con._session.conf.set("spark.sql.shuffle.partitions", previous)
    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


def _spark_tables(con, folder) -> dict:
    from ibis.backends.pyspark.datatypes import PySparkSchema

    tables = {}
    for name, arrow in world.inputs().items():
        path = folder / f"{name}.parquet"
        pq.write_table(arrow, path)
        view = f"tagengine_{name}_{uuid.uuid4().hex}"
        schema = PySparkSchema.from_ibis(ibis.Schema.from_pyarrow(arrow.schema))
        con._session.read.schema(schema).parquet(str(path)).createOrReplaceTempView(view)
        tables[name] = con.table(view)
    return tables


def _rows(con, table, key) -> list[dict]:
    return sorted(con.to_pyarrow(table).to_pylist(), key=lambda r: tuple(r[k] for k in key))


def test_features_and_tags_are_identical_on_spark_and_duckdb(spark, tmp_path):
    catalogue = load_catalogue(
        extra=[
            {**e, "name_zh": e["code"], "name_en": e["code"] + " (en)", "category": "basic", "description": "parity"}
            for e in EXTRA
        ]
    )
    duck = ibis.duckdb.connect()
    results = {}
    for engine, con, tables in (
        ("duckdb", duck, {k: ibis.memtable(v) for k, v in world.inputs().items()}),
        ("spark", spark, _spark_tables(spark, tmp_path)),
    ):
        features = feature_table(day=world.D, trading_days=world.CALENDAR, **tables)
        if engine == "spark":
            # Computed once: the three results below read it (DuckDB is fast enough without).
            features = features.cache()
        results[engine] = {
            "features": _rows(con, features, ["customer_no"]),
            "tags": _rows(con, compute_tags(features, catalogue, day=world.D), ["customer_no", "tag_code"]),
            "extra": _rows(
                con,
                compute_tags_wide(features, catalogue, day=world.D, codes=[e["code"] for e in EXTRA]),
                ["customer_no"],
            ),
        }
    on_duckdb, on_spark = results["duckdb"], results["spark"]
    assert len(on_duckdb["features"]) == 5
    for mine, theirs in zip(on_duckdb["features"], on_spark["features"]):
        differing = {k: (v, theirs[k]) for k, v in mine.items() if theirs.get(k) != v}
        assert differing == {}, mine["customer_no"]
    assert on_spark["tags"] == on_duckdb["tags"]
    assert on_spark["extra"] == on_duckdb["extra"]
    # The extra rules do select someone (a parity of all-false would prove little).
    for code in (e["code"] for e in EXTRA):
        assert any(row[code] for row in on_duckdb["extra"]), code
