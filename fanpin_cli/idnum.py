"""Resident ID numbers (GB 11643-1999) as polars expressions.

Each function takes and returns `pl.Expr`, so a million IDs are normalized, classified and
decoded in a few vectorized passes. `with_id_columns` applies them all to a frame.

>>> import polars as pl
>>> from datetime import date
>>> df = pl.DataFrame({"id_number": ["'43312719900101123Ｘ", "4.33127E+17", "433127900101123"]})
>>> out = with_id_columns(df, reference_date=date(2026, 11, 30))
>>> out["id_status"].to_list()
['bad_checksum', 'excel_sci', 'legacy_15']
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin_cli.regions import region_codes

WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# Classification of one ID value, most usable first.
ID_STATUSES: tuple[str, ...] = (
    "valid",          # 18 chars, check character right, real birth date
    "legacy_15",      # 15-digit old form, upgraded to 18
    "bad_checksum",   # 18 chars whose check character fails (typo, transposition)
    "bad_birthdate",  # check character right but the birth date is impossible or future
    "excel_000",      # 18 digits ending in 000 that fail the check: Excel kept 15 digits
    "excel_sci",      # scientific notation such as 4.33127E+17
    "placeholder",    # 999999… placeholder or one digit repeated
    "bad_format",     # anything else that is not 15 or 18 digits (+X)
    "missing",        # empty
)
USABLE_STATUSES: tuple[str, ...] = ("valid", "legacy_15")

# Every whitespace-like or quoting character that creeps into an ID cell.
_JUNK = r"[\s\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff'’‘`\"“”-]"
_SCI = r"^([0-9])(?:\.([0-9]+))?E\+?([0-9]{1,2})$"
_ZEROS = "0" * 18
_REPEATED = r"^(0+|1+|2+|3+|4+|5+|6+|7+|8+|9+)$"


def clean_id(raw: pl.Expr) -> pl.Expr:
    """Trim and fold an ID cell: NFKC (full-width → ASCII), junk characters, upper-case X,
    学籍号 prefixes G/J/L, the 20-char 残疾人证号 suffix, and a float's trailing `.0`.

    Empty results are null.
    """
    text = (
        raw.cast(pl.String)
        .str.normalize("NFKC")
        .str.replace_all(_JUNK, "")
        .str.to_uppercase()
        .str.replace(r"^([0-9]{15,18})\.0+$", "$1")
        .str.replace(r"^[GJL]([0-9]{17}[0-9X])$", "$1")
        .str.replace(r"^([0-9]{17}[0-9X])[1-7][1-4]$", "$1")
    )
    return pl.when(text.str.len_chars() > 0).then(text)


def digits17(first17: pl.Expr) -> pl.Expr:
    """17 leading digits as one Int64 (null unless they are all digits)."""
    return pl.when(first17.str.contains(r"^[0-9]{17}$")).then(first17.cast(pl.Int64, strict=False))


def check_char_of_int(value: pl.Expr) -> pl.Expr:
    """The GB 11643 check character of 17 digits held in one Int64 (see `digits17`).

    Materialize `value` as a column first: the digits are taken arithmetically from it.
    """
    total = pl.sum_horizontal([((value // 10 ** (16 - i)) % 10) * w for i, w in enumerate(WEIGHTS)])
    mapping = {i: c for i, c in enumerate(CHECK_CHARS)}
    return pl.when(value.is_not_null()).then((total % 11).replace_strict(mapping, return_dtype=pl.String))


def check_char(first17: pl.Expr) -> pl.Expr:
    """The GB 11643 check character of 17 leading digits (null if they are not digits).

    >>> pl.select(check_char(pl.lit("11010519491231002"))).item()
    'X'
    """
    return check_char_of_int(digits17(first17))


def sci_digits(clean: pl.Expr) -> pl.Expr:
    """Digits surviving scientific notation, padded with zeros to the written length.

    `4.33127E+17` → `433127000000000000`; null when `clean` is not scientific notation.
    """
    mantissa = clean.str.extract(_SCI, 1) + clean.str.extract(_SCI, 2).fill_null("")
    length = clean.str.extract(_SCI, 3).cast(pl.Int64) + 1
    return (mantissa + pl.lit(_ZEROS)).str.slice(0, length)


def sci_known_digits(clean: pl.Expr) -> pl.Expr:
    """How many leading digits of a scientific-notation ID are real (its significant digits)."""
    return (
        clean.str.extract(_SCI, 1).str.len_chars()
        + clean.str.extract(_SCI, 2).fill_null("").str.len_chars()
    ).cast(pl.Int64)


def rounded_to_thousands(digits: pl.Expr) -> pl.Expr:
    """An 18-digit ID rounded to its nearest `…000` (433127201308180992 → 433127201308181000)."""
    value = digits.str.slice(0, 18).cast(pl.Int64, strict=False)
    return (((value + 500) // 1000) * 1000).cast(pl.String)


def float_image(digits: pl.Expr) -> pl.Expr:
    """True for an 18-digit value that may be Excel's float image of a `…000` ID.

    Excel keeps 15 significant digits; a reader printing the stored double exactly gives
    `433127199001011008` for what Excel shows as `433127199001011000`: the value is exactly a
    double, and that double is also the nearest one to the value rounded to thousands.
    """
    value = digits.str.slice(0, 18).cast(pl.Int64, strict=False)
    as_float = value.cast(pl.Float64)
    rounded = ((value + 500) // 1000) * 1000
    return (
        digits.str.contains(r"^[0-9]{18}$")
        & (as_float.cast(pl.Int64) == value)
        & (rounded.cast(pl.Float64) == as_float)
        & (rounded != value)
    )


def excel_float_fix(clean: pl.Expr, expected: pl.Expr, number_cell: pl.Expr | None = None) -> pl.Expr:
    """Undo the float rendering of an ID that Excel stored as a number.

    A `float_image` that fails its check (`expected` is the right check character) is
    rewritten as the rounded value (…000), which is then classified `excel_000`. Where
    `number_cell` is true (the loader saw an Excel number cell), an 18-digit value is rounded
    whatever its check character says. Other values pass unchanged.
    """
    is18 = clean.str.contains(r"^[0-9]{18}$").fill_null(False)
    guessed = (float_image(clean) & (clean.str.slice(17, 1) != expected)).fill_null(False)
    from_number = pl.lit(False) if number_cell is None else number_cell
    return pl.when(guessed | (from_number & is18)).then(rounded_to_thousands(clean)).otherwise(clean)


def upgrade_15(clean: pl.Expr) -> pl.Expr:
    """A 15-digit legacy ID as 18 digits: insert `19` before the year, add the check char."""
    first17 = clean.str.slice(0, 6) + pl.lit("19") + clean.str.slice(6, 9)
    return pl.when(clean.str.contains(r"^[0-9]{15}$")).then(first17 + check_char(first17))


def birth_from_digits(digits: pl.Expr, reference_date: date) -> pl.Expr:
    """Birth date at positions 7–14 of an 18-digit string; null if impossible or future."""
    born = digits.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    return pl.when((born <= pl.lit(reference_date)) & (born >= pl.lit(date(1880, 1, 1)))).then(born)


def age_at(born: pl.Expr, reference_date: date) -> pl.Expr:
    """Age in full years (周岁) at `reference_date`."""
    before_birthday = (born.dt.month().cast(pl.Int32) * 100 + born.dt.day().cast(pl.Int32)) > (
        reference_date.month * 100 + reference_date.day
    )
    return (pl.lit(reference_date.year) - born.dt.year().cast(pl.Int32) - before_birthday.cast(pl.Int32)).cast(
        pl.Int32
    )


def sex_from_digits(digits: pl.Expr) -> pl.Expr:
    """男 if the 17th digit is odd, 女 if even, null if unknown."""
    digit = digits.str.slice(16, 1).cast(pl.Int32, strict=False)
    return pl.when(digit.is_not_null()).then(
        pl.when(digit % 2 == 1).then(pl.lit("男")).otherwise(pl.lit("女"))
    )


def mask_id(value: pl.Expr) -> pl.Expr:
    """Mask an ID for output: `433127********1234` (first 6, last 4 kept).

    Strings of 7–14 characters keep 3 + 2; shorter ones are left as they are.
    """
    text = value.cast(pl.String)
    n = text.str.len_chars().cast(pl.Int64)
    # Every branch is evaluated on every row: clip the star counts so that short values do
    # not ask repeat_by for a negative (as UInt32: about 4 billion) count.
    stars_long = pl.lit("*").repeat_by((n - 10).clip(lower_bound=0)).list.join("")
    stars_mid = pl.lit("*").repeat_by((n - 5).clip(lower_bound=0)).list.join("")
    long = text.str.slice(0, 6) + stars_long + text.str.slice(-4, 4)
    mid = text.str.slice(0, 3) + stars_mid + text.str.slice(-2, 2)
    return pl.when(n >= 15).then(long).when(n >= 7).then(mid).otherwise(text)


def _clean_fast(raw: pl.Series) -> pl.Series:
    """`clean_id` on a Series, skipping the values that are already clean 18-char IDs."""
    raw = raw.cast(pl.String)
    dirty = (~raw.str.contains(r"^[0-9]{17}[0-9X]$")).fill_null(True).arg_true()
    if dirty.len() == 0:
        return raw
    fixed = pl.select(clean_id(pl.lit(raw.gather(dirty)))).to_series()
    return raw.scatter(dirty, fixed)


def with_id_columns(
    frame: pl.DataFrame,
    raw: str = "id_number",
    *,
    reference_date: date,
    prefix: str = "",
) -> pl.DataFrame:
    """Add the decoded ID columns next to the raw column `raw`.

    Added (each name behind `prefix`): `id_clean` (folded text), `id_status` (one of
    ID_STATUSES), `id18` (the usable 18-digit ID: valid or upgraded from 15, else null),
    `id_digits` (best 18-digit reading for repair, including faulty ones), `id_known` (how many
    leading digits of `id_digits` are real), `id_expected_check` (the right check character),
    `id_birth`, `id_sex`, `id_region`, `id_region_known`, `id_age`.
    """
    p = prefix
    c = pl.col(f"{p}id_clean")
    first17 = pl.col(f"{p}_first17")
    expected = pl.col(f"{p}id_expected_check")
    form = pl.col(f"{p}_form")
    # What the loader knows of the ID cell (`<raw>_cell`): "number" (an Excel number cell: it
    # lost its last digits whatever the check says), "text", or "unknown" (an .xls sheet, where
    # only the float-image heuristic can tell). Without the column (CSV, plain frames) the cell
    # is text: a CSV holds what Excel displayed, never the exact double.
    cell = pl.col(f"{raw}_cell") if f"{raw}_cell" in frame.columns else pl.lit("text")
    number_cell = (cell == "number").fill_null(False)
    maybe_number = (cell == "unknown").fill_null(False)
    frame = frame.with_columns(_clean_fast(frame[raw]).alias(f"{p}id_clean"))
    frame = frame.with_columns(digits17(c.str.slice(0, 17)).alias(f"{p}_v17"))
    guessed = excel_float_fix(c, check_char_of_int(pl.col(f"{p}_v17")), number_cell)
    fixed = pl.when(maybe_number | number_cell).then(guessed).otherwise(c)
    frame = frame.with_columns(
        fixed.alias(f"{p}id_clean"),
        # A float image lost its last 3 digits in Excel: excel_000 even if …000 passes the check.
        ((fixed != c).fill_null(False) | (number_cell & c.str.contains(r"^[0-9]{18}$").fill_null(False))).alias(
            f"{p}_float_image"
        ),
    )
    frame = frame.with_columns(
        pl.when(c.is_null())
        .then(pl.lit("missing"))
        .when(c.str.contains(r"^9{6}") | c.str.contains(_REPEATED))
        .then(pl.lit("placeholder"))
        .when(c.str.contains(_SCI))
        .then(pl.lit("sci"))
        .when(c.str.contains(r"^[0-9]{17}[0-9X]$"))
        .then(pl.lit("18"))
        .when(c.str.contains(r"^[0-9]{15}$"))
        .then(pl.lit("15"))
        .otherwise(pl.lit("other"))
        .alias(f"{p}_form")
    )
    frame = frame.with_columns(
        pl.when(form == "18")
        .then(c.str.slice(0, 17))
        .when(form == "15")
        .then(c.str.slice(0, 6) + pl.lit("19") + c.str.slice(6, 9))
        .when(form == "sci")
        .then(sci_digits(c).str.slice(0, 17))
        .alias(f"{p}_first17"),
        pl.when(form.is_in(["18", "15"]))
        .then(pl.lit(18, dtype=pl.Int64))
        .when(form == "sci")
        .then(sci_known_digits(c))
        .alias(f"{p}id_known"),
    )
    frame = frame.with_columns(digits17(first17).alias(f"{p}_v17"))
    frame = frame.with_columns(
        check_char_of_int(pl.col(f"{p}_v17")).alias(f"{p}id_expected_check"),
        birth_from_digits(first17, reference_date).alias(f"{p}_birth"),
    )
    born_ok = pl.col(f"{p}_birth").is_not_null()
    check_ok = c.str.slice(17, 1) == expected
    status = (
        pl.when(form.is_in(["missing", "placeholder"]))
        .then(form)
        .when(form == "sci")
        .then(pl.lit("excel_sci"))
        .when((form == "18") & pl.col(f"{p}_float_image"))
        .then(pl.lit("excel_000"))
        .when((form == "18") & check_ok & born_ok)
        .then(pl.lit("valid"))
        .when((form == "18") & check_ok)
        .then(pl.lit("bad_birthdate"))
        .when((form == "18") & c.str.ends_with("000"))
        .then(pl.lit("excel_000"))
        .when(form == "18")
        .then(pl.lit("bad_checksum"))
        .when((form == "15") & born_ok)
        .then(pl.lit("legacy_15"))
        .when(form == "15")
        .then(pl.lit("bad_birthdate"))
        .otherwise(pl.lit("bad_format"))
    )
    frame = frame.with_columns(
        status.alias(f"{p}id_status"),
        pl.when(form == "18")
        .then(c)
        .when(form == "15")
        .then(first17 + expected)
        .when(form == "sci")
        .then(sci_digits(c))
        .alias(f"{p}id_digits"),
    )
    st = pl.col(f"{p}id_status")
    digits = pl.col(f"{p}id_digits")
    # Excel's …000 tail destroyed digits 16–18: only the first 15 are real.
    known = pl.when(st == "excel_000").then(pl.lit(15, dtype=pl.Int64)).otherwise(pl.col(f"{p}id_known"))
    birth = pl.when(known >= 14).then(pl.col(f"{p}_birth"))
    return frame.with_columns(
        known.alias(f"{p}id_known"),
        pl.when(st.is_in(USABLE_STATUSES)).then(digits).alias(f"{p}id18"),
        birth.alias(f"{p}id_birth"),
        age_at(birth, reference_date).alias(f"{p}id_age"),
        pl.when(known >= 17).then(sex_from_digits(digits)).alias(f"{p}id_sex"),
        pl.when(known >= 6).then(digits.str.slice(0, 6)).alias(f"{p}id_region"),
        pl.when(known >= 6)
        .then(digits.str.slice(0, 6).is_in(region_codes()))
        .alias(f"{p}id_region_known"),
    ).drop(f"{p}_form", f"{p}_first17", f"{p}_birth", f"{p}_v17", f"{p}_float_image")
