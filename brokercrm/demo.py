"""The demo brokerage: an organisation, one login per role and a few hundred customers.

Loaded by ``brokercrm demo`` (and ``make demo``); idempotent — a second run finds what exists
and changes nothing. Customers here are a stand-in until counter data is ingested: they carry
plausible names, valid ID numbers and mobiles so that masking and search behave as in production.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction

from brokercrm.customers.models import Customer
from brokercrm.customers.services import customer_create
from brokercrm.org.choices import NodeKind, Role
from brokercrm.org.models import Employee, OrgNode
from brokercrm.org.services import employee_create, org_node_ensure

#: the password of every demo login (a demo is not a deployment: change or drop these users)
DEMO_PASSWORD = "brokercrm-demo-2026"

#: (code, name, kind, parent code)
DEMO_NODES = (
    ("HQ", "总部", NodeKind.HQ, None),
    ("R-EAST", "华东区", NodeKind.REGION, "HQ"),
    ("R-SOUTH", "华南区", NodeKind.REGION, "HQ"),
    ("0101", "上海浦东营业部", NodeKind.BRANCH, "R-EAST"),
    ("0102", "上海徐汇营业部", NodeKind.BRANCH, "R-EAST"),
    ("0201", "深圳福田营业部", NodeKind.BRANCH, "R-SOUTH"),
    ("0101-T1", "浦东财富一组", NodeKind.TEAM, "0101"),
    ("0101-T2", "浦东财富二组", NodeKind.TEAM, "0101"),
    ("0102-T1", "徐汇财富一组", NodeKind.TEAM, "0102"),
    ("0201-T1", "福田财富一组", NodeKind.TEAM, "0201"),
)

#: (username, display name, role, node code)
DEMO_USERS = (
    ("admin", "总部管理员", Role.HQ_ADMIN, "HQ"),
    ("compliance", "合规专员 周敏", Role.COMPLIANCE, "HQ"),
    ("researcher", "研究员 陈思", Role.RESEARCHER, "HQ"),
    ("bm_pudong", "浦东营业部负责人 王强", Role.BRANCH_MANAGER, "0101"),
    ("bm_futian", "福田营业部负责人 林洁", Role.BRANCH_MANAGER, "0201"),
    ("tl_pudong1", "浦东一组组长 赵磊", Role.TEAM_LEAD, "0101-T1"),
    ("am_zhang", "客户经理 张伟", Role.ACCOUNT_MANAGER, "0101-T1"),
    ("am_li", "客户经理 李娜", Role.ACCOUNT_MANAGER, "0101-T1"),
    ("am_wang", "客户经理 王芳", Role.ACCOUNT_MANAGER, "0101-T2"),
    ("am_liu", "客户经理 刘洋", Role.ACCOUNT_MANAGER, "0102-T1"),
    ("am_chen", "客户经理 陈静", Role.ACCOUNT_MANAGER, "0201-T1"),
)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华慧巧美霞平刚桂英建华文辉晨阳雪梅海燕宁欣怡子轩浩然"
REGIONS = ("310115", "310104", "440304", "110101", "320106", "330106")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character of an 18-digit resident ID number."""
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS)) % 11]


@dataclass(frozen=True)
class DemoSummary:
    nodes: int
    users: int
    customers: int
    created: bool


@transaction.atomic
def demo_load(*, customers: int = 300, seed: int = 2026) -> DemoSummary:
    """Create the demo organisation, logins and customers, unless they already exist."""
    nodes: dict[str, OrgNode] = {}
    for code, name, kind, parent in DEMO_NODES:
        nodes[code] = org_node_ensure(code=code, name=name, kind=kind, parent=nodes.get(parent) if parent else None)
    managers: dict[str, list[Employee]] = {}
    for username, display, role, node in DEMO_USERS:
        employee = Employee.objects.filter(user__username=username).first() or employee_create(
            username=username, password=DEMO_PASSWORD, role=role, node=nodes[node], display_name=display
        )
        if role == Role.ACCOUNT_MANAGER:
            branch = nodes[node].parent
            managers.setdefault(branch.code, []).append(employee)
    existing = Customer.objects.unscoped().count()
    if existing:
        return DemoSummary(nodes=len(nodes), users=len(DEMO_USERS), customers=existing, created=False)
    rng = random.Random(seed)
    branches = [nodes[c] for c in ("0101", "0102", "0201")]
    for i in range(customers):
        branch = rng.choices(branches, weights=(5, 3, 2))[0]
        kind = rng.choices(("individual", "institution", "product"), weights=(90, 7, 3))[0]
        opened = date(2015, 1, 1) + timedelta(days=rng.randrange(0, 4000))
        if kind == "individual":
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 20000))
            first17 = f"{rng.choice(REGIONS)}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
            id_type, id_number = "id_card", first17 + id_check_digit(first17)
            mobile = f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}"
        else:
            name = rng.choice(("上海", "深圳", "杭州", "北京")) + rng.choice(("鼎盛", "汇丰", "长青", "启明")) + (
                "投资管理有限公司" if kind == "institution" else "私募证券投资基金"
            )
            id_type, id_number = "business_licence", f"91310000{rng.randrange(10**9, 10**10)}"
            mobile = ""
        pool = managers.get(branch.code, [])
        customer_create(
            customer_no=f"{10000000 + i}",
            name=name,
            customer_type=kind,
            branch=branch,
            # a few customers per branch wait for an account manager
            account_manager=rng.choice(pool) if pool and rng.random() > 0.05 else None,
            status=rng.choices(("normal", "frozen", "lost", "closed"), weights=(92, 3, 2, 3))[0],
            id_type=id_type,
            id_number=id_number,
            mobile=mobile,
            open_date=opened,
        )
    return DemoSummary(nodes=len(nodes), users=len(DEMO_USERS), customers=customers, created=True)
