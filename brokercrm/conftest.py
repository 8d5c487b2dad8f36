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


SAMPLE = __import__("pathlib").Path(__file__).resolve().parents[1] / "examples" / "sample"


@pytest.fixture(scope="session")
def sample_computed(tmp_path_factory, django_db_setup, django_db_blocker):
    """The worked example (examples/sample) ingested (both counters) and computed once per
    test session, through the operator's verbs (``ingest``, ``pipeline run --no-publish``).

    The sample's 22 days take minutes to compute: every test module that needs them takes a
    copy (:func:`sample_copy`) instead of computing them again. Read-only — copy it first."""
    from typer.testing import CliRunner

    from brokercrm.cli import app
    from brokercrm.config import get_config

    data_dir = tmp_path_factory.mktemp("sample-computed")
    runner = CliRunner(env={"BROKERCRM_DATA_DIR": str(data_dir)})
    get_config.cache_clear()
    try:
        for counter in ("hundsun", "apex"):
            result = runner.invoke(app, ["ingest", str(SAMPLE / "exports" / counter), "--counter", counter, "--json"])
            assert result.exit_code == 0, result.output
        with django_db_blocker.unblock():  # the verb reads head office's tier policy and tags
            result = runner.invoke(app, ["pipeline", "run", "--no-publish"])
        assert result.exit_code == 0, result.output
    finally:
        get_config.cache_clear()
    return data_dir


@pytest.fixture(scope="module")
def sample_copy(sample_computed, tmp_path_factory):
    """A module's own copy of :func:`sample_computed` (a data directory it may write to)."""
    import shutil

    data_dir = tmp_path_factory.mktemp("sample")
    shutil.copytree(sample_computed, data_dir, symlinks=True, dirs_exist_ok=True)
    return data_dir
