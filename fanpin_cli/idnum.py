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

from fanpin_cli.regions import known_region
from fanpin_cli.rows import on_rows

WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# Classification of one ID value, most usable first.
ID_STATUSES: tuple[str, ...] = (
    "valid",          # 18 chars, check character right, real birth date
    "legacy_15",      # 15-digit old form, upgraded to 18
    "bad_checksum",   # 18 chars whose check character fails (typo, transposition)
    "bad_birthdate",  # check character right but the birth date is impossible or future
    "excel_000",      # a spreadsheet number kept to 15 significant digits (…000, or its double)
    "excel_sci",      # scientific notation such as 4.33127E+17 or 4.33127201309269E+017
    "excel_float",    # a spreadsheet number printed as its double (433127197910059840)
    "placeholder",    # 999999… placeholder or one digit repeated
    "bad_format",     # anything else that is not 15 or 18 digits (+X)
    "missing",        # empty
)
USABLE_STATUSES: tuple[str, ...] = ("valid", "legacy_15")

# Every whitespace-like or quoting character that creeps into an ID cell.
_JUNK = r"[\s\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff'’‘`\"“”-]"
_ZEROS = "0" * 18
_REPEATED = r"^(0+|1+|2+|3+|4+|5+|6+|7+|8+|9+)$"
# 999999999999999999 held as a number: the double is 10^18 (1E+018, 1000000000000000000).
_NUMBER_PLACEHOLDER = r"^(10{18}|1(\.0+)?E\+?0?18|9\.9{5,}[0-9]*E\+?0?17)$"


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


def check_chars(value: pl.Series) -> pl.Series:
    """`check_char_of_int` on a Series of 17-digit Int64 values, with numpy: the value split
    into two int32 halves (9 and 8 digits), each peeled a digit at a time (int64 division per
    digit in polars costs ten times more).

    >>> check_chars(pl.Series([11010519491231002, None, 43312719900101123])).to_list()
    ['X', None, '8']
    """
    import numpy as np  # here: the config's checks import this module before the run reads, numpy after

    hi, lo = np.divmod(value.cast(pl.Int64).fill_null(0).to_numpy(), 10**9)
    total = np.zeros(len(value), dtype=np.int32)
    for part, weights in ((lo.astype(np.int32), WEIGHTS[8:]), (hi.astype(np.int32), WEIGHTS[:8])):
        for w in reversed(weights):
            part, digit = np.divmod(part, 10)
            total += digit * w
    chars = pl.Series(value.name, list(CHECK_CHARS)).gather(total % 11)
    if value.null_count():
        chars = pl.select(pl.when(value.is_not_null()).then(chars)).to_series()
    return chars.alias(value.name)


def check_char(first17: pl.Expr) -> pl.Expr:
    """The GB 11643 check character of 17 leading digits (null if they are not digits).

    >>> pl.select(check_char(pl.lit("11010519491231002"))).item()
    'X'
    """
    return check_char_of_int(digits17(first17))


# Scientific notation as spreadsheets write it: 4.33127E+17, 4.33127201309269E+017, 4.33127e17.
_SCI = r"^([0-9])(?:\.([0-9]+))?E\+?([0-9]{1,3})$"
# A reading whose possible values span at most this many numbers still pins the birth date
# (…YYYYMMDD + 4 digits: 20,000 is two days of sequence numbers at most).
MAX_RANGE_WIDTH = 20_000


def sci_digits(clean: pl.Expr) -> pl.Expr:
    """Digits surviving scientific notation, padded with zeros to the written length.

    `4.33127E+17` → `433127000000000000`; null when `clean` is not scientific notation.
    """
    mantissa = clean.str.extract(_SCI, 1) + clean.str.extract(_SCI, 2).fill_null("")
    length = clean.str.extract(_SCI, 3).cast(pl.Int64) + 1
    return (mantissa + pl.lit(_ZEROS)).str.slice(0, length)


def significant_digits(value: pl.Expr) -> pl.Expr:
    """How many digits an 18-digit Int64 has before its trailing zeros (433127000000000000 → 6)."""
    zeros = pl.sum_horizontal([(value % 10**k == 0).cast(pl.Int64) for k in range(1, 18)])
    return (pl.lit(18, dtype=pl.Int64) - zeros).cast(pl.Int64)


def significant_digits_of(value: pl.Series) -> pl.Series:
    """`significant_digits` of a Series of Int64, in numpy (its 17 terms are a polars plan
    costing more than the few values `_read_ids` reads on a typed file); a null counts no
    trailing zeros (18), as there.

    >>> significant_digits_of(pl.Series([433127000000000000, 433127201309269000, None])).to_list()
    [6, 15, 18]
    """
    import numpy as np  # at use, as in `check_chars`

    v = value.cast(pl.Int64).fill_null(0).to_numpy()
    zeros = np.zeros(len(v), dtype=np.int64)
    for k in range(1, 18):
        zeros += v % 10**k == 0
    return pl.Series(value.name, np.where(value.is_null().to_numpy(), 18, 18 - zeros), dtype=pl.Int64)


def double_ulp(value: pl.Expr) -> pl.Expr:
    """Spacing of IEEE doubles around a positive Int64 (64 for 4.3e17, 32 for 1.5e17): a
    number stored as a double is within half of it from the value it came from."""
    exponent = value.cast(pl.Float64).log(2).floor().cast(pl.Int64)
    return pl.lit(2, dtype=pl.Int64).pow(pl.max_horizontal(exponent - 52, pl.lit(0, dtype=pl.Int64)))


def is_exact_double(value: pl.Expr) -> pl.Expr:
    """True for an Int64 that a double holds exactly (what a reader prints for a number cell)."""
    return value.cast(pl.Float64).cast(pl.Int64, strict=False) == value


def nearest_thousand_image(value: pl.Expr) -> pl.Expr:
    """The value rounded to thousands when `value` is that round value or its double
    (433127201309268992 → 433127201309269000: a 15-digit value printed from a double), else
    `value` itself."""
    rounded = ((value + 500) // 1000) * 1000
    return pl.when(rounded.cast(pl.Float64) == value.cast(pl.Float64)).then(rounded).otherwise(value)


def number_range(written: pl.Expr, precision: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Every 18-digit value a spreadsheet number may have come from, as inclusive bounds.

    `written` is the value as the cell shows it and `precision` its significant digits. A
    spreadsheet rounds (LibreOffice, Excel's display) or truncates (Excel on typing) to them,
    so the true value lies in [written − unit/2, written + unit − 1] with unit = 10^(18 −
    precision). LibreOffice 7.4 rounds twice (to 16 digits, then 15: …265456 → …2655 → …266),
    so the lower margin is 0.6 unit. The value was also held as a double (before or after that
    rounding), which adds half a double spacing on either side. Returns (lo, hi).

    >>> v = pl.lit(433127201309269000, dtype=pl.Int64)
    >>> lo, hi = number_range(v, pl.lit(15))
    >>> pl.select(lo.alias("lo"), hi.alias("hi")).row(0)
    (433127201309268368, 433127201309270031)
    """
    unit = pl.lit(10, dtype=pl.Int64).pow((pl.lit(18) - precision.clip(1, 18)).cast(pl.Int64))
    half = double_ulp(written) // 2
    return written - unit * 6 // 10 - half, written + unit - 1 + half


def common_prefix(lo: pl.Expr, hi: pl.Expr) -> pl.Expr:
    """How many leading digits all 18-digit values in [lo, hi] share (the digits still certain)."""
    return pl.sum_horizontal(
        [(lo // 10 ** (18 - p) == hi // 10 ** (18 - p)).cast(pl.Int64) for p in range(1, 19)]
    ).cast(pl.Int64)


def common_prefix_of(lo: pl.Series, hi: pl.Series) -> pl.Series:
    """`common_prefix` of two Series of Int64, in numpy (18 terms: see `significant_digits_of`);
    0 where either is null, as there.

    >>> common_prefix_of(pl.Series([433127201309268368, None]), pl.Series([433127201309270031, 1])).to_list()
    [13, 0]
    """
    import numpy as np  # at use, as in `check_chars`

    a, b = lo.cast(pl.Int64).fill_null(0).to_numpy(), hi.cast(pl.Int64).fill_null(0).to_numpy()
    same = np.zeros(len(a), dtype=np.int64)
    for p in range(1, 19):
        same += a // 10 ** (18 - p) == b // 10 ** (18 - p)
    return pl.Series(lo.name, np.where((lo.is_null() | hi.is_null()).to_numpy(), 0, same), dtype=pl.Int64)


def upgrade_15(clean: pl.Expr) -> pl.Expr:
    """A 15-digit legacy ID as 18 digits: insert `19` before the year, add the check char."""
    first17 = clean.str.slice(0, 6) + pl.lit("19") + clean.str.slice(6, 9)
    return pl.when(clean.str.contains(r"^[0-9]{15}$")).then(first17 + check_char(first17))


def birth_from_digits(digits: pl.Expr, reference_date: date) -> pl.Expr:
    """Birth date at positions 7–14 of an 18-digit string; null if impossible or future."""
    return _plausible_birth(digits.str.slice(6, 8).str.to_date("%Y%m%d", strict=False), reference_date)


def _plausible_birth(born: pl.Expr, reference_date: date) -> pl.Expr:
    """`born` where it is a possible birth date (1880 to `reference_date`), else null."""
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
    """Mask an ID column's value for output: `433127***********8` (first 6 and the last
    character kept; 15 characters, a first-generation ID, the first 6 only: the sequence digits stay hidden, so a birth date shown beside it does not
    rebuild the ID; see `privacy.py`). Values of 7–13 characters keep 3 + 1; shorter ones are
    left as they are.

    An ID that Excel turned into scientific notation stays readable as such, its mantissa cut
    to 6 digits (no more than a masked ID shows): `4.33127199001011E+17` → `4.33127…E+17`.

    >>> import polars as pl
    >>> pl.select(mask_id(pl.lit("433127199001011238"))).item()
    '433127***********8'
    >>> pl.select(mask_id(pl.lit("4.33127199001011E+17"))).item()
    '4.33127…E+17'
    >>> pl.select(mask_id(pl.lit("433127900101123"))).item()  # 15 digits: no sequence digit shown
    '433127*********'
    """
    text = value.cast(pl.String)
    sci = text.str.extract_groups(r"^\s*([0-9])\.([0-9]+)[eE]\+?([0-9]{1,2})\s*$")
    mantissa = sci.struct.field("2")
    shown_sci = pl.concat_str(
        sci.struct.field("1"), pl.lit("."), mantissa.str.slice(0, 5),
        pl.when(mantissa.str.len_chars() > 5).then(pl.lit("…")).otherwise(pl.lit("")),
        pl.lit("E+"), sci.struct.field("3"),
    )
    n = text.str.len_chars().cast(pl.Int64)
    # One masked form for both lengths (every branch is evaluated on every row): 14+ characters
    # keep 6 + 1, 7–13 keep 3 + 1; the kept head is padded with stars to all but the last (the
    # length clipped: a value too short to mask, which keeps its text, asks for no negative one).
    keep = pl.when(n >= 14).then(pl.lit(6, dtype=pl.Int64)).otherwise(pl.lit(3, dtype=pl.Int64))
    masked = text.str.slice(0, keep).str.pad_end((n - 1).clip(lower_bound=0), "*") + text.str.slice(-1, 1)
    # A 15-digit ID's last digit is a sequence digit, not a check character (privacy.hidden_last).
    first_generation = text.str.slice(0, 6).str.pad_end(15, "*")
    return (pl.when(mantissa.is_not_null()).then(shown_sci)
            .when(n == 15).then(first_generation)
            .when(n >= 7).then(masked).otherwise(text))


_FORM18 = r"^[0-9]{17}[0-9X]$"  # 17 digits and a check character: a clean 18-character ID


def _clean_fast(raw: pl.Series) -> pl.Series:
    """`clean_id` on a Series, skipping the values that are already clean 18-char IDs."""
    return _cleaned(raw)[0]


def _cleaned(raw: pl.Series) -> tuple[pl.Series, pl.Series]:
    """`_clean_fast` of `raw`, and whether each folded ID has the form `_FORM18` (False where
    null): the values already of that form are the ones left as they are, so only those
    cleaned are matched again (a file's IDs are matched once, not by every step that asks).

    >>> [s.to_list() for s in _cleaned(pl.Series(["433127199001011238", " 433127199001011238", "12", None]))]
    [['433127199001011238', '433127199001011238', '12', None], [True, True, False, False]]
    """
    raw = raw.cast(pl.String)
    form = raw.str.contains(_FORM18).fill_null(False)
    dirty = (~form).arg_true()
    if dirty.len() == 0:
        return raw, form
    fixed = pl.select(clean_id(pl.lit(raw.gather(dirty)))).to_series()
    return raw.scatter(dirty, fixed), form.scatter(dirty, fixed.str.contains(_FORM18).fill_null(False))


def _one_value(values: pl.Series) -> bool:
    """True when every value is the same non-null one (a frame read from one file)."""
    return values.null_count() == 0 and (values.len() == 0 or bool((values == values[0]).all()))


def _number_like(clean: pl.Expr) -> pl.Expr:
    """18 digits that look printed from a spreadsheet number: an exact double or …000."""
    return clean.str.contains(r"^[0-9]{18}$") & _looks_printed(clean)


def _looks_printed(digits: pl.Expr) -> pl.Expr:
    """`_number_like` of texts known to be 18 digits: an exact double or …000."""
    return is_exact_double(digits.cast(pl.Int64, strict=False)) | digits.str.ends_with("000")


def numeric_column(clean: pl.Expr, group: pl.Expr | None = None) -> pl.Expr:
    """True on every row of a column (per `group`, e.g. per file) that a spreadsheet held as
    numbers: at least two of its 18-digit values, and at least half, look like `_number_like`.

    A random real ID is an exact double about once in 32–64 and ends in 000 once in 1,000,
    so a column of typed IDs never passes; a column saved from numbers always does.
    """
    is18 = clean.str.contains(r"^[0-9]{18}$").fill_null(False)
    like = _number_like(clean).fill_null(False)
    n18 = is18.sum()
    nlike = like.sum()
    test = (nlike >= 2) & (nlike * 2 >= n18)
    return test if group is None else test.over(group)


def numeric_file(clean: pl.Series, form18: pl.Series | None = None) -> bool:
    """`numeric_column` of one file's folded IDs, as one answer: the 18-digit values read as
    numbers only where they are 18 digits, and only when there are two or more of them.
    `form18`: which IDs have the form `_FORM18` (`_cleaned`), if known: the 18-digit ones are
    then those of them not ending in X.

    >>> numeric_file(pl.Series(["433127201309269000", "433127199001011000", "433127199001011238"]))
    True
    >>> numeric_file(pl.Series(["433127199001011238", None]))
    False
    """
    is18 = clean.str.contains(r"^[0-9]{18}$") if form18 is None else form18 & ~clean.str.ends_with("X")
    is18 = is18.fill_null(False)
    n18 = int(is18.sum())
    if n18 < 2:  # fewer than two 18-digit values: fewer than two look like numbers
        return False
    digits = clean.filter(is18)
    nlike = int(pl.select(_looks_printed(pl.lit(digits)).fill_null(False).sum()).item())
    return nlike >= 2 and nlike * 2 >= n18


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
    leading digits of `id_digits` are certain), `id_lo`/`id_hi` (for an ID that a spreadsheet
    held as a number: every value it may have come from, see `number_range`; else null),
    `id_expected_check` (the right check character), `id_birth`, `id_sex`, `id_region`,
    `id_region_known`, `id_age`.

    An ID is read as a spreadsheet number when the loader saw a number cell (`<raw>_cell` =
    "number"), when it is written in scientific notation, when it is 18 digits ending in 000
    that fail the check, or when its whole column (per `source_file`) looks printed from
    numbers (`numeric_column`).

    Most IDs of a file whose column was typed are plain (`_plain`: 18 characters, no
    placeholder, not ending in 000, not a number cell): none of that can apply to them, and
    their columns are made in a few passes (`_plain_columns`); the whole reading (`_read_ids`)
    is done on the other rows only and put in their places.
    """
    p = prefix
    # per file; a frame of one file is one group (no window over a million rows)
    group = pl.col("source_file") if "source_file" in frame.columns and not _one_value(frame["source_file"]) else None
    clean, form18 = _cleaned(frame[raw])
    frame = frame.with_columns(clean.alias(f"{p}id_clean"))
    # one file: whether its column was held as numbers is one answer, found once
    numbers = numeric_file(clean, form18) if group is None else None
    if numbers is not False:  # numbers (or several files): every row is read as it may be one
        return _read_ids(frame, raw, reference_date, p, group, numbers)
    plain = frame.select(_plain(pl.col(f"{p}id_clean"), raw, f"{raw}_cell" in frame.columns, form18)).to_series()
    made = _plain_columns(frame[f"{p}id_clean"], reference_date, p)
    rest = (~plain).arg_true()
    if rest.len():  # put the whole reading of the other rows in their places (one scatter a column)
        read = _read_rest(frame, rest, raw, reference_date, p, made)
        made = [column.scatter(rest, read[column.name].cast(column.dtype)) for column in made]
    return frame.with_columns(made)


# Up to this many IDs that are not plain, a typed column's are read value by value (`idfew`).
FEW = 500


def _read_rest(frame: pl.DataFrame, rest: pl.Series, raw: str, reference_date: date, p: str,
               made: list[pl.Series]) -> pl.DataFrame:
    """The whole reading of the rows `rest` of `frame` (a typed column's IDs that are not
    plain): value by value when they are few (`idfew.read_few`), else by `_read_ids`."""
    if rest.len() <= FEW:
        from fanpin_cli.idfew import read_few

        cells = f"{raw}_cell" in frame.columns
        columns = read_few(frame[f"{p}id_clean"].gather(rest).to_list(),
                           frame[raw].cast(pl.String).gather(rest).to_list(),
                           frame[f"{raw}_cell"].gather(rest).to_list() if cells else None, reference_date)
        if columns is not None:
            return pl.DataFrame({f"{p}{name}": values for name, values in columns.items()},
                                schema={column.name: column.dtype for column in made})
    return _read_ids(frame[rest], raw, reference_date, p, None, False)


def _plain(clean: pl.Expr, raw: str, has_cell: bool, form18: pl.Series | None = None) -> pl.Expr:
    """True for an ID that no spreadsheet-number reading can apply to, in a file whose column
    was typed (`numeric_file` no): 18 characters of the right form, no placeholder, not ending
    in 000 (the trailing zeros of a number), not from a number cell (null: False). `form18`:
    the form, if known (`_cleaned`)."""
    plain = (
        (clean.str.contains(_FORM18) if form18 is None else pl.lit(form18))
        & ~clean.str.starts_with("999999") & ~clean.str.ends_with("000") & ~clean.str.contains(_REPEATED)
    )
    if has_cell:
        plain = plain & (pl.col(f"{raw}_cell") != "number")
    return plain.fill_null(False)


def _plain_columns(clean: pl.Series, reference_date: date, p: str) -> list[pl.Series]:
    """The columns after `id_clean` that `_read_ids` makes for a plain ID (`_plain`), made on
    every row of `clean` (the other rows are given theirs by `_read_ids`): its 18 characters
    are its digits, all known, read as they are written (no number range).

    >>> [s.to_list() for s in _plain_columns(pl.Series(["43312719900101123X"]), date(2026, 11, 30), "")][3:]
    [['8'], ['bad_checksum'], ['43312719900101123X'], [None], [datetime.date(1990, 1, 1)], [36], ['男'], ['433127'], [True]]
    """
    c = pl.col(f"{p}id_clean")
    # Each used several times: made once. A plain ID's first 17 characters are digits (the other
    # rows are read again, `_read_rest`): they are cast without being matched first, and the age
    # is reckoned from the birth date's digits (`age_at` reads a date's parts, ~10x the time).
    first = clean.to_frame(f"{p}id_clean").with_columns(
        c.str.slice(0, 17).cast(pl.Int64, strict=False).alias("d17"),
        c.str.slice(6, 8).str.to_date("%Y%m%d", strict=False).alias("born"),
        c.str.slice(6, 8).cast(pl.Int32, strict=False).alias("ymd"),
    )
    first = first.with_columns(check_chars(first["d17"]).alias(f"{p}id_expected_check"),
                               _plausible_birth(pl.col("born"), reference_date).alias("born"))
    born = pl.col("born")
    first = first.with_columns(c.str.ends_with(pl.col(f"{p}id_expected_check")).alias("check_ok"))
    check_ok = pl.col("check_ok")
    valid = check_ok & born.is_not_null()
    return first.select(
        pl.lit(None, dtype=pl.Int64).alias(f"{p}id_lo"),
        pl.lit(None, dtype=pl.Int64).alias(f"{p}id_hi"),
        pl.lit(18, dtype=pl.Int64).alias(f"{p}id_known"),
        pl.col(f"{p}id_expected_check"),
        pl.when(valid).then(pl.lit("valid")).when(check_ok).then(pl.lit("bad_birthdate"))
        .otherwise(pl.lit("bad_checksum")).alias(f"{p}id_status"),
        c.alias(f"{p}id_digits"),
        pl.when(valid).then(c).alias(f"{p}id18"),
        born.alias(f"{p}id_birth"),
        _age_of_digits(pl.col("ymd"), born, reference_date).alias(f"{p}id_age"),
        pl.when(pl.col("d17") % 2 == 1).then(pl.lit("男")).when(pl.col("d17").is_not_null())
        .then(pl.lit("女")).alias(f"{p}id_sex"),  # = sex_from_digits: the 17th digit's parity
        c.str.slice(0, 6).alias(f"{p}id_region"),
        c.str.slice(0, 6).is_in(known_region()).alias(f"{p}id_region_known"),
    ).get_columns()


def _age_of_digits(ymd: pl.Expr, born: pl.Expr, reference_date: date) -> pl.Expr:
    """`age_at(born, reference_date)` where `born` is the date the number `ymd` (YYYYMMDD, Int32)
    writes, or null.

    >>> f = pl.DataFrame({"ymd": [19901130, 19901201, 19900101]}, schema={"ymd": pl.Int32})
    >>> f.select(_age_of_digits(pl.col("ymd"), pl.col("ymd").cast(pl.String).str.to_date("%Y%m%d"),
    ...                         date(2026, 11, 30))).to_series().to_list()
    [36, 35, 36]
    """
    birthday_ahead = (ymd % 10_000 > reference_date.month * 100 + reference_date.day).cast(pl.Int32)
    return pl.when(born.is_not_null()).then(pl.lit(reference_date.year, dtype=pl.Int32) - ymd // 10_000
                                            - birthday_ahead).cast(pl.Int32)


# Up to this many rows `_read_ids` makes the columns that matter on few rows on every row (and
# keeps them where they apply) instead of taking those rows out and back (`rows.on_rows`): four
# polars calls each, most of the reading's time on the few odd IDs of a typed column.
EVERY_ROW = 5_000


def _read_ids(
    frame: pl.DataFrame, raw: str, reference_date: date, p: str, group: pl.Expr | None, numbers: bool | None,
    *, every_row: bool | None = None,
) -> pl.DataFrame:
    """The whole reading of `with_id_columns` on `frame` (which has `id_clean`): `numbers` is
    the file's `numeric_file` answer (None: per `group`, `numeric_column`). `every_row`: the
    columns that matter on few rows made on every row (default: up to `EVERY_ROW` rows); the
    same reading either way (each reads its own row only, and is null where it does not apply)."""
    if every_row is None:
        every_row = frame.height <= EVERY_ROW

    def on(frame: pl.DataFrame, mask: pl.Expr, compute: dict[str, pl.Expr]) -> pl.DataFrame:
        """`rows.on_rows(frame, mask, compute)`; with `every_row` in one call: made on every
        row, kept where `mask` holds (a column `frame` has keeps its own values elsewhere)."""
        if not every_row:
            return on_rows(frame, mask, compute)
        return frame.with_columns(
            pl.when(mask).then(expr).otherwise(pl.col(name) if name in frame.columns else None).alias(name)
            for name, expr in compute.items()
        )

    c = pl.col(f"{p}id_clean")
    first17 = pl.col(f"{p}_first17")
    expected = pl.col(f"{p}id_expected_check")
    form = pl.col(f"{p}_form")
    # What the loader knows of the ID cell (`<raw>_cell`): "number" (a spreadsheet number cell),
    # "text", or absent/"unknown" (CSV).
    has_cell = f"{raw}_cell" in frame.columns
    number_cell = (pl.col(f"{raw}_cell") == "number").fill_null(False) if has_cell else pl.lit(False)
    frame = frame.with_columns(
        pl.when(c.is_null())
        .then(pl.lit("missing"))
        .when(c.str.starts_with("999999") | c.str.contains(f"{_REPEATED}|{_NUMBER_PLACEHOLDER}"))
        .then(pl.lit("placeholder"))
        .when(c.str.contains(_SCI))
        .then(pl.lit("sci"))
        .when(c.str.contains(r"^[0-9]{17}[0-9X]$"))
        .then(pl.lit("18"))
        .when(c.str.contains(r"^[0-9]{15}$"))
        .then(pl.lit("15"))
        .otherwise(pl.lit("other"))
        .alias(f"{p}_form"),
        (numeric_column(c, group) if group is not None else pl.lit(numbers)).alias(f"{p}_numcol"),
        c.str.slice(0, 17).alias(f"{p}_first17"),
    )
    # Expressions used several times below are materialized first: polars would evaluate an
    # inlined one again at every use (check_char_of_int reads its value 18 times). Those that
    # are null on most rows are computed only on the rows where they can be non-null
    # (`rows.on_rows`): scientific notation, and the check of 18 digits ending in 000.
    frame = on(frame, c.str.contains(_SCI), {
        f"{p}_sci": sci_digits(c),
        f"{p}_exp": c.str.extract(_SCI, 3).cast(pl.Int64, strict=False),
    })
    frame = on(frame, (form == "18") & c.str.ends_with("000"), {f"{p}_d17": digits17(first17)})
    if every_row:  # in numpy: null where there are no 17 digits, as `on` leaves it
        frame = frame.with_columns(check_chars(frame[f"{p}_d17"]).alias(f"{p}_check18"))
    else:
        frame = on(frame, pl.col(f"{p}_d17").is_not_null(), {f"{p}_check18": check_char_of_int(pl.col(f"{p}_d17"))})
    check_ok = c.str.slice(17, 1) == pl.col(f"{p}_check18")  # null where not computed: only 000 rows ask
    is18 = (form == "18") & c.str.contains(r"^[0-9]{18}$")
    # The value a spreadsheet number shows, with its significant digits (null: not a number).
    sci_value = pl.col(f"{p}_sci").cast(pl.Int64, strict=False)
    typed = (c.str.ends_with("000") & ~check_ok)
    if numbers is not False:  # (False & anything is False: a typed column needs no number test)
        typed = typed | (pl.col(f"{p}_numcol") & _number_like(c))
    as_number = is18 & (number_cell | typed if has_cell else typed).fill_null(False)
    # A 20-digit 残疾人证号 (ID + category + grade) held as a number: the ID is its first 18
    # digits; the last two, and the precision of a double that large, are gone.
    exponent = pl.col(f"{p}_exp")
    raw_text = pl.col(raw).cast(pl.String).str.strip_chars()
    if has_cell:
        cert_long = number_cell & raw_text.str.contains(r"^[0-9]{19,20}(\.0+)?$").fill_null(False)
        frame = frame.with_columns(cert_long.alias(f"{p}_cert_long"))
    else:  # no number cells: a CSV
        frame = frame.with_columns(pl.lit(False).alias(f"{p}_cert_long"))
    cert_long = pl.col(f"{p}_cert_long")
    frame = frame.with_columns(
        pl.when((exponent == 17).fill_null(False))
        .then(sci_value)
        .when((exponent == 19).fill_null(False))
        .then(pl.col(f"{p}_sci").str.slice(0, 18).cast(pl.Int64, strict=False))
        .when(cert_long)
        .then(raw_text.str.slice(0, 18).cast(pl.Int64, strict=False))
        .when(as_number)
        .then(c.cast(pl.Int64, strict=False))
        .alias(f"{p}_shown"),
    )
    written = nearest_thousand_image(pl.col(f"{p}_shown"))
    frame = frame.with_columns(
        # a number of zero or below (a cell "0E+17") has no digits to read: it is no ID's image
        pl.when(~form.is_in(["missing", "placeholder"]) & (written > 0)).then(written).alias(f"{p}_written"),
        ((exponent == 19).fill_null(False) | cert_long).alias(f"{p}_cert"),
    )
    w = pl.col(f"{p}_written")
    # The rest of a spreadsheet number's reading (null without one), on its rows only.
    sig = pl.col(f"{p}_sig")
    precision = pl.when(w.is_null()).then(None).when(sig >= 10).then(pl.max_horizontal(sig, pl.lit(15))).otherwise(sig)
    precision = pl.when(pl.col(f"{p}_cert")).then(pl.min_horizontal(precision, pl.lit(16))).otherwise(precision)
    lo, hi = number_range(w, pl.col(f"{p}_precision"))

    def number_reading(number: pl.DataFrame) -> pl.DataFrame:
        # A program that writes ten or more digits writes all a spreadsheet holds (15 significant,
        # LibreOffice drops trailing zeros: 4.3312719791006E+017): fewer are a display format's.
        number = number.with_columns(significant_digits(w).alias(f"{p}_sig"))
        number = number.with_columns(precision.alias(f"{p}_precision"))
        number = number.with_columns(lo.alias(f"{p}id_lo"), hi.alias(f"{p}id_hi"))
        return number.select(
            f"{p}_precision", f"{p}id_lo", f"{p}id_hi",
            common_prefix(pl.col(f"{p}id_lo"), pl.col(f"{p}id_hi")).alias(f"{p}_prefix"),
        )

    if every_row:  # number_reading's columns, each null where there is no number (as on_rows leaves them);
        # its two sums of digit tests in numpy (`significant_digits_of`, `common_prefix_of`)
        has = w.is_not_null()
        frame = frame.with_columns(significant_digits_of(frame[f"{p}_written"]).alias(f"{p}_sig"))
        frame = frame.with_columns(pl.when(has).then(precision).alias(f"{p}_precision"))
        frame = frame.with_columns(pl.when(has).then(lo).alias(f"{p}id_lo"), pl.when(has).then(hi).alias(f"{p}id_hi"))
        frame = frame.with_columns(
            pl.when(has).then(common_prefix_of(frame[f"{p}id_lo"], frame[f"{p}id_hi"])).alias(f"{p}_prefix"),
        ).drop(f"{p}_sig")
    else:
        frame = on_rows(frame, w.is_not_null(), number_reading)
    frame = frame.with_columns(
        pl.when(w.is_not_null())
        .then(w.cast(pl.String).str.zfill(18))
        .when(form == "18")
        .then(c)
        .alias(f"{p}_digits"),
        pl.when(w.is_not_null())
        .then(pl.col(f"{p}_prefix"))
        .when(form.is_in(["18", "15"]))
        .then(pl.lit(18, dtype=pl.Int64))
        .when(form == "sci")
        .then(pl.lit(0, dtype=pl.Int64))
        .alias(f"{p}id_known"),
    )
    # a 15-digit ID's upgraded digits, made on its rows only (a branch is computed on every row)
    frame = on(frame, w.is_null() & (form == "15"), {f"{p}_digits": first17_15(c)})
    digits = pl.col(f"{p}_digits")
    frame = frame.with_columns(
        digits17(digits.str.slice(0, 17)).alias(f"{p}_d17"),
        digits.str.slice(6, 8).str.to_date("%Y%m%d", strict=False).alias(f"{p}_birth"),
    )
    frame = frame.with_columns(  # = birth_from_digits(digits), the date parsed once
        check_chars(frame[f"{p}_d17"]).alias(f"{p}id_expected_check"),
        _plausible_birth(pl.col(f"{p}_birth"), reference_date).alias(f"{p}_birth"),
    )
    born_ok = pl.col(f"{p}_birth").is_not_null()
    check_ok = c.str.ends_with(expected)  # (= its 18th character, where it is read: 18 characters)
    # A spreadsheet number is named by how many digits survived: fewer than 15 (a display
    # format's scientific notation), 15 (what a spreadsheet keeps), more (a double's digits).
    kept = pl.col(f"{p}_precision")
    status = (
        pl.when(form.is_in(["missing", "placeholder"]))
        .then(form)
        .when((form == "sci") & (kept.is_null() | (kept < 15)))
        .then(pl.lit("excel_sci"))
        .when(kept == 15)
        .then(pl.lit("excel_000"))
        .when(kept > 15)
        .then(pl.lit("excel_float"))
        .when((form == "18") & check_ok & born_ok)
        .then(pl.lit("valid"))
        .when((form == "18") & check_ok)
        .then(pl.lit("bad_birthdate"))
        .when(form == "18")
        .then(pl.lit("bad_checksum"))
        .when((form == "15") & born_ok)
        .then(pl.lit("legacy_15"))
        .when(form == "15")
        .then(pl.lit("bad_birthdate"))
        .otherwise(pl.lit("bad_format"))
    )
    frame = on(frame.with_columns(status.alias(f"{p}id_status"), digits.alias(f"{p}id_digits")), form == "15",
               {f"{p}id_digits": first17_15(c) + expected})
    st = pl.col(f"{p}id_status")
    known = pl.col(f"{p}id_known")
    out_digits = pl.col(f"{p}id_digits")
    birth = pl.when(known >= 14).then(pl.col(f"{p}_birth"))
    return frame.with_columns(
        pl.when(st.is_in(USABLE_STATUSES)).then(out_digits).alias(f"{p}id18"),
        birth.alias(f"{p}id_birth"),
        age_at(birth, reference_date).alias(f"{p}id_age"),
        pl.when(known >= 17).then(sex_from_digits(out_digits)).alias(f"{p}id_sex"),
        pl.when(known >= 6).then(out_digits.str.slice(0, 6)).alias(f"{p}id_region"),
        pl.when(known >= 6)
        .then(out_digits.str.slice(0, 6).is_in(known_region()))
        .alias(f"{p}id_region_known"),
    ).drop(f"{p}_form", f"{p}_first17", f"{p}_birth", f"{p}_check18", f"{p}_numcol", f"{p}_written",
           f"{p}_precision", f"{p}_digits", f"{p}_cert", f"{p}_d17", f"{p}_sci", f"{p}_exp", f"{p}_shown",
           f"{p}_cert_long", f"{p}_prefix")


def first17_15(clean: pl.Expr) -> pl.Expr:
    """The 17 leading digits of a 15-digit legacy ID upgraded to 18 (`19` before the year)."""
    return clean.str.slice(0, 6) + pl.lit("19") + clean.str.slice(6, 9)
