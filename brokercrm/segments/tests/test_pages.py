"""Segmentation in the CRM: publishing, the customer page panel, "who moved this month", the tier
policy, the API, and the data scope everywhere (customers of build_world)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils.html import escape

from brokercrm.org.models import AuditEvent
from brokercrm.segments import pipeline as sp
from brokercrm.segments.choices import ABCD_STRATEGIES, TIER_SERVICES, AbcdClass, Tier, TierChangeReason, TierService
from brokercrm.segments.models import CustomerSegment, TierChange, TierPolicy
from brokercrm.segments.selectors import tier_policy_thresholds
from brokercrm.segments.services import ERR_NOT_ALLOWED, ERR_THRESHOLD_ORDER, segments_publish, tier_policy_update

APRIL = date(2026, 4, 30)


def _row(no, tier="gold", cls="B", since=date(2026, 3, 2), contribution="1812.044", turnover="1.30219"):
    return {
        "customer_no": no, "tier": tier, "tier_since": since, "abcd_class": cls,
        "contribution": D(contribution), "turnover": D(turnover),
        "net_commission_12m": D("93.93"), "commission_partial": True,
    }  # fmt: skip


def _change(no, day, old, new, reason):
    return {"customer_no": no, "trade_date": day, "old_tier": old, "new_tier": new, "reason": reason}


@pytest.fixture
def published(world):
    segments_publish(
        rows=[_row("10000001"), _row("10000002", tier="silver", cls="C"), _row("10000005", tier="diamond", cls="A")],
        changes=[
            _change("10000001", date(2026, 1, 5), None, "silver", "initial"),
            _change("10000001", date(2026, 3, 31), "silver", "gold", "upgrade"),
            _change("10000002", date(2026, 1, 5), None, "gold", "initial"),
            _change("10000002", date(2026, 4, 30), "gold", "silver", "downgrade"),
            _change("10000005", date(2026, 4, 30), "gold", "diamond", "upgrade"),
            _change("99999999", date(2026, 4, 30), "gold", "diamond", "upgrade"),  # not in the CRM yet
        ],
        as_of=APRIL,
    )
    return world


# --- publish ---------------------------------------------------------------------------------------


def test_publish_rounds_for_pages_and_writes_only_changed_rows(published):
    s = CustomerSegment.objects.unscoped().get(customer__customer_no="10000001")
    assert (s.tier, s.abcd_class, s.contribution, s.turnover, s.as_of) == ("gold", "B", D("1812.04"), D("1.3022"), APRIL)
    later = date(2026, 5, 6)
    summary = segments_publish(
        rows=[_row("10000001"), _row("10000002", tier="silver", cls="D"), _row("10000005", tier="diamond", cls="A")],
        changes=[],
        as_of=later,
    )
    assert (summary.segments_written, summary.segments_unchanged) == (1, 2)
    # The unchanged row keeps the day it was last changed; the changed one moves.
    assert CustomerSegment.objects.unscoped().get(customer__customer_no="10000001").as_of == APRIL
    assert CustomerSegment.objects.unscoped().get(customer__customer_no="10000002").as_of == later


def test_publish_replaces_recomputed_changes_and_skips_unknown_customers(published):
    assert TierChange.objects.unscoped().count() == 5
    summary = segments_publish(
        rows=[], changes=[_change("10000002", date(2026, 4, 30), "gold", "gold", "initial")], as_of=APRIL,
        changes_from=date(2026, 4, 1),
    )  # fmt: skip
    assert summary.changes_written == 1
    assert sorted(TierChange.objects.unscoped().values_list("date", "reason")) == [
        (date(2026, 1, 5), "initial"), (date(2026, 1, 5), "initial"), (date(2026, 3, 31), "upgrade"),
        (date(2026, 4, 30), "initial"),
    ]  # fmt: skip


def test_publish_refuses_an_unknown_tier_with_the_row(world):
    with pytest.raises(ValidationError, match="row 2: unknown tier 'platinum'"):
        segments_publish(rows=[_row("10000001"), _row("10000002", tier="platinum")], changes=[], as_of=APRIL)
    assert not CustomerSegment.objects.unscoped().exists()  # nothing half-applied


# --- the customer page -----------------------------------------------------------------------------


def test_customer_page_shows_tier_since_history_class_strategy_and_services(published):
    html = published.client("am_a1").get(reverse("customers:detail", args=["10000001"])).content.decode()
    assert 'id="segment"' in html
    assert str(Tier.GOLD.label) in html and "2026-03-02" in html
    assert str(ABCD_STRATEGIES[AbcdClass.B]) in html
    for service in TIER_SERVICES[Tier.GOLD]:
        assert str(service.label) in html
    assert str(TierService.ADVISER.label) not in html  # diamond only
    assert "2026-03-31" in html and str(TierChangeReason.UPGRADE.label) in html  # the history


def test_customer_page_without_segmentation_says_so(world):
    html = world.client("am_a1").get(reverse("customers:detail", args=["10000001"])).content.decode()
    assert 'data-testid="segment-missing"' in html


# --- who moved this month --------------------------------------------------------------------------


def test_tier_changes_of_a_month_within_the_scope(published):
    url = reverse("segments:tier_changes")
    html = published.client("bm_a").get(url, {"month": "2026-04"}).content.decode()
    assert "10000002" in html  # downgraded in April, branch A
    assert "10000005" not in html  # branch B: out of scope
    assert "10000001" not in html  # moved in March
    html = published.client("hq_admin").get(url, {"month": "2026-04", "direction": "up"}).content.decode()
    assert "10000005" in html and "10000002" not in html
    html = published.client("am_a1").get(url, {"month": "2026-03"}).content.decode()
    assert "10000001" in html
    event = AuditEvent.objects.filter(detail__via="tier_changes").latest("id")
    assert event.detail["customers"] == ["10000001"]


def test_starting_tiers_are_not_moves_and_a_bad_month_is_explained(published):
    url = reverse("segments:tier_changes")
    html = published.client("hq_admin").get(url, {"month": "2026-01"}).content.decode()
    assert "10000001" not in html
    html = published.client("hq_admin").get(url, {"month": "April"}).content.decode()
    assert 'data-testid="month-error"' in html


# --- the tier policy -------------------------------------------------------------------------------


def _policy_form(**changes):
    values = {
        "silver_assets": "100000", "silver_commission": "2000", "gold_assets": "500000", "gold_commission": "10000",
        "diamond_assets": "2000000", "diamond_commission": "50000", "standard_multiplier": "1.0",
        "silver_multiplier": "1.1", "gold_multiplier": "1.2", "diamond_multiplier": "1.3", "note": "",
    }  # fmt: skip
    values.update(changes)
    return values


def test_head_office_changes_the_thresholds_and_the_pipeline_gets_them(world):
    assert tier_policy_thresholds() == sp.DEFAULT_TIER_THRESHOLDS
    client = world.client("hq_admin")
    response = client.post(reverse("segments:policy"), _policy_form(silver_assets="150000", note="2026 policy"))
    assert response.status_code == 302
    assert tier_policy_thresholds()["silver"] == sp.TierThreshold(D("150000"), D("2000"))
    assert TierPolicy.objects.get().created_by == world.user("hq_admin")
    html = client.get(reverse("segments:policy")).content.decode()
    assert "150,000.00" in html or "150000.00" in html


def test_thresholds_out_of_order_are_refused_and_others_cannot_change_them(world):
    response = world.client("hq_admin").post(reverse("segments:policy"), _policy_form(gold_assets="50000"))
    assert response.status_code == 200
    assert escape(str(ERR_THRESHOLD_ORDER)) in response.content.decode()
    assert world.client("bm_a").post(reverse("segments:policy"), _policy_form()).status_code == 403
    assert world.client("researcher").get(reverse("segments:policy")).status_code == 403
    assert not TierPolicy.objects.exists()
    with pytest.raises(PermissionDenied, match=str(ERR_NOT_ALLOWED)):
        tier_policy_update(
            actor=world.user("am_a1"), thresholds=sp.DEFAULT_TIER_THRESHOLDS, multipliers=sp.DEFAULT_POINTS_MULTIPLIERS
        )


# --- API ------------------------------------------------------------------------------------------


def test_api_lists_segments_and_changes_in_scope(published):
    client = published.client("am_a1")
    body = client.get("/api/segments/").json()
    assert [i["customer_no"] for i in body["items"]] == ["10000001"]
    assert body["items"][0] | {"contribution": None, "turnover": None} == {
        "customer_no": "10000001", "tier": "gold", "tier_since": "2026-03-02", "abcd_class": "B", "tags": [],
        "contribution": None, "turnover": None, "as_of": "2026-04-30",
    }  # fmt: skip
    body = published.client("hq_admin").get("/api/segments/", {"tier": "diamond"}).json()
    assert [i["customer_no"] for i in body["items"]] == ["10000005"]
    body = published.client("bm_a").get("/api/segments/tier-changes", {"month": "2026-04"}).json()
    assert [(i["customer_no"], i["reason"]) for i in body["items"]] == [("10000002", "downgrade")]
    assert published.client("bm_a").get("/api/segments/tier-changes", {"month": "26-4"}).status_code == 422
    assert published.client("bm_a").get("/api/segments/", {"tier": "platinum"}).status_code == 422


def test_api_customer_segment_and_policy(published):
    body = published.client("bm_a").get("/api/segments/customers/10000002").json()
    assert (body["tier"], body["abcd_class"], body["abcd_strategy"]) == ("silver", "C", str(ABCD_STRATEGIES[AbcdClass.C]))
    assert [(h["date"], h["reason"]) for h in body["history"]] == [("2026-04-30", "downgrade"), ("2026-01-05", "initial")]
    assert published.client("am_b").get("/api/segments/customers/10000002").status_code == 404
    policy = published.client("am_a1").get("/api/segments/policy").json()
    assert [t["tier"] for t in policy["thresholds"]] == ["silver", "gold", "diamond"]


def test_choices_are_the_pipeline_codes():
    assert tuple(Tier.values) == sp.TIERS
    assert tuple(AbcdClass.values) == sp.ABCD_CLASSES
    assert tuple(TierChangeReason.values) == sp.TIER_CHANGE_REASONS
    assert set(TIER_SERVICES) == set(Tier.values)
