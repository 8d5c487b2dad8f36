"""Arrow schemas of the standard flows, derived from ``dictionaries.STANDARD_TABLES``.

Money is ``decimal128(18, 2)``, prices ``decimal128(18, 4)``, quantities ``int64``, dates
``date32``; coded values are stored as their standard value (a string); a set of codes
(``invest_varieties``) is stored as the standard values joined by ``,`` in the order of
``STANDARD_CODES``. Every stored flow row also carries ``counter``, ``trade_date`` (the day
folder) and ``line`` (its line number in the file, header = line 1) for provenance.
"""

from __future__ import annotations

import pyarrow as pa

from brokercrm.datacenter.dictionaries import STANDARD_TABLES

MONEY = pa.decimal128(18, 2)
PRICE = pa.decimal128(18, 4)

PROVENANCE = (
    pa.field("counter", pa.string(), nullable=False),
    pa.field("trade_date", pa.date32(), nullable=False),
    pa.field("line", pa.int64(), nullable=False),
)


def arrow_type(kind: str) -> pa.DataType:
    """Arrow type of a field kind from ``STANDARD_TABLES`` (``money?`` → ``MONEY`` …)."""
    base = kind.rstrip("?").split(":")[0].rstrip("?")
    return {
        "str": pa.string(),
        "code": pa.string(),
        "codeset": pa.string(),
        "date": pa.date32(),
        "int": pa.int64(),
        "money": MONEY,
        "price": PRICE,
    }[base]


def is_optional(kind: str) -> bool:
    """Whether a field may be empty (``?`` in its kind)."""
    return "?" in kind


def table_schema(table: str) -> pa.Schema:
    """Schema of a standard flow table as stored in the warehouse."""
    fields = [
        pa.field(name, arrow_type(kind), nullable=is_optional(kind) or kind.startswith("codeset"))
        for name, kind in STANDARD_TABLES[table].items()
    ]
    return pa.schema([*fields, *PROVENANCE])
