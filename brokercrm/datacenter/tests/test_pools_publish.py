"""Pools through a pipeline run and the publish: a CRM fact recorded after a run shows after the
next run without a new trading day; the publish writes only the rows that changed; the pools page,
the customer panel and the API show them in scope."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.urls import reverse
from django.utils.translation import override

from brokercrm.customers.choices import Pool, PoolReason
from brokercrm.customers.panels import CUSTOMER_PANELS
from brokercrm.datacenter import runner, warehouse
from brokercrm.datacenter.models import PoolEligibility
from brokercrm.datacenter.schema import CRM_KNOWLEDGE_TESTS_SCHEMA
from brokercrm.datacenter.selectors import read_pools
from brokercrm.datacenter.services import datacenter_publish
from brokercrm.datacenter.tests.builders import Book
from brokercrm.org.models import AuditEvent
from brokercrm.testing import build_world

D1, D2, D3 = date(2026, 4, 20), date(2026, 4, 21), date(2026, 4, 22)


def _book() -> Book:
    b = Book()
    for number, branch in (("10000001", "0101"), ("10000005", "0102")):
        b.customer(D1, number, branch_code=branch, first_trade_date=date(2020, 1, 2))
        b.account(D1, f"N{number}", number, branch_code=branch).cash(D1, f"N{number}", "900000.00", "900000.00")
        b.account(D1, f"K{number}", number, branch_code=branch, account_type="credit")
    b.day(D2).day(D3)
    return b


def _label(choice) -> str:
    with override("zh-hans"):  # the pages are Chinese first
        return str(choice.label)


def _record_tests(data_dir, rows):
    folder = warehouse.crm_facts_path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=CRM_KNOWLEDGE_TESTS_SCHEMA), folder / "knowledge_tests.parquet")


def _inode(data_dir, table, day):
    return (runner.current_version(data_dir) / table / f"trade_date={day}" / "part-0.parquet").stat().st_ino


def test_a_crm_fact_recorded_after_a_run_shows_after_the_next_run(tmp_path):
    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    assert read_pools(data_dir=tmp_path, day=D3)["10000001"]["options"] == (False, ("insufficient_history", "knowledge_test"))
    indicators = _inode(tmp_path, "customer_indicators", D3)

    _record_tests(tmp_path, [{"customer_no": "10000001", "test": "options", "passed_on": D2}])
    result = runner.pipeline_run(data_dir=tmp_path)
    assert (result.computed, result.pools_recomputed) == ((), (D2, D3))
    assert read_pools(data_dir=tmp_path, day=D3)["10000001"]["options"] == (False, ("insufficient_history",))
    assert read_pools(data_dir=tmp_path, day=D1)["10000001"]["options"][1] == ("insufficient_history", "knowledge_test")
    assert _inode(tmp_path, "customer_indicators", D3) == indicators  # the indicators stand
    # nothing new: nothing to do; a test dated after the last day changes no computed day
    assert runner.pipeline_run(data_dir=tmp_path).pools_recomputed == ()
    _record_tests(
        tmp_path,
        [{"customer_no": "10000001", "test": "options", "passed_on": D2},
         {"customer_no": "10000005", "test": "options", "passed_on": date(2026, 4, 23)}],
    )
    assert runner.pipeline_run(data_dir=tmp_path).pools_recomputed == ()


def test_recomputing_with_crm_facts_gives_the_same_bytes(tmp_path):
    _book().publish(tmp_path)
    _record_tests(tmp_path, [{"customer_no": "10000001", "test": "options", "passed_on": D2}])
    runner.pipeline_run(data_dir=tmp_path)
    version = runner.current_version(tmp_path)
    before = {p.relative_to(version): p.read_bytes() for p in version.rglob("*.parquet")}
    runner.pipeline_run(data_dir=tmp_path, date_from=D1)
    version = runner.current_version(tmp_path)
    assert {p.relative_to(version): p.read_bytes() for p in version.rglob("*.parquet")} == before


def test_read_pools_filters_and_refuses_a_day_not_computed(tmp_path):
    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    assert list(read_pools(data_dir=tmp_path, day=D3, customer_nos=["10000005"])) == ["10000005"]
    assert list(read_pools(data_dir=tmp_path, day=D3)["10000005"]) == [
        "margin", "chinext", "star", "bse", "hk_connect", "options"
    ]
    with pytest.raises(ValueError, match="no pools for 2026-04-23"):
        read_pools(data_dir=tmp_path, day=date(2026, 4, 23))


def test_the_publish_writes_only_the_rows_that_changed(tmp_path, db):
    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    summary = datacenter_publish(data_dir=tmp_path)
    assert summary.counts["pools"] == 12
    rows = {(r.customer.customer_no, r.pool): r for r in PoolEligibility.objects.unscoped().select_related("customer")}
    assert len(rows) == 12 and {r.as_of for r in rows.values()} == {D3}
    assert rows[("10000001", "options")].reasons == "insufficient_history;knowledge_test"

    # a knowledge test recorded in the CRM; no new trading day
    _record_tests(tmp_path, [{"customer_no": "10000001", "test": "options", "passed_on": D1}])
    runner.pipeline_run(data_dir=tmp_path)
    ids = dict(PoolEligibility.objects.unscoped().values_list("id", "reasons"))
    PoolEligibility.objects.unscoped().update(as_of=D1)  # mark every row: the publish must touch only one
    summary = datacenter_publish(data_dir=tmp_path)
    assert summary.counts["pools"] == 1
    changed = PoolEligibility.objects.unscoped().exclude(as_of=D1)
    assert [(r.customer.customer_no, r.pool, r.reasons, r.as_of) for r in changed] == [
        ("10000001", "options", "insufficient_history", D3)
    ]
    assert dict(PoolEligibility.objects.unscoped().values_list("id", "reasons")).keys() == ids.keys()
    # nothing changed since: nothing is published
    assert datacenter_publish(data_dir=tmp_path).counts == {}


@pytest.fixture
def pools_world(db):
    world = build_world()
    rows = [
        ("a1", "margin", False, "account_age;risk_level"),
        ("a1", "hk_connect", True, ""),
        ("a1b", "margin", False, "risk_level"),
        ("a2", "margin", True, ""),
        ("b", "margin", False, "risk_level"),
    ]
    for key, pool, eligible, reasons in rows:
        PoolEligibility.objects.unscoped().create(
            customer=world.customers[key], pool=pool, as_of=D3, eligible=eligible, reasons=reasons
        )
    return world


def test_the_pools_page_lists_members_in_scope_with_reasons(pools_world):
    page = pools_world.client("bm_a").get(reverse("datacenter:pools"), {"pool": "margin", "eligible": "no"})
    html = page.content.decode()
    assert page.status_code == 200
    assert "10000001" in html and "10000002" in html and "10000005" not in html  # b is in branch B
    assert _label(PoolReason.RISK_LEVEL) in html and _label(PoolReason.ACCOUNT_AGE) in html
    narrowed = pools_world.client("bm_a").get(
        reverse("datacenter:pools"), {"pool": "margin", "eligible": "no", "reason": "account_age"}
    )
    assert "10000001" in narrowed.content.decode() and "10000002" not in narrowed.content.decode()
    assert AuditEvent.objects.filter(action="customer_list", detail__via="pools").exists()
    # an account manager sees only their own customers; a researcher may not see pools
    own = pools_world.client("am_a1").get(reverse("datacenter:pools"), {"pool": "margin", "eligible": "no"})
    assert "10000001" in own.content.decode() and "10000002" not in own.content.decode()
    assert pools_world.client("researcher").get(reverse("datacenter:pools")).status_code == 403


def test_the_pool_export_is_scoped_and_audited(pools_world):
    response = pools_world.client("bm_a").get(reverse("datacenter:pools_export"), {"pool": "margin", "eligible": "no"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.splitlines()
    assert lines[0].startswith("customer_no,name,branch_code")
    assert [line.split(",")[0] for line in lines[1:]] == ["10000001", "10000002"]
    assert AuditEvent.objects.filter(action="customer_export", object_type="pool", object_id="margin").exists()
    assert pools_world.client("compliance").get(reverse("datacenter:pools_export")).status_code == 403


def test_the_customer_page_shows_each_pool_with_the_reasons_of_a_no(pools_world):
    assert CUSTOMER_PANELS[0] == "brokercrm.datacenter.panels.pools_panel"
    html = pools_world.client("bm_a").get(reverse("customers:detail", args=["10000001"])).content.decode()
    panel = html[html.index('data-testid="customer-pools"') :].split("</table>")[0]
    assert _label(Pool.MARGIN) in panel and _label(Pool.HK_CONNECT) in panel
    assert _label(PoolReason.ACCOUNT_AGE) in panel and _label(PoolReason.RISK_LEVEL) in panel
    # a researcher has no VIEW_POOLS: no panel (and no customer page either)
    assert pools_world.client("researcher").get(reverse("customers:detail", args=["10000001"])).status_code == 404


def test_the_api_lists_pool_members_in_scope(pools_world):
    client = pools_world.client("bm_a")
    body = client.get("/api/pools", {"pool": "margin", "eligible": "false"}).json()
    assert [i["customer_no"] for i in body["items"]] == ["10000001", "10000002"]
    assert body["items"][0]["reasons"] == ["account_age", "risk_level"]
    assert client.get("/api/pools", {"pool": "nope"}).status_code == 422
    one = client.get("/api/customers/10000001/pools").json()
    assert [(p["pool"], p["eligible"]) for p in one["pools"]] == [("margin", False), ("hk_connect", True)]
    assert pools_world.client("researcher").get("/api/pools", {"pool": "margin"}).status_code == 403
