"""Head office's tags: validated as the whole catalogue, refused with the engine's message and
nothing stored; only head office writes; every change a version and an audit entry."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from brokercrm.org.models import AuditEvent
from brokercrm.tagengine.catalogue import CATEGORIES
from brokercrm.tags.choices import TagCategory
from brokercrm.tags.models import CustomTag, CustomTagVersion
from brokercrm.tags.selectors import current_catalogue, rule_check, tag_rows
from brokercrm.tags.services import (
    TagRefused,
    custom_tag_create,
    custom_tag_set_active,
    custom_tag_update,
)

BANKS = {
    "code": "bank_holder",
    "name_zh": "银行股客户",
    "name_en": "Bank-stock holder",
    "category": "holdings",
    "description": "Banks are the largest industry held.",
    "rule": "top_industry = '银行' and total_assets >= 100000",
}


def _refused(world, **change) -> TagRefused:
    with pytest.raises(TagRefused) as info:
        custom_tag_create(actor=world.user("hq_admin"), **{**BANKS, **change})
    assert not CustomTag.objects.exists() and not CustomTagVersion.objects.exists()
    assert not AuditEvent.objects.filter(object_type="tag").exists()
    return info.value


def test_the_categories_are_the_engines():
    assert tuple(TagCategory.values) == CATEGORIES


def test_head_office_adds_a_tag_and_the_catalogue_computes_it(world):
    tag = custom_tag_create(actor=world.user("hq_admin"), **BANKS)
    catalogue = current_catalogue()
    assert "bank_holder" in catalogue and len(catalogue) == 217 + 1
    assert catalogue.lineage("bank_holder").features == {"top_industry", "total_assets"}
    version = tag.versions.get()
    assert (version.version, version.change, version.changed_by_username, version.rule) == (
        1, "created", "hq_admin", BANKS["rule"]
    )  # fmt: skip
    event = AuditEvent.objects.get(object_type="tag")
    assert (event.action, event.object_id, event.actor_username) == ("tag_create", "bank_holder", "hq_admin")
    row = next(r for r in tag_rows() if r.code == "bank_holder")
    assert row.custom and row.pending and row.customers is None  # not computed yet


def test_a_bad_rule_is_refused_with_its_column_and_pointer(world):
    error = _refused(world, rule="total_assets >= 100k")
    [problem] = error.problems
    assert "cannot be followed by 'k'" in problem.message and "(column 20)" in problem.message
    assert problem.position == 19
    assert "total_assets >= 100k\n" in problem.message and problem.message.endswith(" " * 19 + "^")


def test_an_unknown_feature_is_named_with_a_hint(world):
    error = _refused(world, rule="total_asset >= 100000")
    assert "unknown feature 'total_asset' (did you mean 'total_assets'?)" in str(error.problems[0])


def test_a_code_of_a_builtin_tag_or_a_feature_is_refused(world):
    assert "'age_under_30' is a built-in tag" in str(_refused(world, code="age_under_30").problems[0])
    assert "also a feature name" in str(_refused(world, code="total_assets").problems[0])
    assert "reserved" in str(_refused(world, code="new").problems[0])
    assert "code must be lower-case" in str(_refused(world, code="Bank").problems[0])


def test_an_unknown_category_is_refused_with_the_known_ones(world):
    error = _refused(world, category="wealth")
    assert "unknown category 'wealth'; categories: basic, assets" in error.problems[0].message


def test_every_problem_is_listed_at_once(world):
    error = _refused(world, code="age_under_30", name_en="", category="x")
    messages = " | ".join(p.message for p in error.problems)
    assert "built-in tag" in messages


def test_a_cycle_is_refused_and_the_stored_rule_stands(world):
    hq = world.user("hq_admin")
    first = custom_tag_create(actor=hq, **BANKS)
    custom_tag_create(actor=hq, **{**BANKS, "code": "bank_senior", "rule": "tag('bank_holder') and age >= 60"})
    with pytest.raises(TagRefused) as info:
        custom_tag_update(actor=hq, tag=first, rule="tag('bank_senior')")
    assert "cycle" in str(info.value.problems[0]) and "bank_holder" in str(info.value.problems[0])
    first.refresh_from_db()
    assert first.rule == BANKS["rule"] and first.versions.count() == 1
    assert rule_check("tag('bank_senior')", code="bank_holder").valid is False


def test_deactivating_a_tag_another_reads_is_refused(world):
    hq = world.user("hq_admin")
    first = custom_tag_create(actor=hq, **BANKS)
    reader = custom_tag_create(actor=hq, **{**BANKS, "code": "bank_senior", "rule": "tag('bank_holder') and age >= 60"})
    with pytest.raises(TagRefused, match="unknown tag 'bank_holder'"):
        custom_tag_set_active(actor=hq, tag=first, active=False)
    custom_tag_set_active(actor=hq, tag=reader, active=False)
    custom_tag_set_active(actor=hq, tag=first, active=False)
    assert "bank_holder" not in current_catalogue() and "bank_senior" not in current_catalogue()
    assert [v.change for v in first.versions.order_by("version")] == ["created", "deactivated"]
    with pytest.raises(TagRefused, match="already used"):
        custom_tag_create(actor=hq, **BANKS)  # the code stays taken: reactivate instead
    custom_tag_set_active(actor=hq, tag=first, active=True)
    assert "bank_holder" in current_catalogue()


def test_a_change_is_a_new_version_and_an_unchanged_save_writes_nothing(world):
    hq = world.user("hq_admin")
    tag = custom_tag_create(actor=hq, **BANKS)
    before = tag.rule_changed_at
    custom_tag_update(actor=hq, tag=tag, **{k: BANKS[k] for k in ("name_zh", "rule")})
    assert tag.versions.count() == 1
    custom_tag_update(actor=hq, tag=tag, rule="top_industry = '银行'", name_en="Banks first")
    latest = tag.versions.order_by("-version").first()
    assert (latest.version, latest.change, latest.rule, latest.name_en) == (2, "updated", "top_industry = '银行'", "Banks first")
    assert tag.rule_changed_at > before
    event = AuditEvent.objects.filter(action="tag_update").get()
    assert event.detail["changed"]["rule"] == [BANKS["rule"], "top_industry = '银行'"]
    with pytest.raises(TagRefused, match="unknown feature"):
        custom_tag_update(actor=hq, tag=tag, rule="nonsense > 1")
    tag.refresh_from_db()
    assert tag.rule == "top_industry = '银行'" and tag.versions.count() == 2


@pytest.mark.parametrize("who", ["am_a1", "bm_a", "tl_a1", "compliance", "researcher"])
def test_only_head_office_writes_tags(world, who):
    with pytest.raises(PermissionDenied):
        custom_tag_create(actor=world.user(who), **BANKS)
    assert not CustomTag.objects.exists()
    tag = custom_tag_create(actor=world.user("hq_admin"), **BANKS)
    with pytest.raises(PermissionDenied):
        custom_tag_update(actor=world.user(who), tag=tag, rule="age > 1")
    with pytest.raises(PermissionDenied):
        custom_tag_set_active(actor=world.user(who), tag=tag, active=False)


def test_the_rule_check_says_what_a_rule_reads(db):
    check = rule_check("tag('dormant_90d') and cash_balance >= 0.5 * total_assets")
    assert check.valid and check.features == ("cash_balance", "total_assets") and check.tags == ("dormant_90d",)
    bad = rule_check("age >> 3")
    assert not bad.valid and bad.column == 6 and bad.pointer == "age >> 3\n     ^"


def test_the_demos_tags_validate_and_load_once(db):
    from brokercrm.tags.demo import DEMO_TAGS, tags_demo_load

    assert tags_demo_load() == len(DEMO_TAGS) == 3
    assert tags_demo_load() == 0
    catalogue = current_catalogue()
    assert catalogue.lineage("bank_income_investor").tags == {"prefers_banks"}
    assert "top_industry" in catalogue.lineage("bank_income_investor").all_features
