"""KYC pages: the questionnaire editor (head office), taking an assessment, professional-investor
requests and decisions, knowledge tests, the expiring-assessments list. Thin: parse, call a
service or selector, render. Every customer page checks the scope first (404 outside it)."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokercrm.customers.models import Customer
from brokercrm.customers.selectors import customer_detail, customer_get
from brokercrm.customers.services import customer_list_record, customer_view_record
from brokercrm.kyc import rules
from brokercrm.kyc.forms import KnowledgeTestForm, OptionFormSet, QuestionForm, RecognitionForm
from brokercrm.kyc.models import Questionnaire, RecognitionDocument
from brokercrm.kyc.selectors import (
    assessments_expiring,
    pending_recognitions,
    questionnaire_with_questions,
    recognition_document_get,
    risk_profile,
)
from brokercrm.kyc.services import (
    knowledge_test_record,
    question_delete,
    question_save,
    questionnaire_active,
    questionnaire_max_score,
    recognition_bar_failures,
    recognition_decide,
    recognition_request,
    risk_assessment_submit,
)
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can


def _customer_or_404(request: HttpRequest, customer_no: str) -> Customer:
    try:
        return customer_get(actor=request.user, customer_no=customer_no)
    except Customer.DoesNotExist:
        raise Http404


def _require(request: HttpRequest, capability: Capability) -> None:
    if not user_can(user=request.user, capability=capability):
        raise PermissionDenied


def _back(customer_no: str) -> str:
    return reverse("customers:detail", args=[customer_no]) + "#kyc"


def _error(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# --- questionnaire (head office) --------------------------------------------------------------


@login_required
@require_GET
def questionnaire_view(request: HttpRequest) -> HttpResponse:
    _require(request, Capability.MANAGE_QUESTIONNAIRE)
    active = questionnaire_active()
    return render(
        request,
        "kyc/questionnaire.html",
        {
            "questionnaire": active,
            "questions": questionnaire_with_questions(active),
            "max_score": questionnaire_max_score(active) if active else 0,
            "bands": rules.risk_bands(),
            "versions": Questionnaire.objects.order_by("-version")[:20],
        },
    )


def _option_initial(question) -> list[dict]:
    return [
        {"text": o.text, "score": o.score, "code": o.code, "lowest_category": o.lowest_category}
        for o in question.options.all()
    ]


@login_required
@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, order: int | None = None) -> HttpResponse:
    """Add (no ``order``) or change a question; saving a version in use creates a new version."""
    _require(request, Capability.MANAGE_QUESTIONNAIRE)
    active = questionnaire_active()
    question = active.questions.filter(order=order).first() if (active and order is not None) else None
    if order is not None and question is None:
        raise Http404
    if request.method == "POST":
        form, options = QuestionForm(request.POST), OptionFormSet(request.POST, prefix="options")
        if form.is_valid() and options.is_valid():
            try:
                question_save(
                    actor=request.user,
                    order=order,
                    text=form.cleaned_data["text"],
                    kind=form.cleaned_data["kind"],
                    multi_select=form.cleaned_data["multi_select"],
                    options=[o for o in options.cleaned_data if o],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The question was saved."))
                return redirect("kyc:questionnaire")
    else:
        initial = (
            {"text": question.text, "kind": question.kind, "multi_select": question.multi_select} if question else None
        )
        form = QuestionForm(initial=initial)
        options = OptionFormSet(initial=_option_initial(question) if question else None, prefix="options")
    return render(request, "kyc/question_form.html", {"form": form, "options": options, "question": question})


@login_required
@require_POST
def question_delete_view(request: HttpRequest, order: int) -> HttpResponse:
    _require(request, Capability.MANAGE_QUESTIONNAIRE)
    try:
        question_delete(actor=request.user, order=order)
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("The question was removed."))
    return redirect("kyc:questionnaire")


# --- assessments ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def assess(request: HttpRequest, customer_no: str) -> HttpResponse:
    """Take the customer's risk assessment with the active questionnaire."""
    customer = _customer_or_404(request, customer_no)
    _require(request, Capability.ASSESS_RISK)
    questionnaire = questionnaire_active()
    chosen: dict[str, list[str]] = {}
    if request.method == "POST":
        chosen = {k[2:]: request.POST.getlist(k) for k in request.POST if k.startswith("q_")}
        try:
            assessment = risk_assessment_submit(actor=request.user, customer=customer, answers=chosen)
        except ValidationError as exc:
            _error(request, exc)
        else:
            messages.success(
                request,
                _("Assessment recorded: score %(score)s, %(level)s, valid until %(expiry)s.")
                % {
                    "score": assessment.score,
                    "level": assessment.get_risk_level_display(),
                    "expiry": assessment.expires_on.isoformat(),
                },
            )
            return redirect(_back(customer_no))
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="kyc:assess")
    return render(
        request,
        "kyc/assess.html",
        {
            "customer": customer_detail(actor=request.user, customer_no=customer_no),
            "questionnaire": questionnaire,
            "questions": questionnaire_with_questions(questionnaire),
            "chosen": {k: set(v) for k, v in chosen.items()},
            "profile": risk_profile(customer),
        },
    )


# --- professional investors -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def recognition_new(request: HttpRequest, customer_no: str) -> HttpResponse:
    customer = _customer_or_404(request, customer_no)
    _require(request, Capability.ASSESS_RISK)
    form = RecognitionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            recognition_request(
                actor=request.user, customer=customer, documents=request.FILES.getlist("documents"), **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The request was recorded; it waits for a decision."))
            return redirect(_back(customer_no))
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="kyc:recognition")
    return render(
        request,
        "kyc/recognition_form.html",
        {
            "customer": customer_detail(actor=request.user, customer_no=customer_no),
            "form": form,
            "profile": risk_profile(customer),
        },
    )


@login_required
@require_POST
def recognition_decide_view(request: HttpRequest, customer_no: str) -> HttpResponse:
    customer = _customer_or_404(request, customer_no)
    _require(request, Capability.RECOGNISE_PROFESSIONAL)
    try:
        recognition_id = int(request.POST.get("recognition", ""))
    except ValueError:
        raise Http404
    approve = request.POST.get("decision") == "approve"
    try:
        recognition_decide(
            actor=request.user,
            customer=customer,
            recognition_id=recognition_id,
            approve=approve,
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        _error(request, exc)
    else:
        messages.success(request, _("The request was approved.") if approve else _("The request was rejected."))
    return redirect(request.POST.get("next") == "queue" and reverse("kyc:recognitions") or _back(customer_no))


@login_required
@require_GET
def recognition_document(request: HttpRequest, customer_no: str) -> HttpResponse:
    """Download an evidence document (``?id=``) of one of the customer's requests."""
    _customer_or_404(request, customer_no)
    try:
        document_id = int(request.GET.get("id", ""))
    except ValueError:
        raise Http404
    try:
        document = recognition_document_get(actor=request.user, customer_no=customer_no, document_id=document_id)
    except RecognitionDocument.DoesNotExist:
        raise Http404
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via=f"kyc:document:{document_id}")
    kind = mimetypes.guess_type(document.name)[0] or "application/octet-stream"
    with document.file.open("rb") as handle:
        response = HttpResponse(handle.read(), content_type=kind)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=document.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def recognitions_queue(request: HttpRequest) -> HttpResponse:
    """Pending requests of the decider's customers, oldest first, with the bar check shown."""
    _require(request, Capability.RECOGNISE_PROFESSIONAL)
    page = Paginator(pending_recognitions(actor=request.user), 50).get_page(request.GET.get("page"))
    rows = [(r, recognition_bar_failures(r)) for r in page.object_list]
    customer_list_record(
        actor=request.user,
        filters={"kyc": "pending_recognitions"},
        shown=[r.customer.customer_no for r, _f in rows],
        request=request,
    )
    return render(request, "kyc/recognitions.html", {"page": page, "rows": rows})


# --- knowledge tests --------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def knowledge_test_new(request: HttpRequest, customer_no: str) -> HttpResponse:
    customer = _customer_or_404(request, customer_no)
    _require(request, Capability.ASSESS_RISK)
    form = KnowledgeTestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            test = knowledge_test_record(actor=request.user, customer=customer, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Knowledge test recorded: passed.") if test.passed else _("Knowledge test recorded: not passed.")
            )
            return redirect(_back(customer_no))
    customer_view_record(actor=request.user, customer_no=customer_no, request=request, via="kyc:knowledge_test")
    return render(
        request,
        "kyc/knowledge_test_form.html",
        {
            "customer": customer_detail(actor=request.user, customer_no=customer_no),
            "form": form,
            "pass_mark": rules.knowledge_pass_mark(),
        },
    )


# --- expiring assessments ---------------------------------------------------------------------


@login_required
@require_GET
def expiring(request: HttpRequest) -> HttpResponse:
    """Assessments of the user's customers that expire within the configured days, or expired."""
    _require(request, Capability.VIEW_CUSTOMERS)
    page = Paginator(assessments_expiring(actor=request.user), 50).get_page(request.GET.get("page"))
    rows = [(c, risk_profile(c)) for c in page.object_list]
    customer_list_record(
        actor=request.user,
        filters={"kyc": "expiring"},
        shown=[c.customer_no for c, _p in rows],
        request=request,
    )
    return render(
        request,
        "kyc/expiring.html",
        {
            "page": page,
            "rows": rows,
            "days": rules.expiring_days(),
            "can_assess": user_can(user=request.user, capability=Capability.ASSESS_RISK),
        },
    )
