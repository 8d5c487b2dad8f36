"""``brokercrm products import`` / ``export``."""

import pytest
from typer.testing import CliRunner

from brokercrm.cli import app
from brokercrm.products.models import Product
from brokercrm.products.tests.test_import import SAMPLE

runner = CliRunner()


@pytest.fixture
def cli(transactional_db):
    def run(*args: str):
        return runner.invoke(app, list(args))

    return run


def test_import_the_sample_then_export_and_reimport(cli, tmp_path):
    loaded = cli("products", "import", str(SAMPLE))
    assert loaded.exit_code == 0, loaded.output
    assert "38 lines read, 38 created, 0 updated" in " ".join(loaded.output.split())
    assert Product.objects.count() == 38
    out = tmp_path / "products.xlsx"
    exported = cli("products", "export", "--out", str(out))
    assert exported.exit_code == 0 and out.is_file()
    again = cli("products", "import", str(out))
    assert again.exit_code == 0 and "38 unchanged, 0 rejected" in " ".join(again.output.split())


def test_bad_lines_exit_0_and_a_refused_file_exits_2(cli, tmp_path):
    bad_line = tmp_path / "mixed.csv"
    bad_line.write_text(
        SAMPLE.read_text(encoding="utf-8").splitlines()[0] + "\nX1,好,fund,R1,short,fixed_income,,某,1,on_sale\nX2,坏,fund,R8,short,fixed_income,,某,1,on_sale\n",
        encoding="utf-8",
    )
    result = cli("products", "import", str(bad_line))
    text = " ".join(result.output.split())
    assert result.exit_code == 0 and "1 created" in text and "1 rejected" in text and "R8" in text
    refused = tmp_path / "refused.csv"
    refused.write_text("code,name\nX3,y\n", encoding="utf-8")
    result = cli("products", "import", str(refused))
    assert result.exit_code == 2 and "missing column(s)" in result.output
    assert Product.objects.count() == 1
