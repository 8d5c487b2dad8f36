"""Segmentation pages: who moved up or down this month, and head office's tier policy. Thin."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from brokercrm.customers.services import customer_list_record
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.segments.choices import Tier
from brokercrm.segments.forms import TierPolicyForm
from brokercrm.segments.pipeline import TIERS
from brokercrm.segments.selectors import (
    DIRECTIONS,
    current_month,
    segments_as_of,
    tier_changes_page,
    tier_policy_current,
    tier_policy_history,
)
from brokercrm.segments.services import tier_policy_update

ERR_MONTH = "month must be YYYY-MM, not {value!r}"


def parse_month(value: str) -> date:
    """``YYYY-MM`` → the first day of that month (ValueError otherwise)."""
    year, _sep, month = value.partition("-")
    if len(year) != 4 or len(month) != 2 or not (year.isdigit() and month.isdigit()):
        raise ValueError(ERR_MONTH.format(value=value))
    try:
        return date(int(year), int(month), 1)
    except ValueError:
        raise ValueError(ERR_MONTH.format(value=value)) from None


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


@login_required
@require_http_methods(["GET"])
def tier_changes(request: HttpRequest) -> HttpResponse:
    """Upgrades and downgrades of a month among the user's customers."""
    as_of = segments_as_of()
    default = as_of.replace(day=1) if as_of else current_month()
    raw = request.GET.get("month", "").strip()[:16]
    error = ""
    month = default
    if raw:
        try:
            month = parse_month(raw)
        except ValueError:
            error = _("The month must be written YYYY-MM (for example 2026-04).")
    direction = request.GET.get("direction", "")
    if direction not in DIRECTIONS:
        direction = ""
    page = tier_changes_page(actor=request.user, month=month, direction=direction, page=_page_number(request))
    customer_list_record(
        actor=request.user,
        filters={"month": month.strftime("%Y-%m"), "direction": direction},
        shown=[r.customer_no for r in page.object_list],
        request=request,
        via="tier_changes",
    )
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "month": month,
        "month_value": month.strftime("%Y-%m"),
        "direction": direction,
        "error": error,
        "as_of": as_of,
        "querystring": params.urlencode(),
    }
    template = "segments/_tier_changes_table.html" if request.htmx else "segments/tier_changes.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def tier_policy(request: HttpRequest) -> HttpResponse:
    """The tier thresholds and points multipliers in force; head office changes them here."""
    can_manage = user_can(user=request.user, capability=Capability.MANAGE_SEGMENTS)
    if not (can_manage or user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS)):
        raise PermissionDenied
    current = tier_policy_current()
    form = TierPolicyForm(request.POST or None, initial_policy=current)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                tier_policy_update(
                    actor=request.user,
                    thresholds=form.thresholds(),
                    multipliers=form.multipliers(),
                    note=form.cleaned_data["note"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The new tier policy applies from the next pipeline run."))
                return redirect("segments:policy")
    return render(
        request,
        "segments/policy.html",
        {
            "policy": current,
            "thresholds": [(Tier(t).label, current.thresholds[t]) for t in TIERS[1:]],
            "multipliers": [(Tier(t).label, current.multipliers[t]) for t in TIERS],
            "form": form,
            "can_manage": can_manage,
            "history": tier_policy_history(),
        },
    )
