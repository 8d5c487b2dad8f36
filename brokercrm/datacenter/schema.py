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


# --- CRM facts the pools read (written by ``brokercrm.kyc``, read by the pipeline) ----------------
# ``warehouse.crm_facts_path(data_dir)`` holds one Parquet file per table, each written atomically
# (temporary sibling + rename). A missing file means no facts of that kind. As of a day D a fact
# counts only if its date is on or before D (DOMAIN.md, "Qualified customer pools").

#: Risk assessments recorded in the CRM (C0 = lowest category, as the counters' risk_level).
CRM_ASSESSMENTS_SCHEMA = pa.schema(
    [
        pa.field("customer_no", pa.string(), nullable=False),
        pa.field("assessed_on", pa.date32(), nullable=False),
        pa.field("risk_level", pa.string(), nullable=False),
        pa.field("risk_expiry", pa.date32(), nullable=False),
        pa.field("invest_horizon", pa.string()),
        pa.field("invest_varieties", pa.string()),
    ]
)
#: Professional-investor recognitions and conversions (ordinary / professional_i … iii).
CRM_INVESTOR_CLASSES_SCHEMA = pa.schema(
    [
        pa.field("customer_no", pa.string(), nullable=False),
        pa.field("effective_on", pa.date32(), nullable=False),
        pa.field("investor_class", pa.string(), nullable=False),
    ]
)
#: Passed knowledge tests (``test`` = ``options`` for the options pool).
CRM_KNOWLEDGE_TESTS_SCHEMA = pa.schema(
    [
        pa.field("customer_no", pa.string(), nullable=False),
        pa.field("test", pa.string(), nullable=False),
        pa.field("passed_on", pa.date32(), nullable=False),
    ]
)
#: File name → schema, under ``warehouse.crm_facts_path(data_dir)``.
CRM_FACT_FILES: dict[str, pa.Schema] = {
    "assessments.parquet": CRM_ASSESSMENTS_SCHEMA,
    "investor_classes.parquet": CRM_INVESTOR_CLASSES_SCHEMA,
    "knowledge_tests.parquet": CRM_KNOWLEDGE_TESTS_SCHEMA,
}
