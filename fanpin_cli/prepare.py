"""Derive the comparable columns every later stage uses from a loaded frame.

`prepare(frame, reference_date)` adds the decoded ID columns (`idnum.with_id_columns`), the
name keys (`names.with_name_columns`) and `birth` (出生日期 column if there is one, parsed)
and `birth_any` (that, or the birth date inside the ID).

>>> import polars as pl
>>> from datetime import date
>>> f = pl.DataFrame({"name": ["張三"], "id_number": ["433127199001011238"], "birth_date": ["1990/1/1"]})
>>> prepare(f, date(2026, 11, 30)).select("name_norm", "id_status", "birth_any").row(0)
('张三', 'valid', datetime.date(1990, 1, 1))
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin_cli.idnum import with_id_columns
from fanpin_cli.names import with_name_columns
from fanpin_cli.rows import on_rows
from fanpin_cli.values import DATE_FIELDS, dates_of, normalize_codes, parsed_date_name

# 第二代残疾人证号: 18-digit ID + category (1–7) + grade (1–4).
_CERT = r"^[0-9]{17}[0-9X]([1-7])([1-4])$"
DISABILITY_TYPES = {"1": "视力残疾", "2": "听力残疾", "3": "言语残疾", "4": "肢体残疾", "5": "智力残疾",
                    "6": "精神残疾", "7": "多重残疾"}
DISABILITY_GRADES = {"1": "一级", "2": "二级", "3": "三级", "4": "四级"}


def with_certificate_fields(frame: pl.DataFrame) -> pl.DataFrame:
    """Fill 残疾类别/残疾等级 (`disability_type`, `disability_grade`) from a 20-character
    残疾人证号 in the ID column where the file has no such column or leaves the cell empty.

    >>> f = pl.DataFrame({"id_number": ["43312719900101123811"], "disability_grade": [None]})
    >>> with_certificate_fields(f).select("disability_type", "disability_grade").row(0)
    ('视力残疾', '一级')
    """
    if "id_number" not in frame.columns:
        return frame
    # 20 characters of [0-9X] come from at least 20 bytes: a column without such a cell has none
    if not (frame["id_number"].cast(pl.String).str.len_bytes().max() or 0) >= 20:
        return frame
    cert = pl.col("id_number").cast(pl.String).str.replace_all(r"\s", "").str.to_uppercase()
    if "id_number_cell" in frame.columns:  # a number cell lost the last digits: nothing to read
        cert = pl.when(pl.col("id_number_cell") != "number").then(cert)
    # only cells of 20+ bytes can hold one: the rest keep their fields as they are (read on those rows only)
    long = pl.col("id_number").cast(pl.String).str.len_bytes() >= 20
    if not frame.filter(long).select(cert.str.contains(_CERT).any()).item():
        return frame
    derived = {
        "disability_type": cert.str.extract(_CERT, 1).replace_strict(DISABILITY_TYPES, default=None),
        "disability_grade": cert.str.extract(_CERT, 2).replace_strict(DISABILITY_GRADES, default=None),
    }
    # Text columns on every row first, as a coalesce over every row made them (a column of
    # codes read as numbers, or of nulls only, takes the words), then the long cells' words.
    missing = [c for c in derived if c not in frame.columns]
    texts = [pl.lit(None, dtype=pl.String).alias(c) for c in missing]
    texts += [pl.col(c).cast(pl.String) for c in derived if c not in missing and frame.schema[c] != pl.String]
    return on_rows(frame.with_columns(texts), long, {
        c: (expr if c in missing else pl.coalesce(pl.col(c), expr)) for c, expr in derived.items()
    })


# What only linking and the single-file quality checks read of a prepared frame: the ID's raw
# readings and the unfolded name. The pipeline drops them from the evidence the rules, cross
# checks and stock-take share (`pipeline.compute`), so they go once those two stages are done.
LINKING_ONLY: tuple[str, ...] = (
    "id_clean", "id_digits", "id_known", "id_expected_check", "id_region", "id_region_known", "name_norm",
)


def warm_up() -> None:
    """Load what a run's first `prepare` loads on its way: pypinyin's and OpenCC's tables
    (`names.warm_up`), the address codes (`regions.known_region`) and numpy's masked arrays
    (polars looks for them when it makes a Series of a numpy array) — ~80 ms of CPU, made by a
    thread that waits meanwhile (`pipeline._imported_meanwhile`), not inside the roster's
    preparing at the head of the run's longest chain, beside the biggest file's.

    >>> warm_up()
    """
    import numpy.ma  # noqa: F401

    from fanpin_cli.names import warm_up as names_warm_up
    from fanpin_cli.regions import known_region

    names_warm_up()
    known_region()


def prepare(frame: pl.DataFrame, reference_date: date) -> pl.DataFrame:
    """Add id_*, name_*, `birth` and `birth_any` columns (see module docstring), and the
    certificate fields of 残疾人证号 (`with_certificate_fields`). Code fields are rewritten into
    their canonical words first (`values.normalize_codes`: 性别 1/2 → 男/女, 是/否 as 1/0, Y/N, √/×)."""
    frame = normalize_codes(frame)
    if "id_number" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("id_number"))
    if "name" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("name"))
    frame = with_certificate_fields(frame)
    frame = with_id_columns(frame, "id_number", reference_date=reference_date)
    frame = with_name_columns(frame, "name")
    # every date field parsed once here, each distinct text once (`values.dates_of`); the
    # schema, DATE_IN_FUTURE and the rules' windows read the parsed column (`values.date_values`)
    dates = [dates_of(frame.get_column(f).cast(pl.String)).alias(parsed_date_name(f))
             for f in DATE_FIELDS if f in frame.columns]
    if "birth_date" not in frame.columns:
        dates.append(pl.lit(None, dtype=pl.Date).alias("birth"))
    return frame.with_columns(dates).with_columns(
        pl.coalesce(pl.col("birth"), pl.col("id_birth")).alias("birth_any")
    )
