"""Coverage and history at publish, and a tag head office adds computed by the next pipeline run
(the command line's ``pipeline run`` passes the current catalogue; the runner's fingerprint
covers the rules, so every computed day is recomputed and the publish writes the new tag)."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from typer.testing import CliRunner

from brokercrm.cli import app
from brokercrm.datacenter import runner
from brokercrm.datacenter.services import datacenter_publish
from brokercrm.datacenter.tests.builders import Book
from brokercrm.segments.models import CustomerTag
from brokercrm.tags.models import CoverageDay, TagCoverage
from brokercrm.tags.selectors import coverage_latest, tag_history, tag_rows
from brokercrm.tags.services import custom_tag_create, custom_tag_set_active, tag_coverage_publish

D1, D2, D3 = date(2026, 4, 20), date(2026, 4, 21), date(2026, 4, 22)
RICH = {
    "code": "cash_rich",
    "name_zh": "现金充裕",
    "name_en": "Cash rich",
    "category": "assets",
    "description": "At least ¥800,000 in cash.",
    "rule": "cash_balance >= 800000",
}


def _book() -> Book:
    b = Book()
    for number, branch, cash in (("10000001", "0101", "900000.00"), ("10000005", "0102", "1000.00")):
        b.customer(D1, number, branch_code=branch)
        b.account(D1, f"N{number}", number, branch_code=branch).cash(D1, f"N{number}", cash, cash)
    b.day(D2).day(D3)
    return b


def _snapshot_counts(data_dir, day) -> dict[str, int]:
    tags = runner.read_snapshot(data_dir=data_dir, table="tags", day=day)
    return dict(Counter(tags.column("tag_code").to_pylist()))


def test_publish_counts_customers_per_tag_for_every_day(tmp_path, world):
    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    summary = datacenter_publish(data_dir=tmp_path)
    assert summary.counts["tag_coverage_days"] == 3
    for day in (D1, D2, D3):
        stored = dict(TagCoverage.objects.filter(as_of=day).values_list("tag_code", "customers"))
        assert stored == _snapshot_counts(tmp_path, day) and stored
        assert CoverageDay.objects.get(as_of=day).population == 2
    latest = coverage_latest()
    assert latest.as_of == D3 and latest.population == 2
    # the DB's customer tags agree with the latest day's coverage
    assert Counter(CustomerTag.objects.unscoped().values_list("tag_code", flat=True)) == Counter(latest.customers)
    code = next(iter(latest.customers))
    assert [p.as_of for p in tag_history(code)] == [D1, D2, D3]
    # nothing changed: nothing counted again
    assert tag_coverage_publish(data_dir=tmp_path).days == []


def test_history_is_backfilled_from_earlier_snapshots(tmp_path, world):
    _book().publish(tmp_path)
    runner.pipeline_run(data_dir=tmp_path)
    datacenter_publish(data_dir=tmp_path)
    CoverageDay.objects.filter(as_of__lt=D3).delete()
    TagCoverage.objects.filter(as_of__lt=D3).delete()
    assert tag_coverage_publish(data_dir=tmp_path).days == [D1, D2]
    assert set(CoverageDay.objects.values_list("as_of", flat=True)) == {D1, D2, D3}


@pytest.mark.slow
def test_a_tag_added_by_head_office_is_computed_and_published_by_the_next_run(tmp_path, world, monkeypatch):
    """Through the operator's ``brokercrm pipeline run``: added, recomputed, published, counted;
    deactivated, gone again."""
    from brokercrm.config import get_config

    _book().publish(tmp_path)
    monkeypatch.setenv("BROKERCRM_DATA_DIR", str(tmp_path))
    get_config.cache_clear()
    cli = CliRunner()
    try:
        first = cli.invoke(app, ["pipeline", "run"])
        assert first.exit_code == 0, first.output
        assert not CustomerTag.objects.unscoped().filter(tag_code="cash_rich").exists()

        custom_tag_create(actor=world.user("hq_admin"), **RICH)
        row = next(r for r in tag_rows() if r.code == "cash_rich")
        assert row.pending and row.customers is None
        again = cli.invoke(app, ["pipeline", "run"])
        assert again.exit_code == 0, again.output
        assert "computed 3 days" in again.output  # the rule is in every day's fingerprint
        carriers = CustomerTag.objects.unscoped().filter(tag_code="cash_rich")
        assert [t.customer.customer_no for t in carriers] == ["10000001"]
        assert [(p.as_of, p.customers) for p in tag_history("cash_rich")] == [(D1, 1), (D2, 1), (D3, 1)]
        row = next(r for r in tag_rows() if r.code == "cash_rich")
        assert (row.pending, row.customers, str(row.share)) == (False, 1, "50.00")
        page = world.client("am_a1").get("/tags/cash_rich/").content.decode()
        assert "50.00%" in page

        custom_tag_set_active(actor=world.user("hq_admin"), tag=row_tag("cash_rich"), active=False)
        gone = cli.invoke(app, ["pipeline", "run"])
        assert gone.exit_code == 0, gone.output
        assert not CustomerTag.objects.unscoped().filter(tag_code="cash_rich").exists()
        assert "cash_rich" not in _snapshot_counts(tmp_path, D3)
    finally:
        get_config.cache_clear()


def row_tag(code):
    from brokercrm.tags.models import CustomTag

    return CustomTag.objects.get(code=code)
