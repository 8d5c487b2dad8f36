"""``brokercrm tags list`` and ``brokercrm tags add --file``: all or none, the engine's problems
printed, exit 2 on a bad tag."""

from __future__ import annotations

from typer.testing import CliRunner

from brokercrm.cli import app
from brokercrm.org.models import AuditEvent
from brokercrm.tags.models import CustomTag

GOOD = '''
[[tag]]
code = "bank_income"
name_zh = "银行股收息客户"
name_en = "Bank-stock income investor"
category = "holdings"
description = "Banks first, 50 or older."
rule = "tag('prefers_banks') and age >= 50"

[[tag]]
code = "bank_income_rich"
name_zh = "高净值银行股收息客户"
name_en = "Wealthy bank-stock income investor"
category = "value"
description = "The same with at least one million."
rule = "tag('bank_income') and total_assets >= 1000000"
'''


def test_tags_add_stores_a_file_of_tags(db, tmp_path):
    path = tmp_path / "tags.toml"
    path.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(app, ["tags", "add", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert "added bank_income" in result.output and "added bank_income_rich" in result.output
    assert sorted(CustomTag.objects.values_list("code", flat=True)) == ["bank_income", "bank_income_rich"]
    assert AuditEvent.objects.filter(action="tag_create", actor_username="cli").count() == 2
    listing = CliRunner().invoke(app, ["tags", "list", "--category", "value", "--tsv"])
    assert listing.exit_code == 0 and "bank_income_rich" in listing.output and "age_under_30" not in listing.output


def test_a_bad_tag_refuses_the_whole_file_with_the_engines_message(db, tmp_path):
    path = tmp_path / "tags.toml"
    path.write_text(GOOD.replace("total_assets >= 1000000", "total_assets >= 1e6"), encoding="utf-8")
    result = CliRunner().invoke(app, ["tags", "add", "--file", str(path)])
    assert result.exit_code == 2
    assert "refused tag 'bank_income_rich'" in result.output
    assert "exponent notation (1e6) is not allowed" in result.output and "column" in result.output
    assert not CustomTag.objects.exists()


def test_a_file_that_is_not_a_tag_file_is_refused(db, tmp_path):
    path = tmp_path / "tags.toml"
    path.write_text("this is = not toml [", encoding="utf-8")
    result = CliRunner().invoke(app, ["tags", "add", "--file", str(path)])
    assert result.exit_code == 2 and "not TOML" in result.output
    path.write_text('[other]\nx = 1\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["tags", "add", "--file", str(path)])
    assert result.exit_code == 2 and "[[tag]]" in result.output
    path.write_text(GOOD.replace('category = "value"', 'category = "vip"'), encoding="utf-8")
    result = CliRunner().invoke(app, ["tags", "add", "--file", str(path)])
    assert result.exit_code == 2 and "unknown category 'vip'" in result.output
    assert not CustomTag.objects.exists()
