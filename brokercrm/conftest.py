import pytest

from brokercrm.testing import World, build_world


@pytest.fixture
def world(db) -> World:
    return build_world()
