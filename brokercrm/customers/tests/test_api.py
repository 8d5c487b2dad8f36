"""The REST API: session and token auth, scoping, pagination and masking."""

from django.test import Client

from brokercrm.org.services import api_token_create
from brokercrm.testing import EXPECTED_SCOPE


def test_list_is_scoped_for_every_role(world):
    for username, expected in EXPECTED_SCOPE.items():
        data = world.client(username).get("/api/customers/").json()
        assert {i["customer_no"] for i in data["items"]} == {world.customers[k].customer_no for k in expected}
        assert data["count"] == len(expected)


def test_bearer_token_authentication(world):
    _, token = api_token_create(user=world.user("am_a1"), name="test")
    client = Client()
    assert client.get("/api/customers/").status_code == 401
    assert client.get("/api/customers/", HTTP_AUTHORIZATION="Bearer nonsense").status_code == 401
    data = client.get("/api/customers/", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [i["customer_no"] for i in data["items"]] == [world.customers["a1"].customer_no]
    assert data["items"][0]["id_number"] == "110101198602276308"  # account managers see PII


def test_pagination_and_page_size_limits(world):
    client = world.client("hq_admin")
    data = client.get("/api/customers/", {"page_size": 2, "page": 3}).json()
    assert (data["count"], data["pages"], data["page"], len(data["items"])) == (5, 3, 3, 1)
    assert client.get("/api/customers/", {"page_size": 1000}).status_code == 422


def test_masking_in_the_api(world):
    number = world.customers["a1"].customer_no
    data = world.client("bm_a").get(f"/api/customers/{number}").json()
    assert data["id_number"] == "110101********6308" and data["mobile"] == "133****8280" and data["pii_masked"]


def test_reassign_through_the_api_keeps_history(world):
    number = world.customers["a1"].customer_no
    client = world.client("bm_a")
    response = client.post(
        f"/api/customers/{number}/assign", {"account_manager": "am_a2", "reason": "api"}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["account_manager"] == "am_a2"
    history = client.get(f"/api/customers/{number}/assignments").json()
    assert [h["account_manager"] for h in history["items"]] == ["am_a2", "am_a1"]
    refused = client.post(
        f"/api/customers/{number}/assign", {"account_manager": "am_b"}, content_type="application/json"
    )
    assert refused.status_code == 422


def test_me_nodes_and_audit(world):
    me = world.client("tl_a1").get("/api/org/me").json()
    assert me["role"] == "team_lead" and me["node_code"] == "0101-1" and "view_customers" in me["capabilities"]
    nodes = world.client("bm_a").get("/api/org/nodes").json()
    assert {n["code"] for n in nodes["items"]} == {"0101", "0101-1", "0101-2"}
    assert world.client("am_a1").get("/api/org/audit").status_code == 403
    world.client("am_a1").get(f"/api/customers/{world.customers['a1'].customer_no}")
    audit = world.client("compliance").get("/api/org/audit", {"action": "customer_view"}).json()
    assert [e["actor_username"] for e in audit["items"]] == ["am_a1"]


def test_openapi_docs_are_served(world):
    client = world.client("am_a1")
    assert client.get("/api/docs").status_code == 200
    schema = client.get("/api/openapi.json").json()
    assert "/api/customers/{customer_no}" in schema["paths"]
