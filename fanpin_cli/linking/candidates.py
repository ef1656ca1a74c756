"""Candidate pairs (extract row, roster row) by blocking joins; never all pairs.

- ID repair: sub-strings of the ID (`digits.BLOCK_KEYS`) so that one wrong digit or one swap
  leaves a key intact. Two readings that both pass the check join on pinyin plus year, month
  and day, or sequence (`digits.NAME_BLOCK_KEYS`; a spreadsheet number with only 13 certain digits
  on pinyin plus month and the first day digit): they can only ever go to review. A faulty reading on either
  side joins on the key alone (names with one wrong character are still found), over blocks
  of at most `MAX_BLOCK` roster rows.
- Name + birth date: (pinyin, birth date).
- Name only: pinyin, or pinyin + village for very common names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from fanpin_cli.idnum import MAX_RANGE_WIDTH
from fanpin_cli.linking.digits import (
    BLOCK_KEYS,
    D17,
    FALLBACK_KEYS,
    NAME_BLOCK_KEYS,
    d17_expr,
    key_digits,
    key_expr,
    key_needs,
    key_number,
)
from fanpin_cli.linking.frames import USABLE
from fanpin_cli.linking.tier import FILE, Memo

MAX_BLOCK = 64
MAX_NAME_BLOCK = 200

_PAIR_SCHEMA = {"eidx": pl.Int64, "ridx": pl.Int64}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=_PAIR_SCHEMA)


def _kept(memo: Memo | None, name: str, make: Callable[[], Any]) -> Any:
    """`make()`, kept in `memo` under `name` when there is one: for frames made from the roster
    alone, which every extract linked against it would otherwise make again."""
    return make() if memo is None else memo.get(name, make)


def _small_blocks(frame: pl.DataFrame, on: list[str], limit: int) -> pl.DataFrame:
    """Rows of `frame` whose block (same values of `on`) has at most `limit` rows."""
    return frame.filter(pl.len().over(on) <= limit)


def repair_pairs(
    e: pl.DataFrame, r: pl.DataFrame, memo: Memo | None = None,
    keep: Callable[[pl.DataFrame], pl.Series] | None = None,
) -> pl.DataFrame:
    """Pairs for the `id_repaired` tier: `e` holds the open extract rows with an ID reading.
    `memo`: keeps the roster's side of each join for the next extract (see `_kept`). `keep`:
    of each join's pairs (`eidx`, `ridx`), those it marks, applied as each join is made: a
    county-wide name or birth-date block proposes pairs that grow with the square of the
    county, of which few are worth more, and they are never held together.

    The joins are on numbers (`digits.key_number`, with the name as its place among the
    roster's names) where every reading's 17 leading characters are digits, as `idnum` makes
    them; on the key texts otherwise: the same pairs either way."""
    r, r_numbers = _kept(memo, "repair.r", lambda: _slim(r))
    e, e_numbers = _slim(e)
    numeric = r_numbers and e_numbers
    if numeric and e.height <= SORTED_ROWS:
        return _repair_pairs_sorted(e, r, memo, keep)
    frames: list[pl.DataFrame] = []

    def add(pairs: pl.DataFrame) -> None:
        pairs = pairs.select("eidx", "ridx")
        frames.append(pairs.filter(keep(pairs)) if keep is not None and pairs.height else pairs)

    tag = "" if numeric else ".text"
    usable, named = pl.col(_USE), pl.col(_NAMED)
    # Spreadsheet numbers (a range) join on name keys too: a typo in their certain digits
    # breaks the ID keys, and their check character is gone.
    r_use, r_bad = _roster_sides(r, memo)
    per = _per_file(e)
    if numeric:  # what the number keys read: the digits as a number, the name as its code
        e = e.select("idx", "known", _USE, _NAMED, _RANGED, D17, *per, _kept(memo, "repair.code", lambda: pl.col(
            "name_pinyin").cast(r_use.schema[_CODE], strict=False).alias(_CODE)))
    e_use = e.filter((usable | pl.col(_RANGED)) & named)
    e_bad = e.filter(~usable)
    e_usable = e.filter(usable) if r_bad.height and e_use.height else e.clear()
    for key in NAME_BLOCK_KEYS:
        if e_use.height and r_use.height:
            rows = e_use
            if key in FALLBACK_KEYS:  # only where the fuller key cannot be read
                rows = e_use.filter(pl.col("known") < key_needs(FALLBACK_KEYS[key]))
            left = _block(rows, key, "eidx", numeric, named=True)
            right = _kept(memo, f"repair.name.{key}{tag}", lambda key=key: _block(
                r_use, key, "ridx", numeric, named=True))
            add(left.join(right, on=_join_on(numeric, named=True)))
    for key in BLOCK_KEYS:
        if e_bad.height:
            left = _block(e_bad, key, "eidx", numeric)
            right = _kept(memo, f"repair.id.{key}{tag}", lambda key=key: _small_blocks(
                _block(r, key, "ridx", numeric), ["bk"], MAX_BLOCK))
            add(left.join(right, on="bk"))
        if r_bad.height and e_use.height:
            left = _block(e_usable, key, "eidx", numeric, per=per)
            right = _kept(memo, f"repair.bad.{key}{tag}", lambda key=key: _block(r_bad, key, "ridx", numeric))
            # (the block is counted on all of the join's pairs of one file, before `keep`)
            add(_small_blocks(left.join(right, on="bk"), ["ridx", *per], MAX_BLOCK * 4))
    if not frames:
        return _empty()
    return pl.concat(frames).unique().cast(_PAIR_SCHEMA)


def _roster_sides(r: pl.DataFrame, memo: Memo | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The roster's two sides of the repair joins, made once per run (`memo`), whichever path
    joins: its usable named readings (with their name code) and its unusable readings with
    some known digits."""
    usable = pl.col(_USE)
    r_use = _kept(memo, "repair.r_use", lambda: _with_name_code(r.filter(usable & pl.col(_NAMED))))
    r_bad = _kept(memo, "repair.r_bad", lambda: r.filter(~usable & (pl.col("known") > 0)))
    return r_use, r_bad


# Open rows up to which `repair_pairs` joins on numbers with numpy (`_repair_pairs_sorted`); on
# more, polars' hash joins take less CPU than the binary searches.
SORTED_ROWS = 20_000


def _repair_pairs_sorted(
    e: pl.DataFrame, r: pl.DataFrame, memo: Memo | None, keep: Callable[[pl.DataFrame], pl.Series] | None,
) -> pl.DataFrame:
    """`repair_pairs` on a few rows where every reading has its number (`_slim`'s `e` and `r`):
    the same joins on the key numbers, made with numpy against each roster side's keys sorted
    once (`_sorted_block`), every extract key read in one polars call and the pairs of all joins
    filtered by `keep` at once (a small file's pairs are few): no polars join planned per key
    (13 joins of ~0.5 ms were most of a small file's repair tier)."""
    usable, named = pl.col(_USE), pl.col(_NAMED)
    r_use, r_bad = _roster_sides(r, memo)
    # every key of every row (-1: none) and the rows each join reads (null: no, as `filter` takes
    # it), in one call
    rows_of = {"use": (usable | pl.col(_RANGED)) & named, "usable": usable, "bad": ~usable}
    read = e.select(*_kept(memo, "repair.sorted.read", lambda: _sorted_read(r_use, rows_of)), *_per_file(e))
    idx, known = read["idx"].to_numpy(), read["known"].to_numpy()
    # the file of each extract row (by `idx`), where several are linked together
    file_of = None
    if FILE in read.columns and idx.size and read[FILE].max():
        file_of = np.zeros(int(idx.max()) + 1, dtype=np.int64)
        file_of[idx] = read[FILE].to_numpy()
    e_use, e_usable, e_bad = (read[n].to_numpy() for n in rows_of)
    some_use, some_bad = bool(e_use.any()), bool(e_bad.any())
    joined: list[tuple[np.ndarray, np.ndarray]] = []
    if some_use and r_use.height:
        for key in NAME_BLOCK_KEYS:
            rows = e_use
            if key in FALLBACK_KEYS:  # only where the fuller key cannot be read
                rows = rows & (known < key_needs(FALLBACK_KEYS[key]))
            right = _kept(memo, f"repair.name.{key}.sorted", lambda key=key: _sorted_block(
                _block(r_use, key, "ridx", True, named=True)))
            joined.append(_join_sorted(idx, read[f"n.{key}"].to_numpy(), rows, right))
    for key in BLOCK_KEYS:
        keys = read[f"i.{key}"].to_numpy()
        if some_bad:
            right = _kept(memo, f"repair.id.{key}.sorted", lambda key=key: _sorted_block(_small_blocks(
                _block(r, key, "ridx", True), ["bk"], MAX_BLOCK)))
            joined.append(_join_sorted(idx, keys, e_bad, right))
        if r_bad.height and some_use:
            right = _kept(memo, f"repair.bad.{key}.sorted", lambda key=key: _sorted_block(
                _block(r_bad, key, "ridx", True)))
            eidx, ridx = _join_sorted(idx, keys, e_usable, right)
            # (the block is counted on all of the join's pairs of one file, before `keep`)
            small = _block_sizes(ridx, None if file_of is None else file_of[eidx]) <= MAX_BLOCK * 4
            joined.append((eidx[small], ridx[small]))
    if not joined:
        return _empty()
    pairs = pl.DataFrame({"eidx": np.concatenate([p[0] for p in joined]),
                          "ridx": np.concatenate([p[1] for p in joined])}, schema=_PAIR_SCHEMA)
    return (pairs.filter(keep(pairs)) if keep is not None and pairs.height else pairs).unique()


def _block_sizes(ridx: np.ndarray, files: np.ndarray | None) -> np.ndarray:
    """For each pair, how many pairs have its roster row (`ridx`), and its file when `files`
    gives each pair's.

    >>> _block_sizes(np.array([4, 4, 2, 4]), None).tolist(), _block_sizes(np.array([4, 4, 2, 4]), np.array([0, 1, 0, 1])).tolist()
    ([3, 3, 1, 3], [1, 2, 1, 2])
    """
    if not ridx.size:
        return np.zeros(0, dtype=np.int64)
    if files is None:
        return np.bincount(ridx)[ridx]
    _, at, counts = np.unique(ridx * (int(files.max()) + 1) + files, return_inverse=True, return_counts=True)
    return counts[at]


def _sorted_read(r_use: pl.DataFrame, rows_of: dict[str, pl.Expr]) -> list[pl.Expr]:
    """What `_repair_pairs_sorted` reads of the extract rows: `idx`, `known`, the rows each join
    reads (`rows_of`) and every key number (-1: none), the names coded as among `r_use`'s (made
    once per roster: the code's Enum of its names is a long list to hand to polars)."""
    code = pl.col("name_pinyin").cast(r_use.schema[_CODE], strict=False).to_physical().cast(pl.Int64)
    names = [(code * 10 ** key_digits(key) + key_number(key)).fill_null(-1).alias(f"n.{key}") for key in NAME_BLOCK_KEYS]
    ids = [key_number(key).fill_null(-1).alias(f"i.{key}") for key in BLOCK_KEYS]
    return [pl.col("idx"), pl.col("known"), *[m.fill_null(False).alias(n) for n, m in rows_of.items()], *names, *ids]


def _sorted_block(block: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A roster side's key numbers (`bk`, from `_block`) in order, and its `ridx` in that order."""
    ordered = block.sort("bk")
    return ordered["bk"].to_numpy(), ordered["ridx"].to_numpy()


def _join_sorted(
    idx: np.ndarray, keys: np.ndarray, rows: np.ndarray, right: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The inner join of the extract rows `rows` marks (their `idx`, their key numbers `keys`,
    -1 for none) with a roster side sorted by key (`_sorted_block`): (eidx, ridx) of each pair
    of equal keys, as a hash join on the keys gives them (in another order).

    >>> _join_sorted(np.array([0, 1, 2]), np.array([5, 7, -1]), np.array([True, True, True]),
    ...              (np.array([5, 5, 9]), np.array([10, 11, 12])))
    (array([0, 0]), array([10, 11]))
    """
    values, ridx = right
    take = rows & (keys >= 0)
    left, wanted = idx[take], keys[take]
    start = np.searchsorted(values, wanted, side="left")
    counts = np.searchsorted(values, wanted, side="right") - start
    total = int(counts.sum())
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.repeat(start, counts) + (np.arange(total) - offsets)
    return np.repeat(left, counts), ridx[positions]


_CODE = "_name_code"


_USE, _NAMED, _RANGED = "_usable", "_named", "_ranged"


def _slim(frame: pl.DataFrame) -> tuple[pl.DataFrame, bool]:
    """What the blocking reads of `frame` (`idx`, `known`, the ID reading as text and as a
    number `digits.D17`, the name; whether the ID is usable, the name there, the ID a
    spreadsheet number's range), and whether every reading has its number (else the keys are
    joined as texts)."""
    out = frame.select(
        "idx", "known", "digits", d17_expr(), "name_pinyin",
        pl.col("status").is_in(USABLE).alias(_USE),
        pl.col("name_pinyin").is_not_null().alias(_NAMED),
        pl.col("lo").is_not_null().alias(_RANGED),
        *_per_file(frame),
    )
    return out, not out.select((pl.col("digits").is_not_null() & pl.col(D17).is_null()).any()).item()


def _with_name_code(frame: pl.DataFrame, names: pl.Enum | None = None) -> pl.DataFrame:
    """`frame` with `_name_code`: its name's place among `names` (an Enum of the roster's
    names; made from `frame`'s own when not given), null for a name not among them."""
    if names is None:
        names = pl.Enum(frame["name_pinyin"].unique().sort())
    return frame.with_columns(pl.col("name_pinyin").cast(names, strict=False).alias(_CODE))


def _block(frame: pl.DataFrame, key: str, idx: str, numeric: bool, named: bool = False,
           per: list[str] | None = None) -> pl.DataFrame:
    """`idx` (the row's `idx`) and `bk`, the blocking key `key` of each row that has one: a
    number (with the name's code in front when `named`), or the key's text (then `name_pinyin`
    beside it when `named`); `per`: columns kept beside them (`_per_file`)."""
    per = per or []
    if not numeric:
        return frame.select(pl.col("idx").alias(idx), *(["name_pinyin"] if named else []),
                            key_expr(key).alias("bk"), *per).drop_nulls("bk")
    bk = key_number(key)
    if named:
        bk = pl.col(_CODE).to_physical().cast(pl.Int64) * 10 ** key_digits(key) + bk
    return frame.select(pl.col("idx").alias(idx), bk.alias("bk"), *per).drop_nulls("bk")


def _per_file(frame: pl.DataFrame) -> list[str]:
    """`[FILE]` when `frame` has the file of each row (extracts linked together: a block of
    pairs is counted per file), else none."""
    return [FILE] if FILE in frame.columns else []


def _join_on(numeric: bool, named: bool) -> list[str]:
    return ["bk"] if numeric or not named else ["name_pinyin", "bk"]


def range_pairs(e: pl.DataFrame, r: pl.DataFrame, memo: Memo | None = None) -> pl.DataFrame:
    """Pairs whose roster ID (`value`, 17 leading digits) lies in the range an extract ID held
    as a spreadsheet number may have come from (`lo`..`hi`, at most `MAX_RANGE_WIDTH` wide as
    18-digit values), found by binary
    search over the sorted roster values; ranges holding more than `MAX_BLOCK` are skipped."""
    left = e.filter(pl.col("lo").is_not_null() & ((pl.col("hi") - pl.col("lo")) * 10 <= MAX_RANGE_WIDTH))
    right, values = _kept(memo, "range.right", lambda: _sorted_values(r))
    if left.is_empty() or right.is_empty():
        return _empty()
    start = np.searchsorted(values, left["lo"].to_numpy(), side="left")
    stop = np.searchsorted(values, left["hi"].to_numpy(), side="right")
    counts = np.where(stop - start <= MAX_BLOCK, stop - start, 0)
    total = int(counts.sum())
    if total == 0:
        return _empty()
    offsets = np.repeat(np.cumsum(counts) - counts, counts)
    positions = np.repeat(start, counts) + (np.arange(total) - offsets)
    return pl.DataFrame(
        {"eidx": np.repeat(left["idx"].to_numpy(), counts), "ridx": right["idx"].to_numpy()[positions]}
    ).cast(_PAIR_SCHEMA)


def _sorted_values(r: pl.DataFrame) -> tuple[pl.DataFrame, np.ndarray]:
    right = r.filter(pl.col("value").is_not_null()).select("idx", "value").sort("value")
    return right, right["value"].to_numpy()


def _name_birth_right(r: pl.DataFrame) -> tuple[bool, pl.DataFrame]:
    right = r.filter(pl.col("name_pinyin").is_not_null() & pl.col("birth_any").is_not_null()).select(
        pl.col("idx").alias("ridx"), "name_pinyin", "birth_any"
    )
    return right.is_empty(), _small_blocks(right, ["name_pinyin", "birth_any"], MAX_BLOCK)


def name_birth_pairs(e: pl.DataFrame, r: pl.DataFrame, memo: Memo | None = None) -> pl.DataFrame:
    """Pairs agreeing on pinyin and birth date (`birth_any`)."""
    left = e.filter(pl.col("name_pinyin").is_not_null() & pl.col("birth_any").is_not_null()).select(
        pl.col("idx").alias("eidx"), "name_pinyin", "birth_any"
    )
    none, right = _kept(memo, "name_birth.right", lambda: _name_birth_right(r))
    if left.is_empty() or none:
        return _empty()
    return left.join(right, on=["name_pinyin", "birth_any"]).select("eidx", "ridx").cast(_PAIR_SCHEMA)


def _name_only_right(r: pl.DataFrame) -> tuple[bool, pl.DataFrame, pl.DataFrame]:
    right = r.filter(pl.col("name_pinyin").is_not_null()).with_columns(pl.len().over("name_pinyin").alias("_n"))
    common = right.filter(pl.col("_n") > MAX_NAME_BLOCK)
    rare = right.filter(pl.col("_n") <= MAX_NAME_BLOCK)
    return (right.is_empty(), rare.select(pl.col("idx").alias("ridx"), "name_pinyin"),
            common.select(pl.col("idx").alias("ridx"), "name_pinyin", "village"))


def name_only_pairs(e: pl.DataFrame, r: pl.DataFrame, memo: Memo | None = None, tag: str = "name_only") -> pl.DataFrame:
    """Pairs agreeing on pinyin; for names shared by more than `MAX_NAME_BLOCK` roster rows,
    only those in the same village. `tag` names the roster side `r` in `memo`."""
    left = e.filter(pl.col("name_pinyin").is_not_null())
    none, rare, common = _kept(memo, f"{tag}.right", lambda: _name_only_right(r))
    if left.is_empty() or none:
        return _empty()
    out = [
        left.select(pl.col("idx").alias("eidx"), "name_pinyin").join(rare, on="name_pinyin").select("eidx", "ridx")
    ]
    if common.height:
        out.append(
            left.filter(pl.col("village").is_not_null())
            .select(pl.col("idx").alias("eidx"), "name_pinyin", "village")
            .join(common, on=["name_pinyin", "village"])
            .select("eidx", "ridx")
        )
    return pl.concat(out).cast(_PAIR_SCHEMA)
