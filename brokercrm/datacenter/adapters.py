"""Counter adapters: one file of a counter's day folder → standard rows and quarantined rows.

One adapter class serves every counter style; it is driven entirely by a
:class:`~brokercrm.datacenter.dictionaries.CounterFormat` (encoding, delimiter, file and column
names, code dictionaries), so a third counter is a new ``CounterFormat``, not new code here
(COUNTERS.md, opening paragraph and "Export layout").

Parsing is vectorised: a file is split by ``pyarrow.csv`` with every column read as a string, then
each standard field is validated and converted per its kind in ``STANDARD_TABLES`` with
``pyarrow.compute``. Python looks at single rows only when something is wrong (a row that the fast
splitter cannot map to its physical line, or the rows that failed a check, to name the field).

Nothing here imports Django, and nothing here writes to the warehouse.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from brokercrm.datacenter.dictionaries import COUNTERS, STANDARD_TABLES, CounterFormat
from brokercrm.datacenter.schema import table_schema

__all__ = [
    "QUARANTINE_SCHEMA",
    "REASONS",
    "CounterAdapter",
    "DayRefused",
    "MissingColumnError",
    "MissingFileError",
    "ParsedFile",
    "RawFile",
    "adapter_for",
    "read_delimited",
]

# --- quarantine reasons (COUNTERS.md, "Bad input") ---------------------------------------------
# Texts are part of the contract with operators and tests; change them only on purpose.

#: The row does not have as many fields as the header.
REASON_FIELD_COUNT = "wrong number of fields"
#: The row's bytes are not valid text in the counter's declared encoding.
REASON_ENCODING = "not valid text in the file's encoding"
#: The row cannot be split into fields at all (e.g. an unterminated quote at end of file).
REASON_MALFORMED = "malformed row"
#: A key or a required value is empty (``0`` counts as empty for a required date).
REASON_MISSING = "missing value"
#: An integer field holds something else (``1.5``, ``12a``, ``1,000``).
REASON_NOT_INTEGER = "not an integer"
#: A money or price field is not a plain decimal number (``1e5``, ``12,30``, ``abc``).
REASON_NOT_NUMBER = "not a number"
#: Money with more than 2 decimals or a price with more than 4 (trailing zeros excepted).
REASON_TOO_MANY_DECIMALS = "too many decimals"
#: A number too large for its stored type (18 significant digits).
REASON_OUT_OF_RANGE = "number out of range"
#: A date field is not a real calendar day written ``YYYYMMDD``.
REASON_NOT_DATE = "not a date (YYYYMMDD)"
#: A coded field holds a code the counter's dictionary does not have.
REASON_UNKNOWN_CODE = "unknown code"
#: A trade or security-transfer quantity that is zero or negative ("positive integer").
REASON_NOT_POSITIVE = "quantity not positive"
#: A security code that is not 6 letters or digits ("6 characters, keep leading zeros").
REASON_BAD_SECURITY_CODE = "security code not 6 characters"
#: A second row with the same serial number in one counter, day and table.
REASON_DUPLICATE_SERIAL = "duplicate serial number"
#: A second row for the same security in the reference industries.
REASON_DUPLICATE_SECURITY = "duplicate security"
#: A flow for a fund account that is not in this day's or an earlier day's fund-account file.
REASON_UNKNOWN_FUND_ACCOUNT = "fund account does not exist"
#: A fund account of a customer that is not in this day's or an earlier day's customer file.
REASON_UNKNOWN_CUSTOMER = "customer does not exist"
#: A row about a security that is not in the same day's security master.
REASON_UNKNOWN_SECURITY = "security not in the day's security master"

#: Every quarantine reason, for documentation and exhaustive tests.
REASONS: tuple[str, ...] = (
    REASON_FIELD_COUNT,
    REASON_ENCODING,
    REASON_MALFORMED,
    REASON_MISSING,
    REASON_NOT_INTEGER,
    REASON_NOT_NUMBER,
    REASON_TOO_MANY_DECIMALS,
    REASON_OUT_OF_RANGE,
    REASON_NOT_DATE,
    REASON_UNKNOWN_CODE,
    REASON_NOT_POSITIVE,
    REASON_BAD_SECURITY_CODE,
    REASON_DUPLICATE_SERIAL,
    REASON_DUPLICATE_SECURITY,
    REASON_UNKNOWN_FUND_ACCOUNT,
    REASON_UNKNOWN_CUSTOMER,
    REASON_UNKNOWN_SECURITY,
)

# --- refusals of a whole day ---------------------------------------------------------------------

#: A required file is absent from the day folder.
MSG_MISSING_FILE = "{day}: missing required file {file}"
#: A file's header lacks a required column (``file`` is ``<day>/<file name>`` for a day's file).
MSG_MISSING_COLUMN = "{file}: missing required column {column}"


class DayRefused(Exception):
    """A day folder that cannot be ingested at all (COUNTERS.md, "Bad input", last sentence).

    Raised before anything of the day is written; ``str(exc)`` is the operator-facing message.
    """


class MissingFileError(DayRefused):
    """A day folder without one of its required files ("all are required")."""

    def __init__(self, *, day: str, files: Sequence[str]) -> None:
        self.day = day
        self.files = tuple(files)
        super().__init__(MSG_MISSING_FILE.format(day=day, file=", ".join(self.files)))


class MissingColumnError(DayRefused):
    """A file whose header lacks one or more required columns."""

    def __init__(self, *, day: str, file: str, columns: Sequence[str]) -> None:
        self.day = day
        self.file = file
        self.columns = tuple(columns)
        where = f"{day}/{file}" if day else file
        super().__init__(MSG_MISSING_COLUMN.format(file=where, column=", ".join(self.columns)))


#: Shape of a quarantined row. ``field`` is the counter's column name ("" when the whole row is
#: unreadable); ``value`` is the offending raw value (or row text), for the operator.
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("counter", pa.string(), nullable=False),
        pa.field("trade_date", pa.date32(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("field", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("value", pa.string(), nullable=True),
    ]
)

#: Fields that must be strictly positive (COUNTERS.md: trades "positive integer", transfers
#: "quantity … (positive)").
POSITIVE_FIELDS: frozenset[tuple[str, str]] = frozenset(
    {("trades", "quantity"), ("security_transfers", "quantity")}
)
#: Fields read on the initial day only (COUNTERS.md, positions: "cost price … read on the initial
#: day only"). On the initial day they are required; on other days they are stored as null.
INITIAL_DAY_ONLY: frozenset[tuple[str, str]] = frozenset({("positions", "cost_price")})
#: Longest raw value kept in the quarantine's ``value`` column.
MAX_VALUE_CHARS = 200
#: Files with at least this many rows convert their fields on a thread pool.
_PARALLEL_ROWS = 50_000

_INTEGER = r"^[+-]?\d+$"
_INTEGER_RANGE = r"^[+-]?0*\d{1,18}$"
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)$"
_SURROGATE = re.compile("[\udc80-\udcff]")


def _scale(base: str) -> int:
    """Decimal places allowed for a numeric kind (money ≤ 2, price ≤ 4; "Export layout")."""
    return {"money": 2, "price": 4}[base]


# --- splitting a file into string columns -------------------------------------------------------


@dataclass(frozen=True)
class RawFile:
    """A delimited file split into trimmed string columns, before any validation.

    Attributes
    ----------
    header
        Column names as in the file's first line.
    columns
        Required column → one string per readable row (whitespace trimmed).
    lines
        Physical line number of each readable row (header = line 1).
    bad
        Rows that could not be split: ``(line, reason, text)``.
    """

    header: tuple[str, ...]
    columns: Mapping[str, pa.ChunkedArray]
    lines: pa.ChunkedArray
    bad: tuple[tuple[int, str, str], ...]

    @property
    def num_rows(self) -> int:
        return len(self.lines)


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name == "utf-8"


def _split_header(line: bytes, *, delimiter: str, quotechar: str) -> tuple[str, ...]:
    text = line.decode("utf-8").rstrip("\r\n")
    row = next(csv.reader([text], delimiter=delimiter, quotechar=quotechar), [])
    return tuple(name.strip() for name in row)


def _dedupe(names: Sequence[str]) -> list[str]:
    """Make column names unique for the splitter; the first of a repeated name is the one used."""
    seen: set[str] = set()
    out = []
    for i, name in enumerate(names):
        out.append(name if name not in seen else f"{name}\x00{i}")
        seen.add(name)
    return out


def read_delimited(
    data: bytes,
    *,
    encoding: str,
    delimiter: str,
    quotechar: str = '"',
    required: Sequence[str],
    file: str,
    day: str = "",
) -> RawFile:
    """Split a delimited text file into string columns, keeping each row's physical line.

    Enforces COUNTERS.md "Export layout" (encoding, delimiter, ``"`` quoting, header row) and the
    first kind of "Bad input": a row with the wrong field count is reported in ``bad``, not split.

    Parameters
    ----------
    data
        The file's bytes.
    encoding, delimiter, quotechar
        As declared by the counter's ``CounterFormat``.
    required
        Columns that must be in the header; only these are returned.
    file, day
        Names used in the refusal message.

    Raises
    ------
    MissingColumnError
        The header lacks a required column (the day must be refused whole).

    Notes
    -----
    Non-UTF-8 files are transcoded to UTF-8 before splitting: in GBK a delimiter byte such as
    ``|`` (0x7C) can be the second byte of a Chinese character, so splitting raw bytes would cut
    names in half. The fast path hands the body to ``pyarrow.csv`` and numbers rows ``2..n+1``; it
    is taken only when that numbering is provably right (every physical line is exactly one
    well-formed row). Otherwise the file is split by the standard ``csv`` module, which tracks
    physical lines across quoted newlines and blank lines.
    """
    if _is_utf8(encoding):
        utf8 = data[len(codecs.BOM_UTF8):] if data.startswith(codecs.BOM_UTF8) else data
        decodable = True
    else:
        try:
            utf8 = data.decode(encoding).encode("utf-8")
            decodable = True
        except UnicodeDecodeError:
            utf8, decodable = b"", False

    if decodable:
        end = utf8.find(b"\n")
        header_bytes, body = (utf8, b"") if end < 0 else (utf8[: end + 1], utf8[end + 1 :])
        try:
            header = _split_header(header_bytes, delimiter=delimiter, quotechar=quotechar)
        except UnicodeDecodeError:
            header = ()
            decodable = False
    if not decodable:
        text = data.decode(encoding, errors="surrogateescape")
        first = text.splitlines()[0] if text else ""
        header = tuple(
            name.strip()
            for name in next(csv.reader([first], delimiter=delimiter, quotechar=quotechar), [])
        )

    missing = [c for c in required if c not in header]
    if missing:
        raise MissingColumnError(day=day, file=file, columns=missing)

    if decodable:
        raw = _split_fast(body, header=header, required=required, delimiter=delimiter, quotechar=quotechar)
        if raw is not None:
            return raw
    return _split_exact(
        data, encoding=encoding, header=header, required=required, delimiter=delimiter, quotechar=quotechar
    )


def _physical_lines(body: bytes) -> int | None:
    """Lines in ``body`` ignoring trailing blank lines, or None when a bare CR is a line break."""
    end = len(body)
    while end and body[end - 1] in b"\r\n":  # trailing blank lines hold no row
        end -= 1
    if body.find(b"\r", 0, end) >= 0 and body.count(b"\r", 0, end) != body.count(b"\r\n", 0, end):
        return None
    return body.count(b"\n", 0, end) + (1 if end else 0)


def _split_fast(
    body: bytes, *, header: Sequence[str], required: Sequence[str], delimiter: str, quotechar: str
) -> RawFile | None:
    """Split with ``pyarrow.csv``; None when rows cannot be mapped 1:1 to physical lines."""
    names = _dedupe(header)
    invalid: list[str] = []

    def on_invalid(row: pv.InvalidRow) -> str:
        invalid.append(row.text)
        return "skip"

    try:
        table = pv.read_csv(
            pa.BufferReader(body),
            # threads only pay off past a few blocks; a small file reads faster on one
            read_options=pv.ReadOptions(
                column_names=names, block_size=1 << 24, use_threads=len(body) > 1 << 20
            ),
            parse_options=pv.ParseOptions(
                delimiter=delimiter,
                quote_char=quotechar,
                double_quote=True,
                escape_char=False,
                # Quoted newlines are only possible when the body has a quote at all; the
                # quote-aware chunker is slower, so it is switched on only then.
                newlines_in_values=quotechar.encode() in body,
                ignore_empty_lines=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                include_columns=list(required),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # invalid UTF-8 or an unterminated quote: the exact splitter names the lines
        return None
    lines = _physical_lines(body)
    if lines is None or lines != table.num_rows + len(invalid):
        return None
    bad_lines = _locate_whole_lines(body, invalid) if invalid else np.array([], dtype=np.int64)
    if bad_lines is None:
        return None
    # trimming costs a pass per column; a body without blanks or tabs has nothing to trim
    if b" " in body or b"\t" in body:
        columns = {c: pc.utf8_trim_whitespace(table.column(c)) for c in required}
    else:
        columns = {c: table.column(c) for c in required}
    # every physical line is one row: rows are numbered 2, 3, … skipping the unreadable ones
    numbers = np.arange(2, lines + 2, dtype=np.int64)
    if len(bad_lines):
        numbers = numbers[~np.isin(numbers, bad_lines)]
    bad = tuple(
        (int(line), REASON_FIELD_COUNT, text[:MAX_VALUE_CHARS])
        for line, text in sorted(zip(bad_lines.tolist(), _in_file_order(body, invalid), strict=True))
    )
    line_numbers = pa.chunked_array([pa.array(numbers)])
    return RawFile(header=tuple(header), columns=columns, lines=line_numbers, bad=bad)


def _whole_line_offsets(body: bytes, needle: bytes) -> list[int]:
    """Byte offsets where ``needle`` is a whole line of ``body`` (LF or CRLF ended)."""
    found, start = [], 0
    while (pos := body.find(needle, start)) >= 0:
        end = pos + len(needle)
        if (pos == 0 or body[pos - 1] == 0x0A) and (end == len(body) or body[end] in b"\r\n"):
            found.append(pos)
        start = pos + 1
    return found


def _locate_whole_lines(body: bytes, texts: Sequence[str]) -> np.ndarray | None:
    """Physical line numbers (header = 1) of the rows the splitter rejected, found by their text.

    Called only when every physical line is one row, so a rejected row is a whole line. Returns
    None when a text's whole-line occurrences do not match its count (say, the same text as a
    good row's): the exact splitter then decides.
    """
    wanted: dict[str, int] = {}
    for text in texts:
        wanted[text] = wanted.get(text, 0) + 1
    offsets = []
    for text, count in wanted.items():
        found = _whole_line_offsets(body, text.encode("utf-8"))
        if len(found) != count:
            return None
        offsets += found
    offsets.sort()
    # count newlines between consecutive offsets: one pass over the body in all
    lines, previous, line = [], 0, 2
    for offset in offsets:
        line += body.count(b"\n", previous, offset)
        lines.append(line)
        previous = offset
    return np.array(lines, dtype=np.int64)


def _in_file_order(body: bytes, texts: Sequence[str]) -> list[str]:
    """The rejected rows' texts sorted by where they are in the file."""
    positions: dict[str, list[int]] = {}
    for text in set(texts):
        positions[text] = _whole_line_offsets(body, text.encode("utf-8"))
    return [text for _, text in sorted((pos, text) for text, found in positions.items() for pos in found)]


def _split_exact(
    data: bytes,
    *,
    encoding: str,
    header: Sequence[str],
    required: Sequence[str],
    delimiter: str,
    quotechar: str,
) -> RawFile:
    """Split with the ``csv`` module, one row at a time, tracking physical line numbers.

    Used only for files the fast path cannot number (wrong field counts, quoted newlines, blank
    lines, bare CR line ends, bytes invalid in the encoding).
    """
    if _is_utf8(encoding) and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text, broken = data.decode(encoding), False
    except UnicodeDecodeError:
        # undecodable bytes become lone surrogates, so the rows holding them can be named
        text, broken = data.decode(encoding, errors="surrogateescape"), True
    names = _dedupe(header)
    index = {name: names.index(name) for name in required}
    width = len(header)
    values: dict[str, list[str]] = {c: [] for c in required}
    lines: list[int] = []
    bad: list[tuple[int, str, str]] = []

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quotechar, strict=False)
    with contextlib.suppress(StopIteration, csv.Error):
        next(reader)  # header, already checked
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # e.g. a field past csv.field_size_limit(): quarantine the row and read on
            bad.append((start, REASON_MALFORMED, str(exc)[:MAX_VALUE_CHARS]))
            if reader.line_num < start:
                break  # the reader cannot move past it: nothing more can be read
            continue
        if not row:
            continue  # a blank line is not a row
        joined = delimiter.join(row)
        if broken and _SURROGATE.search(joined):
            bad.append((start, REASON_ENCODING, joined.encode("utf-8", "replace").decode()[:MAX_VALUE_CHARS]))
            continue
        if len(row) != width:
            bad.append((start, REASON_FIELD_COUNT, joined[:MAX_VALUE_CHARS]))
            continue
        lines.append(start)
        for column, i in index.items():
            values[column].append(row[i])
    columns = {c: pc.utf8_trim_whitespace(pa.chunked_array([pa.array(v, pa.string())])) for c, v in values.items()}
    return RawFile(
        header=tuple(header),
        columns=columns,
        lines=pa.chunked_array([pa.array(lines, pa.int64())]),
        bad=tuple(bad),
    )


# --- validating and converting fields -----------------------------------------------------------


def _np(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean Arrow mask as a numpy bool array (nulls count as False)."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _matches(raw: pa.ChunkedArray, pattern: str) -> np.ndarray:
    return _np(pc.match_substring_regex(raw, pattern))


class _Errors:
    """Per-row first reason of one field; reasons are set in priority order, first one wins."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.any = np.zeros(n, dtype=bool)
        self.reason: np.ndarray | None = None  # allocated on the first bad row only

    def set(self, mask: np.ndarray, reason: str) -> None:
        new = mask & ~self.any
        if new.any():
            if self.reason is None:
                self.reason = np.full(self.n, None, dtype=object)
            self.reason[new] = reason
            self.any |= new


def _substitute(raw: pa.ChunkedArray, bad: np.ndarray, ok_value: str) -> pa.ChunkedArray:
    """Replace the values of bad rows so a whole-column cast cannot fail on them."""
    if not bad.any():
        return raw
    return pc.if_else(pa.array(bad), ok_value, raw)


def _all_digits(raw: pa.ChunkedArray, *, max_length: int) -> np.ndarray:
    """Rows made of 1..max_length ASCII digits (a cheap kernel, unlike a regex)."""
    return _np(pc.and_(pc.ascii_is_decimal(raw), pc.less_equal(pc.utf8_length(raw), max_length)))


def _canonical_number(raw: pa.ChunkedArray) -> pa.ChunkedArray:
    """Drop a leading ``+``, leading zeros and trailing fractional zeros (slow path only): the
    regexes accept them, and Arrow's casts choke on some (``0…01`` past 38 digits)."""
    text = pc.replace_substring_regex(raw, r"^\+", "")
    text = pc.replace_substring_regex(text, r"^(-?)0+(\d)", r"\1\2")
    return pc.replace_substring_regex(text, r"(\.\d*?)0+$", r"\1")


def _cast_or_quarantine(clean: pa.ChunkedArray, arrow: pa.DataType, errors: _Errors) -> pa.ChunkedArray:
    """Cast the checked values; should Arrow still refuse one, convert value by value and
    quarantine the refused ones rather than fail the whole file."""
    try:
        return pc.cast(clean, arrow)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    texts = clean.to_pylist()
    values, refused = [], np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(texts):
        try:
            value = int(text) if pa.types.is_integer(arrow) else Decimal(text)
            values.append(pa.scalar(value, arrow).as_py())
        except (ArithmeticError, ValueError, pa.ArrowException):
            values.append(None)
            refused[i] = True
    errors.set(refused, REASON_OUT_OF_RANGE)
    return pa.chunked_array([pa.array(values, arrow)])


def _convert_int(raw: pa.ChunkedArray, empty: np.ndarray, errors: _Errors) -> pa.ChunkedArray:
    # Fast check first; the regexes run only when some row is not plain digits. (A bare cast is
    # not a check: Arrow's integer parser accepts "0x10".)
    if not (~empty & ~_all_digits(raw, max_length=18)).any():
        return pc.cast(_substitute(raw, empty, "0"), pa.int64())
    errors.set(~empty & ~_matches(raw, _INTEGER), REASON_NOT_INTEGER)
    errors.set(~empty & ~_matches(raw, _INTEGER_RANGE), REASON_OUT_OF_RANGE)
    return _cast_or_quarantine(_canonical_number(_substitute(raw, errors.any | empty, "0")), pa.int64(), errors)


def _convert_decimal(
    raw: pa.ChunkedArray, empty: np.ndarray, errors: _Errors, *, arrow: pa.DataType, scale: int
) -> pa.ChunkedArray:
    # Fast check first: a whole-column cast to the stored decimal type refuses extra significant
    # decimals and overflow; it accepts exponents, which a counter never writes, so those are
    # looked for separately. Any failure falls back to the regexes, which name each row's reason.
    clean = _substitute(raw, empty, "0")
    try:
        values = pc.cast(clean, arrow)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = None
    if values is not None and not (
        pc.any(pc.match_substring(clean, "e")).as_py() or pc.any(pc.match_substring(clean, "E")).as_py()
    ):
        return values
    errors.set(~empty & ~_matches(raw, _NUMBER), REASON_NOT_NUMBER)
    errors.set(~empty & ~_matches(raw, rf"^[+-]?\d*(\.\d{{0,{scale}}}0*)?$"), REASON_TOO_MANY_DECIMALS)
    errors.set(~empty & ~_matches(raw, rf"^[+-]?0*\d{{0,{18 - scale}}}(\.|$)"), REASON_OUT_OF_RANGE)
    return _cast_or_quarantine(_canonical_number(_substitute(raw, errors.any | empty, "0")), arrow, errors)


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def _convert_date(raw: pa.ChunkedArray, unknown: np.ndarray, errors: _Errors) -> pa.ChunkedArray:
    """``YYYYMMDD`` → date32, checking it is a real calendar day.

    Integer arithmetic in numpy: Arrow's ``strptime`` silently rolls 20260230 over to 2026-03-02,
    and extracting year/month/day back from it costs several passes per column.
    """
    shaped = _all_digits(raw, max_length=8) & _np(pc.equal(pc.utf8_length(raw), 8))
    errors.set(~unknown & ~shaped, REASON_NOT_DATE)
    ymd = np.asarray(pc.cast(_substitute(raw, errors.any | unknown, "19700101"), pa.int64()).to_numpy())
    year, month, day = ymd // 10000, ymd // 100 % 100, ymd % 100
    valid_month = (month >= 1) & (month <= 12)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _DAYS_IN_MONTH[np.where(valid_month, month, 0)] + ((month == 2) & leap)
    real = valid_month & (day >= 1) & (day <= last) & (year >= 1)
    errors.set(~unknown & ~real, REASON_NOT_DATE)
    safe = np.where(real, ymd, 19700101)
    months = (safe // 10000 - 1970) * 12 + (safe // 100 % 100 - 1)
    days = np.datetime64("1970-01", "M") + months.astype("timedelta64[M]")
    days = days.astype("datetime64[D]") + (safe % 100 - 1).astype("timedelta64[D]")
    values = pa.chunked_array([pa.array(days.astype("datetime64[D]"), pa.date32())])
    return _nulls_where(values, unknown | errors.any)


def _convert(
    kind: str,
    raw: pa.ChunkedArray,
    *,
    fmt: CounterFormat,
    table: str,
    field: str,
    errors: _Errors,
) -> pa.ChunkedArray:
    """Validate and convert one field per its kind in ``STANDARD_TABLES``.

    Enforces the "values" column of COUNTERS.md "Tables": dates ``YYYYMMDD`` (``0``/empty =
    unknown for ``date?``), money ≤ 2 and prices ≤ 4 decimals as exact decimals (never float),
    integers, codes through the counter's dictionary, the set of varieties through
    ``CounterFormat.decode_codeset``; and "Bad input": an empty key or required value.
    """
    name, _, domain = kind.partition(":")
    optional = name.endswith("?")
    base = name.rstrip("?")
    empty = _np(pc.equal(raw, ""))
    if not optional and base != "codeset":
        errors.set(empty, REASON_MISSING)

    if base == "str":
        if field == "security_code":
            six = _np(pc.and_(pc.ascii_is_alnum(raw), pc.equal(pc.utf8_length(raw), 6)))
            errors.set(~empty & ~six, REASON_BAD_SECURITY_CODE)
        return _nulls_where(raw, empty if optional else None)

    if base == "int":
        values = _convert_int(raw, empty, errors)
        if (table, field) in POSITIVE_FIELDS:
            errors.set(~_np(pc.greater(values, 0)), REASON_NOT_POSITIVE)
        return _nulls_where(values, empty if optional else None)

    if base in ("money", "price"):
        arrow = table_schema(table).field(field).type
        values = _convert_decimal(raw, empty, errors, arrow=arrow, scale=_scale(base))
        return _nulls_where(values, empty if optional else None)

    if base == "date":
        # "0" — the YYYYMMDD integer 0, also written 00000000 — means unknown for an optional
        # date and is a missing value for a required one.
        unknown = empty | _np(pc.is_in(raw, value_set=pa.array(["0", "00000000"])))
        if not optional:
            errors.set(unknown, REASON_MISSING)
        return _convert_date(raw, unknown, errors)

    if base == "code":
        mapping = fmt.code_to_standard(domain)
        index = pc.index_in(raw, value_set=pa.array(list(mapping), pa.string()))
        values = pc.take(pa.array(list(mapping.values()), pa.string()), index)
        errors.set(~empty & _np(pc.is_null(index)), REASON_UNKNOWN_CODE)
        return values

    if base == "codeset":
        # A handful of distinct combinations per file: decode each once in Python.
        distinct = pc.unique(raw)
        decoded: list[str | None] = []
        unknown_values = []
        for value in distinct.to_pylist():
            try:
                decoded.append(",".join(fmt.decode_codeset(value)) or None)
            except KeyError:
                decoded.append(None)
                unknown_values.append(value)
        values = pc.take(pa.array(decoded, pa.string()), pc.index_in(raw, value_set=distinct))
        if unknown_values:
            errors.set(_np(pc.is_in(raw, value_set=pa.array(unknown_values, pa.string()))), REASON_UNKNOWN_CODE)
        return values

    raise ValueError(f"unknown field kind {kind!r} for {table}.{field}")


def _nulls_where(values: pa.ChunkedArray, mask: np.ndarray | None) -> pa.ChunkedArray:
    if mask is None or not mask.any():
        return values
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


# --- one parsed file ---------------------------------------------------------------------------


def _column(values: pa.Array | pa.ChunkedArray | Sequence, type_: pa.DataType) -> pa.ChunkedArray:
    if isinstance(values, pa.ChunkedArray):
        return values if values.type == type_ else values.cast(type_)
    if isinstance(values, pa.Array):
        return pa.chunked_array([values.cast(type_)], type_)
    return pa.chunked_array([pa.array(list(values), type_)], type_)


def _quarantine(
    *,
    counter: str,
    trade_date: dt.date,
    file: str,
    lines: pa.Array | pa.ChunkedArray | Sequence[int],
    fields: Sequence[str],
    reasons: Sequence[str],
    values: pa.Array | pa.ChunkedArray | Sequence[str | None],
) -> pa.Table:
    """Quarantine rows of one file, in :data:`QUARANTINE_SCHEMA`."""
    n = len(lines)
    return pa.Table.from_arrays(
        [
            pa.repeat(pa.scalar(counter, pa.string()), n),
            pa.repeat(pa.scalar(trade_date, pa.date32()), n),
            pa.repeat(pa.scalar(file, pa.string()), n),
            _column(lines, pa.int64()),
            _column(fields, pa.string()),
            _column(reasons, pa.string()),
            pc.utf8_slice_codeunits(_column(values, pa.string()), 0, MAX_VALUE_CHARS),
        ],
        schema=QUARANTINE_SCHEMA,
    )


@dataclass(frozen=True)
class ParsedFile:
    """One counter file of one day, split into loadable rows and quarantined rows.

    ``rows`` has exactly ``schema.table_schema(table)``; ``quarantine`` has
    :data:`QUARANTINE_SCHEMA`. ``read == loaded + quarantined`` always holds (COUNTERS.md, "Bad
    input": "rows read = rows loaded + rows quarantined for each file").
    """

    counter: str
    trade_date: dt.date
    table: str
    file: str
    #: standard field → the counter's column name, to name fields in the quarantine
    columns: Mapping[str, str]
    rows: pa.Table
    quarantine: pa.Table

    @property
    def loaded(self) -> int:
        return self.rows.num_rows

    @property
    def quarantined(self) -> int:
        return self.quarantine.num_rows

    @property
    def read(self) -> int:
        return self.loaded + self.quarantined

    def reject(self, mask: pa.Array | pa.ChunkedArray | np.ndarray, *, field: str, reason: str) -> ParsedFile:
        """Move the loaded rows selected by ``mask`` to the quarantine, blaming ``field``.

        Used for the rules that need more than one file (unknown fund account, customer or
        security; COUNTERS.md "Bad input").
        """
        keep = np.asarray(mask, dtype=bool) if isinstance(mask, np.ndarray) else _np(mask)
        if not keep.any():
            return self
        moved = self.rows.filter(pa.array(keep))
        extra = _quarantine(
            counter=self.counter,
            trade_date=self.trade_date,
            file=self.file,
            lines=moved.column("line"),
            fields=[self.columns[field]] * moved.num_rows,
            reasons=[reason] * moved.num_rows,
            values=pc.cast(moved.column(field), pa.string()),
        )
        return replace(
            self,
            rows=self.rows.filter(pa.array(~keep)),
            quarantine=pa.concat_tables([self.quarantine, extra]).sort_by("line"),
        )


class CounterAdapter:
    """Reads the files of one counter style into standard flows (COUNTERS.md, "Tables").

    Parameters
    ----------
    fmt
        The counter's export format; everything counter-specific comes from it.
    """

    def __init__(self, fmt: CounterFormat) -> None:
        self.format = fmt

    @property
    def name(self) -> str:
        return self.format.name

    def file_name(self, table: str) -> str:
        """File of ``table`` in a day folder (e.g. ``deliver.csv``)."""
        return self.format.files[table]

    def required_columns(self, table: str) -> tuple[str, ...]:
        """Counter columns a file of ``table`` must have: every mapped standard field."""
        return tuple(self.format.columns[table][f] for f in STANDARD_TABLES[table])

    def check_header(self, *, table: str, path: Path, day: str = "") -> None:
        """Refuse a file whose header lacks a required column, reading only its first line.

        Enforces COUNTERS.md "Bad input": a file missing a required column refuses its day,
        checked for every file before any is parsed so a refusal costs no parsing.

        Raises
        ------
        MissingColumnError
        """
        with open(path, "rb") as fh:
            first = fh.readline()
        if not first:
            raise MissingColumnError(day=day, file=path.name, columns=self.required_columns(table))
        read_delimited(
            first,
            encoding=self.format.encoding,
            delimiter=self.format.delimiter,
            quotechar=self.format.quotechar,
            required=self.required_columns(table),
            file=path.name,
            day=day,
        )

    def read(self, *, table: str, path: Path, trade_date: dt.date, initial_day: bool = True) -> ParsedFile:
        """Read one file of a day folder; see :meth:`parse`."""
        return self.parse(
            table=table, data=path.read_bytes(), file=path.name, trade_date=trade_date, initial_day=initial_day
        )

    def parse(
        self, *, table: str, data: bytes, file: str, trade_date: dt.date, initial_day: bool = True
    ) -> ParsedFile:
        """Parse the bytes of one file into standard rows and quarantined rows.

        Enforces, per row: the field count; every field's kind (COUNTERS.md "Tables", values
        column); positive trade and transfer quantities; 6-character security codes; unique
        serial numbers within the file (= counter + day + table). Cross-file rules (fund account,
        customer and security existence) are the caller's, through :meth:`ParsedFile.reject`.

        Parameters
        ----------
        table
            Standard table name (a key of ``STANDARD_TABLES``).
        data
            The file's bytes.
        file
            File name, recorded in the quarantine.
        trade_date
            The day folder's date, stored on every row.
        initial_day
            Whether this is the counter's initial day: fields in :data:`INITIAL_DAY_ONLY` are
            required then and not read (stored null) otherwise.

        Raises
        ------
        MissingColumnError
            The header lacks a required column.
        """
        fmt = self.format
        columns = fmt.columns[table]
        kinds = STANDARD_TABLES[table]
        raw = read_delimited(
            data,
            encoding=fmt.encoding,
            delimiter=fmt.delimiter,
            quotechar=fmt.quotechar,
            required=self.required_columns(table),
            file=file,
            day=f"{trade_date:%Y%m%d}",
        )
        n = raw.num_rows
        schema = table_schema(table)

        def convert(field: str, kind: str) -> tuple[pa.ChunkedArray, _Errors]:
            errors = _Errors(n)
            values = raw.columns[columns[field]]
            if (table, field) in INITIAL_DAY_ONLY:
                if not initial_day:
                    return pa.chunked_array([pa.nulls(n, schema.field(field).type)]), errors
                kind = kind.replace("?", "")  # required on the initial day
            return _convert(kind, values, fmt=fmt, table=table, field=field, errors=errors), errors

        # Arrow kernels release the GIL, so fields convert in parallel on large files.
        if n >= _PARALLEL_ROWS:
            with ThreadPoolExecutor(max_workers=pa.cpu_count()) as pool:
                converted = list(pool.map(lambda item: convert(*item), kinds.items()))
        else:
            converted = [convert(field, kind) for field, kind in kinds.items()]
        arrays = [values for values, _ in converted]
        field_errors = [(f, errors) for f, (_, errors) in zip(kinds, converted, strict=True) if errors.any.any()]
        arrays += [
            pa.chunked_array([pa.repeat(pa.scalar(fmt.name, pa.string()), n)]),
            pa.chunked_array([pa.repeat(pa.scalar(trade_date, pa.date32()), n)]),
            raw.lines,
        ]
        rows = pa.Table.from_arrays(arrays, schema=schema)

        quarantined = [
            _quarantine(
                counter=fmt.name,
                trade_date=trade_date,
                file=file,
                lines=[line for line, _, _ in raw.bad],
                fields=[""] * len(raw.bad),
                reasons=[reason for _, reason, _ in raw.bad],
                values=[text for _, _, text in raw.bad],
            )
        ]
        bad = np.zeros(n, dtype=bool)
        for field, errors in field_errors:
            # one quarantine row per bad row, blaming its first bad field in file order
            first = errors.any & ~bad
            if first.any():
                idx = np.flatnonzero(first)
                quarantined.append(
                    _quarantine(
                        counter=fmt.name,
                        trade_date=trade_date,
                        file=file,
                        lines=raw.lines.take(pa.array(idx)),
                        fields=[columns[field]] * len(idx),
                        reasons=errors.reason[idx].tolist(),
                        values=raw.columns[columns[field]].take(pa.array(idx)),
                    )
                )
                bad |= first
        if bad.any():
            rows = rows.filter(pa.array(~bad))

        quarantine = pa.concat_tables(quarantined).sort_by("line")
        parsed = ParsedFile(
            counter=fmt.name,
            trade_date=trade_date,
            table=table,
            file=file,
            columns=columns,
            rows=rows,
            quarantine=quarantine,
        )
        if "serial_no" in kinds:
            duplicates = _duplicates(rows.column("serial_no"))
            parsed = parsed.reject(duplicates, field="serial_no", reason=REASON_DUPLICATE_SERIAL)
        return parsed


def _duplicates(serials: pa.ChunkedArray) -> np.ndarray:
    """Rows whose serial number already appeared earlier in the file ("unique within counter and
    day"): the first occurrence loads, later ones are the duplicates."""
    values = np.asarray(serials.to_numpy())
    seen = np.ones(len(values), dtype=bool)
    if len(values) < 2 or (np.diff(values) > 0).all():
        # counters write serials in increasing order: then there is nothing to sort
        seen[:] = False
    else:
        _, first = np.unique(values, return_index=True)
        seen[first] = False
    return seen


def adapter_for(counter: str) -> CounterAdapter:
    """The adapter of a counter style declared in ``dictionaries.COUNTERS``.

    Raises
    ------
    KeyError
        Unknown counter name; the message lists the known ones.
    """
    try:
        return CounterAdapter(COUNTERS[counter])
    except KeyError:
        raise KeyError(f"unknown counter {counter!r}; known: {', '.join(sorted(COUNTERS))}") from None
