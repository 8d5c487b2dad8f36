"""Tag pages: the catalogue (built-in and head office's tags with their lineage and coverage), a
tag with its coverage history, and head office's create / edit / deactivate with the rule checked
as it is typed. Thin: parse, call a selector or service, render.

Coverage is an aggregate, but the pages still need ``selectors.VIEW_CAPABILITY`` (403 otherwise:
the catalogue is not customer data, so nothing is hidden by a 404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokercrm.tags.choices import TagCategory
from brokercrm.tags.forms import CustomTagForm
from brokercrm.tags.models import CustomTag
from brokercrm.tags.selectors import (
    SORTS,
    can_manage,
    can_view,
    catalogue_state,
    coverage_latest,
    history_chart,
    rule_check,
    tag_detail,
    tag_history,
    tag_rows,
)
from brokercrm.tags.services import TagRefused, custom_tag_create, custom_tag_set_active, custom_tag_update


def _need_view(request: HttpRequest) -> None:
    if not can_view(request.user):
        raise PermissionDenied


def _need_manage(request: HttpRequest) -> None:
    if not can_manage(request.user):
        raise PermissionDenied


def _custom(code: str) -> CustomTag:
    tag = CustomTag.objects.filter(code=code).first()
    if tag is None:
        raise Http404
    return tag


@login_required
@require_GET
def tag_list(request: HttpRequest) -> HttpResponse:
    _need_view(request)
    category = request.GET.get("category", "")
    if category not in TagCategory.values:
        category = ""
    sort = request.GET.get("sort", "code")
    if sort not in SORTS:
        sort = "code"
    query = request.GET.get("query", "")[:100]
    inactive = request.GET.get("inactive") == "1"
    rows = tag_rows(category=category, query=query, sort=sort, inactive=inactive)
    params = request.GET.copy()
    params.pop("sort", None)
    _catalogue, problems = catalogue_state()
    context = {
        "rows": rows,
        "coverage": coverage_latest(),
        "category": category,
        "categories": TagCategory.choices,
        "sort": sort,
        "query": query,
        "inactive": inactive,
        "querystring": params.urlencode(),
        "problems": problems,
        "can_manage": can_manage(request.user),
        "custom_count": sum(1 for r in rows if r.custom),
    }
    template = "tags/_table.html" if request.htmx else "tags/list.html"
    return render(request, template, context)


@login_required
@require_GET
def tag_detail_view(request: HttpRequest, code: str) -> HttpResponse:
    _need_view(request)
    detail = tag_detail(code)
    if detail is None:
        raise Http404
    history = tag_history(code)
    return render(
        request,
        "tags/detail.html",
        {
            "tag": detail.row,
            "detail": detail,
            "history": list(reversed(history)),
            "chart": history_chart(history, _("Customers")) if history else None,
            "can_manage": can_manage(request.user) and detail.custom is not None,
        },
    )


def _form_page(request: HttpRequest, form: CustomTagForm, tag: CustomTag | None) -> HttpResponse:
    rule = form["rule"].value() or ""
    code = tag.code if tag else (form["code"].value() or "")
    check = rule_check(rule, code=code) if rule.strip() else None
    return render(request, "tags/form.html", {"form": form, "tag": tag, "check": check})


@login_required
@require_http_methods(["GET", "POST"])
def tag_new(request: HttpRequest) -> HttpResponse:
    _need_manage(request)
    form = CustomTagForm(request.POST) if request.method == "POST" else CustomTagForm()
    if request.method == "POST" and form.is_valid():
        try:
            tag = custom_tag_create(actor=request.user, request=request, **form.cleaned_data)
        except TagRefused as exc:
            form.add_refusal(exc)
        else:
            messages.success(
                request, _("Tag %(code)s added: the pipeline computes it from its next run.") % {"code": tag.code}
            )
            return redirect("tags:detail", code=tag.code)
    return _form_page(request, form, None)


@login_required
@require_http_methods(["GET", "POST"])
def tag_edit(request: HttpRequest, code: str) -> HttpResponse:
    _need_manage(request)
    tag = _custom(code)
    initial = {name: getattr(tag, name) for name in ("name_zh", "name_en", "category", "description", "rule")}
    form = CustomTagForm(request.POST, editing=True) if request.method == "POST" else CustomTagForm(initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            custom_tag_update(actor=request.user, tag=tag, request=request, **form.cleaned_data)
        except TagRefused as exc:
            form.add_refusal(exc)
        else:
            messages.success(request, _("Tag %(code)s saved.") % {"code": code})
            return redirect("tags:detail", code=code)
    return _form_page(request, form, _custom(code))


@login_required
@require_POST
def tag_set_active(request: HttpRequest, code: str) -> HttpResponse:
    _need_manage(request)
    tag = _custom(code)
    active = request.POST.get("active") == "1"
    try:
        custom_tag_set_active(actor=request.user, tag=tag, active=active, request=request)
    except TagRefused as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        if active:
            messages.success(request, _("Tag %(code)s reactivated.") % {"code": code})
        else:
            messages.success(request, _("Tag %(code)s deactivated: the pipeline no longer computes it.") % {"code": code})
    return redirect("tags:detail", code=code)


@login_required
@require_POST
def rule_check_view(request: HttpRequest) -> HttpResponse:
    """The rule as the engine sees it, for the form's live check (HTMX)."""
    _need_manage(request)
    rule = request.POST.get("rule", "")[:4000]
    code = request.POST.get("code", "")[:63] or request.POST.get("tag_code", "")[:63]
    check = rule_check(rule, code=code) if rule.strip() else None
    return render(request, "tags/_check.html", {"check": check})
