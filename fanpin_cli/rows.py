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

from fanpin_cli.tables import C

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
    # with_columns, not select: a literal is one value per chosen row (a select of only
    # literals gives one row whatever the number of rows). Lazily: only the columns the
    # expressions read are filtered (a prepared frame has dozens; 2-3x less CPU on 1M rows).
    if isinstance(compute, Mapping):
        made = frame.lazy().filter(pl.lit(chosen)).with_columns(**compute).select(list(compute)).collect()
    else:
        made = compute(frame.filter(chosen))
    if chosen.all():
        return frame.with_columns(made)
    if made.height == 0:  # no row chosen: the columns it has keep their values, new ones are null
        return frame.with_columns([pl.lit(None, dtype=v.dtype).alias(n) for n, v in made.to_dict().items()
                                   if n not in frame.columns])
    # The made rows put at their places in one gather (null elsewhere), then merged in one call:
    # a polars call per column cost more than the work on small files. (numpy imported here:
    # `pipeline` imports this module before the run reads its files, numpy only while they are read.)
    import numpy as np

    at = np.full(frame.height, -1, dtype=np.int64)
    at[chosen.arg_true().to_numpy()] = np.arange(made.height, dtype=np.int64)
    where = pl.Series("at", at)
    placed = made.select(pl.all().gather(pl.when(where >= 0).then(where)))
    columns = []
    for name in made.columns:
        new = placed[name]
        if name not in frame.columns:
            columns.append(new)
        elif new.dtype == frame.schema[name]:
            columns.append(pl.when(chosen).then(new).otherwise(pl.col(name)).alias(name))
        else:  # another type: put in place as scatter does it
            columns.append(frame[name].scatter(chosen.arg_true(), made[name]))
    return frame.with_columns(columns)


ROW_KEY = (C.source_file, C.source_row)


def row_keys_of(rows: pl.DataFrame) -> pl.DataFrame:
    """The distinct (`source_file` String, `source_row` Int64) of `rows`: the `keys` of `named_rows`."""
    return rows.select(pl.col(C.source_file).cast(pl.String), pl.col(C.source_row).cast(pl.Int64)).unique()


def named_rows(frame: pl.DataFrame | pl.LazyFrame, keys: pl.DataFrame) -> pl.LazyFrame:
    """The rows of `frame` whose (`source_file`, `source_row`) are among `keys`' (String,
    Int64; unique), in `frame`'s order: the row numbers alone are tested first (integers), the
    pairs only on the rows left — `frame` is long (a county's every row), the rows named few.

    >>> f = pl.DataFrame({"source_file": ["a", "b", "a"], "source_row": [2, 2, 3], "x": [1, 2, 3]})
    >>> named_rows(f, pl.DataFrame({"source_file": ["a"], "source_row": [2]})).collect()["x"].to_list()
    [1]
    """
    numbers = keys[C.source_row].unique().implode()
    return (frame.lazy().filter(pl.col(C.source_row).is_in(numbers))
            .join(keys.lazy(), on=list(ROW_KEY), how="semi", maintain_order="left"))
