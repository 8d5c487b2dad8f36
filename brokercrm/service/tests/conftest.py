import pytest


@pytest.fixture(autouse=True)
def _data_dir(settings, tmp_path):
    """Each service test gets its own data directory: ``factories.build_market`` writes the
    published warehouse version there, and the impact list is computed from it."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
