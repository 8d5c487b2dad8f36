import pytest

from brokercrm.testing import World, build_world

FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 is slow by design; tests that are not about hashing use a fast hasher.
    (``test_passwords_are_validated_and_hashed_with_argon2`` restores the production list.)"""
    settings.PASSWORD_HASHERS = [FAST_HASHER, *settings.PASSWORD_HASHERS]


@pytest.fixture
def world(db) -> World:
    return build_world()
