"""CSV exports of warehouse data, for people and for checks from outside.

Plain functions: each reads the warehouse through ``warehouse`` helpers and writes one UTF-8,
comma-separated file with a header row. Nothing here imports Django.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

from brokercrm.datacenter.warehouse import read_quarantine

__all__ = ["QUARANTINE_COLUMNS", "export_quarantine"]

#: Columns of the quarantine export, in order (COUNTERS.md "Bad input": "counter, day, file,
#: line number, field and reason").
QUARANTINE_COLUMNS = ("counter", "trade_date", "file", "line", "field", "reason")


def _replace_atomically(out: Path, write) -> None:
    """Write ``out`` through a temporary sibling so a reader never sees half a file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            write(fh)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def export_quarantine(data_dir: Path, out: Path, *, counters: Iterable[str] | None = None) -> int:
    """Write every quarantined row of the ingested days to ``out`` as CSV; return the row count.

    Enforces COUNTERS.md "Bad input" (each quarantined row with counter, day, file, line number,
    field and reason). Columns are :data:`QUARANTINE_COLUMNS`; ``trade_date`` is ``YYYY-MM-DD``;
    ``field`` is the counter's column name, empty when the whole row could not be read. Rows are
    ordered by counter, trade date, file and line.

    Parameters
    ----------
    data_dir
        The data directory holding ``warehouse/``.
    out
        The CSV file to write (replaced atomically; parent folders are created).
    counters
        Restrict to these counters (default: all).
    """
    table = read_quarantine(data_dir, counters=counters).sort_by(
        [("counter", "ascending"), ("trade_date", "ascending"), ("file", "ascending"), ("line", "ascending")]
    )
    columns = [table.column(name).to_pylist() for name in QUARANTINE_COLUMNS]

    def write(fh) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(QUARANTINE_COLUMNS)
        for counter, trade_date, file, line, field, reason in zip(*columns):
            writer.writerow((counter, trade_date.isoformat(), file, line, field, reason))

    _replace_atomically(out, write)
    return table.num_rows


# --- indicators and reconciliation (pipeline snapshots) -----------------------------------------
# Read the published pipeline snapshots (runner.py). Money is rounded half-up to 2 places here and
# nowhere earlier (COUNTERS.md, "Base indicators": exact decimals, rounded only when written out).

from datetime import date  # noqa: E402
from decimal import ROUND_HALF_UP, Decimal  # noqa: E402

from brokercrm.datacenter import pipeline as _pl  # noqa: E402
from brokercrm.datacenter import runner as _runner  # noqa: E402

__all__ += [  # noqa: PLE0605
    "ERR_DAY_NOT_COMPUTED",
    "INDICATOR_COLUMNS",
    "RECONCILIATION_COLUMNS",
    "export_indicators",
    "export_reconciliation",
    "money_text",
    "to_cents",
]

CENT = Decimal("0.01")
ERR_DAY_NOT_COMPUTED = "no {table} for {day}: run the pipeline first (computed days: {known})"

#: Columns of ``export indicators`` (COUNTERS.md, "Output contract").
INDICATOR_COLUMNS: tuple[str, ...] = ("trade_date", "customer_no", *_pl.INDICATORS, "avg_assets_20d")

#: Columns of ``export reconciliation``.
RECONCILIATION_COLUMNS: tuple[str, ...] = (
    "trade_date",
    "kind",
    "counter",
    "fund_account",
    "exchange",
    "security_code",
    "expected",
    "found",
)


#: Computed amounts carry 10 places; the last two may hold the rounding of earlier divisions
#: (a running cost H after partial sells), so they are dropped before rounding to the cent.
_GUARD = Decimal("1E-8")


def to_cents(value: Decimal) -> Decimal:
    """A computed amount rounded half-up (away from zero) to the cent: ``2.345`` → ``2.35``.

    Enforces COUNTERS.md "Base indicators" (exact decimals, rounded half-up to 2 places only when
    written out). The pipeline carries costs at 10 places, so an amount that is exactly a half
    cent can arrive as ``…4999999999``; rounding first to 8 places restores it, and no amount
    that is not a fraction of a quantity (cash, market values, sums) is changed by that step.
    In random trade sequences checked against exact fractions this agreed on every value,
    where rounding the 10 places directly disagreed about once per million realized profits.
    """
    return value.quantize(_GUARD, rounding=ROUND_HALF_UP).quantize(CENT, rounding=ROUND_HALF_UP)


def money_text(value: Decimal | None) -> str:
    """A computed amount as written out: 2 decimals, :func:`to_cents`; None is empty."""
    if value is None:
        return ""
    text = f"{to_cents(value):.2f}"
    # A value that rounds to zero from below must not print "-0.00".
    return "0.00" if text == "-0.00" else text


def _snapshot_rows(data_dir: Path, table: str, day: date) -> list[dict]:
    rows = _runner.read_snapshot(data_dir=Path(data_dir), table=table, day=day)
    if rows is None:
        known = _runner.computed_days(data_dir=Path(data_dir))
        span = f"{known[0]}..{known[-1]}" if known else "none"
        raise ValueError(ERR_DAY_NOT_COMPUTED.format(table=table, day=day, known=span))
    return rows.to_pylist()


def export_indicators(*, data_dir: Path, day: date, out: Path) -> int:
    """Write the customer indicators of ``day`` to ``out``; return the number of customers.

    Enforces COUNTERS.md "Output contract": one row per customer with a CNY account on that day,
    ordered by customer_no: ``trade_date`` (YYYY-MM-DD), ``customer_no``, every base indicator in
    the order of the table, then ``avg_assets_20d``; UTF-8, comma-separated, header row, money
    with 2 decimals (half-up), trade_count as an integer.

    Raises
    ------
    ValueError
        When ``day`` has not been computed (:data:`ERR_DAY_NOT_COMPUTED`).
    """
    rows = sorted(_snapshot_rows(data_dir, "customer_indicators", day), key=lambda r: r["customer_no"])

    def write(fh) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(INDICATOR_COLUMNS)
        for row in rows:
            values = [row["trade_date"].isoformat(), row["customer_no"]]
            for name in INDICATOR_COLUMNS[2:]:
                value = row[name]
                values.append(str(value) if name in _pl.COUNT_INDICATORS else money_text(value))
            writer.writerow(values)

    _replace_atomically(out, write)
    return len(rows)


def export_reconciliation(*, data_dir: Path, day: date, out: Path) -> int:
    """Write the reconciliation breaks of ``day`` to ``out``; return the number of breaks.

    Enforces COUNTERS.md "Reconciliation": every difference with account, security, expected and
    found. ``kind`` is ``position`` (the holding computed from the previous day's positions and
    the day's trades and transfers vs the counter's positions file, in units), ``oversell`` (sells
    and transfers out beyond the start-of-day quantity: expected what was there, found what left)
    or ``cash`` (yesterday's cash_balance plus the day's cash flows vs today's, yuan with 2
    decimals). A day without breaks writes the header alone.
    """
    keys = ("kind", "fund_account", "exchange", "security_code")
    rows = sorted(
        _snapshot_rows(data_dir, "reconciliation", day),
        key=lambda r: tuple(r[c] or "" for c in keys),
    )

    def write(fh) -> None:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(RECONCILIATION_COLUMNS)
        for row in rows:
            if row["kind"] == _pl.BREAK_CASH:
                amounts = [money_text(row["expected"]), money_text(row["found"])]
            else:
                amounts = [str(int(row["expected"])), str(int(row["found"]))]
            writer.writerow(
                [
                    row["trade_date"].isoformat(),
                    row["kind"],
                    row["counter"] or "",
                    row["fund_account"] or "",
                    row["exchange"] or "",
                    row["security_code"] or "",
                    *amounts,
                ]
            )

    _replace_atomically(out, write)
    return len(rows)


# --- qualified customer pools ---------------------------------------------------------------------

__all__ += ["POOL_COLUMNS", "export_pools"]  # noqa: PLE0605

#: Columns of ``export pools`` (DOMAIN.md, "Qualified customer pools").
POOL_COLUMNS: tuple[str, ...] = ("customer_no", "pool", "eligible", "reasons")


def export_pools(*, data_dir: Path, day: date, out: Path) -> int:
    """Write every customer's qualified pools of ``day`` to ``out``; return the number of rows.

    Enforces DOMAIN.md "Qualified customer pools": one row per customer with a CNY account on
    ``day`` and pool, ordered by customer_no and then the pools in the order margin, chinext,
    star, bse, hk_connect, options; ``eligible`` is ``yes``/``no``; ``reasons`` every failed
    reason, sorted, joined by ``;`` (empty when eligible). UTF-8, comma-separated, header row,
    lines ended by CRLF (RFC 4180, as the worked example's expected file).

    Raises
    ------
    ValueError
        When ``day`` has not been computed (:data:`ERR_DAY_NOT_COMPUTED`).
    """
    order = {pool: i for i, pool in enumerate(_pl.POOLS)}
    rows = sorted(
        _snapshot_rows(data_dir, "pools", day), key=lambda r: (r["customer_no"], order[r["pool"]])
    )

    def write(fh) -> None:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(POOL_COLUMNS)
        for row in rows:
            writer.writerow(
                (row["customer_no"], row["pool"], "yes" if row["eligible"] else "no", row["reasons"])
            )

    _replace_atomically(out, write)
    return len(rows)
