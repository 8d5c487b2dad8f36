"""Writes of the product library: create, update (which tells suitability when a product's terms
change), documents, import from CSV/Excel and export to Excel (DOMAIN.md, "Product library import").

Every write needs ``MANAGE_PRODUCTS``; ``actor=None`` is the operator's CLI. Each create or update
writes its audit entry, an import one more for the file.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from brokercrm.customers.choices import Pool
from brokercrm.org.choices import AuditAction
from brokercrm.org.policy import Capability
from brokercrm.org.selectors import user_can
from brokercrm.org.services import audit_record
from brokercrm.products.choices import ProductHorizon, ProductRisk, ProductStatus, ProductType, ProductVariety
from brokercrm.products.models import Product, ProductDocument
from brokercrm.products.signals import product_terms_changed

ERR_NOT_ALLOWED = "You may not do this."

#: the columns of an import or export file, in order (DOMAIN.md, "Product library import")
COLUMNS = (
    "product_code",
    "name",
    "product_type",
    "risk_level",
    "horizon",
    "variety",
    "required_pool",
    "issuer",
    "min_amount",
    "status",
)
#: the fields a suitability match reads; a change of any sends ``product_terms_changed``
TERMS_FIELDS = ("risk_level", "horizon", "variety", "required_pool")
#: what ``product_update`` may change (the code is the product's identity and never changes)
EDITABLE_FIELDS = COLUMNS[1:] + ("description",)
#: fields that may be left empty
OPTIONAL_FIELDS = frozenset({"required_pool", "issuer", "description"})
CHOICES = {
    "product_type": ProductType,
    "risk_level": ProductRisk,
    "horizon": ProductHorizon,
    "variety": ProductVariety,
    "required_pool": Pool,
    "status": ProductStatus,
}
CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
#: DecimalField(max_digits=18, decimal_places=2): at most 16 digits before the point
MAX_AMOUNT = Decimal("9999999999999999.99")
MAX_LENGTH = {"name": 200, "issuer": 200}

#: a product document: at most this size, one of these kinds
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".txt", ".png", ".jpg", ".jpeg")
#: an import file larger than this is refused whole
IMPORT_MAX_BYTES = 20 * 1024 * 1024


def _require_manage(actor: Any) -> None:
    if actor is not None and not user_can(user=actor, capability=Capability.MANAGE_PRODUCTS):
        raise PermissionDenied(ERR_NOT_ALLOWED)


def _audit(*, actor: Any, action: str, product_code: str, request: HttpRequest | None, detail: dict) -> None:
    audit_record(
        actor=actor,
        username="cli",
        action=action,
        object_type="product",
        object_id=product_code,
        request=request,
        detail=detail,
    )


# --- validation ---------------------------------------------------------------------------------


def parse_amount(text: str) -> Decimal:
    """An amount as written in a file: ``1000``, ``1000.5``, ``1,000,000.00``. Raises ``ValueError``
    with the reason when it is not a non-negative amount with at most 2 decimals."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(_("“%(value)s” is not an amount.") % {"value": text}) from None
    if not value.is_finite():
        raise ValueError(_("“%(value)s” is not an amount.") % {"value": text})
    return value


def _amount_error(value: Any) -> str:
    if not isinstance(value, Decimal):
        try:
            value = Decimal(str(value))
        except InvalidOperation:
            return _("“%(value)s” is not an amount.") % {"value": value}
    if not value.is_finite():
        return _("“%(value)s” is not an amount.") % {"value": value}
    if value < 0:
        return _("The amount must not be negative.")
    if value > MAX_AMOUNT:
        return _("The amount is too large.")
    if value != value.quantize(Decimal("0.01")):
        return _("The amount has more than 2 decimal places.")
    return ""


def _choice_error(name: str, value: str) -> str:
    choices = CHOICES[name]
    if value in choices.values:
        return ""
    return _("Unknown value “%(value)s”; expected one of: %(choices)s.") % {
        "value": value,
        "choices": ", ".join(choices.values),
    }


def field_errors(values: dict[str, Any]) -> dict[str, str]:
    """The reason each given field is invalid (``{}`` when all are valid). Only the fields present
    in ``values`` are checked; a missing required value is an error."""
    errors: dict[str, str] = {}
    for name, value in values.items():
        if name == "min_amount":
            if value is None or (isinstance(value, str) and not value.strip()):
                errors[name] = _("Missing value.")
            elif reason := _amount_error(value):
                errors[name] = reason
            continue
        text = "" if value is None else str(value)
        if not text.strip():
            if name not in OPTIONAL_FIELDS:
                errors[name] = _("Missing value.")
            continue
        if name == "product_code" and not CODE_PATTERN.fullmatch(text):
            errors[name] = _(
                "A product code is 1 to 32 letters, digits, “.”, “-” or “_”, starting with a letter or digit."
            )
        elif name in CHOICES and (reason := _choice_error(name, text)):
            errors[name] = reason
        elif name in MAX_LENGTH and len(text) > MAX_LENGTH[name]:
            errors[name] = _("At most %(n)d characters.") % {"n": MAX_LENGTH[name]}
    return errors


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        if name == "min_amount":
            out[name] = Decimal(str(value)).quantize(Decimal("0.01"))
        elif name == "description":
            out[name] = "" if value is None else str(value)
        else:
            out[name] = "" if value is None else str(value).strip()
    return out


# --- create and update --------------------------------------------------------------------------


def product_create(
    *,
    actor: Any,
    product_code: str,
    name: str,
    product_type: str,
    risk_level: str,
    horizon: str,
    variety: str,
    required_pool: str = "",
    issuer: str = "",
    min_amount: Decimal | str | int = Decimal(0),
    status: str = ProductStatus.ON_SALE,
    description: str = "",
    request: HttpRequest | None = None,
    via: str = "",
) -> Product:
    """Add a product to the library; raises ``ValidationError`` (by field) on bad values or a code
    already in use."""
    _require_manage(actor)
    return _create(
        actor=actor,
        values=dict(
            product_code=product_code,
            name=name,
            product_type=product_type,
            risk_level=risk_level,
            horizon=horizon,
            variety=variety,
            required_pool=required_pool,
            issuer=issuer,
            min_amount=min_amount,
            status=status,
            description=description,
        ),
        request=request,
        via=via,
    )


@transaction.atomic
def _create(*, actor: Any, values: dict[str, Any], request: HttpRequest | None, via: str) -> Product:
    errors = field_errors(values)
    if errors:
        raise ValidationError(errors)
    values = _normalise(values)
    if Product.objects.filter(product_code=values["product_code"]).exists():
        taken = _("Product code %(code)s is already in use.") % {"code": values["product_code"]}
        raise ValidationError({"product_code": taken})
    product = Product.objects.create(**values)
    _audit(
        actor=actor,
        action=AuditAction.PRODUCT_CREATE,
        product_code=product.product_code,
        request=request,
        detail={"via": via or "page", "fields": {k: str(v) for k, v in values.items() if k != "description"}},
    )
    return product


def product_update(
    *, actor: Any, product: Product, request: HttpRequest | None = None, via: str = "", **fields: Any
) -> Product:
    """Change some of a product's fields (``EDITABLE_FIELDS``) and return the saved product.

    Validates like :func:`product_create`. Compares with the stored row (not with ``product``,
    which a form may already have changed); when nothing changed it writes nothing. When a term
    (``TERMS_FIELDS``) changed it sends :data:`brokercrm.products.signals.product_terms_changed`
    with the old terms, inside the transaction.
    """
    _require_manage(actor)
    return _update(actor=actor, product_id=product.pk, fields=fields, request=request, via=via)[0]


@transaction.atomic
def _update(
    *, actor: Any, product_id: int, fields: dict[str, Any], request: HttpRequest | None, via: str
) -> tuple[Product, bool]:
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise ValidationError(_("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(unknown)})
    errors = field_errors(fields)
    if errors:
        raise ValidationError(errors)
    values = _normalise(fields)
    current = Product.objects.select_for_update().get(pk=product_id)
    old_terms = {name: getattr(current, name) for name in TERMS_FIELDS}
    changes = {}
    for name, value in values.items():
        old = getattr(current, name)
        if old != value:
            changes[name] = (old, value)
            setattr(current, name, value)
    if not changes:
        return current, False
    current.save(update_fields=[*changes, "updated_at"])
    _audit(
        actor=actor,
        action=AuditAction.PRODUCT_UPDATE,
        product_code=current.product_code,
        request=request,
        detail={"via": via or "page", "changes": {k: [str(old), str(new)] for k, (old, new) in changes.items()}},
    )
    if set(changes) & set(TERMS_FIELDS):
        product_terms_changed.send(sender=Product, product=current, old=old_terms, actor=actor)
    return current, True


# --- documents ----------------------------------------------------------------------------------


@transaction.atomic
def product_document_add(
    *, actor: Any, product: Product, title: str, file: UploadedFile, request: HttpRequest | None = None
) -> ProductDocument:
    """Attach a document (prospectus, contract, risk disclosure …) to a product."""
    _require_manage(actor)
    title = (title or "").strip()
    errors = {}
    if not title:
        errors["title"] = _("Missing value.")
    elif len(title) > 200:
        errors["title"] = _("At most %(n)d characters.") % {"n": 200}
    name = Path(file.name or "").name
    if not name.lower().endswith(DOCUMENT_EXTENSIONS):
        errors["file"] = _("Unsupported file type; use one of: %(kinds)s.") % {"kinds": ", ".join(DOCUMENT_EXTENSIONS)}
    elif file.size is not None and file.size > DOCUMENT_MAX_BYTES:
        errors["file"] = _("The file is larger than %(mb)d MB.") % {"mb": DOCUMENT_MAX_BYTES // (1024 * 1024)}
    if errors:
        raise ValidationError(errors)
    document = ProductDocument(product=product, title=title, uploaded_by=actor if getattr(actor, "pk", None) else None)
    document.file.save(name, file, save=False)
    document.save()
    _audit(
        actor=actor,
        action=AuditAction.PRODUCT_UPDATE,
        product_code=product.product_code,
        request=request,
        detail={"via": "document", "document": {"id": document.pk, "title": title, "file": document.file.name}},
    )
    return document


# --- import -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One reason a line of an import file was not loaded. ``line`` counts the header as 1;
    ``field`` is the column (empty when the whole line is wrong)."""

    line: int
    field: str
    value: str
    reason: str


@dataclass
class ImportResult:
    filename: str
    #: data lines read (blank lines are skipped)
    read: int = 0
    created: int = 0
    updated: int = 0
    #: existing products the file left as they were
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Lines not loaded (a line may carry several errors)."""
        return len({e.line for e in self.errors})


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _read_bytes(source: str | Path | bytes | IO[bytes] | UploadedFile) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, (str, Path)):
        try:
            with open(source, "rb") as handle:
                return handle.read(IMPORT_MAX_BYTES + 1)
        except OSError as exc:
            raise ValidationError(_("Cannot read the file: %(error)s") % {"error": exc.strerror or exc}) from None
    if hasattr(source, "seek"):
        source.seek(0)
    return source.read(IMPORT_MAX_BYTES + 1)


def _file_kind(filename: str, data: bytes) -> str:
    suffix = Path(filename).suffix.lower()
    if suffix in (".csv", ".txt"):
        return "csv"
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix == ".xls":
        raise ValidationError(_("Old Excel files (.xls) are not supported: save the file as .xlsx or CSV UTF-8."))
    if suffix:
        raise ValidationError(_("Unsupported file type “%(suffix)s”: use .csv or .xlsx.") % {"suffix": suffix})
    return "xlsx" if data[:4] == b"PK\x03\x04" else "csv"


def _csv_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(_("The file is not UTF-8 text: save it as “CSV UTF-8”.")) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            yield reader.line_num, [cell.strip() for cell in row]
    except csv.Error as exc:
        raise ValidationError(
            _("Line %(line)d cannot be read as CSV: %(error)s") % {"line": reader.line_num, "error": exc}
        ) from None


def _xlsx_lines(data: bytes) -> Iterator[tuple[int, list[str]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise ValidationError(_("The file is not a readable Excel (.xlsx) workbook.")) from None
    except Exception as exc:  # openpyxl raises its own kinds for malformed workbooks
        if exc.__class__.__module__.startswith("openpyxl"):
            raise ValidationError(_("The file is not a readable Excel (.xlsx) workbook.")) from None
        raise
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in row]
            while cells and cells[-1] == "":
                cells.pop()
            yield number, cells
    finally:
        workbook.close()


def _check_header(header: list[str]) -> None:
    names = [h.strip().lower() for h in header]
    expected = ", ".join(COLUMNS)
    missing = [c for c in COLUMNS if c not in names]
    unknown = [h for h in names if h and h not in COLUMNS]
    repeated = sorted({h for h in names if h and names.count(h) > 1})
    problems = []
    if missing:
        problems.append(_("missing column(s): %(columns)s") % {"columns": ", ".join(missing)})
    if unknown:
        problems.append(_("unknown column(s): %(columns)s") % {"columns": ", ".join(unknown)})
    if repeated:
        problems.append(_("repeated column(s): %(columns)s") % {"columns": ", ".join(repeated)})
    if problems:
        raise ValidationError(
            _("The file was refused: %(problems)s. Line 1 must be the header: %(header)s.")
            % {"problems": "; ".join(problems), "header": expected}
        )


def products_import(
    *,
    actor: Any,
    path_or_file: str | Path | bytes | IO[bytes] | UploadedFile,
    filename: str = "",
    request: HttpRequest | None = None,
) -> ImportResult:
    """Load products from a CSV (UTF-8 with or without BOM, comma, header) or Excel (.xlsx, first
    sheet) file with the columns ``COLUMNS``.

    A file whose header lacks a column (or names an unknown or repeated one), that is not UTF-8,
    not a workbook or empty, is refused whole: ``ValidationError`` and nothing is loaded. Otherwise
    each bad line is reported (``ImportResult.errors``: line, field, value, reason) and every good
    line is created, or updated by ``product_code`` through :func:`product_update` (so suitability
    hears of changed terms). A code appearing twice in the file: the second line is rejected.
    """
    _require_manage(actor)
    if not filename and isinstance(path_or_file, (str, Path)):
        filename = Path(path_or_file).name
    elif not filename:
        filename = Path(getattr(path_or_file, "name", "") or "").name
    data = _read_bytes(path_or_file)
    if len(data) > IMPORT_MAX_BYTES:
        raise ValidationError(_("The file is larger than %(mb)d MB.") % {"mb": IMPORT_MAX_BYTES // (1024 * 1024)})
    lines = _csv_lines(data) if _file_kind(filename, data) == "csv" else _xlsx_lines(data)
    result = ImportResult(filename=filename)
    header: list[str] | None = None
    good: list[tuple[int, dict[str, str]]] = []
    first_seen: dict[str, int] = {}
    for number, cells in lines:
        if header is None:
            if not any(cells):
                raise ValidationError(
                    _("The file was refused: line 1 must be the header: %(header)s.") % {"header": ", ".join(COLUMNS)}
                )
            _check_header(cells)
            header = [h.strip().lower() for h in cells]
            continue
        if not any(cells):
            continue
        result.read += 1
        if len(cells) > len(header) and any(cells[len(header):]):
            result.errors.append(
                RowError(
                    number,
                    "",
                    "",
                    _("The line has %(found)d fields; the header has %(expected)d.")
                    % {"found": len(cells), "expected": len(header)},
                )
            )
            continue
        cells = cells + [""] * (len(header) - len(cells))
        raw = {name: cells[header.index(name)] for name in COLUMNS}
        errors = _row_errors(number, raw, first_seen)
        if errors:
            result.errors.extend(errors)
        else:
            good.append((number, raw))
    if header is None:
        raise ValidationError(
            _("The file is empty: line 1 must be the header: %(header)s.") % {"header": ", ".join(COLUMNS)}
        )
    _load(actor=actor, rows=good, result=result, request=request)
    audit_record(
        actor=actor,
        username="cli",
        action=AuditAction.PRODUCT_IMPORT,
        object_type="product",
        object_id=filename[:100],
        request=request,
        detail={
            "filename": filename,
            "read": result.read,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": result.rejected,
            "errors": [[e.line, e.field, e.reason] for e in result.errors[:100]],
        },
    )
    return result


def _row_errors(number: int, raw: dict[str, str], first_seen: dict[str, int]) -> list[RowError]:
    values: dict[str, Any] = dict(raw)
    errors: list[RowError] = []
    amount = raw["min_amount"]
    if amount:
        try:
            values["min_amount"] = parse_amount(amount)
        except ValueError as exc:
            errors.append(RowError(number, "min_amount", amount, str(exc)))
            del values["min_amount"]
    for name, reason in field_errors(values).items():
        errors.append(RowError(number, name, raw[name], reason))
    code = raw["product_code"]
    if code and CODE_PATTERN.fullmatch(code):
        if code in first_seen:
            errors.append(
                RowError(
                    number,
                    "product_code",
                    code,
                    _("Product code %(code)s already appears on line %(line)d.")
                    % {"code": code, "line": first_seen[code]},
                )
            )
        else:
            first_seen[code] = number
    errors.sort(key=lambda e: COLUMNS.index(e.field) if e.field in COLUMNS else -1)
    return errors


@transaction.atomic
def _load(*, actor: Any, rows: list[tuple[int, dict[str, str]]], result: ImportResult, request: HttpRequest | None) -> None:
    existing = dict(
        Product.objects.filter(product_code__in=[raw["product_code"] for _line, raw in rows]).values_list(
            "product_code", "pk"
        )
    )
    via = f"import:{result.filename}"[:120]
    for number, raw in rows:
        values: dict[str, Any] = dict(raw)
        values["min_amount"] = parse_amount(raw["min_amount"])
        try:
            if raw["product_code"] in existing:
                fields = {k: v for k, v in values.items() if k != "product_code"}
                changed = _update(
                    actor=actor, product_id=existing[raw["product_code"]], fields=fields, request=request, via=via
                )[1]
                if changed:
                    result.updated += 1
                else:
                    result.unchanged += 1
            else:
                _create(actor=actor, values=values, request=request, via=via)
                result.created += 1
        except ValidationError as exc:  # a rule the line checks above did not foresee
            for name, messages in getattr(exc, "message_dict", {"": exc.messages}).items():
                column = name if name in COLUMNS else ""
                result.errors.append(RowError(number, column, raw.get(column, ""), " ".join(messages)))


# --- export -------------------------------------------------------------------------------------


def products_export_xlsx(*, products: Iterable[Product], out: str | Path | IO[bytes]) -> int:
    """Write ``products`` as an Excel workbook with the import columns (re-importable); returns the
    number of products written."""
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "products"
    sheet.append(list(COLUMNS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    count = 0
    for product in products:
        sheet.append(
            [
                product.product_code,
                product.name,
                product.product_type,
                product.risk_level,
                product.horizon,
                product.variety,
                product.required_pool,
                product.issuer,
                product.min_amount,
                product.status,
            ]
        )
        count += 1
    amount_column = COLUMNS.index("min_amount") + 1
    for (cell,) in sheet.iter_rows(min_row=2, min_col=amount_column, max_col=amount_column):
        cell.number_format = "0.00"
    for (cell,) in sheet.iter_rows(min_row=2, min_col=1, max_col=1):
        cell.number_format = "@"  # codes are text: keep leading zeros
    widths = {"product_code": 14, "name": 36, "issuer": 22, "min_amount": 16}
    for index, name in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].width = widths.get(name, 13)
    sheet.freeze_panes = "A2"
    workbook.save(out)
    return count
