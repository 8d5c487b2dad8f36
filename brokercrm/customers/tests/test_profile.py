"""The customer 360 page: investor profile with translated labels, the AML review date, the
placeholders of segmentation and the section navigation."""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from brokercrm.customers.choices import InvestHorizon, InvestVariety
from brokercrm.customers.models import Customer
from brokercrm.customers.rules import add_months, aml_next_review


@pytest.mark.parametrize(
    ("level", "reviewed", "opened", "expected"),
    [
        ("high", date(2025, 8, 31), date(2020, 1, 1), date(2026, 2, 28)),  # 6 months, end of month kept
        ("medium", None, date(2024, 2, 29), date(2025, 2, 28)),  # never reviewed: from the open date
        ("low", date(2024, 5, 10), None, date(2026, 5, 10)),
        ("", date(2024, 5, 10), None, None),  # no AML level: no review date
        ("high", None, None, None),  # nothing to count from
    ],
)
def test_aml_next_review(level, reviewed, opened, expected):
    assert aml_next_review(aml_level=level, reviewed_on=reviewed, open_date=opened) == expected


def test_the_aml_cycle_is_configurable(settings):
    settings.AML_REVIEW_MONTHS = {"high": 3}
    assert aml_next_review(aml_level="high", reviewed_on=date(2025, 11, 30), open_date=None) == date(2026, 2, 28)
    assert aml_next_review(aml_level="medium", reviewed_on=date(2025, 1, 1), open_date=None) == date(2026, 1, 1)


def test_add_months_crosses_years():
    assert add_months(date(2025, 12, 15), 2) == date(2026, 2, 15)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def test_the_investor_profile_shows_labels_and_a_due_review(world):
    number = world.customers["a1"].customer_no
    today = timezone.localdate()
    Customer.objects.unscoped().filter(customer_no=number).update(
        risk_level="C4", risk_expiry=date(2020, 1, 1), investor_class="ordinary", invest_horizon="medium",
        invest_varieties="fixed_income,equity", aml_level="high", aml_reviewed_on=add_months(today, -7),
    )  # fmt: skip
    body = world.client("am_a1").get(reverse("customers:detail", args=[number])).content.decode()
    profile = body.split('data-testid="investor-profile"')[1].split("</section>")[0]
    assert str(InvestHorizon.MEDIUM.label) in profile
    varieties = profile.split('data-testid="varieties"')[1].split("</dd>")[0]
    assert str(InvestVariety.FIXED_INCOME.label) in varieties and str(InvestVariety.EQUITY.label) in varieties
    assert "fixed_income" not in profile
    review = profile.split('data-testid="aml-next-review"')[1].split("</dd>")[0]
    assert add_months(today, -1).isoformat() in review and 'class="error"' in review  # overdue by a month
    assert "2020-01-01" in profile and 'class="error"' in profile.split("2020-01-01")[0][-200:]  # expired assessment


def test_segmentation_placeholders_and_section_navigation(world):
    body = world.client("bm_a").get(reverse("customers:detail", args=[world.customers["a1"].customer_no])).content.decode()
    assert 'data-testid="tier">—<' in body and 'data-testid="tags">—<' in body
    nav = body.split('data-testid="sections"')[1].split("</nav>")[0]
    for anchor in ("profile", "investor", "assignment", "relationships", "interactions", "indicators", "holdings", "flows"):
        assert f'href="#{anchor}"' in nav and f'id="{anchor}"' in body, anchor
