"""The demo brokerage: simulated counter data run through the whole data center, an
organisation built around its branches, one login per role, and customers given to account
managers.

``brokercrm demo`` (and ``make demo``) runs it; it is idempotent — a second run finds the
exports, the ingested days, the computed snapshot and the logins in place and does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from django.db import transaction
from django.utils import timezone

from brokercrm.customers.models import Customer, CustomerAssignment
from brokercrm.org.choices import NodeKind, Role
from brokercrm.org.models import Employee, OrgNode
from brokercrm.org.services import employee_create, org_node_ensure

#: the password of every demo login (a demo is not a deployment: change or drop these users)
DEMO_PASSWORD = "brokercrm-demo-2026"
TEAMS_PER_BRANCH = 2
MANAGERS_PER_TEAM = 2

#: the logins printed for people trying the demo: (username, role, what they see)
FEATURED = (
    ("admin", Role.HQ_ADMIN, "总部管理员：全部客户、系统配置、数据中心"),
    ("compliance", Role.COMPLIANCE, "合规：全部客户（含完整证件号）、审计日志"),
    ("researcher", Role.RESEARCHER, "研究员：不查看客户资料"),
    ("bm_0101", Role.BRANCH_MANAGER, "0101 营业部负责人：本营业部客户"),
    ("tl_0101_1", Role.TEAM_LEAD, "0101 一组组长：本组客户"),
    ("am_0101_1_1", Role.ACCOUNT_MANAGER, "0101 一组客户经理：自己的客户"),
    ("am_0101_1_2", Role.ACCOUNT_MANAGER, "0101 一组客户经理：自己的客户"),
)

Step = Callable[[str], None]


@dataclass(frozen=True)
class DemoSummary:
    customers: int
    branches: int
    logins: int
    days: int


def _region_names() -> list[str]:
    from brokercrm.simulate.people import REGIONS

    return list(REGIONS)


@transaction.atomic
def demo_organisation(*, branch_codes: list[str]) -> dict[str, OrgNode]:
    """HQ → a region per simulated region → the branches of the counter data → teams."""
    names = _region_names()
    hq = org_node_ensure(code="HQ", name="总部", kind=NodeKind.HQ, parent=None)
    branches: dict[str, OrgNode] = {}
    for code in sorted(branch_codes):
        index = int(code[:2])
        region_name = names[index - 1] if 0 < index <= len(names) else code[:2]
        region = org_node_ensure(code=f"R{code[:2]}", name=f"{region_name}区域", kind=NodeKind.REGION, parent=hq)
        branch = org_node_ensure(code=code, name=f"{region_name}第{int(code[2:])}营业部", kind=NodeKind.BRANCH, parent=region)
        branches[code] = branch
        for t in range(1, TEAMS_PER_BRANCH + 1):
            org_node_ensure(code=f"{code}-T{t}", name=f"{branch.name}财富{t}组", kind=NodeKind.TEAM, parent=branch)
    return branches


def _ensure_user(username: str, role: str, node: OrgNode, display: str) -> Employee:
    existing = Employee.objects.filter(user__username=username).first()
    return existing or employee_create(
        username=username, password=DEMO_PASSWORD, role=role, node=node, display_name=display, check_password=False
    )


@transaction.atomic
def demo_people(*, branches: dict[str, OrgNode]) -> int:
    """One login per role at head office, and per branch a manager, team leads and account managers."""
    hq = OrgNode.objects.get(code="HQ")
    _ensure_user("admin", Role.HQ_ADMIN, hq, "总部管理员")
    _ensure_user("compliance", Role.COMPLIANCE, hq, "合规专员")
    _ensure_user("researcher", Role.RESEARCHER, hq, "研究员")
    count = 3
    for code, branch in branches.items():
        _ensure_user(f"bm_{code}", Role.BRANCH_MANAGER, branch, f"{branch.name}负责人")
        count += 1
        for t in range(1, TEAMS_PER_BRANCH + 1):
            team = OrgNode.objects.get(code=f"{code}-T{t}")
            _ensure_user(f"tl_{code}_{t}", Role.TEAM_LEAD, team, f"{team.name}组长")
            count += 1
            for m in range(1, MANAGERS_PER_TEAM + 1):
                _ensure_user(f"am_{code}_{t}_{m}", Role.ACCOUNT_MANAGER, team, f"{team.name}客户经理{m}")
                count += 1
    return count


@transaction.atomic
def demo_assign(*, share_unassigned: float = 0.03) -> int:
    """Give each branch's unassigned customers to its account managers in turn, leaving a few
    unassigned (branch managers see and assign those). Opens each customer's first period."""
    now = timezone.now()
    assigned = 0
    for branch in OrgNode.objects.filter(kind=NodeKind.BRANCH):
        managers = list(
            Employee.objects.filter(role=Role.ACCOUNT_MANAGER, node__path__startswith=branch.path).order_by("user__username")
        )
        if not managers:
            continue
        waiting = list(
            Customer.objects.unscoped().filter(branch=branch, account_manager__isnull=True).order_by("customer_no")
        )
        keep = int(len(waiting) * share_unassigned)
        chosen = waiting[keep:]
        for i, customer in enumerate(chosen):
            customer.account_manager = managers[i % len(managers)]
        Customer.objects.unscoped().bulk_update(chosen, ["account_manager"], batch_size=2000)
        CustomerAssignment.objects.unscoped().bulk_create(
            [CustomerAssignment(customer=c, account_manager=c.account_manager, started_at=now) for c in chosen],
            batch_size=2000,
        )
        assigned += len(chosen)
    return assigned


def demo_load(
    *, customers: int = 10_000, days: int = 63, seed: int = 2026, data_dir: Path, step: Step | None = None
) -> DemoSummary:
    """Simulate (once), ingest both counters, compute and publish, then place people and customers."""
    from brokercrm.datacenter import warehouse
    from brokercrm.datacenter.ingest import ingest
    from brokercrm.datacenter.runner import pipeline_run
    from brokercrm.datacenter.services import datacenter_publish
    from brokercrm.simulate import simulate

    say = step or (lambda message: None)
    exports = data_dir / "demo-exports"
    if not (exports / "hundsun").is_dir():
        say(f"simulating {customers} customers over {days} trading days")
        simulate(out=exports, customers=customers, days=days, seed=seed)
    for counter in ("hundsun", "apex"):
        say(f"ingesting the {counter} counter")
        result = ingest(counter, exports / counter, data_dir=data_dir)
        if not result.ok:
            raise RuntimeError(f"the demo's {counter} export was refused: {[d.message for d in result.refused]}")
    codes = sorted(set(warehouse.read_flows(data_dir, "customers").column("branch_code").to_pylist()))
    branches = demo_organisation(branch_codes=codes)
    say("computing the base indicators")
    from brokercrm.datacenter.crm_facts import crm_facts_refresh

    from brokercrm.tags.demo import tags_demo_load
    from brokercrm.tags.selectors import current_catalogue

    tags_demo_load()  # head office's own tags, computed beside the built-in ones
    crm_facts_refresh(data_dir=data_dir)  # the pools read the CRM's assessments and tests
    computed = pipeline_run(data_dir=data_dir, catalogue=current_catalogue())
    say("publishing to the database")
    datacenter_publish(data_dir=data_dir)
    logins = demo_people(branches=branches)
    demo_assign()
    say("potential customers, relationships and interactions")
    from brokercrm.customers.demo import demo_aml_reviews, demo_customer_activity

    demo_customer_activity(seed=seed)
    # the AML system's review dates, loaded at go-live: the first publication raised a review task
    # for every customer open longer than a cycle; those reviewed since are settled
    from brokercrm.service.data_events import aml_tasks_settle
    from brokercrm.service.impact import latest_published_day

    latest = latest_published_day()
    if latest is not None and demo_aml_reviews(seed=seed, as_of=latest):
        aml_tasks_settle()
    say("loading the product library")
    from brokercrm.products.demo import products_demo_load

    products_demo_load(seed=seed)
    say("risk assessments, professional investors and knowledge tests")
    from brokercrm.kyc.demo import kyc_demo_load

    if kyc_demo_load(seed=seed):
        # the pools of the recent days see the CRM's facts (only the pools are recomputed)
        crm_facts_refresh(data_dir=data_dir)
        pipeline_run(data_dir=data_dir, catalogue=current_catalogue())
        datacenter_publish(data_dir=data_dir)
    say("market events, service requests and calls")
    from brokercrm.service.demo import service_demo_load

    service_demo_load(seed=seed)
    return DemoSummary(
        customers=Customer.objects.unscoped().count(),
        branches=len(branches),
        logins=logins,
        days=len(computed.computed),
    )
