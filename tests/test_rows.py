"""`rows.on_rows` puts what it computes on the chosen rows back in place, whatever the mix of
columns: new ones (null elsewhere), existing ones (kept elsewhere), another type than the
column had, no row chosen, every row chosen, null in the mask."""

from __future__ import annotations

import polars as pl

from fanpin_cli.rows import on_rows


def _scatter_oracle(frame: pl.DataFrame, mask: pl.Series, made: dict[str, pl.Series]) -> pl.DataFrame:
    """The same by hand, a row at a time."""
    rows = frame.to_dicts()
    chosen = [i for i, m in enumerate(mask.to_list()) if m]
    out = []
    for i, row in enumerate(rows):
        row = dict(row)
        for name, values in made.items():
            if i in chosen:
                row[name] = values[chosen.index(i)]
            elif name not in frame.columns:
                row[name] = None
        out.append(row)
    return pl.DataFrame(out, schema={**frame.schema, **{n: v.dtype for n, v in made.items() if n not in frame.columns}})


def test_new_and_existing_columns_on_some_rows():
    f = pl.DataFrame({"a": [1, None, 3, 4, 5], "b": ["x", "y", "z", "w", "v"]})
    mask = pl.Series([True, None, False, True, True])
    out = on_rows(f, mask, {"b": pl.col("b") + "!", "c": pl.col("a") * 2})
    expected = _scatter_oracle(f, mask.fill_null(False), {"b": pl.Series(["x!", "w!", "v!"]), "c": pl.Series([2, 8, 10])})
    assert out.rows() == expected.rows() and out.schema == expected.schema


def test_another_type_than_the_column_had_is_put_in_the_columns_type():
    f = pl.DataFrame({"a": [1, 2, 3]}, schema={"a": pl.Int32})
    out = on_rows(f, pl.col("a") >= 2, {"a": pl.col("a").cast(pl.Int64) * 10})
    assert out["a"].to_list() == [1, 20, 30] and out["a"].dtype == pl.Int32


def test_no_row_and_every_row():
    f = pl.DataFrame({"a": [1, 2]})
    assert on_rows(f, pl.col("a") > 5, {"a": pl.lit(0)}).equals(f)
    none = on_rows(f, pl.col("a") > 5, {"n": pl.col("a").cast(pl.String)})
    assert none["n"].to_list() == [None, None] and none["n"].dtype == pl.String
    assert on_rows(f, pl.col("a") > 0, {"a": pl.col("a") + 1})["a"].to_list() == [2, 3]
    assert on_rows(f, pl.col("a") > 1, lambda part: part.select(b=pl.col("a") - 1))["b"].to_list() == [None, 1]


def test_expressions_see_only_the_chosen_rows_whatever_columns_they_read():
    """The chosen rows are taken out of only the columns the expressions read; an expression
    over every column (a wildcard), a window and a literal still see exactly the chosen rows."""
    frame = pl.DataFrame({"g": ["a", "a", "b", "b", "a"], "x": ["1", "2", "3", "4", "5"], "y": [None, "q", "r", "s", "t"]})
    mask = pl.Series([True, False, True, True, None])
    out = on_rows(frame, mask, {
        "every": pl.concat_str(pl.all(), separator="|", ignore_nulls=True),
        "n": pl.len().over("g"),
        "k": pl.lit("k"),
        "x": pl.col("x") + pl.col("g"),
    })
    made = {
        "every": pl.Series(["a|1", "b|3|r", "b|4|s"]),
        "n": pl.Series([1, 2, 2], dtype=pl.UInt32),
        "k": pl.Series(["k"] * 3),
        "x": pl.Series(["1a", "3b", "4b"]),
    }
    assert out.equals(_scatter_oracle(frame, mask.fill_null(False), made))
