"""``simulate()``: a synthetic brokerage written as end-of-day counter exports."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from brokercrm.datacenter.dictionaries import (
    COUNTERS,
    INDUSTRY_FILE,
    STANDARD_CODES,
    STANDARD_TABLES,
)

from .accounts import COUNTER_NAMES, build_population
from .calendar import trading_days
from .faults import inject_faults
from .market import STOCK, Market, build_market
from .trading import Brokerage, DayTables, Table
from .writer import CounterWriter

__all__ = ["DEFAULT_START", "NEW_CUSTOMER_RATE", "SimulationSummary", "simulate"]

#: First calendar day of a run when none is given: fixed, so a seed alone fixes the output.
DEFAULT_START = date(2025, 1, 2)
#: Customers opening per trading day, as a share of the initial customers (≈ 12 % a year).
NEW_CUSTOMER_RATE = 0.0005


@dataclass(frozen=True)
class SimulationSummary:
    """What a run wrote.

    ``rows`` maps counter → table → data rows written over all days (headers excluded,
    before any fault was injected).
    """

    out: Path
    seed: int
    trading_days: tuple[date, ...]
    customers: int
    customers_total: int
    fund_accounts: int
    securities: int
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    faults: int = 0
    seconds: float = 0.0


def simulate(
    *,
    out: Path,
    customers: int,
    days: int,
    seed: int,
    start: date | None = None,
    faults: bool = False,
    progress: Callable[[int, int, date], None] | None = None,
) -> SimulationSummary:
    """Simulate a brokerage and write its counter exports in both styles.

    The customers are split between a Hundsun-style counter (``out/hundsun/YYYYMMDD/*.csv``)
    and an Apex-style counter (``out/apex/YYYYMMDD/*.txt``, GBK, ``|``), as after a merger,
    about 60/40. Every table's file is in every day folder (COUNTERS.md); Shenwan industries
    of the stocks go to ``out/reference/industry.csv``.

    Parameters
    ----------
    out : folder to write into; must be empty or absent.
    customers : customers on the initial day (about 0.05 % more open each later day).
    days : trading days to simulate (weekends and exchange holidays are skipped).
    seed : the same seed writes byte-identical files.
    start : first calendar day considered; the initial day is the first trading day from it
        (default ``DEFAULT_START``).
    faults : also damage the export and list every fault in ``out/faults.json``
        (see ``brokercrm.simulate.faults``).
    progress : called as ``progress(done, total, day)`` after each day is written.

    Returns
    -------
    SimulationSummary

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     summary = simulate(out=Path(tmp), customers=50, days=3, seed=1)
    ...     sorted(p.name for p in (Path(tmp) / "hundsun").iterdir())
    ['20250102', '20250103', '20250106']
    """
    if customers < 1 or days < 1:
        raise ValueError("customers and days must be at least 1")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; the simulator writes into an empty folder")
    began = time.perf_counter()
    calendar = trading_days(start=start or DEFAULT_START, count=days)

    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)]
    market_rng, people_rng, life_rng, fault_rng = streams
    market = build_market(rng=market_rng, days=days)
    new_per_day = people_rng.poisson(customers * NEW_CUSTOMER_RATE, days)
    new_per_day[0] = 0
    branches, population, accounts = build_population(
        rng=people_rng, initial=customers, new_per_day=new_per_day, days=calendar
    )
    firm = Brokerage(
        rng=life_rng,
        market=market,
        customers=population,
        accounts=accounts,
        branch_codes=branches.code,
        days=calendar,
    )
    writers = [CounterWriter(root=out, counter=COUNTERS[name]) for name in COUNTER_NAMES]
    rows = {name: dict.fromkeys(STANDARD_TABLES, 0) for name in COUNTER_NAMES}
    splits = {"customer": population.split, "account": accounts.split}

    for j, day in enumerate(calendar):
        tables = firm.initial_day() if j == 0 else firm.next_day()
        _write_day(tables, writers, splits, rows)
        if progress is not None:
            progress(j + 1, days, day)

    _write_industries(out, market)
    injected = 0
    if faults:
        folders = [d.strftime("%Y%m%d") for d in calendar]
        injected = len(inject_faults(out=out, counters=dict(COUNTERS), days=folders, rng=fault_rng))

    return SimulationSummary(
        out=out,
        seed=seed,
        trading_days=tuple(calendar),
        customers=customers,
        customers_total=population.size,
        fund_accounts=int((accounts.open_day <= days - 1).sum()),
        securities=int(market.listed.sum()),
        rows=rows,
        faults=injected,
        seconds=time.perf_counter() - began,
    )


def _write_day(
    tables: DayTables,
    writers: list[CounterWriter],
    splits: dict[str, int],
    rows: dict[str, dict[str, int]],
) -> None:
    folder = tables.day.strftime("%Y%m%d")
    for table in STANDARD_TABLES:
        rows_of = tables.tables[table]
        parts = (
            _split(rows_of, splits[rows_of.owner_kind])
            if rows_of.owner is not None
            else [rows_of.columns] * 2
        )
        for writer, columns in zip(writers, parts, strict=True):
            rows[writer.counter.name][table] += writer.write(
                day=folder, table=table, columns=columns
            )


def _split(table: Table, boundary: int) -> list[dict[str, object]]:
    """The rows of each counter: owners below ``boundary`` are Hundsun's (rows are sorted)."""
    cut = int(np.searchsorted(table.owner, boundary))
    n = len(table.owner)
    return [_slice(table.columns, 0, cut), _slice(table.columns, cut, n)]


def _slice(columns: dict[str, object], lo: int, hi: int) -> dict[str, object]:
    def part(value: object) -> object:
        if isinstance(value, tuple):
            return tuple(part(v) if np.ndim(v) else v for v in value)
        if isinstance(value, pa.Array):
            return value.slice(lo, hi - lo)
        return value[lo:hi]

    return {name: part(value) for name, value in columns.items()}


def _write_industries(out: Path, market: Market) -> None:
    """``reference/industry.csv``: Shenwan level-1 industry of the stocks.

    About 2 % of stocks are left out, as a real reference feed lags new listings; they read as
    ``unknown`` (COUNTERS.md, "Reference data").
    """
    exchanges = STANDARD_CODES["exchange"]
    codes = market.code.to_pylist()
    lines = ["exchange,security_code,industry"]
    for i in np.flatnonzero(market.sec_type == STOCK):
        if market.industry[i] is not None and (i * 7919) % 50 != 0:
            lines.append(f"{exchanges[market.exchange[i]]},{codes[i]},{market.industry[i]}")
    path = out / INDUSTRY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
