"""Service activity of the demo brokerage (issue 6), so that the workspace, the team view and the
escalations show something on the first login: two market events the researcher recorded (the
first handed out as tasks, the second left for the researcher to hand out), service requests and
complaints recorded over the last days — some worked, some resolved, a few past their deadline and
escalated — and calls that answered some of the event's tasks.

Everything goes through the services a user's click goes through (``event_create``,
``tasks_from_event``, ``desk.request_create`` / ``request_advance``, ``visit_log``), as the
people who would do it. Loaded once: nothing when a market event exists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from brokercrm.customers.models import Customer
from brokercrm.service import desk
from brokercrm.service import selectors as _selectors
from brokercrm.service.choices import Direction, RequestChannel, RequestKind, RequestStatus, RiskGroup, TaskStatus, VisitChannel, VisitOutcome
from brokercrm.service.models import MarketEvent, Task
from brokercrm.service.services import event_create, overdue_escalate, tasks_from_event, visit_log

#: (title, industry, direction, impact, description, suggestions per risk group, hand out tasks)
EVENTS = (
    (
        "白酒消费税征收环节后移预期升温",
        "食品饮料",
        Direction.NEGATIVE,
        4,
        "市场预期消费税征收环节由生产端后移至批发零售端，白酒等高端消费品盈利预期承压，相关个股盘中大幅下跌。",
        {
            RiskGroup.C1_C2: "提示客户关注持仓波动风险，如持仓集中可考虑适当降低仓位。",
            RiskGroup.C3: "与客户沟通持仓集中度，建议分散配置，勿追涨杀跌。",
            RiskGroup.C4_C5: "告知政策影响与估值变化，由客户结合自身判断决定是否调整仓位。",
            RiskGroup.PROFESSIONAL: "提供研究所点评与行业数据，供客户自主决策。",
        },
        True,
    ),
    (
        "银行板块分红率提升",
        "银行",
        Direction.POSITIVE,
        2,
        "多家国有大行公告提高中期分红比例，股息率吸引力上升。",
        {
            RiskGroup.C1_C2: "可向客户介绍分红政策，不作买卖建议。",
            RiskGroup.C3: "告知分红安排与除权时间。",
            RiskGroup.C4_C5: "告知分红安排，提示股息再投资的选择。",
            RiskGroup.PROFESSIONAL: "提供研究所点评。",
        },
        False,
    ),
)

#: (kind, content, resolution)
REQUESTS = (
    (RequestKind.REQUEST, "申请修改预留手机号码", "已核实身份并更新手机号码"),
    (RequestKind.REQUEST, "咨询创业板权限开通条件", "已说明开通条件并预约临柜办理"),
    (RequestKind.REQUEST, "需要开具上一年度资产证明", "资产证明已寄出"),
    (RequestKind.REQUEST, "咨询佣金费率调整", "已按客户级别调整并告知"),
    (RequestKind.REQUEST, "银证转账失败，请协助查询", "银行端限额所致，已告知客户调整限额"),
    (RequestKind.COMPLAINT, "交易软件行情卡顿，下单延迟", "已反馈信息技术部，客户端升级后恢复"),
    (RequestKind.COMPLAINT, "对账单佣金金额与约定不符", "核查后退还多收佣金并致歉"),
    (RequestKind.COMPLAINT, "客户经理未及时回电", "已安排组长回访并致歉"),
)

CALL_NOTES = ("已电话告知事件影响及应对建议", "客户表示已关注，暂不调整", "客户希望收到研究所点评，已发送")


@dataclass(frozen=True)
class DemoService:
    events: int
    tasks: int
    requests: int
    escalated: int
    visits: int


def service_demo_load(*, seed: int = 2026, requests: int = 60, call_share: float = 0.25) -> DemoService:
    """Load the demo's service activity (see the module doc); nothing when an event exists or
    nothing is published yet."""
    none = DemoService(0, 0, 0, 0, 0)
    researcher = get_user_model().objects.filter(username="researcher").first()
    if MarketEvent.objects.exists() or researcher is None:
        return none
    rnd = random.Random(seed)
    events = tasks = 0
    handed_out: MarketEvent | None = None
    for title, industry, direction, impact, description, suggestions, hand_out in EVENTS:
        try:
            event = event_create(
                actor=researcher, title=title, industries=[industry], direction=direction, impact=impact,
                description=description, suggestions={str(k): v for k, v in suggestions.items()},
            )  # fmt: skip
        except ValidationError:  # nothing published yet, or the industry is not in the reference
            continue
        events += 1
        if hand_out:
            tasks += tasks_from_event(actor=researcher, event_id=event.pk)
            handed_out = event
    made = _requests(rnd, count=requests)
    visits = _calls(rnd, event=handed_out, share=call_share) if handed_out is not None else 0
    _, escalated = overdue_escalate()
    return DemoService(events, tasks, made, escalated, visits)


def _requests(rnd: random.Random, *, count: int) -> int:
    """Requests and complaints recorded by the customers' account managers over the last 8 days:
    a third still new, a third in progress, the rest resolved (half of those closed)."""
    customers = list(
        Customer.objects.unscoped()
        .filter(account_manager__isnull=False)
        .select_related("account_manager__user")
        .order_by("customer_no")
    )
    if not customers:
        return 0
    today = _selectors.service_today()
    made = 0
    for customer in rnd.sample(customers, min(count, len(customers))):
        kind, content, resolution = rnd.choice(REQUESTS)
        manager = customer.account_manager.user
        item = desk.request_create(
            actor=manager, customer_no=customer.customer_no, kind=kind, channel=rnd.choice(RequestChannel.values),
            content=content, today=today - timedelta(days=rnd.randint(0, 8)),
        )  # fmt: skip
        made += 1
        stage = rnd.random()
        if stage < 1 / 3:
            continue
        desk.request_advance(actor=manager, request_id=item.pk, status=RequestStatus.IN_PROGRESS, note="已受理，正在核实")
        if stage < 2 / 3:
            continue
        desk.request_advance(actor=manager, request_id=item.pk, status=RequestStatus.RESOLVED, note=resolution)
        if stage < 5 / 6:
            desk.request_advance(actor=manager, request_id=item.pk, status=RequestStatus.CLOSED, note="客户确认")
    return made


def _calls(rnd: random.Random, *, event: MarketEvent, share: float) -> int:
    """Calls that answered a share of the event's tasks, logged by the task's assignee."""
    open_tasks = list(
        Task.objects.unscoped()
        .filter(event=event, status=TaskStatus.OPEN, assignee__isnull=False)
        .select_related("customer", "assignee__user")
        .order_by("id")
    )
    logged = 0
    for task in rnd.sample(open_tasks, int(len(open_tasks) * share)):
        visit_log(
            actor=task.assignee.user, customer_no=task.customer.customer_no, channel=VisitChannel.PHONE,
            content=rnd.choice(CALL_NOTES), outcome=rnd.choice([VisitOutcome.REACHED, VisitOutcome.REACHED, VisitOutcome.CALL_BACK]),
            task_id=task.pk,
        )  # fmt: skip
        logged += 1
    return logged
