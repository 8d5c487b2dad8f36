"""Actions of the KYC app: the questionnaire, risk assessments (CRM and counter, "latest wins"),
professional-investor recognitions, knowledge tests, and the CRM facts the pools read.

Rules (DOMAIN.md, "Investor classification and suitability"; numbers in ``kyc.rules``):

- The score is the sum, over the questions, of the highest score among the options chosen (a
  multi-select question scores its highest chosen option). Bands: lowest category 0, C1 1–19 …
  C5 83–100; choosing an option flagged "lowest category" puts the customer in C0 whatever the
  score. An assessment is valid through ``kyc.rules.assessment_expiry(assessed_on)``.
- **Latest wins.** A customer's effective risk level, expiry, horizon and varieties are those of
  their latest ``RiskAssessment`` by ``assessed_on``, whether it came from the CRM or the counter;
  on the same day the CRM's wins. The counter's values arrive through the data center's publish,
  which calls :func:`assessments_apply_counter`: a counter assessment is recorded (dated the day the
  counter delivered it) only when the counter's values *change*, so a later publish of unchanged
  counter data never overrides a newer CRM assessment. The investor class follows the same rule
  (``InvestorClassChange``: approved recognitions vs. the counter's ``investor_class``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from brokercrm.customers.choices import CustomerType, InvestHorizon, InvestorClass, InvestVariety, RiskLevel
from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import customer_get
from brokercrm.kyc import rules
from brokercrm.kyc.choices import (
    AssessmentSource,
    KnowledgeTestKind,
    QuestionKind,
    RecognitionKind,
    RecognitionStatus,
)
from brokercrm.kyc.models import (
    InvestorClassChange,
    KnowledgeTest,
    Option,
    ProfessionalRecognition,
    Question,
    Questionnaire,
    RecognitionDocument,
    RiskAssessment,
)
from brokercrm.kyc.signals import (
    REASON_COUNTER_CHANGE,
    REASON_CRM_ASSESSMENT,
    REASON_INVESTOR_CLASS,
    customer_profile_changed,
)
from brokercrm.org.choices import AuditAction
from brokercrm.org.policy import Capability
from brokercrm.org.services import audit_record
from brokercrm.org.selectors import user_can

SENDER = "brokercrm.kyc.services"
#: customers per query (under SQLite's bound-parameter limit)
BATCH = 900

ERR_NOT_ALLOWED = _("You may not do this.")
ERR_NO_QUESTIONNAIRE = _("There is no active risk questionnaire: head office must set one up first.")
ERR_UNANSWERED = _("Question {order} is not answered.")
ERR_ONE_ANSWER = _("Question {order} takes one answer only.")
ERR_FOREIGN_OPTION = _("Question {order}: the answer given is not one of its options.")
ERR_UNKNOWN_QUESTION = _("The answers name a question that is not in this questionnaire.")
ERR_FUTURE_DAY = _("The date cannot lie in the future.")
ERR_QUESTION_TEXT = _("Write the question.")
ERR_QUESTION_KIND = _("Choose a valid question kind.")
ERR_TWO_OPTIONS = _("Question {order} needs at least two answers.")
ERR_OPTION_TEXT = _("Question {order}: every answer needs a text.")
ERR_HORIZON_SINGLE = _("Question {order}: the investment horizon question takes one answer only.")
ERR_OPTION_CODE = _("Question {order}: answer “{text}” must map to one of: {codes}.")
ERR_OPTION_NO_CODE = _("Question {order}: only horizon and varieties answers map to a code.")
ERR_GATE_SCORE = _("Question {order}: a lowest-category gate carries no score.")
ERR_GATE_FLAG = _("Question {order}: a lowest-category gate needs at least one answer flagged lowest category.")
ERR_ONE_OF_KIND = _("The questionnaire may have only one {kind} question.")
ERR_MAX_SCORE = _("The highest possible score is {score}; the bands cover 0–{max}. Lower some answer scores.")
ERR_NO_QUESTION = _("The questionnaire has no question {order}.")
ERR_LAST_QUESTION = _("A questionnaire needs at least one question.")
ERR_AMOUNT = _("{field}: give an amount of zero or more.")
ERR_YEARS = _("{field}: give a number of years of zero or more.")
ERR_KIND_FOR_CLASS = _("This request does not apply to a customer who is {current}.")
ERR_PENDING_EXISTS = _("The customer already has a pending request; decide it first.")
ERR_NOT_PENDING = _("This request was already decided.")
ERR_OWN_REQUEST = _("You requested this yourself: another person must decide it.")
ERR_NO_SUCH_REQUEST = _("This customer has no such request.")
ERR_III_ENTITY = _("Type III applications are defined for individuals only (DOMAIN.md).")
ERR_BAR_ASSETS_OR_INCOME = _(
    "Financial assets of at least ¥{assets} or an average annual income of at least ¥{income} are required."
)
ERR_BAR_EXPERIENCE = _("At least {years} years of investment experience are required.")
ERR_BAR_EXPERIENCE_II = _(
    "At least {years} years of investment experience, {years} years of work in finance, or a professional "
    "qualification are required."
)
ERR_BAR_NET_ASSETS = _("Net assets of at least ¥{amount} are required.")
ERR_BAR_FINANCIAL_ASSETS = _("Financial assets of at least ¥{amount} are required.")
ERR_BAR_WARNING = _("The risk warning must be issued before an ordinary investor becomes professional.")
ERR_BAR_WRITTEN = _("The customer's written request is required.")
ERR_TEST_SCORE = _("The score must be between 0 and 100.")
ERR_TEST_KIND = _("Choose a valid knowledge test.")


def _require(actor: Any, capability: Capability) -> None:
    if not user_can(user=actor, capability=capability):
        raise PermissionDenied(str(ERR_NOT_ALLOWED))


def _in_scope(actor: Any, customer: Customer | str) -> Customer:
    """The customer re-read through the actor's scope (``Customer.DoesNotExist`` when outside)."""
    number = customer if isinstance(customer, str) else customer.customer_no
    return customer_get(actor=actor, customer_no=number)


def _not_future(day: date) -> date:
    if day > timezone.localdate():
        raise ValidationError(ERR_FUTURE_DAY)
    return day


def _batches(items: Sequence[Any], size: int = BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def varieties_join(codes: Iterable[str]) -> str:
    """Variety codes as stored: unique, in COUNTERS.md order, joined by ","."""
    chosen = set(codes)
    return ",".join(v for v in InvestVariety.values if v in chosen)


# --- questionnaire ----------------------------------------------------------------------------


def questionnaire_active() -> Questionnaire | None:
    """The questionnaire assessments are taken with now."""
    return Questionnaire.objects.filter(is_active=True).first()


def _questions(questionnaire: Questionnaire) -> list[Question]:
    return list(questionnaire.questions.prefetch_related("options").order_by("order"))


def questionnaire_max_score(questionnaire: Questionnaire) -> int:
    """The highest score the questionnaire can give (each question's best option)."""
    return sum(max((o.score for o in q.options.all()), default=0) for q in _questions(questionnaire))


def _check_question(*, order: int, text: str, kind: str, multi_select: bool, options: list[dict]) -> None:
    if not text.strip():
        raise ValidationError(ERR_QUESTION_TEXT)
    if kind not in QuestionKind.values:
        raise ValidationError(ERR_QUESTION_KIND)
    if len(options) < 2:
        raise ValidationError(ERR_TWO_OPTIONS.format(order=order))
    if kind == QuestionKind.HORIZON and multi_select:
        raise ValidationError(ERR_HORIZON_SINGLE.format(order=order))
    codes = {QuestionKind.HORIZON: InvestHorizon.values, QuestionKind.VARIETIES: InvestVariety.values}.get(kind)
    for option in options:
        if not option["text"].strip():
            raise ValidationError(ERR_OPTION_TEXT.format(order=order))
        if codes is not None and option.get("code", "") not in codes:
            raise ValidationError(
                ERR_OPTION_CODE.format(order=order, text=option["text"], codes=", ".join(codes))
            )
        if codes is None and option.get("code"):
            raise ValidationError(ERR_OPTION_NO_CODE.format(order=order))
        if kind == QuestionKind.LOWEST_CATEGORY and option.get("score", 0):
            raise ValidationError(ERR_GATE_SCORE.format(order=order))
    if kind == QuestionKind.LOWEST_CATEGORY and not any(o.get("lowest_category") for o in options):
        raise ValidationError(ERR_GATE_FLAG.format(order=order))


def questionnaire_check(questionnaire: Questionnaire) -> None:
    """Refuse a questionnaire that cannot be scored: two horizon (or varieties) questions, or a
    highest possible score above the bands' 100."""
    questions = _questions(questionnaire)
    for kind in (QuestionKind.HORIZON, QuestionKind.VARIETIES):
        if sum(1 for q in questions if q.kind == kind) > 1:
            raise ValidationError(ERR_ONE_OF_KIND.format(kind=QuestionKind(kind).label))
    top = questionnaire_max_score(questionnaire)
    if top > rules.KYC_MAX_SCORE:
        raise ValidationError(ERR_MAX_SCORE.format(score=top, max=rules.KYC_MAX_SCORE))


def _questionnaire_copy(source: Questionnaire, *, actor: Any) -> Questionnaire:
    latest = Questionnaire.objects.order_by("-version").values_list("version", flat=True).first() or 0
    Questionnaire.objects.filter(pk=source.pk).update(is_active=False)
    copy = Questionnaire.objects.create(version=latest + 1, title=source.title, is_active=True, created_by=actor)
    for question in _questions(source):
        new = Question.objects.create(
            questionnaire=copy,
            order=question.order,
            text=question.text,
            kind=question.kind,
            multi_select=question.multi_select,
        )
        Option.objects.bulk_create(
            [
                Option(question=new, order=o.order, text=o.text, score=o.score, code=o.code, lowest_category=o.lowest_category)
                for o in question.options.all()
            ]
        )
    return copy


def questionnaire_for_edit(*, actor: Any) -> Questionnaire:
    """The version head office edits: the active one while no assessment used it; otherwise a new
    version copied from it becomes active (the old one stays, with its assessments). Needs
    ``MANAGE_QUESTIONNAIRE``; call inside the editing transaction."""
    _require(actor, Capability.MANAGE_QUESTIONNAIRE)
    active = Questionnaire.objects.select_for_update().filter(is_active=True).first()
    if active is None:
        latest = Questionnaire.objects.order_by("-version").values_list("version", flat=True).first() or 0
        return Questionnaire.objects.create(
            version=latest + 1, title=str(_("Risk tolerance questionnaire")), is_active=True, created_by=actor
        )
    if RiskAssessment.objects.unscoped().filter(questionnaire=active).exists():
        return _questionnaire_copy(active, actor=actor)
    return active


@transaction.atomic
def question_save(
    *,
    actor: Any,
    order: int | None,
    text: str,
    kind: str,
    multi_select: bool,
    options: list[dict[str, Any]],
) -> Question:
    """Add (``order`` None: at the end) or change a question of the active questionnaire with its
    answers (``text``, ``score``, ``code``, ``lowest_category``, in display order). A version in
    use is not changed: the edit goes to a new version (:func:`questionnaire_for_edit`)."""
    questionnaire = questionnaire_for_edit(actor=actor)
    options = [o for o in options if o.get("text", "").strip() or o.get("score")]
    if order is None:
        last = questionnaire.questions.order_by("-order").values_list("order", flat=True).first() or 0
        question = Question(questionnaire=questionnaire, order=last + 1)
    else:
        question = questionnaire.questions.filter(order=order).first()
        if question is None:
            raise ValidationError(ERR_NO_QUESTION.format(order=order))
    _check_question(order=question.order, text=text, kind=kind, multi_select=multi_select, options=options)
    question.text, question.kind, question.multi_select = text.strip(), kind, bool(multi_select)
    question.save()
    question.options.all().delete()
    Option.objects.bulk_create(
        [
            Option(
                question=question,
                order=i,
                text=o["text"].strip(),
                score=int(o.get("score") or 0),
                code=o.get("code", "") or "",
                lowest_category=bool(o.get("lowest_category")),
            )
            for i, o in enumerate(options, 1)
        ]
    )
    questionnaire_check(questionnaire)
    return question


@transaction.atomic
def question_delete(*, actor: Any, order: int) -> Questionnaire:
    """Remove a question of the active questionnaire (in a new version when it is in use); the
    questions after it move up."""
    questionnaire = questionnaire_for_edit(actor=actor)
    question = questionnaire.questions.filter(order=order).first()
    if question is None:
        raise ValidationError(ERR_NO_QUESTION.format(order=order))
    if questionnaire.questions.count() == 1:
        raise ValidationError(ERR_LAST_QUESTION)
    question.delete()
    for later in questionnaire.questions.filter(order__gt=order).order_by("order"):
        later.order -= 1
        later.save(update_fields=["order"])
    return questionnaire


#: the default questionnaire, after the SAC template (证券公司投资者适当性管理 风险承受能力评估问卷):
#: (text, kind, multi_select, [(answer, score, code, lowest_category), …]); the best answers sum to 100
DEFAULT_QUESTIONNAIRE: tuple[tuple[str, str, bool, list[tuple[str, int, str, bool]]], ...] = (
    (
        "您是否具有完全民事行为能力？",
        QuestionKind.LOWEST_CATEGORY,
        False,
        [("是", 0, "", False), ("否（无民事行为能力或限制民事行为能力）", 0, "", True)],
    ),
    (
        "您的年龄是？",
        QuestionKind.SCORED,
        False,
        [("18–30 岁", 8, "", False), ("31–50 岁", 10, "", False), ("51–60 岁", 6, "", False), ("60 岁以上", 2, "", False)],
    ),
    (
        "您家庭近三年的年均收入是？",
        QuestionKind.SCORED,
        False,
        [("10 万元以下", 2, "", False), ("10–50 万元", 5, "", False), ("50–100 万元", 8, "", False), ("100 万元以上", 10, "", False)],
    ),
    (
        "您可用于投资的金融资产是？",
        QuestionKind.SCORED,
        False,
        [("50 万元以下", 2, "", False), ("50–300 万元", 5, "", False), ("300–1000 万元", 8, "", False), ("1000 万元以上", 10, "", False)],
    ),
    (
        "您有多少年投资股票、基金、外汇、金融衍生品等风险投资品的经验？",
        QuestionKind.SCORED,
        False,
        [("没有经验", 0, "", False), ("少于 2 年", 4, "", False), ("2–5 年", 7, "", False), ("5–10 年", 9, "", False), ("10 年以上", 10, "", False)],
    ),
    (
        "以下描述中哪项最符合您的金融投资知识水平？",
        QuestionKind.SCORED,
        False,
        [
            ("基本没有金融产品方面的知识", 0, "", False),
            ("有一些金融产品的基础知识", 4, "", False),
            ("能够理解金融产品的大部分风险", 7, "", False),
            ("对金融产品及其风险有全面的了解", 10, "", False),
        ],
    ),
    (
        "您曾经投资过哪些金融产品？（可多选）",
        QuestionKind.SCORED,
        True,
        [
            ("银行存款、国债、货币基金", 2, "", False),
            ("债券、债券基金", 4, "", False),
            ("股票、混合基金、股票基金", 7, "", False),
            ("期货、期权、融资融券等衍生品", 10, "", False),
        ],
    ),
    (
        "您的投资目标是？",
        QuestionKind.SCORED,
        False,
        [
            ("保本，获得稳定收益", 2, "", False),
            ("在较小风险下获得一定收益", 5, "", False),
            ("获得较高收益，可承受一定波动", 8, "", False),
            ("追求高收益，可承受较大波动", 10, "", False),
        ],
    ),
    (
        "您计划的投资期限是？",
        QuestionKind.HORIZON,
        False,
        [("1 年以内", 2, "short", False), ("1–5 年", 6, "medium", False), ("5 年以上", 10, "long", False)],
    ),
    (
        "您能承受的最大投资损失是？",
        QuestionKind.SCORED,
        False,
        [
            ("不能承受任何损失", 0, "", True),
            ("10% 以内", 4, "", False),
            ("10%–30%", 7, "", False),
            ("30% 以上", 10, "", False),
        ],
    ),
    (
        "您希望投资哪些品种？（可多选）",
        QuestionKind.VARIETIES,
        True,
        [
            ("债券、货币市场基金、债券基金等固定收益类", 2, "fixed_income", False),
            ("股票、混合型基金、偏股型基金等权益类", 6, "equity", False),
            ("期货、期权、融资融券等衍生品类", 10, "derivatives", False),
            ("结构化产品等复杂或高风险产品", 10, "complex", False),
            ("其他产品", 2, "other", False),
        ],
    ),
)


@transaction.atomic
def kyc_seed_default(*, actor: Any = None) -> Questionnaire:
    """The active questionnaire; when there is none, the default one (``DEFAULT_QUESTIONNAIRE``)
    is created as version 1 (or the next version). Used by the demo and the tests."""
    active = questionnaire_active()
    if active is not None:
        return active
    latest = Questionnaire.objects.order_by("-version").values_list("version", flat=True).first() or 0
    questionnaire = Questionnaire.objects.create(
        version=latest + 1, title="投资者风险承受能力评估问卷", is_active=True, created_by=actor
    )
    for order, (text, kind, multi, answers) in enumerate(DEFAULT_QUESTIONNAIRE, 1):
        question = Question.objects.create(
            questionnaire=questionnaire, order=order, text=text, kind=kind, multi_select=multi
        )
        Option.objects.bulk_create(
            [
                Option(question=question, order=i, text=t, score=s, code=c, lowest_category=low)
                for i, (t, s, c, low) in enumerate(answers, 1)
            ]
        )
    questionnaire_check(questionnaire)
    return questionnaire


# --- risk assessments -------------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentResult:
    """What a set of answers gives (DOMAIN.md bands, ``kyc.rules``)."""

    score: int
    risk_level: str
    invest_horizon: str
    invest_varieties: str
    #: an answer flagged "lowest category" was chosen (then ``risk_level`` is C0)
    lowest_category: bool
    #: ``{"<question id>": [<option id>, …]}``, normalised
    answers: dict[str, list[int]]


def _answer_ids(value: Any) -> list[int]:
    values = value if isinstance(value, (list, tuple, set)) else [value]
    ids = []
    for v in values:
        if v in (None, ""):
            continue
        try:
            ids.append(int(v))
        except (TypeError, ValueError):
            ids.append(-1)  # refused below as an answer that is not an option
    return ids


def assessment_compute(*, questionnaire: Questionnaire, answers: Mapping[Any, Any]) -> AssessmentResult:
    """Score ``answers`` (question id → option id or ids) against ``questionnaire``.

    Every question must be answered; each answer must be one of its question's options; a
    single-select question takes exactly one. Raises ``ValidationError`` naming the question.
    """
    questions = _questions(questionnaire)
    given = {str(k): _answer_ids(v) for k, v in answers.items()}
    known = {str(q.pk) for q in questions}
    if set(given) - known:
        raise ValidationError(ERR_UNKNOWN_QUESTION)
    score, lowest, horizon, varieties = 0, False, "", []
    normalised: dict[str, list[int]] = {}
    for q in questions:
        chosen_ids = given.get(str(q.pk), [])
        if not chosen_ids:
            raise ValidationError(ERR_UNANSWERED.format(order=q.order))
        if not q.multi_select and len(set(chosen_ids)) > 1:
            raise ValidationError(ERR_ONE_ANSWER.format(order=q.order))
        options = {o.pk: o for o in q.options.all()}
        if any(i not in options for i in chosen_ids):
            raise ValidationError(ERR_FOREIGN_OPTION.format(order=q.order))
        chosen = [options[i] for i in sorted(set(chosen_ids))]
        normalised[str(q.pk)] = [o.pk for o in chosen]
        score += max(o.score for o in chosen)  # a multi-select question scores its highest option
        lowest = lowest or any(o.lowest_category for o in chosen)
        if q.kind == QuestionKind.HORIZON:
            horizon = chosen[0].code
        elif q.kind == QuestionKind.VARIETIES:
            varieties.extend(o.code for o in chosen)
    level = RiskLevel.C0.value if lowest else rules.risk_level_for(score)
    return AssessmentResult(
        score=score,
        risk_level=level,
        invest_horizon=horizon,
        invest_varieties=varieties_join(varieties),
        lowest_category=lowest,
        answers=normalised,
    )


@transaction.atomic
def risk_assessment_submit(
    *, actor: Any, customer: Customer | str, answers: Mapping[Any, Any], assessed_on: date | None = None
) -> RiskAssessment:
    """Record the customer's answers to the active questionnaire as a CRM assessment and make it
    the customer's effective profile when it is the latest (see the module doc).

    Needs ``ASSESS_RISK`` and the customer in the actor's scope (else ``Customer.DoesNotExist``).
    The assessment is valid through ``kyc.rules.assessment_expiry(assessed_on)``.
    """
    customer = _in_scope(actor, customer)
    _require(actor, Capability.ASSESS_RISK)
    assessed_on = _not_future(assessed_on or timezone.localdate())
    questionnaire = questionnaire_active()
    if questionnaire is None:
        raise ValidationError(ERR_NO_QUESTIONNAIRE)
    result = assessment_compute(questionnaire=questionnaire, answers=answers)
    assessment = RiskAssessment.objects.create(
        customer=customer,
        source=AssessmentSource.CRM,
        questionnaire=questionnaire,
        answers=result.answers,
        score=result.score,
        risk_level=result.risk_level,
        invest_horizon=result.invest_horizon,
        invest_varieties=result.invest_varieties,
        assessed_on=assessed_on,
        expires_on=rules.assessment_expiry(assessed_on),
        actor=actor,
    )
    audit_record(
        actor=actor, action=AuditAction.RISK_ASSESS, object_type="customer", object_id=customer.customer_no,
        detail={"assessment": assessment.pk, "score": result.score, "risk_level": result.risk_level},
    )
    _effective_apply([customer.pk])
    customer.refresh_from_db()
    customer_profile_changed.send(sender=SENDER, customer=customer, actor=actor, reason=REASON_CRM_ASSESSMENT)
    return assessment


RISK_FIELDS = ("risk_level", "risk_expiry", "invest_horizon", "invest_varieties")
#: the counter's values of a customer never assessed (no record is kept for them)
NO_RISK: tuple[str, date | None, str, str] = ("", None, "", "")


def _rank(day: date, source: str, pk: float) -> tuple[date, int, float]:
    """Order of "latest wins": the later day; on the same day the CRM; then the later record."""
    return (day, 1 if source == AssessmentSource.CRM else 0, pk)


def _risk_records(customer_ids: Sequence[int]) -> dict[int, dict[str, tuple]]:
    """Per customer: the latest record overall (``"latest"``) and the latest counter record
    (``"counter"``), each as (rank, values)."""
    found: dict[int, dict[str, tuple]] = {}
    rows = RiskAssessment.objects.unscoped().filter(customer_id__in=customer_ids)
    for cid, source, day, pk, level, expiry, horizon, varieties in rows.values_list(
        "customer_id", "source", "assessed_on", "id", "risk_level", "expires_on", "invest_horizon", "invest_varieties"
    ).order_by():
        entry = (_rank(day, source, pk), (level, expiry, horizon, varieties))
        mine = found.setdefault(cid, {})
        if "latest" not in mine or entry[0] > mine["latest"][0]:
            mine["latest"] = entry
        if source == AssessmentSource.COUNTER and ("counter" not in mine or entry[0] > mine["counter"][0]):
            mine["counter"] = entry
    return found


def _class_records(customer_ids: Sequence[int]) -> dict[int, dict[str, tuple]]:
    found: dict[int, dict[str, tuple]] = {}
    rows = InvestorClassChange.objects.unscoped().filter(customer_id__in=customer_ids)
    for cid, source, day, pk, value in rows.values_list(
        "customer_id", "source", "effective_on", "id", "investor_class"
    ).order_by():
        entry = (_rank(day, source, pk), value)
        mine = found.setdefault(cid, {})
        if "latest" not in mine or entry[0] > mine["latest"][0]:
            mine["latest"] = entry
        if source == AssessmentSource.COUNTER and ("counter" not in mine or entry[0] > mine["counter"][0]):
            mine["counter"] = entry
    return found


def _write_effective(current: dict[int, dict[str, Any]], risk: dict[int, tuple], klass: dict[int, str]) -> set[int]:
    """Set the customers' effective fields where they differ; returns the ids changed."""
    changed: list[Customer] = []
    for cid, now in current.items():
        want = dict(now)
        if cid in risk:
            want.update(zip(RISK_FIELDS, risk[cid]))
        if cid in klass:
            want["investor_class"] = klass[cid]
        if want != now:
            changed.append(Customer(pk=cid, **want))
    if changed:
        Customer.objects.unscoped().bulk_update(changed, [*RISK_FIELDS, "investor_class"], batch_size=BATCH)
    return {c.pk for c in changed}


def _current(customer_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    rows = Customer.objects.unscoped().filter(pk__in=customer_ids).values("id", *RISK_FIELDS, "investor_class")
    return {r.pop("id"): r for r in rows}


def _effective_apply(customer_ids: Sequence[int]) -> set[int]:
    """Make the customers' fields those of their latest assessment and class change."""
    changed: set[int] = set()
    for batch in _batches(list(customer_ids)):
        risk = {cid: r["latest"][1] for cid, r in _risk_records(batch).items()}
        klass = {cid: r["latest"][1] for cid, r in _class_records(batch).items()}
        changed |= _write_effective(_current(batch), risk, klass)
    return changed


def customer_profiles_refresh(*, customer_ids: Sequence[int]) -> set[int]:
    """Set the customers' risk and class fields from their latest records ("latest wins"), after
    records were written in bulk (no signal is sent). Returns the ids whose fields changed."""
    return _effective_apply(list(customer_ids))


def _counter_values(row: Mapping[str, Any]) -> tuple[tuple, str]:
    risk = (
        row.get("risk_level") or "",
        row.get("risk_expiry"),
        row.get("invest_horizon") or "",
        row.get("invest_varieties") or "",
    )
    return risk, row.get("investor_class") or InvestorClass.ORDINARY


def assessments_apply_counter(rows_or_customer_nos: Iterable[Mapping[str, Any] | str], day: date) -> int:
    """Record the counter's risk and class changes and apply "latest wins" (module doc).

    Called by the data center's publish right after it wrote the counter's customer rows.
    ``rows_or_customer_nos``: the published customer rows (``customer_no``, ``risk_level``,
    ``risk_expiry``, ``invest_horizon``, ``invest_varieties``, ``investor_class`` and the
    ``trade_date`` that delivered them), or customer numbers whose fields hold the counter's values
    just published. A value different from the customer's last counter record (or, without one,
    from "never assessed" / ordinary) becomes a counter record dated the delivery day (``day``
    when a row has none). Then each customer's fields are set to their latest record — restoring
    a newer CRM assessment the publish overwrote. Bulk: a few queries per 900 customers.
    ``customer_profile_changed`` is sent for customers whose effective profile changed and who had
    a record before (a customer seen for the first time has nothing to re-match). Returns the
    number of counter records written.
    """
    items = list(rows_or_customer_nos)
    written = 0
    for batch in _batches(items):
        if batch and isinstance(batch[0], str):
            numbers = list(batch)
            values = Customer.objects.unscoped().filter(customer_no__in=numbers).values(
                "id", "customer_no", *RISK_FIELDS, "investor_class"
            )
            incoming = {v["id"]: (*_counter_values(v), day) for v in values}
        else:
            numbers = [r["customer_no"] for r in batch]
            ids = dict(Customer.objects.unscoped().filter(customer_no__in=numbers).values_list("customer_no", "id"))
            incoming = {
                ids[r["customer_no"]]: (*_counter_values(r), r.get("trade_date") or day)
                for r in batch
                if r["customer_no"] in ids
            }
        customer_ids = list(incoming)
        risk_records, class_records = _risk_records(customer_ids), _class_records(customer_ids)
        new_risk, new_class = [], []
        risk_after: dict[int, tuple] = {}
        class_after: dict[int, str] = {}
        before: dict[int, tuple] = {}
        for cid, (risk, klass, delivered) in incoming.items():
            r, c = risk_records.get(cid, {}), class_records.get(cid, {})
            if r or c:
                before[cid] = (r.get("latest", (None, None))[1], c.get("latest", (None, None))[1])
            latest_r, latest_c = r.get("latest"), c.get("latest")
            if risk != r.get("counter", (None, NO_RISK))[1]:
                level, expiry, horizon, varieties = risk
                new_risk.append(
                    RiskAssessment(
                        customer_id=cid, source=AssessmentSource.COUNTER, risk_level=level, expires_on=expiry,
                        invest_horizon=horizon, invest_varieties=varieties, assessed_on=delivered,
                    )  # fmt: skip
                )
                entry = (_rank(delivered, AssessmentSource.COUNTER, float("inf")), risk)
                latest_r = entry if latest_r is None or entry[0] > latest_r[0] else latest_r
            if klass != c.get("counter", (None, InvestorClass.ORDINARY.value))[1]:
                new_class.append(
                    InvestorClassChange(
                        customer_id=cid, source=AssessmentSource.COUNTER, investor_class=klass, effective_on=delivered
                    )
                )
                entry = (_rank(delivered, AssessmentSource.COUNTER, float("inf")), klass)
                latest_c = entry if latest_c is None or entry[0] > latest_c[0] else latest_c
            if latest_r is not None:
                risk_after[cid] = latest_r[1]
            if latest_c is not None:
                class_after[cid] = latest_c[1]
        RiskAssessment.objects.unscoped().bulk_create(new_risk)
        InvestorClassChange.objects.unscoped().bulk_create(new_class)
        written += len(new_risk) + len(new_class)
        _write_effective(_current(customer_ids), risk_after, class_after)
        moved = [
            cid
            for cid, (risk, klass) in before.items()
            if (risk_after.get(cid), class_after.get(cid)) != (risk, klass)
        ]
        if moved:
            for customer in Customer.objects.unscoped().filter(pk__in=moved).order_by("customer_no"):
                customer_profile_changed.send(
                    sender=SENDER, customer=customer, actor=None, reason=REASON_COUNTER_CHANGE
                )
    return written


# --- professional investors -------------------------------------------------------------------

#: the investor class a customer must have for each request, and the class approval gives
RECOGNITION_FROM: dict[str, tuple[str, ...]] = {
    RecognitionKind.RECOGNISE_II: (InvestorClass.ORDINARY, InvestorClass.PROFESSIONAL_III),
    RecognitionKind.CONVERT_TO_III: (InvestorClass.ORDINARY,),
    RecognitionKind.CONVERT_TO_ORDINARY: (InvestorClass.PROFESSIONAL_II,),
}
RECOGNITION_TO: dict[str, str] = {
    RecognitionKind.RECOGNISE_II: InvestorClass.PROFESSIONAL_II,
    RecognitionKind.CONVERT_TO_III: InvestorClass.PROFESSIONAL_III,
    RecognitionKind.CONVERT_TO_ORDINARY: InvestorClass.ORDINARY,
}


def _decimal(value: Any, field: str, error: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(error.format(field=field))
    if not amount.is_finite() or amount < 0:
        raise ValidationError(error.format(field=field))
    return amount


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.0f}"


def recognition_bar_failures(recognition: ProfessionalRecognition, *, customer_type: str | None = None) -> list[str]:
    """Why the evidence does not meet the bar of the request (DOMAIN.md; ``kyc.rules``); empty
    when it does. Amounts compare exactly (≥)."""
    bars = rules.professional_bars()
    kind = recognition.kind
    entity = (customer_type or recognition.customer.customer_type) != CustomerType.INDIVIDUAL
    zero = Decimal(0)
    assets = recognition.financial_assets if recognition.financial_assets is not None else zero
    income = recognition.annual_income if recognition.annual_income is not None else zero
    years = recognition.experience_years if recognition.experience_years is not None else zero
    work = recognition.finance_work_years if recognition.finance_work_years is not None else zero
    failures: list[str] = []
    if kind == RecognitionKind.CONVERT_TO_ORDINARY:
        if not recognition.written_request:
            failures.append(str(ERR_BAR_WRITTEN))
        return failures
    if kind == RecognitionKind.RECOGNISE_II and entity:
        bar = bars["entity_ii"]
        net = recognition.net_assets if recognition.net_assets is not None else zero
        if net < bar["net_assets"]:
            failures.append(str(ERR_BAR_NET_ASSETS.format(amount=_yuan(bar["net_assets"]))))
        if assets < bar["financial_assets"]:
            failures.append(str(ERR_BAR_FINANCIAL_ASSETS.format(amount=_yuan(bar["financial_assets"]))))
        if years < bar["years"]:
            failures.append(str(ERR_BAR_EXPERIENCE.format(years=bar["years"])))
        return failures
    if kind == RecognitionKind.CONVERT_TO_III and entity:
        return [str(ERR_III_ENTITY)]
    bar = bars["person_ii" if kind == RecognitionKind.RECOGNISE_II else "person_iii"]
    if assets < bar["financial_assets"] and income < bar["income"]:
        failures.append(
            str(ERR_BAR_ASSETS_OR_INCOME.format(assets=_yuan(bar["financial_assets"]), income=_yuan(bar["income"])))
        )
    if kind == RecognitionKind.RECOGNISE_II:
        qualified = bool(recognition.qualifications.strip())
        if years < bar["years"] and work < bar["years"] and not qualified:
            failures.append(str(ERR_BAR_EXPERIENCE_II.format(years=bar["years"])))
    else:
        if years < bar["years"]:
            failures.append(str(ERR_BAR_EXPERIENCE.format(years=bar["years"])))
        if not recognition.risk_warning_issued:
            failures.append(str(ERR_BAR_WARNING))
    return failures


@transaction.atomic
def recognition_request(
    *,
    actor: Any,
    customer: Customer | str,
    kind: str,
    financial_assets: Any = None,
    net_assets: Any = None,
    annual_income: Any = None,
    experience_years: Any = None,
    finance_work_years: Any = None,
    qualifications: str = "",
    risk_warning_issued: bool = False,
    written_request: bool = False,
    note: str = "",
    documents: Iterable[Any] = (),
) -> ProfessionalRecognition:
    """An account manager asks for a recognition or conversion, with the evidence (amounts in
    yuan as Decimal, uploaded documents). Needs ``ASSESS_RISK`` and the customer in scope; the
    request must fit the customer's current class; one pending request per customer."""
    customer = _in_scope(actor, customer)
    _require(actor, Capability.ASSESS_RISK)
    if kind not in RecognitionKind.values:
        raise ValidationError(ERR_QUESTION_KIND)
    Customer.objects.unscoped().select_for_update().filter(pk=customer.pk).first()
    if customer.investor_class not in RECOGNITION_FROM[kind]:
        raise ValidationError(ERR_KIND_FOR_CLASS.format(current=customer.get_investor_class_display()))
    if ProfessionalRecognition.objects.unscoped().filter(customer=customer, status=RecognitionStatus.PENDING).exists():
        raise ValidationError(ERR_PENDING_EXISTS)
    recognition = ProfessionalRecognition.objects.create(
        customer=customer,
        kind=kind,
        financial_assets=_decimal(financial_assets, str(_("financial assets")), ERR_AMOUNT),
        net_assets=_decimal(net_assets, str(_("net assets")), ERR_AMOUNT),
        annual_income=_decimal(annual_income, str(_("average annual income (3 years)")), ERR_AMOUNT),
        experience_years=_decimal(experience_years, str(_("years of investment experience")), ERR_YEARS),
        finance_work_years=_decimal(finance_work_years, str(_("years of work in finance")), ERR_YEARS),
        qualifications=qualifications.strip()[:1000],
        risk_warning_issued=bool(risk_warning_issued),
        written_request=bool(written_request),
        note=note.strip()[:500],
        requested_by=actor,
    )
    for upload in documents:
        RecognitionDocument.objects.create(
            recognition=recognition, file=upload, name=str(getattr(upload, "name", "document"))[:200], uploaded_by=actor
        )
    audit_record(
        actor=actor, action=AuditAction.RECOGNITION_REQUEST, object_type="customer", object_id=customer.customer_no,
        detail={"recognition": recognition.pk, "kind": kind},
    )
    return recognition


def _class_change(*, customer: Customer, investor_class: str, effective_on: date, recognition=None) -> None:
    InvestorClassChange.objects.create(
        customer=customer,
        source=AssessmentSource.CRM,
        investor_class=investor_class,
        effective_on=effective_on,
        recognition=recognition,
    )
    _effective_apply([customer.pk])


@transaction.atomic
def recognition_decide(
    *,
    actor: Any,
    customer: Customer | str,
    recognition_id: int,
    approve: bool,
    note: str = "",
    effective_on: date | None = None,
) -> ProfessionalRecognition:
    """Approve or reject a pending request. Needs ``RECOGNISE_PROFESSIONAL``, the customer in
    scope, and someone other than the requester. Approval is refused with the unmet bars listed
    when the evidence does not meet them; it sets the investor class from ``effective_on``
    (default today) under the "latest wins" rule and sends ``customer_profile_changed``."""
    customer = _in_scope(actor, customer)
    _require(actor, Capability.RECOGNISE_PROFESSIONAL)
    recognition = (
        ProfessionalRecognition.objects.unscoped().select_for_update().filter(pk=recognition_id, customer=customer).first()
    )
    if recognition is None:
        raise ValidationError(ERR_NO_SUCH_REQUEST)
    if recognition.status != RecognitionStatus.PENDING:
        raise ValidationError(ERR_NOT_PENDING)
    if recognition.requested_by_id == getattr(actor, "pk", None):
        raise ValidationError(ERR_OWN_REQUEST)
    effective_on = _not_future(effective_on or timezone.localdate())
    if approve:
        customer.refresh_from_db()
        if customer.investor_class not in RECOGNITION_FROM[recognition.kind]:
            raise ValidationError(ERR_KIND_FOR_CLASS.format(current=customer.get_investor_class_display()))
        failures = recognition_bar_failures(recognition, customer_type=customer.customer_type)
        if failures:
            raise ValidationError(failures)
    recognition.status = RecognitionStatus.APPROVED if approve else RecognitionStatus.REJECTED
    recognition.decided_by, recognition.decided_at = actor, timezone.now()
    recognition.decision_note = note.strip()[:500]
    recognition.effective_on = effective_on if approve else None
    recognition.save()
    audit_record(
        actor=actor, action=AuditAction.RECOGNITION_DECIDE, object_type="customer", object_id=customer.customer_no,
        detail={"recognition": recognition.pk, "kind": recognition.kind, "approved": approve},
    )
    if approve:
        _class_change(
            customer=customer, investor_class=RECOGNITION_TO[recognition.kind], effective_on=effective_on,
            recognition=recognition,
        )  # fmt: skip
        customer.refresh_from_db()
        customer_profile_changed.send(sender=SENDER, customer=customer, actor=actor, reason=REASON_INVESTOR_CLASS)
    return recognition


# --- knowledge tests --------------------------------------------------------------------------


@transaction.atomic
def knowledge_test_record(
    *, actor: Any, customer: Customer | str, score: int, test: str = KnowledgeTestKind.OPTIONS, taken_on: date | None = None
) -> KnowledgeTest:
    """Record a knowledge test the customer took; it passes at ``kyc.rules.knowledge_pass_mark()``
    (default 80). Needs ``ASSESS_RISK`` and the customer in scope."""
    customer = _in_scope(actor, customer)
    _require(actor, Capability.ASSESS_RISK)
    if test not in KnowledgeTestKind.values:
        raise ValidationError(ERR_TEST_KIND)
    try:
        score = int(score)
    except (TypeError, ValueError):
        raise ValidationError(ERR_TEST_SCORE)
    if not 0 <= score <= 100:
        raise ValidationError(ERR_TEST_SCORE)
    mark = rules.knowledge_pass_mark()
    recorded = KnowledgeTest.objects.create(
        customer=customer,
        test=test,
        score=score,
        pass_mark=mark,
        passed=score >= mark,
        taken_on=_not_future(taken_on or timezone.localdate()),
        actor=actor,
    )
    audit_record(
        actor=actor, action=AuditAction.KNOWLEDGE_TEST, object_type="customer", object_id=customer.customer_no,
        detail={"test": test, "score": score, "passed": recorded.passed},
    )
    return recorded


# --- CRM facts for the pipeline ---------------------------------------------------------------

#: rows per Parquet row group / database chunk
EXPORT_CHUNK = 20_000


def _write_parquet(path: Path, schema: pa.Schema, rows: Iterator[tuple]) -> int:
    """Stream ``rows`` into ``path`` atomically: a temporary sibling, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    count = 0
    try:
        with pq.ParquetWriter(temp, schema) as writer:
            chunk: list[tuple] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) == EXPORT_CHUNK:
                    writer.write_table(pa.Table.from_pylist([dict(zip(schema.names, r)) for r in chunk], schema=schema))
                    count += len(chunk)
                    chunk = []
            # always one row group, also when empty, so that readers get the schema
            writer.write_table(pa.Table.from_pylist([dict(zip(schema.names, r)) for r in chunk], schema=schema))
            count += len(chunk)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return count


def crm_facts_export(*, data_dir: Path) -> None:
    """Write the CRM facts the qualified pools read (``datacenter.schema.CRM_FACT_FILES``) under
    ``<data_dir>/warehouse/crm/``: CRM-sourced risk assessments, investor-class changes from
    approved recognitions, passed knowledge tests; ordered by customer number, then date. Each
    file is replaced atomically; rows are streamed from the database in chunks."""
    from brokercrm.datacenter import schema, warehouse

    folder = warehouse.crm_facts_path(Path(data_dir))
    assessments = (
        RiskAssessment.objects.unscoped()
        .filter(source=AssessmentSource.CRM, expires_on__isnull=False)
        .exclude(risk_level="")
        .order_by("customer__customer_no", "assessed_on", "id")
        .values_list(
            "customer__customer_no", "assessed_on", "risk_level", "expires_on", "invest_horizon", "invest_varieties"
        )
    )
    _write_parquet(
        folder / "assessments.parquet",
        schema.CRM_ASSESSMENTS_SCHEMA,
        ((n, d, lvl, exp, h or None, v or None) for n, d, lvl, exp, h, v in assessments.iterator(chunk_size=EXPORT_CHUNK)),
    )
    classes = (
        InvestorClassChange.objects.unscoped()
        .filter(source=AssessmentSource.CRM)
        .order_by("customer__customer_no", "effective_on", "id")
        .values_list("customer__customer_no", "effective_on", "investor_class")
    )
    _write_parquet(
        folder / "investor_classes.parquet", schema.CRM_INVESTOR_CLASSES_SCHEMA, classes.iterator(chunk_size=EXPORT_CHUNK)
    )
    tests = (
        KnowledgeTest.objects.unscoped()
        .filter(passed=True)
        .order_by("customer__customer_no", "taken_on", "test", "id")
        .values_list("customer__customer_no", "test", "taken_on")
    )
    _write_parquet(
        folder / "knowledge_tests.parquet", schema.CRM_KNOWLEDGE_TESTS_SCHEMA, tests.iterator(chunk_size=EXPORT_CHUNK)
    )
