"""Tasks from the data, each rule at and around its threshold, worked by hand on a few rows of
hand-written snapshots (``snapshots.write_snapshots``) and the world's five customers
(``brokercrm.testing.build_world``: 10000001 a1 … 10000005 b)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from brokercrm.customers.models import Customer
from brokercrm.datacenter.models import Holding
from brokercrm.datacenter.tests.builders import Book
from brokercrm.segments.models import CustomerSegment, TierChange
from brokercrm.service import rules
from brokercrm.service.data_events import data_events_raise, limit_down_securities, service_policy_update
from brokercrm.service.models import Task, TaskAssignment
from brokercrm.service.tests.snapshots import write_snapshots

# Wednesday 22 April 2026 and the five trading days before it (Thu 16 … Tue 21; no holiday)
DAY = date(2026, 4, 22)
WEEK = [date(2026, 4, 15), date(2026, 4, 16), date(2026, 4, 17), date(2026, 4, 20), date(2026, 4, 21), DAY]


def _tasks(kind: str | None = None) -> dict[str, list[Task]]:
    rows = Task.objects.unscoped().select_related("customer").order_by("id")
    if kind:
        rows = rows.filter(kind=kind)
    out: dict[str, list[Task]] = {}
    for t in rows:
        out.setdefault(t.customer.customer_no, []).append(t)
    return out


def _raise(tmp_path, day=DAY):
    return data_events_raise(data_dir=tmp_path, day=day, today=day)


# --- large withdrawal and net outflow ---------------------------------------------------------


@pytest.fixture
def outflows(world, tmp_path):
    """Base day 15 April; window 16–22 April (5 trading days: 16, 17, 20, 21, 22).

    | customer | flows in the window | base assets (15th) | rule |
    | --- | --- | --- | --- |
    | 10000001 | bank_out 200,000.00 on the 22nd | 1,000,000 | large withdrawal (at the threshold) |
    | 10000002 | bank_out 199,999.99 on the 22nd | 10,000,000 | nothing (1 cent below; 2 % outflow) |
    | 10000003 | bank_out 100,000 on 16th, 20th, 22nd | 1,000,000 | net outflow 300,000 = 30.00 % (at) |
    | 10000004 | securities out 350,000 on 17th, bank_in 50,000 on 21st | 1,000,000 | net outflow 300,000 = 30 % |
    | 10000005 | bank_out 300,000 (16th), bank_in 0.01 (21st) | 1,000,000 | nothing: 299,999.99 < 300,000 |
    """
    rows: dict[date, list[dict]] = {d: [] for d in WEEK}
    for number in ("10000001", "10000003", "10000004", "10000005"):
        rows[WEEK[0]].append({"customer_no": number, "total_assets": "1000000.00"})
    rows[WEEK[0]].append({"customer_no": "10000002", "total_assets": "10000000.00"})
    rows[DAY].append({"customer_no": "10000001", "bank_out": "200000.00", "total_assets": "800000.00"})
    rows[DAY].append({"customer_no": "10000002", "bank_out": "199999.99"})
    for d in (WEEK[1], WEEK[3], DAY):
        rows[d].append({"customer_no": "10000003", "bank_out": "100000.00"})
    rows[WEEK[2]].append({"customer_no": "10000004", "securities_out_value": "350000.00"})
    rows[WEEK[4]].append({"customer_no": "10000004", "bank_in": "50000.00"})
    rows[WEEK[1]].append({"customer_no": "10000005", "bank_out": "300000.00"})
    rows[WEEK[4]].append({"customer_no": "10000005", "bank_in": "0.01"})
    write_snapshots(tmp_path, days=WEEK, customers=rows)
    return world


def test_large_withdrawal_and_net_outflow_at_and_around_their_thresholds(outflows, tmp_path):
    summary = _raise(tmp_path)
    assert summary.raised == {"large_withdrawal": 1, "net_outflow": 2}
    tasks = _tasks("large_withdrawal")
    assert sorted(tasks) == ["10000001", "10000003", "10000004"]
    a1 = tasks["10000001"][0]
    assert (a1.dedup_key, a1.priority, a1.assignee.user.username) == ("bank_out:2026-04-22", "high", "am_a1")
    assert "200,000.00" in a1.title
    # 10000001 also lost 20 % … but one task tells the day's withdrawal; 10000003 30.00 %
    assert tasks["10000003"][0].dedup_key == "outflow:2026-04-22" and "30.00%" in tasks["10000003"][0].title
    assert tasks["10000004"][0].assignee is None  # nobody serves 10000004: the branch sees it
    # due by tier, in trading days from the day raised: standard 5 → Wed 29th
    assert a1.due_date == date(2026, 4, 29)


def test_rerunning_creates_no_second_task_and_a_done_one_is_not_raised_again(outflows, tmp_path):
    _raise(tmp_path)
    assert _raise(tmp_path).raised == {}
    Task.objects.unscoped().filter(dedup_key="bank_out:2026-04-22").update(status="done")
    assert _raise(tmp_path).raised == {}
    assert Task.objects.unscoped().count() == 3


def test_a_net_outflow_is_not_raised_again_while_its_window_has_a_task(outflows, tmp_path):
    _raise(tmp_path)
    # Thursday 23rd: the window 17–23 still holds 10000003's outflow of the 20th and 22nd (200,000)
    # and 10000004's; with a new base. Re-raise only when the window no longer has a task.
    day = date(2026, 4, 23)
    rows = {d: [] for d in [*WEEK, day]}
    rows[WEEK[1]].append({"customer_no": "10000003", "total_assets": "1000000.00"})
    for d in (WEEK[3], DAY, day):
        rows[d].append({"customer_no": "10000003", "bank_out": "150000.00"})
    write_snapshots(tmp_path, days=[*WEEK, day], customers=rows)
    # 450,000 ≥ 30 % of 1,000,000, but the task of the 22nd lies in the window 17–23
    assert _raise(tmp_path, day).raised == {}


# --- margin --------------------------------------------------------------------------------


@pytest.fixture
def margins(world, tmp_path):
    """Credit accounts on the 22nd (ratio = total assets ÷ debt):

    | account | customer | assets / debt | ratio | level |
    | --- | --- | --- | --- | --- |
    | K1 | 10000001 | 150.00 / 100.00 | 150 % | none (not below) |
    | K2 | 10000002 | 149.99 / 100.00 | 149.99 % | warning |
    | K3 | 10000003 | 130.00 / 100.00 | 130 % | warning (not below 130) |
    | K5 | 10000005 | 129.99 / 100.00 | 129.99 % | call |
    | N1 | 10000001 | 10.00 / 100.00 (normal account) | — | none: not a credit account |
    | K4 | 10000004 | 0 / 0 | no debt | none |
    """
    accounts = [
        {"fund_account": "K1", "customer_no": "10000001", "account_type": "credit", "total_assets": "150.00", "debt": "100.00"},
        {"fund_account": "K2", "customer_no": "10000002", "account_type": "credit", "total_assets": "149.99", "debt": "100.00"},
        {"fund_account": "K3", "customer_no": "10000003", "account_type": "credit", "total_assets": "130.00", "debt": "100.00"},
        {"fund_account": "K5", "customer_no": "10000005", "account_type": "credit", "total_assets": "129.99", "debt": "100.00"},
        {"fund_account": "N1", "customer_no": "10000001", "account_type": "normal", "total_assets": "10.00", "debt": "100.00"},
        {"fund_account": "K4", "customer_no": "10000004", "account_type": "credit"},
    ]
    write_snapshots(tmp_path, days=[DAY], accounts={DAY: accounts})
    return world


def test_margin_warning_below_150_and_call_below_130(margins, tmp_path):
    assert _raise(tmp_path).raised == {"margin_warning": 2, "margin_call": 1}
    got = {n: [(t.dedup_key, t.priority) for t in ts] for n, ts in _tasks("margin_call").items()}
    assert got == {
        "10000002": [("margin_warning:K2", "medium")],
        "10000003": [("margin_warning:K3", "medium")],
        "10000005": [("margin_call:K5", "high")],
    }
    assert "129.99%" in _tasks("margin_call")["10000005"][0].title


def test_margin_dedup_while_open_and_raised_again_once_done_if_still_low(margins, tmp_path):
    _raise(tmp_path)
    assert _raise(tmp_path).raised == {}  # open: nothing new
    Task.objects.unscoped().filter(dedup_key="margin_call:K5").update(status="done")
    # still below 130 % at the next publication: the call is followed up again
    assert _raise(tmp_path).raised == {"margin_call": 1}
    assert Task.objects.unscoped().filter(dedup_key="margin_call:K5", status="open").count() == 1


def test_head_office_changes_the_thresholds(margins, tmp_path, world):
    with pytest.raises(PermissionDenied):
        service_policy_update(actor=world.user("bm_a"), values={"margin_warning_ratio": "1.40"})
    with pytest.raises(ValidationError):
        service_policy_update(actor=world.user("hq_admin"), values={"margin_call_ratio": "1.60"})
    service_policy_update(actor=world.user("hq_admin"), values={"margin_warning_ratio": "1.30", "margin_call_ratio": "1.20"})
    assert rules.data_rule_thresholds()["margin_warning_ratio"] == D("1.30")
    # below 130 %: only K5, a warning now
    assert _raise(tmp_path).raised == {"margin_warning": 1}


# --- dormant -------------------------------------------------------------------------------


def test_dormant_after_90_days_without_a_trade(world, tmp_path):
    """Window: 90 calendar days ending the 22nd = from 23 January. Computed days: 12 Jan (before),
    23 Jan (the window's first), 10 Mar, 22 Apr.

    | customer | trades | on 23 Jan? | dormant |
    | --- | --- | --- | --- |
    | 10000001 | none | yes | yes |
    | 10000002 | 1 on 23 Jan (the window's first day) | yes | no |
    | 10000003 | 3 on 12 Jan (before the window) | yes | yes |
    | 10000005 | none | no (first seen 10 Mar) | no: not 90 days with us |
    """
    days = [date(2026, 1, 12), date(2026, 1, 23), date(2026, 3, 10), DAY]
    assert days[1] == DAY - timedelta(days=89)
    rows = {d: [{"customer_no": n} for n in ("10000001", "10000002", "10000003")] for d in days}
    rows[days[1]][1]["trade_count"] = 1
    rows[days[0]][2]["trade_count"] = 3
    for d in days[2:]:
        rows[d].append({"customer_no": "10000005"})
    write_snapshots(tmp_path, days=days, customers=rows)
    assert _raise(tmp_path).raised == {"dormant": 2}
    assert sorted(_tasks("dormant")) == ["10000001", "10000003"]
    assert _tasks("dormant")["10000001"][0].priority == "low"
    # Thursday 23rd (window from 24 January, whose first computed day is Monday 26th): 10000001
    # and 10000003 are still dormant but their task of the window is on record; 10000002's last
    # trade (23 January) is now 90 days ago
    later = [*days[:2], date(2026, 1, 26), *days[2:], date(2026, 4, 23)]
    rows |= {later[2]: [{"customer_no": n} for n in ("10000001", "10000002", "10000003")], later[-1]: rows[DAY]}
    write_snapshots(tmp_path, days=later, customers=rows)
    assert _raise(tmp_path, date(2026, 4, 23)).raised == {"dormant": 1}
    assert {n: len(t) for n, t in _tasks("dormant").items()} == {"10000001": 1, "10000002": 1, "10000003": 1}


def test_no_dormancy_without_90_days_of_history(world, tmp_path):
    days = [date(2026, 1, 26), DAY]  # the first computed day is after the window's start (23 January)
    write_snapshots(tmp_path, days=days, customers={d: [{"customer_no": "10000001"}] for d in days})
    assert _raise(tmp_path).raised == {}


# --- limit-down ----------------------------------------------------------------------------


def test_limit_down_by_board_at_the_rounded_limit_price(world, tmp_path):
    """Limit-down price = previous close × (1 − limit), half up to the cent:

    | security | board, limit | previous close | limit-down | close | at limit |
    | --- | --- | --- | --- | --- | --- |
    | SH600001 | main 10 % | 10.00 | 9.00 | 9.00 | yes |
    | SH600002 | main 10 % | 10.00 | 9.00 | 9.01 | no |
    | SH688001 | STAR 20 % | 10.00 | 8.00 | 8.00 | yes |
    | SZ300001 | ChiNext 20 % | 12.35 | 9.88 | 9.88 | yes |
    | SZ000003 *ST | risk warning 5 % | 3.33 | 3.1635 → 3.16 | 3.16 | yes |
    | SZ000004 | main 10 % | 3.33 | 2.997 → 3.00 | 3.01 | no |
    | BJ920001 | Beijing 30 % | 10.00 | 7.00 | 7.00 | yes |
    | SH510300 | ETF (not a stock) | 1.000 | — | 0.900 | not counted |
    | SH600009 | listing day (no previous close) | — | — | 5.00 | no |
    """
    b = Book()
    quotes = [
        ("SH", "600001", "stock", "10.00", "9.00", "银行一"),
        ("SH", "600002", "stock", "10.00", "9.01", "银行二"),
        ("SH", "688001", "stock", "10.00", "8.00", "芯片一"),
        ("SZ", "300001", "stock", "12.35", "9.88", "创业一"),
        ("SZ", "000003", "stock", "3.33", "3.16", "*ST某某"),
        ("SZ", "000004", "stock", "3.33", "3.01", "某某"),
        ("BJ", "920001", "stock", "10.00", "7.00", "北交一"),
        ("SH", "510300", "etf", "1.000", "0.900", "沪深300ETF"),
        ("SH", "600009", "stock", None, "5.00", "新股"),
    ]
    for exchange, code, kind, pre, close, _name in quotes:
        b.security(code, kind, exchange=exchange)
        b.add(DAY, "quotes", exchange=exchange, security_code=code, close_price=close, pre_close_price=pre)
    b.publish(tmp_path)
    from brokercrm.datacenter import warehouse

    names = {(e, c): n for e, c, _k, _p, _c, n in quotes}
    # the book names each security by its code; the ST marker must come from the master's name
    import pyarrow as pa
    import pyarrow.parquet as pq

    for path in warehouse.flow_files(tmp_path, "securities", start=DAY, end=DAY):
        table = pq.read_table(path)
        renamed = [names[(e, c)] for e, c in zip(table.column("exchange").to_pylist(), table.column("security_code").to_pylist())]
        pq.write_table(table.set_column(table.schema.get_field_index("name"), "name", pa.array(renamed)), path)
    assert sorted(limit_down_securities(data_dir=tmp_path, day=DAY)) == [
        ("BJ", "920001"), ("SH", "600001"), ("SH", "688001"), ("SZ", "000003"), ("SZ", "300001"),
    ]  # fmt: skip

    def hold(key, exchange, code, quantity=100):
        Holding.objects.unscoped().create(
            customer=world.customers[key], fund_account=f"F{key}", trade_date=DAY, exchange=exchange, security_code=code,
            quantity=quantity, close_price=D("1"), market_value=D("100"), average_cost=D("1"), unrealized_pnl=D("0"),
        )  # fmt: skip

    hold("a1", "SH", "600001")
    hold("a1", "SZ", "000003")
    hold("a1b", "SH", "600002")
    hold("a2", "SH", "510300")
    write_snapshots(tmp_path, days=[DAY])
    assert _raise(tmp_path).raised == {"limit_down": 1}
    task = _tasks("limit_down")["10000001"][0]
    assert task.dedup_key == "limit_down:2026-04-22"
    assert "SH600001" in task.title and "SZ000003" in task.title
    assert _raise(tmp_path).raised == {}


# --- from the customer master --------------------------------------------------------------


def _update(world, key, **fields):
    Customer.objects.unscoped().filter(pk=world.customers[key].pk).update(**fields)


def test_risk_assessment_expiring_within_30_days(world, tmp_path):
    # 22 April + 30 days = 22 May
    _update(world, "a1", risk_level="C3", risk_expiry=date(2026, 5, 22))  # the 30th day: raised
    _update(world, "a1b", risk_level="C3", risk_expiry=date(2026, 5, 23))  # the 31st: not yet
    _update(world, "a2", risk_level="C4", risk_expiry=DAY)  # expires today: raised
    _update(world, "b", risk_level="C2", risk_expiry=date(2026, 4, 21))  # expired yesterday: the KYC page's list
    _update(world, "a_unassigned", risk_level="", risk_expiry=date(2026, 5, 1))  # never assessed
    assert _raise(tmp_path).raised == {"assessment_expiring": 2}
    assert {n: t[0].dedup_key for n, t in _tasks("assessment_expiring").items()} == {
        "10000001": "assessment:2026-05-22", "10000003": "assessment:2026-04-22",
    }  # fmt: skip
    assert _raise(tmp_path).raised == {}
    # a new assessment (a new expiry) is a new episode
    _update(world, "a1", risk_expiry=date(2026, 5, 20))
    assert _raise(tmp_path).raised == {"assessment_expiring": 1}


def test_aml_review_due_by_level_cycle(world, tmp_path):
    # high: every 6 months; low: every 24 (customers.rules.AML_REVIEW_MONTHS)
    _update(world, "a1", aml_level="high", aml_reviewed_on=date(2025, 10, 22))  # due 22 April: raised
    _update(world, "a1b", aml_level="high", aml_reviewed_on=date(2025, 10, 23))  # due 23 April: not yet
    _update(world, "a2", aml_level="low", aml_reviewed_on=None, open_date=date(2024, 4, 22))  # never reviewed: 2 years open
    _update(world, "b", aml_level="", open_date=date(2000, 1, 1))  # no rating: nothing
    assert _raise(tmp_path).raised == {"aml_review": 2}
    assert {n: t[0].dedup_key for n, t in _tasks("aml_review").items()} == {
        "10000001": "aml:2026-04-22", "10000003": "aml:2026-04-22",
    }  # fmt: skip


def test_an_aml_review_done_is_recorded_and_the_next_falls_due_a_cycle_later(world, tmp_path):
    from django.utils import timezone

    from brokercrm.customers.rules import add_months
    from brokercrm.service.services import task_complete

    _update(world, "a1", aml_level="high", aml_reviewed_on=date(2025, 10, 22))
    assert _raise(tmp_path).raised == {"aml_review": 1}
    task = _tasks("aml_review")["10000001"][0]
    task_complete(actor=world.user("am_a1"), task_id=task.pk)
    reviewed = Customer.objects.unscoped().get(customer_no="10000001").aml_reviewed_on
    assert reviewed == timezone.localdate()
    due = add_months(reviewed, 6)
    assert _raise(tmp_path, due - timedelta(days=1)).raised == {}
    assert _raise(tmp_path, due).raised == {"aml_review": 1}
    assert [t.dedup_key for t in _tasks("aml_review")["10000001"] if t.status == "open"] == [f"aml:{due.isoformat()}"]


def test_an_open_aml_task_is_cancelled_once_a_review_is_recorded_elsewhere(world, tmp_path):
    _update(world, "a2", aml_level="low", aml_reviewed_on=None, open_date=date(2024, 4, 22))
    _update(world, "a1", aml_level="high", aml_reviewed_on=date(2025, 10, 22))
    assert _raise(tmp_path).raised == {"aml_review": 2}
    # the AML system's review of a2 is loaded; a1's stays due
    _update(world, "a2", aml_reviewed_on=date(2026, 3, 1))
    summary = _raise(tmp_path)
    assert (summary.raised, summary.settled) == ({}, 1)
    assert {n: [t.status for t in ts] for n, ts in _tasks("aml_review").items()} == {"10000001": ["open"], "10000003": ["cancelled"]}


def test_aml_review_at_the_end_of_a_month(world, tmp_path):
    # reviewed 31 August 2025, high: due 28 February 2026 (no 31st)
    _update(world, "b", aml_level="high", aml_reviewed_on=date(2025, 8, 31))
    assert _raise(tmp_path, date(2026, 2, 27)).raised == {}
    assert _raise(tmp_path, date(2026, 2, 28)).raised == {"aml_review": 1}
    assert _tasks("aml_review")["10000005"][0].dedup_key == "aml:2026-02-28"


def test_tier_changes_of_the_last_week_but_not_a_starting_tier(world, tmp_path):
    TierChange.objects.create(customer=world.customers["a1"], date=date(2026, 4, 16), old="silver", new="gold", reason="upgrade")
    TierChange.objects.create(customer=world.customers["a1b"], date=date(2026, 4, 15), old="gold", new="silver", reason="downgrade")
    TierChange.objects.create(customer=world.customers["a2"], date=DAY, old="", new="gold", reason="initial")
    TierChange.objects.create(customer=world.customers["b"], date=DAY, old="gold", new="silver", reason="downgrade")
    # the 16th is 6 days old (raised); the 15th is 7 (not)
    assert _raise(tmp_path).raised == {"tier_change": 2}
    got = {n: (t[0].dedup_key, t[0].priority) for n, t in _tasks("tier_change").items()}
    assert got == {"10000001": ("tier:2026-04-16:silver>gold", "medium"), "10000005": ("tier:2026-04-22:gold>silver", "high")}


def test_birthdays_in_the_coming_week_due_on_the_trading_day_before(world, tmp_path):
    # from Thursday 23rd to Wednesday 29th
    _update(world, "a1", birth_date=date(1980, 4, 29))  # Wednesday 29th: due that day
    _update(world, "a1b", birth_date=date(1990, 4, 30))  # 8 days ahead: not yet
    _update(world, "a2", birth_date=date(1985, 4, 25))  # Saturday: due Friday 24th
    _update(world, "b", birth_date=date(1970, 4, 22))  # today: the window starts tomorrow
    CustomerSegment.objects.create(
        customer=world.customers["a2"], tier="diamond", tier_since=DAY, abcd_class="A", as_of=DAY,
        contribution=D("0"), turnover=D("0"), net_commission_12m=D("0"),
    )  # fmt: skip
    assert _raise(tmp_path).raised == {"birthday": 2}
    got = {n: (t[0].dedup_key, t[0].due_date) for n, t in _tasks("birthday").items()}
    assert got == {"10000001": ("birthday:2026", date(2026, 4, 29)), "10000003": ("birthday:2026", date(2026, 4, 24))}
    # a day later the window reaches the 30th: 10000002's is new, the others are not raised twice
    assert _raise(tmp_path, date(2026, 4, 23)).raised == {"birthday": 1}
    assert {n: len(t) for n, t in _tasks("birthday").items()} == {"10000001": 1, "10000002": 1, "10000003": 1}


def test_born_on_29_february_is_greeted_on_the_28th_in_other_years(world, tmp_path):
    _update(world, "a1", birth_date=date(1988, 2, 29))
    assert _raise(tmp_path, date(2026, 2, 26)).raised == {"birthday": 1}
    assert _tasks("birthday")["10000001"][0].due_date == date(2026, 2, 27)  # Saturday 28th: Friday


def test_tasks_follow_the_customer_to_a_new_account_manager(world, tmp_path):
    _update(world, "a_unassigned", risk_level="C3", risk_expiry=date(2026, 5, 1))
    _raise(tmp_path)
    task = _tasks("assessment_expiring")["10000004"][0]
    assert task.assignee is None
    _update(world, "a_unassigned", account_manager=world.employees["am_a1"])
    assert _raise(tmp_path).followed == 1
    task.refresh_from_db()
    assert task.assignee.user.username == "am_a1"
    history = TaskAssignment.objects.unscoped().get(task=task)
    assert (history.from_employee, history.to_employee.user.username) == (None, "am_a1")


# --- through a real pipeline run and publication -------------------------------------------------


@pytest.mark.slow
def test_a_publication_raises_the_tasks_once(world, tmp_path, monkeypatch):
    """Three trading days computed by the pipeline and published: on the 22nd 10000001 sends
    ¥250,000 to the bank (large withdrawal); 10000005's credit account holds ¥120,000 cash against
    ¥100,000 financing (maintenance ratio 120 %: margin call). Publishing again raises nothing."""
    from brokercrm.datacenter import runner
    from brokercrm.datacenter.services import datacenter_publish
    from brokercrm.service import selectors

    monkeypatch.setattr(selectors, "service_today", lambda: DAY)
    d1, d2 = date(2026, 4, 20), date(2026, 4, 21)
    b = Book()
    b.customer(d1, "10000001", branch_code="0101").account(d1, "N1", "10000001", branch_code="0101").cash(d1, "N1", "1000000.00", "1000000.00")
    b.customer(d1, "10000005", branch_code="0102")
    b.account(d1, "K5", "10000005", branch_code="0102", account_type="credit").cash(d1, "K5", "120000.00", "120000.00")
    for d in (d1, d2, DAY):
        b.add(d, "margin_debts", fund_account="K5", financing_balance="100000.00")
    b.day(d2)
    b.cash(DAY, "N1", "-250000.00", "750000.00", kind="bank_out")
    b.publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    summary = datacenter_publish(data_dir=tmp_path, window=10)
    assert (summary.counts["tasks_large_withdrawal"], summary.counts["tasks_margin_call"]) == (1, 1)
    tasks = {(t.customer.customer_no, t.kind, t.assignee.user.username) for t in Task.objects.unscoped().select_related("customer", "assignee__user")}
    # and both are rated low AML risk since they opened in January 2020: review due (24 months)
    assert tasks == {
        ("10000001", "large_withdrawal", "am_a1"), ("10000005", "margin_call", "am_b"),
        ("10000001", "aml_review", "am_a1"), ("10000005", "aml_review", "am_b"),
    }  # fmt: skip
    assert "120.00%" in Task.objects.unscoped().get(kind="margin_call").title
    # the same day published again (e.g. head office changed a tier threshold): nothing new
    again = datacenter_publish(data_dir=tmp_path, window=10, since=d2)
    assert not any(n for name, n in again.counts.items() if name.startswith("tasks_"))
    assert Task.objects.unscoped().count() == 4
