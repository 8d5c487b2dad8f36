"""Shared test helpers: a small organisation with customers in known places, and the sweep
that every customer page and API endpoint must pass (NetBox-style inherited view tests)."""

from __future__ import annotations

import importlib
import re
from urllib.parse import unquote
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from brokercrm.customers.models import Customer
from brokercrm.customers.services import customer_create
from brokercrm.org.choices import NodeKind, Role
from brokercrm.org.models import Employee, OrgNode
from brokercrm.org.services import employee_create, org_node_create

PASSWORD = "test-password-2026!"


@dataclass
class World:
    """HQ → East region → branches A (teams A1, A2) and B (team B1), one login per role.

    Customers: ``a1`` (am_a1), ``a1b`` (am_a1b, same team), ``a2`` (am_a2, other team of A),
    ``a_unassigned`` (branch A, nobody), ``b`` (am_b, branch B).
    """

    nodes: dict[str, OrgNode] = field(default_factory=dict)
    employees: dict[str, Employee] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)

    def user(self, name: str):
        return self.employees[name].user

    def client(self, name: str) -> Client:
        """A test client logged in as the employee ``name``."""
        client = Client()
        client.force_login(self.user(name))
        return client


def build_world() -> World:
    world = World()
    n = world.nodes
    n["hq"] = org_node_create(code="HQ", name="总部", kind=NodeKind.HQ, parent=None)
    n["east"] = org_node_create(code="R1", name="华东区", kind=NodeKind.REGION, parent=n["hq"])
    n["a"] = org_node_create(code="0101", name="甲营业部", kind=NodeKind.BRANCH, parent=n["east"])
    n["b"] = org_node_create(code="0102", name="乙营业部", kind=NodeKind.BRANCH, parent=n["east"])
    n["a1"] = org_node_create(code="0101-1", name="甲一组", kind=NodeKind.TEAM, parent=n["a"])
    n["a2"] = org_node_create(code="0101-2", name="甲二组", kind=NodeKind.TEAM, parent=n["a"])
    n["b1"] = org_node_create(code="0102-1", name="乙一组", kind=NodeKind.TEAM, parent=n["b"])
    people = {
        "hq_admin": (Role.HQ_ADMIN, "hq"),
        "compliance": (Role.COMPLIANCE, "hq"),
        "researcher": (Role.RESEARCHER, "hq"),
        "bm_a": (Role.BRANCH_MANAGER, "a"),
        "bm_b": (Role.BRANCH_MANAGER, "b"),
        "tl_a1": (Role.TEAM_LEAD, "a1"),
        "am_a1": (Role.ACCOUNT_MANAGER, "a1"),
        "am_a1b": (Role.ACCOUNT_MANAGER, "a1"),
        "am_a2": (Role.ACCOUNT_MANAGER, "a2"),
        "am_b": (Role.ACCOUNT_MANAGER, "b1"),
    }
    for username, (role, node) in people.items():
        world.employees[username] = employee_create(
            username=username, password=PASSWORD, role=role, node=n[node], display_name=username.upper()
        )
    e = world.employees
    placed = {
        "a1": ("10000001", "张三", n["a"], e["am_a1"]),
        "a1b": ("10000002", "李四", n["a"], e["am_a1b"]),
        "a2": ("10000003", "王五", n["a"], e["am_a2"]),
        "a_unassigned": ("10000004", "赵六", n["a"], None),
        "b": ("10000005", "孙七", n["b"], e["am_b"]),
    }
    for key, (number, name, branch, manager) in placed.items():
        world.customers[key] = customer_create(
            customer_no=number,
            name=name,
            customer_type="individual",
            branch=branch,
            account_manager=manager,
            id_type="id_card",
            id_number="110101198602276308",
            mobile="13362988280",
        )
    return world


#: who sees which demo customer (the rule of issue 2, written out by hand)
EXPECTED_SCOPE = {
    "hq_admin": {"a1", "a1b", "a2", "a_unassigned", "b"},
    "compliance": {"a1", "a1b", "a2", "a_unassigned", "b"},
    "researcher": set(),
    "bm_a": {"a1", "a1b", "a2", "a_unassigned"},
    "bm_b": {"b"},
    "tl_a1": {"a1", "a1b"},
    "am_a1": {"a1"},
    "am_a1b": {"a1b"},
    "am_a2": {"a2"},
    "am_b": {"b"},
}


@dataclass(frozen=True)
class Endpoint:
    """One page or API endpoint that shows or changes one customer's data."""

    name: str
    method: str
    url: Callable[[str], str]
    #: a request body for unsafe methods: (world, customer key) → dict
    payload: Callable[[World, str], dict] | None = None
    api: bool = False
    json: bool = False
    #: the status an in-scope, permitted user gets
    ok_status: int = 200


class CustomerEndpointSweep:
    """Inherit and set ``endpoints``: every endpoint is swept as an unauthenticated user
    (redirect to login or 401, no data), as an out-of-scope user (404, never 403, so existence is
    not revealed) and as an in-scope user (works, shows the customer)."""

    endpoints: tuple[Endpoint, ...] = ()
    #: an in-scope user allowed to use every endpoint, and an out-of-scope one
    in_scope_user = "bm_a"
    out_of_scope_user = "am_b"
    customer = "a1"

    def _call(self, client: Client, endpoint: Endpoint, world: World):
        number = world.customers[self.customer].customer_no
        url = endpoint.url(number)
        body = endpoint.payload(world, self.customer) if endpoint.payload else None
        if endpoint.method == "GET":
            return client.get(url)
        if endpoint.json:
            return client.post(url, data=body or {}, content_type="application/json")
        return client.post(url, data=body or {})

    @pytest.fixture
    def world(self, db) -> World:
        return build_world()

    def test_unauthenticated(self, world: World) -> None:
        name = world.customers[self.customer].name
        for endpoint in self.endpoints:
            response = self._call(Client(), endpoint, world)
            expected = 401 if endpoint.api else 302
            assert response.status_code == expected, endpoint.name
            if not endpoint.api:
                assert "/accounts/login/" in response["Location"], endpoint.name
            assert name.encode() not in response.content, endpoint.name

    def test_out_of_scope(self, world: World) -> None:
        name = world.customers[self.customer].name
        client = world.client(self.out_of_scope_user)
        for endpoint in self.endpoints:
            response = self._call(client, endpoint, world)
            assert response.status_code == 404, endpoint.name
            assert name.encode() not in response.content, endpoint.name

    def test_in_scope(self, world: World) -> None:
        client = world.client(self.in_scope_user)
        for endpoint in self.endpoints:
            response = self._call(client, endpoint, world)
            assert response.status_code == endpoint.ok_status, (endpoint.name, response.content[:300])
            if response.status_code == 200:
                assert world.customers[self.customer].customer_no.encode() in response.content, endpoint.name


def customer_routes() -> set[str]:
    """Every page route and API path that takes a ``customer_no`` (what the sweep must cover)."""
    found: set[str] = set()

    def walk(patterns, prefix: str = "") -> None:
        for p in patterns:
            route = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, route)
            elif isinstance(p, URLPattern) and "customer_no" in route:
                found.add(re.sub(r"<(?:\w+:)?customer_no>", "{customer_no}", route))

    walk(get_resolver().url_patterns)
    return found


def swept_routes() -> set[str]:
    """Routes covered by every ``CustomerEndpointSweep`` subclass of the project.

    Each app keeps its sweeps in ``<app>/tests/test_sweep.py``; those modules are imported here,
    so the answer does not depend on which tests this run happened to collect.
    """
    for app in apps.get_app_configs():
        if app.name.startswith("brokercrm."):
            try:
                importlib.import_module(f"{app.name}.tests.test_sweep")
            except ModuleNotFoundError as error:
                if error.name != f"{app.name}.tests.test_sweep":
                    raise
    covered: set[str] = set()
    stack: list[Any] = list(CustomerEndpointSweep.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        for endpoint in cls.endpoints:
            covered.add(unquote(endpoint.url("{customer_no}")).split("?")[0].lstrip("/"))
    return covered
