"""Typos in an ID held as a spreadsheet number, for candidate pairs, in numpy.

Two facts the repair and name tiers read of a pair whose extract ID was a spreadsheet number
(`e_lo`..`e_hi`, the values it may have come from). Their definitions are the polars
expressions `tiers_fuzzy._typo_in_range` and `tiers_fuzzy._tail_typo_possible`; this module
computes the same on arrays (a polars plan of that size took ~7 ms to set up even for a
handful of pairs, on every file). `tests/test_typos.py` checks both against the expressions.

A digit that cannot be read (no such character, not 0–9) is null there; every condition of
these two facts only joins comparisons with "and" / "or" (no "not"), so a null comparison can
be taken as False, as the expressions' final `fill_null(False)` does.

>>> import polars as pl
>>> p = pl.DataFrame({"e_lo": [43312720130818240], "e_hi": [43312720130818403], "r_value": [43312720130818145],
...                   "k": [14], "r_digits": ["433127201308181450"]})
>>> tail_typo_possible(p).tolist()
[True]
"""

from __future__ import annotations

import numpy as np
import polars as pl

_LEN = 18


def _values(s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Int64 values (0 where null) and where they are present."""
    return s.fill_null(0).cast(pl.Int64).to_numpy(), s.is_not_null().to_numpy()


def _digits(s: pl.Series) -> np.ndarray:
    """`(n, 18)` digits of each text by character position (-1: no digit there)."""
    n = s.len()
    if n == 0:
        return np.zeros((0, _LEN), dtype=np.int64)
    text = s.cast(pl.String).fill_null("").str.slice(0, _LEN).str.pad_end(_LEN, "~")
    raw = np.frombuffer(text.str.join("").item().encode("ascii", errors="replace"), dtype=np.uint8)
    d = raw.reshape(n, _LEN).astype(np.int64) - ord("0")
    d[(d < 0) | (d > 9)] = -1
    return d


def _at(mat: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The digit at `pos` of each row (positions outside 0–17 read as missing) and whether it is one."""
    inside = (pos >= 0) & (pos < _LEN)
    d = mat[np.arange(mat.shape[0]), np.clip(pos, 0, _LEN - 1)]
    return np.where(inside, d, 0), inside & (d >= 0)


def _place(pos: np.ndarray) -> np.ndarray:
    """10^(16 − pos), the exponent held to 0–16 (`tiers_fuzzy._place`)."""
    return 10 ** np.clip(16 - pos.astype(np.int64), 0, 16)


def _ranged(p: pl.DataFrame) -> tuple[np.ndarray, pl.DataFrame]:
    """Positions of the pairs with a range, and those pairs."""
    rows = np.flatnonzero(p["e_lo"].is_not_null().to_numpy())
    return rows, p[rows] if rows.size < p.height else p


def _bounds(q: pl.DataFrame) -> tuple[np.ndarray, ...]:
    """The extract's range (e_lo, e_hi) and the roster value (r_value) of pairs, each with where
    it is set: lo, lo_ok, hi, hi_ok, value, value_ok."""
    return (*_values(q["e_lo"]), *_values(q["e_hi"]), *_values(q["r_value"]))


def typo_in_range(p: pl.DataFrame) -> np.ndarray:
    """`tiers_fuzzy._typo_in_range()` of every pair of `p` (columns e_lo, e_hi, r_value, q1,
    q2, ham, k, swapped, e_digits, r_digits), False where it is null."""
    out = np.zeros(p.height, dtype=bool)
    rows, q = _ranged(p)
    if rows.size == 0:
        return out
    lo, lo_ok, hi, hi_ok, value, value_ok = _bounds(q)
    q1, q2 = q["q1"].to_numpy().astype(np.int64), q["q2"].to_numpy().astype(np.int64)
    ham, k = q["ham"].to_numpy(), q["k"].to_numpy().astype(np.int64)
    swapped = q["swapped"].to_numpy()
    e, r = _digits(q["e_digits"]), _digits(q["r_digits"])
    e1, e1_ok = _at(e, q1)
    r1, r1_ok = _at(r, q1)
    e2, e2_ok = _at(e, q2)
    r2, r2_ok = _at(r, q2)
    r_next, next_ok = _at(r, q1 + 1)

    def holds(x: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return ok & value_ok & lo_ok & hi_ok & (x >= lo) & (x <= hi)

    one = value + (e1 - r1) * _place(q1)
    swap_seen = one + (e2 - r2) * _place(q2)
    swap_edge = value + (r_next - r1) * _place(q1) + (r1 - r_next) * _place(q1 + 1)
    first = (
        holds(one, e1_ok & r1_ok)
        | ((q1 == k - 1) & holds(swap_edge, r1_ok & next_ok))
    )
    out[rows] = (q1 >= 0) & (q1 < 17) & (
        ((ham == 1) & first)
        | ((ham == 2) & swapped & (q2 < 17) & holds(swap_seen, e1_ok & r1_ok & e2_ok & r2_ok))
    )
    return out


def tail_typo_possible(p: pl.DataFrame) -> np.ndarray:
    """`tiers_fuzzy._tail_typo_possible()` of the pairs of `p` that have a range (columns
    e_lo, e_hi, r_value, k, r_digits); False on the others and where it is null."""
    out = np.zeros(p.height, dtype=bool)
    rows, q = _ranged(p)
    if rows.size == 0:
        return out
    lo, lo_ok, hi, hi_ok, value, value_ok = _bounds(q)
    k = q["k"].to_numpy().astype(np.int64)
    r = _digits(q["r_digits"])
    found = np.zeros(rows.size, dtype=bool)
    for pos in range(6, 17):
        weight = 10 ** (16 - pos)
        digit, digit_ok = r[:, pos], r[:, pos] >= 0
        base = value - digit * weight
        base_ok = value_ok & digit_ok
        # polars' max/min_horizontal pass over a null: the bound is then 0 (or 9)
        low = np.where(base_ok & lo_ok, np.maximum(0, -((base - lo) // weight)), 0)
        high = np.where(base_ok & hi_ok, np.minimum(9, (hi - base) // weight), 9)
        found |= (k <= pos) & (low <= high)
        if pos < 16:
            following, following_ok = r[:, pos + 1], r[:, pos + 1] >= 0
            moved = value + (following - digit) * weight + (digit - following) * (weight // 10)
            found |= (k <= pos + 1) & base_ok & following_ok & lo_ok & hi_ok & (moved >= lo) & (moved <= hi)
    out[rows] = found
    return out
