"""Benchmark: the impact list of a market event (issue 6: an event touching 50 securities over 1M
customers and ≥ 5M positions in ≤ 500 ms), computed from the published warehouse version.

Prepared, not timed (``--keep DIR`` reuses a prepared folder):

- the database (SQLite by default): N customers over 10 branches and 200 account managers, with
  risk levels and investor classes, and a finished publication of the day (a folder prepared by
  the previous version of this benchmark, with its published holdings, is reused as it is);
- a published warehouse version holding that day's snapshots, written in ``datacenter.runner``'s
  layout: ``accounts`` (one fund account per customer, a second one for 1 in 10),
  ``positions`` (≥ 5M, 1–9 per customer, over ``--universe`` securities of Zipf-like
  popularity), ``closes``, ``customer_indicators`` (total assets = holdings + cash; 1 in 1,000
  customers at 0) and ``segments`` (a third of the customers tiered: silver, gold, diamond).

The event's securities are drawn at random from the universe (``--popular``: the most held ones,
the worst case). Timed, interleaved, ``--repeat`` times each:

- ``impact_compute`` — brokercrm's computation (``service.impact.impact_compute``): the DuckDB
  query over the snapshot files (``exposure_table``, also timed alone), then the affected
  customers' ids, account managers and risk profiles from the database, priorities and risk
  groups in Python;
- ``freeze`` — writing the list as ``EventImpact`` rows (``impact_freeze``, in a transaction,
  rolled back afterwards);
- ``event_create`` — the whole action a researcher waits for (each repeat's event is deleted
  afterwards, not timed);
- ``sql reference`` — one hand-written DuckDB statement over the same files (aggregate, joins,
  window-function rank, the priority in integer cents), fetched as tuples, on a fresh connection
  like the code path's.

After the timings the reference's (rank, customer, exposure, priority) rows are compared with the
code path's. Nothing is asserted about time; medians are compared with the target.

    .venv/bin/python bench/event_impact.py --keep /tmp/bench-event-1m    # 1M customers, 5M positions
    .venv/bin/python bench/event_impact.py --customers 100000 --positions 500000 --repeat 7
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
from decimal import Decimal
from pathlib import Path

import numpy as np

AS_OF = date(2026, 4, 22)
TARGET_SECONDS = 0.5
VERSION = "bench"


def _setup(root: Path) -> None:
    os.environ["BROKERCRM_DATA_DIR"] = str(root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from brokercrm.cli import setup

    setup()


def _insert(model, columns: list[str], rows, chunk: int = 100_000) -> None:
    """Bulk INSERT of tuples into a model's table, filling the other NOT NULL columns with defaults."""
    from django.db import connection, models, transaction
    from django.utils import timezone

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    extra = [f for f in fields if f.column not in columns and not f.null]

    def default(field):
        if field.has_default():
            value = field.get_default()
            return str(value) if not isinstance(value, (int, str)) else value
        if isinstance(field, (models.DateTimeField,)):
            return timezone.now().isoformat()
        if isinstance(field, (models.CharField, models.TextField)):
            return ""
        return 0

    tail = tuple(default(f) for f in extra)
    names = columns + [f.column for f in extra]
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
    with transaction.atomic(), connection.cursor() as cursor:
        batch = []
        for row in rows:
            batch.append(tuple(row) + tail)
            if len(batch) >= chunk:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)


def _prepare_database(*, customers: int, rng: np.random.Generator) -> None:
    """Customers (numbers 10,000,000 + i) with branches, account managers and risk profiles."""
    from brokercrm.customers.models import Customer
    from brokercrm.org.choices import NodeKind, Role
    from brokercrm.org.services import employee_create, org_node_create
    from django.utils import timezone

    hq = org_node_create(code="HQ", name="总部", kind=NodeKind.HQ, parent=None)
    region = org_node_create(code="R1", name="华东", kind=NodeKind.REGION, parent=hq)
    branches, managers = [], []
    for b in range(10):
        branch = org_node_create(code=f"B{b:02d}", name=f"营业部{b}", kind=NodeKind.BRANCH, parent=region)
        team = org_node_create(code=f"B{b:02d}-1", name=f"一组{b}", kind=NodeKind.TEAM, parent=branch)
        branches.append(branch.pk)
        for m in range(20):
            managers.append(
                employee_create(username=f"am{b}_{m}", password="bench-password-2026!", role=Role.ACCOUNT_MANAGER, node=team, check_password=False).pk
            )  # fmt: skip
    branch_of = rng.integers(0, 10, customers)
    manager_of = branch_of * 20 + rng.integers(0, 20, customers)
    risk = np.array(["C1", "C2", "C3", "C4", "C5"])[rng.integers(0, 5, customers)]
    now = timezone.now().isoformat()
    _insert(
        Customer,
        ["customer_no", "name", "customer_type", "status", "branch_id", "account_manager_id", "risk_level", "investor_class", "created_at", "updated_at"],
        (
            (f"{10_000_000 + i}", f"客户{i}", "individual", "normal", branches[branch_of[i]], managers[manager_of[i]], risk[i],
             "professional_ii" if i % 97 == 0 else "ordinary", now, now)
            for i in range(customers)
        ),
    )  # fmt: skip


def _snapshot(name: str, columns: dict, rows: int):
    """A snapshot table of ``runner.SNAPSHOT_TABLES[name]``'s schema: ``columns`` given, the others null."""
    import pyarrow as pa

    from brokercrm.datacenter import runner

    schema = runner.SNAPSHOT_TABLES[name].to_pyarrow()
    arrays = [
        pa.array(columns[f.name], type=f.type) if f.name in columns else pa.nulls(rows, type=f.type) for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _prepare_warehouse(root: Path, *, customers: int, positions: int, universe: int, rng: np.random.Generator) -> dict:
    """The day's snapshots in a published version ``bench`` (see the module doc)."""
    import pyarrow as pa

    from brokercrm.datacenter import runner

    numbers = np.array([f"{10_000_000 + i}" for i in range(customers)])
    # accounts: F<i> for everyone, C<i> (a second, credit account) for 1 in 10
    second = np.flatnonzero(rng.random(customers) < 0.1)
    accounts_no = np.concatenate([np.char.add("F", numbers), np.char.add("C", numbers[second])])
    accounts_owner = np.concatenate([np.arange(customers), second])
    order = np.argsort(accounts_no, kind="stable")
    # positions: 1–9 per customer (mean 5), securities by popularity, lots of 100 shares; a
    # customer's draws of the same security in the same account are one position, so draw more
    # until at least ``positions`` remain
    weights = 1.0 / np.arange(1, universe + 1) ** 0.8
    weights /= weights.sum()
    codes = np.array([f"{600000 + k:06d}" if k % 2 == 0 else f"{k:06d}" for k in range(universe)])
    exchanges = np.array(["SH" if k % 2 == 0 else "SZ" for k in range(universe)])
    close_ticks = rng.integers(1_000, 2_000_000, universe)  # ¥0.10 – ¥200.00 at 4 places
    drawn = positions
    while True:
        per = rng.integers(1, 10, customers)
        per = np.maximum(1, np.round(per * drawn / per.sum())).astype(np.int64)
        owner = np.repeat(np.arange(customers), per)
        security = rng.choice(universe, owner.size, p=weights)
        quantity = rng.integers(1, 100, owner.size) * 100
        in_second = np.isin(owner, second) & (rng.random(owner.size) < 0.5)
        account = np.where(in_second, np.char.add("C", numbers[owner]), np.char.add("F", numbers[owner]))
        key = np.char.add(np.char.add(account, "|"), security.astype(str))
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        if first.size >= positions:
            break
        drawn = int(drawn * positions / first.size * 1.01)
    quantity = np.bincount(inverse, weights=quantity).astype(np.int64)
    account, security, owner = account[first], security[first], owner[first]
    value_cents = quantity * close_ticks[security] // 100  # ticks are 1/10,000 yuan
    held_cents = np.bincount(owner, weights=value_cents, minlength=customers).astype(np.int64)
    total_cents = held_cents + rng.integers(0, 50_000_000, customers)
    total_cents[rng.random(customers) < 0.001] = 0  # no assets on the day (ratio unknown)
    tiers = np.array(["silver", "gold", "diamond"])[rng.choice(3, customers, p=[0.6, 0.3, 0.1])]
    placed = np.flatnonzero(rng.random(customers) < 0.34)

    version = runner.snapshots_dir(root) / "versions" / VERSION

    def write(name: str, columns: dict, rows: int) -> None:
        columns = {"trade_date": pa.repeat(pa.scalar(AS_OF, pa.date32()), rows), **columns}
        runner._write(_snapshot(name, columns, rows), runner._partition(version, name, AS_OF), runner.SNAPSHOT_TABLES[name])

    write(
        "accounts",
        {"counter": pa.repeat(pa.scalar("bench"), len(order)), "fund_account": accounts_no[order],
         "customer_no": numbers[accounts_owner[order]], "currency": pa.repeat(pa.scalar("CNY"), len(order))},
        len(order),
    )  # fmt: skip
    pos_order = np.lexsort((codes[security], exchanges[security], account))
    write(
        "positions",
        {"counter": pa.repeat(pa.scalar("bench"), account.size), "fund_account": account[pos_order],
         "exchange": exchanges[security][pos_order], "security_code": codes[security][pos_order],
         "quantity": quantity[pos_order]},
        account.size,
    )  # fmt: skip
    close_order = np.lexsort((codes, exchanges))
    write(
        "closes",
        {"exchange": exchanges[close_order], "security_code": codes[close_order],
         "security_type": pa.repeat(pa.scalar("stock"), universe),
         "close_price": [Decimal(int(t)).scaleb(-4) for t in close_ticks[close_order]],
         "close_date": pa.repeat(pa.scalar(AS_OF, pa.date32()), universe), "quoted": pa.repeat(pa.scalar(True), universe)},
        universe,
    )  # fmt: skip
    write(
        "customer_indicators",
        {"customer_no": numbers, "total_assets": [Decimal(int(c)).scaleb(-2) for c in total_cents]},
        customers,
    )
    write("segments", {"customer_no": numbers[placed], "tier": tiers[placed]}, placed.size)
    (version / runner.MANIFEST).write_text(json.dumps({"days": [AS_OF.isoformat()]}), encoding="utf-8")
    (runner.snapshots_dir(root) / runner.CURRENT).write_text(VERSION + "\n", encoding="utf-8")
    return {
        "positions": int(account.size),
        "codes": [f"{exchanges[k]}{codes[k]}" for k in range(universe)],
        "held_by_security": np.bincount(security, minlength=universe).tolist(),
    }


def prepare(root: Path, *, customers: int, positions: int, universe: int, seed: int) -> dict:
    from brokercrm.customers.models import Customer
    from brokercrm.datacenter import runner
    from brokercrm.datacenter.models import PublishRun
    from django.utils import timezone

    info_file = runner.snapshots_dir(root) / "bench.json"
    if info_file.is_file() and runner.current_version(root) is not None:
        return json.loads(info_file.read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    if not Customer.objects.unscoped().exists():
        _prepare_database(customers=customers, rng=rng)
    elif Customer.objects.unscoped().count() != customers:
        raise SystemExit(f"{root} holds {Customer.objects.unscoped().count():,} customers, not {customers:,}")
    if not PublishRun.objects.filter(latest_day=AS_OF, finished_at__isnull=False).exists():
        PublishRun.objects.create(snapshot_version=VERSION, latest_day=AS_OF, finished_at=timezone.now())
    info = {"customers": customers, "universe": universe}
    info.update(_prepare_warehouse(root, customers=customers, positions=positions, universe=universe, rng=rng))
    info["prepare_seconds"] = round(time.perf_counter() - t0, 1)
    info_file.write_text(json.dumps(info), encoding="utf-8")
    return info


#: What one would write without brokercrm: a single statement over the day's snapshot files.
REFERENCE_SQL = """
WITH held AS (
  SELECT a.customer_no,
         SUM(CAST(ROUND(p.quantity * CASE WHEN c.security_type = 'repo' THEN 100 ELSE COALESCE(c.close_price, 0) END, 2) * 100 AS BIGINT)) AS cents
  FROM read_parquet('{positions}') p
  LEFT JOIN read_parquet('{closes}') c ON c.exchange = p.exchange AND c.security_code = p.security_code
  JOIN read_parquet('{accounts}') a ON a.fund_account = p.fund_account
  WHERE p.quantity > 0 AND p.exchange || p.security_code IN ({codes})
  GROUP BY a.customer_no
), ranked AS (
  SELECT h.customer_no, h.cents,
         CAST(ROUND(ROUND(ci.total_assets, 8), 2) * 100 AS BIGINT) AS assets,
         COALESCE(s.tier, 'standard') AS tier
  FROM held h
  LEFT JOIN read_parquet('{customer_indicators}') ci ON ci.customer_no = h.customer_no
  LEFT JOIN read_parquet('{segments}') s ON s.customer_no = h.customer_no
)
SELECT ROW_NUMBER() OVER (ORDER BY cents DESC, customer_no) AS rank, customer_no, cents,
  CASE
    WHEN tier IN ('gold', 'diamond') THEN 'high'
    WHEN assets > 0 AND cents * 100 >= 30 * assets THEN 'high'
    WHEN assets > 0 AND cents * 100 >= 10 * assets THEN 'medium'
    ELSE 'low' END AS priority
FROM ranked
ORDER BY rank
"""
#: The same over brokercrm's holdings index of the day (``service.impact.holdings_index``).
REFERENCE_INDEX_SQL = """
WITH held AS (
  SELECT customer_no, SUM(cents) AS cents, ANY_VALUE(assets) AS assets, COALESCE(ANY_VALUE(tier), 'standard') AS tier
  FROM read_parquet('{index}') WHERE security IN ({codes}) GROUP BY customer_no
)
SELECT ROW_NUMBER() OVER (ORDER BY cents DESC, customer_no) AS rank, customer_no, cents,
  CASE
    WHEN tier IN ('gold', 'diamond') THEN 'high'
    WHEN assets > 0 AND cents * 100 >= 30 * assets THEN 'high'
    WHEN assets > 0 AND cents * 100 >= 10 * assets THEN 'medium'
    ELSE 'low' END AS priority
FROM held
ORDER BY rank
"""


def reference(sql: str, paths: dict[str, Path], securities: list[str]) -> list[tuple]:
    """``sql`` on a fresh DuckDB connection (as the code path's), the codes written in the statement."""
    import duckdb

    con = duckdb.connect()
    try:
        codes = ", ".join(f"'{c}'" for c in securities)  # validated codes (exchange + 6 digits)
        return con.execute(sql.format(codes=codes, **{k: str(v) for k, v in paths.items()})).fetchall()
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Benchmark the impact list of a market event against hand-written DuckDB SQL.")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--positions", type=int, default=5_000_000)
    parser.add_argument("--universe", type=int, default=4000, help="securities held in the book")
    parser.add_argument("--event-securities", type=int, default=50)
    parser.add_argument("--popular", action="store_true", help="the event touches the most held securities (worst case)")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="work (and keep the database and warehouse) in this folder; reused when prepared")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-event-"))
    root.mkdir(parents=True, exist_ok=True)
    _setup(root)
    t0 = time.perf_counter()
    info = prepare(root, customers=args.customers, positions=args.positions, universe=args.universe, seed=args.seed)
    print(f"prepared {info['customers']:,} customers, {info['positions']:,} positions over {info['universe']} securities "
          f"in {time.perf_counter() - t0:.1f} s ({root})")  # fmt: skip
    rng = np.random.default_rng(args.seed + 1)
    held = np.array(info["held_by_security"])
    picks = np.argsort(-held)[: args.event_securities] if args.popular else rng.choice(info["universe"], args.event_securities, replace=False)
    securities = [info["codes"][k] for k in picks]
    print(f"event on {len(securities)} securities holding {int(held[picks].sum()):,} positions")

    from django.db import transaction

    from brokercrm.service import impact
    from brokercrm.service.models import MarketEvent
    from brokercrm.service.services import event_create

    paths = impact.snapshot_paths(as_of=AS_OF, data_dir=root)
    # the holdings index of the published version: built once per publication (not per event)
    for cached in impact._index_dir(root).glob("*/holdings-*.parquet"):
        cached.unlink()
    start = time.perf_counter()
    paths["index"] = impact.holdings_index(as_of=AS_OF, data_dir=root)
    index_seconds = time.perf_counter() - start
    print(f"holdings index of the version built in {index_seconds:.1f} s "
          f"({paths['index'].stat().st_size / 2**20:.0f} MiB; once per publication, by `brokercrm pipeline run`)")  # fmt: skip
    computed: dict[str, list] = {}

    def freeze() -> int:
        with transaction.atomic():
            event = MarketEvent.objects.create(title="bench", direction="negative", impact=4, as_of=AS_OF)
            count = impact.impact_freeze(event=event, rows=computed["rows"])
            transaction.set_rollback(True)
        return count

    def compute():
        computed["rows"] = impact.impact_compute(securities=securities, as_of=AS_OF, data_dir=root)
        return computed["rows"]

    contenders = {
        "impact_compute": compute,
        "  duckdb part": lambda: impact.exposure_table(securities=securities, index=paths["index"]),
        "freeze": freeze,
        "event_create": lambda: event_create(actor=None, title="bench", securities=securities, direction="negative", impact=4, data_dir=root),
        "sql ref (index)": lambda: reference(REFERENCE_INDEX_SQL, paths, securities),
        "sql ref (files)": lambda: reference(REFERENCE_SQL, paths, securities),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    results = {}
    for _ in range(args.repeat):
        for name, call in contenders.items():
            start = time.perf_counter()
            results[name] = call()
            times[name].append(time.perf_counter() - start)
            if name == "event_create":
                results[name] = results[name].affected_customers
                MarketEvent.objects.all().delete()
    ours = [(i + 1, r.customer_no, r.exposure, r.priority) for i, r in enumerate(results["impact_compute"])]
    agree = {}
    for name in ("sql ref (index)", "sql ref (files)"):
        theirs = [(rank, number, Decimal(cents).scaleb(-2), p) for rank, number, cents, p in results[name]]
        agree[name] = ours == theirs
    affected = len(ours)
    print(f"affected customers: {affected:,}; event_create froze {results['event_create']:,} rows; "
          + "; ".join(f"{name} {'agrees' if same else 'DISAGREES'}" for name, same in agree.items()))  # fmt: skip
    median = {name: statistics.median(t) for name, t in times.items()}
    base = "sql ref (index)"
    print(f"load average {os.getloadavg()[0]:.1f}; {args.repeat} runs each")
    print(f"{'contender':<16} {'median':>9} {'best':>9}   median ratio to {base}")
    for name, t in times.items():
        print(f"{name:<16} {median[name] * 1000:8.0f}ms {min(t) * 1000:8.0f}ms   {median[name] / median[base]:.2f}×")
    verdict = lambda s: "met" if s <= TARGET_SECONDS else "NOT met"  # noqa: E731
    print(f"target ≤ {TARGET_SECONDS * 1000:.0f} ms for the list — impact_compute (median): {verdict(median['impact_compute'])}; "
          f"saving the list (freeze, median): {median['freeze'] * 1000:.0f} ms; "
          f"event_create (compute + save, median): {median['event_create'] * 1000:.0f} ms")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"times": times, "affected": affected, "agrees": agree, "positions": info["positions"], "index_seconds": index_seconds}, indent=1))


if __name__ == "__main__":
    main()
