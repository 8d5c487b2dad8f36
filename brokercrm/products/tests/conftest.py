import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_messages():
    """Service messages are asserted in English, whatever translations the catalogue holds."""
    with translation.override("en"):
        yield
