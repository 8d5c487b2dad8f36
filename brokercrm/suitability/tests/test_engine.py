"""The decision of DOMAIN.md "Suitability decision, as of day D", step by step, hand-worked."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brokercrm.suitability.engine import CustomerProfile, Matcher, ProductTerms, decide

D = date(2026, 4, 22)
VARIETIES = ("fixed_income", "equity", "derivatives", "complex", "other")


def customer(**kw) -> CustomerProfile:
    values = dict(
        customer_no="1",
        risk_level="C3",
        risk_expiry=date(2027, 1, 1),
        investor_class="ordinary",
        invest_horizon="medium",
        invest_varieties="fixed_income,equity",
    )
    values.update(kw)
    return CustomerProfile.from_values(**values)


def product(**kw) -> ProductTerms:
    values = dict(product_code="P1", risk_level="R3", horizon="medium", variety="equity", required_pool="")
    values.update(kw)
    return ProductTerms(**values)


def check(c, p, pools=None, day=D):
    d = decide(customer=c, product=p, pools=pools or {}, day=day)
    return d.result, d.reasons_text


def test_a_fitting_product_matches():
    assert check(customer(), product()) == ("match", "")


# step 1: the required pool decides alone
def test_a_missing_pool_prohibits_with_only_the_pool_reason():
    # everything else fails too (no assessment, too risky, too long, wrong variety): only pool:star
    c = customer(risk_level="", risk_expiry=None, invest_horizon="", invest_varieties="")
    assert check(c, product(required_pool="star", risk_level="R5", horizon="long")) == ("prohibited", "pool:star")
    assert check(customer(), product(required_pool="star"), {"star": False}) == ("prohibited", "pool:star")


def test_a_met_pool_goes_on_to_the_other_steps():
    assert check(customer(), product(required_pool="star"), {"star": True}) == ("match", "")
    assert check(customer(), product(required_pool="star", risk_level="R4"), {"star": True}) == ("mismatch_warn", "risk_level")


def test_a_professional_without_the_pool_is_prohibited():
    c = customer(investor_class="professional_i")
    assert check(c, product(required_pool="margin"), {"star": True}) == ("prohibited", "pool:margin")


# step 2: professionals
@pytest.mark.parametrize("klass", ["professional_i", "professional_ii", "professional_iii"])
def test_a_professional_matches_without_horizon_variety_or_assessment(klass):
    c = customer(investor_class=klass, risk_level="", risk_expiry=None, invest_horizon="", invest_varieties="")
    assert check(c, product(risk_level="R5", horizon="long", variety="complex")) == ("match", "")


# step 3: valid assessment
def test_no_assessment_is_prohibited():
    assert check(customer(risk_level="", risk_expiry=None), product(risk_level="R1")) == ("prohibited", "no_valid_assessment")
    # a level without an expiry is not a valid assessment either
    assert check(customer(risk_expiry=None), product()) == ("prohibited", "no_valid_assessment")


def test_the_assessment_is_valid_up_to_and_including_its_last_day():
    assert check(customer(risk_expiry=D), product()) == ("match", "")
    assert check(customer(risk_expiry=date(2026, 4, 21)), product()) == ("prohibited", "no_valid_assessment")


# step 4: lowest category
def test_the_lowest_category_may_have_r1_only():
    c = customer(risk_level="C0")
    assert check(c, product(risk_level="R2")) == ("prohibited", "lowest_category")
    assert check(c, product(risk_level="R1")) == ("match", "")


def test_the_lowest_category_with_r1_still_checks_horizon_and_variety():
    c = customer(risk_level="C0", invest_horizon="short", invest_varieties="")
    assert check(c, product(risk_level="R1", horizon="medium", variety="equity")) == ("mismatch_warn", "horizon;variety")


# step 5: every failed dimension
@pytest.mark.parametrize(
    "level, risk, ok",
    [("C1", "R1", True), ("C1", "R2", False), ("C2", "R2", True), ("C2", "R3", False), ("C3", "R3", True),
     ("C3", "R4", False), ("C4", "R4", True), ("C4", "R5", False), ("C5", "R5", True)],
)
def test_risk_level_table(level, risk, ok):
    expected = ("match", "") if ok else ("mismatch_warn", "risk_level")
    assert check(customer(risk_level=level), product(risk_level=risk)) == expected


@pytest.mark.parametrize(
    "mine, theirs, ok",
    [("short", "short", True), ("short", "medium", False), ("medium", "long", False), ("long", "short", True),
     ("long", "long", True), ("", "short", False)],
)
def test_horizon_product_must_not_be_longer(mine, theirs, ok):
    expected = ("match", "") if ok else ("mismatch_warn", "horizon")
    assert check(customer(invest_horizon=mine), product(horizon=theirs)) == expected


def test_variety_must_be_one_the_customer_chose():
    assert check(customer(invest_varieties="equity"), product(variety="equity")) == ("match", "")
    assert check(customer(invest_varieties="equity"), product(variety="complex")) == ("mismatch_warn", "variety")
    assert check(customer(invest_varieties=""), product(variety="equity")) == ("mismatch_warn", "variety")


def test_all_reasons_are_listed_sorted():
    c = customer(risk_level="C1", invest_horizon="short", invest_varieties="fixed_income")
    assert check(c, product(risk_level="R3", horizon="long", variety="equity")) == (
        "mismatch_warn",
        "horizon;risk_level;variety",
    )


# --- properties ------------------------------------------------------------------------------------

levels = st.sampled_from(["", "C0", "C1", "C2", "C3", "C4", "C5"])
classes = st.sampled_from(["ordinary", "professional_i", "professional_ii", "professional_iii"])
horizons = st.sampled_from(["", "short", "medium", "long"])
variety_sets = st.frozensets(st.sampled_from(VARIETIES))
expiries = st.one_of(st.none(), st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)))
pool_names = st.sampled_from(["", "margin", "chinext", "star"])
pool_maps = st.dictionaries(st.sampled_from(["margin", "chinext", "star"]), st.booleans())

profiles = st.builds(
    CustomerProfile,
    customer_no=st.just("1"),
    risk_level=levels,
    risk_expiry=expiries,
    investor_class=classes,
    invest_horizon=horizons,
    invest_varieties=variety_sets,
)
terms = st.builds(
    ProductTerms,
    product_code=st.just("P"),
    risk_level=st.sampled_from(["R1", "R2", "R3", "R4", "R5"]),
    horizon=st.sampled_from(["short", "medium", "long"]),
    variety=st.sampled_from(VARIETIES),
    required_pool=pool_names,
)
days = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))
RANK = {"match": 0, "mismatch_warn": 1, "prohibited": 2}


@settings(max_examples=300)
@given(profiles, terms, pool_maps, days)
def test_a_professional_with_the_pool_met_always_matches(c, p, pools, day):
    c = CustomerProfile(**{**c.__dict__, "investor_class": "professional_ii"})
    if p.required_pool:
        pools = {**pools, p.required_pool: True}
    assert decide(customer=c, product=p, pools=pools, day=day).result == "match"


@settings(max_examples=300)
@given(profiles, terms, pool_maps, days)
def test_more_risk_tolerance_never_worsens_the_result(c, p, pools, day):
    order = ["C1", "C2", "C3", "C4", "C5"]
    if c.risk_level not in order:
        return
    before = decide(customer=c, product=p, pools=pools, day=day)
    for higher in order[order.index(c.risk_level) + 1 :]:
        after = decide(customer=CustomerProfile(**{**c.__dict__, "risk_level": higher}), product=p, pools=pools, day=day)
        assert RANK[after.result] <= RANK[before.result]
        assert set(after.reasons) <= set(before.reasons)


@settings(max_examples=300)
@given(profiles, terms, pool_maps, days)
def test_the_result_and_its_reasons_agree(c, p, pools, day):
    d = decide(customer=c, product=p, pools=pools, day=day)
    assert list(d.reasons) == sorted(d.reasons)
    assert (d.result == "match") == (d.reasons == ())
    if d.result == "prohibited":
        assert len(d.reasons) == 1
    if d.result == "mismatch_warn":
        assert set(d.reasons) <= {"risk_level", "horizon", "variety"}


@settings(max_examples=100)
@given(st.lists(profiles, max_size=30), st.lists(terms, min_size=1, max_size=5), st.lists(pool_maps, min_size=30, max_size=30), days)
def test_the_bulk_matcher_agrees_with_decide_pair_by_pair(cs, ps, pool_list, day):
    cs = [CustomerProfile(**{**c.__dict__, "customer_no": str(i)}) for i, c in enumerate(cs)]
    pools = {str(i): pool_list[i] for i in range(len(cs))}
    matcher = Matcher(ps, day=day)
    got = [(c.customer_no, p.product_code, d) for c, p, d in matcher.pairs(cs, pools)]
    want = [(c.customer_no, p.product_code, decide(customer=c, product=p, pools=pools[c.customer_no], day=day)) for c in cs for p in ps]
    assert got == want
