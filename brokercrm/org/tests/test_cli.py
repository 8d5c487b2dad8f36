"""The operator's ``brokercrm`` verbs."""

import pytest
from typer.testing import CliRunner

from brokercrm.cli import app
from brokercrm.customers.models import Customer
from brokercrm.org.models import Employee, OrgNode

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


def test_demo_is_idempotent(cli):
    first = cli("demo", "--customers", "40")
    assert first.exit_code == 0, first.output
    assert "am_zhang" in first.output
    second = cli("demo", "--customers", "40")
    assert "already loaded" in second.output
    assert Customer.objects.unscoped().count() == 40 and OrgNode.objects.filter(kind="branch").count() == 3


def test_token_create_prints_a_working_token(cli):
    cli("demo", "--customers", "5")
    result = cli("token", "create", "am_zhang")
    token = result.output.strip().splitlines()[-1]
    from django.test import Client

    response = Client().get("/api/org/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.json()["username"] == "am_zhang"
