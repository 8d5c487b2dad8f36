"""Shared simulated exports (built once per test session) and a reader of counter files.

The reader parses with ``Decimal`` and the code dictionaries only, independently of the
simulator's internals, so the tests check the files as the ingest will see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from brokercrm.datacenter.dictionaries import COUNTERS, STANDARD_TABLES
from brokercrm.simulate import SimulationSummary, simulate

#: A run spanning the quarter-end interest settlement (after 2025-03-20) and Qingming (2025-04-04).
START = date(2025, 3, 14)
DAYS = 18
CUSTOMERS = 600
SEED = 20250314


@dataclass(frozen=True)
class Export:
    root: Path
    summary: SimulationSummary

    def days(self, counter: str) -> list[str]:
        return sorted(p.name for p in (self.root / counter).iterdir())

    def rows(self, counter: str, day: str, table: str) -> list[dict[str, str]]:
        return read_table(self.root, counter, day, table)


def read_table(root: Path, counter: str, day: str, table: str) -> list[dict[str, str]]:
    """Rows of a counter file as {standard field: raw text}; codes as the counter wrote them."""
    fmt = COUNTERS[counter]
    text = (root / counter / day / fmt.files[table]).read_bytes().decode(fmt.encoding)
    lines = text.split("\n")
    assert lines[-1] == "", "a file ends with a line break"
    header = lines[0].split(fmt.delimiter)
    by_column = {column: name for name, column in fmt.columns[table].items()}
    fields = [by_column[c] for c in header]
    rows = []
    for line in lines[1:-1]:
        values = line.split(fmt.delimiter)
        assert len(values) == len(fields), (counter, day, table, line)
        rows.append(dict(zip(fields, values, strict=True)))
    return rows


def decode(counter: str, domain: str, raw: str) -> str:
    return COUNTERS[counter].code_to_standard(domain)[raw]


def money(raw: str) -> Decimal:
    assert len(raw.partition(".")[2]) <= 2, raw
    return Decimal(raw)


@pytest.fixture(scope="session")
def export(tmp_path_factory: pytest.TempPathFactory) -> Export:
    root = tmp_path_factory.mktemp("sim")
    summary = simulate(out=root, customers=CUSTOMERS, days=DAYS, seed=SEED, start=START)
    return Export(root, summary)


@pytest.fixture(scope="session")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Export:
    root = tmp_path_factory.mktemp("faults")
    summary = simulate(out=root, customers=300, days=6, seed=7, faults=True)
    return Export(root, summary)


TABLES = tuple(STANDARD_TABLES)
