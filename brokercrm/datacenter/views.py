"""The data center's operations page: days ingested per counter, quarantine and reconciliation."""

from __future__ import annotations

import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from brokercrm.customers.choices import Pool, PoolReason
from brokercrm.customers.services import customer_list_record
from brokercrm.datacenter.selectors import (
    datacenter_breaks,
    datacenter_quarantine,
    datacenter_status,
    last_publication,
    pool_counts,
    pool_members,
    pools_as_of,
    reason_label,
)
from brokercrm.datacenter.services import pool_members_export
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can


def _require(request: HttpRequest) -> None:
    if not user_can(user=request.user, capability=Capability.VIEW_DATACENTER):
        raise PermissionDenied


@login_required
@require_GET
def status(request: HttpRequest) -> HttpResponse:
    _require(request)
    days = datacenter_status(actor=request.user, data_dir=settings.DATA_DIR)
    counters = sorted({c for d in days for c in d.counters})
    rows = [{"day": d, "per_counter": [d.counters.get(c, {}) for c in counters]} for d in days]
    return render(
        request,
        "datacenter/status.html",
        {"rows": rows, "counters": counters, "publication": last_publication()},
    )


@login_required
@require_GET
def day_detail(request: HttpRequest, day: str) -> HttpResponse:
    _require(request)
    try:
        trade_date = parse_date(day)
    except ValueError:
        trade_date = None
    if trade_date is None:
        raise PermissionDenied
    return render(
        request,
        "datacenter/_day.html",
        {
            "day": trade_date,
            "breaks": datacenter_breaks(actor=request.user, data_dir=settings.DATA_DIR, day=trade_date)[:500],
            "quarantine": datacenter_quarantine(actor=request.user, data_dir=settings.DATA_DIR, day=trade_date)[:500],
        },
    )


# --- qualified customer pools ---------------------------------------------------------------------


def _pool_filters(request: HttpRequest) -> dict[str, str]:
    pool = request.GET.get("pool", "")
    eligible = request.GET.get("eligible", "yes")
    reason = request.GET.get("reason", "")
    values = {
        "pool": pool if pool in Pool.values else Pool.MARGIN.value,
        "eligible": "no" if eligible == "no" else "yes",
        "reason": reason if reason in PoolReason.values else "",
    }
    if values["eligible"] == "yes":
        values["reason"] = ""  # an eligible customer fails nothing
    return values


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


@login_required
@require_GET
def pools(request: HttpRequest) -> HttpResponse:
    """Customers in (or not in) a qualified pool, in the user's scope, with the reasons."""
    if not user_can(user=request.user, capability=Capability.VIEW_POOLS):
        raise PermissionDenied
    filters = _pool_filters(request)
    members = pool_members(
        actor=request.user,
        pool=filters["pool"],
        eligible=filters["eligible"] == "yes",
        reason=filters["reason"] or None,
    )
    page = Paginator(members, 25).get_page(_page_number(request))
    page.object_list = [
        {
            "customer": row.customer,
            "reasons": [reason_label(code) for code in row.reason_codes],
            "as_of": row.as_of,
        }
        for row in page.object_list
    ]
    customer_list_record(
        actor=request.user,
        filters=filters,
        shown=[r["customer"].customer_no for r in page.object_list],
        request=request,
        via="pools",
    )
    counts = pool_counts(actor=request.user)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "pools": Pool.choices,
        "reasons": PoolReason.choices,
        "counts": [
            {"pool": value, "label": label, "yes": counts[value][True], "no": counts[value][False]}
            for value, label in Pool.choices
        ],
        "as_of": pools_as_of(),
        "querystring": params.urlencode(),
        "can_export": user_can(user=request.user, capability=Capability.EXPORT_CUSTOMERS),
    }
    template = "datacenter/_pool_table.html" if request.htmx else "datacenter/pools.html"
    return render(request, template, context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@require_GET
def pools_export(request: HttpRequest) -> StreamingHttpResponse:
    """The pool list as CSV (``EXPORT_CUSTOMERS``; audited)."""
    filters = _pool_filters(request)
    rows = pool_members_export(
        actor=request.user,
        pool=filters["pool"],
        eligible=filters["eligible"] == "yes",
        reason=filters["reason"] or None,
        request=request,
    )
    writer = csv.writer(_Echo())
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        ("\ufeff" if i == 0 else "") + writer.writerow(row) for i, row in enumerate(rows)
    )
    response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = f'attachment; filename="pool-{filters["pool"]}-{stamp}.csv"'
    return response
