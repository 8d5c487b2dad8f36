"""statements.to_arrow: an expression's SQL compiled once per shape and reused with the tables and
dates of the day — the answers must be those of compiling every expression (Ibis's to_pyarrow)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from brokercrm.datacenter import runner, statements

D1, D2, D3 = date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 9)


@pytest.fixture
def con():
    return runner.connect("duckdb")


@pytest.fixture(autouse=True)
def _fresh_shapes(monkeypatch):
    monkeypatch.setattr(statements, "_shapes", type(statements._shapes)())
    monkeypatch.setattr(statements, "stats", {"compiled": 0, "reused": 0, "uncached": 0})


def _flows(rows: list[tuple[date, str, str]]) -> pa.Table:
    return pa.table(
        {
            "trade_date": pa.array([r[0] for r in rows], pa.date32()),
            "fund_account": [r[1] for r in rows],
            "amount": pa.array([Decimal(r[2]) for r in rows], pa.decimal128(18, 2)),
        }
    )


def _day_total(flows: ibis.Table, accounts: ibis.Table, day: date, window: list[date]) -> ibis.Table:
    """What a stage looks like: two tables joined, the day and a window of days as literals."""
    today = flows.filter(flows.trade_date == day).group_by("fund_account").aggregate(today=flows.amount.sum())
    recent = (
        flows.filter(flows.trade_date.isin(window))
        .group_by("fund_account")
        .aggregate(days=flows.trade_date.nunique())
    )
    return (
        accounts.left_join(today, "fund_account")
        .left_join(recent, "fund_account")
        .select("fund_account", "branch", "today", "days", as_of=ibis.literal(day))
        .order_by("fund_account")
    )


FLOWS = [
    (D1, "A1", "10.00"),
    (D2, "A1", "20.50"),
    (D2, "A2", "1.25"),
    (D3, "A1", "300.00"),
    (D3, "A2", "-4.00"),
    (D3, "A2", "0.01"),
]


def test_a_shape_compiled_once_answers_each_day_with_its_own_tables_and_dates(con):
    accounts = pa.table({"fund_account": ["A1", "A2", "A3"], "branch": ["B1", "B1", "B2"]})
    answers = []
    for day, window in ((D2, [D1, D2]), (D3, [D2, D3])):
        # new in-memory tables every day, as the runner makes them
        expr = _day_total(ibis.memtable(_flows(FLOWS)), ibis.memtable(accounts), day, window)
        got = statements.to_arrow(con, expr)
        assert got.equals(con.to_pyarrow(expr))
        answers.append(got.to_pylist())
    assert statements.stats == {"compiled": 1, "reused": 1, "uncached": 0}
    assert answers[1] == [
        {"fund_account": "A1", "branch": "B1", "today": Decimal("300.00"), "days": 2, "as_of": D3},
        {"fund_account": "A2", "branch": "B1", "today": Decimal("-3.99"), "days": 2, "as_of": D3},
        {"fund_account": "A3", "branch": "B2", "today": None, "days": None, "as_of": D3},
    ]
    assert answers[0][0] == {"fund_account": "A1", "branch": "B1", "today": Decimal("20.50"), "days": 2, "as_of": D2}


def test_expressions_differing_in_anything_but_tables_and_dates_are_compiled_apart(con):
    flows = _flows(FLOWS)
    table = ibis.memtable(flows)
    small = statements.to_arrow(con, table.filter(table.amount < Decimal("5")).count().as_table())
    table = ibis.memtable(flows)
    large = statements.to_arrow(con, table.filter(table.amount < Decimal("50")).count().as_table())
    assert [small.column(0)[0].as_py(), large.column(0)[0].as_py()] == [3, 5]
    # one table read twice is not two tables read once each; one date twice is not two dates
    one, other = ibis.memtable(flows), ibis.memtable(flows)

    def rows(first: ibis.Table, since: date, second: ibis.Table, until: date) -> int:
        expr = first.filter(first.trade_date >= since).union(second.filter(second.trade_date <= until))
        return statements.to_arrow(con, expr.count().as_table()).column(0)[0].as_py()

    assert [rows(one, D2, one, D2), rows(one, D2, other, D1), rows(one, D3, one, D1)] == [8, 6, 4]
    assert statements.stats["reused"] == 0


def test_parquet_views_are_tables_of_the_day_too(con, tmp_path):
    for day in (D2, D3):
        path = tmp_path / f"{day}.parquet"
        pq.write_table(_flows([r for r in FLOWS if r[0] == day]), path)
        view = con.read_parquet(str(path))
        got = statements.to_arrow(con, view.aggregate(total=view.amount.sum(), day=view.trade_date.max()))
        assert got.to_pylist() == [{"total": sum(Decimal(r[2]) for r in FLOWS if r[0] == day), "day": day}]
    assert statements.stats == {"compiled": 1, "reused": 1, "uncached": 0}


def test_a_recomputed_backfill_runs_on_reused_statements_and_gives_the_same_files(tmp_path):
    from brokercrm.datacenter.tests.test_runner import _book, _files

    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    first = _files(tmp_path)
    compiled = statements.stats["compiled"]
    runner.pipeline_run(data_dir=tmp_path, date_from=D1)
    assert statements.stats["compiled"] == compiled  # every shape of the three days was known
    assert statements.stats["reused"] > 0
    assert _files(tmp_path) == first
