"""The data center's operations page: days ingested per counter, quarantine and reconciliation."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_GET

from brokercrm.datacenter.selectors import (
    datacenter_breaks,
    datacenter_quarantine,
    datacenter_status,
    last_publication,
)
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
