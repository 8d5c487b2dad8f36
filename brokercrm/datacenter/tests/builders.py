"""A tiny brokerage built day by day in memory, for hand-worked indicator cases.

``Book`` collects standard flow rows per trading day (the shapes of ``schema.table_schema``,
with defaults for everything a case does not care about) and runs them through
``runner.compute_day`` one day after another on DuckDB, carrying the state like a pipeline run,
without touching the warehouse or the ingest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import hashlib
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from brokercrm.datacenter import pipeline as pl
from brokercrm.datacenter import runner, warehouse
from brokercrm.datacenter.adapters import QUARANTINE_SCHEMA
from brokercrm.datacenter.dictionaries import STANDARD_TABLES
from brokercrm.datacenter.exports import money_text
from brokercrm.datacenter.schema import table_schema

D = Decimal

_DEFAULTS: dict[str, dict[str, Any]] = {
    "fund_accounts": {
        "branch_code": "0101",
        "account_type": "normal",
        "currency": "CNY",
        "open_date": date(2020, 1, 2),
        "status": "normal",
    },
    "trades": {
        "commission": D("0"),
        "stamp_tax": D("0"),
        "transfer_fee": D("0"),
        "exchange_fee": D("0"),
        "other_fee": D("0"),
        "channel": "internet",
        "exchange": "SH",
    },
    "cash_flows": {"currency": "CNY", "kind": "other"},
    "security_transfers": {"exchange": "SH"},
    "freezes": {"kind": "other"},
    "positions": {"exchange": "SH", "cost_price": None},
    "margin_debts": {
        "kind": "financing",
        "exchange": "SH",
        "security_code": "600036",
        "financing_balance": D("0"),
        "short_quantity": 0,
        "interest_payable": D("0"),
    },
    "quotes": {"exchange": "SH", "pre_close_price": None},
    "customers": {
        "name": "客户",
        "branch_code": "0101",
        "customer_type": "individual",
        "id_type": "id_card",
        "id_number": "110101198602276308",
        "mobile": None,
        "birth_date": None,
        "gender": None,
        "open_date": date(2020, 1, 2),
        "status": "normal",
        "risk_level": None,
        "risk_expiry": None,
        "investor_class": "ordinary",
        "invest_horizon": None,
        "invest_varieties": None,
        "first_trade_date": None,
        "aml_level": "low",
    },
}


def _typed(table: str, name: str, value: Any) -> Any:
    """Money and prices may be written as strings in a case: ``"14400.00"``."""
    kind = STANDARD_TABLES[table].get(name, "")
    if kind.rstrip("?") in ("money", "price") and isinstance(value, (str, int)):
        return D(value)
    return value


@dataclass
class DayResult:
    """Every snapshot table of one computed day, as lists of dicts."""

    tables: dict[str, list[dict]]

    def account(self, fund_account: str) -> dict:
        return _one(self.tables["account_indicators"], fund_account=fund_account)

    def customer(self, customer_no: str) -> dict:
        return _one(self.tables["customer_indicators"], customer_no=customer_no)

    def customers(self) -> list[str]:
        return [r["customer_no"] for r in self.tables["customer_indicators"]]

    def position(self, fund_account: str, security_code: str) -> dict | None:
        rows = [
            r
            for r in self.tables["positions"]
            if r["fund_account"] == fund_account and r["security_code"] == security_code
        ]
        return rows[0] if rows else None

    def breaks(self, kind: str | None = None) -> list[dict]:
        return [r for r in self.tables["reconciliation"] if kind is None or r["kind"] == kind]

    def warnings(self, kind: str | None = None) -> list[dict]:
        return [r for r in self.tables["dq_warnings"] if kind is None or r["kind"] == kind]

    def money(self, fund_account: str, indicator: str) -> str:
        """An account indicator as the export writes it (2 decimals, half-up)."""
        return money_text(self.account(fund_account)[indicator])

    def customer_money(self, customer_no: str, indicator: str) -> str:
        return money_text(self.customer(customer_no)[indicator])


def _one(rows: list[dict], **match: Any) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, f"expected one row for {match}, found {len(found)}"
    return found[0]


@dataclass
class Book:
    """Flows of a small brokerage by trading day; ``run()`` computes every day in order."""

    counter: str = "hundsun"
    days: dict[date, dict[str, list[dict]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    #: The security master, delivered whole every day (COUNTERS.md, securities).
    securities: dict[tuple[str, str], str] = field(default_factory=dict)
    _serial: int = 0

    def day(self, d: date) -> Book:
        """Declare a trading day even if nothing happens on it."""
        self.days[d]  # noqa: B018 - touching the defaultdict creates the day
        return self

    def security(self, code: str, security_type: str = "stock", exchange: str = "SH") -> Book:
        self.securities[(exchange, code)] = security_type
        return self

    def add(self, d: date, table: str, **row: Any) -> Book:
        values = {**_DEFAULTS.get(table, {}), **row}
        if "serial_no" in STANDARD_TABLES[table] and "serial_no" not in values:
            self._serial += 1
            values["serial_no"] = self._serial
        if table == "trades":
            values.setdefault("price", (D(values["amount"]) / values["quantity"]).quantize(D("0.0001")))
        values.setdefault("counter", self.counter)
        self.days[d][table].append({k: _typed(table, k, v) for k, v in values.items()})
        return self

    # shorthands for the common rows
    def customer(self, d: date, customer_no: str, **row: Any) -> Book:
        return self.add(d, "customers", customer_no=customer_no, **row)

    def account(self, d: date, fund_account: str, customer_no: str, **row: Any) -> Book:
        return self.add(d, "fund_accounts", fund_account=fund_account, customer_no=customer_no, **row)

    def cash(self, d: date, fund_account: str, amount: Any, balance_after: Any, **row: Any) -> Book:
        return self.add(
            d, "cash_flows", fund_account=fund_account, amount=amount, balance_after=balance_after, **row
        )

    def quote(self, d: date, code: str, close: Any, exchange: str = "SH") -> Book:
        return self.add(d, "quotes", exchange=exchange, security_code=code, close_price=close)

    def hold(self, d: date, fund_account: str, code: str, quantity: int, **row: Any) -> Book:
        return self.add(d, "positions", fund_account=fund_account, security_code=code, quantity=quantity, **row)

    def trade(self, d: date, fund_account: str, code: str, side: str, quantity: int, amount: Any, **row: Any) -> Book:
        return self.add(
            d, "trades", fund_account=fund_account, security_code=code, side=side,
            quantity=quantity, amount=amount, **row,
        )

    def transfer(self, d: date, fund_account: str, code: str, direction: str, quantity: int, **row: Any) -> Book:
        return self.add(
            d, "security_transfers", fund_account=fund_account, security_code=code,
            direction=direction, quantity=quantity, **row,
        )

    def flows(self, d: date) -> dict[str, pa.Table]:
        """The standard flow tables of day ``d`` as Arrow, typed by ``schema.table_schema``."""
        tables = {}
        rows_by_table = dict(self.days[d])
        rows_by_table["securities"] = [
            {"exchange": ex, "security_code": code, "name": code, "security_type": kind, "counter": self.counter}
            for (ex, code), kind in sorted(self.securities.items())
        ]
        for table in STANDARD_TABLES:
            schema = table_schema(table)
            rows = rows_by_table.get(table, [])
            columns: dict[str, list] = {name: [] for name in schema.names}
            for line, row in enumerate(rows, start=2):
                full = {**row, "trade_date": d, "line": line}
                full.setdefault("counter", self.counter)
                for name in schema.names:
                    columns[name].append(full.get(name))
            tables[table] = pa.table(columns, schema=schema)
        return tables

    def run(
        self, *, initial_counters: dict[str, date] | None = None, crm: dict[str, pa.Table] | None = None
    ) -> dict[date, DayResult]:
        """Compute every day in order on DuckDB; each counter's first day is its initial day."""
        con = runner.connect("duckdb")
        calendar = sorted(self.days)
        firsts: dict[str, date] = dict(initial_counters or {})
        for d in calendar:
            for rows in self.days[d].values():
                for row in rows:
                    firsts.setdefault(row["counter"], d)
        firsts.setdefault(self.counter, calendar[0])
        carry: dict[str, pa.Table | None] = {
            "closes": None, "accounts": None, "customers": None, "positions": None
        }
        history: dict[date, pa.Table] = {}
        results: dict[date, DayResult] = {}
        for i, d in enumerate(calendar):
            window = calendar[max(0, i - pl.AVG_ASSETS_DAYS + 1) : i + 1]
            written = runner.compute_day(
                con=con,
                day=d,
                previous_day=calendar[i - 1] if i else None,
                window=window,
                opening_counters=sorted(c for c, first in firsts.items() if first == d),
                flows=self.flows(d),
                customer_history=[history[w] for w in window[:-1] if w in history],
                crm=crm,
                **carry,
            )
            carry = {t: written[t] for t in carry}
            history[d] = written["customer_indicators"]
            results[d] = DayResult({t: a.to_pylist() for t, a in written.items()})
        return results


    def publish(self, data_dir: Path, *, days: list[date] | None = None, tag: str = "") -> None:
        """Publish the book's days to a warehouse as an ingest would (``warehouse.publish_day``)."""
        with warehouse.warehouse_writer(data_dir) as writer:
            for d in sorted(self.days) if days is None else days:
                tables = self.flows(d)
                by_counter: dict[str, dict[str, pa.Table]] = defaultdict(dict)
                counters = {self.counter} | {
                    row["counter"] for rows in self.days[d].values() for row in rows
                }
                for counter in sorted(counters):
                    for table, arrow in tables.items():
                        mask = pc.equal(arrow["counter"], counter)
                        by_counter[counter][table] = arrow.filter(mask)
                    checksum = hashlib.sha256(
                        repr((counter, d, tag, self.days[d])).encode()
                    ).hexdigest()
                    writer.publish_day(
                        counter=counter,
                        trade_date=d,
                        tables=by_counter[counter],
                        quarantine=QUARANTINE_SCHEMA.empty_table(),
                        entry={"checksum": checksum},
                    )


def execute(expr: ibis.Table) -> list[dict]:
    """Run an expression on a fresh DuckDB and return its rows."""
    return runner.connect("duckdb").to_pyarrow(expr).to_pylist()
