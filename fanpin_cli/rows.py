"""Compute on some rows only, put the results back in place.

For columns that matter on few rows but cost time on every row (a spreadsheet number's
reading, a key made from name and birth where there is no ID): the rows are taken out, the
columns made on them, and scattered back into the frame.

>>> import polars as pl
>>> f = pl.DataFrame({"a": [1, None, 3], "b": ["x", "y", "z"]})
>>> on_rows(f, pl.col("a") > 1, {"c": pl.col("a") * 10, "b": pl.lit("big")}).rows()
[(1, 'x', None), (None, 'y', None), (3, 'big', 30)]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

Compute = Mapping[str, pl.Expr] | Callable[[pl.DataFrame], pl.DataFrame]


def on_rows(frame: pl.DataFrame, mask: pl.Expr | pl.Series, compute: Compute) -> pl.DataFrame:
    """`frame` with the columns that `compute` makes from the rows where `mask` holds (null
    counts as False), put back on those rows: a column `frame` already has keeps its values on
    the other rows, a new one is null there.

    `compute` is `{name: expression}` (evaluated on those rows), or a function given those rows
    that returns one row for each of them, in order.

    >>> import polars as pl
    >>> f = pl.DataFrame({"a": [1, 2, 3]})
    >>> on_rows(f, pl.Series([False, True, None]), lambda part: part.select(b=pl.col("a") + 1))["b"].to_list()
    [None, 3, None]
    >>> on_rows(f, pl.col("a") > 5, {"a": pl.lit(0)})["a"].to_list()  # no row: nothing changes
    [1, 2, 3]
    >>> on_rows(f.head(1), pl.col("a") > 5, {"b": pl.lit(7)})["b"].to_list()  # a literal, no row chosen
    [None]
    >>> on_rows(f, pl.col("a") >= 2, {"b": pl.lit(7)})["b"].to_list()
    [None, 7, 7]
    """
    chosen = (frame.select(mask) if isinstance(mask, pl.Expr) else pl.DataFrame([mask])).to_series()
    chosen = chosen.fill_null(False)
    if frame.height and not chosen.any() and isinstance(compute, Mapping) and all(n in frame.columns for n in compute):
        return frame  # no row chosen, no new column: nothing changes (planning a large expression alone costs ms)
    part = frame.filter(chosen)
    # with_columns, not select: a literal is one value per chosen row (a select of only
    # literals gives one row whatever the number of rows)
    made = part.with_columns(**compute).select(list(compute)) if isinstance(compute, Mapping) else compute(part)
    if chosen.all():
        return frame.with_columns(made)
    idx = chosen.arg_true()
    columns = []
    for name, values in made.to_dict().items():
        if name in frame.columns:
            columns.append(frame[name].scatter(idx, values) if made.height else frame[name])
        elif made.height:
            columns.append(pl.Series(name, [], dtype=values.dtype).extend_constant(None, frame.height).scatter(idx, values))
        else:
            columns.append(pl.lit(None, dtype=values.dtype).alias(name))
    return frame.with_columns(columns)
