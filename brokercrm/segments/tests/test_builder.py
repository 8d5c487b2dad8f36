"""The segment builder: definitions refused with clear messages, audiences evaluated over a
hand-built warehouse (AND / OR / NOT), the data scope, saved segments and their versions, the
Excel export and the API (customers of ``brokercrm.testing.build_world``)."""

from __future__ import annotations

import io
import json
from decimal import Decimal as D

import openpyxl
import pytest
from django.urls import reverse

from brokercrm.org.models import AuditEvent
from brokercrm.segments import audience as au
from brokercrm.segments.models import SavedSegment, SegmentVersion
from brokercrm.segments.selectors import audience_scope, segment_members
from brokercrm.segments.services import segment_save, segment_version_compute, segments_refresh
from brokercrm.segments.tests.warehouse import CUSTOMERS, DAY, write_warehouse

@pytest.fixture(autouse=True)
def _english():
    """Messages are compared in English (the msgids); the pages speak Chinese by default."""
    from django.utils import translation

    with translation.override("en"):
        yield


TAGS = frozenset({"asset_1m_2m", "age_60_69", "asset_10m_plus", "gender_female", "asset_zero", "senior_60_plus"})
ALL = ("10000001", "10000002", "10000003", "10000004", "10000005")


def _problems(definition, branches=None) -> list[str]:
    with pytest.raises(au.DefinitionError) as caught:
        au.definition_validate(definition, tags=TAGS, branches=branches)
    return caught.value.problems


def _msg(template, **values) -> str:
    return str(template).format(**values)


# --- validation: every message ----------------------------------------------------------------------


def test_every_refusal_names_the_condition_and_the_problem():
    c1, c2, c21 = "Condition 1", "Condition 2", "Condition 2.1"
    assert _problems("{not json") == [str(au.ERR_NOT_JSON)]
    assert _problems([1]) == [_msg(au.ERR_NOT_OBJECT, where="The definition")]
    assert _problems({"op": "and", "items": [{"colour": "red"}]}) == [_msg(au.ERR_NOT_OBJECT, where=c1)]
    assert _problems({"op": "and", "items": [], "x": 1}) == [_msg(au.ERR_UNKNOWN_KEYS, where="The definition", keys="“x”")]
    assert _problems({"op": "and", "items": [{"tag": "asset_zero", "since": 3}]}) == [
        _msg(au.ERR_UNKNOWN_KEYS, where=c1, keys="“since”")
    ]
    assert _problems({"op": "xor", "items": []}) == [_msg(au.ERR_UNKNOWN_OP, where="The definition", op="xor")]
    assert _problems({"op": "or", "items": "asset_zero"}) == [_msg(au.ERR_ITEMS, where="The definition")]
    assert _problems({"op": "not", "items": [{"tag": "asset_zero"}, {"tag": "age_60_69"}]}) == [
        _msg(au.ERR_NOT_ONE, where="The definition")
    ]
    assert _problems({"op": "and", "items": [{"tag": "asset_zero"}, {"op": "or", "items": [{"tag": "rich"}]}]}) == [
        _msg(au.ERR_UNKNOWN_TAG, where=c21, tag="rich")
    ]
    assert _problems({"field": "height", "cmp": ">", "value": 1}) == [
        _msg(au.ERR_UNKNOWN_FIELD, where="The definition", field="height")
    ]
    assert _problems({"op": "and", "items": [{"field": "tier", "cmp": ">=", "value": ["gold"]}]}) == [
        _msg(au.ERR_CMP, where=c1, field="Tier", cmp=">=", cmps="in, not_in")
    ]
    assert _problems({"op": "and", "items": [{"tag": "asset_zero"}, {"field": "total_assets", "cmp": ">=", "value": "lots"}]}) == [
        _msg(au.ERR_NUMBER, where=c2, field="Total assets", value="lots")
    ]
    assert _problems({"field": "total_assets", "cmp": ">=", "value": True}) == [
        _msg(au.ERR_NUMBER, where="The definition", field="Total assets", value="True")
    ]
    assert _problems({"field": "age", "cmp": ">=", "value": "30.5"}) == [
        _msg(au.ERR_INTEGER, where="The definition", field="Age", value="30.5")
    ]
    assert _problems({"field": "age", "cmp": "between", "value": 30}) == [_msg(au.ERR_BETWEEN, where="The definition")]
    assert _problems({"field": "age", "cmp": "between", "value": [60, 30]}) == [
        _msg(au.ERR_BETWEEN_ORDER, where="The definition")
    ]
    assert _problems({"field": "tier", "cmp": "in", "value": []}) == [
        _msg(au.ERR_CHOICES, where="The definition", field="Tier")
    ]
    assert _problems({"field": "tier", "cmp": "in", "value": ["platinum"]}) == [
        _msg(au.ERR_CHOICE, where="The definition", value="platinum", field="Tier", choices="diamond, gold, silver, standard")
    ]
    assert _problems({"field": "branch", "cmp": "in", "value": ["9999"]}, branches=["0101", "0102"]) == [
        _msg(au.ERR_CHOICE, where="The definition", value="9999", field="Branch", choices="0101, 0102")
    ]
    many = {"op": "or", "items": [{"tag": "asset_zero"}] * (au.MAX_CONDITIONS + 1)}
    assert _problems(many) == [_msg(au.ERR_TOO_MANY, limit=au.MAX_CONDITIONS)]
    deep: dict = {"tag": "asset_zero"}
    for _ in range(au.MAX_DEPTH + 1):
        deep = {"op": "and", "items": [deep]}
    assert _problems(deep) == [_msg(au.ERR_TOO_DEEP, limit=au.MAX_DEPTH)]


def test_every_problem_is_listed_at_once_and_a_valid_definition_comes_back_normalised():
    problems = _problems({"op": "and", "items": [{"tag": "nope"}, {"field": "age", "cmp": "~", "value": 1}]})
    assert len(problems) == 2 and problems[0].startswith("Condition 1") and problems[1].startswith("Condition 2")
    valid = au.definition_validate(
        {"op": "and", "items": [
            {"field": "total_assets", "cmp": ">=", "value": 1000000},
            {"field": "net_assets", "cmp": "between", "value": ["1,000.50", 2e3]},
            {"field": "tier", "cmp": "in", "value": ["gold", "diamond", "gold"]},
            {"op": "not", "items": [{"tag": "asset_zero"}]},
        ]},
        tags=TAGS,
    )  # fmt: skip
    assert valid["items"][0]["value"] == "1000000"
    assert valid["items"][1]["value"] == ["1000.5", "2000"]
    assert valid["items"][2]["value"] == ["diamond", "gold"]
    assert au.definition_conditions(valid) == 4 and au.definition_tags(valid) == ["asset_zero"]


# --- evaluation over a hand-built warehouse ----------------------------------------------------------


@pytest.fixture
def warehouse(tmp_path, settings):
    au.audience_engines_reset()
    write_warehouse(tmp_path)
    settings.DATA_DIR = tmp_path
    yield tmp_path
    au.audience_engines_reset()


EVERYONE = au.AudienceScope(branch_codes=("0101", "0102"))


def _who(data_dir, definition, scope=EVERYONE) -> list[str]:
    engine = au.audience_engine(data_dir=data_dir)
    valid = au.definition_validate(definition, tags=TAGS | {"senior_60_plus"})
    result = au.audience_evaluate(engine=engine, definition=valid, scope=scope, limit=100)
    assert result.count == len(result.rows)
    return [r["customer_no"] for r in result.rows]


def test_tags_fields_and_their_combinations_select_the_customers_worked_out_by_hand(warehouse):
    d = warehouse
    assert _who(d, {"op": "and", "items": []}) == list(ALL)  # no condition: everyone in scope
    assert _who(d, {"tag": "asset_1m_2m"}) == ["10000001"]
    assert _who(d, {"field": "total_assets", "cmp": ">=", "value": "800000"}) == ["10000001", "10000003", "10000005"]
    assert _who(d, {"field": "total_assets", "cmp": "between", "value": ["300000", "800000"]}) == ["10000002", "10000003"]
    assert _who(d, {"field": "total_assets", "cmp": "!=", "value": "0"}) == ["10000001", "10000002", "10000003", "10000005"]
    # ages on 2026-04-30: 65, 36, 40 (birthday 30 June not yet), unknown, 76
    assert _who(d, {"field": "age", "cmp": "<", "value": 40}) == ["10000002"]
    assert _who(d, {"field": "age", "cmp": "=", "value": 40}) == ["10000003"]
    assert _who(d, {"field": "age", "cmp": "between", "value": [39, 65]}) == ["10000001", "10000003"]
    # AND, OR, NOT
    either = {"op": "or", "items": [{"tag": "asset_10m_plus"}, {"field": "tier", "cmp": "in", "value": ["silver"]}]}
    assert _who(d, either) == ["10000002", "10000003", "10000005"]
    both = {"op": "and", "items": [either, {"field": "abcd_class", "cmp": "in", "value": ["A", "C"]}]}
    assert _who(d, both) == ["10000003", "10000005"]
    assert _who(d, {"op": "not", "items": [both]}) == ["10000001", "10000002", "10000004"]
    # a customer without a tier does not match "tier in …", so "not …" includes them
    assert _who(d, {"field": "tier", "cmp": "in", "value": ["gold", "silver", "diamond"]}) == ["10000001", "10000002", "10000003", "10000005"]
    assert _who(d, {"op": "not", "items": [{"field": "tier", "cmp": "in", "value": ["standard"]}]}) == list(ALL)
    assert _who(d, {"field": "tier", "cmp": "not_in", "value": ["gold"]}) == ["10000002", "10000003", "10000005"]
    # a known tag nobody carries on the day matches nobody (and its negation everyone)
    assert _who(d, {"tag": "senior_60_plus"}) == []
    assert _who(d, {"op": "not", "items": [{"tag": "senior_60_plus"}]}) == list(ALL)
    assert _who(d, {"field": "branch", "cmp": "in", "value": ["0102"]}) == ["10000005"]


def test_the_scope_limits_every_answer_and_an_empty_scope_gives_nobody(warehouse):
    d, everyone = warehouse, {"op": "and", "items": []}
    assert _who(d, everyone, au.AudienceScope(branch_codes=("0102",))) == ["10000005"]
    assert _who(d, everyone, au.AudienceScope(customer_nos=("10000002", "10000005", "99999999"))) == ["10000002", "10000005"]
    assert _who(d, everyone, au.AudienceScope.nobody()) == []
    assert _who(d, everyone, au.AudienceScope(customer_nos=())) == []
    assert _who(d, everyone, au.AudienceScope(branch_codes=("7777",))) == []


def test_count_and_page_come_from_one_answer_and_values_are_exact(warehouse):
    engine = au.audience_engine(data_dir=warehouse)
    result = au.audience_evaluate(engine=engine, definition=au.EMPTY_DEFINITION, scope=EVERYONE, limit=2, offset=2)
    assert result.count == 5 and result.as_of == DAY
    assert [r["customer_no"] for r in result.rows] == ["10000003", "10000004"]
    assert result.rows[0]["total_assets"] == D("800000.00") and result.rows[0]["tier"] == "silver"
    assert au.audience_engine(data_dir=warehouse) is engine  # cached for the version


def test_no_warehouse_means_no_audience(tmp_path):
    au.audience_engines_reset()
    assert au.audience_engine(data_dir=tmp_path) is None


# --- the data scope of a user ----------------------------------------------------------------------


def test_each_role_gets_its_own_scope_and_no_employee_gets_nothing(world, django_user_model):
    def scope(name):
        return audience_scope(actor=world.user(name))

    assert scope("am_a1") == au.AudienceScope(customer_nos=("10000001",))
    assert sorted(scope("tl_a1").customer_nos) == ["10000001", "10000002"]
    assert sorted(scope("bm_a").branch_codes) == ["0101"]
    assert sorted(scope("hq_admin").branch_codes) == ["0101", "0102"]
    assert scope("researcher").empty
    stranger = django_user_model.objects.create_user(username="stranger", password="x")
    assert audience_scope(actor=stranger).empty


# --- pages -----------------------------------------------------------------------------------------


def _form(definition_fields: dict, **extra) -> dict:
    return {"kind@r": "group", "op@r": "and", **definition_fields, **extra}


def test_the_live_preview_counts_in_the_users_scope_and_is_audited(world, warehouse):
    url = reverse("segments:builder_preview")
    rich = _form({"kind@r.0": "field", "field@r.0": "total_assets", "cmp@r.0": ">=", "value@r.0": "500000"})
    bm = world.client("bm_a").post(url, rich)
    assert bm.status_code == 200 and 'data-count="2"' in bm.content.decode()  # 10000001, 10000003
    assert "张三" in bm.content.decode() and "王五" in bm.content.decode()
    am = world.client("am_a1").post(url, rich).content.decode()
    assert 'data-count="1"' in am and "王五" not in am
    other = world.client("bm_b").post(url, rich).content.decode()
    assert 'data-count="1"' in other and "孙七" in other and "张三" not in other
    entry = AuditEvent.objects.filter(actor=world.user("bm_a"), action="customer_list").latest("id")
    assert entry.detail["via"] == "segment_builder" and entry.detail["customers"] == ["10000001", "10000003"]
    assert json.loads(entry.detail["filters"]["segment"])["items"][0]["value"] == "500000"
    refused = world.client("bm_a").post(url, _form({"kind@r.0": "tag", "tag@r.0": "no_such_tag"})).content.decode()
    assert "unknown tag" in refused.lower() or "未知" in refused
    assert world.client("researcher").post(url, rich).status_code == 403


def test_buttons_add_and_remove_conditions(world, warehouse):
    client = world.client("bm_a")
    url = reverse("segments:builder_edit")
    page = client.post(url, {"kind@r": "group", "op@r": "and", "action": "add-tag:r", "pick-tag@r": "asset_1m_2m"})
    html = page.content.decode()
    assert 'name="tag@r.0" value="asset_1m_2m"' in html and 'data-count="1"' in html
    html = client.post(url, {"kind@r": "group", "kind@r.0": "tag", "tag@r.0": "asset_1m_2m", "action": "add-group:r"}).content.decode()
    assert 'name="kind@r.1" value="group"' in html
    html = client.post(url, {"kind@r": "group", "kind@r.0": "tag", "tag@r.0": "asset_1m_2m", "action": "remove:r.0"}).content.decode()
    assert "tag@r.0" not in html and 'data-count="4"' in html


def test_saving_validates_strictly_and_computes_the_first_version(world, warehouse):
    client = world.client("bm_a")
    bad = client.post(reverse("segments:new"), _form({"kind@r.0": "field", "field@r.0": "age", "cmp@r.0": ">=", "value@r.0": "old"}, name="Seniors", visibility="branch"))
    assert bad.status_code == 422 and not SavedSegment.objects.exists()
    assert "Age" in bad.content.decode() or "年龄" in bad.content.decode()
    nameless = client.post(reverse("segments:new"), _form({}, name=" ", visibility="branch"))
    assert nameless.status_code == 422 and not SavedSegment.objects.exists()
    good = client.post(
        reverse("segments:new"),
        _form({"kind@r.0": "field", "field@r.0": "total_assets", "cmp@r.0": ">=", "value@r.0": "500000"}, name="Rich", visibility="branch"),
    )
    segment = SavedSegment.objects.get()
    assert good.status_code == 302 and good["Location"] == reverse("segments:detail", args=[segment.pk])
    assert segment.shared_node == world.nodes["a"] and segment.current_version.member_count == 2
    assert segment_members(segment=segment, actor=world.user("bm_a")) == ["10000001", "10000003"]
    # shared with branch A: its account manager sees it, and only their own customers among the members
    assert segment_members(segment=segment, actor=world.user("am_a1")) == ["10000001"]
    assert world.client("am_a1").get(reverse("segments:detail", args=[segment.pk])).status_code == 200
    assert world.client("bm_b").get(reverse("segments:detail", args=[segment.pk])).status_code == 404
    listing = world.client("am_a1").get(reverse("segments:list")).content.decode()
    assert "Rich" in listing


def test_a_private_segment_is_its_owners_alone(world, warehouse):
    segment = segment_save(actor=world.user("am_a1"), name="Mine", definition=au.EMPTY_DEFINITION, visibility="private")
    assert world.client("tl_a1").get(reverse("segments:detail", args=[segment.pk])).status_code == 404
    assert world.client("tl_a1").post(reverse("segments:detail", args=[segment.pk]), _form({}, name="Taken", visibility="private")).status_code == 404
    assert world.client("am_a1").get(reverse("segments:detail", args=[segment.pk])).status_code == 200


def test_refresh_moves_each_pointer_only_when_its_version_was_written(world, warehouse, monkeypatch):
    rich = {"field": "total_assets", "cmp": ">=", "value": "500000"}
    first = segment_save(actor=world.user("bm_a"), name="Rich", definition=rich, visibility="private")
    second = segment_save(actor=world.user("hq_admin"), name="All rich", definition=rich, visibility="private")
    v1 = [segment_version_compute(segment=s) for s in (first, second)]
    assert [v.member_count for v in v1] == [2, 3]
    # the next run: 10000002 grows rich
    changed = dict(CUSTOMERS)
    changed["10000002"] = ("0101", None, "900000.00", "gold", "A", ())
    write_warehouse(warehouse, customers=changed, version="v000002")
    real = au.members_write

    def failing(table, path):
        if f"/{first.pk}/" in str(path):
            raise OSError("disk full")
        return real(table, path)

    monkeypatch.setattr(au, "members_write", failing)
    summary = segments_refresh(data_dir=warehouse)
    assert (summary.refreshed, summary.failed) == (1, 1) and "disk full" in summary.errors[first.pk]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.current_version == v1[0]  # the failure left the old version current
    assert second.current_version.snapshot_version == "v000002" and second.current_version.member_count == 4
    monkeypatch.setattr(au, "members_write", real)
    assert segments_refresh(data_dir=warehouse).refreshed == 2
    first.refresh_from_db()
    assert first.current_version.member_count == 3 and SegmentVersion.objects.filter(segment=first).count() == 2
    assert segment_members(segment=first, actor=world.user("bm_a")) == ["10000001", "10000002", "10000003"]


def _sheet(content: bytes) -> list[tuple]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(row) for row in workbook.active.iter_rows(values_only=True)]


def test_export_of_a_saved_segment_is_the_viewers_share_masked_and_audited(world, warehouse):
    segment = segment_save(
        actor=world.user("bm_a"), name="Rich", visibility="branch",
        definition={"field": "total_assets", "cmp": ">=", "value": "500000"},
    )  # fmt: skip
    segment_version_compute(segment=segment)
    response = world.client("bm_a").get(reverse("segments:export", args=[segment.pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = _sheet(response.content)
    assert len(rows) == 3
    assert rows[1][:5] == ("10000001", "张三", "0101", "甲营业部", "AM_A1")
    assert rows[1][5] == "133****8280"  # a branch manager does not see mobiles unmasked
    assert rows[1][7] == "A" and D(str(rows[1][8])) == D("2000000.00")
    own = _sheet(world.client("am_a1").get(reverse("segments:export", args=[segment.pk])).content)
    assert [r[0] for r in own[1:]] == ["10000001"] and own[1][5] == "13362988280"
    entry = AuditEvent.objects.filter(action="customer_export", actor=world.user("bm_a")).latest("id")
    assert entry.object_type == "segment" and entry.detail["rows"] == 2
    # compliance (head office) sees the shared segment but may not export customers
    assert world.client("compliance").get(reverse("segments:export", args=[segment.pk])).status_code == 403


def test_export_of_an_unsaved_definition_evaluates_it_now(world, warehouse):
    response = world.client("hq_admin").post(
        reverse("segments:builder_export"), _form({"kind@r.0": "tag", "tag@r.0": "asset_10m_plus"}, name="")
    )
    assert response.status_code == 200
    assert [r[0] for r in _sheet(response.content)[1:]] == ["10000005"]


# --- the API ---------------------------------------------------------------------------------------


def test_api_counts_lists_and_refuses_like_the_pages(world, warehouse):
    client = world.client("bm_a")
    body = {"definition": {"op": "or", "items": [{"tag": "asset_1m_2m"}, {"tag": "gender_female"}]}}
    answer = client.post("/api/segments/audience", body, content_type="application/json").json()
    assert answer["count"] == 2 and [r["customer_no"] for r in answer["items"]] == ["10000001", "10000003"]
    assert answer["as_of"] == DAY.isoformat()
    refused = client.post("/api/segments/audience", {"definition": {"tag": "nope"}}, content_type="application/json")
    assert refused.status_code == 422 and "nope" in refused.content.decode()
    segment = segment_save(actor=world.user("bm_a"), name="Either", definition=body["definition"], visibility="branch")
    segment_version_compute(segment=segment)
    listed = client.get("/api/segments/saved").json()
    assert [s["name"] for s in listed] == ["Either"] and listed[0]["member_count"] == 2
    members = world.client("am_a1").get(f"/api/segments/saved/{segment.pk}/members").json()
    assert members["count"] == 1 and members["items"][0]["customer_no"] == "10000001"
    assert world.client("bm_b").get(f"/api/segments/saved/{segment.pk}").status_code == 404
