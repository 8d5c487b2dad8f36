"""Product pages and API: who may see and change what, search and filters, forms, import page,
documents and the Excel export."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from brokercrm.products.models import Product
from brokercrm.products.services import COLUMNS, product_create
from brokercrm.products.signals import product_terms_changed

VIEWERS = ("hq_admin", "compliance", "researcher", "bm_a", "tl_a1", "am_a1")
NOT_MANAGERS = ("compliance", "researcher", "bm_a", "tl_a1", "am_a1")


@pytest.fixture
def library(world):
    rows = [
        ("000198", "天弘余额宝货币", "fund", "R1", "short", "fixed_income", "", "1.00", "on_sale"),
        ("007123", "易方达中证500指数增强A", "fund", "R3", "long", "equity", "", "10.00", "on_sale"),
        ("AM00001", "广发稳健1号集合资产管理计划", "asset_mgmt", "R2", "medium", "fixed_income", "", "1000000.00", "closed"),
        ("SV002", "科创板股票交易权限", "service", "R4", "medium", "equity", "star", "0", "on_sale"),
    ]
    for i in range(30):
        rows.append((f"W{i:06d}", f"招银理财朝招金{i}号", "wealth", "R2", "short", "fixed_income", "", "1.00", "on_sale"))
    for code, name, kind, risk, horizon, variety, pool, amount, status in rows:
        product_create(
            actor=None, product_code=code, name=name, product_type=kind, risk_level=risk, horizon=horizon,
            variety=variety, required_pool=pool, min_amount=amount, status=status, issuer="某公司",
        )
    return world


def codes(response) -> list[str]:
    html = response.content.decode()
    return [code for code in Product.objects.values_list("product_code", flat=True) if f">{code}</a>" in html]


def test_product_pages_need_view_products(library):
    """Products are not customer data: a user without the capability gets 403, not 404."""
    from django.contrib.auth import get_user_model

    nobody = get_user_model().objects.create_user(username="no_role", password="x-password-2026")
    client = Client()
    client.force_login(nobody)
    for url in ("/products/", "/products/007123/", "/api/products/", "/api/products/007123"):
        assert client.get(url).status_code == 403, url
        assert Client().get(url).status_code in (302, 401), url
    for username in VIEWERS:
        c = library.client(username)
        assert c.get("/products/").status_code == 200, username
        page = c.get("/products/007123/")
        assert page.status_code == 200 and "易方达中证500指数增强A" in page.content.decode()
        assert c.get("/api/products/007123").json()["risk_level"] == "R3"
    assert library.client("hq_admin").get("/products/NOPE/").status_code == 404


def test_manage_pages_are_for_head_office_only(library):
    urls = ("/products/new/", "/products/import/", "/products/export.xlsx", "/products/007123/edit/")
    for username in NOT_MANAGERS:
        client = library.client(username)
        for url in urls:
            assert client.get(url).status_code == 403, (username, url)
        assert client.post("/products/007123/edit/", {"name": "x"}).status_code == 403
        assert "/products/new/" not in client.get("/products/").content.decode()
    admin = library.client("hq_admin")
    for url in urls:
        assert admin.get(url).status_code == 200, url
    assert "/products/new/" in admin.get("/products/").content.decode()


def test_navigation_shows_products_to_viewers(library, db):
    assert 'href="/products/"' in library.client("researcher").get("/").content.decode()


def test_list_search_filters_and_pagination(library):
    client = library.client("am_a1")
    assert len(codes(client.get("/products/"))) == 25  # 34 products, 25 a page
    assert len(codes(client.get("/products/", {"page": 2}))) == 9
    assert codes(client.get("/products/", {"query": "0071"})) == ["007123"]
    assert codes(client.get("/products/", {"query": "易方达"})) == ["007123"]
    assert codes(client.get("/products/", {"query": "am0"})) == ["AM00001"]  # codes ignore case
    assert codes(client.get("/products/", {"risk_level": "R1"})) == ["000198"]
    assert codes(client.get("/products/", {"status": "closed"})) == ["AM00001"]
    assert codes(client.get("/products/", {"required_pool": "star"})) == ["SV002"]
    assert len(codes(client.get("/products/", {"required_pool": "none", "product_type": "fund"}))) == 2
    partial = client.get("/products/", {"query": "SV"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in partial.content.decode() and codes(partial) == ["SV002"]


def test_create_and_edit_through_the_forms(library):
    client = library.client("hq_admin")
    form = {
        "product_code": "F900", "name": "华夏稳健1号", "product_type": "fund", "risk_level": "R2",
        "horizon": "medium", "variety": "fixed_income", "required_pool": "", "issuer": "华夏基金",
        "min_amount": "1000", "status": "on_sale", "description": "",
    }
    response = client.post("/products/new/", form)
    assert response.status_code == 302 and response["Location"] == "/products/F900/"
    again = client.post("/products/new/", form)
    assert again.status_code == 200 and "F900" in again.content.decode()  # the form again, with the error
    assert Product.objects.filter(product_code="F900").count() == 1

    received = []
    product_terms_changed.connect(lambda sender, **kw: received.append(kw["old"]), dispatch_uid="page-test", weak=False)
    try:
        edited = client.post("/products/F900/edit/", form | {"risk_level": "R4", "min_amount": "2000"})
    finally:
        product_terms_changed.disconnect(dispatch_uid="page-test")
    assert edited.status_code == 302
    product = Product.objects.get(product_code="F900")
    assert (product.risk_level, product.min_amount) == ("R4", Decimal("2000.00"))
    assert [old["risk_level"] for old in received] == ["R2"]
    bad = client.post("/products/F900/edit/", form | {"min_amount": "-3"})
    assert bad.status_code == 200 and Product.objects.get(product_code="F900").min_amount == Decimal("2000.00")


def test_import_page_shows_counts_and_errors(library):
    client = library.client("hq_admin")
    header = ",".join(COLUMNS)
    body = f"{header}\nN1,新产品,fund,R1,short,fixed_income,,某基金,1000,on_sale\nN2,坏,fund,R9,short,fixed_income,,某基金,1000,on_sale\n"
    response = client.post("/products/import/", {"file": SimpleUploadedFile("new.csv", body.encode())})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="import-created">1<' in html and 'data-testid="import-rejected">1<' in html
    assert "<td class=\"num\">3</td>" in html and "R9" in html
    assert Product.objects.filter(product_code="N1").exists()
    refused = client.post("/products/import/", {"file": SimpleUploadedFile("x.csv", b"code,name\n1,2\n")})
    assert 'data-testid="import-refused"' in refused.content.decode()


def test_export_is_a_reimportable_workbook(library):
    response = library.client("hq_admin").get("/products/export.xlsx", {"status": "closed"})
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0] == COLUMNS and [r[0] for r in rows[1:]] == ["AM00001"]


def test_documents_upload_and_download(library, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    admin = library.client("hq_admin")
    response = admin.post(
        "/products/007123/documents/", {"title": "基金合同", "file": SimpleUploadedFile("合同.pdf", b"%PDF-1.4 contract")}
    )
    assert response.status_code == 302
    document = Product.objects.get(product_code="007123").documents.get()
    page = library.client("am_a1").get("/products/007123/").content.decode()
    assert "基金合同" in page and f"/products/007123/documents/{document.pk}/" in page
    download = library.client("am_a1").get(f"/products/007123/documents/{document.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 contract"
    assert library.client("am_a1").get(f"/products/000198/documents/{document.pk}/").status_code == 404
    refused = library.client("bm_a").post(
        "/products/007123/documents/", {"title": "x", "file": SimpleUploadedFile("x.pdf", b"x")}
    )
    assert refused.status_code == 403


def test_api_lists_filters_and_pages(library):
    client = library.client("am_a1")
    data = client.get("/api/products/", {"page_size": 10, "page": 4}).json()
    assert (data["count"], data["pages"], data["page"], len(data["items"])) == (34, 4, 4, 4)
    data = client.get("/api/products/", {"risk_level": "R4"}).json()
    assert [i["product_code"] for i in data["items"]] == ["SV002"] and data["items"][0]["required_pool"] == "star"
    assert client.get("/api/products/", {"page_size": 1000}).status_code == 422
    assert client.get("/api/products/NOPE").status_code == 404


def test_api_writes_need_manage_products(library):
    payload = {"product_code": "API1", "name": "接口产品", "product_type": "bond", "risk_level": "R1", "horizon": "long", "variety": "fixed_income", "min_amount": "1000.00"}
    for username in NOT_MANAGERS:
        client = library.client(username)
        assert client.post("/api/products/", payload, content_type="application/json").status_code == 403
        assert client.put("/api/products/007123", {"risk_level": "R5"}, content_type="application/json").status_code == 403
    admin = library.client("hq_admin")
    created = admin.post("/api/products/", payload, content_type="application/json")
    assert created.status_code == 201 and created.json()["min_amount"] == "1000.00"
    changed = admin.put("/api/products/API1", {"risk_level": "R2", "status": "closed"}, content_type="application/json")
    assert changed.status_code == 200 and (changed.json()["risk_level"], changed.json()["name"]) == ("R2", "接口产品")
    bad = admin.put("/api/products/API1", {"risk_level": "R7"}, content_type="application/json")
    assert bad.status_code == 422 and "risk_level" in bad.json()["detail"]
    assert Product.objects.get(product_code="API1").risk_level == "R2"
