"""Customer endpoints of the segments app, swept with three kinds of user (``brokercrm.testing``)."""

from brokercrm.testing import CustomerEndpointSweep, Endpoint


class TestSegmentEndpoints(CustomerEndpointSweep):
    endpoints = (Endpoint("api: customer segment", "GET", lambda no: f"/api/segments/customers/{no}", api=True),)


# --- the segment builder: no customer_no in its routes, so its own sweep ----------------------------

import io  # noqa: E402

import openpyxl  # noqa: E402
import pytest  # noqa: E402
from django.test import Client  # noqa: E402

from brokercrm.testing import build_world  # noqa: E402

#: the builder's form with no condition: everyone in the caller's scope
EVERYONE_FORM = {"kind@r": "group", "op@r": "and", "name": "", "visibility": "private"}


class TestSegmentBuilderSweep:
    """Every builder page and endpoint, as an anonymous user (login or 401, nothing shown), as a
    user whose scope excludes customer ``a1`` (never shown, in pages, API answers or Excel) and
    as one whose scope includes it (shown)."""

    in_scope_user = "bm_a"
    out_of_scope_user = "am_b"

    @pytest.fixture
    def world(self, db, tmp_path, settings):
        from brokercrm.segments import audience as au
        from brokercrm.segments.services import segment_save, segment_version_compute
        from brokercrm.segments.tests.warehouse import write_warehouse

        au.audience_engines_reset()
        write_warehouse(tmp_path)
        settings.DATA_DIR = tmp_path
        world = build_world()
        # head office shares a segment of everyone: every employee sees it, each their own share
        self.segment = segment_save(
            actor=world.user("hq_admin"), name="Everyone", definition=au.EMPTY_DEFINITION, visibility="branch"
        )
        segment_version_compute(segment=self.segment)
        yield world
        au.audience_engines_reset()

    def endpoints(self):
        sid = self.segment.pk
        return [
            ("list", "GET", "/segments/", None, False),
            ("new", "GET", "/segments/new/", None, False),
            ("detail", "GET", f"/segments/{sid}/", None, False),
            ("preview", "POST", "/segments/builder/preview/", EVERYONE_FORM, False),
            ("edit", "POST", "/segments/builder/edit/", {**EVERYONE_FORM, "action": "add-group:r"}, False),
            ("export live", "POST", "/segments/builder/export/", EVERYONE_FORM, False),
            ("export saved", "GET", f"/segments/{sid}/export/", None, False),
            ("api audience", "POST", "/api/segments/audience", {"definition": {"op": "and", "items": []}}, True),
            ("api saved", "GET", f"/api/segments/saved/{sid}", None, True),
            ("api members", "GET", f"/api/segments/saved/{sid}/members", None, True),
        ]

    @staticmethod
    def _call(client: Client, method: str, url: str, payload, api: bool):
        if method == "GET":
            return client.get(url)
        if api:
            return client.post(url, payload, content_type="application/json")
        return client.post(url, payload)

    @staticmethod
    def _text(response) -> str:
        if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
            sheet = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True).active
            return "\n".join(" ".join(str(v) for v in row) for row in sheet.iter_rows(values_only=True))
        return response.content.decode()

    def test_unauthenticated(self, world):
        for name, method, url, payload, api in self.endpoints():
            response = self._call(Client(), method, url, payload, api)
            assert response.status_code == (401 if api else 302), name
            assert "10000001" not in self._text(response), name

    def test_out_of_scope(self, world):
        client = world.client(self.out_of_scope_user)
        for name, method, url, payload, api in self.endpoints():
            response = self._call(client, method, url, payload, api)
            assert response.status_code == 200, (name, response.status_code)
            text = self._text(response)
            assert "10000001" not in text and "张三" not in text, name

    def test_in_scope(self, world):
        client = world.client(self.in_scope_user)
        shows_customers = {"preview", "edit", "export live", "export saved", "api audience", "api members", "detail", "new"}
        for name, method, url, payload, api in self.endpoints():
            response = self._call(client, method, url, payload, api)
            assert response.status_code == 200, (name, response.status_code)
            if name in shows_customers:
                assert "10000001" in self._text(response), name

    def test_no_employee_sees_nothing(self, world, django_user_model):
        client = Client()
        client.force_login(django_user_model.objects.create_user(username="nobody", password="x"))
        for name, method, url, payload, api in self.endpoints():
            response = self._call(client, method, url, payload, api)
            assert response.status_code in (403, 404), (name, response.status_code)
