"""The simulator's damaged exports go through ingest exactly as COUNTERS.md ("Bad input") says:
every bad row is quarantined with its file, line, field and reason; a day missing a file or a
column is refused whole with a clear message (and, days being ordered, so are the days after
it); a re-delivered repaired day is then taken; nothing read is lost, and the computed days
reconcile."""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from brokercrm.datacenter import adapters as ad
from brokercrm.datacenter import warehouse
from brokercrm.datacenter.ingest import STATUS_REFUSED, ingest
from brokercrm.datacenter.runner import pipeline_run, read_snapshot
from brokercrm.simulate import simulate

#: the simulator's fault kinds → the reasons the ingest must give
REASONS = {
    "unknown_fund_account": {ad.REASON_UNKNOWN_FUND_ACCOUNT},
    "unparsable_date": {ad.REASON_NOT_DATE},
    "unparsable_number": {ad.REASON_NOT_NUMBER, ad.REASON_NOT_INTEGER},
    "too_many_decimals": {ad.REASON_TOO_MANY_DECIMALS},
    "duplicate_serial": {ad.REASON_DUPLICATE_SERIAL},
    "wrong_field_count": {ad.REASON_FIELD_COUNT},
    "unknown_code": {ad.REASON_UNKNOWN_CODE},
    "missing_key": {ad.REASON_MISSING},
}


def _day(text: str) -> date:
    return date(int(text[:4]), int(text[4:6]), int(text[6:]))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "exports"
    simulate(out=out, customers=200, days=7, seed=3, faults=True)
    return out


def test_faults_are_quarantined_or_refused_exactly(damaged, tmp_path):
    manifest = json.loads((damaged / "faults.json").read_text())["faults"]
    row_faults = [f for f in manifest if f["line"] is not None]
    day_faults = [f for f in manifest if f["line"] is None]
    assert {f["reason"] for f in row_faults} == set(REASONS), "every kind of bad row is exercised"
    assert {f["reason"] for f in day_faults} == {"missing_file", "missing_column"}

    data_dir = tmp_path / "data"
    first = {counter: ingest(counter, damaged / counter, data_dir=data_dir) for counter in ("hundsun", "apex")}
    for fault in day_faults:
        result = first[fault["counter"]]
        assert not result.ok
        refused = [d for d in result.days if d.status == STATUS_REFUSED]
        assert refused[0].trade_date == _day(fault["day"])
        named = fault["field"] or fault["file"]
        assert named in refused[0].message, refused[0].message
        # nothing of a refused day (or a later one) is in the warehouse
        ingested = set(warehouse.ingested_days(data_dir)[fault["counter"]])
        assert not {d.trade_date for d in refused} & ingested

    # the operator re-delivers the repaired files; the refused days are then taken
    for fault in day_faults:
        folder = damaged / fault["counter"] / fault["day"]
        for repaired in (damaged / "faults.clean" / fault["counter"] / fault["day"]).iterdir():
            if not (folder / repaired.name).exists() or repaired.name == fault["file"]:
                shutil.copy(repaired, folder / repaired.name)
    second = {counter: ingest(counter, damaged / counter, data_dir=data_dir) for counter in ("hundsun", "apex")}
    assert all(result.ok for result in second.values())

    quarantine = warehouse.read_quarantine(data_dir).to_pylist()
    found = {(q["counter"], q["trade_date"], q["file"], q["line"]): q for q in quarantine}
    assert len(quarantine) == len(row_faults), "no clean row is quarantined"
    for fault in row_faults:
        key = (fault["counter"], _day(fault["day"]), fault["file"], fault["line"])
        assert key in found, fault
        assert found[key]["reason"] in REASONS[fault["reason"]], (fault, found[key])
        if fault["reason"] != "wrong_field_count":
            assert found[key]["field"] == fault["field"], (fault, found[key])

    # read = loaded + quarantined, and every data line of every file is accounted for
    for result in (*first.values(), *second.values()):
        for day in result.days:
            for f in day.files:
                assert f.read == f.loaded + f.quarantined
                lines = (damaged / result.counter / f"{day.trade_date:%Y%m%d}" / f.file).read_bytes().count(b"\n")
                assert f.read == lines - 1, (day.trade_date, f.file)

    # the faults were extra rows: once they are set aside, every day reconciles
    computed = pipeline_run(data_dir=data_dir)
    assert len(computed.computed) == 7
    for day in computed.computed:
        breaks = read_snapshot(data_dir=data_dir, table="reconciliation", day=day)
        assert breaks is None or breaks.num_rows == 0, (day, breaks.to_pylist()[:3])
