"""pandas reference of the pipeline's one-day step (bench only, never imported by brokercrm).

Same inputs, rules and outputs as ``reference_duckdb.py`` (which see): d's flows from the
warehouse Parquet files, the state of d-1 and the 20-day window from a snapshot folder, and the
seven snapshot tables of d written as zstd Parquet in the same layout and types.

Money is exact **scaled integers**, never float and never ``Decimal`` objects in bulk:

* amounts are int64 cents, prices and market values int64 units of 10**-4 yuan (read straight
  from the Arrow decimal buffers, with an overflow check; every sum of them is exact);
* the few values with 10 places (the running cost H of a holding that moved today, the cost of
  a sale, realized_pnl, averages) are Python ints in units of 10**-10 yuan — only for the rows
  that need them; an unchanged holding passes through with its stored decimals untouched;
* divisions round half-up (away from zero) to 10**-10, as ``pipeline.with_quotients``.

pandas does the relational work (filters, merges, group-bys); pyarrow does the I/O (as
``pd.read_parquet`` / ``DataFrame.to_parquet`` would), the decimal ↔ integer conversions and the
final row order of the written files.

Usage::

    .venv/bin/python bench/reference_pandas.py --data-dir DIR --day 2025-01-03 --out /tmp/ref
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as cm  # noqa: E402

KEY = ["counter", "fund_account", "exchange", "security_code"]
SEC = ["exchange", "security_code"]
FEES = ["commission", "stamp_tax", "transfer_fee", "exchange_fee", "other_fee"]
_M64 = (1 << 64) - 1
WIDE = pa.decimal128(38, 10)
PRICE = pa.decimal128(18, 4)


# --- exact decimal <-> integer -------------------------------------------------------------------


def _words(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Low and high 64-bit words of a decimal128 array's unscaled values."""
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=2 * (arr.offset + len(arr)))
    words = words[2 * arr.offset :]
    return words[0::2], words[1::2]


def units(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A decimal column as int64 units of its own scale (nulls as 0); OverflowError if it does
    not fit."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(Decimal(0), arr.type))
    lo, hi = _words(arr)
    if not np.array_equal(hi, lo >> 63):
        raise OverflowError("a decimal does not fit int64 units")
    return np.ascontiguousarray(lo)


def big_units(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A decimal column as Python ints (units of its scale), in an object array."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if arr.null_count:
        arr = pc.fill_null(arr, pa.scalar(Decimal(0), arr.type))
    lo, hi = _words(arr)
    out = np.empty(len(arr), dtype=object)
    out[:] = [(h << 64) | l for h, l in zip(hi.tolist(), lo.view(np.uint64).tolist())]
    return out


def dec(values: np.ndarray, scale: int) -> pa.Array:
    """int64 units (or Python ints in an object array) of 10**-scale as decimal128(38, scale)."""
    n = len(values)
    words = np.empty(2 * n, dtype=np.int64)
    if values.dtype == object:
        words[0::2] = np.array([int(v) & _M64 for v in values], dtype=np.uint64).view(np.int64)
        words[1::2] = np.array([int(v) >> 64 for v in values], dtype=np.int64)
    else:
        v = np.ascontiguousarray(values, dtype=np.int64)
        words[0::2] = v
        words[1::2] = v >> 63
    return pa.Array.from_buffers(pa.decimal128(38, scale), n, [None, pa.py_buffer(words)])


def wide(values: np.ndarray, scale: int) -> pa.Array:
    """int64 units of 10**-scale (scale <= 10) as decimal128(38, 10), exactly."""
    return dec(values, scale).cast(WIDE)


def div_half_up(n: np.ndarray, d: np.ndarray) -> np.ndarray:
    """n / d rounded half-up (away from zero), 0 where d == 0 (object arrays of Python ints)."""
    n = np.asarray(n, dtype=object)
    d = np.asarray(d, dtype=object)
    safe = np.where(d == 0, 1, d)
    q = (2 * np.abs(n) + safe) // (2 * safe)
    q = np.where(n < 0, -q, q)
    return np.where(d == 0, 0, q)


def scale4_to_10(s: np.ndarray, n: np.ndarray) -> pa.Array:
    """s / n for int64 units of 10**-4 and positive int64 n, half-up to 10 places, as decimal,
    without leaving int64: s/n = q + r/n with r < n, so only r·10**6/n is divided finely."""
    sign = np.where(s < 0, -1, 1)
    q, r = np.divmod(np.abs(s), n)
    frac = (2 * r * 10**6 + n) // (2 * n)  # units of 10**-10, in [0, 10**6]
    return pc.add(dec(sign * q, 4).cast(pa.decimal128(37, 10)), dec(sign * frac, 10).cast(pa.decimal128(37, 10))).cast(WIDE)


# --- input ---------------------------------------------------------------------------------------


def _dates(day: date, n: int) -> pa.Array:
    return pa.repeat(pa.scalar(day, pa.date32()), n)


def _nullable(df: pd.DataFrame) -> pd.DataFrame:
    """int64 columns as pandas' nullable Int64, so that an outer or left merge marks a missing
    value NA instead of turning the integers into float64."""
    return df.astype({c: "Int64" for c, t in df.dtypes.items() if t == np.int64})


def _read(paths: list[Path], columns: list[str] | None = None) -> pa.Table:
    return pa.concat_tables([pq.read_table(p, columns=columns) for p in paths])


def _state(state_dir: Path, table: str, day: date | None) -> pa.Table | None:
    if day is None:
        return None
    return cm.read_snapshot(state_dir, table, day)


def _frame(table: pa.Table, money: dict[str, int] | None = None) -> pd.DataFrame:
    """Arrow → pandas; decimal columns named in ``money`` become int64 units of the given scale
    (cents = 2, prices = 4)."""
    money = money or {}
    plain = [c for c in table.column_names if c not in money]
    df = table.select(plain).to_pandas()
    for name, scale in money.items():
        col = table.column(name)
        have = col.type.scale
        if scale < have:  # an exact value stored wider (10 places): safe cast, raises on loss
            col, have = col.cast(pa.decimal128(38, scale)), scale
        df[name] = units(col) * 10 ** (scale - have)
    return df


# --- the day -------------------------------------------------------------------------------------


def run_day(*, data_dir: Path, state_dir: Path, out_dir: Path, ctx: cm.DayContext) -> dict[str, int]:
    day = ctx.day
    opening = list(ctx.opening_counters)
    gap_days = (day - ctx.previous_day).days - 1 if ctx.previous_day else 0
    flows = {t: _read(cm.flow_files(data_dir, t, day)) for t in cm.FLOW_TABLES}
    prev_closes = _state(state_dir, "closes", ctx.previous_day)
    prev_accounts = _state(state_dir, "accounts", ctx.previous_day)
    prev_positions = _state(state_dir, "positions", ctx.previous_day)
    out: dict[str, pa.Table] = {}

    # --- Close price -------------------------------------------------------------------------
    quotes = _frame(flows["quotes"].select([*SEC, "close_price", "trade_date"]), {"close_price": 4})
    quotes = quotes[quotes.trade_date <= day].rename(columns={"trade_date": "close_date"})
    securities = flows["securities"].select([*SEC, "security_type"]).to_pandas()
    parts = [quotes]
    types = [securities]
    if prev_closes is not None:
        pc_df = _frame(prev_closes.select([*SEC, "security_type", "close_price", "close_date"]), {"close_price": 4})
        parts.append(pc_df.loc[pc_df.close_date.notna(), [*SEC, "close_price", "close_date"]])
        known = pc_df[pc_df.security_type.notna()]
        older = known.merge(securities[SEC].drop_duplicates(), on=SEC, how="left", indicator=True)
        types.append(older.loc[older._merge == "left_only", [*SEC, "security_type"]])
    q = pd.concat(parts, ignore_index=True)
    per_day = q.groupby([*SEC, "close_date"], as_index=False).close_price.min()
    latest = per_day.sort_values("close_date").groupby(SEC, as_index=False).tail(1)
    types = pd.concat(types, ignore_index=True).groupby(SEC, as_index=False).security_type.min()
    keys = pd.concat([types[SEC], latest[SEC]], ignore_index=True).drop_duplicates()
    closes = keys.merge(types, on=SEC, how="left").merge(latest, on=SEC, how="left")
    closes["quoted"] = closes.close_date.notna()
    closes["close_price"] = closes.close_price.fillna(0).astype(np.int64)
    closes = closes.sort_values(SEC, kind="stable", ignore_index=True)
    out["closes"] = pa.table(
        {
            "trade_date": _dates(day, len(closes)),
            "exchange": pa.array(closes.exchange, pa.string()),
            "security_code": pa.array(closes.security_code, pa.string()),
            "security_type": pa.array(closes.security_type, pa.string()),
            "close_price": dec(closes.close_price.to_numpy(), 4).cast(PRICE),
            "close_date": pa.array(closes.close_date, pa.date32()),
            "quoted": pa.array(closes.quoted, pa.bool_()),
        }
    )
    price = _nullable(closes[[*SEC, "security_type", "close_price"]])

    # --- Accounts and cash -------------------------------------------------------------------
    master_cols = ["counter", "fund_account", "customer_no", "branch_code", "account_type", "currency", "open_date", "status"]
    fa = flows["fund_accounts"].select([*master_cols, "line"]).to_pandas()
    fa = fa[fa.line == fa.groupby("fund_account").line.transform("max")][master_cols]
    if prev_accounts is not None:
        pa_df = _frame(
            prev_accounts.select([*master_cols, "cash_balance", "frozen_balance"]),
            {"cash_balance": 2, "frozen_balance": 2},
        )
        kept = pa_df.loc[~pa_df.fund_account.isin(fa.fund_account), master_cols]
        master = pd.concat([fa, kept], ignore_index=True)
        carried = pa_df[["fund_account", "cash_balance", "frozen_balance"]].rename(
            columns={"cash_balance": "prev_cash", "frozen_balance": "prev_frozen"}
        )
    else:
        master = fa.reset_index(drop=True)
        carried = pd.DataFrame({"fund_account": pd.Series([], dtype="str"), "prev_cash": np.int64(0), "prev_frozen": np.int64(0)})
    cf = _frame(
        flows["cash_flows"].select(["fund_account", "serial_no", "kind", "amount", "balance_after"]),
        {"amount": 2, "balance_after": 2},
    )
    cf["bank_in"] = np.where(cf.kind == "bank_in", cf.amount, 0)
    cf["bank_out"] = np.where(cf.kind == "bank_out", -cf.amount, 0)
    last = cf.loc[cf.groupby("fund_account").serial_no.idxmax(), ["fund_account", "balance_after"]]
    sums = cf.groupby("fund_account").agg(
        flow_total=("amount", "sum"), flow_count=("amount", "size"), bank_in=("bank_in", "sum"), bank_out=("bank_out", "sum")
    )
    sums = sums.reset_index().merge(last, on="fund_account")
    fr = _frame(flows["freezes"].select(["fund_account", "amount"]), {"amount": 2})
    fr = fr.groupby("fund_account", as_index=False).amount.sum().rename(columns={"amount": "frozen_today"})
    acc = master.merge(_nullable(sums), on="fund_account", how="left")
    acc = acc.merge(_nullable(fr), on="fund_account", how="left")
    acc = acc.merge(_nullable(carried), on="fund_account", how="left")
    prev_cash = acc.prev_cash.fillna(0).astype(np.int64).to_numpy()
    has_flow = acc.balance_after.notna().to_numpy()
    acc["previous_cash_balance"] = prev_cash
    acc["cash_balance"] = np.where(has_flow, acc.balance_after.fillna(0).astype(np.int64), prev_cash)
    for c in ("flow_total", "flow_count", "bank_in", "bank_out", "frozen_today", "prev_frozen"):
        acc[c] = acc[c].fillna(0).astype(np.int64)
    acc["frozen_balance"] = acc.prev_frozen + acc.frozen_today
    acc = acc.sort_values("fund_account", kind="stable", ignore_index=True)
    out["accounts"] = pa.table(
        {
            "trade_date": _dates(day, len(acc)),
            **{c: pa.array(acc[c], pa.date32() if c == "open_date" else pa.string()) for c in master_cols},
            "previous_cash_balance": dec(acc.previous_cash_balance.to_numpy(), 2),
            "cash_balance": dec(acc.cash_balance.to_numpy(), 2),
            "cash_flow_total": dec(acc.flow_total.to_numpy(), 2),
            "cash_flow_count": pa.array(acc.flow_count, pa.int64()),
            "bank_in": dec(acc.bank_in.to_numpy(), 2),
            "bank_out": dec(acc.bank_out.to_numpy(), 2),
            "frozen_balance": dec(acc.frozen_balance.to_numpy(), 2),
        }
    )

    # --- Average cost ------------------------------------------------------------------------
    trades = _frame(
        flows["trades"].select([*KEY, "side", "quantity", "amount", *FEES]),
        {"amount": 2, **{f: 2 for f in FEES}},
    )
    transfers = flows["security_transfers"].select([*KEY, "direction", "quantity"]).to_pandas()
    transfers = transfers.merge(price, on=SEC, how="left")
    transfers["close_price"] = transfers.close_price.fillna(0).astype(np.int64)
    transfers["value"] = transfers.close_price * transfers.quantity  # units of 10**-4
    fees = trades[FEES].sum(axis=1)
    st = trades[~trades.counter.isin(opening)]
    sf = fees[st.index]
    sell, buy = (st.side == "sell").to_numpy(), (st.side == "buy").to_numpy()
    trade_moves = pd.DataFrame(
        {
            **{k: st[k] for k in KEY},
            "q_sell": np.where(sell, st.quantity, 0),
            "q_out": 0,
            "proceeds": np.where(sell, st.amount - sf, 0) * 100,  # units of 10**-4
            "q_in": np.where(buy, st.quantity, 0),
            "h_in": np.where(buy, st.amount + sf, 0) * 100,
            "n_sells": sell.astype(np.int64),
        }
    )
    tt = transfers[~transfers.counter.isin(opening)]
    t_in, t_out = (tt.direction == "in").to_numpy(), (tt.direction == "out").to_numpy()
    transfer_moves = pd.DataFrame(
        {
            **{k: tt[k] for k in KEY},
            "q_sell": 0,
            "q_out": np.where(t_out, tt.quantity, 0),
            "proceeds": 0,
            "q_in": np.where(t_in, tt.quantity, 0),
            "h_in": np.where(t_in, tt.value, 0),
            "n_sells": 0,
        }
    )
    moves = pd.concat([trade_moves, transfer_moves], ignore_index=True)
    moves = moves[(moves.q_sell + moves.q_out + moves.q_in) > 0]  # the rows with a side or direction
    moves = moves.groupby(KEY, as_index=False, sort=False).sum()

    if prev_positions is not None and opening:
        prev_positions = prev_positions.filter(pc.invert(pc.is_in(prev_positions["counter"], pa.array(opening))))
    if prev_positions is None:
        prev_positions = pa.table(
            {**{k: pa.array([], pa.string()) for k in KEY}, "quantity": pa.array([], pa.int64()),
             "cost": pa.array([], WIDE), "average_cost": pa.array([], WIDE)}
        )
    prev_keys = _nullable(prev_positions.select([*KEY, "quantity"]).to_pandas())
    prev_keys["_i"] = np.arange(len(prev_keys))
    m = moves.merge(prev_keys, on=KEY, how="left")
    had = m._i.notna().to_numpy()
    idx = m._i.fillna(-1).astype(np.int64).to_numpy()
    q0 = m.quantity.fillna(0).astype(np.int64).to_numpy()
    h0 = np.zeros(len(m), dtype=object)
    a0 = np.zeros(len(m), dtype=object)
    if had.any():
        h0[had] = big_units(prev_positions["cost"].take(pa.array(idx[had])))
        a0[had] = big_units(prev_positions["average_cost"].take(pa.array(idx[had])))
    q_sell, q_out, q_in = (m[c].to_numpy() for c in ("q_sell", "q_out", "q_in"))
    sold = np.minimum(q_sell, q0)
    q_mid = q0 - np.minimum(q_sell + q_out, q0)
    removing = (q_sell + q_out) > 0
    sold_cost = np.where(removing, div_half_up(h0 * sold, q0), 0)
    h_mid = np.where(removing, div_half_up(h0 * q_mid, q0), h0)
    q_end = q_mid + q_in
    h_in10 = m.h_in.to_numpy().astype(object) * 10**6
    h_end = np.where(q_end == 0, 0, h_mid + h_in10)
    changed = (q_sell + q_out + q_in) > 0
    avg = np.where(changed, div_half_up(h_end, q_end), a0)
    # realized_pnl: Σ over sells (amount − fees) − the cost of what was sold (10**-10 units)
    m["realized"] = m.proceeds.to_numpy().astype(object) * 10**6 - sold_cost
    realized = m.loc[m.n_sells.to_numpy() > 0].groupby("fund_account").realized.sum()

    # end-of-day holdings: unchanged ones pass through, moved ones recomputed, opening ones added
    untouched = np.ones(len(prev_keys), dtype=bool)
    untouched[idx[had]] = False
    kept = prev_positions.filter(pa.array(untouched)).select([*KEY, "quantity", "cost", "average_cost"])
    kept = kept.filter(pc.not_equal(kept["quantity"], 0))
    live = q_end != 0
    moved = pa.table(
        {
            **{k: pa.array(m.loc[live, k], pa.string()) for k in KEY},
            "quantity": pa.array(q_end[live], pa.int64()),
            "cost": dec(h_end[live], 10),
            "average_cost": dec(avg[live], 10),
        }
    )
    pieces = [kept, moved]
    cpos = _frame(flows["positions"].select([*KEY, "quantity", "cost_price"]), {"cost_price": 4})
    if opening:
        op = cpos[cpos.counter.isin(opening) & (cpos.quantity != 0)]
        op = op.assign(cost=op.cost_price * op.quantity).groupby(KEY, as_index=False)[["quantity", "cost"]].sum()
        qn, cost4 = op.quantity.to_numpy(), op.cost.to_numpy()
        pieces.append(
            pa.table(
                {
                    **{k: pa.array(op[k], pa.string()) for k in KEY},
                    "quantity": pa.array(qn, pa.int64()),
                    "cost": wide(cost4, 4),
                    "average_cost": scale4_to_10(cost4, np.where(qn == 0, 1, qn)),
                }
            )
        )
    positions = pa.concat_tables([p.cast(pieces[0].schema) for p in pieces])
    positions = positions.sort_by([("fund_account", "ascending"), ("exchange", "ascending"), ("security_code", "ascending")])
    out["positions"] = pa.table(
        {"trade_date": _dates(day, len(positions)), **{c: positions[c] for c in positions.column_names}}
    )

    # --- Per fund account --------------------------------------------------------------------
    cv = cpos.merge(price, on=SEC, how="left")
    close = cv.close_price.fillna(0).astype(np.int64).to_numpy()
    stype = cv.security_type
    value = np.where(stype == "repo", 100 * 10**4, close) * cv.quantity.to_numpy()
    values = pd.DataFrame(
        {
            "fund_account": cv.fund_account,
            "stock_value": np.where(stype == "stock", value, 0),
            "fund_value": np.where(stype.isin(["fund", "etf", "lof"]), value, 0),
            "bond_value": np.where(stype.isin(["bond", "convertible", "repo"]), value, 0),
        }
    ).groupby("fund_account").sum()
    tv = pd.DataFrame(
        {
            "fund_account": transfers.fund_account,
            "securities_in_value": np.where(transfers.direction == "in", transfers.value, 0),
            "securities_out_value": np.where(transfers.direction == "out", transfers.value, 0),
        }
    ).groupby("fund_account").sum()
    md = _frame(
        flows["margin_debts"].select(["fund_account", *SEC, "financing_balance", "short_quantity", "interest_payable"]),
        {"financing_balance": 4, "interest_payable": 4},
    ).merge(price, on=SEC, how="left")
    md["debt"] = md.financing_balance + md.close_price.fillna(0).astype(np.int64) * md.short_quantity + md.interest_payable
    dv = md.groupby("fund_account").debt.sum()
    trades["net_commission"] = trades.commission - trades.exchange_fee
    trv = trades.groupby("fund_account").agg(
        trade_amount=("amount", "sum"), trade_count=("amount", "size"), commission=("commission", "sum"),
        net_commission=("net_commission", "sum"),
    )
    ai = acc[acc.currency == cm.BASE_CURRENCY][["counter", "fund_account", "customer_no", "account_type",
                                                 "cash_balance", "previous_cash_balance", "bank_in", "bank_out", "frozen_balance"]]
    for part in (_nullable(values), _nullable(tv), _nullable(dv.to_frame()), _nullable(trv)):
        ai = ai.join(part, on="fund_account")
    four = ["securities_in_value", "securities_out_value", "stock_value", "fund_value", "bond_value", "debt"]
    two = ["trade_amount", "trade_count", "commission", "net_commission"]
    for c in four + two:
        ai[c] = ai[c].fillna(0).astype(np.int64)
    ai["total_assets"] = ai.cash_balance * 100 + ai.stock_value + ai.fund_value + ai.bond_value  # 10**-4
    ai["net_assets"] = ai.total_assets - ai.debt
    ai["interest_base"] = ai.previous_cash_balance * gap_days + ai.cash_balance  # cents
    realized_of = realized.reindex(ai.fund_account).to_numpy()
    realized_of = np.where(pd.isna(realized_of), 0, realized_of).astype(object)
    ai = ai.reset_index(drop=True)
    scale_of = {
        "cash_balance": 2, "bank_in": 2, "bank_out": 2, "interest_base": 2, "trade_amount": 2,
        "commission": 2, "net_commission": 2, "frozen_balance": 2,
        "securities_in_value": 4, "securities_out_value": 4, "stock_value": 4, "fund_value": 4,
        "bond_value": 4, "debt": 4, "total_assets": 4, "net_assets": 4,
    }
    order = np.argsort(ai.fund_account.to_numpy(), kind="stable")

    def indicator_columns(frame: pd.DataFrame, realized_values: np.ndarray, rows: np.ndarray) -> dict[str, pa.Array]:
        cols = {}
        for name in cm.INDICATORS:
            if name == "trade_count":
                cols[name] = pa.array(frame[name].to_numpy()[rows], pa.int64())
            elif name == "realized_pnl":
                cols[name] = dec(realized_values[rows], 10)
            else:
                cols[name] = wide(frame[name].to_numpy()[rows], scale_of[name])
        return cols

    out["account_indicators"] = pa.table(
        {
            "trade_date": _dates(day, len(ai)),
            **{c: pa.array(ai[c].to_numpy()[order], pa.string()) for c in ("counter", "fund_account", "customer_no", "account_type")},
            **indicator_columns(ai, realized_of, order),
        }
    )

    # --- Per customer ------------------------------------------------------------------------
    sum_cols = [n for n in cm.INDICATORS if n != "realized_pnl"]
    cust = ai.groupby("customer_no")[sum_cols].sum()
    has_pnl = np.array([v != 0 for v in realized_of], dtype=bool)
    cust_pnl = pd.Series(realized_of[has_pnl], index=ai.customer_no.to_numpy()[has_pnl], dtype=object)
    cust_pnl = cust_pnl.groupby(level=0).sum().reindex(cust.index)
    cust_pnl = np.where(pd.isna(cust_pnl.to_numpy()), 0, cust_pnl.to_numpy()).astype(object)
    totals = [pd.DataFrame({"customer_no": cust.index, "total_assets": cust.total_assets.to_numpy()})]
    history = [cm.snapshot_file(state_dir, "customer_indicators", w) for w in ctx.history_days]
    for path in history:
        if path.exists():
            h = pq.read_table(path, columns=["customer_no", "trade_date", "total_assets"])
            h = h.filter(pc.is_in(h["trade_date"], pa.array(list(ctx.history_days), pa.date32())))
            totals.append(_frame(h.select(["customer_no", "total_assets"]), {"total_assets": 4}))
    # One row per customer and day (customer_indicators is keyed so): count == distinct days.
    totals = pd.concat(totals, ignore_index=True).groupby("customer_no").total_assets.agg(["sum", "size"])
    totals = totals.reindex(cust.index)
    s, n = totals["sum"].to_numpy(np.int64), totals["size"].to_numpy(np.int64)
    cust = cust.reset_index()
    corder = np.argsort(cust.customer_no.to_numpy(), kind="stable")
    out["customer_indicators"] = pa.table(
        {
            "trade_date": _dates(day, len(cust)),
            "customer_no": pa.array(cust.customer_no.to_numpy()[corder], pa.string()),
            **indicator_columns(cust, cust_pnl, corder),
            "avg_assets_20d": scale4_to_10(s[corder], n[corder]),
            "avg_assets_20d_days": pa.array(n[corder], pa.int64()),
            "avg_assets_20d_partial": pa.array(n[corder] < cm.AVG_ASSETS_DAYS, pa.bool_()),
        }
    )

    # --- Reconciliation ----------------------------------------------------------------------
    over = m[(q_sell + q_out) > q0]
    oversell = pd.DataFrame({**{k: over[k] for k in KEY}, "kind": "oversell", "expected": q0[(q_sell + q_out) > q0] * 100,
                             "found": (over.q_sell + over.q_out).to_numpy() * 100})
    comp = positions.select([*KEY, "quantity"]).to_pandas().assign(found=0).rename(columns={"quantity": "expected"})
    both = pd.concat([comp, cpos[[*KEY]].assign(expected=0, found=cpos.quantity)], ignore_index=True)
    both = both.groupby(KEY, as_index=False)[["expected", "found"]].sum()
    pos_breaks = both[both.expected != both.found].assign(kind="position")
    pos_breaks = pos_breaks.assign(expected=pos_breaks.expected * 100, found=pos_breaks.found * 100)
    expected_cash = acc.previous_cash_balance + acc.flow_total
    off = acc[expected_cash != acc.cash_balance]
    cash_breaks = pd.DataFrame({"counter": off.counter, "fund_account": off.fund_account, "exchange": None,
                                "security_code": None, "kind": "cash", "expected": expected_cash[off.index],
                                "found": off.cash_balance})
    rec = pd.concat([oversell, pos_breaks, cash_breaks], ignore_index=True)
    rec = rec.sort_values(["kind", "fund_account", "exchange", "security_code"], kind="stable", na_position="last", ignore_index=True)
    out["reconciliation"] = pa.table(
        {
            "trade_date": _dates(day, len(rec)),
            "kind": pa.array(rec.kind, pa.string()),
            **{k: pa.array(rec[k], pa.string()) for k in KEY},
            "expected": dec(rec.expected.to_numpy(np.int64), 2),
            "found": dec(rec.found.to_numpy(np.int64), 2),
        }
    )

    # --- Data-quality warnings ---------------------------------------------------------------
    used = pd.concat(
        [
            cpos.loc[cpos.quantity != 0, [*SEC, "fund_account"]],
            transfers[[*SEC, "fund_account"]],
            md.loc[md.short_quantity != 0, [*SEC, "fund_account"]],
        ],
        ignore_index=True,
    ).merge(closes[[*SEC, "quoted", "security_type"]], on=SEC, how="left")
    quoted = used.quoted.astype("boolean").fillna(False).to_numpy(bool)
    known = used.security_type.notna().to_numpy()
    dq = []
    unq = used[~quoted].groupby(SEC, as_index=False).fund_account.nunique()
    dq.append(pd.DataFrame({"kind": "never_quoted", "counter": None, "fund_account": None, "exchange": unq.exchange,
                            "security_code": unq.security_code,
                            "detail": "never quoted: valued at 0 in " + unq.fund_account.astype(str) + " account(s)"}))
    unk = used[~known].groupby(SEC, as_index=False).fund_account.nunique()
    dq.append(pd.DataFrame({"kind": "unknown_security", "counter": None, "fund_account": None, "exchange": unk.exchange,
                            "security_code": unk.security_code,
                            "detail": "not in any security master: no market-value bucket, in "
                            + unk.fund_account.astype(str) + " account(s)"}))
    other = acc[acc.currency != cm.BASE_CURRENCY]
    dq.append(pd.DataFrame({"kind": "non_cny_account", "counter": other.counter, "fund_account": other.fund_account,
                            "exchange": None, "security_code": None,
                            "detail": "currency " + other.currency + ": skipped (v1 computes CNY)"}))
    if opening:
        miss = cpos[cpos.counter.isin(opening) & np.asarray(pc.is_null(flows["positions"]["cost_price"]))
                    & (cpos.quantity != 0)]
        dq.append(pd.DataFrame({"kind": "opening_cost_missing", "counter": miss.counter, "fund_account": miss.fund_account,
                                "exchange": miss.exchange, "security_code": miss.security_code,
                                "detail": "initial day holding without cost price: cost 0"}))
        early = trades[trades.counter.isin(opening) & (trades.side == "sell")]
        early = early.groupby(["counter", "fund_account"], as_index=False).size()
        dq.append(pd.DataFrame({"kind": "initial_day_sell", "counter": early.counter, "fund_account": early.fund_account,
                                "exchange": None, "security_code": None,
                                "detail": early["size"].astype(str) + " sell(s) on the counter's initial day: no previous"
                                " average cost, not in realized_pnl"}))
    dq = pd.concat([x for x in dq if len(x)], ignore_index=True) if any(len(x) for x in dq) else dq[0]
    dq = dq.sort_values(["kind", "counter", "fund_account", "exchange", "security_code"], kind="stable",
                        na_position="last", ignore_index=True)
    out["dq_warnings"] = pa.table(
        {
            "trade_date": _dates(day, len(dq)),
            **{c: pa.array(dq[c], pa.string(), from_pandas=True) for c in ("kind", "counter", "fund_account", "exchange", "security_code", "detail")},
        }
    )

    for table, arrow in out.items():
        path = cm.snapshot_file(out_dir, table, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(arrow, path, compression="zstd")
    return {t: a.num_rows for t, a in out.items()}


def run(*, data_dir: Path, state_dir: Path, out_dir: Path, days: list[date]) -> dict[str, int]:
    """Compute ``days`` in order; the first reads d-1 from ``state_dir``, later ones from
    ``out_dir`` (see reference_duckdb.run)."""
    import reference_duckdb

    total: dict[str, int] = {}
    for i, day in enumerate(days):
        ctx = cm.day_context(data_dir, day)
        source = state_dir if i == 0 else reference_duckdb._merged_state(state_dir, out_dir, ctx)
        for k, v in run_day(data_dir=data_dir, state_dir=source, out_dir=out_dir, ctx=ctx).items():
            total[k] = total.get(k, 0) + v
    return total


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
