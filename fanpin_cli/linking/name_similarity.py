"""Compare Chinese names of candidate pairs in batches.

Names arrive already normalized by `names.py` (`name_key`: NFKC, no spaces or middle dots,
traditional → simplified; `name_pinyin`: toneless pinyin). A pair falls into one category:

- `NAME_SAME` (3): equal `name_key`.
- `NAME_VARIANT` (2): equal pinyin (homophones 晓/小, 丽/莉), or a long minority name
  truncated (one is a prefix of the other, at least 4 characters).
- `NAME_ONE_CHAR` (1): same length, exactly one character substituted (王/玉, 由/田).
- `NAME_DIFFERENT` (0): anything else.
- `NAME_MISSING` (-1): one side has no name.

Edit distances are computed only for pairs the cheap tests leave open, with
`rapidfuzz.process.cpdist` (element-wise, in C).

>>> import polars as pl
>>> f = pl.DataFrame({"a": ["王芳", "张小明", "王芳", None], "b": ["王芳", "张晓明", "玉芳", "李四"],
...                   "pa": ["wangfang", "zhangxiaoming", "wangfang", None],
...                   "pb": ["wangfang", "zhangxiaoming", "yufang", "lisi"]})
>>> name_category(f, "a", "b", "pa", "pb").to_list()
[3, 2, 1, -1]
"""

from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

NAME_MISSING = -1
NAME_DIFFERENT = 0
NAME_ONE_CHAR = 1
NAME_VARIANT = 2
NAME_SAME = 3

TRUNCATED_MIN = 4


# Below this many pairs one thread is faster than starting a pool (the pipeline already links
# two files at once on a 2-core machine).
PARALLEL_PAIRS = 200_000


def _workers(pairs: int) -> int:
    """rapidfuzz threads for `pairs` edit distances: 1 for short lists, every core for long ones.

    >>> _workers(5_000), _workers(1_000_000)
    (1, -1)
    """
    return 1 if pairs < PARALLEL_PAIRS else -1


def name_category(frame: pl.DataFrame, a_key: str, b_key: str, a_pinyin: str, b_pinyin: str) -> pl.Series:
    """The name category (see module docstring) of every row of `frame`, as Int8."""
    a, b = pl.col(a_key), pl.col(b_key)
    shorter = pl.min_horizontal(a.str.len_chars(), b.str.len_chars())
    truncated = (shorter >= TRUNCATED_MIN) & (a.str.starts_with(b) | b.str.starts_with(a))
    cheap = frame.select(
        pl.when(a.is_null() | b.is_null())
        .then(pl.lit(NAME_MISSING))
        .when(a == b)
        .then(pl.lit(NAME_SAME))
        .when((pl.col(a_pinyin) == pl.col(b_pinyin)) | truncated)
        .then(pl.lit(NAME_VARIANT))
        .when(a.str.len_chars() == b.str.len_chars())
        .then(pl.lit(-2))  # open: needs an edit distance
        .otherwise(pl.lit(NAME_DIFFERENT))
        .cast(pl.Int8)
        .alias("cat")
    )["cat"]
    out = cheap.to_numpy().copy()
    open_idx = np.flatnonzero(out == -2)
    if open_idx.size:
        left = frame[a_key].gather(open_idx).to_list()
        right = frame[b_key].gather(open_idx).to_list()
        dist = process.cpdist(left, right, scorer=Levenshtein.distance, workers=_workers(len(left)))
        out[open_idx] = np.where(dist == 1, NAME_ONE_CHAR, NAME_DIFFERENT)
    return pl.Series("name_cat", out, dtype=pl.Int8)


def name_note(cat: pl.Expr, e_name: pl.Expr, r_name: pl.Expr) -> pl.Expr:
    """Chinese words for the name evidence of a pair ("姓名一致", "姓名相差一字（王芳/玉芳）")."""
    return (
        pl.when(cat == NAME_SAME)
        .then(pl.lit("姓名一致"))
        .when(cat == NAME_VARIANT)
        .then(pl.format("姓名同音或异写（{}/{}）", e_name, r_name))
        .when(cat == NAME_ONE_CHAR)
        .then(pl.format("姓名相差一字（{}/{}）", e_name, r_name))
        .when(cat == NAME_MISSING)
        .then(pl.lit("缺少姓名"))
        .otherwise(pl.format("姓名不同（{}/{}）", e_name, r_name))
    )
