"""Polars expressions shared by the rule kinds: normalized values, filters, windows, amounts.

>>> import polars as pl
>>> f = pl.DataFrame({"renovation": [" 已改造", "改造中", None]})
>>> from fanpin_cli.flagging.model import Condition
>>> c = Condition(field="renovation", op="not_in", values=("已改造",))
>>> f.select(condition_expr(c, {}, f.columns)).to_series().to_list()
[False, True, True]
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import polars as pl

from fanpin_cli.fields import FIELD_TITLES
from fanpin_cli.flagging.model import Condition, ParamRef, Window
from fanpin_cli.values import (
    date_values,
    dates_of,
    parse_amount,
    parse_date,
    parsed_date_name,
    per_value,
)

_INVISIBLE = r"[\s\u00a0\u3000\u200b\u200c\u200d\u2060\ufeff]"
EMPTY_SHOWN = "（空）"


def norm(expr: pl.Expr) -> pl.Expr:
    """Comparison form of a text cell (see `model.norm_value`); null → ""."""
    return (
        expr.cast(pl.String)
        .str.normalize("NFKC")
        .str.replace_all(_INVISIBLE, "")
        .str.to_uppercase()
        .fill_null("")
    )


# Rule fields that name one of the engine's own columns.
_SPECIAL = {"age": "_age", "id_shared": "_id_shared"}


def column(name: str, columns: list[str] | tuple[str, ...]) -> pl.Expr:
    """`pl.col(name)`, or a null text column when the file has no such field."""
    if name in _SPECIAL:
        return pl.col(_SPECIAL[name])
    return pl.col(name) if name in columns else pl.lit(None, dtype=pl.String)


def resolve(value, params: dict) -> float | int:
    return params[value.name] if isinstance(value, ParamRef) else value


def _text_test(cond: Condition) -> Callable[[pl.Expr], pl.Expr]:
    """The test an `in` / `not_in` / `empty` condition makes of a text cell (null: "")."""
    if cond.op == "in":
        return lambda col: norm(col).is_in(list(cond.values))
    if cond.op == "not_in":
        return lambda col: ~norm(col).is_in(list(cond.values))
    return lambda col: (norm(col) == "") if cond.empty else (norm(col) != "")


def _per_distinct(frame: pl.DataFrame, name: str, test: Callable[[pl.Expr], pl.Expr]) -> pl.Expr | None:
    """`test` of column `name` worked out once per distinct value and looked up (a category
    column holds a handful: the per-row NFKC of `norm` was a sixth of the rules' time), or None
    when the column has so many distinct values that this would not save work."""
    if name not in frame.columns or frame.height < 1000 or frame.get_column(name).n_unique() * 4 > frame.height:
        return None
    on_null = pl.select(test(pl.lit(None, dtype=pl.String))).item()
    return per_value(frame, name, test(pl.col(name).cast(pl.String)), pl.Boolean).fill_null(on_null)


def condition_expr(cond: Condition, params: dict, columns: list[str] | pl.DataFrame) -> pl.Expr:
    """Boolean expression (never null) for one condition. Given the frame itself (not only its
    column names), text conditions are worked out once per distinct value of their column.

    >>> f = pl.DataFrame({"s": ["参保缴费", " 参保缴费", "暂停", None] * 300})
    >>> c = Condition(field="s", op="in", values=("参保缴费",))
    >>> looked_up = f.select(condition_expr(c, {}, f)).to_series()
    >>> looked_up[:4].to_list()
    [True, True, False, False]
    >>> looked_up.equals(f.select(condition_expr(c, {}, f.columns)).to_series())
    True
    """
    frame = columns if isinstance(columns, pl.DataFrame) else None
    columns = frame.columns if frame is not None else columns
    if cond.any_of:
        return pl.any_horizontal([condition_expr(c, params, frame if frame is not None else columns)
                                  for c in cond.any_of])
    col = column(cond.field, columns)
    if cond.op in ("in", "not_in", "empty"):
        test = _text_test(cond)
        name = _SPECIAL.get(cond.field, cond.field)
        looked_up = _per_distinct(frame, name, test) if frame is not None else None
        return looked_up if looked_up is not None else test(col)
    number = col.cast(pl.Float64) if cond.field == "age" else parse_amount(col)
    bound = float(resolve(cond.number, params))
    compare = {
        "lt": number < bound,
        "le": number <= bound,
        "gt": number > bound,
        "ge": number >= bound,
    }[cond.op]
    return compare.fill_null(False)


def all_conditions(conds, params: dict, columns: list[str] | pl.DataFrame) -> pl.Expr:
    """Every condition of `conds` (see `condition_expr`; pass the frame itself when there is one)."""
    if not conds:
        return pl.lit(True)
    return pl.all_horizontal([condition_expr(c, params, columns) for c in conds])


def keep(frame: pl.DataFrame, mask: pl.Expr) -> pl.DataFrame:
    """`frame.filter(mask)`, the mask computed first by a select: there polars evaluates a
    subexpression used several times once (a date parsed for both window bounds), which a
    filter predicate does not — half the time on a large sector.

    >>> f = pl.DataFrame({"d": ["2026-01-05", "2025-01-05", None]})
    >>> keep(f, window_expr(Window("d", 30), {}, ["d"], date(2026, 1, 31)))["d"].to_list()
    ['2026-01-05']
    """
    return kept(frame, mask).collect(engine="in-memory")


def kept(frame: pl.DataFrame | pl.LazyFrame, mask: pl.Expr) -> pl.LazyFrame:
    """`keep` as a step of a lazy query (a rule kind's): the rows of `frame` where `mask` holds,
    the mask computed as a column first (its repeated subexpressions once, see `keep`).

    >>> f = pl.DataFrame({"a": [1, 2, 3]})
    >>> kept(f, pl.col("a") > 1).collect()["a"].to_list()
    [2, 3]
    """
    return frame.lazy().with_columns(mask.alias("__keep")).filter(pl.col("__keep")).drop("__keep")


def window_bounds(window: Window, params: dict, reference_date: date) -> tuple[date, date]:
    """(first day inside, last day inside): rows dated in (R − days, R]."""
    days = int(resolve(window.days, params))
    return reference_date - timedelta(days=days - 1), reference_date


def window_expr(window: Window | None, params: dict, columns: list[str], reference_date: date) -> pl.Expr:
    if window is None:
        return pl.lit(True)
    first, last = window_bounds(window, params, reference_date)
    when = parse_date(column(window.date, columns))
    return ((when >= pl.lit(first)) & (when <= pl.lit(last))).fill_null(False)


def window_mask(frame: pl.DataFrame, window: Window | None, params: dict, reference_date: date) -> pl.Series:
    """`window_expr` evaluated on `frame`, each distinct date text parsed once (claims repeat
    their settlement days; the time of day is dropped first).

    >>> f = pl.DataFrame({"d": ["2026-01-05 08:00", "2026-01-05 09:30", "2025-01-05", None]})
    >>> window_mask(f, Window("d", 30), {}, date(2026, 1, 31)).to_list()
    [True, True, False, False]
    """
    if window is None:
        return pl.Series("w", [True] * frame.height, dtype=pl.Boolean)
    if frame.height == 0:
        return pl.Series("w", [], dtype=pl.Boolean)
    first, last = window_bounds(window, params, reference_date)
    if parsed_date_name(window.date) in frame.columns:  # parsed once by `prepare`
        when = date_values(frame, window.date)
    else:  # with_columns, not select: a missing date column (a null literal) stays one value per row
        when = dates_of(frame.with_columns(column(window.date, frame.columns).cast(pl.String).alias("__t"))["__t"])
    return ((when >= first) & (when <= last)).fill_null(False)


def money(expr: pl.Expr) -> pl.Expr:
    """`12,480.50` from a number (two decimals, thousands separators)."""
    cents = (expr.cast(pl.Float64) * 100).round(0).cast(pl.Int64)
    whole = (
        (cents.abs() // 100)
        .cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "$1,")
        .str.reverse()
        .str.strip_chars_start(",")
    )
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return sign + whole + pl.lit(".") + (cents.abs() % 100).cast(pl.String).str.zfill(2)


def param_text(value: float | int) -> str:
    """`9,342` / `6,900` / `0.5`: how a threshold is written in a detail."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def item_expr(show: list[str], columns: list[str], *, with_name: bool = False) -> pl.Expr:
    """One evidence item: `[张三：]医保_结算.csv 第5行，个人自付：3,200.00`."""
    parts: list[pl.Expr] = []
    if with_name:
        parts += [pl.col("_person_name").fill_null(EMPTY_SHOWN), pl.lit("：")]
    parts += [
        pl.col("source_file").cast(pl.String).fill_null(""),
        pl.lit(" 第"),
        pl.col("source_row").cast(pl.String).fill_null("?"),
        pl.lit("行"),
    ]
    for f in show:
        value = column(f, columns).cast(pl.String).fill_null(EMPTY_SHOWN)
        parts += [pl.lit("，" + FIELD_TITLES.get(f, f) + "："), value]
    return pl.concat_str(parts)


def joined_items(items: pl.Expr, limit: int = 5) -> pl.Expr:
    """Aggregation: the first `limit` items joined by `；`, then `等N条`."""
    n = items.len()
    head = items.head(limit).str.join("；")
    return pl.when(n > limit).then(head + pl.lit("；等") + n.cast(pl.String) + pl.lit("条")).otherwise(head)
