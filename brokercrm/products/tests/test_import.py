"""Import and export of the product library (DOMAIN.md, "Product library import")."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from brokercrm.org.choices import AuditAction
from brokercrm.org.models import AuditEvent
from brokercrm.products.models import Product
from brokercrm.products.services import COLUMNS, products_export_xlsx, products_import

SAMPLE = Path(__file__).resolve().parents[3] / "examples" / "sample" / "exports" / "products.csv"
HEADER = ",".join(COLUMNS)


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    return (("\ufeff" if bom else "") + "\n".join([HEADER, *lines]) + "\n").encode("utf-8")


def load(data: bytes, filename: str = "products.csv", actor=None):
    return products_import(actor=actor, path_or_file=data, filename=filename)


GOOD = "F001,华夏现金增利货币A,fund,R1,short,fixed_income,,华夏基金,1000,on_sale"


@pytest.mark.django_db
def test_the_sample_file_loads_38_products():
    result = products_import(actor=None, path_or_file=SAMPLE)
    assert (result.filename, result.read, result.created, result.rejected) == ("products.csv", 38, 38, 0)
    assert Product.objects.count() == 38
    p = Product.objects.get(product_code="P0005")
    assert (p.name, p.product_type, p.risk_level, p.required_pool, p.min_amount) == (
        "测试产品5", "fund", "R1", "chinext", Decimal("1000.00")
    )


@pytest.mark.django_db
def test_good_lines_load_and_each_bad_line_says_line_field_and_reason():
    data = csv_bytes(
        GOOD,  # line 2
        "F002,,fund,R6,short,fixed_income,,某基金,100,on_sale",  # 3: missing name, unknown risk
        "F003,短债A,fund,R2,short,fixed_income,moon,某基金,100,on_sale",  # 4: unknown pool
        "F004,债A,fund,R2,short,fixed_income,,某基金,100.125,on_sale",  # 5: 3 decimals
        "F005,债B,fund,R2,short,fixed_income,,某基金,-1,on_sale",  # 6: negative
        "F006,债C,fund,R2,short,fixed_income,,某基金,abc,on_sale",  # 7: not an amount
        "F001,重复,fund,R2,short,fixed_income,,某基金,100,on_sale",  # 8: duplicate of line 2
        "F007,债D,fund,R2,short,fixed_income,,某基金,,soon",  # 9: missing amount, unknown status
        "F008,债E,fund,R2,yearly,fixed_income,,某基金,1000000.00,closed",  # 10: unknown horizon
        "F009,期权,structured,R5,short,derivatives,options,中信证券,\"1,000,000.50\",on_sale",  # 11: good
    )
    result = load(data)
    found = [(e.line, e.field, e.value) for e in result.errors]
    assert found == [
        (3, "name", ""),
        (3, "risk_level", "R6"),
        (4, "required_pool", "moon"),
        (5, "min_amount", "100.125"),
        (6, "min_amount", "-1"),
        (7, "min_amount", "abc"),
        (8, "product_code", "F001"),
        (9, "min_amount", ""),
        (9, "status", "soon"),
        (10, "horizon", "yearly"),
    ]
    reasons = {(e.line, e.field): e.reason for e in result.errors}
    assert reasons[(3, "name")] == "Missing value."
    assert reasons[(3, "risk_level")] == "Unknown value “R6”; expected one of: R1, R2, R3, R4, R5."
    assert reasons[(5, "min_amount")] == "The amount has more than 2 decimal places."
    assert reasons[(6, "min_amount")] == "The amount must not be negative."
    assert reasons[(7, "min_amount")] == "“abc” is not an amount."
    assert reasons[(8, "product_code")] == "Product code F001 already appears on line 2."
    assert (result.read, result.created, result.updated, result.rejected) == (10, 2, 0, 8)
    assert sorted(Product.objects.values_list("product_code", flat=True)) == ["F001", "F009"]
    assert Product.objects.get(product_code="F001").name == "华夏现金增利货币A"  # the first line wins
    assert Product.objects.get(product_code="F009").min_amount == Decimal("1000000.50")


@pytest.mark.django_db
def test_bom_blank_lines_and_trailing_zero_decimals_are_fine():
    data = csv_bytes(GOOD, "", "F002,稳健1号集合资产管理计划,asset_mgmt,R2,medium,fixed_income,,广发证券资管,1000000.000,on_sale", bom=True)
    result = load(data)
    assert (result.read, result.created, result.errors) == (2, 2, [])
    assert Product.objects.get(product_code="F002").min_amount == Decimal("1000000.00")


@pytest.mark.django_db
def test_a_line_with_too_many_fields_is_rejected_whole():
    result = load(csv_bytes(GOOD + ",extra"))
    assert [(e.line, e.field, e.reason) for e in result.errors] == [
        (2, "", "The line has 11 fields; the header has 10.")
    ]
    assert not Product.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, filename, message",
    [
        (b"product_code,name\nX,y\n", "p.csv", "missing column(s): product_type, risk_level, horizon, variety, required_pool, issuer, min_amount, status"),
        ((HEADER + ",colour\n" + GOOD + ",red\n").encode(), "p.csv", "unknown column(s): colour"),
        (b"", "p.csv", "The file is empty"),
        (csv_bytes(GOOD).decode().replace("华夏", "中文").encode("gbk"), "p.csv", "not UTF-8"),
        (b"not a workbook", "p.xlsx", "not a readable Excel"),
        (csv_bytes(GOOD), "p.xls", "Old Excel files (.xls)"),
        (csv_bytes(GOOD), "p.pdf", "Unsupported file type “.pdf”"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(data, filename, message):
    with pytest.raises(ValidationError) as refused:
        load(data, filename)
    assert message in " ".join(refused.value.messages)
    assert not Product.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.PRODUCT_IMPORT).exists()


@pytest.mark.django_db
def test_reimport_updates_changed_products_and_leaves_the_rest():
    load(csv_bytes(GOOD, "F002,债A,fund,R2,medium,fixed_income,,某基金,100,on_sale"))
    again = load(csv_bytes(GOOD.replace(",1000,", ",10,"), "F002,债A,fund,R2,medium,fixed_income,,某基金,100,on_sale", "F003,新,bond,R1,long,fixed_income,,财政部,1000,on_sale"))
    assert (again.read, again.created, again.updated, again.unchanged, again.rejected) == (3, 1, 1, 1, 0)
    assert Product.objects.get(product_code="F001").min_amount == Decimal("10.00")
    event = AuditEvent.objects.filter(action=AuditAction.PRODUCT_IMPORT).latest("id")
    assert (event.actor_username, event.detail["created"], event.detail["updated"]) == ("cli", 1, 1)
    change = AuditEvent.objects.get(action=AuditAction.PRODUCT_UPDATE, object_id="F001")
    assert change.detail["changes"] == {"min_amount": ["1000.00", "10.00"]}


@pytest.mark.django_db
def test_xlsx_round_trip(tmp_path):
    load(csv_bytes(GOOD, "007123,中证500指数增强A,fund,R3,long,equity,,易方达基金,10.50,closed", "SV001,科创板股票交易权限,service,R4,medium,equity,star,本公司,0,on_sale"))
    out = tmp_path / "products.xlsx"
    assert products_export_xlsx(products=Product.objects.order_by("product_code"), out=out) == 3
    sheet = openpyxl.load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert rows[1][:2] == ("007123", "中证500指数增强A")  # the code keeps its leading zeros
    before = list(Product.objects.order_by("product_code").values(*COLUMNS))
    Product.objects.all().delete()
    result = products_import(actor=None, path_or_file=out)
    assert (result.created, result.errors) == (3, [])
    assert list(Product.objects.order_by("product_code").values(*COLUMNS)) == before
    again = products_import(actor=None, path_or_file=io.BytesIO(out.read_bytes()), filename="products.xlsx")
    assert (again.unchanged, again.updated) == (3, 0)


@pytest.mark.django_db
def test_xlsx_bad_cells_are_reported_by_row(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    sheet.append(["A1", "好", "fund", "R1", "short", "fixed_income", None, "某基金", 1000, "on_sale"])
    sheet.append([None] * 10)
    sheet.append(["A2", "坏", "fund", "R1", "short", "fixed_income", None, "某基金", 0.001, "on_sale"])
    out = tmp_path / "p.xlsx"
    book.save(out)
    result = products_import(actor=None, path_or_file=out)
    assert result.created == 1
    assert [(e.line, e.field) for e in result.errors] == [(4, "min_amount")]


@pytest.mark.django_db
def test_only_head_office_may_import(world):
    with pytest.raises(PermissionDenied):
        load(csv_bytes(GOOD), actor=world.user("bm_a"))
    result = load(csv_bytes(GOOD), actor=world.user("hq_admin"))
    assert result.created == 1
    assert AuditEvent.objects.get(action=AuditAction.PRODUCT_CREATE, object_id="F001").actor_username == "hq_admin"
