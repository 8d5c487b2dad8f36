"""Product pages: the library (HTMX search), a product, and head office's create, edit, document
upload, import and Excel export. Thin: parse, call a selector or service, render.

Products are not customer data, so a user without ``VIEW_PRODUCTS`` gets 403 (not 404)."""

from __future__ import annotations

import io
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from brokercrm.customers.choices import Pool
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.products.choices import ProductRisk, ProductStatus, ProductType
from brokercrm.products.forms import DocumentForm, ImportForm, ProductForm
from brokercrm.products.models import Product, ProductDocument
from brokercrm.products.selectors import (
    FILTERS,
    NO_POOL,
    clean_filters,
    product_document_get,
    product_documents,
    product_get,
    product_page,
    product_search,
)
from brokercrm.products.services import (
    COLUMNS,
    ImportResult,
    product_create,
    product_document_add,
    product_update,
    products_export_xlsx,
    products_import,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _need(request: HttpRequest, capability: Capability) -> None:
    if not user_can(user=request.user, capability=capability):
        raise PermissionDenied


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


def _product(request: HttpRequest, product_code: str) -> Product:
    try:
        return product_get(actor=request.user, product_code=product_code)
    except Product.DoesNotExist:
        raise Http404


@login_required
@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    _need(request, Capability.VIEW_PRODUCTS)
    filters = clean_filters({name: request.GET.get(name, "") for name in FILTERS})
    page = product_page(actor=request.user, page=_page_number(request), per_page=25, **filters)
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "types": ProductType.choices,
        "risks": ProductRisk.choices,
        "statuses": ProductStatus.choices,
        "pools": [(NO_POOL, _("None required")), *Pool.choices],
        "querystring": params.urlencode(),
        "can_manage": user_can(user=request.user, capability=Capability.MANAGE_PRODUCTS),
    }
    template = "products/_table.html" if request.htmx else "products/list.html"
    return render(request, template, context)


@login_required
@require_GET
def product_detail(request: HttpRequest, product_code: str) -> HttpResponse:
    _need(request, Capability.VIEW_PRODUCTS)
    product = _product(request, product_code)
    can_manage = user_can(user=request.user, capability=Capability.MANAGE_PRODUCTS)
    return render(
        request,
        "products/detail.html",
        {
            "product": product,
            "documents": product_documents(actor=request.user, product=product),
            "can_manage": can_manage,
            "document_form": DocumentForm() if can_manage else None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest) -> HttpResponse:
    _need(request, Capability.MANAGE_PRODUCTS)
    form = ProductForm(request.POST) if request.method == "POST" else ProductForm()
    if request.method == "POST" and form.is_valid():
        try:
            product = product_create(actor=request.user, request=request, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Product %(code)s created.") % {"code": product.product_code})
            return redirect("products:detail", product_code=product.product_code)
    return render(request, "products/form.html", {"form": form, "product": None})


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, product_code: str) -> HttpResponse:
    _need(request, Capability.MANAGE_PRODUCTS)
    product = _product(request, product_code)
    form = ProductForm(request.POST, instance=product) if request.method == "POST" else ProductForm(instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            product_update(actor=request.user, product=product, request=request, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Product %(code)s saved.") % {"code": product_code})
            return redirect("products:detail", product_code=product_code)
    # the form changed the instance while validating: show the stored product in the heading
    return render(request, "products/form.html", {"form": form, "product": _product(request, product_code)})


@login_required
@require_POST
def document_upload(request: HttpRequest, product_code: str) -> HttpResponse:
    _need(request, Capability.MANAGE_PRODUCTS)
    product = _product(request, product_code)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            product_document_add(
                actor=request.user,
                product=product,
                title=form.cleaned_data["title"],
                file=form.cleaned_data["file"],
                request=request,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Document uploaded."))
    else:
        messages.error(request, " ".join(str(m) for errors in form.errors.values() for m in errors))
    return redirect("products:detail", product_code=product_code)


@login_required
@require_GET
def document_download(request: HttpRequest, product_code: str, document_id: int) -> FileResponse:
    _need(request, Capability.VIEW_PRODUCTS)
    try:
        document = product_document_get(actor=request.user, product_code=product_code, document_id=document_id)
    except ProductDocument.DoesNotExist:
        raise Http404
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404
    return FileResponse(handle, as_attachment=True, filename=document.filename)


@login_required
@require_http_methods(["GET", "POST"])
def product_import(request: HttpRequest) -> HttpResponse:
    _need(request, Capability.MANAGE_PRODUCTS)
    form = ImportForm(request.POST, request.FILES) if request.method == "POST" else ImportForm()
    result: ImportResult | None = None
    refused: list[str] = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = products_import(actor=request.user, path_or_file=upload, filename=upload.name, request=request)
        except ValidationError as exc:
            refused = exc.messages
    context: dict[str, Any] = {"form": form, "result": result, "refused": refused, "columns": COLUMNS}
    return render(request, "products/import.html", context)


@login_required
@require_GET
def product_export(request: HttpRequest) -> HttpResponse:
    _need(request, Capability.MANAGE_PRODUCTS)
    filters = clean_filters({name: request.GET.get(name, "") for name in FILTERS})
    buffer = io.BytesIO()
    products_export_xlsx(products=product_search(actor=request.user, **filters).iterator(chunk_size=2000), out=buffer)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="products-{stamp}.xlsx"'
    return response
