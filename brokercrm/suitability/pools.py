"""Pool eligibility as the suitability decision needs it: customer → pool → met.

The pools themselves are computed and published by the data center (DOMAIN.md, "Qualified
customer pools"); this module only reads them through ``datacenter.selectors``:

- pages and services: the published pools (``customer_pools``, ``pool_members``), in the
  actor's scope;
- exports of a day: the warehouse snapshot of that day (``read_pools``);
- re-matching (a system job, no scope): the warehouse snapshot of the published day.

Fail-closed everywhere: a pool without a result is not met.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Iterable

from django.conf import settings

from brokercrm.datacenter import selectors as datacenter


@dataclass(frozen=True)
class PoolSnapshot:
    """Pool membership of some customers (as of ``day``; ``None``: nothing published)."""

    day: date | None
    met: dict[str, dict[str, bool]] = field(default_factory=dict)

    def of(self, customer_no: str) -> dict[str, bool]:
        return self.met.get(customer_no, {})


def pools_read(*, day: date, customer_nos: Iterable[str] | None = None, data_dir: Path | None = None) -> PoolSnapshot:
    """The warehouse pool snapshot of ``day``; raises ``ValueError`` when the day is not computed."""
    numbers = list(customer_nos) if customer_nos is not None else None
    snapshot = datacenter.read_pools(data_dir=data_dir or settings.DATA_DIR, day=day, customer_nos=numbers)
    met = {no: {pool: bool(value[0]) for pool, value in pools.items()} for no, pools in snapshot.items()}
    return PoolSnapshot(day=day, met=met)


def pools_day() -> date | None:
    """The trading day of the published pools."""
    return datacenter.pools_as_of()


def pools_of_customer(*, actor: Any, customer_no: str) -> PoolSnapshot:
    """One customer's published pools (empty when out of the actor's scope)."""
    statuses = datacenter.customer_pools(actor=actor, customer_no=customer_no)
    if not statuses:
        return PoolSnapshot(day=pools_day())
    day = max(s.as_of for s in statuses.values())
    return PoolSnapshot(day=day, met={customer_no: {pool: s.eligible for pool, s in statuses.items()}})


def pools_members(*, actor: Any, pool: str) -> PoolSnapshot:
    """The customers in the actor's scope who are in ``pool`` (published)."""
    numbers = datacenter.pool_members(actor=actor, pool=pool, eligible=True).values_list(
        "customer__customer_no", flat=True
    )
    return PoolSnapshot(day=pools_day(), met={no: {pool: True} for no in numbers})


def pools_batch(*, customer_nos: Iterable[str]) -> PoolSnapshot:
    """Pools of many customers for system jobs (re-matching): the warehouse snapshot of the
    published day; nothing met when nothing is published or the snapshot is missing."""
    day = pools_day()
    if day is None:
        return PoolSnapshot(day=None)
    try:
        return pools_read(day=day, customer_nos=customer_nos)
    except (ValueError, FileNotFoundError):
        return PoolSnapshot(day=None)
