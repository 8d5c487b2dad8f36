"""Counter export formats: file names, column names and code dictionaries.

This module is the single declaration of ``../shared/COUNTERS.md`` (section "Tables: standard
field ← hundsun field ← apex field"). The ingest adapters read through it (counter → standard)
and the simulator writes through it (standard → counter), so a code is written down exactly once.
A third counter style is one more ``CounterFormat`` here, not a change to the pipeline.

Nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

# --- standard model -----------------------------------------------------------------------------

#: Standard tables and their fields, in file order. ``kind`` of each field drives parsing:
#: ``str`` text, ``code:<domain>`` a coded value, ``codeset:<domain>`` a set of codes,
#: ``date`` YYYYMMDD (``date?`` may be ``0``/empty), ``int`` integer, ``money`` ≤ 2 decimals,
#: ``price`` ≤ 4 decimals, ``money?``/``price?``/``str?``/``code?:…`` may be empty.
STANDARD_TABLES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "customers": {
            "customer_no": "str",
            "name": "str",
            "branch_code": "str",
            "customer_type": "code:customer_type",
            "id_type": "code:id_type",
            "id_number": "str",
            "mobile": "str?",
            "birth_date": "date?",
            "gender": "code?:gender",
            "open_date": "date",
            "status": "code:status",
            "risk_level": "code?:risk_level",
            "risk_expiry": "date?",
            "investor_class": "code:investor_class",
            "invest_horizon": "code?:invest_horizon",
            "invest_varieties": "codeset:invest_variety",
            "first_trade_date": "date?",
            "aml_level": "code:aml_level",
        },
        "fund_accounts": {
            "fund_account": "str",
            "customer_no": "str",
            "branch_code": "str",
            "account_type": "code:account_type",
            "currency": "code:currency",
            "open_date": "date",
            "status": "code:status",
        },
        "securities": {
            "exchange": "code:exchange",
            "security_code": "str",
            "name": "str",
            "security_type": "code:security_type",
        },
        "quotes": {
            "exchange": "code:exchange",
            "security_code": "str",
            "close_price": "price",
            "pre_close_price": "price?",
        },
        "trades": {
            "serial_no": "int",
            "fund_account": "str",
            "exchange": "code:exchange",
            "security_code": "str",
            "side": "code:side",
            "quantity": "int",
            "price": "price",
            "amount": "money",
            "commission": "money",
            "stamp_tax": "money",
            "transfer_fee": "money",
            "exchange_fee": "money",
            "other_fee": "money",
            "channel": "code:channel",
        },
        "cash_flows": {
            "serial_no": "int",
            "fund_account": "str",
            "currency": "code:currency",
            "kind": "code:cash_kind",
            "amount": "money",
            "balance_after": "money",
        },
        "security_transfers": {
            "serial_no": "int",
            "fund_account": "str",
            "exchange": "code:exchange",
            "security_code": "str",
            "direction": "code:transfer_direction",
            "quantity": "int",
        },
        "freezes": {
            "serial_no": "int",
            "fund_account": "str",
            "kind": "code:freeze_kind",
            "amount": "money",
        },
        "positions": {
            "fund_account": "str",
            "exchange": "code:exchange",
            "security_code": "str",
            "quantity": "int",
            "cost_price": "price?",
        },
        "margin_debts": {
            "fund_account": "str",
            "kind": "code:debt_kind",
            "exchange": "code:exchange",
            "security_code": "str",
            "financing_balance": "money",
            "short_quantity": "int",
            "interest_payable": "money",
        },
    }
)

#: Standard code values per domain (the right-hand side of every dictionary below).
STANDARD_CODES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "customer_type": ("individual", "institution", "product"),
        "id_type": ("id_card", "passport", "business_licence"),
        "gender": ("male", "female"),
        "status": ("normal", "frozen", "lost", "closed"),
        "risk_level": ("C0", "C1", "C2", "C3", "C4", "C5"),  # C0 = lowest category (最低类别)
        "investor_class": ("ordinary", "professional_i", "professional_ii", "professional_iii"),
        "invest_horizon": ("short", "medium", "long"),
        "invest_variety": ("fixed_income", "equity", "derivatives", "complex", "other"),
        "aml_level": ("low", "medium", "high"),
        "account_type": ("normal", "credit"),
        "currency": ("CNY", "USD", "HKD"),
        "exchange": ("SH", "SZ", "BJ"),
        "security_type": ("stock", "fund", "etf", "lof", "bond", "convertible", "repo"),
        "side": ("buy", "sell"),
        "channel": ("counter", "phone", "terminal", "internet", "mobile", "api"),
        "cash_kind": ("bank_in", "bank_out", "trade_settle", "interest", "dividend", "fee", "other"),
        "transfer_direction": ("in", "out"),
        "freeze_kind": ("judicial", "pledge", "other"),
        "debt_kind": ("financing", "short"),
    }
)


def _codes(domain: str, counter_codes: tuple[str, ...]) -> dict[str, str]:
    """Pair a counter's codes with the standard values of ``domain``, in order."""
    standard = STANDARD_CODES[domain]
    assert len(standard) == len(counter_codes), domain
    return dict(zip(counter_codes, standard))


@dataclass(frozen=True)
class CounterFormat:
    """How one counter style writes its end-of-day export (COUNTERS.md, "Export layout")."""

    name: str
    encoding: str
    delimiter: str
    #: standard table → file name in a day folder
    files: Mapping[str, str]
    #: standard table → {standard field → counter column}
    columns: Mapping[str, Mapping[str, str]]
    #: code domain → {counter code → standard value}
    codes: Mapping[str, Mapping[str, str]]
    #: how a set of varieties is written: "letters" (``AB``) or "comma" (``GS,QY``)
    codeset_style: str = "letters"
    quotechar: str = '"'
    extra: Mapping[str, str] = field(default_factory=dict)

    def code_to_standard(self, domain: str) -> Mapping[str, str]:
        return self.codes[domain]

    def standard_to_code(self, domain: str) -> dict[str, str]:
        return {v: k for k, v in self.codes[domain].items()}

    def encode_codeset(self, values: list[str] | tuple[str, ...]) -> str:
        """Write a set of standard varieties the way this counter does."""
        back = self.standard_to_code("invest_variety")
        codes = [back[v] for v in STANDARD_CODES["invest_variety"] if v in values]
        return ("," if self.codeset_style == "comma" else "").join(codes)

    def decode_codeset(self, raw: str) -> tuple[str, ...]:
        """Read a set of varieties; raises ``KeyError`` naming the first unknown code."""
        raw = raw.strip()
        if not raw:
            return ()
        parts = raw.split(",") if self.codeset_style == "comma" else list(raw)
        mapping = self.codes["invest_variety"]
        found = {mapping[p.strip()] for p in parts}
        return tuple(v for v in STANDARD_CODES["invest_variety"] if v in found)


HUNDSUN = CounterFormat(
    name="hundsun",
    encoding="utf-8",
    delimiter=",",
    files={
        "customers": "client.csv",
        "fund_accounts": "fundaccount.csv",
        "securities": "stkcode.csv",
        "quotes": "price.csv",
        "trades": "deliver.csv",
        "cash_flows": "fundjour.csv",
        "security_transfers": "stockjour.csv",
        "freezes": "frozenjour.csv",
        "positions": "stock.csv",
        "margin_debts": "compact.csv",
    },
    columns={
        "customers": {
            "customer_no": "client_id",
            "name": "client_name",
            "branch_code": "branch_no",
            "customer_type": "organ_flag",
            "id_type": "id_kind",
            "id_number": "id_no",
            "mobile": "mobile_tel",
            "birth_date": "birthday",
            "gender": "sex",
            "open_date": "open_date",
            "status": "client_status",
            "risk_level": "corp_risk_level",
            "risk_expiry": "corp_end_date",
            "investor_class": "prof_flag",
            "invest_horizon": "en_invest_term",
            "invest_varieties": "en_invest_kind",
            "first_trade_date": "first_exchdate",
            "aml_level": "aml_risk_level",
        },
        "fund_accounts": {
            "fund_account": "fund_account",
            "customer_no": "client_id",
            "branch_code": "branch_no",
            "account_type": "asset_prop",
            "currency": "money_type",
            "open_date": "open_date",
            "status": "fundacct_status",
        },
        "securities": {
            "exchange": "exchange_type",
            "security_code": "stock_code",
            "name": "stock_name",
            "security_type": "stock_type",
        },
        "quotes": {
            "exchange": "exchange_type",
            "security_code": "stock_code",
            "close_price": "close_price",
            "pre_close_price": "pre_close_price",
        },
        "trades": {
            "serial_no": "serial_no",
            "fund_account": "fund_account",
            "exchange": "exchange_type",
            "security_code": "stock_code",
            "side": "entrust_bs",
            "quantity": "business_amount",
            "price": "business_price",
            "amount": "business_balance",
            "commission": "fare0",
            "stamp_tax": "fare1",
            "transfer_fee": "fare2",
            "exchange_fee": "exchange_fare",
            "other_fee": "fare3",
            "channel": "entrust_way",
        },
        "cash_flows": {
            "serial_no": "serial_no",
            "fund_account": "fund_account",
            "currency": "money_type",
            "kind": "business_flag",
            "amount": "occur_balance",
            "balance_after": "post_balance",
        },
        "security_transfers": {
            "serial_no": "serial_no",
            "fund_account": "fund_account",
            "exchange": "exchange_type",
            "security_code": "stock_code",
            "direction": "business_flag",
            "quantity": "occur_amount",
        },
        "freezes": {
            "serial_no": "serial_no",
            "fund_account": "fund_account",
            "kind": "frozen_type",
            "amount": "occur_balance",
        },
        "positions": {
            "fund_account": "fund_account",
            "exchange": "exchange_type",
            "security_code": "stock_code",
            "quantity": "current_amount",
            "cost_price": "cost_price",
        },
        "margin_debts": {
            "fund_account": "fund_account",
            "kind": "compact_type",
            "exchange": "exchange_type",
            "security_code": "stock_code",
            "financing_balance": "real_compact_balance",
            "short_quantity": "real_compact_amount",
            "interest_payable": "real_compact_interest",
        },
    },
    codes={
        "customer_type": _codes("customer_type", ("0", "1", "2")),
        "id_type": _codes("id_type", ("0", "1", "2")),
        "gender": _codes("gender", ("0", "1")),
        "status": _codes("status", ("0", "1", "2", "3")),
        "risk_level": _codes("risk_level", ("0", "1", "2", "3", "4", "5")),
        "investor_class": _codes("investor_class", ("0", "1", "2", "3")),
        "invest_horizon": _codes("invest_horizon", ("1", "2", "3")),
        "invest_variety": _codes("invest_variety", ("A", "B", "C", "D", "E")),
        "aml_level": _codes("aml_level", ("1", "2", "3")),
        "account_type": _codes("account_type", ("0", "7")),
        "currency": _codes("currency", ("0", "1", "2")),
        "exchange": _codes("exchange", ("1", "2", "9")),
        "security_type": _codes("security_type", ("0", "1", "T", "L", "Z", "K", "R")),
        "side": _codes("side", ("1", "2")),
        "channel": _codes("channel", ("0", "1", "2", "3", "4", "5")),
        "cash_kind": _codes("cash_kind", ("2041", "2042", "4000", "2201", "2205", "2301", "2999")),
        "transfer_direction": _codes("transfer_direction", ("4031", "4032")),
        "freeze_kind": _codes("freeze_kind", ("1", "2", "9")),
        "debt_kind": _codes("debt_kind", ("0", "1")),
    },
    codeset_style="letters",
)

APEX = CounterFormat(
    name="apex",
    encoding="gbk",
    delimiter="|",
    files={
        "customers": "KHXX.txt",
        "fund_accounts": "ZJZH.txt",
        "securities": "ZQDM.txt",
        "quotes": "HQ.txt",
        "trades": "JGMX.txt",
        "cash_flows": "ZJLS.txt",
        "security_transfers": "ZQLS.txt",
        "freezes": "DJLS.txt",
        "positions": "CC.txt",
        "margin_debts": "RZRQFZ.txt",
    },
    columns={
        "customers": {
            "customer_no": "KHH",
            "name": "KHXM",
            "branch_code": "YYB",
            "customer_type": "KHLB",
            "id_type": "ZJLB",
            "id_number": "ZJBH",
            "mobile": "SJHM",
            "birth_date": "CSRQ",
            "gender": "XB",
            "open_date": "KHRQ",
            "status": "KHZT",
            "risk_level": "FXDJ",
            "risk_expiry": "FXYXQ",
            "investor_class": "TZZFL",
            "invest_horizon": "TZQX",
            "invest_varieties": "TZPZ",
            "first_trade_date": "SCJYRQ",
            "aml_level": "FXQDJ",
        },
        "fund_accounts": {
            "fund_account": "ZJZH",
            "customer_no": "KHH",
            "branch_code": "YYB",
            "account_type": "ZHLB",
            "currency": "BZ",
            "open_date": "KHRQ",
            "status": "ZHZT",
        },
        "securities": {
            "exchange": "JYS",
            "security_code": "ZQDM",
            "name": "ZQMC",
            "security_type": "ZQLB",
        },
        "quotes": {
            "exchange": "JYS",
            "security_code": "ZQDM",
            "close_price": "SPJ",
            "pre_close_price": "ZSP",
        },
        "trades": {
            "serial_no": "LSH",
            "fund_account": "ZJZH",
            "exchange": "JYS",
            "security_code": "ZQDM",
            "side": "JYLB",
            "quantity": "CJSL",
            "price": "CJJG",
            "amount": "CJJE",
            "commission": "YJ",
            "stamp_tax": "YHS",
            "transfer_fee": "GHF",
            "exchange_fee": "JSF",
            "other_fee": "QTFY",
            "channel": "WTFS",
        },
        "cash_flows": {
            "serial_no": "LSH",
            "fund_account": "ZJZH",
            "currency": "BZ",
            "kind": "YWDM",
            "amount": "FSJE",
            "balance_after": "BCYE",
        },
        "security_transfers": {
            "serial_no": "LSH",
            "fund_account": "ZJZH",
            "exchange": "JYS",
            "security_code": "ZQDM",
            "direction": "YWDM",
            "quantity": "FSSL",
        },
        "freezes": {
            "serial_no": "LSH",
            "fund_account": "ZJZH",
            "kind": "DJLB",
            "amount": "DJJE",
        },
        "positions": {
            "fund_account": "ZJZH",
            "exchange": "JYS",
            "security_code": "ZQDM",
            "quantity": "GFYE",
            "cost_price": "CBJ",
        },
        "margin_debts": {
            "fund_account": "ZJZH",
            "kind": "HYLB",
            "exchange": "JYS",
            "security_code": "ZQDM",
            "financing_balance": "RZFZ",
            "short_quantity": "RQSL",
            "interest_payable": "WJLX",
        },
    },
    codes={
        "customer_type": _codes("customer_type", ("0", "1", "3")),
        "id_type": _codes("id_type", ("00", "01", "10")),
        "gender": _codes("gender", ("1", "2")),
        "status": _codes("status", ("0", "2", "3", "9")),
        "risk_level": _codes("risk_level", ("C0", "C1", "C2", "C3", "C4", "C5")),
        "investor_class": _codes("investor_class", ("PT", "ZY1", "ZY2", "ZY3")),
        "invest_horizon": _codes("invest_horizon", ("D", "Z", "C")),
        "invest_variety": _codes("invest_variety", ("GS", "QY", "YS", "FZ", "QT")),
        "aml_level": _codes("aml_level", ("D", "Z", "G")),
        "account_type": _codes("account_type", ("1", "2")),
        "currency": _codes("currency", ("RMB", "USD", "HKD")),
        "exchange": _codes("exchange", ("SH", "SZ", "BJ")),
        "security_type": _codes("security_type", ("A0", "J0", "JE", "JL", "Z0", "ZK", "HG")),
        "side": _codes("side", ("1", "2")),
        "channel": _codes("channel", ("GT", "DH", "ZZ", "WS", "SJ", "CX")),
        "cash_kind": _codes("cash_kind", ("1101", "1102", "2001", "3001", "3002", "4001", "9999")),
        "transfer_direction": _codes("transfer_direction", ("5101", "5102")),
        "freeze_kind": _codes("freeze_kind", ("SF", "ZY", "QT")),
        "debt_kind": _codes("debt_kind", ("RZ", "RQ")),
    },
    codeset_style="comma",
)

#: Every counter style brokercrm reads, by name.
COUNTERS: Mapping[str, CounterFormat] = MappingProxyType({c.name: c for c in (HUNDSUN, APEX)})

#: Reference data beside the counter folders (COUNTERS.md, "Reference data").
INDUSTRY_FILE = "reference/industry.csv"
UNKNOWN_INDUSTRY = "unknown"
