"""From counter exports to what people see: the CLI verbs on the worked example, the publish to
the database, the customer page's counter data and the data center page."""

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from typer.testing import CliRunner

from brokercrm.cli import app
from brokercrm.customers.models import Customer, FundAccount
from brokercrm.datacenter.models import AccountFlow, Holding, IndicatorDaily, PoolEligibility
from brokercrm.datacenter.services import datacenter_publish
from brokercrm.org.choices import NodeKind, Role
from brokercrm.org.services import employee_create, org_node_create
from brokercrm.testing import PASSWORD

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "sample"
LAST = "2026-04-22"


@pytest.fixture(scope="module")
def sample_warehouse(sample_copy):
    """The worked example ingested and computed (once per session, ``conftest.sample_computed``,
    through the operator's verbs), with its indicators and pools exported through the CLI."""
    data_dir = sample_copy
    runner = CliRunner(env={"BROKERCRM_DATA_DIR": str(data_dir)})
    from brokercrm.config import get_config

    get_config.cache_clear()
    try:
        out = data_dir / "indicators.csv"
        result = runner.invoke(app, ["export", "indicators", "--date", LAST, "--out", str(out)])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["export", "pools", "--date", LAST, "--out", str(data_dir / "pools.csv")])
        assert result.exit_code == 0, result.output
    finally:
        get_config.cache_clear()
    return data_dir


def test_the_exported_indicators_match_the_worked_example(sample_warehouse):
    produced = (sample_warehouse / "indicators.csv").read_text(encoding="utf-8")
    expected = (SAMPLE / "expected" / f"indicators-{LAST}.csv").read_text(encoding="utf-8")
    assert produced.splitlines() == expected.splitlines()


def test_the_exported_pools_are_the_worked_example_byte_for_byte(sample_warehouse):
    produced = (sample_warehouse / "pools.csv").read_bytes()
    assert produced == (SAMPLE / "expected" / f"pools-{LAST}.csv").read_bytes()


def test_published_pools_are_the_exported_ones(published, sample_warehouse):
    with open(sample_warehouse / "pools.csv", encoding="utf-8", newline="") as handle:
        exported = {(r["customer_no"], r["pool"]): (r["eligible"] == "yes", r["reasons"]) for r in csv.DictReader(handle)}
    rows = PoolEligibility.objects.unscoped().select_related("customer")
    assert {(r.customer.customer_no, r.pool): (r.eligible, r.reasons) for r in rows} == exported
    assert published.counts["pools"] == len(exported) == 42


def test_ingest_refuses_a_day_without_a_file_and_exits_2(tmp_path):
    exports = tmp_path / "hundsun"
    shutil.copytree(SAMPLE / "exports" / "hundsun" / "20260323", exports / "20260323")
    (exports / "20260323" / "deliver.csv").unlink()
    runner = CliRunner(env={"BROKERCRM_DATA_DIR": str(tmp_path / "data")})
    from brokercrm.config import get_config

    get_config.cache_clear()
    try:
        result = runner.invoke(app, ["ingest", str(exports), "--counter", "hundsun"])
    finally:
        get_config.cache_clear()
    assert result.exit_code == 2
    assert "deliver.csv" in result.output


@pytest.fixture
def published(sample_warehouse, db):
    hq = org_node_create(code="HQ", name="总部", kind=NodeKind.HQ, parent=None)
    region = org_node_create(code="R1", name="华东", kind=NodeKind.REGION, parent=hq)
    branch = org_node_create(code="0101", name="一营业部", kind=NodeKind.BRANCH, parent=region)
    employee_create(username="boss", password=PASSWORD, role=Role.HQ_ADMIN, node=hq)
    employee_create(username="bm", password=PASSWORD, role=Role.BRANCH_MANAGER, node=branch)
    employee_create(username="am", password=PASSWORD, role=Role.ACCOUNT_MANAGER, node=branch)
    summary = datacenter_publish(data_dir=sample_warehouse, window=10)
    return summary


def _client(username):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def test_publish_fills_the_master_data_and_a_window_of_history(published, sample_warehouse):
    assert published.counts["customers"] == 8 and Customer.objects.unscoped().count() == 8
    assert FundAccount.objects.unscoped().count() == published.counts["fund_accounts"]
    days = sorted(set(IndicatorDaily.objects.unscoped().values_list("trade_date", flat=True)))
    assert len(days) == 10 and days[-1].isoformat() == LAST
    assert not AccountFlow.objects.unscoped().filter(trade_date__lt=days[0]).exists()
    # unknown branch codes are placed, not dropped
    assert Customer.objects.unscoped().filter(branch__code="0102").exists()
    again = datacenter_publish(data_dir=sample_warehouse, window=10)
    assert again.days == [] and IndicatorDaily.objects.unscoped().count() == sum(published.counts.get(k, 0) for k in ["indicators"])


def test_published_figures_agree_with_the_export(published, sample_warehouse):
    with open(sample_warehouse / "indicators.csv", encoding="utf-8") as handle:
        exported = {row["customer_no"]: row for row in csv.DictReader(handle)}
    for row in IndicatorDaily.objects.unscoped().filter(trade_date=LAST).select_related("customer"):
        line = exported[row.customer.customer_no]
        assert row.total_assets == Decimal(line["total_assets"]) and row.net_assets == Decimal(line["net_assets"])
        assert row.avg_assets_20d == Decimal(line["avg_assets_20d"])
    # holdings are the positions behind the day's market values
    for number, line in exported.items():
        cny = FundAccount.objects.unscoped().filter(customer__customer_no=number, currency="CNY")
        holdings = list(Holding.objects.unscoped().filter(fund_account__in=cny.values("fund_account")))
        held = sum((h.market_value for h in holdings), Decimal(0))
        total = Decimal(line["stock_value"]) + Decimal(line["fund_value"]) + Decimal(line["bond_value"])
        # each line is rounded to the cent on its own; the indicators round the exact sum once
        assert abs(held - total) <= Decimal("0.005") * len(holdings), number


def test_the_customer_page_shows_counter_data_in_scope(published):
    number = "10000000"
    page = _client("boss").get(reverse("customers:detail", args=[number])).content.decode()
    assert 'data-testid="holdings"' in page and "招商银行" in page
    assert 'id="indicator-chart-data"' in page and LAST in page
    flows = _client("boss").get(reverse("customers:flows", args=[number]), {"kind": "cash"}).content.decode()
    assert 'data-testid="flows-cash"' in flows
    # a branch manager of 0101 sees 0101's customers only; 20000001 sits in branch 0102
    assert _client("bm").get(reverse("customers:detail", args=["20000001"])).status_code == 404
    assert _client("am").get(reverse("customers:detail", args=[number])).status_code == 404


def test_the_data_center_page_is_for_operators(published, sample_warehouse, settings):
    settings.DATA_DIR = sample_warehouse  # the page reads the configured warehouse
    page = _client("boss").get(reverse("datacenter:status"))
    assert page.status_code == 200 and LAST in page.content.decode()
    assert "hundsun" in page.content.decode() and "apex" in page.content.decode()
    day = _client("boss").get(reverse("datacenter:day", args=[LAST]))
    assert day.status_code == 200
    assert _client("am").get(reverse("datacenter:status")).status_code == 403
