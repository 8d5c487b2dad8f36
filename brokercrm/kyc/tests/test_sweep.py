"""Every KYC page and API endpoint that takes a customer number, swept with three kinds of user."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from brokercrm.kyc.models import ProfessionalRecognition, RecognitionDocument
from brokercrm.kyc.services import kyc_seed_default
from brokercrm.kyc.tests.factories import typical
from brokercrm.testing import CustomerEndpointSweep, Endpoint, build_world


def _typical_form(world, key):
    answers = typical(kyc_seed_default())
    return {f"q_{k}": v for k, v in answers.items()}


def _typical_json(world, key):
    return {"answers": typical(kyc_seed_default())}


class TestAssessorEndpoints(CustomerEndpointSweep):
    in_scope_user = "am_a1"
    endpoints = (
        Endpoint("page: assess", "GET", lambda no: reverse("kyc:assess", args=[no])),
        Endpoint("page: assess submit", "POST", lambda no: reverse("kyc:assess", args=[no]), payload=_typical_form, ok_status=302),
        Endpoint("page: recognition", "GET", lambda no: reverse("kyc:recognition_new", args=[no])),
        Endpoint(
            "page: recognition submit", "POST", lambda no: reverse("kyc:recognition_new", args=[no]),
            payload=lambda w, k: {"kind": "recognise_ii", "financial_assets": "6000000", "experience_years": "3"}, ok_status=302,
        ),  # fmt: skip
        Endpoint("page: knowledge test", "GET", lambda no: reverse("kyc:knowledge_test_new", args=[no])),
        Endpoint(
            "page: knowledge test submit", "POST", lambda no: reverse("kyc:knowledge_test_new", args=[no]),
            payload=lambda w, k: {"test": "options", "score": "85"}, ok_status=302,
        ),  # fmt: skip
        Endpoint("api: assessments", "GET", lambda no: f"/api/kyc/{no}/assessments", api=True),
        Endpoint("api: assess", "POST", lambda no: f"/api/kyc/{no}/assessments", payload=_typical_json, api=True, json=True, ok_status=201),
    )


def _document_id() -> int:
    doc = RecognitionDocument.objects.unscoped().order_by("-id").first()
    return doc.pk if doc else 0


def _pending(world, key) -> dict:
    customer = world.customers[key]
    request = ProfessionalRecognition.objects.unscoped().create(
        customer=customer, kind="recognise_ii", requested_by=world.user("am_a1")
    )
    return {"recognition": request.pk, "decision": "reject"}


class TestDeciderEndpoints(CustomerEndpointSweep):
    in_scope_user = "bm_a"

    @pytest.fixture
    def world(self, db):
        world = build_world()
        request = ProfessionalRecognition.objects.unscoped().create(
            customer=world.customers["a1"], kind="recognise_ii", requested_by=world.user("am_a1")
        )
        RecognitionDocument.objects.unscoped().create(
            recognition=request, name="evidence.txt", uploaded_by=world.user("am_a1"),
            file=SimpleUploadedFile("evidence.txt", b"evidence of customer 10000001"),
        )  # fmt: skip
        return world

    endpoints = (
        Endpoint("page: decide", "POST", lambda no: reverse("kyc:recognition_decide", args=[no]), payload=_pending, ok_status=302),
        Endpoint(
            "page: document", "GET",
            lambda no: reverse("kyc:recognition_document", args=[no]) + f"?id={_document_id()}",
        ),  # fmt: skip
    )
