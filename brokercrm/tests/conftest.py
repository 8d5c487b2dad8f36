"""Fixtures of the browser tests: Playwright driving Debian's Chromium (no browser download), and
a small simulated brokerage loaded as the demo.

Skipped when Chromium or Playwright is missing, unless ``BROKERCRM_REQUIRE_BROWSER=1`` (CI),
which turns the absence into a failure.
"""

import os
import shutil

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium() -> str | None:
    return os.environ.get("BROKERCRM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    required = os.environ.get("BROKERCRM_REQUIRE_BROWSER") == "1"
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("BROKERCRM_REQUIRE_BROWSER=1 but playwright is not installed")
        pytest.skip("playwright is not installed")
    if executable is None:
        if required:
            pytest.fail("BROKERCRM_REQUIRE_BROWSER=1 but chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    # Playwright's sync API runs an event loop in this thread; Django's ORM must be allowed here
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory):
    """A small simulated brokerage, computed once for the module."""
    from brokercrm.simulate import simulate

    data_dir = tmp_path_factory.mktemp("demo")
    simulate(out=data_dir / "demo-exports", customers=150, days=3, seed=5)
    return data_dir


@pytest.fixture
def demo(transactional_db, demo_warehouse):
    from brokercrm.demo import DEMO_PASSWORD, demo_load

    demo_load(data_dir=demo_warehouse)
    return DEMO_PASSWORD
