"""In a real browser (Playwright driving Debian's Chromium): a branch manager builds a segment —
a field condition, a tag found by its Chinese name, then NOT on the tag — watching the live count
change at each step, saves it, and exports its members to Excel.

The expected counts are worked out beside the page through the same selectors, in the branch
manager's scope, over the demo warehouse (150 simulated customers, 3 trading days). Fixtures
(``browser``, ``demo``) live in ``conftest.py``; ``live_server`` is pytest-django's.
"""

import io

import pytest

pytestmark = pytest.mark.browser

USERNAME = "bm_0101"


def _login(page, base: str, username: str, password: str, then: str) -> None:
    page.goto(f"{base}{then}")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}{then}")


def _expected(user, definition) -> int:
    from brokercrm.segments.selectors import audience_preview, definition_check

    return audience_preview(actor=user, definition=definition_check(definition)).count


def _plan(user):
    """A threshold that splits the branch's customers, and a tag that splits those above it."""
    from brokercrm.segments.selectors import builder_catalogue

    everyone = _expected(user, {"op": "and", "items": []})
    assert everyone > 0, "the demo branch has customers in the warehouse"
    for threshold in ("100000", "50000", "300000", "10000", "1000000"):
        assets = {"field": "total_assets", "cmp": ">=", "value": threshold}
        rich = _expected(user, {"op": "and", "items": [assets]})
        if 1 < rich < everyone:
            break
    else:
        pytest.fail("no total-assets threshold splits the demo branch")
    for tag in builder_catalogue():
        both = _expected(user, {"op": "and", "items": [assets, {"tag": tag.code}]})
        if 0 < both < rich:
            return everyone, threshold, rich, tag, both
    pytest.fail("no tag splits the demo branch's richer customers")


def _count(page) -> int:
    return int(page.locator("[data-testid=audience-count]").get_attribute("data-count"))


def _wait_count(page, expected: int) -> None:
    page.wait_for_function(
        "n => { const el = document.querySelector('[data-testid=audience-count]');"
        " return el && el.dataset.count === String(n); }",
        arg=expected,
    )


def test_build_a_segment_watch_the_count_save_it_and_export_it(browser, live_server, demo, demo_warehouse, settings):
    import openpyxl
    from django.contrib.auth import get_user_model

    from brokercrm.segments import audience as au
    from brokercrm.segments.models import SavedSegment
    from brokercrm.segments.selectors import segment_members

    settings.DATA_DIR = demo_warehouse  # the pages read the configured warehouse
    au.audience_engines_reset()
    user = get_user_model().objects.get(username=USERNAME)
    everyone, threshold, rich, tag, both = _plan(user)

    base = live_server.url
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    _login(page, base, USERNAME, demo, "/segments/")
    page.get_by_test_id("new-segment").click()
    page.wait_for_url(f"{base}/segments/new/")
    assert _count(page) == everyone  # no condition yet: the whole branch

    # 1. total assets ≥ threshold: the count drops as the value is typed
    page.get_by_test_id("field-pick-r").select_option("total_assets")
    page.get_by_test_id("add-field-r").click()
    page.get_by_test_id("value-r.0").wait_for()
    page.get_by_test_id("value-r.0").fill(threshold)
    _wait_count(page, rich)

    # 2. a tag, found by typing its Chinese name in the picker
    page.get_by_test_id("tag-search-r").fill(tag.name_zh)
    assert page.get_by_test_id("tag-pick-r").input_value() == tag.code
    page.get_by_test_id("add-tag-r").click()
    page.get_by_test_id("leaf-r.1").wait_for()
    assert tag.name_zh in page.get_by_test_id("leaf-r.1").inner_text()
    _wait_count(page, both)

    # 3. NOT on the tag: the richer customers who do not carry it
    page.get_by_test_id("neg-r.1").check()
    _wait_count(page, rich - both)
    rows = page.locator("[data-testid=audience-preview] tbody tr")
    assert rows.count() == min(rich - both, 50)

    # 4. save: the members are computed at once, in the owner's scope
    page.get_by_test_id("segment-name").fill("浏览器测试客群")
    page.get_by_test_id("save-segment").click()
    page.wait_for_url(f"{base}/segments/*/")
    segment = SavedSegment.objects.get(name="浏览器测试客群")
    assert segment.current_version.member_count == rich - both
    assert str(rich - both) in page.locator("ul.messages li.success").inner_text()
    assert str(rich - both) in page.get_by_test_id("segment-version").inner_text()
    assert _count(page) == rich - both  # the saved definition is drawn again, with its live count
    assert segment.definition["items"][1] == {"op": "not", "items": [{"tag": tag.code}]}

    # 5. export: the workbook holds exactly the members
    with page.expect_download() as download:
        page.get_by_test_id("export-saved").click()
    workbook = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read()), read_only=True)
    sheet = [row for row in workbook.active.iter_rows(values_only=True)]
    numbers = [row[0] for row in sheet[1:]]
    assert numbers == segment_members(segment=segment, actor=user)
    assert len(numbers) == rich - both and all(row[2] == "0101" for row in sheet[1:])

    # and the list page shows it among "my segments"
    page.goto(f"{base}/segments/")
    assert "浏览器测试客群" in page.get_by_test_id("my-segments").inner_text()
    context.close()
    au.audience_engines_reset()
