from __future__ import annotations

import numpy as np
import pyarrow as pa

from brokercrm.datacenter.dictionaries import APEX, HUNDSUN
from brokercrm.simulate.writer import CounterWriter, decimal_strings


def test_decimal_strings_are_exact():
    cents = np.array([-50, 0, 5, -1, 30, 123456789012], np.int64)
    assert decimal_strings(cents, 2).to_pylist() == [
        "-0.50",
        "0.00",
        "0.05",
        "-0.01",
        "0.30",
        "1234567890.12",
    ]
    assert decimal_strings(np.array([3799]), 3).to_pylist() == ["3.799"]


def test_rows_go_through_the_counter_dictionaries(tmp_path):
    columns = {
        "serial_no": np.array([7]),
        "fund_account": pa.array(["2800000011"]),
        "currency": np.array([0]),
        "kind": np.array([2]),  # trade_settle
        "amount": np.array([-12345]),
        "balance_after": np.array([100]),
    }
    for counter, line in (
        (HUNDSUN, "7,2800000011,0,4000,-123.45,1.00"),
        (APEX, "7|2800000011|RMB|2001|-123.45|1.00"),
    ):
        writer = CounterWriter(root=tmp_path, counter=counter)
        assert writer.write(day="20250102", table="cash_flows", columns=columns) == 1
        text = writer.path(day="20250102", table="cash_flows").read_bytes().decode(counter.encoding)
        assert text.split("\n")[1] == line


def test_empty_table_is_its_header_only(tmp_path):
    writer = CounterWriter(root=tmp_path, counter=APEX)
    empty = {
        "serial_no": np.zeros(0),
        "fund_account": pa.array([], pa.string()),
        "kind": np.zeros(0),
        "amount": np.zeros(0),
    }
    writer.write(day="20250102", table="freezes", columns=empty)
    assert (tmp_path / "apex/20250102/DJLS.txt").read_bytes() == b"LSH|ZJZH|DJLB|DJJE\n"


def test_codesets_and_empty_values(tmp_path):
    writer = CounterWriter(root=tmp_path, counter=APEX)
    customer = {
        "customer_no": pa.array(["20000001"]),
        "name": pa.array(["张静"]),
        "branch_code": pa.array(["0102"]),
        "customer_type": np.array([0]),
        "id_type": np.array([0]),
        "id_number": pa.array(["x"]),
        "mobile": pa.array([None], pa.string()),
        "birth_date": np.array([0]),
        "gender": np.array([-1]),
        "open_date": np.array([20251004]),
        "status": np.array([3]),
        "risk_level": np.array([-1]),
        "risk_expiry": np.array([-1]),
        "investor_class": np.array([1]),
        "invest_horizon": np.array([1]),
        "invest_varieties": np.array([0b11110]),
        "first_trade_date": np.array([0]),
        "aml_level": np.array([1]),
    }
    writer.write(day="20250102", table="customers", columns=customer)
    line = (tmp_path / "apex/20250102/KHXX.txt").read_bytes().decode("gbk").split("\n")[1]
    assert line == "20000001|张静|0102|0|00|x||0||20251004|9|||ZY1|Z|QY,YS,FZ,QT|0|Z"
