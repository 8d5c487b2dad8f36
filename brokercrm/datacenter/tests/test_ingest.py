"""Ingest of counter day folders into the warehouse: the sample, re-delivery, refusals, crashes."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import pytest

from brokercrm.datacenter import adapters as ad
from brokercrm.datacenter import ingest as ig
from brokercrm.datacenter import warehouse as wh
from brokercrm.datacenter.dictionaries import COUNTERS, STANDARD_TABLES
from brokercrm.datacenter.exports import QUARANTINE_COLUMNS, export_quarantine
from brokercrm.datacenter.schema import table_schema
from brokercrm.datacenter.tests import counter_files as cf

_META = json.loads((cf.REPO / "examples" / "sample" / "expected" / "meta.json").read_text())
SAMPLE_DAYS = [dt.date.fromisoformat(d) for d in _META["days"]]


def _rows_in(path: Path) -> int:
    """Data rows of a sample file: its non-blank lines after the header."""
    return sum(1 for line in path.read_bytes().splitlines()[1:] if line.strip())


def _tree_digest(data_dir: Path) -> dict[str, str]:
    """Content of every published file (flows, quarantine, registry, reference)."""
    root = wh.warehouse_path(data_dir)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("flows", "quarantine", "registry", "reference")
        if (root / sub).exists()
        for p in sorted((root / sub).rglob("*"))
        if p.is_file()
    }


# --- the sample ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("data")
    results = {counter: ig.ingest(counter, cf.SAMPLE / counter, data_dir=data_dir) for counter in ("hundsun", "apex")}
    return data_dir, results


@pytest.mark.parametrize("counter", ["hundsun", "apex"])
def test_sample_ingests_every_row_of_22_days(sample, counter):
    data_dir, results = sample
    result = results[counter]
    assert result.ok and result.refused == ()
    assert [d.status for d in result.days] == [ig.STATUS_INGESTED] * 22
    assert [d.trade_date for d in result.days] == SAMPLE_DAYS
    for day in result.days:
        assert len(day.files) == len(STANDARD_TABLES)
        for f in day.files:
            # later days have no fund-account rows: their flows refer to accounts of earlier days
            assert f.quarantined == 0, (day.folder, f)
            assert f.read == f.loaded == _rows_in(cf.SAMPLE / counter / day.folder / f.file)
    assert wh.ingested_days(data_dir)[counter] == SAMPLE_DAYS
    assert wh.read_quarantine(data_dir, counters=[counter]).num_rows == 0


def test_sample_calendar_reference_and_registry(sample):
    data_dir, results = sample
    assert wh.trading_calendar(data_dir) == SAMPLE_DAYS
    industry = wh.read_industry(data_dir)
    assert industry.num_rows == 6 and industry.column("industry")[0].as_py() == "银行"
    assert results["hundsun"].reference.status == ig.STATUS_INGESTED
    assert results["apex"].reference.status == ig.STATUS_SKIPPED  # the same file, already in
    entry = wh.registry(data_dir, "apex")[SAMPLE_DAYS[0]]
    assert entry["checksum"].startswith("sha256:") and entry["ingested_at"].endswith("Z")
    assert entry["initial_day"] is True and wh.registry(data_dir, "apex")[SAMPLE_DAYS[1]]["initial_day"] is False
    assert entry["files"]["KHXX.txt"] == {"table": "customers", "read": 3, "loaded": 3, "quarantined": 0}


def test_sample_layout_is_hive_partitioned(sample):
    data_dir, _ = sample
    root = wh.warehouse_path(data_dir)
    for table in STANDARD_TABLES:
        path = root / "flows" / table / "counter=hundsun" / "trade_date=2026-03-23" / "part-0.parquet"
        assert path.is_file()
        assert wh.flow_files(data_dir, table, counters=["hundsun"], end=SAMPLE_DAYS[0]) == [path]
    assert (root / "quarantine/counter=apex/trade_date=2026-04-22/part-0.parquet").is_file()
    assert (root / "reference/industry.parquet").is_file()
    assert len(wh.flow_files(data_dir, "trades")) == 44


def test_sample_flows_read_back_with_ibis_and_arrow(sample):
    data_dir, results = sample
    loaded = sum(f.loaded for r in results.values() for d in r.days for f in d.files if f.table == "trades")
    trades = wh.read_flows(data_dir, "trades")
    assert trades.schema == table_schema("trades") and trades.num_rows == loaded
    t = wh.flow_table(data_dir, "trades")
    assert t.count().execute() == loaded
    day = t.filter((t.counter == "apex") & (t.trade_date == dt.date(2026, 4, 22)))
    last = results["apex"].days[-1]
    assert last.trade_date == dt.date(2026, 4, 22)
    assert day.count().execute() == next(f.loaded for f in last.files if f.table == "trades")
    assert str(t.schema()["amount"]) == "decimal(18, 2)"


def test_sample_reingest_is_a_no_op(sample):
    data_dir, _ = sample
    before = _tree_digest(data_dir)
    generation = (wh.warehouse_path(data_dir) / ".generation").read_text()
    for counter in ("hundsun", "apex"):
        again = ig.ingest(counter, cf.SAMPLE / counter, data_dir=data_dir)
        assert again.ok and {d.status for d in again.days} == {ig.STATUS_SKIPPED}
        assert again.reference.status == ig.STATUS_SKIPPED
    assert _tree_digest(data_dir) == before
    assert (wh.warehouse_path(data_dir) / ".generation").read_text() == generation


def test_result_to_json(sample):
    _, results = sample
    payload = json.loads(results["hundsun"].to_json())
    assert payload["ok"] is True and payload["counter"] == "hundsun"
    assert payload["totals"]["ingested"] == 22 and payload["totals"]["quarantined"] == 0
    assert payload["totals"]["read"] == payload["totals"]["loaded"] > 0
    first = payload["days"][0]
    assert first["trade_date"] == "2026-03-23" and first["status"] == "ingested"
    assert {"table", "file", "read", "loaded", "quarantined"} == set(first["files"][0])


# --- re-delivery --------------------------------------------------------------------------------


def _drop_last_row(path: Path) -> None:
    lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    path.write_bytes(b"\n".join(lines[:-1]) + b"\n")


def test_a_redelivered_day_replaces_the_old_one_completely(tmp_path):
    root = cf.copy_days("hundsun", tmp_path / "exports", ["20260323", "20260324", "20260325"])
    data_dir = tmp_path / "data"
    assert ig.ingest("hundsun", root, data_dir=data_dir).ok
    day = dt.date(2026, 3, 24)
    trades = wh.read_flows(data_dir, "trades", start=day, end=day)
    checksum = wh.registry(data_dir, "hundsun")[day]["checksum"]

    deliver = root / "20260324" / "deliver.csv"
    original = deliver.read_bytes()
    _drop_last_row(deliver)
    cf.append(deliver, "hundsun", "77,180000002,2,300750,2,275,195.36,bad,5.37,26.86,0.54,2.91,1.00,2")
    result = ig.ingest("hundsun", root, data_dir=data_dir)
    assert [d.status for d in result.days] == [ig.STATUS_SKIPPED, ig.STATUS_REPLACED, ig.STATUS_SKIPPED]
    assert wh.read_flows(data_dir, "trades", start=day, end=day).num_rows == trades.num_rows - 1
    assert wh.registry(data_dir, "hundsun")[day]["checksum"] != checksum
    (bad,) = wh.read_quarantine(data_dir).to_pylist()
    assert (bad["trade_date"], bad["field"], bad["reason"]) == (day, "business_balance", ad.REASON_NOT_NUMBER)

    deliver.write_bytes(original)  # the counter re-delivers the original again
    result = ig.ingest("hundsun", root, data_dir=data_dir)
    assert [d.status for d in result.days] == [ig.STATUS_SKIPPED, ig.STATUS_REPLACED, ig.STATUS_SKIPPED]
    assert wh.read_flows(data_dir, "trades", start=day, end=day).equals(trades)
    assert wh.read_quarantine(data_dir).num_rows == 0  # the old day's quarantine went with it
    assert wh.registry(data_dir, "hundsun")[day]["checksum"] == checksum


def test_a_touched_but_unchanged_day_is_skipped(tmp_path):
    root = cf.copy_days("apex", tmp_path / "exports", ["20260323"])
    data_dir = tmp_path / "data"
    ig.ingest("apex", root, data_dir=data_dir)
    before = _tree_digest(data_dir)
    path = root / "20260323" / "KHXX.txt"
    path.write_bytes(path.read_bytes())  # new mtime, same bytes
    os.utime(path, ns=(1, 1))
    assert [d.status for d in ig.ingest("apex", root, data_dir=data_dir).days] == [ig.STATUS_SKIPPED]
    assert {k: v for k, v in _tree_digest(data_dir).items() if "stats" not in k} == {
        k: v for k, v in before.items() if "stats" not in k
    }


# --- crashes ------------------------------------------------------------------------------------


def _two_days_then_change_the_second(tmp_path: Path) -> tuple[Path, Path]:
    root = cf.copy_days("hundsun", tmp_path / "exports", ["20260323", "20260324"])
    data_dir = tmp_path / "data"
    assert ig.ingest("hundsun", root, data_dir=data_dir).ok
    _drop_last_row(root / "20260324" / "deliver.csv")
    _drop_last_row(root / "20260324" / "fundjour.csv")
    return root, data_dir


def test_a_publish_killed_while_writing_leaves_the_previous_state(tmp_path, monkeypatch):
    root, data_dir = _two_days_then_change_the_second(tmp_path)
    before = _tree_digest(data_dir)
    real, calls = wh._write_parquet, []

    def dies_on_the_fifth_file(path, table, **options):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt("killed")
        real(path, table, **options)

    monkeypatch.setattr(wh, "_write_parquet", dies_on_the_fifth_file)
    with pytest.raises(KeyboardInterrupt):
        ig.ingest("hundsun", root, data_dir=data_dir)
    monkeypatch.undo()

    assert _tree_digest(data_dir) == before  # readers see exactly the old day
    assert wh.ingested_days(data_dir) == {"hundsun": SAMPLE_DAYS[:2]}
    result = ig.ingest("hundsun", root, data_dir=data_dir)  # the next run cleans up and publishes
    assert [d.status for d in result.days] == [ig.STATUS_SKIPPED, ig.STATUS_REPLACED]
    assert not any((wh.warehouse_path(data_dir) / ".staging").iterdir())


def test_a_swap_killed_after_commit_is_completed_before_anyone_reads(tmp_path, monkeypatch):
    root, data_dir = _two_days_then_change_the_second(tmp_path)
    day = SAMPLE_DAYS[1]
    old_trades = wh.read_flows(data_dir, "trades", start=day, end=day).num_rows
    old_cash = wh.read_flows(data_dir, "cash_flows", start=day, end=day).num_rows
    old_checksum = wh.registry(data_dir, "hundsun")[day]["checksum"]
    real, moved = os.replace, []

    def dies_after_three_swaps(src, dst):
        if ".staging" in str(src):
            if len(moved) == 3:
                raise KeyboardInterrupt("killed")
            moved.append(src)
        real(src, dst)

    monkeypatch.setattr(wh.os, "replace", dies_after_three_swaps)
    with pytest.raises(KeyboardInterrupt):
        ig.ingest("hundsun", root, data_dir=data_dir)
    monkeypatch.undo()
    warehouse = wh.warehouse_path(data_dir)
    assert len(list((warehouse / ".journal").glob("*.json"))) == 1  # committed, half swapped

    # the first reader rolls the committed day forward: every table is the new version
    assert wh.read_flows(data_dir, "trades", start=day, end=day).num_rows == old_trades - 1
    assert wh.read_flows(data_dir, "cash_flows", start=day, end=day).num_rows == old_cash - 1
    assert wh.registry(data_dir, "hundsun")[day]["checksum"] != old_checksum
    assert not list((warehouse / ".journal").glob("*.json"))
    assert [d.status for d in ig.ingest("hundsun", root, data_dir=data_dir).days] == [ig.STATUS_SKIPPED] * 2


# --- refusals, paths, progress ------------------------------------------------------------------


def test_a_refused_day_blocks_the_later_days_until_it_is_fixed(tmp_path):
    root = cf.copy_days("hundsun", tmp_path / "exports", ["20260323", "20260324", "20260325"])
    missing = root / "20260324" / "stock.csv"
    content = missing.read_bytes()
    missing.unlink()
    data_dir = tmp_path / "data"
    result = ig.ingest("hundsun", root, data_dir=data_dir)
    assert not result.ok
    assert [d.status for d in result.days] == [ig.STATUS_INGESTED, ig.STATUS_REFUSED, ig.STATUS_REFUSED]
    assert result.days[1].message == ad.MSG_MISSING_FILE.format(day="20260324", file="stock.csv")
    assert result.days[2].message == ig.MSG_BLOCKED.format(day="20260325", refused="20260324")
    assert json.loads(result.to_json())["totals"]["refused"] == 2
    assert wh.ingested_days(data_dir) == {"hundsun": SAMPLE_DAYS[:1]}

    missing.write_bytes(content)
    result = ig.ingest("hundsun", root, data_dir=data_dir)
    assert result.ok
    assert [d.status for d in result.days] == [ig.STATUS_SKIPPED, ig.STATUS_INGESTED, ig.STATUS_INGESTED]


def test_an_unreadable_file_refuses_its_day(tmp_path, monkeypatch):
    root = cf.copy_days("hundsun", tmp_path / "exports", ["20260323"])
    real = Path.read_bytes

    def failing(self):
        if self.name == "deliver.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", failing)
    result = ig.ingest("hundsun", root, data_dir=tmp_path / "data")
    assert not result.ok and result.days[0].message.startswith("20260323: cannot read the day's files (")
    assert wh.ingested_days(tmp_path / "data") == {}


def test_one_day_folder_can_be_ingested_alone(tmp_path):
    root = cf.copy_days("apex", tmp_path / "exports", ["20260323", "20260324"], reference=True)
    data_dir = tmp_path / "data"
    events = []
    result = ig.ingest("apex", root / "20260323", data_dir=data_dir, progress=events.append)
    assert [d.status for d in result.days] == [ig.STATUS_INGESTED]
    assert result.reference.status == ig.STATUS_INGESTED  # reference/ is beside the counter folders
    assert [(e.done, e.total, e.status) for e in events] == [(0, 1, None), (1, 1, ig.STATUS_INGESTED)]
    result = ig.ingest("apex", root / "20260324", data_dir=data_dir)
    assert [d.status for d in result.days] == [ig.STATUS_INGESTED]
    assert wh.registry(data_dir, "apex")[dt.date(2026, 3, 24)]["initial_day"] is False
    assert wh.read_flows(data_dir, "positions", start=dt.date(2026, 3, 24)).column("cost_price").null_count > 0


def test_bad_arguments_raise_a_clear_error(tmp_path):
    with pytest.raises(ig.IngestError, match="unknown counter 'kingdom'"):
        ig.ingest("kingdom", tmp_path, data_dir=tmp_path / "data")
    with pytest.raises(ig.IngestError, match="is not a folder"):
        ig.ingest("apex", tmp_path / "nowhere", data_dir=tmp_path / "data")
    with pytest.raises(ig.IngestError, match="no day folders"):
        ig.ingest("apex", tmp_path, data_dir=tmp_path / "data")


def test_a_bad_reference_file_is_refused_whole_and_the_old_one_kept(tmp_path):
    root = cf.copy_days("hundsun", tmp_path / "exports", ["20260323"], reference=True)
    data_dir = tmp_path / "data"
    ig.ingest("hundsun", root, data_dir=data_dir)
    industry = tmp_path / "exports" / "reference" / "industry.csv"
    industry.write_text("exchange,security_code,industry\nSH,600036,银行\nHK,00700,传媒\n", encoding="utf-8")
    result = ig.ingest("hundsun", root, data_dir=data_dir)
    assert not result.ok and result.reference.status == ig.STATUS_REFUSED
    assert result.reference.message == ig.MSG_REFERENCE_BAD_ROW.format(
        file="reference/industry.csv", line=3, field="exchange", reason=ad.REASON_UNKNOWN_CODE
    )
    assert wh.read_industry(data_dir).num_rows == 6


# --- quarantine export --------------------------------------------------------------------------


def test_export_quarantine_writes_the_contract_columns(tmp_path):
    root = cf.copy_days("apex", tmp_path / "exports", ["20260323"])
    fmt = COUNTERS["apex"]
    cf.append(root / "20260323" / "ZJLS.txt", "apex", "4|280000051|RMB|9999|1.005|1.00", "5|280000051|RMB")
    data_dir = tmp_path / "data"
    ig.ingest("apex", root, data_dir=data_dir)
    out = tmp_path / "out" / "quarantine.csv"
    assert export_quarantine(data_dir, out) == 2
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == QUARANTINE_COLUMNS == ("counter", "trade_date", "file", "line", "field", "reason")
    assert rows[1:] == [
        ["apex", "2026-03-23", "ZJLS.txt", "5", fmt.columns["cash_flows"]["amount"], ad.REASON_TOO_MANY_DECIMALS],
        ["apex", "2026-03-23", "ZJLS.txt", "6", "", ad.REASON_FIELD_COUNT],
    ]
    assert export_quarantine(data_dir, out, counters=["hundsun"]) == 0
