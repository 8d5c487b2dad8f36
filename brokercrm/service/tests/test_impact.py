"""The impact list of a market event, hand-worked (see ``factories`` for the table and the sums)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from brokercrm.service import rules
from brokercrm.service.models import EventImpact, MarketEvent
from brokercrm.service.selectors import event_impacts
from brokercrm.service.services import event_create, impact_compute
from brokercrm.service.impact import ERR_NOT_IN_WAREHOUSE, ERR_NOT_PUBLISHED
from brokercrm.service.tests.factories import AS_OF, BOOK, EVENT_SECURITIES, build_market, write_warehouse

SUGGESTIONS = {"c1_c2": "稳健为主", "c3": "适度减仓", "c4_c5": "关注机会", "professional": "自行判断"}


@pytest.fixture
def market(world):
    build_market(world)
    return world


def _event(world, **kwargs):
    values = {
        "actor": world.user("researcher"),
        "title": "银行业监管新规",
        "securities": EVENT_SECURITIES,
        "direction": "negative",
        "impact": 4,
        "suggestions": SUGGESTIONS,
    }
    return event_create(**(values | kwargs))


def test_ranking_exposure_ratio_priority_and_suggestion_by_hand(market):
    event = _event(market)
    rows = [
        (r.rank, r.customer.customer_no, r.exposure, r.exposure_ratio, r.priority, r.risk_group, r.suggestion)
        for r in EventImpact.objects.unscoped().filter(event=event).select_related("customer", "event")
    ]
    assert rows == [
        (1, "10000001", D("82500.00"), D("0.33000000"), "high", "c3", "适度减仓"),
        # a tie on exposure: customer number decides
        (2, "10000002", D("15000.00"), D("0.15000000"), "medium", "c4_c5", "关注机会"),
        (3, "10000003", D("15000.00"), D("0.01500000"), "high", "professional", "自行判断"),
        (4, "10000004", D("3000.00"), D("0.30000000"), "high", "c1_c2", "稳健为主"),
        (5, "10000005", D("999.99"), D("0.09999900"), "low", "c1_c2", "稳健为主"),
    ]
    assert event.as_of == AS_OF
    assert event.affected_customers == 5 and event.total_exposure == D("116499.99")


def test_an_industry_means_every_security_of_it(market):
    event = _event(market, securities=[], industries=["银行"])  # the warehouse's industry reference
    # 600036 and 601398 are the bank holdings: a1 = 35,000 + 17,500 + 5,000
    got = {r.customer.customer_no: r.exposure for r in EventImpact.objects.unscoped().filter(event=event).select_related("customer")}
    assert got == {"10000001": D("57500.00"), "10000003": D("15000.00"), "10000004": D("3000.00")}
    assert sorted(event.resolved_securities) == ["SH600036", "SH601398"]


def test_thresholds_are_configurable(market, settings):
    settings.SERVICE_PRIORITY_HIGH_RATIO = D("0.50")
    settings.SERVICE_PRIORITY_MEDIUM_RATIO = D("0.01")
    settings.SERVICE_PRIORITY_HIGH_TIERS = ("diamond",)
    rows = {r.customer_no: r.priority for r in impact_compute(securities=EVENT_SECURITIES, as_of=AS_OF)}
    assert rows == {"10000001": "medium", "10000002": "medium", "10000003": "medium", "10000004": "medium", "10000005": "medium"}


def test_scope_an_account_manager_sees_only_their_customers(market):
    event = _event(market)
    seen = lambda name: [r.customer.customer_no for r in event_impacts(actor=market.user(name), event_id=event.pk)]  # noqa: E731
    assert seen("am_a1") == ["10000001"]
    assert seen("am_b") == ["10000005"]
    assert seen("tl_a1") == ["10000001", "10000002"]
    assert seen("bm_a") == ["10000001", "10000002", "10000003", "10000004"]
    assert seen("researcher") == []  # researchers record events; they do not see customer records


def test_bad_input_is_refused_with_a_clear_message(market):
    with pytest.raises(ValidationError, match="SH60003"):
        _event(market, securities=["SH60003"])
    with pytest.raises(ValidationError):
        _event(market, securities=[], industries=[])
    with pytest.raises(ValidationError):
        _event(market, impact=6)
    with pytest.raises(ValidationError):
        _event(market, direction="down")
    with pytest.raises(ValidationError, match="不存在的行业|no security|No security"):
        _event(market, securities=[], industries=["不存在的行业"])
    with pytest.raises(PermissionDenied):
        _event(market, actor=market.user("am_a1"))


def test_nothing_published_means_no_event(world):
    with pytest.raises(ValidationError):
        _event(world)


def test_a_publication_without_its_warehouse_day_is_a_clear_error(market, settings):
    from brokercrm.datacenter import runner

    (runner.snapshots_dir(settings.DATA_DIR) / runner.CURRENT).unlink()  # no published warehouse version
    with pytest.raises(ValidationError) as error:
        _event(market)
    assert error.value.messages == [str(ERR_NOT_PUBLISHED)]
    # a warehouse version holding 21 April only, while the database has published 22 April
    write_warehouse(settings.DATA_DIR, {}, as_of=date(2026, 4, 21), version="v000002")
    with pytest.raises(ValidationError) as error:
        _event(market)
    assert error.value.messages == [str(ERR_NOT_IN_WAREHOUSE).format(day="2026-04-22")]
    assert not MarketEvent.objects.exists()


def test_a_security_nobody_holds_gives_an_empty_list(market):
    # SH600519: a position sold out during the day (quantity 0) is no holding; SZ000001: not held at all
    event = _event(market, securities=["SH600519", "SZ000001"])
    assert event.affected_customers == 0 and event.total_exposure == 0
    assert not EventImpact.objects.unscoped().filter(event=event).exists()


def test_an_industry_without_a_reference_has_no_members(market, settings):
    from brokercrm.datacenter import warehouse

    event = _event(market, securities=[], industries=["食品饮料"])  # 000858 (held), 600519 (sold out)
    assert event.resolved_securities == ["SH600519", "SZ000858"] and event.affected_customers == 3
    warehouse.industry_path(settings.DATA_DIR).unlink()
    with pytest.raises(ValidationError, match="食品饮料"):
        _event(market, securities=[], industries=["食品饮料"])


def test_zero_or_unknown_total_assets_leave_the_ratio_empty(world, settings):
    # b has no assets on the day, a1b has no indicator row: no ratio; the tier alone decides
    book = dict(BOOK, b=(BOOK["b"][0], "0.00", *BOOK["b"][2:]), a1b=(BOOK["a1b"][0], None, *BOOK["a1b"][2:]))
    build_market(world, warehouse_book=book)
    rows = {r.customer_no: r for r in impact_compute(securities=EVENT_SECURITIES, as_of=AS_OF)}
    assert (rows["10000005"].ratio, rows["10000005"].total_assets, rows["10000005"].priority) == (None, D("0.00"), "low")
    assert (rows["10000002"].ratio, rows["10000002"].total_assets, rows["10000002"].priority) == (None, None, "low")
    assert rows["10000003"].ratio == D("0.01500000")  # the others as before


def test_customers_the_database_does_not_know_are_left_out_and_ranks_close_up(market):
    # the warehouse's 99999999 holds 1,000.00 of 600036 (between a_unassigned and b) but is not in the database
    rows = impact_compute(securities=EVENT_SECURITIES, as_of=AS_OF)
    assert [r.customer_no for r in rows] == ["10000001", "10000002", "10000003", "10000004", "10000005"]


def test_the_holdings_index_is_built_once_per_version(market, settings):
    from brokercrm.service.impact import holdings_index

    first = holdings_index(as_of=AS_OF)
    assert holdings_index(as_of=AS_OF) == first and first.is_file()
    write_warehouse(settings.DATA_DIR, {}, version="v000002")  # a new version of the day: nobody holds anything
    second = holdings_index(as_of=AS_OF)
    assert impact_compute(securities=EVENT_SECURITIES, as_of=AS_OF) == []
    assert second != first and second.is_file() and not first.exists()  # the old version's index is removed


def test_risk_groups_and_priorities_rules():
    assert rules.risk_group(risk_level="C0", investor_class="ordinary") == "c1_c2"
    assert rules.risk_group(risk_level="C2", investor_class="ordinary") == "c1_c2"
    assert rules.risk_group(risk_level="C3", investor_class="ordinary") == "c3"
    assert rules.risk_group(risk_level="C4", investor_class="ordinary") == "c4_c5"
    assert rules.risk_group(risk_level="", investor_class="ordinary") == "c1_c2"
    assert rules.risk_group(risk_level="C1", investor_class="professional_i") == "professional"
    assert rules.priority(ratio=None, tier="diamond") == "high"
    assert rules.priority(ratio=None, tier="silver") == "low"
    assert rules.priority(ratio=D("0.1"), tier="standard") == "medium"
    assert rules.priority(ratio=D("0.0999999"), tier="standard") == "low"


def test_the_bulk_priority_rule_agrees_with_the_rule_on_the_boundaries():
    decide = rules.priority_rule()
    for exposure, assets, tier in [(999_999, 10_000_000, "standard"), (1_000_000, 10_000_000, "standard"),
                                   (2_999_999, 10_000_000, "silver"), (3_000_000, 10_000_000, "standard"),
                                   (1, None, "gold"), (5, 0, "standard"), (1, 3, "diamond")]:  # fmt: skip
        ratio = D(exposure) / D(assets) if assets else None
        assert decide(exposure, assets, tier) == rules.priority(ratio=ratio, tier=tier), (exposure, assets, tier)
