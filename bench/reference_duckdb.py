"""Hand-written DuckDB SQL reference of the pipeline's one-day step (bench only, never imported by
brokercrm).

It computes what ``runner.compute_day`` computes for a trading day d, by the rules of
docs/COUNTERS.md ("Base indicators" to "Per customer"), from the same inputs:

* d's standard flows, straight from the warehouse Parquet files
  (``flows/<table>/counter=<c>/trade_date=<d>/part-0.parquet``);
* the state of d-1 (``closes``, ``accounts``, ``positions``) and the ``customer_indicators`` of the
  19 earlier days of the 20-day window, from a snapshot folder laid out like a published pipeline
  version.

and writes the seven snapshot tables of d (closes, accounts, positions with moving-average cost,
account_indicators, customer_indicators with avg_assets_20d, reconciliation, dq_warnings) as
zstd Parquet, rows sorted like the pipeline's, into ``out_dir`` in the same layout — so a
backfill can chain its own days.

Money stays exact: amounts are DECIMAL, products are exact DECIMAL products, and the three
divisions of the rules (cost of a sale, remaining cost, average cost; the 20-day mean) are done
on HUGEINT units of 10**-10 yuan with half-up rounding, the pipeline's rounding
(``pipeline.with_quotients``).

Usage (one day, reading the pipeline's published state of d-1)::

    .venv/bin/python bench/reference_duckdb.py --data-dir DIR --day 2025-01-03 --out /tmp/ref
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as cm  # noqa: E402

#: Typed empty stand-ins for state a first day does not have.
_EMPTY_STATE = {
    "closes": """SELECT NULL::DATE AS trade_date, NULL::VARCHAR AS exchange, NULL::VARCHAR AS security_code,
        NULL::VARCHAR AS security_type, NULL::DECIMAL(18,4) AS close_price, NULL::DATE AS close_date,
        NULL::BOOLEAN AS quoted WHERE false""",
    "accounts": """SELECT NULL::DATE AS trade_date, NULL::VARCHAR AS counter, NULL::VARCHAR AS fund_account,
        NULL::VARCHAR AS customer_no, NULL::VARCHAR AS branch_code, NULL::VARCHAR AS account_type,
        NULL::VARCHAR AS currency, NULL::DATE AS open_date, NULL::VARCHAR AS status,
        NULL::DECIMAL(38,2) AS previous_cash_balance, NULL::DECIMAL(38,2) AS cash_balance,
        NULL::DECIMAL(38,2) AS cash_flow_total, NULL::BIGINT AS cash_flow_count, NULL::DECIMAL(38,2) AS bank_in,
        NULL::DECIMAL(38,2) AS bank_out, NULL::DECIMAL(38,2) AS frozen_balance WHERE false""",
    "positions": """SELECT NULL::DATE AS trade_date, NULL::VARCHAR AS counter, NULL::VARCHAR AS fund_account,
        NULL::VARCHAR AS exchange, NULL::VARCHAR AS security_code, NULL::BIGINT AS quantity,
        NULL::DECIMAL(38,10) AS cost, NULL::DECIMAL(38,10) AS average_cost WHERE false""",
    "history": """SELECT NULL::VARCHAR AS customer_no, NULL::DATE AS trade_date,
        NULL::DECIMAL(38,10) AS total_assets WHERE false""",
}

_MACROS = """
-- 10**-10 yuan units (HUGEINT) and back: exact.
CREATE OR REPLACE MACRO units(x) AS (x::DECIMAL(38,10) * 10000000000)::HUGEINT;
CREATE OR REPLACE MACRO from_units(k) AS k::DECIMAL(38,0) * 0.0000000001::DECIMAL(11,10);
-- n / d rounded half-up (away from zero) to the unit; 0 when d is 0 (COUNTERS.md: "when Q
-- reaches 0, H is 0"), as pipeline.with_quotients.
CREATE OR REPLACE MACRO div_half_up(n, d) AS CASE WHEN d = 0 THEN 0::HUGEINT
    ELSE sign(n)::HUGEINT * ((2 * abs(n::HUGEINT) + d) // (2 * d::HUGEINT)) END;
"""


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(_lit(str(p)) for p in paths) + "]"


def run_day(
    *,
    con: duckdb.DuckDBPyConnection,
    data_dir: Path,
    state_dir: Path,
    out_dir: Path,
    ctx: cm.DayContext,
) -> dict[str, int]:
    """Compute d = ``ctx.day`` and write its seven snapshot tables under ``out_dir``."""
    d = f"DATE '{ctx.day.isoformat()}'"
    gap_days = (ctx.day - ctx.previous_day).days - 1 if ctx.previous_day else 0
    opening = ctx.opening_counters
    in_opening = f"counter IN ({', '.join(_lit(c) for c in opening)})" if opening else "false"
    t_in_opening = f"t.{in_opening}" if opening else "false"
    sql: list[str] = [_MACROS]

    # Inputs: d's flows (both counters) and the state of d-1.
    for table in cm.FLOW_TABLES:
        files = cm.flow_files(data_dir, table, ctx.day)
        if not files:
            raise FileNotFoundError(f"no {table} flows for {ctx.day}")
        sql.append(f"CREATE OR REPLACE TEMP VIEW f_{table} AS SELECT * FROM read_parquet({_files(files)});")
    for table in ("closes", "accounts", "positions"):
        path = cm.snapshot_file(state_dir, table, ctx.previous_day) if ctx.previous_day else None
        body = f"SELECT * FROM read_parquet({_lit(str(path))})" if path and path.exists() else _EMPTY_STATE[table]
        sql.append(f"CREATE OR REPLACE TEMP VIEW prev_{table} AS {body};")
    history = [cm.snapshot_file(state_dir, "customer_indicators", w) for w in ctx.history_days]
    history = [p for p in history if p.exists()]
    body = (
        f"SELECT customer_no, trade_date, total_assets FROM read_parquet({_files(history)})"
        if history
        else _EMPTY_STATE["history"]
    )
    sql.append(f"CREATE OR REPLACE TEMP VIEW history AS {body};")

    # Close price: d's quote, else the latest earlier close, else 0 (quoted = false).
    sql.append(f"""
CREATE OR REPLACE TEMP TABLE closes AS
WITH q AS (
    SELECT exchange, security_code, close_price::DECIMAL(18,4) AS close_price, trade_date AS close_date
    FROM f_quotes WHERE trade_date <= {d}
    UNION ALL
    SELECT exchange, security_code, close_price, close_date FROM prev_closes WHERE close_date IS NOT NULL
), latest AS (
    SELECT exchange, security_code, arg_max(close_price, close_date) AS close_price, max(close_date) AS close_date
    FROM (SELECT exchange, security_code, close_date, min(close_price) AS close_price FROM q GROUP BY ALL)
    GROUP BY ALL
), types AS (
    SELECT exchange, security_code, min(security_type) AS security_type FROM (
        SELECT exchange, security_code, security_type FROM f_securities
        UNION ALL
        SELECT exchange, security_code, security_type FROM prev_closes p
        WHERE security_type IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM f_securities s WHERE s.exchange = p.exchange AND s.security_code = p.security_code)
    ) GROUP BY ALL
), keys AS (
    SELECT exchange, security_code FROM types UNION SELECT exchange, security_code FROM latest
)
SELECT {d} AS trade_date, k.exchange, k.security_code, t.security_type,
       coalesce(l.close_price, 0)::DECIMAL(18,4) AS close_price, l.close_date, l.close_date IS NOT NULL AS quoted
FROM keys k
LEFT JOIN types t ON t.exchange = k.exchange AND t.security_code = k.security_code
LEFT JOIN latest l ON l.exchange = k.exchange AND l.security_code = k.security_code;
""")

    # Accounts and cash: d's master rows replace d-1's; cash = balance_after of the last flow.
    sql.append(f"""
CREATE OR REPLACE TEMP TABLE accounts AS
WITH today AS (
    SELECT counter, fund_account, customer_no, branch_code, account_type, currency, open_date, status
    FROM f_fund_accounts QUALIFY line = max(line) OVER (PARTITION BY fund_account)
), master AS (
    SELECT * FROM today
    UNION ALL
    SELECT counter, fund_account, customer_no, branch_code, account_type, currency, open_date, status
    FROM prev_accounts p WHERE NOT EXISTS (SELECT 1 FROM today t WHERE t.fund_account = p.fund_account)
), cf AS (
    SELECT fund_account,
           arg_max(balance_after, serial_no) AS last_balance,
           sum(amount) AS flow_total,
           count(*) AS flow_count,
           sum(amount) FILTER (WHERE kind = 'bank_in') AS bank_in,
           sum(-amount) FILTER (WHERE kind = 'bank_out') AS bank_out
    FROM f_cash_flows GROUP BY fund_account
), fr AS (
    SELECT fund_account, sum(amount) AS frozen_today FROM f_freezes GROUP BY fund_account
)
SELECT {d} AS trade_date, m.counter, m.fund_account, m.customer_no, m.branch_code, m.account_type,
       m.currency, m.open_date, m.status,
       coalesce(p.cash_balance, 0)::DECIMAL(38,2) AS previous_cash_balance,
       coalesce(cf.last_balance, p.cash_balance, 0)::DECIMAL(38,2) AS cash_balance,
       coalesce(cf.flow_total, 0)::DECIMAL(38,2) AS cash_flow_total,
       coalesce(cf.flow_count, 0)::BIGINT AS cash_flow_count,
       coalesce(cf.bank_in, 0)::DECIMAL(38,2) AS bank_in,
       coalesce(cf.bank_out, 0)::DECIMAL(38,2) AS bank_out,
       (coalesce(p.frozen_balance, 0) + coalesce(fr.frozen_today, 0))::DECIMAL(38,2) AS frozen_balance
FROM master m
LEFT JOIN cf ON cf.fund_account = m.fund_account
LEFT JOIN fr ON fr.fund_account = m.fund_account
LEFT JOIN prev_accounts p ON p.fund_account = m.fund_account;
""")

    # Average cost: the day's moves per holding, then the start-of-day holdings joined to them.
    sql.append(f"""
CREATE OR REPLACE TEMP TABLE moves AS
SELECT counter, fund_account, exchange, security_code,
       sum(q_sell)::BIGINT AS q_sell, sum(q_out)::BIGINT AS q_out, sum(proceeds) AS proceeds,
       sum(q_in)::BIGINT AS q_in, sum(h_in) AS h_in, count(*) FILTER (WHERE q_sell > 0) AS n_sells
FROM (
    SELECT counter, fund_account, exchange, security_code,
           CASE WHEN side = 'sell' THEN quantity ELSE 0 END AS q_sell,
           0 AS q_out,
           CASE WHEN side = 'sell' THEN amount - (commission + stamp_tax + transfer_fee + exchange_fee + other_fee)
                ELSE 0 END AS proceeds,
           CASE WHEN side = 'buy' THEN quantity ELSE 0 END AS q_in,
           CASE WHEN side = 'buy' THEN amount + (commission + stamp_tax + transfer_fee + exchange_fee + other_fee)
                ELSE 0 END AS h_in
    FROM f_trades WHERE NOT ({in_opening}) AND side IN ('buy', 'sell')
    UNION ALL
    SELECT t.counter, t.fund_account, t.exchange, t.security_code,
           0,
           CASE WHEN direction = 'out' THEN quantity ELSE 0 END,
           0,
           CASE WHEN direction = 'in' THEN quantity ELSE 0 END,
           CASE WHEN direction = 'in' THEN coalesce(c.close_price, 0) * quantity ELSE 0 END
    FROM f_security_transfers t
    LEFT JOIN closes c ON c.exchange = t.exchange AND c.security_code = t.security_code
    WHERE NOT ({t_in_opening}) AND direction IN ('in', 'out')
) GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE prev_held AS SELECT * FROM prev_positions WHERE NOT ({in_opening});

-- Only the holdings that moved today are recomputed; the others keep their Q, H and average.
CREATE OR REPLACE TEMP TABLE step AS
WITH s AS (
    SELECT m.counter, m.fund_account, m.exchange, m.security_code,
           coalesce(p.quantity, 0) AS q0,
           coalesce(p.cost, 0)::DECIMAL(38,10) AS h0,
           coalesce(p.average_cost, 0)::DECIMAL(38,10) AS a0,
           m.q_sell, m.q_out, m.proceeds, m.q_in, m.h_in, m.n_sells
    FROM moves m
    LEFT JOIN prev_held p
      ON p.counter = m.counter AND p.fund_account = m.fund_account
     AND p.exchange = m.exchange AND p.security_code = m.security_code
), r AS (
    SELECT *,
           least(q_sell, q0) AS sold,
           q0 - least(q_sell + q_out, q0) AS q_mid,
           q_sell + q_out > 0 AS removing
    FROM s
), c AS (
    -- Sells and transfers out first: each removes q x H/Q (one division per holding and result).
    SELECT *,
           CASE WHEN removing THEN div_half_up(units(h0) * sold, q0) ELSE 0::HUGEINT END AS sold_cost_u,
           CASE WHEN removing THEN div_half_up(units(h0) * q_mid, q0) ELSE units(h0) END AS h_mid_u
    FROM r
)
SELECT counter, fund_account, exchange, security_code, q0, q_sell, q_out, proceeds, n_sells, a0,
       from_units(sold_cost_u) AS sold_cost,
       q_mid + q_in AS quantity,
       CASE WHEN q_mid + q_in = 0 THEN 0::HUGEINT ELSE h_mid_u + units(h_in) END AS cost_u,
       q_sell + q_out + q_in > 0 AS changed
FROM c;
""")

    sql.append(f"""
CREATE OR REPLACE TEMP TABLE positions AS
SELECT {d} AS trade_date, counter, fund_account, exchange, security_code, quantity,
       from_units(cost_u) AS cost,
       CASE WHEN changed THEN from_units(div_half_up(cost_u, quantity)) ELSE a0 END AS average_cost
FROM step WHERE quantity <> 0
UNION ALL
SELECT {d}, counter, fund_account, exchange, security_code, quantity, cost, average_cost
FROM prev_held p WHERE quantity <> 0 AND NOT EXISTS (
    SELECT 1 FROM moves m WHERE m.counter = p.counter AND m.fund_account = p.fund_account
       AND m.exchange = p.exchange AND m.security_code = p.security_code)
UNION ALL
-- A counter's initial day: Q and H = Q x cost_price from its positions file.
SELECT {d}, counter, fund_account, exchange, security_code, quantity, cost::DECIMAL(38,10),
       from_units(div_half_up(units(cost), quantity))
FROM (
    SELECT counter, fund_account, exchange, security_code, sum(quantity)::BIGINT AS quantity,
           sum(coalesce(cost_price, 0) * quantity) AS cost
    FROM f_positions WHERE {in_opening} AND quantity <> 0
    GROUP BY ALL
);
""")

    # Per fund account (CNY): market values from the counter's positions at the close of d.
    sql.append(f"""
CREATE OR REPLACE TEMP TABLE account_indicators AS
WITH pv AS (
    SELECT p.fund_account,
           sum(CASE WHEN p.security_type = 'stock' THEN v END) AS stock_value,
           sum(CASE WHEN p.security_type IN ('fund', 'etf', 'lof') THEN v END) AS fund_value,
           sum(CASE WHEN p.security_type IN ('bond', 'convertible', 'repo') THEN v END) AS bond_value
    FROM (
        SELECT p.fund_account, c.security_type,
               CASE WHEN c.security_type = 'repo' THEN 100::DECIMAL(18,4) ELSE coalesce(c.close_price, 0) END
                 * p.quantity AS v
        FROM f_positions p LEFT JOIN closes c ON c.exchange = p.exchange AND c.security_code = p.security_code
    ) p
    GROUP BY p.fund_account
), tv AS (
    SELECT t.fund_account,
           sum(CASE WHEN direction = 'in' THEN coalesce(c.close_price, 0) * quantity END) AS securities_in_value,
           sum(CASE WHEN direction = 'out' THEN coalesce(c.close_price, 0) * quantity END) AS securities_out_value
    FROM f_security_transfers t LEFT JOIN closes c ON c.exchange = t.exchange AND c.security_code = t.security_code
    GROUP BY t.fund_account
), dv AS (
    SELECT m.fund_account,
           sum(financing_balance + coalesce(c.close_price, 0) * short_quantity + interest_payable) AS debt
    FROM f_margin_debts m LEFT JOIN closes c ON c.exchange = m.exchange AND c.security_code = m.security_code
    GROUP BY m.fund_account
), rv AS (
    SELECT fund_account, sum(proceeds - sold_cost) AS realized_pnl FROM step WHERE n_sells > 0 GROUP BY fund_account
), trv AS (
    SELECT fund_account, sum(amount) AS trade_amount, count(*) AS trade_count,
           sum(commission) AS commission, sum(commission - exchange_fee) AS net_commission
    FROM f_trades GROUP BY fund_account
), v AS (
    SELECT a.counter, a.fund_account, a.customer_no, a.account_type,
           a.cash_balance::DECIMAL(38,10) AS cash_balance,
           a.bank_in::DECIMAL(38,10) AS bank_in, a.bank_out::DECIMAL(38,10) AS bank_out,
           coalesce(tv.securities_in_value, 0)::DECIMAL(38,10) AS securities_in_value,
           coalesce(tv.securities_out_value, 0)::DECIMAL(38,10) AS securities_out_value,
           coalesce(pv.stock_value, 0)::DECIMAL(38,10) AS stock_value,
           coalesce(pv.fund_value, 0)::DECIMAL(38,10) AS fund_value,
           coalesce(pv.bond_value, 0)::DECIMAL(38,10) AS bond_value,
           coalesce(dv.debt, 0)::DECIMAL(38,10) AS debt,
           coalesce(rv.realized_pnl, 0)::DECIMAL(38,10) AS realized_pnl,
           (a.previous_cash_balance * {gap_days} + a.cash_balance)::DECIMAL(38,10) AS interest_base,
           coalesce(trv.trade_amount, 0)::DECIMAL(38,10) AS trade_amount,
           coalesce(trv.trade_count, 0)::BIGINT AS trade_count,
           coalesce(trv.commission, 0)::DECIMAL(38,10) AS commission,
           coalesce(trv.net_commission, 0)::DECIMAL(38,10) AS net_commission,
           a.frozen_balance::DECIMAL(38,10) AS frozen_balance
    FROM accounts a
    LEFT JOIN pv ON pv.fund_account = a.fund_account
    LEFT JOIN tv ON tv.fund_account = a.fund_account
    LEFT JOIN dv ON dv.fund_account = a.fund_account
    LEFT JOIN rv ON rv.fund_account = a.fund_account
    LEFT JOIN trv ON trv.fund_account = a.fund_account
    WHERE a.currency = '{cm.BASE_CURRENCY}'
)
SELECT {d} AS trade_date, counter, fund_account, customer_no, account_type,
       cash_balance, bank_in, bank_out, securities_in_value, securities_out_value,
       stock_value, fund_value, bond_value, debt,
       (cash_balance + stock_value + fund_value + bond_value)::DECIMAL(38,10) AS total_assets,
       (cash_balance + stock_value + fund_value + bond_value - debt)::DECIMAL(38,10) AS net_assets,
       realized_pnl, interest_base, trade_amount, trade_count, commission, net_commission, frozen_balance
FROM v;
""")

    # Per customer: sums, and the mean of total_assets over the days of the window it has.
    sums = ",\n       ".join(
        f"sum({n})::{'BIGINT' if n == 'trade_count' else 'DECIMAL(38,10)'} AS {n}" for n in cm.INDICATORS
    )
    window = ", ".join(f"DATE '{w.isoformat()}'" for w in ctx.history_days) or "NULL"
    sql.append(f"""
CREATE OR REPLACE TEMP TABLE customer_indicators AS
WITH today AS (
    SELECT customer_no,
       {sums}
    FROM account_indicators GROUP BY customer_no
), totals AS (
    SELECT customer_no, {d} AS trade_date, total_assets FROM today
    UNION ALL
    SELECT customer_no, trade_date, total_assets::DECIMAL(38,10) FROM history WHERE trade_date IN ({window})
), means AS (
    -- customer_indicators has one row per customer and day, so count(*) = distinct days
    SELECT customer_no, sum(total_assets) AS s, count(*) AS n FROM totals GROUP BY customer_no
)
SELECT {d} AS trade_date, t.*,
       from_units(div_half_up(units(m.s), m.n)) AS avg_assets_20d,
       m.n::BIGINT AS avg_assets_20d_days,
       m.n < {cm.AVG_ASSETS_DAYS} AS avg_assets_20d_partial
FROM today t JOIN means m ON m.customer_no = t.customer_no;
""")

    # Reconciliation: computed vs counter positions, cash, oversells.
    sql.append(f"""
CREATE OR REPLACE TEMP TABLE reconciliation AS
SELECT {d} AS trade_date, 'oversell' AS kind, counter, fund_account, exchange, security_code,
       q0::DECIMAL(38,2) AS expected, (q_sell + q_out)::DECIMAL(38,2) AS found
FROM step WHERE q_sell + q_out > q0
UNION ALL
SELECT {d}, 'position', counter, fund_account, exchange, security_code, e::DECIMAL(38,2), f::DECIMAL(38,2)
FROM (
    SELECT counter, fund_account, exchange, security_code, sum(e) AS e, sum(f) AS f FROM (
        SELECT counter, fund_account, exchange, security_code, quantity AS e, 0 AS f FROM positions
        UNION ALL
        SELECT counter, fund_account, exchange, security_code, 0, quantity FROM f_positions
    ) GROUP BY ALL
) WHERE e <> f
UNION ALL
SELECT {d}, 'cash', counter, fund_account, NULL, NULL,
       (previous_cash_balance + cash_flow_total)::DECIMAL(38,2), cash_balance
FROM accounts WHERE previous_cash_balance + cash_flow_total <> cash_balance;
""")

    # Data-quality warnings (the pipeline's dq_warnings, same kinds and details).
    opening_parts = ""
    if opening:
        opening_parts = f"""
UNION ALL
SELECT {d}, 'opening_cost_missing', counter, fund_account, exchange, security_code,
       'initial day holding without cost price: cost 0'
FROM f_positions WHERE {in_opening} AND cost_price IS NULL AND quantity <> 0
UNION ALL
SELECT {d}, 'initial_day_sell', counter, fund_account, NULL, NULL,
       count(*)::VARCHAR || ' sell(s) on the counter''s initial day: no previous average cost, not in realized_pnl'
FROM f_trades WHERE {in_opening} AND side = 'sell' GROUP BY counter, fund_account"""
    sql.append(f"""
CREATE OR REPLACE TEMP TABLE dq_warnings AS
WITH used AS (
    SELECT u.exchange, u.security_code, u.fund_account,
           coalesce(c.quoted, false) AS quoted, c.security_type IS NOT NULL AS known
    FROM (
        SELECT exchange, security_code, fund_account FROM f_positions WHERE quantity <> 0
        UNION ALL SELECT exchange, security_code, fund_account FROM f_security_transfers
        UNION ALL SELECT exchange, security_code, fund_account FROM f_margin_debts WHERE short_quantity <> 0
    ) u LEFT JOIN closes c ON c.exchange = u.exchange AND c.security_code = u.security_code
)
SELECT {d} AS trade_date, 'never_quoted' AS kind, NULL::VARCHAR AS counter, NULL::VARCHAR AS fund_account,
       exchange, security_code,
       'never quoted: valued at 0 in ' || count(DISTINCT fund_account)::VARCHAR || ' account(s)' AS detail
FROM used WHERE NOT quoted GROUP BY exchange, security_code
UNION ALL
SELECT {d}, 'unknown_security', NULL, NULL, exchange, security_code,
       'not in any security master: no market-value bucket, in ' || count(DISTINCT fund_account)::VARCHAR
       || ' account(s)'
FROM used WHERE NOT known GROUP BY exchange, security_code
UNION ALL
SELECT {d}, 'non_cny_account', counter, fund_account, NULL, NULL,
       'currency ' || currency || ': skipped (v1 computes CNY)'
FROM accounts WHERE currency <> '{cm.BASE_CURRENCY}'{opening_parts};
""")

    # Write the seven tables, rows in the pipeline's order (runner.SORT_KEYS).
    order = {
        "closes": "exchange, security_code",
        "accounts": "fund_account",
        "positions": "fund_account, exchange, security_code",
        "account_indicators": "fund_account",
        "customer_indicators": "customer_no",
        "reconciliation": "kind, fund_account, exchange, security_code",
        "dq_warnings": "kind, counter, fund_account, exchange, security_code",
    }
    for table in cm.SNAPSHOT_TABLES:
        path = cm.snapshot_file(out_dir, table, ctx.day)
        path.parent.mkdir(parents=True, exist_ok=True)
        sql.append(
            f"COPY (SELECT * FROM {table} ORDER BY {order[table]}) TO {_lit(str(path))}"
            " (FORMAT parquet, COMPRESSION zstd);"
        )
    if os.environ.get("BENCH_TRACE"):
        for statement in sql:
            started = time.perf_counter()
            con.execute(statement)
            print(f"{time.perf_counter() - started:7.2f} s  {' '.join(statement.split())[:90]}", file=sys.stderr)
    else:
        con.execute("\n".join(sql))
    counts = {
        t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in cm.SNAPSHOT_TABLES
    }
    return counts


def run(*, data_dir: Path, state_dir: Path, out_dir: Path, days: list[date]) -> dict[str, int]:
    """Compute ``days`` in order. The first reads the state of its previous day from
    ``state_dir``; later ones read the state this run wrote into ``out_dir``."""
    con = duckdb.connect()
    total: dict[str, int] = {}
    for i, day in enumerate(days):
        ctx = cm.day_context(data_dir, day)
        source = state_dir if i == 0 else out_dir
        if i > 0 and ctx.history_days:
            # The window's earlier days: this run's where it computed them, the given state else.
            source = _merged_state(state_dir, out_dir, ctx)
        counts = run_day(con=con, data_dir=data_dir, state_dir=source, out_dir=out_dir, ctx=ctx)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    con.close()
    return total


def _merged_state(state_dir: Path, out_dir: Path, ctx: cm.DayContext) -> Path:
    """A day after the first reads d-1 and the window from ``out_dir`` when this run computed
    them; days before the run came from ``state_dir``. Both use the same layout, so link the
    missing window partitions into ``out_dir`` once (hard links, no copy)."""
    for w in ctx.history_days:
        dst = cm.snapshot_file(out_dir, "customer_indicators", w)
        src = cm.snapshot_file(state_dir, "customer_indicators", w)
        if not dst.exists() and src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.link(src, dst)
    return out_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--day", type=date.fromisoformat, required=True)
    parser.add_argument("--state", type=Path, help="snapshot folder with d-1 (default: the published version)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    state = args.state or cm.published_version(args.data_dir)
    started = time.perf_counter()
    counts = run(data_dir=args.data_dir, state_dir=state, out_dir=args.out, days=[args.day])
    print(f"{time.perf_counter() - started:.2f} s", counts)


if __name__ == "__main__":
    main()
