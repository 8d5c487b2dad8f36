"""Demo data of the customer app: potential customers (some of whom opened accounts), family and
referral relationships, and interactions on the timelines of demo customers.

Called by ``brokercrm.demo.demo_load`` once customers are placed with account managers. Bulk
inserts only, deterministic for a seed, and idempotent: it does nothing when leads exist.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import numpy as np
from django.db import transaction
from django.utils import timezone

from brokercrm.customers.choices import (
    CustomerType,
    IdType,
    InteractionKind,
    LeadSource,
    LeadStatus,
    RelationshipKind,
)
from brokercrm.customers.models import Customer, CustomerRelationship, Interaction, Lead
from brokercrm.customers.services import leads_convert
from brokercrm.org.choices import NodeKind, Role
from brokercrm.org.models import Employee, OrgNode

#: what account managers write on a timeline (demo content)
_NOTES = {
    InteractionKind.CALL: ("电话回访，客户对近期行情较关注", "电话沟通定投计划，客户表示考虑", "提醒客户风险测评即将到期", "电话告知新股申购安排"),
    InteractionKind.MEETING: ("营业部面谈，讨论资产配置", "陪同客户参加投资策略会", "面谈了解家庭理财需求"),
    InteractionKind.SMS: ("发送两融业务介绍短信", "发送节假日交易安排提醒"),
    InteractionKind.WECHAT: ("微信发送晨会纪要", "微信解答转托管问题", "推送固收产品介绍"),
    InteractionKind.EMAIL: ("邮件发送月度对账说明", "邮件发送研究报告"),
    InteractionKind.VISIT: ("上门拜访，客户计划增加定期投资", "走访客户企业，了解员工持股需求"),
    InteractionKind.NOTE: ("客户偏好稳健型产品", "客户子女明年出国留学，需关注流动性", "客户对科创板有兴趣，待评估适当性"),
}
_KIND_WEIGHTS = {
    InteractionKind.CALL: 5, InteractionKind.WECHAT: 4, InteractionKind.NOTE: 3, InteractionKind.MEETING: 2,
    InteractionKind.SMS: 2, InteractionKind.VISIT: 1, InteractionKind.EMAIL: 1,
}  # fmt: skip
_SOURCE_WEIGHTS = {
    LeadSource.REFERRAL: 5, LeadSource.EVENT: 2, LeadSource.ONLINE: 3, LeadSource.WALK_IN: 2,
    LeadSource.CAMPAIGN: 2, LeadSource.OTHER: 1,
}  # fmt: skip
_OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.LOST)


@dataclass(frozen=True)
class DemoActivity:
    leads: int
    converted: int
    relationships: int
    interactions: int


def _local(day, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


@transaction.atomic
def demo_customer_activity(
    *, seed: int = 2026, leads: int = 300, converted: int = 60, relationships: int = 400, timeline_share: float = 0.3
) -> DemoActivity:
    """Leads, relationships and interactions for the demo brokerage (nothing when leads exist)."""
    if Lead.objects.unscoped().exists():
        return DemoActivity(0, 0, 0, 0)
    from brokercrm.simulate.people import id_numbers, mobiles, person_names

    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    now = timezone.now()
    managers: dict[int, list[Employee]] = {}
    for branch in OrgNode.objects.filter(kind=NodeKind.BRANCH):
        people = list(
            Employee.objects.filter(role=Role.ACCOUNT_MANAGER, is_active=True, node__path__startswith=branch.path)
            .select_related("user")
            .order_by("user__username")
        )
        if people:
            managers[branch.pk] = people
    if not managers:
        return DemoActivity(0, 0, 0, 0)
    customers = list(
        Customer.objects.unscoped()
        .filter(branch_id__in=list(managers))
        .values_list("pk", "customer_no", "branch_id", "account_manager_id", "customer_type", "id_type", "id_number", "open_date", "name")
        .order_by("customer_no")
    )
    by_branch: dict[int, list[tuple]] = {}
    for c in customers:
        by_branch.setdefault(c[2], []).append(c)
    manager_by_id = {m.pk: m for people in managers.values() for m in people}
    branch_ids = sorted(by_branch)
    if not branch_ids:
        return DemoActivity(0, 0, 0, 0)

    # --- potential customers, still open ---
    n = leads
    female = rng.random(n) < 0.5
    names = person_names(rng=rng, female=female).to_pylist()
    regions = np.array([110101, 310104, 440304, 320505, 330106, 510107], dtype=np.int64)[rng.integers(0, 6, n)]
    births = (1960 + rng.integers(0, 45, n)) * 10000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)
    ids = id_numbers(rng=rng, region=regions, birth=births, female=female).to_pylist()
    phones = [str(m) for m in mobiles(rng=rng, n=n)]
    sources, weights = list(_SOURCE_WEIGHTS), list(_SOURCE_WEIGHTS.values())
    everyone = list(Employee.objects.filter(is_active=True).exclude(role=Role.RESEARCHER))
    rows = []
    for i in range(n):
        branch_id = rnd.choice(branch_ids)
        source = rnd.choices(sources, weights)[0]
        referrer = rnd.choice(by_branch[branch_id]) if source == LeadSource.REFERRAL else None
        manager = rnd.choice(managers[branch_id]) if rnd.random() > 0.1 else None
        created = now - timedelta(days=rnd.randint(0, 120), minutes=rnd.randint(0, 600))
        rows.append(
            Lead(
                name=names[i], mobile=phones[i], id_type=IdType.ID_CARD, id_number=ids[i] if rnd.random() > 0.3 else "",
                source=source, referrer_customer_id=referrer[0] if referrer else None,
                referrer_employee=rnd.choice(everyone) if source == LeadSource.CAMPAIGN and everyone else None,
                branch_id=branch_id, account_manager=manager, status=rnd.choice(_OPEN_STATUSES),
                created_by=(manager or managers[branch_id][0]).user, created_at=created,
            )  # fmt: skip
        )

    # --- potential customers who opened an account: matched by ID on the customer's open date ---
    individuals = [c for c in customers if c[4] == CustomerType.INDIVIDUAL and c[5] == IdType.ID_CARD and c[6] and c[7]]
    chosen = rnd.sample(individuals, min(converted, len(individuals)))
    for pk, number, branch_id, manager_id, _type, id_type, id_number, opened, name in chosen:
        source = rnd.choices(sources, weights)[0]
        referrer = rnd.choice(by_branch[branch_id]) if source == LeadSource.REFERRAL else None
        manager = manager_by_id.get(manager_id) or rnd.choice(managers[branch_id])
        rows.append(
            Lead(
                name=name, mobile="", id_type=id_type,
                id_number=id_number, source=source,
                referrer_customer_id=referrer[0] if referrer and referrer[0] != pk else None,
                branch_id=branch_id, account_manager=manager, status=LeadStatus.QUALIFIED, created_by=manager.user,
                created_at=_local(opened - timedelta(days=rnd.randint(3, 60)), 10),
            )  # fmt: skip
        )
    Lead.objects.unscoped().bulk_create(rows, batch_size=1000)
    done = leads_convert(customer_nos=[c[1] for c in chosen])

    # --- families and referrals among customers of a branch; relatives who are not customers ---
    links: dict[tuple[int, int, str], CustomerRelationship] = {}
    # the referrals recorded by the conversion above are not recorded twice
    taken = set(
        CustomerRelationship.objects.unscoped()
        .filter(related_customer__isnull=False)
        .values_list("customer_id", "related_customer_id", "kind")
    )
    kinds = [RelationshipKind.SPOUSE] * 3 + [RelationshipKind.PARENT, RelationshipKind.SIBLING, RelationshipKind.REFERRER] * 2
    kinds += [RelationshipKind.COLLEAGUE, RelationshipKind.RELATIVE]
    for _ in range(relationships):
        branch_id = rnd.choice(branch_ids)
        if len(by_branch[branch_id]) < 2:
            continue
        a, b = rnd.sample(by_branch[branch_id], 2)
        kind = rnd.choice(kinds)
        author = manager_by_id.get(a[3])
        if any(key in links or key in taken for key in ((a[0], b[0], kind), (b[0], a[0], kind))):
            continue
        links[(a[0], b[0], kind)] = CustomerRelationship(
            customer_id=a[0], related_customer_id=b[0], kind=kind, created_by=author.user if author else None,
            created_at=now - timedelta(days=rnd.randint(0, 365)),
        )  # fmt: skip
    relatives = [
        CustomerRelationship(
            customer_id=c[0], related_name=name, kind=rnd.choice([RelationshipKind.CHILD, RelationshipKind.SPOUSE]),
            note="非本公司客户", created_by=manager_by_id[c[3]].user, created_at=now - timedelta(days=rnd.randint(0, 365)),
        )  # fmt: skip
        for c, name in zip(
            rnd.sample([c for c in customers if c[3] in manager_by_id], min(relationships // 4, len(customers))),
            person_names(rng=rng, female=rng.random(relationships // 4) < 0.5).to_pylist(),
        )
    ]
    CustomerRelationship.objects.unscoped().bulk_create([*links.values(), *relatives], batch_size=1000)

    # --- timelines: a share of the served customers, a few entries each over the last 90 days ---
    kind_list, kind_weights = list(_KIND_WEIGHTS), list(_KIND_WEIGHTS.values())
    entries = []
    served = [c for c in customers if c[3] in manager_by_id]
    for c in rnd.sample(served, int(len(served) * timeline_share)):
        author = manager_by_id[c[3]].user
        for _ in range(rnd.randint(1, 8)):
            kind = rnd.choices(kind_list, kind_weights)[0]
            at = now - timedelta(days=rnd.randint(0, 90), minutes=rnd.randint(0, 600))
            entries.append(
                Interaction(customer_id=c[0], kind=kind, content=rnd.choice(_NOTES[kind]), occurred_at=at, author=author, created_at=at)
            )
    Interaction.objects.unscoped().bulk_create(entries, batch_size=2000)
    return DemoActivity(
        leads=len(rows), converted=done, relationships=len(links) + len(relatives), interactions=len(entries)
    )


@transaction.atomic
def demo_aml_reviews(*, seed: int = 2026, as_of, overdue_share: float = 0.03) -> int:
    """The AML system's last review dates, as a brokerage loads them at go-live: every rated
    customer reviewed within their level's cycle before ``as_of``, except ``overdue_share`` of
    them (whose review falls due: an AML review task). Loaded once: nothing when a review is on
    record already. Returns how many customers were given one."""
    from brokercrm.customers.rules import add_months, aml_review_months

    if Customer.objects.unscoped().filter(aml_reviewed_on__isnull=False).exists():
        return 0

    rnd = random.Random(seed + 17)
    months = aml_review_months()
    changed = []
    rows = Customer.objects.unscoped().filter(aml_level__in=list(months))
    for customer in rows.only("id", "aml_level", "open_date").order_by("id").iterator(chunk_size=2000):
        if rnd.random() < overdue_share:
            continue
        earliest = max(add_months(as_of, -months[customer.aml_level]) + timedelta(days=1), customer.open_date or as_of)
        span = (as_of - earliest).days
        customer.aml_reviewed_on = earliest + timedelta(days=rnd.randrange(span)) if span > 0 else as_of
        changed.append(customer)
    Customer.objects.unscoped().bulk_update(changed, ["aml_reviewed_on"], batch_size=2000)
    return len(changed)
