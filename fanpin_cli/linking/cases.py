"""Cases: the levels of a linking tier, each declared once with its condition, score and reason.

Modelled on Splink's comparison levels, which each own their SQL condition, their chart label
and their m/u: a tier lists its `Case`s strongest first, and the first case whose condition
holds decides a candidate pair — its score, whether it may be linked without a person
(`accept`), and the Chinese reason the clerk reads. The list compiles to polars expressions
(one `when/then` chain picks the case, the rest look the case up by its index), so a tier is
evaluated on every pair at once, never row by row in Python.

>>> import polars as pl
>>> cases = (
...     Case("same", pl.col("a") == pl.col("b"), 90.0, accept=True, reason="一致"),
...     Case("near", (pl.col("a") - pl.col("b")).abs() <= 1, 70.0, reason=pl.format("相差{}", pl.col("a") - pl.col("b"))),
...     Case("far", pl.lit(True), None),  # no candidate
... )
>>> f = pl.DataFrame({"a": [1, 2, 5], "b": [1, 1, 1]}).with_columns(case_of(cases))
>>> f.select(score(cases), accepted(cases), reason(cases)).rows()
[(90.0, True, '一致'), (70.0, False, '相差1'), (None, False, None)]
>>> f.select(first(cases, "reason", default="")).to_series().to_list()
['一致', '相差1', None]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

CASE = "case"  # the column `case_of` writes: index of the deciding case, null when none holds


@dataclass(frozen=True)
class Case:
    """One level of a tier: `when` it is the first to hold, the pair scores `score` (None: the
    pair is no candidate at all), may be linked automatically if `accept`, and is explained by
    `reason` (text or an expression over the pair's columns), followed by `note` if any.

    Cases that explain themselves alike share one `reason` (or `note`) object: it is then
    computed once for all of them."""

    name: str
    when: pl.Expr
    score: float | pl.Expr | None
    accept: bool = False
    reason: str | pl.Expr | None = None
    note: str | pl.Expr | None = None


Value = float | str | pl.Expr | None


def _lit(value: Value, dtype: type[pl.DataType]) -> pl.Expr:
    return value if isinstance(value, pl.Expr) else pl.lit(value, dtype=dtype)


_MADE: dict[tuple[int, str, str], tuple[Sequence[Case], pl.Expr]] = {}


def _once(cases: Sequence[Case], what: str, column: str, make: Callable[[], pl.Expr]) -> pl.Expr:
    """The expression `make()` of `cases`, built once per list of cases (a tier's cases are
    constants; each `link()` asked for them again, thousands of Python calls on small files).
    The list itself is kept beside it, so its id is never another list's."""
    key = (id(cases), what, column)
    made = _MADE.get(key)
    if made is None or made[0] is not cases:
        made = _MADE[key] = (cases, make())
    return made[1]


def case_of(cases: Sequence[Case], name: str = CASE) -> pl.Expr:
    """The index of the first case whose condition holds (null conditions do not hold), as `name`."""
    return _once(cases, "case_of", name, lambda: _case_of(cases, name))


def _case_of(cases: Sequence[Case], name: str) -> pl.Expr:
    chain = pl.when(cases[0].when).then(pl.lit(0, dtype=pl.Int16))
    for i, case in enumerate(cases[1:], start=1):
        chain = chain.when(case.when).then(pl.lit(i, dtype=pl.Int16))
    return chain.otherwise(pl.lit(None, dtype=pl.Int16)).alias(name)


def _by_case(values: Sequence[Value], dtype: type[pl.DataType], case: str, default: Value = None) -> pl.Expr:
    """`values[i]` where column `case` is i; a value shared by several cases (the same
    expression object, or an equal constant) is computed once."""
    groups: dict[object, tuple[list[int], Value]] = {}
    for i, value in enumerate(values):
        key = ("expr", id(value)) if isinstance(value, pl.Expr) else ("lit", value)
        groups.setdefault(key, ([], value))[0].append(i)
    chosen = pl.col(case)
    branches = [(idx, value) for idx, value in groups.values() if value is not None]
    if not branches:
        return _lit(default, dtype)
    idx, value = branches[0]
    chain = pl.when(chosen.is_in(idx)).then(_lit(value, dtype))
    for idx, value in branches[1:]:
        chain = chain.when(chosen.is_in(idx)).then(_lit(value, dtype))
    return chain.otherwise(_lit(default, dtype))


def score(cases: Sequence[Case], case: str = CASE) -> pl.Expr:
    """The deciding case's score (Float64; null: no case holds, or the case names no candidate)."""
    return _once(cases, "score", case,
                 lambda: _by_case([c.score for c in cases], pl.Float64, case).cast(pl.Float64).alias("score"))


def scored(pairs: pl.DataFrame, cases: Sequence[Case]) -> pl.DataFrame:
    """`pairs` with the deciding case and its score, keeping only pairs some case scores.

    >>> cases = (Case("near", pl.col("d") <= 1, score=90.0, accept=True, reason="近"),)
    >>> scored(pl.DataFrame({"d": [0, 3]}), cases)["score"].to_list()
    [90.0]
    """
    return pairs.with_columns(case_of(cases)).with_columns(score(cases)).filter(pl.col("score").is_not_null())


def accepted(cases: Sequence[Case], case: str = CASE) -> pl.Expr:
    """True when the deciding case lets the pair be linked without a person."""
    return _once(cases, "accepted", case, lambda: pl.col(case).is_in(
        [i for i, c in enumerate(cases) if c.accept]).fill_null(False).alias("accept"))


def reason(cases: Sequence[Case], case: str = CASE) -> pl.Expr:
    """The deciding case's Chinese reason (null when no case holds)."""
    return _once(cases, "reason", case, lambda: _by_case([c.reason for c in cases], pl.String, case).alias("reason"))


def note(cases: Sequence[Case], case: str = CASE) -> pl.Expr:
    """The deciding case's note ("" when it has none)."""
    return _once(cases, "note", case,
                 lambda: _by_case([c.note for c in cases], pl.String, case, default="").alias("note"))


# From this many rows on, `by_case_rows` computes each case's value on its own rows only.
CASE_ROWS = 20_000


def by_case_rows(frame: pl.DataFrame, cases: Sequence[Case], what: str, case: str = CASE) -> pl.Series:
    """`score(cases)` / `reason(cases)` / `note(cases)` (`what`) of every row of `frame`, which
    has the `case` column. A when/then chain computes every branch on every row (each case's
    formatted reason on a row that another case decides); on a long frame each value is
    computed on the rows of its cases only and put in place — so a case's value must be worked
    out row by row (a window or an aggregation in it would see only that case's rows).

    >>> cases = (Case("a", pl.col("x") > 1, 1.0, reason=pl.format("x={}", pl.col("x"))),
    ...          Case("b", pl.lit(True), 0.0, reason="other"))
    >>> f = pl.DataFrame({"x": list(range(5))}).with_columns(case_of(cases))
    >>> by_case_rows(f, cases, "reason").to_list() == f.select(reason(cases)).to_series().to_list()
    True
    """
    whole = {"score": score, "reason": reason, "note": note}[what](cases, case)
    if frame.height < CASE_ROWS:
        return frame.select(whole).to_series()
    dtype = pl.Float64 if what == "score" else pl.String
    default = "" if what == "note" else None
    codes = frame[case]
    out = pl.Series(what, [default], dtype=dtype).extend_constant(default, frame.height - 1)
    for i, c in enumerate(cases):
        value = getattr(c, what)
        rows = (codes == i).fill_null(False)
        if value is None or not rows.any():
            continue
        made = frame.filter(rows).with_columns(_lit(value, dtype).cast(dtype).alias("_v"))["_v"]
        out = out.scatter(rows.arg_true(), made)
    return out.alias(what)


def firsts_by_distinct(frame: pl.DataFrame, cases: Sequence[Case], whats: dict[str, str],
                       default: Value = None) -> pl.DataFrame:
    """`first(cases, what, default)` of several values at once (`whats`: column name → "score" /
    "reason") on every row of `frame`, each value computed once per distinct combination of the
    deciding case and the columns the values read (their `meta.root_names()`): for long frames
    whose values are formatted texts of a few columns; one table of the distinct combinations
    and one join back.

    >>> cases = (Case("a", pl.col("x") > 1, pl.col("x") * 1.0, reason=pl.format("x={}", pl.col("y"))),
    ...          Case("b", pl.lit(True), 0.0, reason="other"))
    >>> f = pl.DataFrame({"x": [2, 0, 3, 5], "y": ["p", None, "p", None]})
    >>> firsts_by_distinct(f, cases, {"s": "score", "r": "reason"}).rows()
    [(2.0, 'x=p'), (0.0, 'other'), (3.0, 'x=p'), (5.0, None)]
    """
    values = {name: [getattr(c, what) for c in cases] for name, what in whats.items()}
    dtypes = {name: pl.Float64 if what == "score" else pl.String for name, what in whats.items()}
    read = sorted({n for vs in values.values() for v in vs if isinstance(v, pl.Expr) for n in v.meta.root_names()})
    on = [*read, "_case"]
    # Each combination by its 64-bit hash: a table of one row per hash, joined back on that one
    # column; exact where no two combinations share a hash (checked: every row meets its own
    # combination), else on the columns themselves.
    keys = frame.select(*read, case_of(cases, "_case")).with_columns(_combination_hash(on).alias("_h"))
    made = [_by_case(vs, dtypes[name], "_case", default).cast(dtypes[name]).alias(name) for name, vs in values.items()]
    table = keys.unique("_h").with_columns(made)
    joined = keys.join(table.rename({c: f"_t{c}" for c in on}), on="_h", how="left", maintain_order="left")
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"_t{c}")) for c in on).all()
    if joined.select(same).item():
        return joined.select(list(whats))
    table = keys.drop("_h").unique().with_columns(made)
    joined = keys.join(table, on=on, how="left", maintain_order="left", nulls_equal=True)
    return joined.select(list(whats))


def _combination_hash(columns: list[str]) -> pl.Expr:
    """A 64-bit hash of the row's values in `columns` (`firsts_by_distinct`'s table key)."""
    return pl.struct(columns).hash()


def first(cases: Sequence[Case], what: str, default: Value = None) -> pl.Expr:
    """`score` or `reason` of the first case that holds, straight from the conditions (no
    `case` column: for short lists used inside other expressions), else `default`."""
    dtype = pl.Float64 if what == "score" else pl.String
    chain = pl.when(cases[0].when).then(_lit(getattr(cases[0], what), dtype))
    for case in cases[1:]:
        chain = chain.when(case.when).then(_lit(getattr(case, what), dtype))
    return chain.otherwise(_lit(default, dtype))
