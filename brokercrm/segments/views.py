"""Segmentation pages: who moved up or down this month, and head office's tier policy. Thin."""

from __future__ import annotations

from datetime import date

from django.conf import settings
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


# --- the segment builder and saved segments ---------------------------------------------------------

import json  # noqa: E402

from django.http import Http404  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.views.decorators.http import require_POST  # noqa: E402

from brokercrm.segments import audience as au  # noqa: E402
from brokercrm.segments.choices import SegmentVisibility  # noqa: E402
from brokercrm.segments.forms import builder_tree, definition_apply, definition_from_form  # noqa: E402
from brokercrm.segments.models import SavedSegment  # noqa: E402
from brokercrm.segments.selectors import (  # noqa: E402
    audience_preview,
    builder_branches,
    builder_tag_groups,
    definition_check,
    segment_get,
    segment_list,
    segment_members_table,
    tag_name,
)
from brokercrm.segments.services import (  # noqa: E402
    segment_delete,
    segment_export,
    segment_save,
    segment_version_compute,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require_builder(request: HttpRequest) -> None:
    if not user_can(user=request.user, capability=Capability.VIEW_CUSTOMERS):
        raise PermissionDenied


def _segment_or_404(request: HttpRequest, segment_id: int) -> SavedSegment:
    try:
        return segment_get(actor=request.user, segment_id=segment_id)
    except SavedSegment.DoesNotExist:
        raise Http404 from None


def _preview_context(request: HttpRequest, definition: dict) -> dict:
    """Validate, evaluate in the user's scope and audit: what the preview box shows."""
    try:
        valid = definition_check(definition)
    except au.DefinitionError as exc:
        return {"problems": exc.problems}
    preview = audience_preview(actor=request.user, definition=valid)
    if preview.ready:
        customer_list_record(
            actor=request.user,
            filters={"segment": json.dumps(valid, ensure_ascii=False, sort_keys=True)},
            shown=[r.customer_no for r in preview.rows],
            request=request,
            via="segment_builder",
        )
    return {"preview": preview, "conditions": au.definition_conditions(valid)}


def _builder_context(request: HttpRequest, definition: dict, *, with_preview: bool = True) -> dict:
    context = {
        "root": builder_tree(definition, tag_name=tag_name, branches=builder_branches(actor=request.user)),
        "tag_groups": builder_tag_groups(),
        "fields": list(au.FIELDS.values()),
    }
    if with_preview:
        context.update(_preview_context(request, definition))
    return context


def _page(request: HttpRequest, *, segment: SavedSegment | None, definition: dict, form: dict, errors=(), status=200):
    is_owner = segment is None or segment.owner_id == request.user.pk
    context = {
        "segment": segment,
        "is_owner": is_owner,
        "form": form,
        "errors": list(errors),
        "visibilities": SegmentVisibility.choices,
        "can_export": user_can(user=request.user, capability=Capability.EXPORT_CUSTOMERS),
        "save_url": reverse("segments:detail", args=[segment.pk]) if segment else reverse("segments:new"),
        **_builder_context(request, definition),
    }
    return render(request, "segments/builder.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def segment_list_view(request: HttpRequest) -> HttpResponse:
    """The user's segments and those shared with their branch."""
    _require_builder(request)
    segments = segment_list(actor=request.user)
    return render(
        request,
        "segments/segment_list.html",
        {
            "mine": [s for s in segments if s.owner_id == request.user.pk],
            "shared": [s for s in segments if s.owner_id != request.user.pk],
        },
    )


def _save(request: HttpRequest, segment: SavedSegment | None) -> HttpResponse:
    definition = definition_from_form(request.POST)
    form = {name: request.POST.get(name, "").strip() for name in ("name", "description", "visibility")}
    copy = segment is not None and (request.POST.get("save_as") or segment.owner_id != request.user.pk)
    try:
        saved = segment_save(
            actor=request.user,
            name=form["name"],
            description=form["description"],
            visibility=form["visibility"],
            definition=definition,
            segment=None if copy else segment,
        )
    except ValidationError as exc:
        return _page(request, segment=segment, definition=definition, form=form, errors=exc.messages, status=422)
    version = segment_version_compute(segment=saved)
    if version is None:
        messages.success(request, _("Segment saved. Its members are computed after the first pipeline run."))
    else:
        messages.success(
            request,
            _("Segment saved: %(n)s customers as of %(day)s.") % {"n": version.member_count, "day": version.as_of},
        )
    return redirect("segments:detail", segment_id=saved.pk)


@login_required
@require_http_methods(["GET", "POST"])
def segment_new(request: HttpRequest) -> HttpResponse:
    """An empty builder (or a copy of ``?from=<id>``); POST saves a new segment."""
    _require_builder(request)
    if request.method == "POST":
        return _save(request, None)
    definition: dict = {"op": "and", "items": []}
    form = {"name": "", "description": "", "visibility": SegmentVisibility.PRIVATE}
    source = request.GET.get("from", "")
    if source.isdigit():
        original = _segment_or_404(request, int(source))
        definition = original.definition
        form["name"] = _("Copy of %(name)s") % {"name": original.name}
    return _page(request, segment=None, definition=definition, form=form)


@login_required
@require_http_methods(["GET", "POST"])
def segment_detail(request: HttpRequest, segment_id: int) -> HttpResponse:
    """A saved segment in the builder; its owner saves changes, others may save a copy."""
    _require_builder(request)
    segment = _segment_or_404(request, segment_id)
    if request.method == "POST":
        return _save(request, segment)
    form = {"name": segment.name, "description": segment.description, "visibility": segment.visibility}
    return _page(request, segment=segment, definition=segment.definition, form=form)


@login_required
@require_POST
def builder_preview(request: HttpRequest) -> HttpResponse:
    """HTMX: the live count and first customers of the builder's current definition."""
    _require_builder(request)
    return render(request, "segments/builder_preview.html", _preview_context(request, definition_from_form(request.POST)))


@login_required
@require_POST
def builder_edit(request: HttpRequest) -> HttpResponse:
    """HTMX: add or remove a condition or group; the tree and the preview are drawn again."""
    _require_builder(request)
    definition = definition_apply(definition_from_form(request.POST), request.POST.get("action", ""), request.POST)
    return render(request, "segments/builder_tree.html", _builder_context(request, definition))


def _xlsx(content: bytes, stem: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{stem}-{stamp}.xlsx"'
    return response


@login_required
@require_POST
def builder_export(request: HttpRequest) -> HttpResponse:
    """The builder's current definition, evaluated now in the user's scope, as Excel."""
    _require_builder(request)
    if not user_can(user=request.user, capability=Capability.EXPORT_CUSTOMERS):
        raise PermissionDenied
    definition = definition_from_form(request.POST)
    try:
        valid = definition_check(definition)
    except au.DefinitionError as exc:
        form = {name: request.POST.get(name, "").strip() for name in ("name", "description", "visibility")}
        return _page(request, segment=None, definition=definition, form=form, errors=exc.problems, status=422)
    from brokercrm.segments.selectors import audience_scope

    engine = au.audience_engine(data_dir=settings.DATA_DIR)
    if engine is None:
        members, as_of = au.members_empty(), None
    else:
        members = au.audience_members(engine=engine, definition=valid, scope=audience_scope(actor=request.user))
        as_of = engine.base.as_of
    content = segment_export(actor=request.user, members=members, request=request, definition=valid, as_of=as_of)
    return _xlsx(content, "segment")


@login_required
@require_http_methods(["GET"])
def segment_export_view(request: HttpRequest, segment_id: int) -> HttpResponse:
    """The members of a saved segment's current version that the user may see, as Excel."""
    _require_builder(request)
    segment = _segment_or_404(request, segment_id)
    if not user_can(user=request.user, capability=Capability.EXPORT_CUSTOMERS):
        raise PermissionDenied
    members = segment_members_table(segment=segment, actor=request.user)
    version = segment.current_version
    content = segment_export(
        actor=request.user, members=members, request=request, segment=segment, as_of=version.as_of if version else None
    )
    return _xlsx(content, f"segment-{segment.pk}")


@login_required
@require_POST
def segment_delete_view(request: HttpRequest, segment_id: int) -> HttpResponse:
    _require_builder(request)
    segment = _segment_or_404(request, segment_id)
    segment_delete(actor=request.user, segment=segment)
    messages.success(request, _("Segment deleted."))
    return redirect("segments:list")
