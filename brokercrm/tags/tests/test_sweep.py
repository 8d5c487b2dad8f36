"""Every tag page and endpoint, swept with each kind of user.

The tag pages take no customer number (coverage counts are aggregates), so they are not
``CustomerEndpointSweep`` routes; they are swept here by capability instead: anonymous users are
sent to the login (401 for the API), users without ``VIEW_CUSTOMERS`` get 403, everyone with it
reads, and only head office writes. A test keeps this list equal to the app's routes.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from brokercrm.tags.services import custom_tag_create
from brokercrm.tags.tests.test_catalogue import BANKS

#: (route as the resolver writes it, method, url, data, api, head office only)
ROUTES = (
    ("tags/", "GET", "/tags/", None, False, False),
    ("tags/new/", "GET", "/tags/new/", None, False, True),
    ("tags/check/", "POST", "/tags/check/", {"rule": "age > 1"}, False, True),
    ("tags/<str:code>/", "GET", "/tags/bank_holder/", None, False, False),
    ("tags/<str:code>/edit/", "GET", "/tags/bank_holder/edit/", None, False, True),
    ("tags/<str:code>/active/", "POST", "/tags/bank_holder/active/", {"active": "1"}, False, True),
    ("api/tags", "GET", "/api/tags", None, True, False),
    ("api/tags/validate", "POST", "/api/tags/validate", {"rule": "age > 1"}, True, False),
    ("api/tags/<code>", "GET", "/api/tags/bank_holder", None, True, False),
    ("api/tags", "POST", "/api/tags", {**BANKS, "code": "swept"}, True, True),
)
READERS = ("hq_admin", "compliance", "bm_a", "tl_a1", "am_a1")
WRITERS = ("hq_admin",)


def _call(client: Client, method: str, url: str, data, api: bool):
    if method == "GET":
        return client.get(url)
    if api:
        return client.post(url, data=data, content_type="application/json")
    return client.post(url, data=data)


@pytest.fixture
def tagged(world):
    custom_tag_create(actor=world.user("hq_admin"), **BANKS)
    return world


def test_anonymous_users_are_sent_to_log_in(tagged):
    for _route, method, url, data, api, _write in ROUTES:
        response = _call(Client(), method, url, data, api)
        assert response.status_code == (401 if api else 302), url
        if not api:
            assert "/accounts/login/" in response["Location"], url


def test_users_without_the_capability_are_refused(tagged):
    client = tagged.client("researcher")
    for _route, method, url, data, api, _write in ROUTES:
        assert _call(client, method, url, data, api).status_code == 403, url


@pytest.mark.parametrize("who", READERS)
def test_readers_read_and_only_head_office_writes(tagged, who):
    client = tagged.client(who)
    for _route, method, url, data, api, write in ROUTES:
        response = _call(client, method, url, data, api)
        if write and who not in WRITERS:
            assert response.status_code == 403, (who, url)
        else:
            assert response.status_code in (200, 201, 302), (who, url, response.content[:300])
            if method == "GET" and not api:
                # no customer is named on a tag page
                assert not any(c.name.encode() in response.content for c in tagged.customers.values()), url


def _routes() -> set[str]:
    found: set[str] = set()

    def walk(patterns, prefix: str = "") -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and (route.startswith("tags/") or route.startswith("api/tags")):
                found.add(re.sub(r"^\^|\$$", "", route))

    walk(get_resolver().url_patterns)
    return found


def test_the_sweep_covers_every_tag_route(db):
    routes = _routes()
    assert "tags/" in routes and "api/tags" in routes
    assert routes <= {r[0] for r in ROUTES}, sorted(routes - {r[0] for r in ROUTES})
