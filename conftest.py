"""Suite-wide switches: a component that CI requires must be present, never silently skipped."""

import os

import pytest


def pytest_sessionstart(session):
    if os.environ.get("BROKERCRM_REQUIRE_POSTGRES") == "1":
        from django.conf import settings

        engine = settings.DATABASES["default"]["ENGINE"]
        if "postgresql" not in engine:
            pytest.exit(f"BROKERCRM_REQUIRE_POSTGRES=1 but the database engine is {engine}", returncode=3)
