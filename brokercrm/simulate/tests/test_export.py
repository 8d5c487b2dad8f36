"""The export's layout and content, as COUNTERS.md and DOMAIN.md describe them."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from brokercrm.datacenter.dictionaries import COUNTERS, INDUSTRY_FILE, STANDARD_TABLES
from brokercrm.simulate import simulate
from brokercrm.simulate.calendar import is_trading_day
from brokercrm.simulate.market import SHENWAN_INDUSTRIES

from .conftest import CUSTOMERS, DAYS, TABLES, decode, read_table

_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path):
    first = simulate(out=tmp_path / "a", customers=120, days=4, seed=11, faults=True)
    second = simulate(out=tmp_path / "b", customers=120, days=4, seed=11, faults=True)
    assert _tree_digest(tmp_path / "a") == _tree_digest(tmp_path / "b")
    assert first.rows == second.rows
    simulate(out=tmp_path / "c", customers=120, days=1, seed=12)
    client = "hundsun/20250102/client.csv"
    assert _tree_digest(tmp_path / "c")[client] != _tree_digest(tmp_path / "a")[client]


def test_refuses_a_folder_with_content(tmp_path):
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(FileExistsError):
        simulate(out=tmp_path, customers=10, days=1, seed=1)


def test_every_file_in_every_day_folder_with_its_header(export):
    # Literal headers from COUNTERS.md, so a drift in the dictionaries is caught too.
    assert (export.root / "hundsun").is_dir() and (export.root / "apex").is_dir()
    literal = {
        ("hundsun", "trades"): (
            "serial_no,fund_account,exchange_type,stock_code,entrust_bs,business_amount,"
            "business_price,business_balance,fare0,fare1,fare2,exchange_fare,fare3,entrust_way"
        ),
        ("apex", "customers"): (
            "KHH|KHXM|YYB|KHLB|ZJLB|ZJBH|SJHM|CSRQ|XB|KHRQ|KHZT|FXDJ|FXYXQ|TZZFL|TZQX|TZPZ|"
            "SCJYRQ|FXQDJ"
        ),
        ("apex", "margin_debts"): "ZJZH|HYLB|JYS|ZQDM|RZFZ|RQSL|WJLX",
    }
    for counter, fmt in COUNTERS.items():
        days = export.days(counter)
        assert len(days) == DAYS
        for day in days:
            folder = export.root / counter / day
            assert sorted(p.name for p in folder.iterdir()) == sorted(fmt.files.values())
            for table in TABLES:
                raw = (folder / fmt.files[table]).read_bytes()
                text = raw.decode(fmt.encoding)
                header = text.split("\n", 1)[0]
                assert header == fmt.delimiter.join(
                    fmt.columns[table][f] for f in STANDARD_TABLES[table]
                )
                if (counter, table) in literal:
                    assert header == literal[(counter, table)]
                if counter == "hundsun":
                    assert "|" not in text
    assert list(export.summary.rows) == ["hundsun", "apex"]


def test_days_are_trading_days_only(export):
    days = [datetime.strptime(d, "%Y%m%d").date() for d in export.days("hundsun")]
    assert days == [datetime.strptime(d, "%Y%m%d").date() for d in export.days("apex")]
    assert all(d.weekday() < 5 and is_trading_day(d) for d in days)
    assert date(2025, 4, 4) not in days and date(2025, 4, 3) in days and date(2025, 4, 7) in days


def test_initial_day_carries_everyone_and_later_days_only_changes(export):
    first, *later = export.days("hundsun")
    total = sum(len(export.rows(c, first, "customers")) for c in COUNTERS)
    assert total == CUSTOMERS
    hundsun = len(export.rows("hundsun", first, "customers"))
    assert 0.5 < hundsun / total < 0.7  # the merger split, about 60/40
    for counter in COUNTERS:
        assert export.rows(counter, first, "trades") == []
        opening = export.rows(counter, first, "cash_flows")
        assert opening and {decode(counter, "cash_kind", r["kind"]) for r in opening} == {"other"}
        assert all(r["amount"] == r["balance_after"] for r in opening)
        assert all(r["cost_price"] for r in export.rows(counter, first, "positions"))
        accounts = {r["fund_account"] for r in export.rows(counter, first, "fund_accounts")}
        assert {r["fund_account"] for r in opening} <= accounts
        changed = sum(len(export.rows(counter, d, "customers")) for d in later)
        assert changed < len(export.rows(counter, first, "customers"))
    assert any(export.rows(c, d, "trades") for c in COUNTERS for d in later)


def test_customer_numbers_are_unique_company_wide(export):
    first = export.days("hundsun")[0]
    numbers = [r["customer_no"] for c in COUNTERS for r in export.rows(c, first, "customers")]
    accounts = [r["fund_account"] for c in COUNTERS for r in export.rows(c, first, "fund_accounts")]
    assert len(numbers) == len(set(numbers)) and len(accounts) == len(set(accounts))


def test_customers_look_real(export):
    first = export.days("hundsun")[0]
    types, statuses, risks = set(), set(), set()
    for counter in COUNTERS:
        for r in export.rows(counter, first, "customers"):
            ctype = decode(counter, "customer_type", r["customer_type"])
            types.add(ctype)
            statuses.add(decode(counter, "status", r["status"]))
            if r["risk_level"]:
                risks.add(decode(counter, "risk_level", r["risk_level"]))
            assert r["name"] and r["branch_code"] and re.fullmatch(r"\d{4}", r["branch_code"])
            if r["mobile"]:
                assert re.fullmatch(r"1[3-9]\d{9}", r["mobile"])
            if decode(counter, "id_type", r["id_type"]) == "id_card":
                number = r["id_number"]
                total = sum(int(c) * w for c, w in zip(number[:17], _ID_WEIGHTS, strict=True))
                assert number[17] == "10X98765432"[total % 11]
                assert number[6:14] == r["birth_date"]
                gender = decode(counter, "gender", r["gender"])
                assert int(number[16]) % 2 == (1 if gender == "male" else 0)
            if ctype != "individual":
                assert r["gender"] == "" and r["birth_date"] in ("0", "")
            assert (
                r["risk_expiry"] == ""
                if not r["risk_level"]
                else re.fullmatch(r"\d{8}", r["risk_expiry"])
            )
    assert types == {"individual", "institution", "product"}
    assert "normal" in statuses and len(statuses) >= 3
    assert {"C1", "C2", "C3", "C4", "C5"} <= risks


def test_accounts_normal_credit_and_foreign_currency(export):
    first = export.days("hundsun")[0]
    kinds = set()
    for counter in COUNTERS:
        for r in export.rows(counter, first, "fund_accounts"):
            kinds.add(
                (
                    decode(counter, "account_type", r["account_type"]),
                    decode(counter, "currency", r["currency"]),
                )
            )
    assert ("normal", "CNY") in kinds and ("credit", "CNY") in kinds
    assert {("normal", "USD"), ("normal", "HKD")} & kinds


_CODE_RULES = {
    ("SH", "stock"): r"60[0135]\d{3}|688\d{3}",
    ("SZ", "stock"): r"00[0-3]\d{3}|30[01]\d{3}",
    ("BJ", "stock"): r"920\d{3}",
    ("SH", "etf"): r"5[168]\d{4}",
    ("SZ", "etf"): r"159\d{3}",
    ("SZ", "lof"): r"16\d{4}",
    ("SH", "convertible"): r"11[03]\d{3}|118\d{3}",
    ("SZ", "convertible"): r"12[378]\d{3}",
    ("SH", "repo"): r"204\d{3}",
    ("SZ", "repo"): r"1318\d{2}",
    ("SH", "bond"): r"019\d{3}",
    ("SH", "fund"): r"508\d{3}",
    ("SZ", "fund"): r"180\d{3}",
}


def test_security_codes_follow_the_exchange_conventions(export):
    first = export.days("hundsun")[0]
    seen = set()
    for r in export.rows("apex", first, "securities"):
        key = (
            decode("apex", "exchange", r["exchange"]),
            decode("apex", "security_type", r["security_type"]),
        )
        assert re.fullmatch(_CODE_RULES[key], r["security_code"]), (key, r)
        seen.add(key)
        r["name"].encode("gbk")
    assert set(_CODE_RULES) == seen
    assert export.rows("apex", first, "securities") and len(
        export.rows("hundsun", first, "securities")
    ) == len(export.rows("apex", first, "securities"))


def test_industry_reference(export):
    lines = (export.root / INDUSTRY_FILE).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "exchange,security_code,industry"
    assert len(lines) > 500
    assert {line.split(",")[2] for line in lines[1:]} <= set(SHENWAN_INDUSTRIES)


_LIMITS = {"60": 10, "00": 10, "68": 20, "30": 20, "92": 30}


def test_quotes_respect_price_limits_and_suspensions(export):
    days = export.days("hundsun")
    suspended = 0
    for day in days:
        names = {
            (r["exchange"], r["security_code"]): r
            for r in export.rows("hundsun", day, "securities")
        }
        quotes = export.rows("hundsun", day, "quotes")
        suspended += len(names) - len(quotes)
        for q in quotes:
            security = names[(q["exchange"], q["security_code"])]
            if (
                decode("hundsun", "security_type", security["security_type"]) != "stock"
                or not q["pre_close_price"]
            ):
                continue
            from decimal import Decimal

            close, pre = Decimal(q["close_price"]), Decimal(q["pre_close_price"])
            limit = 5 if "ST" in security["name"] else _LIMITS[q["security_code"][:2]]
            bound = (pre * limit / 100).quantize(Decimal("0.01")) + Decimal("0.01")
            assert abs(close - pre) <= bound, (day, q, limit)
            assert len(q["close_price"].partition(".")[2]) == 2
    assert suspended > 0


def test_changed_customers_replace_earlier_rows(export):
    # A later row is a full row (not a delta), of an existing customer or a new one.
    days = export.days("apex")
    known = {r["customer_no"] for r in read_table(export.root, "apex", days[0], "customers")}
    for day in days[1:]:
        for r in export.rows("apex", day, "customers"):
            assert len(r) == len(STANDARD_TABLES["customers"])
            if r["customer_no"] not in known:
                assert r["open_date"] == day
            known.add(r["customer_no"])
