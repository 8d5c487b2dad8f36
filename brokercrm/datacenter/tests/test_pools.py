"""Qualified customer pools (DOMAIN.md, "Qualified customer pools"), worked by hand at and around
each threshold: ``pipeline.pools`` on small tables, the customer master carried day to day, the
month arithmetic, and the plain constants against ``customers.choices``."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import ibis
import pyarrow as pa
import pytest

from brokercrm.customers.choices import Pool, PoolReason
from brokercrm.datacenter import pipeline as pl
from brokercrm.datacenter import runner
from brokercrm.datacenter.schema import (
    CRM_ASSESSMENTS_SCHEMA,
    CRM_INVESTOR_CLASSES_SCHEMA,
    CRM_KNOWLEDGE_TESTS_SCHEMA,
)
from brokercrm.datacenter.tests.builders import Book

D = date(2026, 4, 22)


def _trading_days(end: date, n: int) -> list[date]:
    days, d = [], end
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d -= timedelta(days=1)
    return sorted(days)


WINDOW = _trading_days(D, 20)
LONG_AGO = date(2020, 1, 2)


def _master(customer_no: str, **fields) -> dict:
    row = {
        "trade_date": D,
        "customer_no": customer_no,
        "counter": "hundsun",
        "customer_type": "individual",
        "status": "normal",
        "open_date": LONG_AGO,
        "first_trade_date": LONG_AGO,
        "first_trade_seen": None,
        "risk_level": "C4",
        "risk_expiry": date(2030, 1, 1),
        "risk_updated_on": LONG_AGO,
        "investor_class": "ordinary",
        "class_updated_on": LONG_AGO,
    }
    row.update(fields)
    return row


def _table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def evaluate(
    customers: dict[str, dict],
    assets: dict[str, Decimal | list[Decimal]],
    *,
    credit: dict[str, date] | None = None,
    assessments: list[dict] = (),
    classes: list[dict] = (),
    tests: list[dict] = (),
    day: date = D,
    window: list[date] = WINDOW,
) -> dict[str, dict[str, str]]:
    """``pipeline.pools`` on DuckDB: {customer_no: {pool: reasons or "yes"}}. ``assets`` is the
    customer's pool assets per day of the window, oldest first (one value: every day)."""
    history, today = [], []
    for number, values in assets.items():
        values = values if isinstance(values, list) else [values] * len(window)
        days = window[-len(values):]
        for d, v in zip(days, values):
            row = {"customer_no": number, "trade_date": d, "pool_assets": Decimal(v)}
            (today if d == day else history).append(row)
    money = pa.decimal128(38, 10)
    history_schema = pa.schema([("customer_no", pa.string()), ("trade_date", pa.date32()), ("pool_assets", money)])
    accounts = [
        {"customer_no": n, "fund_account": f"{n}-c", "account_type": "credit", "status": "normal", "open_date": o}
        for n, o in (credit or {}).items()
    ]
    accounts_schema = pa.schema(
        [("customer_no", pa.string()), ("fund_account", pa.string()), ("account_type", pa.string()),
         ("status", pa.string()), ("open_date", pa.date32())]
    )
    expr = pl.pools(
        customer_indicators=ibis.memtable(_table(today, history_schema)),
        history=ibis.memtable(_table(history, history_schema)),
        window=window,
        customers=ibis.memtable(_table(list(customers.values()), pl.CUSTOMERS_SCHEMA.to_pyarrow())),
        accounts=ibis.memtable(_table(accounts, accounts_schema)),
        assessments=ibis.memtable(_table(list(assessments), CRM_ASSESSMENTS_SCHEMA)),
        investor_classes=ibis.memtable(_table(list(classes), CRM_INVESTOR_CLASSES_SCHEMA)),
        knowledge_tests=ibis.memtable(_table(list(tests), CRM_KNOWLEDGE_TESTS_SCHEMA)),
        day=day,
    )
    result: dict[str, dict[str, str]] = {}
    for row in runner.connect("duckdb").to_pyarrow(expr).to_pylist():
        assert row["eligible"] == (row["reasons"] == "")
        result.setdefault(row["customer_no"], {})[row["pool"]] = "yes" if row["eligible"] else row["reasons"]
    return result


def test_the_constants_are_the_choices_of_the_customer_app():
    assert pl.POOLS == tuple(Pool.values)
    assert set(pl.POOL_REASONS) == set(PoolReason.values)
    assert list(pl.POOL_REASONS) == sorted(PoolReason.values)


def test_half_a_million_is_enough_one_cent_less_is_not():
    got = evaluate(
        {"A": _master("A"), "B": _master("B")},
        {"A": Decimal("500000.00"), "B": Decimal("499999.99")},
    )
    assert got["A"] == dict.fromkeys(Pool.values, "yes") | {"options": "account_age;knowledge_test"}
    assert got["B"]["hk_connect"] == "assets" and got["B"]["margin"] == "assets"
    assert got["B"]["chinext"] == "yes"  # ChiNext needs ¥100k


def test_the_average_is_exact_not_rounded_to_the_cent():
    # 19 days at 499,999.99 and one at 500,000.18: mean 499,999.9995 — it would print 500,000.00
    below = [Decimal("499999.99")] * 19 + [Decimal("500000.18")]
    # one cent more on the last day: mean exactly 500,000.00
    exact = [Decimal("499999.99")] * 19 + [Decimal("500000.19")]
    got = evaluate({"B": _master("B"), "E": _master("E")}, {"B": below, "E": exact})
    assert got["B"]["hk_connect"] == "assets"
    assert got["E"]["hk_connect"] == "yes"


def test_chinext_needs_100k():
    got = evaluate({"A": _master("A"), "B": _master("B")}, {"A": Decimal("100000.00"), "B": Decimal("99999.99")})
    assert (got["A"]["chinext"], got["B"]["chinext"]) == ("yes", "assets")


def test_nineteen_days_of_history_are_not_enough_and_assets_are_not_evaluated():
    got = evaluate(
        {"N": _master("N"), "T": _master("T")},
        {"N": [Decimal("10.00")] * 19, "T": [Decimal("10.00")] * 20},
    )
    assert got["N"]["hk_connect"] == "insufficient_history"
    assert got["N"]["margin"] == "insufficient_history"
    assert got["T"]["hk_connect"] == "assets"


def test_exactly_six_months_open_is_enough_one_day_less_is_not():
    got = evaluate(
        {"OK": _master("OK", open_date=date(2025, 10, 22)), "NO": _master("NO", open_date=date(2025, 10, 23))},
        {"OK": Decimal(600000), "NO": Decimal(600000)},
        credit={"OK": date(2025, 10, 22), "NO": date(2025, 10, 23)},
        tests=[{"customer_no": n, "test": "options", "passed_on": D} for n in ("OK", "NO")],
    )
    assert got["OK"]["margin"] == "yes" and got["OK"]["options"] == "yes"
    assert got["NO"]["margin"] == "account_age" and got["NO"]["options"] == "account_age"


def test_months_are_calendar_months_clamped_to_the_end_of_the_month():
    assert pl.add_months(date(2025, 8, 31), 6) == date(2026, 2, 28)
    assert pl.add_months(date(2024, 2, 29), 24) == date(2026, 2, 28)
    # opened on 08-31: six months are complete on 02-28 (not on 03-03)
    assert pl.months_cutoff(date(2026, 2, 28), 6) == date(2025, 8, 31)
    assert pl.months_cutoff(date(2026, 2, 27), 6) == date(2025, 8, 27)
    assert pl.months_cutoff(date(2026, 4, 22), 6) == date(2025, 10, 22)
    assert pl.months_cutoff(date(2026, 2, 28), 24) == date(2024, 2, 29)
    for day in (date(2026, 2, 27), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)):
        cutoff = pl.months_cutoff(day, 6)
        assert pl.add_months(cutoff, 6) <= day < pl.add_months(cutoff + timedelta(days=1), 6)
    window = _trading_days(date(2026, 2, 27), 19) + [date(2026, 2, 28)]
    master = {"M": _master("M", open_date=date(2025, 8, 31), investor_class="professional_i")}
    on = evaluate(master, {"M": Decimal(600000)}, day=date(2026, 2, 28), window=window)
    before = evaluate(master, {"M": Decimal(600000)}, day=date(2026, 2, 27), window=window[:-1][-20:])
    assert on["M"]["margin"] == "yes"
    assert before["M"]["margin"] == "account_age;insufficient_history"


def test_twenty_four_months_of_experience_from_the_first_trade():
    got = evaluate(
        {
            "OK": _master("OK", first_trade_date=date(2024, 4, 22)),
            "NO": _master("NO", first_trade_date=date(2024, 4, 23)),
            "SEEN": _master("SEEN", first_trade_date=None, first_trade_seen=date(2024, 4, 22)),
            "NEVER": _master("NEVER", first_trade_date=None),
        },
        dict.fromkeys(("OK", "NO", "SEEN", "NEVER"), Decimal(600000)),
    )
    assert [got[n]["star"] for n in ("OK", "NO", "SEEN", "NEVER")] == ["yes", "experience", "yes", "experience"]
    assert got["NO"]["chinext"] == got["NO"]["bse"] == "experience"
    assert got["NO"]["hk_connect"] == "yes"


def test_frozen_lost_or_closed_is_never_eligible():
    customers = {s: _master(s, status=s) for s in ("frozen", "lost", "closed", "normal")}
    got = evaluate(customers, dict.fromkeys(customers, Decimal(900000)))
    for status in ("frozen", "lost", "closed"):
        assert got[status]["hk_connect"] == "status"
        assert got[status]["options"] == "account_age;knowledge_test;status"
    assert got["normal"]["hk_connect"] == "yes"


def test_bse_has_no_asset_condition_for_institutions():
    got = evaluate(
        {"I": _master("I", customer_type="institution"), "P": _master("P")},
        {"I": Decimal("1000.00"), "P": Decimal("1000.00")},
    )
    assert got["I"]["bse"] == "yes" and got["I"]["star"] == "assets"
    assert got["P"]["bse"] == "assets"


def test_margin_needs_a_valid_c4_or_c5_or_a_professional():
    customers = {
        "C4": _master("C4", risk_level="C4"),
        "C5_TODAY": _master("C5_TODAY", risk_level="C5", risk_expiry=D),
        "C5_EXPIRED": _master("C5_EXPIRED", risk_level="C5", risk_expiry=D - timedelta(days=1)),
        "C3": _master("C3", risk_level="C3"),
        "NONE": _master("NONE", risk_level=None, risk_expiry=None),
        "PRO": _master("PRO", risk_level="C0", investor_class="professional_ii"),
    }
    got = evaluate(customers, dict.fromkeys(customers, Decimal(600000)))
    assert {n: got[n]["margin"] for n in customers} == {
        "C4": "yes", "C5_TODAY": "yes", "C5_EXPIRED": "risk_level", "C3": "risk_level", "NONE": "risk_level", "PRO": "yes",
    }


def test_the_latest_assessment_wins_whether_counter_or_crm():
    counter_day = date(2026, 4, 1)
    customers = {
        n: _master(n, risk_level="C3", risk_updated_on=counter_day)
        for n in ("NEWER", "SAME_DAY", "OLDER", "FUTURE")
    }

    def assessed(number, on, level="C4", expiry=date(2028, 1, 1)):
        return {"customer_no": number, "assessed_on": on, "risk_level": level, "risk_expiry": expiry,
                "invest_horizon": "long", "invest_varieties": "equity"}

    got = evaluate(
        customers,
        dict.fromkeys(customers, Decimal(600000)),
        assessments=[
            assessed("NEWER", date(2026, 4, 10)),
            assessed("SAME_DAY", counter_day),
            assessed("OLDER", date(2026, 3, 31)),
            assessed("FUTURE", D + timedelta(days=1)),  # recorded for a later day: not as of D
            # of two CRM assessments the latest counts: C2 after C5
            assessed("NEWER", date(2026, 4, 2), level="C5"),
        ],
    )
    assert {n: got[n]["margin"] for n in customers} == {
        "NEWER": "yes", "SAME_DAY": "yes", "OLDER": "risk_level", "FUTURE": "risk_level",
    }
    # the CRM's latest (C2) loses to nothing, and C2 is too low
    lower = evaluate(
        {"X": _master("X", risk_level="C5", risk_updated_on=counter_day)},
        {"X": Decimal(600000)},
        assessments=[assessed("X", date(2026, 4, 20), level="C2")],
    )
    assert lower["X"]["margin"] == "risk_level"


def test_a_crm_professional_recognition_counts_from_its_day():
    customers = {n: _master(n, risk_level="C1", class_updated_on=date(2026, 4, 1)) for n in ("PRO", "OLD", "LATER")}
    got = evaluate(
        customers,
        dict.fromkeys(customers, Decimal(600000)),
        classes=[
            {"customer_no": "PRO", "effective_on": date(2026, 4, 15), "investor_class": "professional_iii"},
            {"customer_no": "OLD", "effective_on": date(2026, 3, 1), "investor_class": "professional_iii"},
            {"customer_no": "LATER", "effective_on": D + timedelta(days=1), "investor_class": "professional_iii"},
        ],
    )
    assert {n: got[n]["margin"] for n in customers} == {"PRO": "yes", "OLD": "risk_level", "LATER": "risk_level"}


def test_options_need_a_credit_account_and_a_knowledge_test_dated_by_d():
    customers = {n: _master(n) for n in ("TODAY", "TOMORROW", "OTHER_TEST", "NO_CREDIT")}
    got = evaluate(
        customers,
        dict.fromkeys(customers, Decimal(600000)),
        credit={"TODAY": LONG_AGO, "TOMORROW": LONG_AGO, "OTHER_TEST": LONG_AGO},
        tests=[
            {"customer_no": "TODAY", "test": "options", "passed_on": D},
            {"customer_no": "TOMORROW", "test": "options", "passed_on": D + timedelta(days=1)},
            {"customer_no": "OTHER_TEST", "test": "star", "passed_on": LONG_AGO},
            {"customer_no": "NO_CREDIT", "test": "options", "passed_on": LONG_AGO},
        ],
    )
    assert {n: got[n]["options"] for n in customers} == {
        "TODAY": "yes", "TOMORROW": "knowledge_test", "OTHER_TEST": "knowledge_test", "NO_CREDIT": "account_age",
    }


# --- through the day loop: pool assets and the customer master carried from day to day -------------

D1, D2, D3 = date(2026, 4, 20), date(2026, 4, 21), date(2026, 4, 22)


@pytest.fixture(scope="module")
def three_days():
    b = Book()
    b.security("600036")
    b.customer(D1, "C1", risk_level="C3", risk_expiry=date(2027, 1, 1))
    b.customer(D1, "C2", first_trade_date=None)
    b.account(D1, "N1", "C1").cash(D1, "N1", "300000.00", "300000.00")
    b.account(D1, "K1", "C1", account_type="credit").cash(D1, "K1", "400000.00", "400000.00")
    b.account(D1, "N2", "C2").cash(D1, "N2", "1000.00", "1000.00")
    for d in (D1, D2, D3):
        b.quote(d, "600036", "10.00")
        b.add(d, "margin_debts", fund_account="K1", financing_balance="200000.00")
    # C2's first trade is seen on D2; on D3 the counter re-sends C2 unchanged and C1 with a new risk
    b.trade(D2, "N2", "600036", "buy", 10, "100.00").cash(D2, "N2", "-100.00", "900.00", kind="trade_settle")
    b.hold(D2, "N2", "600036", 10).hold(D3, "N2", "600036", 10)
    b.customer(D3, "C2", first_trade_date=None)
    b.customer(D3, "C1", risk_level="C4", risk_expiry=date(2028, 1, 1))
    return b.run()


def _master_row(results, day, number):
    return next(r for r in results[day].tables["customers"] if r["customer_no"] == number)


def test_pool_assets_count_credit_accounts_at_net_assets(three_days):
    c1 = three_days[D1].customer("C1")
    assert c1["total_assets"] == Decimal("700000.00")
    assert c1["pool_assets"] == Decimal("500000.00")  # 300k + (400k − 200k financing)


def test_the_first_trade_seen_is_carried(three_days):
    assert _master_row(three_days, D1, "C2")["first_trade_seen"] is None
    assert _master_row(three_days, D2, "C2")["first_trade_seen"] == D2
    assert _master_row(three_days, D3, "C2")["first_trade_seen"] == D2  # re-sent, no trade on D3


def test_the_day_the_counters_risk_changed_is_carried(three_days):
    assert _master_row(three_days, D1, "C1")["risk_updated_on"] == D1
    assert _master_row(three_days, D2, "C1")["risk_updated_on"] == D1  # not re-sent
    assert _master_row(three_days, D3, "C1")["risk_updated_on"] == D3  # C3 → C4
    assert _master_row(three_days, D3, "C2")["risk_updated_on"] == D1  # re-sent unchanged
    assert _master_row(three_days, D3, "C1")["class_updated_on"] == D1


def test_three_days_are_insufficient_history(three_days):
    pools = {(r["customer_no"], r["pool"]): r for r in three_days[D3].tables["pools"]}
    assert pools[("C1", "hk_connect")]["reasons"] == "insufficient_history"
    assert pools[("C1", "hk_connect")]["history_days"] == 3
    assert pools[("C2", "chinext")]["reasons"] == "experience;insufficient_history"
