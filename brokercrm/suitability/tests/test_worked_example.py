"""Acceptance: the worked example's suitability (7 customers × 38 products on 2026-04-22), from
counter exports through ingest, pipeline, publish and the product import to the export, byte
for byte; and the same decisions through the API."""

import csv
import json
from pathlib import Path

import pytest
from django.test import Client
from typer.testing import CliRunner

from brokercrm.cli import app
from brokercrm.datacenter.services import datacenter_publish
from brokercrm.org.choices import NodeKind, Role
from brokercrm.org.models import AuditEvent
from brokercrm.org.services import employee_create, org_node_create
from brokercrm.products.models import Product
from brokercrm.testing import PASSWORD

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "examples" / "sample"
DAY = "2026-04-22"
EXPECTED = SAMPLE / "expected" / f"suitability-{DAY}.csv"


@pytest.fixture(scope="module")
def sample_warehouse(sample_copy):
    """The worked example ingested (both counters) and computed (``conftest.sample_computed``)."""
    return sample_copy


def _import_products(runner: CliRunner) -> None:
    result = runner.invoke(app, ["products", "import", str(SAMPLE / "exports" / "products.csv")])
    assert result.exit_code == 0, result.output
    assert Product.objects.count() == 38


@pytest.fixture
def published(sample_warehouse, db, settings):
    settings.DATA_DIR = sample_warehouse
    hq = org_node_create(code="HQ", name="总部", kind=NodeKind.HQ, parent=None)
    region = org_node_create(code="R1", name="华东", kind=NodeKind.REGION, parent=hq)
    branch = org_node_create(code="0101", name="一营业部", kind=NodeKind.BRANCH, parent=region)
    employee_create(username="boss", password=PASSWORD, role=Role.HQ_ADMIN, node=hq)
    employee_create(username="bm", password=PASSWORD, role=Role.BRANCH_MANAGER, node=branch)
    datacenter_publish(data_dir=sample_warehouse, window=10)
    runner = CliRunner(env={"BROKERCRM_DATA_DIR": str(sample_warehouse)})
    from brokercrm.config import get_config

    get_config.cache_clear()
    try:
        _import_products(runner)
        yield runner
    finally:
        get_config.cache_clear()


def test_the_export_equals_the_worked_example_byte_for_byte(published, sample_warehouse):
    out = sample_warehouse / "suitability.csv"
    result = published.invoke(app, ["export", "suitability", "--date", DAY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == EXPECTED.read_bytes()
    assert AuditEvent.objects.filter(action="customer_export", object_type="suitability", object_id=DAY).exists()


def test_the_export_takes_customers_and_products(published, sample_warehouse):
    out = sample_warehouse / "some.csv"
    result = published.invoke(
        app,
        ["export", "suitability", "--date", DAY, "--out", str(out), "--customers", "20000007,10000002", "--products", "P0006,P0014"],
    )
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").splitlines() == [
        "customer_no,product_code,result,reasons",
        "10000002,P0006,mismatch_warn,horizon;variety",
        "10000002,P0014,mismatch_warn,horizon;variety",
        "20000007,P0006,match,",
        "20000007,P0014,mismatch_warn,horizon;variety",
    ]
    bad = published.invoke(app, ["export", "suitability", "--date", DAY, "--out", str(out), "--products", "NOPE"])
    assert bad.exit_code == 2 and "NOPE" in bad.output
    early = published.invoke(app, ["export", "suitability", "--date", "2026-01-05", "--out", str(out)])
    assert early.exit_code == 2


def test_the_api_gives_the_same_decisions_in_scope(published):
    with open(EXPECTED, encoding="utf-8") as handle:
        expected = [(r["customer_no"], r["product_code"], r["result"], r["reasons"]) for r in csv.DictReader(handle)]
    from django.contrib.auth import get_user_model

    def client(username):
        c = Client()
        c.force_login(get_user_model().objects.get(username=username))
        return c

    got, page = [], 1
    while True:
        body = json.loads(client("boss").get("/api/suitability", {"date": DAY, "page": page, "page_size": 50}).content)
        got += [(i["customer_no"], i["product_code"], i["result"], ";".join(i["reasons"])) for i in body["items"]]
        if page >= body["pages"]:
            break
        page += 1
    assert got == expected and body["count"] == len(expected)

    # a branch manager of 0101 sees 0101's customers only
    from brokercrm.customers.models import Customer

    mine = set(Customer.objects.unscoped().filter(branch__code="0101").values_list("customer_no", flat=True))
    body = json.loads(client("bm").get("/api/suitability", {"date": DAY, "page_size": 200}).content)
    seen = {i["customer_no"] for i in body["items"]}
    assert seen and seen <= mine
    assert body["count"] == 38 * len({c for c, *_ in expected if c in mine})

    one = json.loads(client("boss").get("/api/customers/20000007/suitability", {"date": DAY, "products": "P0006,P0014"}).content)
    assert [(i["product_code"], i["result"], i["reasons"]) for i in one["items"]] == [
        ("P0006", "match", []),
        ("P0014", "mismatch_warn", ["horizon", "variety"]),
    ]
