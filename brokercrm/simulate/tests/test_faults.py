"""The fault manifest names exactly the damage done."""

from __future__ import annotations

import json
import re

from brokercrm.datacenter.dictionaries import COUNTERS, STANDARD_TABLES
from brokercrm.simulate.faults import CLEAN_DIR, MANIFEST, REASONS


def _manifest(damaged):
    return json.loads((damaged.root / MANIFEST).read_text(encoding="utf-8"))


def _table_of(counter: str, file: str) -> str:
    return next(t for t, f in COUNTERS[counter].files.items() if f == file)


def test_every_reason_is_injected_in_both_counters(damaged):
    manifest = _manifest(damaged)
    faults = manifest["faults"]
    assert manifest["skipped"] == []
    assert damaged.summary.faults == len(faults)
    row_reasons = set(REASONS) - {"missing_column", "missing_file"}
    for counter in COUNTERS:
        mine = {f["reason"] for f in faults if f["counter"] == counter}
        assert row_reasons <= mine
    assert {f["reason"] for f in faults} == set(REASONS)
    initial = sorted(p.name for p in (damaged.root / "hundsun").iterdir())[0]
    assert all(
        f["day"] != initial for f in faults if f["reason"] in ("missing_column", "missing_file")
    )


def test_each_listed_line_is_broken_as_described(damaged):
    for f in _manifest(damaged)["faults"]:
        fmt = COUNTERS[f["counter"]]
        path = damaged.root / f["counter"] / f["day"] / f["file"]
        if f["reason"] == "missing_file":
            assert not path.exists()
            assert (damaged.root / CLEAN_DIR / f["counter"] / f["day"] / f["file"]).exists()
            continue
        lines = path.read_bytes().decode(fmt.encoding).split("\n")
        header = lines[0].split(fmt.delimiter)
        if f["reason"] == "missing_column":
            assert f["field"] not in header
            assert all(len(line.split(fmt.delimiter)) == len(header) for line in lines[1:-1])
            continue
        table = _table_of(f["counter"], f["file"])
        values = lines[f["line"] - 1].split(fmt.delimiter)
        if f["reason"] == "wrong_field_count":
            assert len(values) != len(header) == len(STANDARD_TABLES[table])
            continue
        assert len(values) == len(header)
        value = values[header.index(f["field"])]
        assert value == f["value"]
        reason = f["reason"]
        if reason == "unparsable_number":
            assert not re.fullmatch(r"-?\d+(\.\d+)?", value)
        elif reason == "unparsable_date":
            assert re.fullmatch(r"\d{8}", value) and (int(value[4:6]) > 12 or int(value[6:]) > 29)
        elif reason == "too_many_decimals":
            assert len(value.partition(".")[2]) > (4 if f["standard_field"] == "price" else 2)
        elif reason == "unknown_code":
            assert (
                value
                not in fmt.codes[
                    "cash_kind" if f["standard_field"] == "kind" else f["standard_field"]
                ]
            )
        elif reason == "missing_key":
            assert value == ""
        elif reason == "unknown_fund_account":
            accounts = {
                line.split(fmt.delimiter)[0]
                for d in (damaged.root / f["counter"]).iterdir()
                for line in (d / fmt.files["fund_accounts"])
                .read_bytes()
                .decode(fmt.encoding)
                .split("\n")[1:]
            }
            assert value not in accounts
        elif reason == "duplicate_serial":
            serials = [line.split(fmt.delimiter)[0] for line in lines[1 : f["line"] - 1]]
            assert value in serials


def test_bad_lines_are_extra_so_the_clean_copy_is_the_file_without_them(damaged):
    by_file: dict[tuple[str, str, str], set[int]] = {}
    for f in _manifest(damaged)["faults"]:
        if f["line"] is not None:
            by_file.setdefault((f["counter"], f["day"], f["file"]), set()).add(f["line"])
    assert by_file
    for (counter, day, file), bad in by_file.items():
        encoding = COUNTERS[counter].encoding
        damaged_lines = (
            (damaged.root / counter / day / file).read_bytes().decode(encoding).split("\n")
        )
        clean = (
            (damaged.root / CLEAN_DIR / counter / day / file)
            .read_bytes()
            .decode(encoding)
            .split("\n")
        )
        assert [line for i, line in enumerate(damaged_lines, start=1) if i not in bad] == clean
