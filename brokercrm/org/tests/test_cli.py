"""The operator's ``brokercrm`` verbs."""

import pytest
from typer.testing import CliRunner

from brokercrm.cli import app
from brokercrm.customers.models import Customer
from brokercrm.org.models import Employee

runner = CliRunner()


@pytest.fixture
def cli(transactional_db):
    def run(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input)

    return run


def test_org_add_list_and_createuser(cli):
    assert cli("org", "add", "HQ", "总部", "--kind", "hq").exit_code == 0
    assert cli("org", "add", "R1", "华东区", "--kind", "region", "--parent", "HQ").exit_code == 0
    assert cli("org", "add", "0101", "浦东营业部", "--kind", "branch", "--parent", "R1").exit_code == 0
    bad = cli("org", "add", "T9", "x", "--kind", "team", "--parent", "R1")
    assert bad.exit_code == 2 and "must sit under a branch" in bad.output
    listing = cli("org", "list")
    assert "浦东营业部" in listing.output and listing.exit_code == 0
    made = cli("createuser", "bm1", "--role", "branch_manager", "--node", "0101", "--password", "A-long-pass-2026")
    assert made.exit_code == 0, made.output
    employee = Employee.objects.get(user__username="bm1")
    assert employee.node.code == "0101" and employee.user.check_password("A-long-pass-2026")
    assert cli("createuser", "x", "--role", "boss", "--node", "0101", "--password", "A-long-pass-2026").exit_code == 2
    assert cli("createuser", "y", "--role", "team_lead", "--node", "NOPE", "--password", "A-long-pass-2026").exit_code == 2


def test_createuser_prompts_for_the_password(cli, monkeypatch):
    cli("org", "add", "HQ", "总部", "--kind", "hq")
    answers = iter(["A-long-pass-2026", "A-long-pass-2026"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert cli("createuser", "admin2", "--role", "hq_admin", "--node", "HQ").exit_code == 0
    assert Employee.objects.get(user__username="admin2").user.is_staff


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    from brokercrm.config import get_config

    monkeypatch.setenv("BROKERCRM_DATA_DIR", str(tmp_path))
    get_config.cache_clear()
    yield tmp_path
    get_config.cache_clear()


def test_demo_runs_the_data_center_and_is_idempotent(cli, data_dir):
    first = cli("demo", "--customers", "40", "--days", "4")
    assert first.exit_code == 0, first.output
    assert "am_0101_1_1" in first.output and "4 trading days computed" in first.output
    customers = Customer.objects.unscoped().count()
    assert customers >= 40 and (data_dir / "warehouse").is_dir()
    second = cli("demo", "--customers", "40", "--days", "4")
    assert second.exit_code == 0 and "0 trading days computed" in second.output
    assert Customer.objects.unscoped().count() == customers
    # every assigned customer is served by an account manager of their own branch
    for customer in Customer.objects.unscoped().exclude(account_manager=None).select_related("branch", "account_manager__node"):
        assert customer.account_manager.node.path.startswith(customer.branch.path)
    # and an account manager sees exactly the customers given to them
    manager = Employee.objects.get(user__username="am_0101_1_1")
    mine = set(Customer.objects.unscoped().filter(account_manager=manager).values_list("customer_no", flat=True))
    seen = set(Customer.objects.for_user(manager.user).values_list("customer_no", flat=True))
    assert mine and seen == mine


def test_token_create_prints_a_working_token(cli, world):
    result = cli("token", "create", "am_a1")
    token = result.output.strip().splitlines()[-1]
    from django.test import Client

    response = Client().get("/api/org/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json()["username"] == "am_a1"
