"""Tasks from the data (issue 6, "Events from the data"): after every publication, each rule is
evaluated over the latest published trading day and raises a task for the customer's account
manager — never a second one for the same condition while one is open.

Where each rule reads (the warehouse for what needs history or accounts, the database for the
customer master):

| rule | reads | dedup key (per customer and kind) |
| --- | --- | --- |
| large withdrawal | ``customer_indicators`` of the day: ``bank_out`` ≥ amount | ``bank_out:<day>`` |
| net outflow | ``customer_indicators`` of the last N trading days and the day before them | ``outflow:<day>``, none while one of the window is on record |
| margin warning / call | ``account_indicators`` of the day, credit accounts with debt | ``margin_<level>:<fund account>`` |
| limit-down | the day's quotes (``pre_close_price``) and security names; published holdings | ``limit_down:<day>`` |
| assessment expiring | ``Customer.risk_expiry`` | ``assessment:<expiry>`` |
| AML review due | ``Customer.aml_level``, ``aml_reviewed_on``, ``open_date`` | ``aml:<due day>``; an open one is cancelled once its day is no longer the due day (a review recorded) |
| dormant | ``customer_indicators`` of the dormancy window | ``dormant:<day>``, none while one of the window is on record |
| tier change | ``segments.TierChange`` of the last 7 days (not a starting tier) | ``tier:<date>:<old>><new>`` |
| birthday | ``Customer.birth_date`` | ``birthday:<year>`` |

A key names the episode (the day, the expiry, the due day, the year …): a task with that key is
raised once — re-running the pipeline, or the same day published again, creates nothing, and a
task marked done is not raised again for the same episode. Two rules describe a state that lasts
(a net outflow seen over a sliding window, a dormancy): they raise again only once the window has
passed without a task. The margin rules raise again when the earlier task is done and the ratio is
still low at the next publication (a margin call is followed up until it is resolved).

The warehouse parts are Ibis expressions (``*_expr``: tables in, a table out, no I/O) run on
DuckDB over the published snapshot files; the tasks are written in batches (``Task`` keeps its
partial unique constraint: one open task per customer, kind and key).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import ibis
import ibis.expr.types as ir
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from brokercrm.customers.models import Customer
from brokercrm.customers.rules import add_months, aml_review_months
from brokercrm.datacenter import runner, warehouse
from brokercrm.service import rules
from brokercrm.service.choices import TaskKind, TaskStatus
from brokercrm.service.models import Task

BATCH = 900  # under SQLite's bound-parameter limit
CLOSED = "closed"


@dataclass(frozen=True)
class Raise:
    """A task a rule wants raised."""

    customer_id: int
    kind: str
    rule: str
    dedup_key: str
    title: str
    priority: str
    suggestion: str = ""
    due_date: date | None = None


@dataclass
class DataEventsSummary:
    day: date | None
    #: tasks raised per rule (``large_withdrawal``, ``net_outflow``, ``margin_call`` …)
    raised: dict[str, int] = field(default_factory=dict)
    #: open tasks given to the customer's current account manager
    followed: int = 0
    #: open AML review tasks cancelled: the review was recorded since (``aml_tasks_settle``)
    settled: int = 0

    def counts(self) -> dict[str, int]:
        return {f"tasks_{rule}": n for rule, n in sorted(self.raised.items())} | {
            "tasks_followed": self.followed, "tasks_settled": self.settled,
        }


# --- warehouse expressions ---------------------------------------------------------------------


def large_withdrawal_expr(day_rows: ir.Table, *, amount: Decimal) -> ir.Table:
    """Customers whose bank transfers out on the day are ≥ ``amount``: customer_no, bank_out."""
    return day_rows.filter(day_rows.bank_out >= ibis.literal(amount)).select("customer_no", "bank_out")


def net_outflow_expr(window_rows: ir.Table, base_rows: ir.Table, *, ratio: Decimal) -> ir.Table:
    """Customers whose net outflow over the window is ≥ ``ratio`` × their total assets at the
    close of the day before the window.

    Net outflow = Σ (bank_out − bank_in + securities_out_value − securities_in_value): cash sent to
    the bank and securities transferred to another broker, less what came in. A customer without
    assets on the day before (new, or empty) is not measured. Compared exactly on decimals
    (outflow ≥ ratio × base, no division)."""
    w = window_rows
    flows = w.group_by("customer_no").aggregate(
        net_outflow=(w.bank_out - w.bank_in + w.securities_out_value - w.securities_in_value).sum()
    )
    base = base_rows.select("customer_no", base_assets=base_rows.total_assets)
    joined = flows.inner_join(base, "customer_no")
    return joined.filter(
        (joined.base_assets > 0) & (joined.net_outflow >= joined.base_assets * ibis.literal(ratio))
    ).select("customer_no", "net_outflow", "base_assets")


def margin_expr(accounts: ir.Table, *, warning: Decimal, call: Decimal) -> ir.Table:
    """Credit accounts whose maintenance ratio (total assets ÷ debt, DOMAIN.md "Margin trading":
    cash + market value of the securities, over financing + short value + interest payable) is
    below the warning ratio: fund_account, customer_no, total_assets, debt, level (``call`` below
    the call ratio). An account without debt has no ratio. Compared as assets < ratio × debt."""
    a = accounts.filter((accounts.account_type == "credit") & (accounts.debt > 0))
    low = a.filter(a.total_assets < a.debt * ibis.literal(warning))
    return low.select(
        "fund_account",
        "customer_no",
        "total_assets",
        "debt",
        level=ibis.ifelse(low.total_assets < low.debt * ibis.literal(call), "call", "warning"),
    )


def dormant_expr(window_rows: ir.Table, *, first_day: date) -> ir.Table:
    """Customers present on the window's first computed day who made no trade on any day of the
    window: customer_no."""
    w = window_rows
    per = w.group_by("customer_no").aggregate(
        trades=w.trade_count.sum(), present=(w.trade_date == ibis.literal(first_day)).any()
    )
    return per.filter(per.present & (per.trades == 0)).select("customer_no")


# --- reading the published snapshots -----------------------------------------------------------


def _snapshot(con: ibis.BaseBackend, data_dir: Path, table: str, days: Iterable[date]) -> ir.Table | None:
    """The published snapshot files of ``table`` for ``days`` as one table (None when none exists)."""
    version = runner.current_version(data_dir)
    if version is None:
        return None
    paths = [p for d in days if (p := runner._partition(version, table, d)).exists()]
    if not paths:
        return None
    return con.read_parquet([str(p) for p in paths])


def _rows(con: ibis.BaseBackend, expr: ir.Table) -> list[dict[str, Any]]:
    return con.to_pyarrow(expr).to_pylist()


# --- the rules -------------------------------------------------------------------------------


def _money(value: Any) -> str:
    return f"{Decimal(value):,.2f}"


def _percent(numerator: Any, denominator: Any) -> str:
    return f"{(Decimal(numerator) * 100 / Decimal(denominator)):.2f}"


def _ids(numbers: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(numbers))
    out: dict[str, int] = {}
    for start in range(0, len(wanted), BATCH):
        out.update(
            Customer.objects.unscoped().filter(customer_no__in=wanted[start : start + BATCH]).values_list("customer_no", "id")
        )
    return out


def _warehouse_rules(con, data_dir: Path, day: date, days: list[date], t: dict) -> list[Raise]:
    out: list[Raise] = []
    index = days.index(day)
    today_rows = _snapshot(con, data_dir, "customer_indicators", [day])
    # large withdrawal: the day's bank transfers out
    withdrawals: dict[str, Any] = {}
    if today_rows is not None:
        for r in _rows(con, large_withdrawal_expr(today_rows, amount=t["large_withdrawal_amount"])):
            withdrawals[r["customer_no"]] = r["bank_out"]
    # net outflow over the last N trading days, against the assets of the day before them
    outflows: dict[str, dict] = {}
    n = int(t["net_outflow_days"])
    if n >= 1 and index - n >= 0:
        window = days[index - n + 1 : index + 1]
        window_rows = _snapshot(con, data_dir, "customer_indicators", window)
        base_rows = _snapshot(con, data_dir, "customer_indicators", [days[index - n]])
        if window_rows is not None and base_rows is not None:
            for r in _rows(con, net_outflow_expr(window_rows, base_rows, ratio=t["net_outflow_ratio"])):
                outflows[r["customer_no"]] = r | {"window_start": window[0]}
    # margin: the day's credit accounts
    margins: list[dict] = []
    account_rows = _snapshot(con, data_dir, "account_indicators", [day])
    if account_rows is not None:
        margins = _rows(con, margin_expr(account_rows, warning=t["margin_warning_ratio"], call=t["margin_call_ratio"]))
    # dormant: no trade over the calendar window, which the computed days must cover
    dormant: list[str] = []
    window_start = day - timedelta(days=int(t["dormant_days"]) - 1)
    if days and days[0] <= window_start:
        window = [d for d in days if window_start <= d <= day]
        rows = _snapshot(con, data_dir, "customer_indicators", window)
        if rows is not None:
            dormant = [r["customer_no"] for r in _rows(con, dormant_expr(rows.select("customer_no", "trade_date", "trade_count"), first_day=window[0]))]
    ids = _ids([*withdrawals, *outflows, *(m["customer_no"] for m in margins), *dormant])

    priorities = rules.DATA_RULE_PRIORITIES
    for number, amount in withdrawals.items():
        if number in ids:
            out.append(Raise(
                ids[number], TaskKind.LARGE_WITHDRAWAL, "large_withdrawal", f"bank_out:{day.isoformat()}",
                _("Large withdrawal: ¥%(amount)s transferred to the bank on %(day)s") % {"amount": _money(amount), "day": day.isoformat()},
                priorities["large_withdrawal"],
                _("Call the customer: ask whether they are satisfied with the service and what the money is for."),
            ))  # fmt: skip
    recent = _recent_keys(
        kind=TaskKind.LARGE_WITHDRAWAL, customer_ids=[ids[n] for n in outflows if n in ids], prefixes=("bank_out:", "outflow:")
    )
    for number, r in outflows.items():
        if number not in ids or number in withdrawals:
            continue  # the day's large withdrawal task tells it already
        if any(d >= r["window_start"] for d in recent.get(ids[number], ())):
            continue  # the same outflow: a task of its window is on record
        out.append(Raise(
            ids[number], TaskKind.LARGE_WITHDRAWAL, "net_outflow", f"outflow:{day.isoformat()}",
            _("Net outflow of %(share)s%% of assets over %(days)s trading days (¥%(amount)s)")
            % {"share": _percent(r["net_outflow"], r["base_assets"]), "days": n, "amount": _money(r["net_outflow"])},
            priorities["net_outflow"],
            _("Call the customer: ask whether they are satisfied with the service and what the money is for."),
        ))  # fmt: skip
    for m in margins:
        if m["customer_no"] not in ids:
            continue
        level = m["level"]
        title = (
            _("Margin call: maintenance ratio %(ratio)s%% on credit account %(account)s")
            if level == "call"
            else _("Margin warning: maintenance ratio %(ratio)s%% on credit account %(account)s")
        )
        out.append(Raise(
            ids[m["customer_no"]], TaskKind.MARGIN_CALL, f"margin_{level}", f"margin_{level}:{m['fund_account']}",
            title % {"ratio": _percent(m["total_assets"], m["debt"]), "account": m["fund_account"]},
            priorities[f"margin_{level}"],
            _("Tell the customer to add collateral or repay within 2 trading days; otherwise positions are liquidated.")
            if level == "call" else _("Warn the customer that the ratio is close to the margin call level."),
        ))  # fmt: skip
    recent = _recent_keys(kind=TaskKind.DORMANT, customer_ids=[ids[n] for n in dormant if n in ids], prefixes=("dormant:",))
    for number in dormant:
        if number not in ids or any(d >= window_start for d in recent.get(ids[number], ())):
            continue
        out.append(Raise(
            ids[number], TaskKind.DORMANT, "dormant", f"dormant:{day.isoformat()}",
            _("No trade for %(days)s days") % {"days": t["dormant_days"]}, priorities["dormant"],
            _("Get in touch: market news, a product that suits the customer, or an invitation."),
        ))  # fmt: skip
    return out


def _recent_keys(*, kind: str, customer_ids: list[int], prefixes: tuple[str, ...]) -> dict[int, list[date]]:
    """The days in the dedup keys (``<prefix><day>``) of the customers' tasks of ``kind``, any status."""
    found: dict[int, list[date]] = defaultdict(list)
    for start in range(0, len(customer_ids), BATCH):
        rows = Task.objects.unscoped().filter(kind=kind, customer_id__in=customer_ids[start : start + BATCH])
        for customer_id, key in rows.values_list("customer_id", "dedup_key"):
            for prefix in prefixes:
                if key.startswith(prefix):
                    try:
                        found[customer_id].append(date.fromisoformat(key[len(prefix) :]))
                    except ValueError:
                        pass
    return found


def limit_down_securities(*, data_dir: Path, day: date) -> dict[tuple[str, str], str]:
    """Stocks that closed at their limit-down price on ``day``: (exchange, code) → name.

    From the day's quotes (``pre_close_price``, the exchange's reference price; a listing day has
    none and no limit) and the security master (type and name: ST stocks have a 5 % limit)."""
    quotes = warehouse.read_flows(data_dir, "quotes", start=day, end=day)
    securities = warehouse.read_flows(data_dir, "securities", start=day, end=day)
    master = {
        (r["exchange"], r["security_code"]): (r["security_type"], r["name"] or "")
        for r in securities.select(["exchange", "security_code", "security_type", "name"]).to_pylist()
    }
    out: dict[tuple[str, str], str] = {}
    for r in quotes.select(["exchange", "security_code", "close_price", "pre_close_price"]).to_pylist():
        key = (r["exchange"], r["security_code"])
        kind, name = master.get(key, ("", ""))
        if kind != "stock" or r["pre_close_price"] is None or r["pre_close_price"] <= 0:
            continue
        limit = rules.price_limit_pct(exchange=key[0], security_code=key[1], name=name)
        if Decimal(r["close_price"]) <= rules.limit_down_price(pre_close=Decimal(r["pre_close_price"]), limit_pct=limit):
            out[key] = name
    return out


def _limit_down_rules(*, data_dir: Path, day: date) -> list[Raise]:
    from brokercrm.datacenter.models import Holding

    down = limit_down_securities(data_dir=data_dir, day=day)
    if not down:
        return []
    held: dict[int, set[tuple[str, str]]] = defaultdict(set)
    pairs = sorted(down)
    for start in range(0, len(pairs), 400):
        condition = Q()
        for exchange, code in pairs[start : start + 400]:
            condition |= Q(exchange=exchange, security_code=code)
        rows = Holding.objects.unscoped().filter(condition, trade_date=day, quantity__gt=0)
        for customer_id, exchange, code in rows.values_list("customer_id", "exchange", "security_code"):
            held[customer_id].add((exchange, code))
    out = []
    for customer_id, securities in held.items():
        names = ", ".join(f"{e}{c} {down[(e, c)]}".strip() for e, c in sorted(securities))
        out.append(Raise(
            customer_id, TaskKind.LIMIT_DOWN, "limit_down", f"limit_down:{day.isoformat()}",
            (_("Holding closed at limit-down: %(securities)s") % {"securities": names})[:200],
            rules.DATA_RULE_PRIORITIES["limit_down"],
            _("Call the customer: explain what happened and check the position still suits their risk level."),
        ))  # fmt: skip
    return out


def aml_review_due(*, level: str, reviewed: date | None, opened: date | None) -> date | None:
    """When the customer's next AML review falls due: the last review (else the account's
    opening) plus the level's cycle (``customers.rules.aml_review_months``); none without a
    rating."""
    months = aml_review_months().get(level)
    start = reviewed or opened
    return add_months(start, months) if months and start else None


def aml_tasks_settle() -> int:
    """Cancel the open AML review tasks whose review is no longer due on their day: the
    customer's review was recorded since (``Customer.aml_reviewed_on``, e.g. the AML system's
    review dates loaded at go-live) or the rating changed. A task done records the review itself
    (``services.task_complete``). Returns the tasks cancelled."""
    rows = Task.objects.unscoped().filter(kind=TaskKind.AML_REVIEW, status=TaskStatus.OPEN)
    stale = []
    for pk, key, level, reviewed, opened in rows.values_list(
        "id", "dedup_key", "customer__aml_level", "customer__aml_reviewed_on", "customer__open_date"
    ).iterator(chunk_size=2000):
        due = aml_review_due(level=level, reviewed=reviewed, opened=opened)
        if due is None or key != f"aml:{due.isoformat()}":
            stale.append(pk)
    for start in range(0, len(stale), 500):
        Task.objects.unscoped().filter(pk__in=stale[start : start + 500]).update(status=TaskStatus.CANCELLED)
    return len(stale)


def _customer_rules(*, day: date, t: dict) -> list[Raise]:
    """Assessment expiring, AML review due, birthday — from the customer master."""
    from brokercrm.segments.models import TierChange

    out: list[Raise] = []
    priorities = rules.DATA_RULE_PRIORITIES
    customers = Customer.objects.unscoped().exclude(status=CLOSED)
    horizon = day + timedelta(days=int(t["assessment_expiring_days"]))
    expiring = customers.exclude(risk_level="").filter(risk_expiry__gte=day, risk_expiry__lte=horizon)
    for customer_id, expiry in expiring.values_list("id", "risk_expiry").iterator(chunk_size=2000):
        out.append(Raise(
            customer_id, TaskKind.ASSESSMENT_EXPIRING, "assessment_expiring", f"assessment:{expiry.isoformat()}",
            _("Risk assessment expires on %(day)s") % {"day": expiry.isoformat()}, priorities["assessment_expiring"],
            _("Invite the customer to take the risk questionnaire again: an expired assessment counts as none."),
        ))  # fmt: skip
    # AML: due when the last review (or the open date) plus the level's cycle is on or before the
    # day; the database narrows to starts on or before the day moved back by the cycle
    for level, months in aml_review_months().items():
        cutoff = add_months(day, -months)
        if (day + timedelta(days=1)).month != day.month:  # the day ends its month: so does the cutoff
            cutoff = add_months(day.replace(day=1), -months)
            cutoff = add_months(cutoff, 1) - timedelta(days=1)
        due = customers.filter(aml_level=level).filter(
            Q(aml_reviewed_on__lte=cutoff) | Q(aml_reviewed_on__isnull=True, open_date__lte=cutoff)
        )
        for customer_id, reviewed, opened in due.values_list("id", "aml_reviewed_on", "open_date").iterator(chunk_size=2000):
            next_review = aml_review_due(level=level, reviewed=reviewed, opened=opened)
            if next_review is None or next_review > day:  # pragma: no cover - the cutoff is exact; kept as the rule's own check
                continue
            out.append(Raise(
                customer_id, TaskKind.AML_REVIEW, "aml_review", f"aml:{next_review.isoformat()}",
                _("AML review due since %(day)s") % {"day": next_review.isoformat()}, priorities["aml_review"],
                _("Review the customer's AML risk rating and identity documents, and record the review."),
            ))  # fmt: skip
    # tier changes of the last days (the starting tier is not a change)
    changes = TierChange.objects.unscoped().filter(date__gt=day - timedelta(days=rules.TIER_CHANGE_DAYS), date__lte=day)
    for customer_id, on, old, new, reason in changes.exclude(reason="initial").values_list("customer_id", "date", "old", "new", "reason"):
        upgrade = reason == "upgrade"
        out.append(Raise(
            customer_id, TaskKind.TIER_CHANGE, "tier_change", f"tier:{on.isoformat()}:{old}>{new}",
            _("Tier changed on %(day)s: %(old)s → %(new)s") % {"day": on.isoformat(), "old": _tier(old), "new": _tier(new)},
            priorities["tier_upgrade" if upgrade else "tier_downgrade"],
            _("Congratulate the customer and present the services of the new tier.") if upgrade
            else _("Call the customer: the tier went down; find out why and what would help."),
        ))  # fmt: skip
    # birthdays within the next days (29 February is celebrated on the 28th in other years)
    ahead = int(t["birthday_days_ahead"])
    upcoming = [day + timedelta(days=i) for i in range(1, ahead + 1)]
    if upcoming:
        condition = Q()
        for d in upcoming:
            condition |= Q(birth_date__month=d.month, birth_date__day=d.day)
            if d.month == 2 and d.day == 28 and not _leap(d.year):
                condition |= Q(birth_date__month=2, birth_date__day=29)
        for customer_id, born in customers.filter(birth_date__isnull=False).filter(condition).values_list("id", "birth_date"):
            birthday = _birthday_in(born, upcoming)
            due = _trading_day_on_or_before(birthday)
            out.append(Raise(
                customer_id, TaskKind.BIRTHDAY, "birthday", f"birthday:{birthday.year}",
                _("Birthday on %(day)s") % {"day": birthday.isoformat()}, priorities["birthday"],
                _("Send the customer birthday greetings."), due_date=max(due, rules.add_trading_days(day, 1)),
            ))  # fmt: skip
    return out


def _tier(code: str) -> str:
    from brokercrm.segments.choices import Tier

    return str(Tier(code).label) if code in Tier.values else (code or "—")


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _birthday_in(born: date, days: list[date]) -> date:
    for d in days:
        if (born.month, born.day) == (d.month, d.day) or ((born.month, born.day) == (2, 29) and (d.month, d.day) == (2, 28) and not _leap(d.year)):
            return d
    raise ValueError(born)  # pragma: no cover - the query selected only these


def _trading_day_on_or_before(day: date) -> date:
    from brokercrm.simulate.calendar import is_trading_day

    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


# --- raising ---------------------------------------------------------------------------------


#: rules whose key names an episode: once raised (open, done or cancelled), never again
ONCE_RULES = frozenset(
    {"large_withdrawal", "net_outflow", "limit_down", "assessment_expiring", "aml_review", "dormant", "tier_change", "birthday"}
)


def tasks_raise_bulk(*, raises: list[Raise], today: date) -> dict[str, int]:
    """Write the tasks of ``raises`` in batches, for each customer's account manager, due by tier
    (``rules.deadline``) unless the rule gave a date — the rule of ``services.task_raise`` for many
    rows at once. Skipped: a key already open (every rule) or on record at all (``ONCE_RULES``).
    Returns the tasks created per rule."""
    created: dict[str, int] = defaultdict(int)
    due_by_tier: dict[str, date] = {}
    unique = list({(r.customer_id, r.kind, r.dedup_key): r for r in raises}.values())
    for start in range(0, len(unique), BATCH):
        batch = unique[start : start + BATCH]
        ids = sorted({r.customer_id for r in batch})
        known: set[tuple[int, str, str]] = set()
        open_keys: set[tuple[int, str, str]] = set()
        rows = (
            Task.objects.unscoped()
            .filter(customer_id__in=ids, kind__in={r.kind for r in batch})
            .exclude(dedup_key="")
            .values_list("customer_id", "kind", "dedup_key", "status")
        )
        for c, k, key, status in rows:
            known.add((c, k, key))
            if status == TaskStatus.OPEN:
                open_keys.add((c, k, key))
        people = {
            pk: (manager, tier or rules.DEFAULT_TIER)
            for pk, manager, tier in Customer.objects.unscoped().filter(pk__in=ids).values_list("id", "account_manager_id", "segment__tier")
        }
        tasks = []
        for r in batch:
            key = (r.customer_id, r.kind, r.dedup_key)
            if key in open_keys or (r.rule in ONCE_RULES and key in known):
                continue
            manager, tier = people[r.customer_id]
            if r.due_date is None and tier not in due_by_tier:
                due_by_tier[tier] = rules.deadline(tier=tier, raised_on=today)
            tasks.append(Task(
                customer_id=r.customer_id, assignee_id=manager, kind=r.kind, priority=r.priority, title=r.title[:200],
                suggestion=r.suggestion[:2000], due_date=r.due_date or due_by_tier[tier], dedup_key=r.dedup_key[:120],
            ))  # fmt: skip
            created[r.rule] += 1
        with transaction.atomic():
            # a concurrent run's open task trips the partial unique constraint: that row is skipped
            Task.objects.unscoped().bulk_create(tasks, ignore_conflicts=True)
    return dict(created)


def data_rules_evaluate(*, data_dir: Path, day: date | None = None) -> tuple[date | None, list[Raise]]:
    """Every rule over ``day`` (default: the latest published trading day), nothing written."""
    days = runner.computed_days(data_dir=data_dir)
    if day is None:
        day = days[-1] if days else None
    if day is None:
        return None, []
    t = rules.data_rule_thresholds()
    raises: list[Raise] = []
    if day in days:
        con = ibis.duckdb.connect()
        raises += _warehouse_rules(con, data_dir, day, days, t)
        raises += _limit_down_rules(data_dir=data_dir, day=day)
    raises += _customer_rules(day=day, t=t)
    return day, raises


def data_events_raise(*, data_dir: Path, day: date | None = None, today: date | None = None) -> DataEventsSummary:
    """Evaluate every rule over the latest published day and raise the tasks (see the module
    doc); then open tasks of customers who changed account manager follow them
    (``team.tasks_follow_customers``). Called at the end of every publication
    (``datacenter.services.datacenter_publish``); running it again raises nothing new."""
    from brokercrm.service.selectors import service_today
    from brokercrm.service.team import tasks_follow_customers

    day, raises = data_rules_evaluate(data_dir=data_dir, day=day)
    summary = DataEventsSummary(day=day)
    if day is None:
        return summary
    summary.settled = aml_tasks_settle()
    summary.raised = tasks_raise_bulk(raises=raises, today=today or service_today())
    summary.followed = tasks_follow_customers()
    return summary


# --- head office's thresholds ------------------------------------------------------------------

ERR_POLICY_NOT_ALLOWED = "Only head office may change the service thresholds."
ERR_POLICY_MARGIN = _("The margin call ratio must be below the warning ratio, and both above 0.")
ERR_POLICY_RATIO = _("The net outflow share is a number above 0 and at most 1.")
ERR_POLICY_NEGATIVE = _("Amounts cannot be negative.")
ERR_POLICY_DAYS = _("Every number of days must be at least 1.")


@transaction.atomic
def service_policy_update(*, actor: Any, values: dict[str, Any], note: str = "", request: Any = None):
    """Put new thresholds in force (head office: ``MANAGE_SEGMENTS``); earlier ones stay as the
    history. Missing names keep the values in force. Applies from the next publication."""
    from django.core.exceptions import PermissionDenied, ValidationError

    from brokercrm.org.choices import AuditAction
    from brokercrm.org.policy import Capability
    from brokercrm.org.selectors import user_can
    from brokercrm.org.services import audit_record
    from brokercrm.service.models import ServicePolicy

    if not user_can(user=actor, capability=Capability.MANAGE_SEGMENTS):
        raise PermissionDenied(ERR_POLICY_NOT_ALLOWED)
    merged = rules.data_rule_thresholds() | {k: v for k, v in values.items() if k in rules.DATA_RULE_DEFAULTS}
    t = {k: (Decimal(str(v)) if isinstance(rules.DATA_RULE_DEFAULTS[k], Decimal) else int(v)) for k, v in merged.items()}
    if not (0 < t["margin_call_ratio"] < t["margin_warning_ratio"]):
        raise ValidationError(ERR_POLICY_MARGIN)
    if not (0 < t["net_outflow_ratio"] <= 1):
        raise ValidationError(ERR_POLICY_RATIO)
    if t["large_withdrawal_amount"] < 0 or t["big_flow_amount"] < 0:
        raise ValidationError(ERR_POLICY_NEGATIVE)
    if min(t["net_outflow_days"], t["assessment_expiring_days"], t["dormant_days"], t["birthday_days_ahead"]) < 1:
        raise ValidationError(ERR_POLICY_DAYS)
    policy = ServicePolicy(note=note.strip()[:200], created_by=actor if getattr(actor, "is_authenticated", False) else None, **t)
    policy.full_clean()
    policy.save()
    audit_record(
        actor=actor,
        action=AuditAction.SERVICE_POLICY_UPDATE,
        object_type="service_policy",
        object_id=str(policy.pk),
        request=request,
        detail={k: str(v) for k, v in t.items()},
    )
    return policy


def service_policy_history(limit: int = 20) -> list:
    from brokercrm.service.models import ServicePolicy

    return list(ServicePolicy.objects.select_related("created_by").order_by("-created_at", "-id")[:limit])
