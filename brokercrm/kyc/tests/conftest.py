import pytest
from django.utils import translation

from brokercrm.kyc.services import kyc_seed_default


@pytest.fixture(autouse=True)
def _english_messages():
    """Service messages are asserted in English, whatever translations the catalogue holds."""
    with translation.override("en"):
        yield


@pytest.fixture
def questionnaire(db):
    return kyc_seed_default()
