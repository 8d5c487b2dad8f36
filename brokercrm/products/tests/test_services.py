"""Creating and changing products: validation, audit, the signal suitability listens to, documents,
and the demo generator."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from brokercrm.org.choices import AuditAction
from brokercrm.org.models import AuditEvent
from brokercrm.products.demo import products_demo_generate, products_demo_load
from brokercrm.products.models import Product, product_document_root
from brokercrm.products.services import (
    product_create,
    product_document_add,
    product_update,
    products_import,
)
from brokercrm.products.signals import product_terms_changed

TERMS = dict(product_type="fund", risk_level="R3", horizon="medium", variety="equity")


@pytest.fixture
def received():
    calls = []

    def receiver(sender, **kwargs):
        calls.append((sender, kwargs))

    product_terms_changed.connect(receiver, dispatch_uid="products-test")
    yield calls
    product_terms_changed.disconnect(dispatch_uid="products-test")


@pytest.fixture
def product(db):
    return product_create(actor=None, product_code="F001", name="中证500指数增强A", issuer="易方达基金", min_amount="10", **TERMS)


def test_create_validates_every_field(db):
    with pytest.raises(ValidationError) as bad:
        product_create(
            actor=None, product_code="a b", name="", product_type="car", risk_level="R0", horizon="short",
            variety="equity", min_amount=Decimal("1.005"),
        )
    assert set(bad.value.message_dict) == {"product_code", "name", "product_type", "risk_level", "min_amount"}
    assert not Product.objects.exists()


def test_a_code_is_used_once(product):
    with pytest.raises(ValidationError) as taken:
        product_create(actor=None, product_code="F001", name="另一个", **TERMS)
    assert taken.value.message_dict == {"product_code": ["Product code F001 is already in use."]}


def test_a_risk_change_fires_the_signal_with_the_old_terms(product, received, world):
    actor = world.user("hq_admin")
    updated = product_update(actor=actor, product=product, risk_level="R4")
    assert updated.risk_level == "R4" and Product.objects.get(pk=product.pk).risk_level == "R4"
    assert len(received) == 1
    sender, kwargs = received[0]
    assert sender is Product
    assert kwargs["product"].risk_level == "R4"
    assert kwargs["old"] == {"risk_level": "R3", "horizon": "medium", "variety": "equity", "required_pool": ""}
    assert kwargs["actor"] == actor
    event = AuditEvent.objects.get(action=AuditAction.PRODUCT_UPDATE)
    assert (event.actor_username, event.object_id, event.detail["changes"]) == ("hq_admin", "F001", {"risk_level": ["R3", "R4"]})


def test_each_term_fires_the_signal(product, received):
    for name, value in (("horizon", "long"), ("variety", "complex"), ("required_pool", "star")):
        product_update(actor=None, product=product, **{name: value})
    assert [kwargs["product"].required_pool for _, kwargs in received] == ["", "", "star"]
    assert len(received) == 3


def test_other_changes_and_no_change_fire_nothing(product, received):
    product_update(actor=None, product=product, name="新名字", issuer="别家", min_amount=Decimal("100"), status="closed")
    product_update(actor=None, product=product, risk_level="R3", horizon="medium")  # the same terms again
    assert received == []
    assert AuditEvent.objects.filter(action=AuditAction.PRODUCT_UPDATE).count() == 1


def test_an_import_that_changes_a_risk_level_fires_the_signal_once(product, received):
    header = "product_code,name,product_type,risk_level,horizon,variety,required_pool,issuer,min_amount,status\n"
    same = "F001,中证500指数增强A,fund,R3,medium,equity,,易方达基金,10,on_sale\n"
    products_import(actor=None, path_or_file=(header + same).encode(), filename="p.csv")
    assert received == []
    products_import(actor=None, path_or_file=(header + same.replace("R3", "R5")).encode(), filename="p.csv")
    assert [kwargs["old"]["risk_level"] for _, kwargs in received] == ["R3"]


def test_the_form_instance_being_changed_already_does_not_hide_a_change(product, received):
    product.risk_level = "R5"  # what a ModelForm does to its instance while validating
    product_update(actor=None, product=product, risk_level="R5")
    assert received[0][1]["old"]["risk_level"] == "R3"


def test_the_code_cannot_change_and_only_head_office_may_write(product, world):
    with pytest.raises(ValidationError):
        product_update(actor=None, product=product, product_code="F002")
    for username in ("bm_a", "am_a1", "compliance", "researcher"):
        with pytest.raises(PermissionDenied):
            product_update(actor=world.user(username), product=product, name="x")
        with pytest.raises(PermissionDenied):
            product_create(actor=world.user(username), product_code="F009", name="x", **TERMS)
    assert Product.objects.get(pk=product.pk).name == "中证500指数增强A"


def test_documents_are_stored_under_the_media_root(product, settings, tmp_path, world):
    settings.MEDIA_ROOT = str(tmp_path)
    document = product_document_add(
        actor=world.user("hq_admin"), product=product, title="招募说明书",
        file=SimpleUploadedFile("招募说明书.pdf", b"%PDF-1.4 test"),
    )
    stored = product_document_root() / document.file.name
    assert stored.is_file() and stored.read_bytes() == b"%PDF-1.4 test"
    assert str(stored).startswith(str(tmp_path / "products"))
    assert document.uploaded_by == world.user("hq_admin")
    with pytest.raises(ValidationError) as bad:
        product_document_add(actor=None, product=product, title="", file=SimpleUploadedFile("x.exe", b"MZ"))
    assert set(bad.value.message_dict) == {"title", "file"}


def test_the_demo_library_is_deterministic_and_plausible():
    rows = products_demo_generate(count=1000, seed=7)
    assert rows == products_demo_generate(count=1000, seed=7)
    assert rows != products_demo_generate(count=1000, seed=8)
    assert len(rows) == 1000 and len({r["product_code"] for r in rows}) == 1000
    types = {r["product_type"] for r in rows}
    assert types == {"fund", "bond", "asset_mgmt", "wealth", "structured", "service", "other"}
    assert {r["risk_level"] for r in rows} == {"R1", "R2", "R3", "R4", "R5"}
    closed = sum(r["status"] == "closed" for r in rows)
    assert 60 <= closed <= 140
    money = [r for r in rows if "货币" in r["name"]]
    assert money and all((r["risk_level"], r["horizon"], r["variety"]) == ("R1", "short", "fixed_income") for r in money)
    plans = [r for r in rows if r["name"].endswith("集合资产管理计划")]
    assert plans and all(Decimal(r["min_amount"]) >= 1_000_000 for r in plans)
    assert {"star", "chinext", "margin"} <= {r["required_pool"] for r in rows}


def test_the_demo_load_is_idempotent(db):
    assert products_demo_load(count=200, seed=1) == 200
    assert products_demo_load(count=200, seed=1) == 0
    assert Product.objects.count() == 200
