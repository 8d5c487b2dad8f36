"""Counter adapters: every code, file format and bad-row rule of COUNTERS.md."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brokercrm.datacenter import adapters as ad
from brokercrm.datacenter.dictionaries import APEX, COUNTERS, HUNDSUN, STANDARD_CODES, STANDARD_TABLES
from brokercrm.datacenter.ingest import ingest
from brokercrm.datacenter.schema import table_schema
from brokercrm.datacenter.tests import counter_files as cf
from brokercrm.datacenter.warehouse import flows_path, ingested_days, read_quarantine, warehouse_path

# --- dictionaries -------------------------------------------------------------------------------


def _field_of(domain: str) -> tuple[str, str, str]:
    """First (table, field, kind) whose kind uses ``domain``."""
    for table, kinds in STANDARD_TABLES.items():
        for field, kind in kinds.items():
            if kind.partition(":")[2] == domain:
                return table, field, kind
    raise LookupError(domain)


EVERY_CODE = [
    pytest.param(fmt.name, domain, code, standard, id=f"{fmt.name}-{domain}-{code}")
    for fmt in COUNTERS.values()
    for domain, mapping in fmt.codes.items()
    for code, standard in mapping.items()
]


@pytest.mark.parametrize(("counter", "domain", "code", "standard"), EVERY_CODE)
def test_every_code_maps_to_its_standard_value(counter, domain, code, standard):
    table, field, _ = _field_of(domain)
    row = cf.fields(COUNTERS[counter], table)
    row[field] = code
    parsed = cf.parse(counter, table, [row])
    assert parsed.quarantined == 0, parsed.quarantine.to_pylist()
    assert parsed.rows.column(field)[0].as_py() == standard


@pytest.mark.parametrize("fmt", COUNTERS.values(), ids=lambda f: f.name)
def test_every_standard_value_has_a_code(fmt):
    for domain, values in STANDARD_CODES.items():
        assert sorted(fmt.codes[domain].values()) == sorted(values), domain


#: Hand-copied from COUNTERS.md so that a typo in dictionaries.py shows up here.
LITERALS = [
    ("hundsun", "customers", "customer_type", "2", "product"),
    ("apex", "customers", "customer_type", "3", "product"),
    ("apex", "customers", "customer_type", "1", "institution"),
    ("hundsun", "customers", "id_type", "2", "business_licence"),
    ("apex", "customers", "id_type", "10", "business_licence"),
    ("apex", "customers", "id_type", "01", "passport"),
    ("hundsun", "customers", "gender", "0", "male"),
    ("apex", "customers", "gender", "2", "female"),
    ("hundsun", "customers", "status", "2", "lost"),
    ("apex", "customers", "status", "2", "frozen"),
    ("apex", "customers", "status", "9", "closed"),
    ("hundsun", "customers", "risk_level", "0", "C0"),
    ("hundsun", "customers", "risk_level", "5", "C5"),
    ("apex", "customers", "risk_level", "C4", "C4"),
    ("hundsun", "customers", "investor_class", "3", "professional_iii"),
    ("apex", "customers", "investor_class", "ZY2", "professional_ii"),
    ("hundsun", "customers", "invest_horizon", "1", "short"),
    ("apex", "customers", "invest_horizon", "C", "long"),
    ("hundsun", "customers", "invest_varieties", "AB", "fixed_income,equity"),
    ("hundsun", "customers", "invest_varieties", "EDC", "derivatives,complex,other"),
    ("apex", "customers", "invest_varieties", "GS,QY,YS,FZ,QT", "fixed_income,equity,derivatives,complex,other"),
    ("apex", "customers", "invest_varieties", "FZ", "complex"),
    ("hundsun", "customers", "aml_level", "3", "high"),
    ("apex", "customers", "aml_level", "Z", "medium"),
    ("hundsun", "fund_accounts", "account_type", "7", "credit"),
    ("apex", "fund_accounts", "account_type", "1", "normal"),
    ("hundsun", "fund_accounts", "currency", "0", "CNY"),
    ("hundsun", "fund_accounts", "currency", "2", "HKD"),
    ("apex", "fund_accounts", "currency", "RMB", "CNY"),
    ("apex", "fund_accounts", "status", "3", "lost"),
    ("hundsun", "securities", "exchange", "9", "BJ"),
    ("apex", "securities", "exchange", "SZ", "SZ"),
    ("hundsun", "securities", "security_type", "T", "etf"),
    ("hundsun", "securities", "security_type", "L", "lof"),
    ("hundsun", "securities", "security_type", "K", "convertible"),
    ("hundsun", "securities", "security_type", "R", "repo"),
    ("apex", "securities", "security_type", "J0", "fund"),
    ("apex", "securities", "security_type", "Z0", "bond"),
    ("apex", "securities", "security_type", "HG", "repo"),
    ("hundsun", "trades", "side", "2", "sell"),
    ("apex", "trades", "side", "1", "buy"),
    ("hundsun", "trades", "channel", "0", "counter"),
    ("hundsun", "trades", "channel", "5", "api"),
    ("apex", "trades", "channel", "ZZ", "terminal"),
    ("apex", "trades", "channel", "SJ", "mobile"),
    ("hundsun", "cash_flows", "kind", "2041", "bank_in"),
    ("hundsun", "cash_flows", "kind", "2042", "bank_out"),
    ("hundsun", "cash_flows", "kind", "4000", "trade_settle"),
    ("hundsun", "cash_flows", "kind", "2201", "interest"),
    ("hundsun", "cash_flows", "kind", "2205", "dividend"),
    ("hundsun", "cash_flows", "kind", "2301", "fee"),
    ("hundsun", "cash_flows", "kind", "2999", "other"),
    ("apex", "cash_flows", "kind", "1102", "bank_out"),
    ("apex", "cash_flows", "kind", "3002", "dividend"),
    ("apex", "cash_flows", "kind", "9999", "other"),
    ("hundsun", "security_transfers", "direction", "4031", "in"),
    ("apex", "security_transfers", "direction", "5102", "out"),
    ("hundsun", "freezes", "kind", "9", "other"),
    ("apex", "freezes", "kind", "ZY", "pledge"),
    ("hundsun", "margin_debts", "kind", "1", "short"),
    ("apex", "margin_debts", "kind", "RZ", "financing"),
]


@pytest.mark.parametrize(("counter", "table", "field", "code", "standard"), LITERALS)
def test_codes_read_as_counters_md_says(counter, table, field, code, standard):
    row = cf.fields(COUNTERS[counter], table)
    row[field] = code
    parsed = cf.parse(counter, table, [row])
    assert parsed.quarantined == 0
    assert parsed.rows.column(field)[0].as_py() == standard


def test_file_and_column_names_are_counters_md():
    assert dict(HUNDSUN.files) == {
        "customers": "client.csv", "fund_accounts": "fundaccount.csv", "securities": "stkcode.csv",
        "quotes": "price.csv", "trades": "deliver.csv", "cash_flows": "fundjour.csv",
        "security_transfers": "stockjour.csv", "freezes": "frozenjour.csv", "positions": "stock.csv",
        "margin_debts": "compact.csv",
    }  # fmt: skip
    assert dict(APEX.files) == {
        "customers": "KHXX.txt", "fund_accounts": "ZJZH.txt", "securities": "ZQDM.txt", "quotes": "HQ.txt",
        "trades": "JGMX.txt", "cash_flows": "ZJLS.txt", "security_transfers": "ZQLS.txt", "freezes": "DJLS.txt",
        "positions": "CC.txt", "margin_debts": "RZRQFZ.txt",
    }  # fmt: skip
    assert [HUNDSUN.columns["trades"][f] for f in ("amount", "commission", "exchange_fee", "other_fee")] == [
        "business_balance", "fare0", "exchange_fare", "fare3",
    ]  # fmt: skip
    assert [APEX.columns["trades"][f] for f in ("amount", "commission", "stamp_tax", "transfer_fee")] == [
        "CJJE", "YJ", "YHS", "GHF",
    ]  # fmt: skip
    assert HUNDSUN.columns["customers"]["risk_expiry"] == "corp_end_date"
    assert APEX.columns["customers"]["first_trade_date"] == "SCJYRQ"
    assert HUNDSUN.columns["margin_debts"]["interest_payable"] == "real_compact_interest"
    assert APEX.columns["positions"]["quantity"] == "GFYE"
    assert (HUNDSUN.encoding, HUNDSUN.delimiter, APEX.encoding, APEX.delimiter) == ("utf-8", ",", "gbk", "|")


# --- values -------------------------------------------------------------------------------------


@pytest.mark.parametrize("counter", COUNTERS)
def test_rows_have_the_standard_schema_and_exact_decimals(counter):
    for table in STANDARD_TABLES:
        parsed = cf.parse(counter, table, [cf.fields(COUNTERS[counter], table)])
        assert parsed.rows.schema == table_schema(table)
        assert parsed.rows.num_rows == 1
        row = parsed.rows.to_pylist()[0]
        assert (row["counter"], row["trade_date"], row["line"]) == (counter, cf.DAY, 2)
    trade = cf.parse(counter, "trades", [cf.fields(COUNTERS[counter], "trades")]).rows.to_pylist()[0]
    assert trade["price"] == Decimal("34.9500") and isinstance(trade["price"], Decimal)
    assert trade["amount"] == Decimal("3495.00") and trade["transfer_fee"] == Decimal("0.03")
    assert trade["quantity"] == 100 and trade["serial_no"] == 1


def test_optional_values_read_as_null_and_zero_dates_as_unknown():
    row = cf.fields(HUNDSUN, "customers", mobile=None, gender=None, risk_level=None, invest_horizon=None)
    row |= {"birth_date": "0", "risk_expiry": "", "first_trade_date": "00000000", "invest_varieties": ""}
    parsed = cf.parse("hundsun", "customers", [row])
    assert parsed.quarantined == 0
    got = parsed.rows.to_pylist()[0]
    for field in ("mobile", "gender", "risk_level", "invest_horizon", "birth_date", "risk_expiry",
                  "first_trade_date", "invest_varieties"):  # fmt: skip
        assert got[field] is None, field


def test_values_are_trimmed_and_trailing_zero_decimals_accepted():
    row = cf.fields(HUNDSUN, "trades")
    row |= {"security_code": " 000858 ", "fund_account": "180000001 ", "amount": "3495.0000", "price": "34.950000"}
    parsed = cf.parse("hundsun", "trades", [row])
    assert parsed.quarantined == 0
    got = parsed.rows.to_pylist()[0]
    assert (got["security_code"], got["fund_account"]) == ("000858", "180000001")
    assert (got["amount"], got["price"]) == (Decimal("3495.00"), Decimal("34.9500"))


def test_cost_price_is_read_on_the_initial_day_only():
    row = cf.fields(HUNDSUN, "positions")
    assert cf.parse("hundsun", "positions", [row]).rows.column("cost_price")[0].as_py() == Decimal("30.1230")
    later = cf.parse("hundsun", "positions", [row | {"cost_price": "not read"}], initial_day=False)
    assert later.quarantined == 0 and later.rows.column("cost_price")[0].as_py() is None


# --- file format --------------------------------------------------------------------------------


def test_apex_reads_gbk_pipes_and_quotes():
    # 億 and 墊 end with the byte of "|" in GBK: splitting bytes before decoding would cut them
    assert "億".encode("gbk")[1:] == b"|" and "墊".encode("gbk")[1:] == b"|"
    names = ["億墊投资", '华盛|"投资"', "多行\n名称", "张静"]
    rows = [cf.fields(APEX, "customers", customer_no=f"2000000{i}", name=n) for i, n in enumerate(names)]
    data = cf.file_bytes(APEX, "customers", rows)
    assert b'"\xbb\xaa\xca\xa2|""' in data  # quoted, delimiter inside, doubled quote
    parsed = ad.adapter_for("apex").parse(table="customers", data=data, file="KHXX.txt", trade_date=cf.DAY)
    assert parsed.quarantined == 0
    assert parsed.rows.column("name").to_pylist() == names
    assert parsed.rows.column("line").to_pylist() == [2, 3, 4, 6]  # the third row spans lines 4-5


def test_hundsun_reads_quoted_commas_crlf_and_blank_lines():
    rows = [cf.fields(HUNDSUN, "securities", security_code=f"60003{i}", name=n) for i, n in enumerate(["A,B", "C"])]
    text = cf.file_bytes(HUNDSUN, "securities", rows).decode().replace("\n", "\r\n")
    text = text.replace("\r\n", "\r\n\r\n", 2)  # a blank line after the header and after row 1
    adapter = ad.adapter_for("hundsun")
    parsed = adapter.parse(table="securities", data=text.encode(), file="stkcode.csv", trade_date=cf.DAY)
    assert parsed.quarantined == 0
    assert parsed.rows.column("name").to_pylist() == ["A,B", "C"]
    assert parsed.rows.column("line").to_pylist() == [3, 5]


@pytest.mark.parametrize("counter", COUNTERS)
def test_columns_are_found_by_name_whatever_their_order_and_extras(counter):
    fmt = COUNTERS[counter]
    row = cf.fields(fmt, "freezes", serial_no=7, amount="-12.50")
    names = [fmt.columns["freezes"][f] for f in reversed(STANDARD_TABLES["freezes"])] + ["EXTRA"]
    values = [row[f] for f in reversed(STANDARD_TABLES["freezes"])] + ["ignored"]
    data = (fmt.delimiter.join(names) + "\n" + fmt.delimiter.join(values) + "\n").encode(fmt.encoding)
    parsed = ad.adapter_for(counter).parse(table="freezes", data=data, file=fmt.files["freezes"], trade_date=cf.DAY)
    assert parsed.quarantined == 0
    got = parsed.rows.to_pylist()[0]
    assert (got["serial_no"], got["kind"], got["amount"]) == (7, "judicial", Decimal("-12.50"))


def test_utf8_bom_is_ignored():
    data = b"\xef\xbb\xbf" + cf.file_bytes(HUNDSUN, "securities", [cf.fields(HUNDSUN, "securities")])
    parsed = ad.adapter_for("hundsun").parse(table="securities", data=data, file="stkcode.csv", trade_date=cf.DAY)
    assert parsed.loaded == 1


# --- bad rows -----------------------------------------------------------------------------------

#: (table, field, raw text, reason): one bad value in the middle of two good rows.
BAD_VALUES = [
    ("trades", "price", "abc", ad.REASON_NOT_NUMBER),
    ("trades", "price", "1e2", ad.REASON_NOT_NUMBER),
    ("trades", "amount", "1,000.00", ad.REASON_NOT_NUMBER),
    ("trades", "price", "34.95001", ad.REASON_TOO_MANY_DECIMALS),
    ("trades", "amount", "3495.001", ad.REASON_TOO_MANY_DECIMALS),
    ("trades", "commission", "12345678901234567.00", ad.REASON_OUT_OF_RANGE),
    ("trades", "quantity", "1.5", ad.REASON_NOT_INTEGER),
    ("trades", "quantity", "0x10", ad.REASON_NOT_INTEGER),
    ("trades", "quantity", "1234567890123456789", ad.REASON_OUT_OF_RANGE),
    ("trades", "quantity", "0", ad.REASON_NOT_POSITIVE),
    ("trades", "quantity", "-100", ad.REASON_NOT_POSITIVE),
    ("security_transfers", "quantity", "0", ad.REASON_NOT_POSITIVE),
    ("trades", "serial_no", "", ad.REASON_MISSING),
    ("trades", "fund_account", "", ad.REASON_MISSING),
    ("trades", "price", "", ad.REASON_MISSING),
    ("trades", "side", "3", ad.REASON_UNKNOWN_CODE),
    ("trades", "channel", "", ad.REASON_MISSING),
    ("trades", "security_code", "30075", ad.REASON_BAD_SECURITY_CODE),
    ("securities", "security_code", "6000361", ad.REASON_BAD_SECURITY_CODE),
    ("cash_flows", "kind", "1234", ad.REASON_UNKNOWN_CODE),
    ("cash_flows", "balance_after", "12.3.4", ad.REASON_NOT_NUMBER),
    ("freezes", "kind", "X", ad.REASON_UNKNOWN_CODE),
    ("quotes", "close_price", "", ad.REASON_MISSING),
    ("positions", "cost_price", "", ad.REASON_MISSING),  # required on the initial day
    ("margin_debts", "short_quantity", "ten", ad.REASON_NOT_INTEGER),
    ("customers", "open_date", "20260230", ad.REASON_NOT_DATE),
    ("customers", "open_date", "2026-03-01", ad.REASON_NOT_DATE),
    ("customers", "open_date", "0", ad.REASON_MISSING),
    ("customers", "birth_date", "19901301", ad.REASON_NOT_DATE),
    ("customers", "risk_expiry", "2027011", ad.REASON_NOT_DATE),
    ("customers", "customer_no", "", ad.REASON_MISSING),
    ("customers", "gender", "7", ad.REASON_UNKNOWN_CODE),
    ("customers", "invest_varieties", "Q", ad.REASON_UNKNOWN_CODE),
    ("fund_accounts", "currency", "EUR", ad.REASON_UNKNOWN_CODE),
]


@pytest.mark.parametrize("counter", COUNTERS)
@pytest.mark.parametrize(("table", "field", "raw", "reason"), BAD_VALUES)
def test_a_bad_value_quarantines_its_row_only(counter, table, field, raw, reason):
    fmt = COUNTERS[counter]
    serial = {"serial_no": 0} if "serial_no" in STANDARD_TABLES[table] else {}
    rows = [cf.fields(fmt, table, **{k: i + 1 for k in serial}) for i in range(3)]
    rows[1][field] = raw
    parsed = cf.parse(counter, table, rows)
    assert (parsed.read, parsed.loaded, parsed.quarantined) == (3, 2, 1)
    assert parsed.rows.column("line").to_pylist() == [2, 4]
    (bad,) = parsed.quarantine.to_pylist()
    assert bad == {
        "counter": counter,
        "trade_date": cf.DAY,
        "file": fmt.files[table],
        "line": 3,
        "field": fmt.columns[table][field],
        "reason": reason,
        "value": raw,
    }


@pytest.mark.parametrize("counter", COUNTERS)
def test_wrong_field_count_duplicate_serial_and_first_bad_field(counter):
    fmt = COUNTERS[counter]
    good = [cf.fields(fmt, "trades", serial_no=i) for i in (1, 2, 3)]
    short = fmt.delimiter.join(list(cf.fields(fmt, "trades", serial_no=4).values())[:-1])
    two_bad = cf.fields(fmt, "trades", serial_no=5) | {"price": "x", "side": "9"}
    duplicate = cf.fields(fmt, "trades", serial_no=2)
    long = cf.line(fmt, "trades", cf.fields(fmt, "trades", serial_no=6)) + fmt.delimiter + "extra"
    parsed = cf.parse(counter, "trades", [*good, short, two_bad, duplicate, long])
    assert (parsed.read, parsed.loaded, parsed.quarantined) == (7, 3, 4)
    got = [(q["line"], q["field"], q["reason"]) for q in parsed.quarantine.to_pylist()]
    assert got == [
        (5, "", ad.REASON_FIELD_COUNT),
        (6, fmt.columns["trades"]["side"], ad.REASON_UNKNOWN_CODE),  # side comes before price
        (7, fmt.columns["trades"]["serial_no"], ad.REASON_DUPLICATE_SERIAL),
        (8, "", ad.REASON_FIELD_COUNT),
    ]


def test_identical_short_rows_and_crlf_keep_their_line_numbers():
    rows = [cf.fields(HUNDSUN, "cash_flows", serial_no=i) for i in range(1, 6)]
    text = cf.file_bytes(HUNDSUN, "cash_flows", [rows[0], "1,2", rows[1], "1,2", rows[2], rows[3]]).decode()
    data = text.replace("\n", "\r\n").encode()
    parsed = ad.adapter_for("hundsun").parse(table="cash_flows", data=data, file="fundjour.csv", trade_date=cf.DAY)
    assert parsed.rows.column("line").to_pylist() == [2, 4, 6, 7]
    assert [(q["line"], q["reason"], q["value"]) for q in parsed.quarantine.to_pylist()] == [
        (3, ad.REASON_FIELD_COUNT, "1,2"),
        (5, ad.REASON_FIELD_COUNT, "1,2"),
    ]


def test_a_row_the_csv_module_cannot_split_is_quarantined_and_reading_goes_on():
    # a blank line sends the file to the exact splitter; one field is larger than csv allows
    rows = [cf.fields(HUNDSUN, "securities", security_code=f"60003{i}") for i in range(3)]
    rows[1]["name"] = "x" * 1001
    data = cf.file_bytes(HUNDSUN, "securities", rows).replace(b"\n", b"\n\n", 1)
    limit = csv.field_size_limit(1000)
    try:
        parsed = ad.adapter_for("hundsun").parse(table="securities", data=data, file="stkcode.csv", trade_date=cf.DAY)
    finally:
        csv.field_size_limit(limit)
    assert parsed.read == 3 and parsed.loaded == 2
    assert [(q["line"], q["reason"]) for q in parsed.quarantine.to_pylist()] == [(4, ad.REASON_MALFORMED)]


def test_bytes_invalid_in_gbk_quarantine_their_row():
    rows = [cf.fields(APEX, "securities", security_code=f"60003{i}") for i in range(3)]
    data = cf.file_bytes(APEX, "securities", rows)
    lines = data.split(b"\n")
    lines[2] = lines[2].replace("招商银行".encode("gbk"), b"\xff\xfe")
    data = b"\n".join(lines)
    parsed = ad.adapter_for("apex").parse(table="securities", data=data, file="ZQDM.txt", trade_date=cf.DAY)
    assert (parsed.loaded, parsed.quarantined) == (2, 1)
    assert parsed.quarantine.to_pylist()[0]["line"] == 3
    assert parsed.quarantine.to_pylist()[0]["reason"] == ad.REASON_ENCODING


def test_missing_column_raises_naming_file_and_column():
    fmt = HUNDSUN
    data = cf.file_bytes(fmt, "trades", [cf.fields(fmt, "trades")]).replace(b"fare0", b"fare_0", 1)
    with pytest.raises(ad.MissingColumnError) as exc:
        ad.adapter_for("hundsun").parse(table="trades", data=data, file="deliver.csv", trade_date=cf.DAY)
    assert str(exc.value) == ad.MSG_MISSING_COLUMN.format(file="20260324/deliver.csv", column="fare0")


# --- rules across files, and refusals (through ingest) ------------------------------------------


def _first_day(tmp_path: Path, counter: str) -> Path:
    return cf.copy_days(counter, tmp_path / "exports", ["20260323"])


@pytest.mark.parametrize("counter", COUNTERS)
def test_rows_referring_to_unknown_accounts_customers_or_securities_are_quarantined(tmp_path, counter):
    fmt = COUNTERS[counter]
    root = _first_day(tmp_path, counter)
    day = root / "20260323"
    # an account of an unknown customer, a trade on it, one on an unknown account, one on a
    # security missing from the day's master, and a position of a known account (loads)
    orphan = cf.fields(fmt, "fund_accounts", fund_account="990000001", customer_no="99999999")
    cf.append(day / fmt.files["fund_accounts"], counter, cf.line(fmt, "fund_accounts", orphan))
    accounts = ad.adapter_for(counter).read(
        table="fund_accounts", path=day / fmt.files["fund_accounts"], trade_date=dt.date(2026, 3, 23)
    )
    known_account = accounts.rows.column("fund_account")[0].as_py()
    cf.append(
        day / fmt.files["trades"],
        counter,
        cf.line(fmt, "trades", cf.fields(fmt, "trades", serial_no=901, fund_account="990000001")),
        cf.line(fmt, "trades", cf.fields(fmt, "trades", serial_no=902, fund_account="123")),
        cf.line(fmt, "trades", cf.fields(fmt, "trades", serial_no=903, fund_account=known_account, security_code="600999")),  # noqa: E501
        cf.line(fmt, "trades", cf.fields(fmt, "trades", serial_no=904, fund_account=known_account)),
    )
    result = ingest(counter, root, data_dir=tmp_path / "data")
    assert result.ok
    counts = {f.table: (f.read, f.loaded, f.quarantined) for f in result.days[0].files}
    assert counts["trades"] == (4, 1, 3) and counts["fund_accounts"][2] == 1
    got = [(q["file"], q["line"], q["field"], q["reason"]) for q in read_quarantine(tmp_path / "data").to_pylist()]
    accounts = len((day / fmt.files["fund_accounts"]).read_bytes().splitlines())
    col = fmt.columns
    assert sorted(got) == sorted([
        (fmt.files["fund_accounts"], accounts, col["fund_accounts"]["customer_no"], ad.REASON_UNKNOWN_CUSTOMER),
        (fmt.files["trades"], 2, col["trades"]["fund_account"], ad.REASON_UNKNOWN_FUND_ACCOUNT),
        (fmt.files["trades"], 3, col["trades"]["fund_account"], ad.REASON_UNKNOWN_FUND_ACCOUNT),
        (fmt.files["trades"], 4, col["trades"]["security_code"], ad.REASON_UNKNOWN_SECURITY),
    ])  # fmt: skip


def _nothing_written(data_dir: Path) -> None:
    root = warehouse_path(data_dir)
    assert ingested_days(data_dir) == {}
    assert not list((root / "flows").rglob("*.parquet")) if (root / "flows").exists() else True
    assert not list((root / "quarantine").rglob("*.parquet")) if (root / "quarantine").exists() else True
    for leftover in (".staging", ".journal", ".trash"):
        assert not any((root / leftover).iterdir()) if (root / leftover).exists() else True


@pytest.mark.parametrize("counter", COUNTERS)
def test_a_day_missing_a_file_is_refused_and_nothing_is_written(tmp_path, counter):
    root = _first_day(tmp_path, counter)
    (root / "20260323" / COUNTERS[counter].files["trades"]).unlink()
    result = ingest(counter, root, data_dir=tmp_path / "data")
    assert not result.ok
    (day,) = result.refused
    assert day.status == "refused" and day.files == ()
    assert day.message == ad.MSG_MISSING_FILE.format(day="20260323", file=COUNTERS[counter].files["trades"])
    _nothing_written(tmp_path / "data")


@pytest.mark.parametrize("counter", COUNTERS)
def test_a_file_missing_a_column_refuses_the_day_and_nothing_is_written(tmp_path, counter):
    fmt = COUNTERS[counter]
    root = _first_day(tmp_path, counter)
    path = root / "20260323" / fmt.files["positions"]
    column = fmt.columns["positions"]["cost_price"]
    text = path.read_bytes().decode(fmt.encoding)
    head, rest = text.split("\n", 1)
    path.write_bytes((head.replace(fmt.delimiter + column, "") + "\n" + rest).encode(fmt.encoding))
    result = ingest(counter, root, data_dir=tmp_path / "data")
    assert not result.ok
    assert result.refused[0].message == ad.MSG_MISSING_COLUMN.format(
        file=f"20260323/{fmt.files['positions']}", column=column
    )
    _nothing_written(tmp_path / "data")
    assert not (flows_path(tmp_path / "data", "customers") / f"counter={counter}").exists()


def test_quarantine_schema_and_reasons_are_stable():
    assert ad.QUARANTINE_SCHEMA.names == ["counter", "trade_date", "file", "line", "field", "reason", "value"]
    assert len(set(ad.REASONS)) == len(ad.REASONS)
    assert pa.types.is_date32(ad.QUARANTINE_SCHEMA.field("trade_date").type)


# --- properties ---------------------------------------------------------------------------------

_NUMBERISH = st.text(alphabet="0123456789+-.eEx ", max_size=24)


@settings(max_examples=60, deadline=None)
@given(st.lists(_NUMBERISH, min_size=1, max_size=12))
def test_any_money_text_loads_exactly_or_is_quarantined(texts):
    rows = [cf.fields(HUNDSUN, "cash_flows", serial_no=i + 1) | {"amount": t} for i, t in enumerate(texts)]
    parsed = cf.parse("hundsun", "cash_flows", rows)
    assert parsed.read == len(texts) and parsed.loaded + parsed.quarantined == len(texts)
    for row in parsed.rows.to_pylist():
        written = Decimal(texts[row["line"] - 2].strip())
        assert row["amount"] == written and row["amount"] == written.quantize(Decimal("0.01"))
    assert set(parsed.quarantine.column("reason").to_pylist()) <= set(ad.REASONS)


@settings(max_examples=60, deadline=None)
@given(st.lists(_NUMBERISH, min_size=1, max_size=12))
def test_any_quantity_text_loads_exactly_or_is_quarantined(texts):
    rows = [cf.fields(HUNDSUN, "positions", security_code=f"{i:06d}") | {"quantity": t} for i, t in enumerate(texts)]
    parsed = cf.parse("hundsun", "positions", rows)
    assert parsed.loaded + parsed.quarantined == len(texts)
    for row in parsed.rows.to_pylist():
        assert row["quantity"] == int(texts[row["line"] - 2].strip())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=99_999_999), min_size=1, max_size=20))
def test_an_eight_digit_date_loads_when_it_is_a_calendar_day(numbers):
    texts = [f"{n:08d}" for n in numbers]
    rows = [cf.fields(HUNDSUN, "customers", customer_no=str(i)) | {"open_date": t} for i, t in enumerate(texts)]
    parsed = cf.parse("hundsun", "customers", rows)
    loaded = dict(zip(parsed.rows.column("line").to_pylist(), parsed.rows.column("open_date").to_pylist(), strict=True))
    for i, text in enumerate(texts):
        try:
            expected = dt.datetime.strptime(text, "%Y%m%d").date() if int(text) else None
        except ValueError:
            expected = None
        assert loaded.get(i + 2) == expected
