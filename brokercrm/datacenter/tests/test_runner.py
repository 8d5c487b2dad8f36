"""pipeline_run: which days it computes, how state carries, and atomic publication (DESIGN.md,
"Warehouse": immutable snapshots published atomically; a crashed run changes nothing)."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from brokercrm.datacenter import runner
from brokercrm.datacenter.exports import export_reconciliation
from brokercrm.datacenter.tests.builders import Book

D1, D2, D3 = date(2026, 3, 5), date(2026, 3, 6), date(2026, 3, 9)


def _book(*, d2_bank_in: str = "100.00") -> Book:
    b = Book()
    b.security("600036")
    b.account(D1, "A1", "C1").cash(D1, "A1", "1000.00", "1000.00")
    b.hold(D1, "A1", "600036", 100, cost_price="30.0000")
    b.account(D1, "K1", "C2").cash(D1, "K1", "500.00", "500.00")
    b.hold(D1, "K1", "600036", 10, cost_price="30.0000")
    for d, close in ((D1, "35.00"), (D2, "36.00"), (D3, "37.00")):
        b.quote(d, "600036", close)
    after_bank = Decimal("1000.00") + Decimal(d2_bank_in)
    b.cash(D2, "A1", d2_bank_in, after_bank, kind="bank_in")
    b.trade(D2, "A1", "600036", "sell", 40, "1440.00")
    b.cash(D2, "A1", "1440.00", after_bank + Decimal("1440.00"), kind="trade_settle")
    b.hold(D2, "A1", "600036", 60).hold(D3, "A1", "600036", 60)
    # K1: the counter says 12 where the flows say 10 (a position break), and a cash jump.
    b.hold(D2, "K1", "600036", 12).hold(D3, "K1", "600036", 12)
    b.cash(D3, "K1", "50.00", "600.00", kind="bank_in")
    return b


def _killed_on(monkeypatch, stage: str, day: date):
    """``runner.<stage>`` raises KeyboardInterrupt (a kill) when it computes ``day``; returns the
    real function, to put back."""
    real = getattr(runner, stage)

    def dies(*args, **kwargs):
        if kwargs["day"] == day:
            raise KeyboardInterrupt("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, stage, dies)
    return real


def _files(data_dir: Path) -> dict[str, bytes]:
    version = runner.current_version(data_dir)
    return {
        p.relative_to(version).as_posix(): p.read_bytes()
        for p in sorted(version.rglob("*.parquet"))
    }


def test_a_run_computes_every_ready_day_then_nothing(tmp_path):
    _book().publish(tmp_path)
    seen = []
    first = runner.pipeline_run(data_dir=tmp_path, progress=lambda done, total, day: seen.append((done, total, day)))
    assert first.computed == (D1, D2, D3)
    assert first.version == "v000001"
    assert seen == [(1, 3, D1), (2, 3, D2), (3, 3, D3)]
    again = runner.pipeline_run(data_dir=tmp_path)
    assert (again.computed, again.version) == ((), "v000001")
    assert runner.computed_days(data_dir=tmp_path) == [D1, D2, D3]


def test_recomputing_gives_the_same_bytes(tmp_path):
    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    before = _files(tmp_path)
    result = runner.pipeline_run(data_dir=tmp_path, date_from=D1)
    assert result.computed == (D1, D2, D3)
    assert result.version == "v000002"
    assert _files(tmp_path) == before
    # ... every table, the segmentation and the tags included.
    for table in ("segments", "tier_state", "abcd_sums", "tags", "customers"):
        assert f"{table}/trade_date={D3}/part-0.parquet" in before, table
    # The superseded version stays one run longer for readers that resolved it just before.
    assert sorted(p.name for p in (runner.snapshots_dir(tmp_path) / "versions").iterdir()) == ["v000001", "v000002"]
    runner.pipeline_run(data_dir=tmp_path, date_from=D3)
    assert sorted(p.name for p in (runner.snapshots_dir(tmp_path) / "versions").iterdir()) == ["v000002", "v000003"]


def test_a_range_recomputes_it_and_every_later_day(tmp_path):
    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    result = runner.pipeline_run(data_dir=tmp_path, date_from=D2, date_to=D2)
    assert result.computed == (D2, D3)  # D3 carries D2's state, so it is recomputed too


def test_date_to_stops_new_days(tmp_path):
    _book().publish(tmp_path)
    assert runner.pipeline_run(data_dir=tmp_path, date_to=D2).computed == (D1, D2)
    assert runner.pipeline_run(data_dir=tmp_path).computed == (D3,)


def test_a_redelivered_day_is_recomputed_with_every_later_day(tmp_path):
    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    kept = (runner.current_version(tmp_path) / "account_indicators" / "trade_date=2026-03-05" / "part-0.parquet").stat()
    # The counter re-delivers D2 with a different bank transfer.
    _book(d2_bank_in="300.00").publish(tmp_path, days=[D2], tag="redelivered")
    result = runner.pipeline_run(data_dir=tmp_path)
    assert result.computed == (D2, D3)
    a1 = {r["fund_account"]: r for r in runner.read_snapshot(data_dir=tmp_path, table="account_indicators", day=D3).to_pylist()}
    assert a1["A1"]["cash_balance"] == 2740  # 1000 + 300 + 1440, carried to D3
    # The untouched day is the same file, linked into the new version.
    now = (runner.current_version(tmp_path) / "account_indicators" / "trade_date=2026-03-05" / "part-0.parquet").stat()
    assert now.st_ino == kept.st_ino


@pytest.mark.parametrize("stage", ["_base_day", "_segments_and_tags"])
def test_a_failed_run_leaves_the_last_published_state(tmp_path, monkeypatch, stage):
    # killed in a day's base (this thread) or in its segments and tags (the second lane)
    book = _book()
    book.publish(tmp_path, days=[D1, D2])
    runner.pipeline_run(data_dir=tmp_path)
    before = _files(tmp_path)
    book.publish(tmp_path, days=[D3])
    real = _killed_on(monkeypatch, stage, D3)
    with pytest.raises(KeyboardInterrupt):
        runner.pipeline_run(data_dir=tmp_path, date_from=D1)
    assert runner.current_version(tmp_path).name == "v000001"
    assert _files(tmp_path) == before
    assert runner.read_snapshot(data_dir=tmp_path, table="customer_indicators", day=D3) is None
    # A run killed hard leaves its staging folder behind: the next run ignores and removes it.
    (runner.snapshots_dir(tmp_path) / "versions" / ".staging-leftover" / "x").mkdir(parents=True)
    monkeypatch.setattr(runner, stage, real)
    assert runner.pipeline_run(data_dir=tmp_path).computed == (D3,)
    assert sorted(p.name for p in (runner.snapshots_dir(tmp_path) / "versions").iterdir()) == ["v000001", "v000002"]


@pytest.mark.parametrize("stage", ["_base_day", "_segments_and_tags"])
def test_a_long_run_killed_keeps_its_checkpoints_and_the_next_run_goes_on_from_the_last(
    tmp_path, monkeypatch, stage
):
    # A backfill publishes the days it has finished as it goes (here after every day): killed
    # on D3, it leaves D1 and D2 published, whole; the next run computes D3 only, from D2's
    # published state, and ends with the very files of a run never killed.
    whole = tmp_path / "whole"
    _book().publish(whole)
    runner.pipeline_run(data_dir=whole, checkpoint_seconds=None)
    expected = _files(whole)

    data_dir = tmp_path / "killed"
    _book().publish(data_dir)
    real = _killed_on(monkeypatch, stage, D3)
    with pytest.raises(KeyboardInterrupt):
        runner.pipeline_run(data_dir=data_dir, checkpoint_seconds=0)
    assert runner.computed_days(data_dir=data_dir) == [D1, D2]
    assert _files(data_dir) == {k: v for k, v in expected.items() if "2026-03-09" not in k}
    # a checkpoint's clean-up keeps the version before it (for readers), then only two remain
    versions = runner.snapshots_dir(data_dir) / "versions"
    assert sorted(p.name for p in versions.iterdir()) == ["v000001", "v000002"]
    assert runner.current_version(data_dir).name == "v000002"

    monkeypatch.setattr(runner, stage, real)
    result = runner.pipeline_run(data_dir=data_dir, checkpoint_seconds=0)
    assert result.computed == (D3,)
    assert result.checkpoints == ()  # one day: nothing finished before it to publish early
    assert _files(data_dir) == expected


def test_checkpoints_publish_finished_days_in_order_and_never_drop_published_ones(tmp_path, monkeypatch):
    whole = tmp_path / "whole"
    _book().publish(whole)
    runner.pipeline_run(data_dir=whole, checkpoint_seconds=None)
    data_dir = tmp_path / "checkpointed"
    _book().publish(data_dir)
    first = runner.pipeline_run(data_dir=data_dir, checkpoint_seconds=0)
    # D1, then D1–D2, then the run's own version with all three, the same files as without
    assert first.checkpoints == ("v000001", "v000002")
    assert first.version == "v000003"
    assert _files(data_dir) == _files(whole)
    assert runner.pipeline_run(data_dir=data_dir, checkpoint_seconds=None).computed == ()
    before = _files(data_dir)

    # Recomputing published days publishes nothing before the end: a checkpoint of D1 alone
    # would take D2 and D3 away from the pages. Killed on D3, the last version stands as it was.
    _killed_on(monkeypatch, "_base_day", D3)
    with pytest.raises(KeyboardInterrupt):
        runner.pipeline_run(data_dir=data_dir, date_from=D1, checkpoint_seconds=0)
    assert runner.current_version(data_dir).name == "v000003"
    assert _files(data_dir) == before


def test_a_failed_write_fails_the_run_and_leaves_the_last_published_state(tmp_path, monkeypatch):
    # A day's files are written by a thread while the next day computes: its failure must still
    # fail the run, with nothing published and no staging folder left.
    book = _book()
    book.publish(tmp_path, days=[D1])
    runner.pipeline_run(data_dir=tmp_path)
    before = _files(tmp_path)
    book.publish(tmp_path, days=[D2, D3])
    real = runner._write

    def disk_full(table, path, schema):
        if f"trade_date={D2.isoformat()}" in str(path) and "positions" in str(path):
            raise OSError(28, "No space left on device")
        return real(table, path, schema)

    monkeypatch.setattr(runner, "_write", disk_full)
    with pytest.raises(OSError, match="No space left"):
        runner.pipeline_run(data_dir=tmp_path)
    assert runner.current_version(tmp_path).name == "v000001"
    assert _files(tmp_path) == before
    assert [p.name for p in (runner.snapshots_dir(tmp_path) / "versions").iterdir()] == ["v000001"]


def test_each_table_of_a_day_is_handed_over_once_as_soon_as_it_is_computed():
    # The runner starts writing a table while the rest of the day computes: every snapshot
    # table must reach it exactly once (the segmentation tables arrive together), the very
    # object the day returns, in the order the day computes them.
    book = _book()
    handed: list[tuple[str, object]] = []
    written = runner.compute_day(
        con=runner.connect("duckdb"),
        day=D1,
        previous_day=None,
        window=[D1],
        opening_counters=[book.counter],
        flows=book.flows(D1),
        closes=None,
        accounts=None,
        positions=None,
        customer_history=[],
        on_table=lambda name, arrow: handed.append((name, arrow)),
    )
    names = [name for name, _ in handed]
    assert sorted(names) == sorted(runner.SNAPSHOT_TABLES)
    assert all(arrow is written[name] for name, arrow in handed)
    assert names[:3] == ["closes", "accounts", "customers"]
    assert names.index("positions") < names.index("segments") < names.index("tags")


def test_a_day_waits_until_every_started_counter_delivered_it(tmp_path):
    book = _book()
    book.account(D1, "P1", "C3", counter="apex").cash(D1, "P1", "10.00", "10.00", counter="apex")
    book.cash(D2, "P1", "5.00", "15.00", counter="apex", kind="bank_in")
    book.publish(tmp_path)  # apex has nothing on D3: it has not delivered that day yet
    result = runner.pipeline_run(data_dir=tmp_path)
    assert result.computed == (D1, D2)
    assert result.pending == (D3,)


def test_export_reconciliation_lists_every_break(tmp_path):
    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    out = tmp_path / "recon.csv"
    assert export_reconciliation(data_dir=tmp_path, day=D2, out=out) == 1
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert rows == [
        {"trade_date": "2026-03-06", "kind": "position", "counter": "hundsun", "fund_account": "K1",
         "exchange": "SH", "security_code": "600036", "expected": "10", "found": "12"}
    ]
    assert export_reconciliation(data_dir=tmp_path, day=D3, out=out) == 2
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [(r["kind"], r["expected"], r["found"]) for r in rows] == [("cash", "550.00", "600.00"), ("position", "10", "12")]


def test_every_customer_carries_tier_class_and_tags_and_a_threshold_change_recomputes(tmp_path):
    from brokercrm.segments import pipeline as sp

    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    segments = runner.read_snapshot(data_dir=tmp_path, table="segments", day=D3).to_pylist()
    # C1 holds ¥4,500 and C2 ¥850 on D1 (their initial evaluation): both standard; a class each.
    assert {(r["customer_no"], r["tier"]) for r in segments} == {("C1", "standard"), ("C2", "standard")}
    assert all(r["abcd_class"] in sp.ABCD_CLASSES for r in segments)
    tags = runner.read_snapshot(data_dir=tmp_path, table="tags", day=D3).to_pylist()
    assert {r["customer_no"] for r in tags} == {"C1", "C2"}

    # Unchanged settings: nothing to do. Head office lowers silver to ¥1,000: every day again.
    assert runner.pipeline_run(data_dir=tmp_path).computed == ()
    lower = dict(sp.DEFAULT_TIER_THRESHOLDS, silver=sp.TierThreshold(Decimal(1000), Decimal(2000)))
    again = runner.pipeline_run(data_dir=tmp_path, thresholds=lower)
    assert again.computed == (D1, D2, D3)
    tiers = {r["customer_no"]: r["tier"] for r in runner.read_snapshot(data_dir=tmp_path, table="segments", day=D3).to_pylist()}
    assert tiers["C1"] == "silver"


def test_a_month_end_is_recomputed_when_the_next_month_shows_it_was_the_evaluation_day(tmp_path):
    """2026-04-29 (a Wednesday) is not known to end April until 2026-05-06 arrives after the
    May Day holidays: that day's fingerprint changes, it is computed again as the evaluation
    day, and 04-28 before it is kept."""
    april_28, april_29, may_6 = date(2026, 4, 28), date(2026, 4, 29), date(2026, 5, 6)
    b = Book()
    b.account(april_28, "A1", "C1").cash(april_28, "A1", "1000.00", "1000.00")
    b.day(april_29)
    b.publish(tmp_path, days=[april_28, april_29])
    assert runner.pipeline_run(data_dir=tmp_path).computed == (april_28, april_29)
    before = runner.read_snapshot(data_dir=tmp_path, table="tier_state", day=april_29).to_pylist()
    assert before[0]["evaluated_on"] == april_28  # the initial evaluation only
    b.day(may_6)
    b.publish(tmp_path, days=[may_6])
    assert runner.pipeline_run(data_dir=tmp_path).computed == (april_29, may_6)
    after = runner.read_snapshot(data_dir=tmp_path, table="tier_state", day=april_29).to_pylist()
    assert after[0]["evaluated_on"] == april_29


@pytest.mark.slow
def test_the_tags_read_history_older_than_the_window_from_its_files(tmp_path):
    """The 60-day inflow of the tags reaches back past the 20 days a run holds in memory: a
    bank transfer 20 trading days before the last day still makes C1 an inflow customer, and
    C2's withdrawal as old makes C2 an outflow one (those days are read from their snapshot
    files by the engine, not from memory)."""
    from datetime import timedelta

    days = [date(2026, 3, 2) + timedelta(days=i) for i in range(40)]
    days = [d for d in days if d.weekday() < 5][:22]
    b = Book()
    b.account(days[0], "A1", "C1").cash(days[0], "A1", "1000.00", "1000.00")
    b.account(days[0], "K1", "C2").cash(days[0], "K1", "5000.00", "5000.00")
    b.cash(days[1], "A1", "800.00", "1800.00", kind="bank_in")
    b.cash(days[1], "K1", "-3000.00", "2000.00", kind="bank_out")
    for d in days:
        b.day(d)
    b.publish(tmp_path)
    result = runner.pipeline_run(data_dir=tmp_path)
    assert result.computed[-1] == days[-1]
    assert {"tags", "tag_features"} <= set(result.stage_seconds)
    tags = runner.read_snapshot(data_dir=tmp_path, table="tags", day=days[-1]).to_pylist()
    carried = {(r["customer_no"], r["tag_code"]) for r in tags}
    assert ("C1", "inflow_60d") in carried and ("C1", "outflow_60d") not in carried
    assert ("C2", "outflow_60d") in carried and ("C2", "inflow_60d") not in carried
    # and the 20-day inflow no longer sees either transfer
    assert not {code for _, code in carried if code in ("inflow_20d", "outflow_20d")}


@pytest.mark.django_db
def test_days_a_killed_run_checkpointed_reach_the_pages_with_the_next_run(tmp_path, monkeypatch):
    # The pages saw D1. A backfill of D2–D3 is killed on D3 after publishing D2 (a checkpoint)
    # and before publishing to the database; the next run computes D3 only, and its publication
    # (`brokercrm pipeline run` publishes the days after the day before its first) takes D2 too.
    from datetime import timedelta

    from brokercrm.datacenter.services import datacenter_publish

    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path, date_to=D1)
    assert datacenter_publish(data_dir=tmp_path, window=10).days == [D1]
    real = _killed_on(monkeypatch, "_base_day", D3)
    with pytest.raises(KeyboardInterrupt):
        runner.pipeline_run(data_dir=tmp_path, checkpoint_seconds=0)
    monkeypatch.setattr(runner, "_base_day", real)
    result = runner.pipeline_run(data_dir=tmp_path)
    assert result.computed == (D3,)
    summary = datacenter_publish(data_dir=tmp_path, window=10, since=result.computed[0] - timedelta(days=1))
    assert summary.days == [D2, D3]
