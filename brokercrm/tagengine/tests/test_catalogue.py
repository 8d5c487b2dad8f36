"""The catalogue: the built-in tags as data, validation (refused whole), and computing them."""

from __future__ import annotations

from collections import Counter

import ibis
import pytest

from brokercrm.tagengine import catalogue as C
from brokercrm.tagengine.features import FEATURES, feature_table
from brokercrm.tagengine.tests import world


@pytest.fixture(scope="module")
def builtin() -> C.Catalogue:
    return C.load_catalogue()


def test_at_least_150_builtin_tags_with_unique_codes_names_and_every_category(builtin):
    entries = C.load_entries()
    codes = [e["code"] for e in entries]
    assert len(codes) >= 150
    assert len(set(codes)) == len(codes)
    assert len(builtin) == len(codes)
    for tag in builtin:
        assert tag.name_zh.strip() and tag.name_en.strip() and tag.description.strip(), tag.code
        assert tag.name_zh != tag.name_en, tag.code
    per_category = Counter(t.category for t in builtin)
    assert set(per_category) == set(C.CATEGORIES)
    assert min(per_category.values()) >= 10
    assert len({t.name_zh for t in builtin}) == len(builtin)


def test_lineage_follows_tag_references(builtin):
    lineage = builtin.lineage("high_value_churn_risk")
    assert lineage.features == {"tier"}
    assert lineage.tags == {"churn_risk"}
    assert lineage.all_tags == {"churn_risk", "asset_halved_3m", "dormant_90d", "outflow_60d"}
    assert lineage.all_features == {
        "tier", "status", "total_assets", "total_assets_3m_ago", "account_age_days",
        "last_trade_date", "net_inflow_60d",
    }
    assert lineage.inputs == {"segments", "customers", "customer_indicators", "history"}
    # Every tag reads something, and every feature it reads is in the registry.
    for tag in builtin:
        read = builtin.lineage(tag.code)
        assert read.all_features and read.all_features <= set(FEATURES), tag.code


def test_a_tag_is_computed_after_the_tags_it_reads(builtin):
    position = {code: n for n, level in enumerate(builtin.levels) for code in level}
    for tag in builtin:
        for other in tag.compiled.tags:
            assert position[other] < position[tag.code]


# --- validation: a bad catalogue is refused whole --------------------------------------------------


def entry(code: str, rule: str, **overrides) -> dict:
    return {"code": code, "name_zh": "标签" + code, "name_en": "Tag " + code, "category": "basic",
            "description": "test", "rule": rule, **overrides}


def problems(entries) -> list[str]:
    with pytest.raises(C.CatalogueError) as caught:
        C.build_catalogue(entries)
    return [str(p) for p in caught.value.problems]


def test_every_problem_is_reported_and_nothing_is_built():
    found = problems(
        [
            entry("good_one", "total_assets > 0"),
            entry("bad_rule", "total_asset > 0"),
            entry("good_one", "total_assets > 1"),
            entry("Bad-Code", "total_assets > 0"),
            entry("total_assets", "total_assets > 0"),
            entry("wrong_category", "total_assets > 0", category="misc"),
            {"code": "missing", "rule": "total_assets > 0"},
            entry("not_text", "total_assets > 0", name_en=5),
            entry("extra_field", "total_assets > 0", colour="red"),
            entry("empty_name", "total_assets > 0", name_zh="  "),
        ]
    )
    assert found == [
        "tag 'good_one': " + C.ERR_DUPLICATE.format(code="good_one"),
        "tag 'bad_rule': "
        + C.ERR_RULE.format(
            message="unknown feature 'total_asset' (did you mean 'total_assets'?)",
            column=1, rule="total_asset > 0", pointer="^",
        ),
        "tag 'Bad-Code': " + C.ERR_CODE,
        "tag 'total_assets': " + C.ERR_FEATURE_CLASH.format(code="total_assets"),
        "tag 'wrong_category': " + C.ERR_CATEGORY.format(category="misc", known=", ".join(C.CATEGORIES)),
        "tag 'missing': " + C.ERR_MISSING_FIELD.format(field="name_zh"),
        "tag 'missing': " + C.ERR_MISSING_FIELD.format(field="name_en"),
        "tag 'missing': " + C.ERR_MISSING_FIELD.format(field="category"),
        "tag 'missing': " + C.ERR_MISSING_FIELD.format(field="description"),
        "tag 'not_text': " + C.ERR_NOT_TEXT.format(field="name_en"),
        "tag 'extra_field': " + C.ERR_UNKNOWN_FIELDS.format(fields="colour", known=", ".join(C.FIELDS)),
        "tag 'empty_name': " + C.ERR_EMPTY_FIELD.format(field="name_zh"),
    ]


def test_a_rule_error_shows_the_column_and_a_pointer():
    (found,) = problems([entry("ta", "total_assets > 0 and risk_level > 3")])
    assert found == (
        "tag 'ta': rule: cannot compare text (risk_level) with a number (3) (column 35)\n"
        "    total_assets > 0 and risk_level > 3\n"
        "    " + " " * 34 + "^"  # under the 3
    )


def test_cycles_are_refused():
    assert problems(
        [entry("ta", "tag('tb')"), entry("tb", "tag('tc') and total_assets > 0"), entry("tc", "tag('ta')")]
    ) == ["tag 'ta': " + C.ERR_CYCLE.format(path="ta → tb → tc → ta")]
    assert problems([entry("self", "tag('self') or total_assets > 0")]) == [
        "tag 'self': " + C.ERR_CYCLE.format(path="self → self")
    ]


def test_an_unknown_tag_reference_is_refused():
    (found,) = problems([entry("ta", "tag('dormant_9d')"), entry("dormant_90d", "total_assets = 0")])
    assert "unknown tag 'dormant_9d' (did you mean 'dormant_90d'?)" in found


def test_head_office_adds_a_tag_without_code(builtin):
    extended = builtin.with_tags(
        [entry("rich_bank_lovers", "tag('prefers_banks') and total_assets >= 1000000", category="holdings")]
    )
    assert len(extended) == len(builtin) + 1
    assert extended.lineage("rich_bank_lovers").tags == {"prefers_banks"}
    with pytest.raises(C.CatalogueError) as caught:
        builtin.with_tags([entry("broken", "tag('prefers_bank')")])
    assert len(caught.value.problems) == 1
    with pytest.raises(C.CatalogueError):
        builtin.with_tags([entry("prefers_banks", "total_assets > 0")])  # a code already taken


def test_a_toml_file_with_other_keys_is_refused(tmp_path):
    path = tmp_path / "tags.toml"
    path.write_text('[tags]\ncode = "x"\n', encoding="utf-8")
    with pytest.raises(C.CatalogueError):
        C.load_entries(path)


# --- computing on the hand-built brokerage ----------------------------------------------------------

#: Worked by hand from the figures of ``world.py`` (see its docstring and test_features.py).
EXPECTED = {
    "C1": {
        "active_20d", "age_under_30", "asset_100k_500k", "asset_growth_1m", "avg_assets_100k_plus",
        "channel_mobile", "chinext_heavy", "chinext_holder", "class_c", "commission_60d",
        "concentrated_50", "contribution_under_1k", "equity_heavy", "experience_under_2y",
        "gender_male", "holdings_1_3", "holds_above_risk_level", "holds_r4", "inflow_20d",
        "inflow_60d", "investor_ordinary", "main_board_holder", "new_90d", "open_under_1y",
        "prefers_power_equipment", "profit_126d", "profit_20d", "profit_60d", "risk_c3",
        "status_normal", "stocks_only", "tier_silver", "trades_high_60d", "turnover_medium_20d",
        "type_individual", "win_rate_high",
    },
    "C2": {
        "age_70_plus", "asset_2m_5m", "avg_assets_100k_plus", "avg_assets_2m_plus",
        "avg_assets_500k_plus", "bond_holder", "cash_ratio_medium", "class_b", "contribution_50k_plus",
        "dormant_180d", "dormant_30d", "dormant_90d", "etf_holder", "experience_2y_plus",
        "gender_female", "high_value_dormant", "holdings_1_3", "holds_without_assessment",
        "investor_ordinary", "open_10y_plus", "risk_c2", "risk_expired", "senior_60_plus",
        "sleeping", "status_normal", "tier_diamond", "trades_none_60d", "type_individual",
    },
    "C3": {
        "asset_1m_2m", "asset_decline_1m", "asset_decline_3m", "asset_decline_6m",
        "avg_assets_100k_plus", "avg_assets_500k_plus", "churn_risk", "class_a", "concentrated_50",
        "concentrated_80", "contribution_10k_50k", "declining", "dormant_30d", "dormant_90d",
        "equity_heavy", "experience_2y_plus", "has_debt", "heavy_outflow_60d", "high_leverage",
        "high_value_churn_risk", "high_value_dormant", "holdings_1_3", "holds_r4",
        "investor_professional", "investor_professional_i", "main_board_holder",
        "maintenance_warning", "margin_account", "margin_in_use", "open_5_10y", "outflow_60d",
        "prefers_banks", "star_holder", "status_normal", "stocks_only", "tier_gold",
        "trades_none_60d", "type_institution",
    },
    "C4": {
        "age_unknown", "asset_zero", "class_d", "contribution_under_1k", "dormant_180d",
        "dormant_30d", "dormant_90d", "experience_none", "gender_male", "investor_ordinary", "lost",
        "no_holdings", "open_3_5y", "risk_c4", "risk_expiring_30d", "risk_expiring_90d",
        "status_lost", "tier_standard", "trades_none_60d", "type_individual",
    },
    "C5": {
        "active_20d", "age_40_49", "asset_10k_100k", "bse_holder", "cash_ratio_medium",
        "channel_counter", "class_d", "concentrated_50", "contribution_under_1k",
        "convertible_holder", "experience_2y_plus", "gender_male", "holdings_4_9",
        "holds_above_risk_level", "holds_r4", "investor_ordinary", "lowest_category_holding",
        "main_board_holder", "open_3_5y", "prefers_pharma_biotech", "profit_126d", "profit_20d",
        "profit_60d", "repo_holder", "risk_c0", "st_heavy", "st_holder", "status_normal",
        "tier_standard", "trades_low_60d", "turnover_medium_20d", "type_individual",
        "win_rate_high",
    },
}


@pytest.fixture(scope="module")
def features_table():
    tables = {k: ibis.memtable(v) for k, v in world.inputs().items()}
    return feature_table(day=world.D, trading_days=world.CALENDAR, **tables)


def test_every_customer_carries_the_hand_worked_tags(builtin, features_table):
    con = ibis.duckdb.connect()
    long = con.to_pyarrow(C.compute_tags(features_table, builtin, day=world.D)).to_pylist()
    got: dict[str, set[str]] = {}
    for row in long:
        got.setdefault(row["customer_no"], set()).add(row["tag_code"])
    assert got == EXPECTED
    # Boundaries met exactly: a maintenance ratio of 130% is a warning, not a call; 36 months
    # to the day is 3 years; ¥10,000 is in the ¥10k–100k band.
    assert "maintenance_call" not in got["C3"]


def test_the_wide_form_and_a_subset_with_its_dependencies(builtin, features_table):
    con = ibis.duckdb.connect()
    wide = C.compute_tags_wide(features_table, builtin, day=world.D, codes=["churn_risk", "lost"])
    assert wide.columns == ("customer_no", "churn_risk", "lost")
    rows = {r["customer_no"]: r for r in con.to_pyarrow(wide).to_pylist()}
    assert [c for c in sorted(rows) if rows[c]["churn_risk"]] == ["C3"]
    assert [c for c in sorted(rows) if rows[c]["lost"]] == ["C4"]
    with pytest.raises(KeyError):
        C.compute_tags_wide(features_table, builtin, day=world.D, codes=["no_such_tag"])


def test_coverage_counts_customers_per_tag(builtin, features_table):
    con = ibis.duckdb.connect()
    covered = con.to_pyarrow(C.coverage(C.compute_tags(features_table, builtin, day=world.D))).to_pylist()
    counts = {r["tag_code"]: r["customers"] for r in covered}
    assert counts["status_normal"] == 4
    assert counts["holds_r4"] == 3
    assert sum(counts.values()) == sum(len(v) for v in EXPECTED.values())


def test_the_long_form_lists_each_customers_true_tags_in_customer_then_code_order():
    import random

    import pyarrow as pa

    rnd = random.Random(5)
    codes = ["Z_LAST", "A_FIRST", "M_MID", "B_NULLS"]
    customers = [f"{rnd.randint(0, 10**8):08d}" for _ in range(300)]  # the wide table's order, not sorted
    values = {c: [rnd.choice([True, False, None] if c == "B_NULLS" else [True, False]) for _ in customers] for c in codes}
    wide = pa.table({"customer_no": customers, **{c: pa.array(v, pa.bool_()) for c, v in values.items()}})
    want = [(no, code) for i, no in enumerate(customers) for code in sorted(codes) if values[code][i]]
    long = C.tags_long_from_wide(wide)
    assert list(zip(long.column("customer_no").to_pylist(), long.column("tag_code").to_pylist())) == want
    assert C.tags_long_from_wide(wide.slice(0, 0)).num_rows == 0
