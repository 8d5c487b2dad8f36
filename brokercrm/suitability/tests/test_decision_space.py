"""The whole suitability decision space, checked against DOMAIN.md's tables written out literally.

Every combination of the inputs the decision reads — risk level (none, lowest category, C1–C5),
assessment validity (none, expired the day before, last valid day, later), investor class,
horizon, chosen varieties, product risk, horizon, variety, required pool and whether it is met —
is decided by ``engine.decide`` and by an oracle built differently: the matching tables of
DOMAIN.md ("Matching": C→R, horizons) as literal sets, every failed condition collected first
and the result then read off by precedence. The bulk ``Matcher`` must agree pair by pair.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta

from brokercrm.suitability.engine import CustomerProfile, Matcher, ProductTerms, decide

D = date(2026, 4, 22)

#: DOMAIN.md "Matching": risk C1→R1; C2→R1–R2; C3→R1–R3; C4→R1–R4; C5→R1–R5; lowest → R1 only
ALLOWED_RISK = {
    "C0": {"R1"},
    "C1": {"R1"},
    "C2": {"R1", "R2"},
    "C3": {"R1", "R2", "R3"},
    "C4": {"R1", "R2", "R3", "R4"},
    "C5": {"R1", "R2", "R3", "R4", "R5"},
}
#: product horizon must not exceed the customer's (0–1 / 1–5 / 5+ years)
ALLOWED_HORIZON = {
    "short": {"short"},
    "medium": {"short", "medium"},
    "long": {"short", "medium", "long"},
}

RISK_LEVELS = ("", "C0", "C1", "C2", "C3", "C4", "C5")
EXPIRIES = (None, D - timedelta(days=1), D, D + timedelta(days=400))
CLASSES = ("ordinary", "professional_i", "professional_ii", "professional_iii")
HORIZONS = ("", "short", "medium", "long")
VARIETY_CHOICES = ((), ("equity",), ("fixed_income", "complex"))
PRODUCT_RISKS = ("R1", "R2", "R3", "R4", "R5")
PRODUCT_HORIZONS = ("short", "medium", "long")
PRODUCT_VARIETIES = ("equity", "fixed_income", "derivatives")
POOLS = (("", False), ("star", False), ("star", True))


def oracle(risk, expiry, klass, horizon, varieties, p_risk, p_horizon, p_variety, pool, met):
    failed: set[str] = set()
    if pool and not met:
        failed.add(f"pool:{pool}")
    valid = risk != "" and expiry is not None and expiry >= D
    if not valid:
        failed.add("no_valid_assessment")
    if risk == "C0" and p_risk != "R1":
        failed.add("lowest_category")
    if risk and p_risk not in ALLOWED_RISK[risk]:
        failed.add("risk_level")
    if p_horizon not in ALLOWED_HORIZON.get(horizon, set()):
        failed.add("horizon")
    if p_variety not in varieties:
        failed.add("variety")
    # precedence: an entry rule alone; professionals match; then the prohibitions; then warnings
    pool_reasons = {r for r in failed if r.startswith("pool:")}
    if pool_reasons:
        return "prohibited", tuple(sorted(pool_reasons))
    if klass.startswith("professional"):
        return "match", ()
    for hard in ("no_valid_assessment", "lowest_category"):
        if hard in failed:
            return "prohibited", (hard,)
    soft = tuple(sorted(failed & {"risk_level", "horizon", "variety"}))
    return ("mismatch_warn", soft) if soft else ("match", ())


def _space():
    customers = itertools.product(RISK_LEVELS, EXPIRIES, CLASSES, HORIZONS, VARIETY_CHOICES)
    products = list(itertools.product(PRODUCT_RISKS, PRODUCT_HORIZONS, PRODUCT_VARIETIES, POOLS))
    for n, (risk, expiry, klass, horizon, varieties) in enumerate(customers):
        profile = CustomerProfile.from_values(
            customer_no=str(n),
            risk_level=risk,
            risk_expiry=expiry,
            investor_class=klass,
            invest_horizon=horizon,
            invest_varieties=varieties,
        )
        yield (risk, expiry, klass, horizon, varieties), profile, products


def test_every_combination_decides_as_the_domain_tables_say():
    outcomes: Counter[str] = Counter()
    wrong = []
    for inputs, profile, products in _space():
        for p_risk, p_horizon, p_variety, (pool, met) in products:
            terms = ProductTerms("P", p_risk, p_horizon, p_variety, pool)
            got = decide(customer=profile, product=terms, pools={pool: met} if pool else {}, day=D)
            expected = oracle(*inputs, p_risk, p_horizon, p_variety, pool, met)
            outcomes[got.result] += 1
            if (got.result, got.reasons) != expected and len(wrong) < 10:
                wrong.append((inputs, (p_risk, p_horizon, p_variety, pool, met), (got.result, got.reasons), expected))
    assert not wrong, wrong
    # the space really exercises every outcome, not one corner of it
    assert sum(outcomes.values()) == 7 * 4 * 4 * 4 * 3 * 5 * 3 * 3 * 3
    assert all(outcomes[r] > 1000 for r in ("match", "mismatch_warn", "prohibited")), outcomes


def test_every_reason_combination_of_a_warning_occurs():
    seen = set()
    for inputs, profile, products in _space():
        for p_risk, p_horizon, p_variety, (pool, met) in products:
            expected = oracle(*inputs, p_risk, p_horizon, p_variety, pool, met)
            if expected[0] == "mismatch_warn":
                seen.add(expected[1])
    # risk_level, horizon, variety and every non-empty combination of them (7 in all)
    assert len(seen) == 7, sorted(seen)


def test_the_bulk_matcher_agrees_over_the_whole_space():
    all_products = [
        ProductTerms(f"P{i}", r, h, v, pool)
        for i, (r, h, v, (pool, _)) in enumerate(
            itertools.product(PRODUCT_RISKS, PRODUCT_HORIZONS, PRODUCT_VARIETIES, POOLS[:2])
        )
    ]
    matcher = Matcher(all_products, day=D)
    for inputs, profile, _ in _space():
        for met in (False, True):
            pools = {"star": met}
            bulk = matcher.decisions(profile, pools)
            single = tuple(decide(customer=profile, product=p, pools=pools, day=D) for p in all_products)
            assert bulk == single, inputs
