"""The feature table on the hand-built brokerage of ``world.py`` (DuckDB)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ibis
import pytest

from brokercrm.tagengine import features as F
from brokercrm.tagengine.language import TYPES
from brokercrm.tagengine.tests import world


@pytest.fixture(scope="module")
def rows() -> dict[str, dict]:
    con = ibis.duckdb.connect()
    tables = {k: ibis.memtable(v) for k, v in world.inputs().items()}
    table = F.feature_table(day=world.D, trading_days=world.CALENDAR, **tables)
    assert table.schema() == F.FEATURE_SCHEMA
    return {r["customer_no"]: r for r in con.to_pyarrow(table).to_pylist()}


def test_one_row_per_customer_with_a_cny_account(rows):
    assert sorted(rows) == ["C1", "C2", "C3", "C4", "C5"]


def test_basic_features(rows):
    # C1 born 1999-07-15: 24 until the birthday; C5 born 1984-06-28: 40 on the day itself.
    assert [rows[c]["age"] for c in ("C1", "C2", "C3", "C5")] == [24, 74, None, 40]
    assert rows["C1"]["account_age_days"] == 58  # 2024-05-01 → 2024-06-28
    assert rows["C3"]["professional"] is True and rows["C1"]["professional"] is False
    assert [rows[c]["risk_level_rank"] for c in ("C1", "C3", "C5")] == [3, None, 0]
    # C2's assessment ended on 2023-12-31; C3 has none.
    assert [rows[c]["risk_valid"] for c in ("C1", "C2", "C3", "C4")] == [True, False, False, True]
    # First trade: the counter's date, else the first trade seen.
    assert rows["C1"]["experience_from"] == date(2024, 5, 6)
    assert rows["C2"]["experience_from"] == date(2010, 3, 5)
    assert rows["C4"]["experience_from"] is None


def test_asset_windows_and_lookbacks(rows):
    c1, c3 = rows["C1"], rows["C3"]
    # C1 has 39 earlier days at 300,000 and 350,000 today: 12,050,000 / 40.
    assert c1["avg_assets_60d"] == Decimal("301250")
    assert c1["history_days"] == 40
    assert (c1["total_assets_1m_ago"], c1["asset_change_1m"]) == (Decimal(300000), Decimal(50000))
    assert c1["total_assets_3m_ago"] is None and c1["asset_change_3m"] is None
    # C3: 2,000,000 up to 2024-05-30, 1,400,000 from 05-31 (21 of the 60 days): 107.4m / 60.
    assert c3["avg_assets_60d"] == Decimal("1790000")
    assert c3["asset_change_1m"] == c3["asset_change_6m"] == Decimal(-600000)
    # Flows: C3 took 600,000 out on 05-31 (inside 60 days, outside 20); C1 put 300,000 in on
    # 05-06 and 50,000 today.
    assert (c3["net_inflow_20d"], c3["net_inflow_60d"]) == (0, Decimal(-600000))
    assert (c1["net_inflow_20d"], c1["net_inflow_60d"]) == (Decimal(50000), Decimal(350000))


def test_holdings(rows):
    c1, c2, c3, c5 = (rows[c] for c in ("C1", "C2", "C3", "C5"))
    assert (c1["holds_chinext"], c1["holds_main_board"], c1["chinext_value"]) == (True, True, Decimal(200000))
    assert (c1["top_industry"], c1["top_industry_value"], c1["industry_count"]) == ("电力设备", Decimal(200000), 2)
    assert (c1["largest_stock_value"], c1["security_count"], c1["max_holding_risk"]) == (Decimal(200000), 2, 4)
    # C2: the USD account's bank shares do not count; a government bond is R1, an ETF R3.
    assert (c2["security_count"], c2["stock_count"], c2["holds_bond"], c2["holds_etf"]) == (2, 0, True, True)
    assert (c2["top_industry"], c2["max_holding_risk"]) == (None, 3)
    # C3: the credit account's holding counts (1,200,000 of bank shares) and STAR from the normal one.
    assert (c3["top_industry"], c3["top_industry_value"], c3["holds_star"]) == ("银行", Decimal(1200000), True)
    # C5: BSE, an ST stock (by its name), a convertible and repo at 100 per unit.
    assert [c5[f"holds_{k}"] for k in ("bse", "st", "convertible", "repo", "chinext", "etf")] == [
        True, True, True, True, False, False,
    ]
    assert (c5["st_value"], c5["bse_value"], c5["convertible_value"]) == (Decimal(2000), Decimal(1000), Decimal(1200))
    assert (c5["top_industry"], c5["security_count"], c5["stock_count"]) == ("医药生物", 4, 2)
    assert rows["C4"]["security_count"] == 0 and rows["C4"]["max_holding_risk"] == 0


def test_behaviour_and_profit(rows):
    c1, c3, c5 = rows["C1"], rows["C3"], rows["C5"]
    # C1: one trade on each of the 19 earlier days of the 20-day window, two today.
    assert (c1["trade_count_20d"], c1["trade_days_60d"], c1["trade_amount_20d"]) == (21, 20, Decimal(210000))
    assert (c1["preferred_channel"], c1["channel_count_60d"], c1["round_trip_count_20d"]) == ("mobile", 2, 1)
    assert c1["last_trade_date"] == world.D
    # C3 last traded 2024-03-01: inside 126 trading days, outside 60.
    assert (c3["last_trade_date"], c3["trade_count_60d"], c3["preferred_channel"]) == (date(2024, 3, 1), 0, None)
    # C5: +500 on six days, −200 on two; the phone trade of 2024-01-10 is outside 60 days.
    assert (c5["realized_pnl_20d"], c5["realized_pnl_60d"], c5["realized_pnl_126d"]) == (
        Decimal(300), Decimal(800), Decimal(2600),
    )
    assert (c5["profit_days_126d"], c5["loss_days_126d"]) == (6, 2)
    assert (c5["preferred_channel"], c5["channel_count_60d"], c5["round_trip_count_20d"]) == ("counter", 1, 0)
    assert rows["C2"]["last_trade_date"] is None


def test_margin_and_value(rows):
    c3 = rows["C3"]
    assert (c3["has_credit_account"], c3["credit_open_date"]) == (True, date(2019, 1, 2))
    assert (c3["credit_assets"], c3["credit_debt"]) == (Decimal(1300000), Decimal(1000000))
    assert rows["C1"]["has_credit_account"] is False
    assert (c3["tier"], c3["abcd_class"], c3["contribution"]) == ("gold", "A", Decimal(12000))


def test_without_segments_the_value_features_are_missing():
    tables = {k: ibis.memtable(v) for k, v in world.inputs().items() if k != "segments"}
    table = F.feature_table(day=world.D, trading_days=world.CALENDAR, segments=None, **tables)
    assert table.schema() == F.FEATURE_SCHEMA
    got = ibis.duckdb.connect().to_pyarrow(table.select("tier", "abcd_class")).to_pylist()
    assert {(r["tier"], r["abcd_class"]) for r in got} == {(None, None)}


def test_an_input_without_a_needed_column_is_refused_by_name():
    tables = {k: ibis.memtable(v) for k, v in world.inputs().items()}
    tables["customers"] = tables["customers"].drop("birth_date", "gender")
    with pytest.raises(F.FeatureInputError) as caught:
        F.feature_table(day=world.D, trading_days=world.CALENDAR, **tables)
    assert str(caught.value) == F.ERR_MISSING_COLUMNS.format(table="customers", columns="gender, birth_date")


def test_the_registry_documents_every_feature():
    inputs = set(F.REQUIRED_COLUMNS)
    for feature in F.FEATURES_LIST:
        assert feature.label_zh and feature.label_en and feature.description, feature.name
        assert feature.type in TYPES
        assert feature.lineage and set(feature.lineage) <= inputs, feature.name
    assert len(F.FEATURES) == len(F.FEATURES_LIST)
    assert [f.name for f in F.FEATURES_LIST if f.provided] == [
        "tier", "abcd_class", "contribution", "turnover", "net_commission_12m",
    ]


def test_carried_window_sums_equal_those_recomputed_from_every_day():
    """``window_state`` (yesterday's sums + today − the days leaving each window) gives exactly
    what ``window_state_from_history`` gives from every day, day after day, once all three
    windows (20, 60, 126 days) have days leaving them — with customers who skip days, come
    and go, trade now and then, and a last trade that falls out of the 126 days."""
    import random

    import pyarrow as pa

    from brokercrm.datacenter import pipeline as pl

    rng = random.Random(5)
    calendar = world.weekdays(date(2023, 6, 1), date(2024, 1, 31))
    assert len(calendar) > F.LONG_WINDOW + 12
    rows: dict[date, list[dict]] = {}
    for n, day in enumerate(calendar):
        for c in ("C1", "C2", "C3", "C4"):
            if c == "C2" and n % 7 == 3 or c == "C3" and 40 <= n <= 90 or c == "C4" and n < 2:
                continue  # C2 skips days, C3 is away for a while, C4 arrives late
            # C4 trades on three early days only: its last trade leaves the 126 days during the test
            trades = n in (3, 5, 7) if c == "C4" else rng.random() < 0.3
            rows.setdefault(day, []).append(
                {
                    "trade_date": day, "customer_no": c,
                    "total_assets": Decimal(rng.randrange(0, 10**7)) / 100,
                    "bank_in": Decimal(rng.randrange(0, 10**5)) / 100 if rng.random() < 0.2 else Decimal(0),
                    "bank_out": Decimal(rng.randrange(0, 10**5)) / 100 if rng.random() < 0.2 else Decimal(0),
                    "securities_in_value": Decimal(rng.randrange(0, 10**5)) / 100 if rng.random() < 0.05 else Decimal(0),
                    "securities_out_value": Decimal(0),
                    "trade_count": rng.randrange(1, 4) if trades else 0,
                    "trade_amount": Decimal(rng.randrange(0, 10**7)) / 100 if trades else Decimal(0),
                    "realized_pnl": Decimal(rng.randrange(-10**5, 10**5)) / 100 if trades else Decimal(0),
                    "net_commission": Decimal(rng.randrange(0, 10**4)) / 100 if trades else Decimal(0),
                }
            )
    schema = pl.CUSTOMER_INDICATORS_SCHEMA.to_pyarrow()
    by_day = {d: pa.Table.from_pylist(r, schema=pa.schema([schema.field(k) for k in r[0]])) for d, r in rows.items()}
    con = ibis.duckdb.connect()

    def history(upto: date) -> ibis.Table:
        return ibis.memtable(pa.concat_tables([t for d, t in by_day.items() if d < upto]))

    def rows_of(expr) -> list[dict]:
        return con.to_pyarrow(expr.order_by("customer_no")).to_pylist()

    first = F.LONG_WINDOW + 2  # from here the 126-day window has a day leaving too
    state = rows_of(
        F.window_state_from_history(
            customer_indicators=ibis.memtable(by_day[calendar[first]]), history=history(calendar[first]),
            trading_days=calendar[: first + 1], day=calendar[first],
        )
    )
    for n in range(first + 1, first + 8):
        day = calendar[n]
        leaving = {w: (ibis.memtable(by_day[d]) if d else None) for w, d in F.leaving_days(calendar[: n + 1], day).items()}
        assert all(v is not None for v in leaving.values())
        carried = rows_of(
            F.window_state(
                customer_indicators=ibis.memtable(by_day[day]),
                previous=ibis.memtable(pa.Table.from_pylist(state, schema=F.WINDOW_STATE_SCHEMA.to_pyarrow())),
                leaving=leaving, trading_days=calendar[: n + 1], day=day,
            )
        )
        recomputed = rows_of(
            F.window_state_from_history(
                customer_indicators=ibis.memtable(by_day[day]), history=history(day),
                trading_days=calendar[: n + 1], day=day,
            )
        )
        assert carried == recomputed, day
        state = carried
    # the data exercised what it should: C4's last trade left the 126 days, C3 has gaps
    assert {r["customer_no"]: r["last_trade_date"] for r in state}["C4"] is None
    assert calendar[7] >= calendar[first + 1 - F.LONG_WINDOW]  # … and was in them when the test began
    assert {r["customer_no"]: r["history_days"] for r in state}["C3"] < F.LONG_WINDOW
