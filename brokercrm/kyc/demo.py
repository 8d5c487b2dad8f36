"""Demo KYC data: the default questionnaire, a few hundred CRM risk assessments (some expiring
soon or expired, so the lists have rows), professional-investor requests in every state, and
options knowledge tests. Deterministic for a seed; bulk writes; skipped when already present."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from brokercrm.customers.models import Customer
from brokercrm.customers.rules import add_months
from brokercrm.kyc import rules
from brokercrm.kyc.choices import AssessmentSource, RecognitionKind, RecognitionStatus
from brokercrm.kyc.models import InvestorClassChange, KnowledgeTest, ProfessionalRecognition, RiskAssessment
from brokercrm.kyc.selectors import questionnaire_with_questions
from brokercrm.kyc.services import assessment_compute, customer_profiles_refresh, kyc_seed_default
from brokercrm.org.choices import Role
from brokercrm.org.models import Employee


def _answers(rng: random.Random, questions) -> dict[str, list[int]]:
    chosen = {}
    for q in questions:
        options = list(q.options.all())
        if q.kind == "lowest_category":
            picked = [options[0] if rng.random() > 0.02 else options[-1]]
        elif q.multi_select:
            picked = rng.sample(options, rng.randint(1, min(3, len(options))))
        else:
            # most customers answer the middle of the scale
            picked = [options[min(len(options) - 1, max(0, int(rng.triangular(0, len(options), len(options) / 2))))]]
        chosen[str(q.pk)] = [o.pk for o in picked]
    return chosen


@transaction.atomic
def kyc_demo_load(*, seed: int = 2026, assessments: int = 400, as_of: date | None = None) -> dict[str, int]:
    """Seed the demo's KYC data for customers that have an account manager (``as_of``: the last
    trading day, so the facts count in the qualified pools of the simulated days)."""
    questionnaire = kyc_seed_default()
    if RiskAssessment.objects.unscoped().filter(source=AssessmentSource.CRM).exists():
        return {}
    rng = random.Random(seed)
    today = timezone.localdate()
    if as_of is None:
        from brokercrm.datacenter.models import PublishRun

        last = PublishRun.objects.filter(finished_at__isnull=False, latest_day__isnull=False).order_by("-latest_day").first()
        as_of = last.latest_day if last else today
    as_of = min(as_of, today)
    customers = list(
        Customer.objects.unscoped()
        .filter(account_manager__isnull=False, customer_type="individual", status="normal")
        .select_related("account_manager__user", "branch")
        .order_by("customer_no")[: assessments * 3]
    )
    if not customers:
        return {}
    rng.shuffle(customers)
    picked = sorted(customers[:assessments], key=lambda c: c.customer_no)
    questions = questionnaire_with_questions(questionnaire)
    rows = []
    for i, customer in enumerate(picked):
        if i % 10 == 0:  # taken almost 24 months ago: expires within the next weeks (the lists)
            day = add_months(today, -rules.validity_months()) + timedelta(days=rng.randint(1, 40))
        elif i % 25 == 1:  # long expired
            day = add_months(today, -rules.validity_months()) - timedelta(days=rng.randint(1, 200))
        else:
            day = as_of - timedelta(days=rng.randint(0, 30))
        result = assessment_compute(questionnaire=questionnaire, answers=_answers(rng, questions))
        rows.append(
            RiskAssessment(
                customer=customer, source=AssessmentSource.CRM, questionnaire=questionnaire, answers=result.answers,
                score=result.score, risk_level=result.risk_level, invest_horizon=result.invest_horizon,
                invest_varieties=result.invest_varieties, assessed_on=day, expires_on=rules.assessment_expiry(day),
                actor=customer.account_manager.user,
            )  # fmt: skip
        )
    RiskAssessment.objects.unscoped().bulk_create(rows, batch_size=1000)

    deciders = {
        e.node.path: e.user
        for e in Employee.objects.filter(role=Role.BRANCH_MANAGER, is_active=True).select_related("node", "user")
    }
    now = timezone.now()
    recognitions, changes = [], []
    for i, customer in enumerate(picked[:40]):
        kind = RecognitionKind.RECOGNISE_II if i % 2 else RecognitionKind.CONVERT_TO_III
        status = (RecognitionStatus.APPROVED, RecognitionStatus.PENDING, RecognitionStatus.REJECTED)[i % 3]
        decider = deciders.get(customer.branch.path)
        if decider is None:
            status = RecognitionStatus.PENDING
        assets = Decimal(rng.choice([3_200_000, 5_600_000, 8_000_000, 1_500_000]))
        meets = assets >= (5_000_000 if kind == RecognitionKind.RECOGNISE_II else 3_000_000)
        if status == RecognitionStatus.APPROVED and not meets:
            status = RecognitionStatus.REJECTED
        effective = as_of - timedelta(days=rng.randint(0, 20))
        recognitions.append(
            ProfessionalRecognition(
                customer=customer, kind=kind, status=status, financial_assets=assets,
                annual_income=Decimal(rng.choice([260_000, 420_000, 680_000])), experience_years=Decimal(rng.randint(1, 9)),
                risk_warning_issued=kind == RecognitionKind.CONVERT_TO_III, requested_by=customer.account_manager.user,
                requested_at=now, decided_by=decider if status != RecognitionStatus.PENDING else None,
                decided_at=now if status != RecognitionStatus.PENDING else None,
                decision_note="" if meets else "金融资产证明未达标准",
                effective_on=effective if status == RecognitionStatus.APPROVED else None,
            )  # fmt: skip
        )
    ProfessionalRecognition.objects.unscoped().bulk_create(recognitions)
    for r in recognitions:
        if r.status == RecognitionStatus.APPROVED:
            target = "professional_ii" if r.kind == RecognitionKind.RECOGNISE_II else "professional_iii"
            changes.append(
                InvestorClassChange(
                    customer=r.customer, source=AssessmentSource.CRM, investor_class=target,
                    effective_on=r.effective_on, recognition=r,
                )  # fmt: skip
            )
    InvestorClassChange.objects.unscoped().bulk_create(changes)

    mark = rules.knowledge_pass_mark()
    tests = []
    for customer in picked[::3]:
        score = rng.randint(55, 100)
        tests.append(
            KnowledgeTest(
                customer=customer, test="options", score=score, pass_mark=mark, passed=score >= mark,
                taken_on=as_of - timedelta(days=rng.randint(0, 60)), actor=customer.account_manager.user,
            )  # fmt: skip
        )
    KnowledgeTest.objects.unscoped().bulk_create(tests)
    customer_profiles_refresh(customer_ids=[c.pk for c in picked])
    return {"assessments": len(rows), "recognitions": len(recognitions), "knowledge_tests": len(tests)}
