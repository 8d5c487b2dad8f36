import pytest

FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


@pytest.fixture(autouse=True)
def _fast_password_hashing(request):
    """Argon2 is slow by design; tests that are not about hashing use a fast hasher.
    (``test_passwords_are_validated_and_hashed_with_argon2`` restores the production list.)
    Tests that do not use Django (the warehouse, the simulator) are left alone."""
    if not {"db", "transactional_db"} & set(request.fixturenames):
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.PASSWORD_HASHERS = [FAST_HASHER, *settings.PASSWORD_HASHERS]
    yield


@pytest.fixture
def world(db):
    from brokercrm.testing import build_world

    return build_world()
