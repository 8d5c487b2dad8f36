"""Test helpers: counter files built from standard values, and writable copies of the sample.

Rows are written through each counter's ``CounterFormat`` (standard → counter codes), so the
helpers declare no code of their own: what a test writes is what the simulator would write.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

from brokercrm.datacenter.adapters import CounterAdapter, ParsedFile, adapter_for
from brokercrm.datacenter.dictionaries import COUNTERS, STANDARD_TABLES, CounterFormat

#: The repository root, from this file (tests run from a fresh clone: no ../shared).
REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "sample" / "exports"
DAY = dt.date(2026, 3, 24)

#: One valid row per table, in standard values.
VALID: Mapping[str, Mapping[str, object]] = {
    "customers": {
        "customer_no": "10000001",
        "name": "张三",
        "branch_code": "0101",
        "customer_type": "individual",
        "id_type": "id_card",
        "id_number": "110101199001011234",
        "mobile": "13800000000",
        "birth_date": dt.date(1990, 1, 1),
        "gender": "male",
        "open_date": dt.date(2020, 1, 2),
        "status": "normal",
        "risk_level": "C3",
        "risk_expiry": dt.date(2027, 1, 1),
        "investor_class": "ordinary",
        "invest_horizon": "medium",
        "invest_varieties": ("equity",),
        "first_trade_date": dt.date(2020, 2, 3),
        "aml_level": "low",
    },
    "fund_accounts": {
        "fund_account": "180000001",
        "customer_no": "10000001",
        "branch_code": "0101",
        "account_type": "normal",
        "currency": "CNY",
        "open_date": dt.date(2020, 1, 2),
        "status": "normal",
    },
    "securities": {"exchange": "SH", "security_code": "600036", "name": "招商银行", "security_type": "stock"},
    "quotes": {
        "exchange": "SH",
        "security_code": "600036",
        "close_price": Decimal("34.95"),
        "pre_close_price": Decimal("34.50"),
    },
    "trades": {
        "serial_no": 1,
        "fund_account": "180000001",
        "exchange": "SH",
        "security_code": "600036",
        "side": "buy",
        "quantity": 100,
        "price": Decimal("34.95"),
        "amount": Decimal("3495.00"),
        "commission": Decimal("5.00"),
        "stamp_tax": Decimal("0.00"),
        "transfer_fee": Decimal("0.03"),
        "exchange_fee": Decimal("0.19"),
        "other_fee": Decimal("0.00"),
        "channel": "mobile",
    },
    "cash_flows": {
        "serial_no": 1,
        "fund_account": "180000001",
        "currency": "CNY",
        "kind": "bank_in",
        "amount": Decimal("1000.00"),
        "balance_after": Decimal("1000.00"),
    },
    "security_transfers": {
        "serial_no": 1,
        "fund_account": "180000001",
        "exchange": "SH",
        "security_code": "600036",
        "direction": "in",
        "quantity": 100,
    },
    "freezes": {"serial_no": 1, "fund_account": "180000001", "kind": "judicial", "amount": Decimal("100.00")},
    "positions": {
        "fund_account": "180000001",
        "exchange": "SH",
        "security_code": "600036",
        "quantity": 100,
        "cost_price": Decimal("30.1230"),
    },
    "margin_debts": {
        "fund_account": "180000001",
        "kind": "financing",
        "exchange": "SH",
        "security_code": "600036",
        "financing_balance": Decimal("1000.00"),
        "short_quantity": 0,
        "interest_payable": Decimal("1.23"),
    },
}


def encode(fmt: CounterFormat, kind: str, value: object) -> str:
    """One standard value as the counter writes it."""
    if value is None:
        return ""
    name, _, domain = kind.partition(":")
    base = name.rstrip("?")
    if base == "code":
        return fmt.standard_to_code(domain)[value]
    if base == "codeset":
        return fmt.encode_codeset(list(value))
    if base == "date":
        return f"{value:%Y%m%d}"
    return str(value)


def fields(fmt: CounterFormat, table: str, **standard: object) -> dict[str, str]:
    """A valid row of ``table`` as counter text, by standard field; ``standard`` overrides values."""
    values = {**VALID[table], **standard}
    return {f: encode(fmt, kind, values[f]) for f, kind in STANDARD_TABLES[table].items()}


def _quote(fmt: CounterFormat, text: str) -> str:
    if any(ch in text for ch in (fmt.delimiter, fmt.quotechar, "\n", "\r")):
        return fmt.quotechar + text.replace(fmt.quotechar, fmt.quotechar * 2) + fmt.quotechar
    return text


def line(fmt: CounterFormat, table: str, row: Mapping[str, str]) -> str:
    """A row (standard field → counter text) as one line of the counter's file, in file order."""
    return fmt.delimiter.join(_quote(fmt, row[f]) for f in STANDARD_TABLES[table])


def header(fmt: CounterFormat, table: str) -> str:
    return fmt.delimiter.join(fmt.columns[table][f] for f in STANDARD_TABLES[table])


def file_bytes(fmt: CounterFormat, table: str, rows: Iterable[Mapping[str, str] | str]) -> bytes:
    """A whole file: header, then rows (a mapping per row, or a raw line of text)."""
    lines = [header(fmt, table)] + [r if isinstance(r, str) else line(fmt, table, r) for r in rows]
    return ("\n".join(lines) + "\n").encode(fmt.encoding)


def parse(
    counter: str, table: str, rows: Sequence[Mapping[str, str] | str], *, initial_day: bool = True
) -> ParsedFile:
    """Parse rows of one table through the counter's adapter."""
    adapter: CounterAdapter = adapter_for(counter)
    data = file_bytes(adapter.format, table, rows)
    return adapter.parse(table=table, data=data, file=adapter.file_name(table), trade_date=DAY, initial_day=initial_day)


def copy_days(counter: str, dst: Path, days: Sequence[str] | None = None, *, reference: bool = False) -> Path:
    """Copy sample day folders into ``dst/<counter>`` as writable files; return that root.

    ``shutil.copytree`` would keep the sample's read-only modes, so files are copied by content.
    """
    root = dst / counter
    for folder in sorted((SAMPLE / counter).iterdir()):
        if days is not None and folder.name not in days:
            continue
        (root / folder.name).mkdir(parents=True, exist_ok=True)
        for src in folder.iterdir():
            (root / folder.name / src.name).write_bytes(src.read_bytes())
    if reference:
        (dst / "reference").mkdir(parents=True, exist_ok=True)
        (dst / "reference" / "industry.csv").write_bytes((SAMPLE / "reference" / "industry.csv").read_bytes())
    return root


def append(path: Path, counter: str, *lines: str) -> None:
    """Append raw lines to a counter file, in the counter's encoding."""
    fmt = COUNTERS[counter]
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data += b"\n"
    path.write_bytes(data + "".join(f"{text}\n" for text in lines).encode(fmt.encoding))


def file_of(counter: str, table: str) -> str:
    return COUNTERS[counter].files[table]
