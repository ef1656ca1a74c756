"""The whole reading of `idnum.with_id_columns`, value by value, for the few IDs of a typed
column that are not plain (missing, placeholders, 15 digits, scientific notation, …000,
spreadsheet number cells: `idnum._plain`).

`idnum._read_ids` reads them with some thirty polars calls whatever their number: ~7 ms of CPU
for a file's twenty odd IDs, which is most of what preparing a small file costs. Read here, one
value at a time, the same columns cost ~10 µs an ID. `idnum._read_ids` stays the reading: any
value this module is not sure to read as it does (a number next to a power of two, where a
double's spacing changes; a number that polars cannot hold) makes `read_few` give up (None), and
`_read_ids` reads the rows instead; `tests/test_idnum.py` checks that both agree on IDs of every
shape.

>>> from datetime import date
>>> cols = read_few(["4.33127E+17", None, "433127900101123"], ["4.33127E+17", None, "433127900101123"], None,
...                 date(2026, 11, 30))
>>> cols["id_status"], cols["id_known"]
(['excel_sci', 'missing', 'legacy_15'], [5, None, 18])
"""

from __future__ import annotations

import math
import re
from datetime import date
from functools import lru_cache

from fanpin_cli.idnum import (
    _NUMBER_PLACEHOLDER,
    _REPEATED,
    _SCI,
    CHECK_CHARS,
    USABLE_STATUSES,
    WEIGHTS,
)
from fanpin_cli.regions import region_codes

# Columns made, in `idnum._plain_columns`' order (with_id_columns puts them in place).
COLUMNS = ("id_lo", "id_hi", "id_known", "id_expected_check", "id_status", "id_digits", "id18", "id_birth",
           "id_age", "id_sex", "id_region", "id_region_known")

_SCI_RE = re.compile(_SCI)
_PLACEHOLDER_RE = re.compile(f"{_REPEATED}|{_NUMBER_PLACEHOLDER}")
_FORM18 = re.compile(r"[0-9]{17}[0-9X]")
_DIGITS15 = re.compile(r"[0-9]{15}")
_DIGITS17 = re.compile(r"[0-9]{17}")
_DIGITS18 = re.compile(r"[0-9]{18}")
_CERT_LONG = re.compile(r"[0-9]{19,20}(\.0+)?")
_I64 = 2**63 - 1
# What polars' `str.strip_chars()` strips (Rust's `char::is_whitespace`, Unicode White_Space):
# `str.strip()` also strips U+001C–U+001F.
_WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
              "\u2028\u2029\u202f\u205f\u3000"
_EARLIEST = date(1880, 1, 1)


class _Unsure(Exception):
    """A value whose reading here might differ from polars' (see the module docstring)."""


@lru_cache(maxsize=1)
def _regions() -> frozenset[str]:
    return frozenset(region_codes())


def _int64(text: str) -> int | None:
    """`text` (digits) as polars casts it to Int64 (strict=False): None when it does not fit."""
    value = int(text) if text.isascii() and text.isdigit() else None
    return value if value is not None and value <= _I64 else None


def _check_char(d17: int | None) -> str | None:
    if d17 is None:
        return None
    digits = f"{d17:017d}"
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(digits, WEIGHTS, strict=True)) % 11]


def _date8(text: str) -> date | None:
    """`YYYYMMDD` (8 ASCII digits) as a date, None if there is no such day."""
    if len(text) != 8 or not (text.isascii() and text.isdigit()):
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _double_ulp(value: int) -> int:
    """`idnum.double_ulp` of a positive value (`log2` of the double, as polars takes it)."""
    mantissa, _ = math.frexp(float(value))
    if abs(mantissa - 0.5) < 1e-9 or abs(1.0 - mantissa) < 1e-9:
        raise _Unsure  # next to a power of two: the floor of a rounded logarithm may differ
    return 2 ** max(math.floor(math.log(float(value), 2)) - 52, 0)


def _reading(c: str, raw: str | None, number_cell: bool, has_cell: bool, reference_date: date) -> tuple:
    """The columns of COLUMNS for one non-null folded ID `c` (`idnum._read_ids`, step by step)."""
    if c.startswith("999999") or _PLACEHOLDER_RE.fullmatch(c):
        return (None,) * 4 + ("placeholder",) + (None,) * 7
    sci_match = _SCI_RE.fullmatch(c)
    form = "sci" if sci_match else "18" if _FORM18.fullmatch(c) else "15" if _DIGITS15.fullmatch(c) else "other"
    sci = exponent = None
    if sci_match:
        exponent = int(sci_match.group(3))
        sci = (sci_match.group(1) + (sci_match.group(2) or "") + "0" * 18)[: exponent + 1]
    check18 = _check_char(int(c[:17])) if form == "18" and c.endswith("000") else None
    check_ok = None if check18 is None else c[17:18] == check18
    is18 = form == "18" and _DIGITS18.fullmatch(c) is not None
    # null logic as polars': ends with 000 and not check_ok (null when check_ok is)
    typed = False if not c.endswith("000") else None if check_ok is None else not check_ok
    as_number = is18 and bool(number_cell or typed)
    raw_text = raw.strip(_WHITESPACE) if raw is not None else None
    cert_long = has_cell and number_cell and raw_text is not None and _CERT_LONG.fullmatch(raw_text) is not None
    if exponent == 17:
        shown = _int64(sci) if sci is not None else None
    elif exponent == 19:
        shown = _int64(sci[:18]) if sci is not None else None
    elif cert_long:
        shown = _int64(raw_text[:18]) if raw_text is not None else None
    elif as_number:
        shown = _int64(c)
    else:
        shown = None
    written = None
    if shown is not None:
        if shown > _I64 - 1000:
            raise _Unsure  # polars wraps around
        rounded = (shown + 500) // 1000 * 1000
        written = rounded if float(rounded) == float(shown) else shown
        if written <= 0:  # zero or below (a cell "0E+17"): no ID's image (as `_read_ids`)
            written = None
    cert = exponent == 19 or cert_long
    lo = hi = precision = None
    if written is not None:
        sig = 18 - sum(1 for k in range(1, 18) if written % 10**k == 0)
        precision = max(sig, 15) if sig >= 10 else sig
        if cert:
            precision = min(precision, 16)
        unit = 10 ** (18 - min(max(precision, 1), 18))
        half = _double_ulp(written) // 2
        lo, hi = written - unit * 6 // 10 - half, written + unit - 1 + half
        known = sum(1 for p in range(1, 19) if lo // 10 ** (18 - p) == hi // 10 ** (18 - p))
        digits = str(written).zfill(18)
    else:
        known = 18 if form in ("18", "15") else 0 if form == "sci" else None
        digits = c if form == "18" else c[:6] + "19" + c[6:15] if form == "15" else None
    d17 = int(digits[:17]) if digits is not None and _DIGITS17.fullmatch(digits[:17]) else None
    born = _date8(digits[6:14]) if digits is not None else None
    expected = _check_char(d17)
    if born is not None and not _EARLIEST <= born <= reference_date:
        born = None
    check_ok = None if expected is None else c.endswith(expected)
    if form == "sci" and (precision is None or precision < 15):
        status = "excel_sci"
    elif precision is not None and precision >= 15:
        status = "excel_000" if precision == 15 else "excel_float"
    elif form == "18":
        status = ("valid" if born is not None else "bad_birthdate") if check_ok else "bad_checksum"
    elif form == "15":
        status = "legacy_15" if born is not None else "bad_birthdate"
    else:
        status = "bad_format"
    if form == "15":
        digits = c[:6] + "19" + c[6:15] + expected if expected is not None else None
    birth = born if known is not None and known >= 14 else None
    age = None
    if birth is not None:
        age = reference_date.year - birth.year - ((birth.month, birth.day) > (reference_date.month, reference_date.day))
    sex = None
    if known is not None and known >= 17 and digits is not None and digits[16:17] in tuple("0123456789"):
        sex = "男" if int(digits[16]) % 2 == 1 else "女"
    region = digits[:6] if known is not None and known >= 6 and digits is not None else None
    return (lo, hi, known, expected, status, digits, digits if status in USABLE_STATUSES else None, birth, age, sex,
            region, None if region is None else region in _regions())


def read_few(clean: list[str | None], raw: list[str | None], cells: list[str | None] | None,
             reference_date: date) -> dict[str, list] | None:
    """COLUMNS for the folded IDs `clean` (raw cells `raw`, the loader's `<raw>_cell` `cells`,
    None for a CSV) of a column typed as text (`idnum.numeric_file` no), as `idnum._read_ids`
    makes them; None when a value is one this reading is not sure of."""
    rows = []
    try:
        for i, c in enumerate(clean):
            if c is None:
                rows.append((None,) * 4 + ("missing",) + (None,) * 7)
            else:
                rows.append(_reading(c, raw[i], cells is not None and cells[i] == "number", cells is not None,
                                     reference_date))
    except _Unsure:
        return None
    return {name: list(values) for name, values in zip(COLUMNS, zip(*rows, strict=True), strict=True)} if rows else \
        {name: [] for name in COLUMNS}
