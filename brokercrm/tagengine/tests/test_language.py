"""The rule language: every construct evaluated on a hand-made table, every error with its column."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import ibis
import pyarrow as pa
import pytest

from brokercrm.datacenter.pipeline import months_cutoff
from brokercrm.tagengine import language as L

DAY = date(2024, 6, 28)
FEATURES = {"n": L.NUMBER, "m": L.NUMBER, "k": L.NUMBER, "s": L.TEXT, "d": L.DATE, "b": L.CONDITION,
            "total_assets": L.NUMBER}

ROWS = pa.table(
    {
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "n": pa.array([Decimal("10"), Decimal("-2.5"), None, Decimal("0.3")], pa.decimal128(38, 10)),
        "m": pa.array([Decimal("4"), Decimal("0"), Decimal("5"), Decimal("-1")], pa.decimal128(38, 10)),
        "k": pa.array([3, 0, None, 7], pa.int64()),
        "s": pa.array(["银行", "电子", None, "it's"]),
        "d": pa.array([date(2024, 1, 31), date(2023, 6, 28), None, DAY], pa.date32()),
        "b": pa.array([True, False, False, True]),
        "total_assets": pa.array([Decimal(0)] * 4, pa.decimal128(38, 10)),
    }
)


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def ids(con, rule: str, *, day: date = DAY, table: pa.Table = ROWS, tags=None) -> set[int]:
    compiled = L.compile_rule(rule, features=FEATURES, tags=tags)
    t = ibis.memtable(table)
    resolve = (lambda code: t[tags[code]]) if tags else None
    result = con.to_pyarrow(t.filter(compiled.to_ibis(t, day=day, tag=resolve)).select("id"))
    return set(result.column("id").to_pylist())


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # comparisons with decimal literals (a missing value never matches)
        ("n > 5", {1}),
        ("n = 10", {1}),
        ("n != 10", {2, 4}),
        ("n <> 10", {2, 4}),
        ("n < 0", {2}),
        ("n <= 0.3", {2, 4}),
        ("n >= -2.5", {1, 2, 4}),
        ("0.30 = n", {4}),
        ("k >= 3", {1, 4}),
        # text
        ("s = '银行'", {1}),
        ("s != '银行'", {2, 4}),
        ("s = 'it''s'", {4}),
        ("s in ('银行', '电子')", {1, 2}),
        ("s not in ('银行')", {2, 4}),
        # between and in
        ("k between 3 and 7", {1, 4}),
        ("k not between 1 and 5", {2, 4}),
        ("n between -3 and 0.3", {2, 4}),
        ("k in (0, 7)", {2, 4}),
        ("n in (10, -2.5)", {1, 2}),
        # missing values
        ("n is null", {3}),
        ("s is not null", {1, 2, 4}),
        ("d is null", {3}),
        # arithmetic
        ("n + m > 10", {1}),
        ("n - m < 0", {2}),
        ("n * 2 >= 20", {1}),
        ("n * m = 40", {1}),
        ("-n > 0", {2}),
        ("k * 0.5 = 1.5", {1}),
        ("n >= 0.5 * m + 8", {1}),
        # exact division: cross-multiplied, sign-aware, unknown when dividing by zero
        ("n / m >= 2", {1}),
        ("n / m < 0", {4}),
        ("n / m = -0.3", {4}),
        ("n / 3 * 3 = n", {1, 2, 4}),
        ("1 / 3 + 1 / 3 + 1 / 3 = 1", {1, 2, 3, 4}),
        ("n / m is null", {2, 3}),
        ("n / m is not null", {1, 4}),
        ("m / n + 1 > 1", {1}),
        ("m / n + 1 < 1", {4}),
        ("(n + m) / (m - 5) < -10", {1}),
        # boolean logic and precedence (and binds tighter than or)
        ("b", {1, 4}),
        ("not b", {2, 3}),
        ("not (n > 5)", {2, 4}),
        ("n > 5 or k = 0 and b", {1}),
        ("(n > 5 or k = 0) and not b", {2}),
        ("N > 5 AND B", {1}),
        ("not not b", {1, 4}),
        # functions
        ("days_since(d) >= 365", {2}),
        ("days_since(d) = 0", {4}),
        ("days_until(d) < 0", {1, 2}),
        ("months_since(d) = 12", {2}),
        ("months_since(d) = 4", {1}),
        ("abs(n) = 2.5", {2}),
        ("abs(n - 10) < 1", {1}),
        ("abs(n / m) = 0.3", {4}),
        ("coalesce(n, 0) = 0", {3}),
        ("coalesce(s, 'x') = 'x'", {3}),
        ("min(n, m) = 4", {1}),
        ("min(n, m) = -1", {4}),
        ("max(n, m) = 5", {3}),
        ("max(n / m, 1) = 2.5", {1}),
    ],
)
def test_construct(con, rule, expected):
    assert ids(con, rule) == expected


def test_tag_reads_another_tag_through_the_resolver(con):
    assert ids(con, "tag('flagged') and n > 0", tags={"flagged": "b"}) == {1, 4}
    assert L.compile_rule("tag('x') or tag('y')", features=FEATURES).tags == {"x", "y"}


def test_reads_are_collected():
    compiled = L.compile_rule("days_since(d) > 3 and s in ('a') or tag('t')", features=FEATURES)
    assert compiled.features == {"d", "s"}
    assert compiled.tags == {"t"}


def test_months_since_agrees_with_the_pipelines_month_rule(con):
    """months_since(x) >= N exactly when x <= months_cutoff(D, N), end-of-month clamping included."""
    starts = [date(2021, 1, 1) + timedelta(days=i) for i in range(1200)]
    table = pa.table({"id": list(range(len(starts))), "d": pa.array(starts, pa.date32())})
    for day in (date(2024, 2, 29), date(2024, 2, 28), date(2023, 2, 28), date(2024, 6, 30), date(2024, 3, 31)):
        for n in (1, 6, 24):
            expected = {i for i, s in enumerate(starts) if s <= months_cutoff(day, n)}
            assert ids(con, f"months_since(d) >= {n}", day=day, table=table) == expected, (day, n)


def test_one_query_with_the_day_as_columns_agrees_with_each_days_literals(con):
    """``EvaluationDay.columns``: the day enters as columns (what the pipeline compiles once for
    every day); each day's answers are those of the day's literals, month ends included."""
    starts = [date(2021, 1, 1) + timedelta(days=i) for i in range(0, 1200, 3)]
    rule = "months_since(d) >= 6 and days_since(d) < 900 or days_until(d) > -30 and months_since(d) = 13"
    compiled = L.compile_rule(rule, features=FEATURES)
    columns = {"id": pa.int64(), "d": pa.date32(), **{n: pa.date32() if k == "date" else pa.int64() for n, k in L.DAY_COLUMNS.items()}}
    placeholder = ibis.table(ibis.Schema.from_pyarrow(pa.schema(columns)), name="days_as_columns")
    sql = con.compile(placeholder.filter(compiled.to_ibis(placeholder, day=L.EvaluationDay.columns(placeholder))).select("id"))
    for day in (date(2024, 2, 29), date(2023, 2, 28), date(2024, 6, 30), date(2024, 3, 31), date(2023, 12, 1)):
        values = L.day_values(day)
        table = pa.table(
            {"id": list(range(len(starts))), "d": pa.array(starts, pa.date32()),
             **{n: pa.array([values[n]] * len(starts), columns[n]) for n in L.DAY_COLUMNS}}
        )  # fmt: skip
        con.con.register("days_as_columns", table)
        try:
            got = set(con.con.execute(sql).fetch_arrow_table().column("id").to_pylist())
        finally:
            con.con.unregister("days_as_columns")
        assert got == ids(con, rule, day=day, table=table.select(["id", "d"])) and got, day


def test_a_rule_compiles_to_ibis_without_sql_text_from_the_rule():
    """A quote in text is a value, not SQL: the rule below is one comparison with a literal."""
    compiled = L.compile_rule("s = 'x'' or 1=1 --'", features=FEATURES)
    t = ibis.memtable(ROWS)
    result = ibis.duckdb.connect().to_pyarrow(t.filter(compiled.to_ibis(t, day=DAY)))
    assert result.num_rows == 0


# --- errors: what, and where (1-based column) ---------------------------------------------------------

ERRORS = [
    ("", L.ERR_EMPTY, 1, "syntax"),
    ("   ", L.ERR_EMPTY, 1, "syntax"),
    ("n > 1e6", L.ERR_EXPONENT.format(text="1e6"), 5, "syntax"),
    ("n > .5", L.ERR_LEADING_POINT.format(text=".5"), 5, "syntax"),
    ("n > 500k", L.ERR_NUMBER_SUFFIX.format(char="k"), 8, "syntax"),
    ("n > 5.", L.ERR_EXPECTED.format(expected="a digit after the decimal point", found="the end of the rule"), 7, "syntax"),
    ("n > 1234567890123456789", L.ERR_NUMBER_DIGITS.format(text="1234567890123456789"), 5, "syntax"),
    ("n > 0.1234567", L.ERR_NUMBER_DIGITS.format(text="0.1234567"), 5, "syntax"),
    ('s = "银行"', L.ERR_DOUBLE_QUOTE, 5, "syntax"),
    ("s = '银行", L.ERR_UNTERMINATED, 5, "syntax"),
    ("n == 5", L.ERR_DOUBLE_EQUALS, 3, "syntax"),
    ("n > 银行", L.ERR_UNEXPECTED_CHAR.format(char="银"), 5, "syntax"),
    ("n > 5 and", L.ERR_EXPECTED.format(expected="a value (a number, 'text', a feature, a function or '(')", found="the end of the rule"), 10, "syntax"),
    ("(n > 5", L.ERR_EXPECTED.format(expected="')'", found="the end of the rule"), 7, "syntax"),
    ("n > 5 k", L.ERR_EXPECTED.format(expected="'and', 'or', ')' or the end of the rule", found="'k'"), 7, "syntax"),
    ("1 < n < 5", L.ERR_CHAINED, 7, "syntax"),
    ("k between 1 or 2", L.ERR_EXPECTED.format(expected="'and' (between low and high)", found="'or'"), 13, "syntax"),
    ("s is nul", L.ERR_EXPECTED.format(expected="'null' (is null, is not null)", found="'nul'"), 6, "syntax"),
    ("n in (k)", f"{L.ERR_IN_LITERALS}; found 'k'", 7, "syntax"),
    ("tag(nope)", L.ERR_TAG_ARGUMENT, 5, "syntax"),
    ("total_asset > 5", L.ERR_UNKNOWN_FEATURE.format(name="total_asset", hint=" (did you mean 'total_assets'?)"), 1, "unknown_feature"),
    ("zzz > 5", L.ERR_UNKNOWN_FEATURE.format(name="zzz", hint=""), 1, "unknown_feature"),
    (
        "n > 1 and day_since(d) > 5",
        L.ERR_UNKNOWN_FUNCTION.format(
            name="day_since", hint=" (did you mean 'days_since'?)",
            known="abs, coalesce, days_since, days_until, max, min, months_since, tag",
        ),
        11,
        "unknown_function",
    ),
    ("b and tag('dormant_9d')", L.ERR_UNKNOWN_TAG.format(code="dormant_9d", hint=" (did you mean 'dormant_90d'?)"), 7, "unknown_tag"),
    ("s > 5", L.ERR_COMPARE_TYPES.format(left_type="text", left="s", right_type="a number", right="5"), 5, "type"),
    ("d = 5", L.ERR_COMPARE_TYPES.format(left_type="a date", left="d", right_type="a number", right="5"), 5, "type"),
    ("n", L.ERR_NOT_CONDITION.format(found="a number", text="n"), 1, "type"),
    ("b and n + 1", L.ERR_NOT_CONDITION.format(found="a number", text="n + 1"), 7, "type"),
    ("not s", L.ERR_NOT_CONDITION.format(found="text", text="s"), 5, "type"),
    ("b > 1", L.ERR_COMPARE_CONDITION.format(text="b"), 1, "type"),
    ("s + 1 > 2", L.ERR_ARITHMETIC_TYPE.format(op="+", text="s", found="text"), 1, "type"),
    ("n * (n > 1) > 2", L.ERR_ARITHMETIC_TYPE.format(op="*", text="(n > 1)", found="a condition"), 5, "type"),
    ("days_since(n) > 1", L.ERR_ARGUMENT_TYPE.format(name="days_since", expected="a date", arg="n", found="a number"), 12, "type"),
    ("days_since(d, d) > 1", L.ERR_ARGUMENT_COUNT.format(name="days_since", expected="1 argument (a date)", given=2), 1, "arguments"),
    ("min(n) > 1", L.ERR_ARGUMENT_COUNT.format(name="min", expected="2 arguments (a number and a number)", given=1), 1, "arguments"),
    ("coalesce(s, 1) = 'a'", L.ERR_COALESCE_TYPES.format(left="s", left_type="text", right="1", right_type="a number"), 1, "type"),
    ("b is null", L.ERR_NULL_CONDITION.format(text="b"), 1, "type"),
    ("k in (1, 'a')", L.ERR_LIST_TYPE.format(found="a number", text="k", expected="text"), 10, "type"),
    ("s between 'a' and 3", L.ERR_COMPARE_TYPES.format(left_type="text", left="s", right_type="a number", right="3"), 19, "type"),
]


@pytest.mark.parametrize(("rule", "message", "column", "kind"), ERRORS, ids=[e[0] or "empty" for e in ERRORS])
def test_error(rule, message, column, kind):
    with pytest.raises(L.RuleError) as caught:
        L.compile_rule(rule, features=FEATURES, tags={"dormant_90d", "dormant_30d"})
    error = caught.value
    assert (error.message, error.column, error.kind) == (message, column, kind)
    assert str(error) == f"{message} (column {column})"


def test_the_pointer_marks_the_error():
    with pytest.raises(L.RuleError) as caught:
        L.compile_rule("n > 5 and s > 5", features=FEATURES)
    assert caught.value.pointer() == "n > 5 and s > 5\n              ^"


def test_every_error_message_is_tested():
    tested = {template for _, message, _, _ in ERRORS for template in _templates() if _matches(template, message)}
    untested = set(_templates()) - tested
    assert untested == set()


def _templates() -> list[str]:
    return [v for k, v in vars(L).items() if k.startswith("ERR_")]


def _matches(template: str, message: str) -> bool:
    import re

    pattern = re.escape(template)
    pattern = re.sub(r"\\\{[^}]*\\\}", ".*", pattern)
    return re.fullmatch(pattern + "(; found .*)?", message, re.DOTALL) is not None
