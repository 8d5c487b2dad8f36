"""The segmentation stage of a pipeline day: state in, snapshots out (no file I/O, no Django).

:func:`segments_stage` is what ``datacenter.runner._compute_day`` calls after the customer
indicators of d, with its own ``run`` (execute an expression once, give back Arrow and a table
that re-enters later expressions) and ``tables`` (Arrow → a table of the engine).
:func:`compute_segments_day` does the same standalone, on one engine, for tests and tools.

The runner must hand over, per day d:

- ``tier_state``, ``commission_months``, ``abcd_sums`` written for the previous trading day
  (None on the first day);
- ``leaving``: the ``abcd_daily`` written for :func:`pipeline.abcd_leaving_day` (None when None);
- ``branches``: ``customer_no, branch_code`` of the customer master;
- ``thresholds``: the tier thresholds in force (``segments.selectors.tier_policy_thresholds``).

It writes every table of :data:`pipeline.SEGMENT_SCHEMAS` for d, in
:data:`pipeline.SEGMENT_SORT_KEYS` order. A day is recomputed when its evaluation status
(:func:`pipeline.is_evaluation_day`) or the thresholds change.
"""

from __future__ import annotations

from datetime import date
from typing import Callable, Mapping, Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from brokercrm.segments import pipeline as sp

Run = Callable[..., tuple[pa.Table, ir.Table]]


def segments_stage(
    *,
    run: Run,
    tables: Callable[[pa.Table], ir.Table],
    day: date,
    calendar: Sequence[date],
    customer_indicators: ir.Table,
    accounts: ir.Table,
    cash_flows: ir.Table,
    branches: ir.Table,
    tier_state: pa.Table | None,
    commission_months: pa.Table | None,
    abcd_sums: pa.Table | None,
    leaving: pa.Table | None,
    thresholds: Mapping[str, sp.TierThreshold] = sp.DEFAULT_TIER_THRESHOLDS,
) -> dict[str, pa.Table]:
    """Every segmentation snapshot of d (:data:`pipeline.SEGMENT_SCHEMAS`) as Arrow.

    ``run(expr, schema, order)`` executes an expression once and returns ``(arrow, table)``;
    ``tables(arrow)`` registers Arrow with the engine (``datacenter.runner._compute_day`` has both).
    """
    keys = sp.SEGMENT_SORT_KEYS
    out: dict[str, pa.Table] = {}
    out["commission_months"], months_t = run(
        sp.commission_months_step(
            previous=tables(commission_months) if commission_months is not None else None,
            customer_indicators=customer_indicators,
            day=day,
        ),
        sp.COMMISSION_MONTHS_SCHEMA,
        keys["commission_months"],
    )
    evaluation = sp.tier_evaluation(
        previous=tables(tier_state) if tier_state is not None else None,
        customer_indicators=customer_indicators,
        commission_months=months_t,
        day=day,
        evaluation_day=sp.is_evaluation_day(calendar, day),
        full_history_from=sp.full_history_from(calendar, day),
        thresholds=thresholds,
    )
    out["tier_state"], state_t = run(evaluation.state, sp.TIER_STATE_SCHEMA, keys["tier_state"])
    out["tier_changes"], _ = run(evaluation.changes, sp.TIER_CHANGES_SCHEMA, keys["tier_changes"])
    out["abcd_daily"], daily_t = run(
        sp.abcd_daily(customer_indicators=customer_indicators, cash_flows=cash_flows, accounts=accounts, day=day),
        sp.ABCD_DAILY_SCHEMA,
        keys["abcd_daily"],
    )
    out["abcd_sums"], sums_t = run(
        sp.abcd_sums_step(
            previous=tables(abcd_sums) if abcd_sums is not None else None,
            daily=daily_t,
            leaving=tables(leaving) if leaving is not None else None,
            day=day,
        ),
        sp.ABCD_SUMS_SCHEMA,
        keys["abcd_sums"],
    )
    abcd = sp.abcd_class(sums=sums_t, customer_indicators=customer_indicators, branches=branches, day=day)
    out["segments"], _ = run(sp.segments(tier_state=state_t, abcd=abcd, day=day), sp.SEGMENTS_SCHEMA, keys["segments"])
    return out


def compute_segments_day(
    *,
    con: ibis.BaseBackend,
    day: date,
    calendar: Sequence[date],
    customer_indicators: pa.Table,
    accounts: pa.Table,
    cash_flows: pa.Table,
    branches: pa.Table,
    tier_state: pa.Table | None,
    commission_months: pa.Table | None,
    abcd_sums: pa.Table | None,
    leaving: pa.Table | None,
    thresholds: Mapping[str, sp.TierThreshold] = sp.DEFAULT_TIER_THRESHOLDS,
) -> dict[str, pa.Table]:
    """:func:`segments_stage` on one engine (``datacenter.runner.connect``), Arrow in and out."""
    from brokercrm.datacenter.runner import _Stages, _Tables, with_tables

    def work(tables: _Tables) -> dict[str, pa.Table]:
        return segments_stage(
            run=_Stages(con, tables, None).run,
            tables=tables,
            day=day,
            calendar=calendar,
            customer_indicators=tables(customer_indicators),
            accounts=tables(accounts),
            cash_flows=tables(cash_flows),
            branches=tables(branches),
            tier_state=tier_state,
            commission_months=commission_months,
            abcd_sums=abcd_sums,
            leaving=leaving,
            thresholds=thresholds,
        )

    return with_tables(con, work, prefix="brokercrm-segments-")


def branches_from_customers(customers: pa.Table) -> pa.Table:
    """``customer_no, branch_code`` from the counters' ``customers`` flow of any range of days:
    the latest row per customer wins (COUNTERS.md, customers: "later rows replace earlier ones").
    Until the carried customer master holds ``branch_code``, the runner can feed this with the
    flows up to d."""
    latest: dict[str, str] = {}
    ordered = customers.select(["customer_no", "branch_code", "trade_date", "line"]).sort_by(
        [("trade_date", "ascending"), ("line", "ascending")]
    )
    for number, branch in zip(ordered.column("customer_no").to_pylist(), ordered.column("branch_code").to_pylist()):
        latest[number] = branch
    return pa.table(
        {"customer_no": pa.array(list(latest), pa.string()), "branch_code": pa.array(list(latest.values()), pa.string())}
    )
