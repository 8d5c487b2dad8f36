"""Benchmark of the segment builder: a five-condition audience (count + first page of 50) at 1M
customers × 200 tags, through the real code path, against a hand-written DuckDB SQL reference.

    .venv/bin/python bench/segments.py [--customers 1000000] [--tags 200] [--repeat 15] [--keep DIR]

Prepared, not timed: a synthetic published warehouse version (Parquet, laid out like
``runner.py``: ``customers``, ``customer_indicators``, ``segments`` and the long ``tags`` snapshot
of one day, ~40 tags per customer, tag codes from the built-in catalogue), then the audience base
(``segments.audience.audience_base_build``, timed once and reported: it runs once per pipeline
run, after the publish).

Timed, median of ``--repeat`` runs (``--ref-repeat`` for the reference: seconds a run), interleaved: what a builder request does after parsing —
``definition_validate`` against the catalogue, ``audience_evaluate`` (count + first 50 by customer
number) on the cached engine — for three scopes (head office: every branch; one branch; an
account manager's 300 customers). The reference computes the same count and page with one
hand-written DuckDB SQL per query over the raw snapshots (the long tags as semi-joins), on a
connection kept open like the engine; the two answers are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")

DAY = date(2026, 4, 30)
VERSION = "v000001"
BRANCHES = 40
TARGET_MS = 200.0


def prepare(data_dir: Path, customers: int, n_tags: int) -> list[str]:
    """Write the synthetic published version; return the tag codes used."""
    import duckdb

    from brokercrm.tagengine.catalogue import BUILTIN_TAGS, load_catalogue

    codes = list(load_catalogue(BUILTIN_TAGS).codes)[:n_tags]
    if len(codes) < n_tags:
        codes += [f"bench_tag_{i:03d}" for i in range(n_tags - len(codes))]
    version = data_dir / "warehouse" / "snapshots" / "versions" / VERSION
    marker = version / "bench.json"
    spec = {"customers": customers, "tags": n_tags}
    if marker.exists() and json.loads(marker.read_text()) == spec:
        return codes
    version.mkdir(parents=True, exist_ok=True)
    (version / "manifest.json").write_text(json.dumps({"days": [DAY.isoformat()]}))
    (data_dir / "warehouse" / "snapshots" / "CURRENT").write_text(VERSION + "\n")

    def out(table: str) -> str:
        path = version / table / f"trade_date={DAY.isoformat()}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"CREATE TEMP TABLE c AS SELECT i, printf('%010d', i) AS customer_no FROM range({customers}) r(i)")
    con.execute(
        f"""COPY (SELECT DATE '{DAY}' AS trade_date, customer_no, 'hundsun' AS counter,
                 CASE WHEN i % 50 = 0 THEN 'institution' ELSE 'individual' END AS customer_type,
                 printf('%04d', 101 + i % {BRANCHES}) AS branch_code,
                 DATE '1940-01-01' + CAST(hash(i, 1) % 25000 AS INTEGER) AS birth_date,
                 CASE WHEN i % 2 = 0 THEN 'male' ELSE 'female' END AS gender,
                 CASE WHEN i % 97 = 0 THEN 'frozen' ELSE 'normal' END AS status,
                 'C' || CAST(1 + hash(i, 2) % 5 AS VARCHAR) AS risk_level,
                 'ordinary' AS investor_class
             FROM c ORDER BY customer_no) TO '{out("customers")}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    money = ", ".join(
        f"CAST((hash(i, {k}) % 200000000) / 100.0 AS DECIMAL(38, 10)) AS {name}"
        for k, name in enumerate(
            ("total_assets", "net_assets", "avg_assets_20d", "cash_balance", "stock_value", "fund_value",
             "bond_value", "debt", "trade_amount", "commission", "net_commission", "realized_pnl"), start=10)
    )  # fmt: skip
    con.execute(
        f"""COPY (SELECT DATE '{DAY}' AS trade_date, customer_no, {money},
                 CAST(hash(i, 30) % 20 AS BIGINT) AS trade_count
             FROM c ORDER BY customer_no) TO '{out("customer_indicators")}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    con.execute(
        f"""COPY (SELECT DATE '{DAY}' AS trade_date, customer_no, printf('%04d', 101 + i % {BRANCHES}) AS branch_code,
                 ['standard', 'standard', 'standard', 'silver', 'silver', 'gold', 'diamond'][CAST(1 + hash(i, 40) % 7 AS BIGINT)] AS tier,
                 ['A', 'B', 'C', 'D'][CAST(1 + hash(i, 41) % 4 AS BIGINT)] AS abcd_class,
                 CAST((hash(i, 42) % 5000000) / 100.0 AS DECIMAL(38, 10)) AS net_commission_12m,
                 CAST((hash(i, 43) % 5000000) / 100.0 AS DECIMAL(38, 10)) AS contribution,
                 CAST((hash(i, 44) % 100000) / 1000.0 AS DECIMAL(38, 10)) AS turnover
             FROM c ORDER BY customer_no) TO '{out("segments")}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    # ~40 tags per customer: tag j is carried with probability (j % 20 + 1) / 52.5 (0.02 … 0.38)
    con.execute("CREATE TEMP TABLE t AS SELECT * FROM (SELECT UNNEST(?) AS tag_code, generate_subscripts(?, 1) - 1 AS j)", [codes, codes])
    con.execute(
        f"""COPY (SELECT DATE '{DAY}' AS trade_date, c.customer_no, t.tag_code
             FROM c CROSS JOIN t
             WHERE hash(c.i * 1000 + t.j) % 10500 < (t.j % 20 + 1) * 200
             ORDER BY c.customer_no, t.tag_code) TO '{out("tags")}' (FORMAT parquet, COMPRESSION zstd)"""
    )
    con.close()
    marker.write_text(json.dumps(spec))
    return codes


def definition(codes: list[str]) -> dict:
    """Five conditions: two tags (one of them OR'ed with the tier), assets, NOT a tag, an age range."""
    common, medium, rare = codes[19], codes[9], codes[4]
    return {
        "op": "and",
        "items": [
            {"tag": common},
            {"op": "or", "items": [{"tag": medium}, {"field": "tier", "cmp": "in", "value": ["gold", "diamond"]}]},
            {"field": "total_assets", "cmp": ">=", "value": "100000"},
            {"op": "not", "items": [{"tag": rare}]},
        ],
    }


def reference_sql(version: Path, definition_codes: tuple[str, str, str]) -> tuple[str, str]:
    """The same audience in hand-written DuckDB SQL over the raw snapshots (parameters: scope)."""
    common, medium, rare = definition_codes

    def path(table: str) -> str:
        return str(version / table / f"trade_date={DAY.isoformat()}" / "part-0.parquet")

    body = f"""
        FROM read_parquet('{path("customers")}') c
        LEFT JOIN read_parquet('{path("customer_indicators")}') ci USING (customer_no)
        LEFT JOIN read_parquet('{path("segments")}') s USING (customer_no)
        WHERE {{scope}}
          AND c.customer_no IN (SELECT customer_no FROM read_parquet('{path("tags")}') WHERE tag_code = '{common}')
          AND (c.customer_no IN (SELECT customer_no FROM read_parquet('{path("tags")}') WHERE tag_code = '{medium}')
               OR s.tier IN ('gold', 'diamond'))
          AND ci.total_assets >= 100000
          AND c.customer_no NOT IN (SELECT customer_no FROM read_parquet('{path("tags")}') WHERE tag_code = '{rare}')
    """
    count = f"SELECT count(*) {body}"
    page = f"SELECT c.customer_no, c.branch_code, s.tier, s.abcd_class, ci.total_assets {body} ORDER BY c.customer_no LIMIT 50"
    return count, page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--ref-repeat", type=int, default=3, help="timed runs of the (slow) reference")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (a prepared DIR is reused)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    import django

    django.setup()
    import duckdb

    from brokercrm.segments import audience as au
    from brokercrm.tagengine.catalogue import BUILTIN_TAGS, load_catalogue

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-segments-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    codes = prepare(work, args.customers, args.tags)
    print(f"prepared {args.customers:,} customers × {len(codes)} tags in {time.perf_counter() - started:.1f} s ({work})")
    version = work / "warehouse" / "snapshots" / "versions" / VERSION
    tag_rows = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{version}/tags/trade_date={DAY}/part-0.parquet')"
    ).fetchone()[0]
    print(f"tags snapshot: {tag_rows:,} rows ({tag_rows / args.customers:.1f} tags per customer)")

    import shutil

    shutil.rmtree(au.audience_dir(work), ignore_errors=True)
    started = time.perf_counter()
    base = au.audience_base_build(data_dir=work)
    build_s = time.perf_counter() - started
    print(f"audience base built in {build_s:.1f} s: {base.rows:,} rows, {base.path.stat().st_size / 2**20:.0f} MiB (DuckDB file)")
    started = time.perf_counter()
    engine = au.audience_engine(data_dir=work)
    print(f"engine opened in {(time.perf_counter() - started) * 1000:.0f} ms")

    known = load_catalogue(BUILTIN_TAGS).codes
    raw = definition(codes)
    chosen = (codes[19], codes[9], codes[4])
    branches = tuple(f"{101 + b:04d}" for b in range(BRANCHES))
    scopes = {
        "head office (all branches)": (au.AudienceScope(branch_codes=branches), f"c.branch_code IN ({', '.join(repr(b) for b in branches)})"),
        "one branch": (au.AudienceScope(branch_codes=(branches[0],)), f"c.branch_code = '{branches[0]}'"),
        "account manager (300 customers)": (
            au.AudienceScope(customer_nos=tuple(f"{i:010d}" for i in range(0, 300 * BRANCHES, BRANCHES))),
            "c.customer_no IN (SELECT customer_no FROM scope_customers)",
        ),
    }
    ref = duckdb.connect()
    ref.execute(
        "CREATE TEMP TABLE scope_customers AS SELECT printf('%010d', i) AS customer_no FROM range(0, ?, ?) r(i)",
        [300 * BRANCHES, BRANCHES],
    )
    count_sql, page_sql = reference_sql(version, chosen)

    def ours(scope: au.AudienceScope) -> au.AudienceResult:
        valid = au.definition_validate(raw, tags=known, branches=branches)
        return au.audience_evaluate(engine=engine, definition=valid, scope=scope)

    def reference(scope_sql: str) -> tuple[int, list[str]]:
        n = ref.execute(count_sql.format(scope=scope_sql)).fetchone()[0]
        rows = ref.execute(page_sql.format(scope=scope_sql)).fetchall()
        return n, [r[0] for r in rows]

    results = {}
    print(
        f"\n5-condition audience (count + first page of 50), median of {args.repeat} runs"
        f" ({args.ref_repeat} for the reference), after one warm-up each:"
    )
    print(f"{'scope':<34} {'members':>9} {'ours ms':>9} {'ref ms':>9} {'ratio':>7}  same answer")
    for name, (scope, scope_sql) in scopes.items():
        ours(scope)
        reference(scope_sql)
        mine, theirs = [], []
        for i in range(max(args.repeat, args.ref_repeat)):
            if i < args.repeat:
                t0 = time.perf_counter()
                result = ours(scope)
                mine.append((time.perf_counter() - t0) * 1000)
            if i < args.ref_repeat:
                t0 = time.perf_counter()
                n, first = reference(scope_sql)
                theirs.append((time.perf_counter() - t0) * 1000)
        same = result.count == n and [r["customer_no"] for r in result.rows] == first
        m, r = statistics.median(mine), statistics.median(theirs)
        results[name] = {"members": result.count, "ours_ms": round(m, 1), "reference_ms": round(r, 1), "same": same}
        print(f"{name:<34} {result.count:>9,} {m:>9.1f} {r:>9.1f} {m / r:>6.2f}×  {'yes' if same else 'NO'}")
    worst = max(v["ours_ms"] for v in results.values())
    print(f"\ntarget ≤ {TARGET_MS:.0f} ms: {'met' if worst <= TARGET_MS else 'NOT met'} (slowest scope {worst:.1f} ms);"
          f" load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    if args.json:
        args.json.write_text(
            json.dumps(
                {"customers": args.customers, "tags": len(codes), "tag_rows": tag_rows, "base_build_s": round(build_s, 1), "results": results},
                indent=2,
            )
        )
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
