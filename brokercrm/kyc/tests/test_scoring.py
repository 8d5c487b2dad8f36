"""Scoring and bands (DOMAIN.md: lowest 0, C1 1–19, C2 20–36, C3 37–53, C4 54–82, C5 83–100;
a multi-select question scores its highest chosen option; 24 months' validity)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from brokercrm.kyc import rules
from brokercrm.kyc.services import assessment_compute, questionnaire_max_score
from brokercrm.kyc.tests.factories import answers, one_question, typical


@pytest.mark.parametrize(
    "score, level",
    [(0, "C0"), (1, "C1"), (19, "C1"), (20, "C2"), (36, "C2"), (37, "C3"), (53, "C3"), (54, "C4"), (82, "C4"), (83, "C5"), (100, "C5")],
)
def test_band_boundaries(db, score, level):
    q = one_question([score, 50])
    result = assessment_compute(questionnaire=q, answers=answers(q, {1: [1]}))
    assert (result.score, result.risk_level) == (score, level)


def test_a_multi_select_question_scores_its_highest_chosen_answer(db):
    q = one_question([5, 30, 12], multi=True)
    result = assessment_compute(questionnaire=q, answers=answers(q, {1: [1, 2, 3]}))
    assert result.score == 30 and result.risk_level == "C2"  # not 47 (the sum) → C3


def test_the_default_questionnaire_scores_a_typical_customer_by_hand(questionnaire):
    assert questionnaire_max_score(questionnaire) == 100
    result = assessment_compute(questionnaire=questionnaire, answers=typical(questionnaire))
    assert result.score == 68 and result.risk_level == "C4"
    assert result.invest_horizon == "medium"
    assert result.invest_varieties == "fixed_income,equity"
    assert not result.lowest_category


def test_varieties_are_stored_in_the_counters_order_whatever_the_order_chosen(questionnaire):
    # derivatives (3) then fixed income (1): stored as COUNTERS.md orders them
    result = assessment_compute(questionnaire=questionnaire, answers=typical(questionnaire, q11=[3, 1]))
    assert result.invest_varieties == "fixed_income,derivatives"


def test_an_answer_flagged_lowest_category_gives_c0_whatever_the_score(questionnaire):
    # "cannot accept any loss" (question 10, answer 1) with otherwise a C4 profile: 68 - 7 = 61
    result = assessment_compute(questionnaire=questionnaire, answers=typical(questionnaire, q10=[1]))
    assert result.score == 61 and result.lowest_category and result.risk_level == "C0"
    # "no civil capacity" (the gate, answer 2)
    gate = assessment_compute(questionnaire=questionnaire, answers=typical(questionnaire, q1=[2]))
    assert gate.risk_level == "C0" and gate.score == 68


def test_every_question_must_be_answered(questionnaire):
    given = typical(questionnaire)
    question_id = next(iter(given))
    del given[question_id]
    with pytest.raises(ValidationError, match="Question 1 is not answered"):
        assessment_compute(questionnaire=questionnaire, answers=given)


def test_a_single_select_question_takes_one_answer(questionnaire):
    with pytest.raises(ValidationError, match="Question 2 takes one answer only"):
        assessment_compute(questionnaire=questionnaire, answers=typical(questionnaire, q2=[1, 2]))


def test_an_answer_of_another_question_is_refused(questionnaire):
    given = typical(questionnaire)
    ids = list(given)
    given[ids[1]] = given[ids[2]]  # question 2 answered with an option of question 3
    with pytest.raises(ValidationError, match="Question 2: the answer given is not one of its options"):
        assessment_compute(questionnaire=questionnaire, answers=given)


def test_an_unknown_question_is_refused(questionnaire):
    given = typical(questionnaire) | {"999999": [1]}
    with pytest.raises(ValidationError, match="not in this questionnaire"):
        assessment_compute(questionnaire=questionnaire, answers=given)


@pytest.mark.parametrize(
    "assessed, expiry",
    [
        (date(2024, 3, 15), date(2026, 3, 14)),
        (date(2024, 2, 29), date(2026, 2, 27)),  # no 29 February in 2026: the 28th is the anniversary
        (date(2024, 1, 1), date(2025, 12, 31)),
    ],
)
def test_expiry_is_the_last_valid_day_24_months_on(assessed, expiry):
    assert rules.assessment_expiry(assessed) == expiry
    assert rules.assessment_valid(expiry, expiry)
    assert not rules.assessment_valid(expiry, date.fromordinal(expiry.toordinal() + 1))


def test_the_validity_is_configurable(settings):
    settings.KYC_VALIDITY_MONTHS = 12
    assert rules.assessment_expiry(date(2024, 3, 15)) == date(2025, 3, 14)


def test_an_expired_assessment_counts_as_none():
    from brokercrm.customers.models import Customer
    from brokercrm.kyc.selectors import risk_profile

    today = date(2026, 3, 15)
    on_last_day = risk_profile(Customer(risk_level="C3", risk_expiry=today), today=today)
    assert on_last_day.valid and on_last_day.expiring and not on_last_day.expired
    day_after = risk_profile(Customer(risk_level="C3", risk_expiry=date(2026, 3, 14)), today=today)
    assert not day_after.valid and day_after.expired
    never = risk_profile(Customer(risk_level="", risk_expiry=None), today=today)
    assert not never.valid and not never.expired
