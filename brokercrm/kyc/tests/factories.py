"""Helpers of the KYC tests: answers chosen by question and answer number, small questionnaires."""

from __future__ import annotations

from brokercrm.kyc.choices import QuestionKind
from brokercrm.kyc.models import Option, Question, Questionnaire

#: the default questionnaire answered by a typical balanced customer; hand-worked score:
#: 0 + 10 + 5 + 5 + 7 + 7 + max(4, 7) + 8 + 6 + 7 + max(2, 6) = 68 → C4, horizon medium
TYPICAL = {1: [1], 2: [2], 3: [2], 4: [2], 5: [3], 6: [3], 7: [2, 3], 8: [3], 9: [2], 10: [3], 11: [1, 2]}


def answers(questionnaire: Questionnaire, chosen: dict[int, list[int]]) -> dict[str, list[int]]:
    """``{question order: [answer orders]}`` → ``{question id: [option ids]}``."""
    result = {}
    for q in questionnaire.questions.prefetch_related("options"):
        if q.order in chosen:
            by_order = {o.order: o.pk for o in q.options.all()}
            result[str(q.pk)] = [by_order[i] for i in chosen[q.order]]
    return result


def typical(questionnaire: Questionnaire, **changes: list[int]) -> dict[str, list[int]]:
    chosen = dict(TYPICAL)
    for key, value in changes.items():
        chosen[int(key.lstrip("q"))] = value
    return answers(questionnaire, chosen)


def one_question(scores: list[int], *, multi: bool = False, version: int = 99) -> Questionnaire:
    """A questionnaire of one scored question whose answers score ``scores`` (not active)."""
    q = Questionnaire.objects.create(version=version, title="test", is_active=False)
    question = Question.objects.create(questionnaire=q, order=1, text="?", kind=QuestionKind.SCORED, multi_select=multi)
    Option.objects.bulk_create(
        [Option(question=question, order=i, text=f"answer {i}", score=s) for i, s in enumerate(scores, 1)]
    )
    return q
