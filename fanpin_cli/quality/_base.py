"""Building quality-issue rows from a frame, a boolean mask and a message expression."""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin_cli.fields import FIELD_TITLES
from fanpin_cli.idnum import age_at
from fanpin_cli.tables import columns_of

from .catalogue import CHECK_INDEX, ISSUE_COLUMNS

ISSUE_SCHEMA: dict[str, pl.DataType] = {
    "source_file": pl.String, "source_row": pl.Int64, "column": pl.String, "field": pl.String,
    "check_id": pl.String, "dimension": pl.String, "severity": pl.String, "message": pl.String,
    "household_id": pl.String, "township": pl.String, "village": pl.String,
}
CONTEXT = ("household_id", "township", "village")


def empty_issues() -> pl.DataFrame:
    """A quality-issue frame with no rows."""
    return pl.DataFrame(schema=ISSUE_SCHEMA)


def col_or_null(frame: pl.DataFrame | pl.LazyFrame | list[str], name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
    """`pl.col(name)` if the frame has it (or `frame` is a list of column names holding it),
    else a typed null.

    >>> col_or_null(["a"], "a").meta.output_name(), col_or_null(["a"], "b", pl.Int64).meta.output_name()
    ('a', 'literal')
    """
    names = frame if isinstance(frame, list) else columns_of(frame)
    return pl.col(name) if name in names else pl.lit(None, dtype=dtype)


def heading(headings: dict[str, str] | None, field: str) -> str:
    """The file's own heading for a canonical field (Chinese title if unknown)."""
    return (headings or {}).get(field) or FIELD_TITLES.get(field, field)


def issues(
    frame: pl.DataFrame | pl.LazyFrame,
    mask: pl.Expr,
    check_id: str,
    field: str,
    message: pl.Expr | str,
    headings: dict[str, str] | None = None,
    *,
    within: pl.Expr | None = None,
    whole: dict[str, pl.Expr] | None = None,
) -> pl.LazyFrame:
    """One issue row per row of `frame` where `mask` is true (null counts as false).

    `message` is worked out on the issue rows only: a window (`over`) in it would see only the
    other issue rows of its group. What a message needs from the whole file (the household's
    member count, the head's birth year, a repeat's first row) goes in `whole`: columns made
    before the rows are filtered, read by name in `message`.

    `within`: a cheap condition that every row `mask` is true on also meets; the rows outside
    it are dropped before the costly `mask` is worked out (an ID's birth date parsed only on
    the few IDs that failed their check). A window (`over`) in `mask` then sees only these rows:
    `within` must keep every row of each group it looks at.

    >>> f = pl.DataFrame({"source_row": [2, 3, 4], "id18": ["1", "2", "1"]})
    >>> repeat = pl.col("source_row") != pl.col("source_row").min().over("id18")
    >>> issues(f, repeat, "EXTRACT_DUPLICATE", "id_number", "重复",
    ...        within=pl.col("id18").is_duplicated()).collect()["source_row"].to_list()
    [4]
    >>> first = pl.col("source_row").min().over("id18")
    >>> issues(f, repeat, "EXTRACT_DUPLICATE", "id_number", pl.format("与第{}行重复", pl.col("__first")),
    ...        whole={"__first": first}).collect()["message"].to_list()
    ['与第2行重复']
    """
    spec = CHECK_INDEX[check_id]
    # the columns named once (a LazyFrame's schema is built anew at each asking)
    names = columns_of(frame)
    lf = frame.lazy()
    if within is not None:
        lf = lf.filter(within.fill_null(False))
    msg = pl.lit(message) if isinstance(message, str) else message
    # The mask as a column first: a select shares the subexpressions a mask repeats (a date
    # parsed for two comparisons), a filter predicate evaluates each use.
    made = [mask.fill_null(False).alias("__mask"), *(expr.alias(name) for name, expr in (whole or {}).items())]
    return lf.with_columns(made).filter(pl.col("__mask")).select(
        col_or_null(names, "source_file").cast(pl.String).alias("source_file"),
        col_or_null(names, "source_row", pl.Int64).cast(pl.Int64).alias("source_row"),
        pl.lit(heading(headings, field)).alias("column"),
        pl.lit(field).alias("field"),
        pl.lit(check_id).alias("check_id"),
        pl.lit(spec.dimension).alias("dimension"),
        pl.lit(spec.severity).alias("severity"),
        msg.cast(pl.String).alias("message"),
        *[col_or_null(names, c).cast(pl.String).alias(c) for c in CONTEXT],
    )


def collect(parts: list[pl.LazyFrame]) -> pl.DataFrame:
    """Concatenate issue parts, sorted by file and row (stable: check order within a row)."""
    if not parts:
        return empty_issues()
    frames = [f for f in pl.collect_all([part.select(ISSUE_COLUMNS) for part in parts]) if f.height]
    out = pl.concat(frames, how="vertical") if frames else empty_issues()
    return (out.lazy().cast(ISSUE_SCHEMA).sort(["source_file", "source_row"], nulls_last=True, maintain_order=True)
            .collect(engine="in-memory"))


def person_age(frame: pl.DataFrame, reference_date: date) -> pl.Expr:
    """Age in 周岁 from the ID's birth date, else the 出生日期 column."""
    born = pl.coalesce(col_or_null(frame, "id_birth", pl.Date), col_or_null(frame, "birth", pl.Date))
    return age_at(born, reference_date)


def fmt_date(expr: pl.Expr) -> pl.Expr:
    return expr.dt.strftime("%Y-%m-%d")
