"""Write standard rows as one counter's end-of-day export files.

The simulator keeps every table in the *standard* model (COUNTERS.md) and this module turns it
into a counter's dialect through ``dictionaries.CounterFormat``: file names, column names, code
dictionaries and variety sets all come from there, so no counter code is written twice.

Values arrive column-wise, typed by the field's kind in ``STANDARD_TABLES``:

========== =================================================================================
kind       column value
========== =================================================================================
``str``    a pyarrow string array (nulls are written empty)
``code``   int array of indices into ``STANDARD_CODES[domain]``; negative = empty
``codeset`` uint8 bit mask over ``STANDARD_CODES["invest_variety"]``
``date``   int array of ``YYYYMMDD``; ``0`` is written ``0`` (unknown), negative = empty
``int``    int64 array
``money``  int64 array of cents
``price``  ``(mills, decimals)``: int64 mills (0.001 yuan), negative = empty, and the number of
           decimals to write (an int or an array of 2/3)
========== =================================================================================

Money and prices are written from integers through Arrow's decimal type, so no float ever
reaches a file. Lines end with ``\\n``; nothing is quoted because no value contains the
delimiter, a quote or a line break (Arrow refuses to write one that would).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from brokercrm.datacenter.dictionaries import STANDARD_CODES, STANDARD_TABLES, CounterFormat

__all__ = ["CounterWriter", "decimal_strings"]


def decimal_strings(units: np.ndarray, scale: int) -> pa.Array:
    """Exact decimal text of integers counted in ``10**-scale`` (cents → ``"12.30"``)."""
    units = np.ascontiguousarray(units, dtype=np.int64)
    n = len(units)
    # A decimal128 value is a little-endian 128-bit integer: the int64 and its sign extension.
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = units
    words[:, 1] = units >> 63
    array = pa.Array.from_buffers(pa.decimal128(38, scale), n, [None, pa.py_buffer(words)])
    return array.cast(pa.string())


class CounterWriter:
    """Writes standard tables of one day into ``out/<counter>/YYYYMMDD/`` in one counter's style."""

    def __init__(self, *, root: Path, counter: CounterFormat) -> None:
        self.root = root / counter.name
        self.counter = counter
        self._codes: dict[str, pa.Array] = {
            domain: pa.array([counter.standard_to_code(domain)[v] for v in values], pa.string())
            for domain, values in STANDARD_CODES.items()
        }
        # Every subset of the five varieties, written the counter's way, indexed by bit mask.
        varieties = STANDARD_CODES["invest_variety"]
        self._codesets = pa.array(
            [
                counter.encode_codeset([v for i, v in enumerate(varieties) if mask >> i & 1])
                for mask in range(1 << len(varieties))
            ],
            pa.string(),
        )

    def header(self, table: str) -> str:
        """The header line of a table's file (without the line break)."""
        columns = self.counter.columns[table]
        return self.counter.delimiter.join(columns[f] for f in STANDARD_TABLES[table])

    def path(self, *, day: str, table: str) -> Path:
        return self.root / day / self.counter.files[table]

    def write(self, *, day: str, table: str, columns: Mapping[str, Any]) -> int:
        """Write one table's file for ``day`` (``YYYYMMDD``); returns the number of rows."""
        kinds = STANDARD_TABLES[table]
        arrays = [self._column(kind, columns[name]) for name, kind in kinds.items()]
        n = len(arrays[0]) if arrays else 0
        head = (self.header(table) + "\n").encode(self.counter.encoding)
        body = b""
        if n:
            sink = pa.BufferOutputStream()
            pcsv.write_csv(
                pa.Table.from_arrays(arrays, names=list(kinds)),
                sink,
                pcsv.WriteOptions(
                    include_header=False,
                    delimiter=self.counter.delimiter,
                    quoting_style="none",
                    batch_size=65536,
                ),
            )
            body = sink.getvalue().to_pybytes()
            if self.counter.encoding.lower() not in ("utf-8", "utf8") and not body.isascii():
                body = body.decode("utf-8").encode(self.counter.encoding)
        path = self.path(day=day, table=table)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(head + body)
        return n

    # --- one column --------------------------------------------------------------------------

    def _column(self, kind: str, value: Any) -> pa.Array:
        base = kind.split(":")[0].rstrip("?")
        if base == "str":
            return value if isinstance(value, pa.Array) else pa.array(value, pa.string())
        if base == "code":
            domain = kind.split(":")[1]
            idx = np.asarray(value)
            return self._codes[domain].take(pa.array(idx.astype(np.int32), mask=idx < 0))
        if base == "codeset":
            return self._codesets.take(pa.array(np.asarray(value).astype(np.int32)))
        if base == "date":
            dates = np.asarray(value, dtype=np.int64)
            return pa.array(dates, mask=dates < 0).cast(pa.string())
        if base == "int":
            return pa.array(np.asarray(value, dtype=np.int64)).cast(pa.string())
        if base == "money":
            return decimal_strings(np.asarray(value), 2)
        if base == "price":
            mills, decimals = value
            mills = np.asarray(mills, dtype=np.int64)
            # Stocks are quoted in cents: their mills are whole tens, written with 2 decimals.
            two = np.broadcast_to(np.asarray(decimals) == 2, mills.shape)
            if two.all():
                text = decimal_strings(mills // 10, 2)
            elif not two.any():
                text = decimal_strings(mills, 3)
            else:
                text = pc.if_else(
                    pa.array(two), decimal_strings(mills // 10, 2), decimal_strings(mills, 3)
                )
            empty = mills < 0
            return (
                pc.if_else(pa.array(empty), pa.nulls(len(mills), pa.string()), text)
                if empty.any()
                else text
            )
        raise ValueError(f"unknown field kind {kind!r}")
