"""Digit-level comparison of ID readings for candidate pairs, vectorized with numpy.

Every ID reading (`id_digits`, 18 characters, of which the first `id_known` are real) becomes
a row of an `(n, 18)` byte matrix; a pair is compared position by position over the digits
both sides really know.

Blocking keys: sub-strings of the ID such that one wrong digit or one swap of adjacent digits
always leaves at least one key intact (see `BLOCK_KEYS`; `tests/test_linking.py` checks this).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

ID_LEN = 18
UNKNOWN = ord("~")

# (start, length) pieces of the ID, 0-based. k1: region + birth; k2: year + sequence;
# k3: last month digit, day, sequence; k4: year, month, first day digit, last two sequence digits.
BLOCK_KEYS: dict[str, tuple[tuple[int, int], ...]] = {
    "k1": ((0, 14),),
    "k2": ((6, 4), (14, 3)),
    "k3": ((11, 6),),
    "k4": ((6, 7), (15, 2)),
}


# Keys for pairs whose names agree (two IDs that both pass the check): year, month + day,
# sequence. Two wrong digits (a typo that kept the check valid) still leave one intact.
# A spreadsheet number keeps only 13 or 14 certain digits, so `sq` and sometimes `md` cannot
# be read; two keys stand in for them there: `m` (month + first day digit) for `md` when the
# 14th digit is not certain ("前13位可信"), and `ym` (first three year digits, second month
# digit, first day digit) for `sq`, so that one wrong digit or one swap of adjacent digits among
# the first 13 (a swap of the year's last and the month's first digit breaks `y` and `md`) still
# leaves a key intact.
NAME_BLOCK_KEYS: dict[str, tuple[tuple[int, int], ...]] = {
    "y": ((6, 4),),
    "md": ((10, 4),),
    "sq": ((14, 3),),
    "m": ((10, 3),),
    "ym": ((6, 3), (11, 2)),
}
# Keys used only for readings too short for the key they stand in for.
FALLBACK_KEYS: dict[str, str] = {"m": "md", "ym": "sq"}
_ALL_KEYS = {**BLOCK_KEYS, **NAME_BLOCK_KEYS}


def key_positions(name: str) -> set[int]:
    """0-based ID positions a blocking key reads."""
    return {p for start, length in _ALL_KEYS[name] for p in range(start, start + length)}


def key_needs(name: str) -> int:
    """How many leading digits must be known for the key to be usable."""
    return max(key_positions(name)) + 1


def key_expr(name: str, digits: str = "digits", known: str = "known") -> pl.Expr:
    """The blocking key `name` of an ID reading, null when too few digits are known."""
    parts = [pl.col(digits).str.slice(start, length) for start, length in _ALL_KEYS[name]]
    text = parts[0] if len(parts) == 1 else pl.concat_str(parts)
    return pl.when(pl.col(known) >= key_needs(name)).then(text)


# The 17 leading characters of an ID reading as one number (they are digits wherever `idnum`
# makes a reading: an 18-character ID whose 17 first are digits, a 15-digit ID upgraded, a
# spreadsheet number written out): the blocking keys are read from it by arithmetic.
D17 = "d17"


def d17_expr(digits: str = "digits") -> pl.Expr:
    """The reading's 17 leading characters as an Int64 (null when they are not 17 digits)."""
    text = pl.col(digits).str.slice(0, 17)
    return pl.when(text.str.contains(r"^[0-9]{17}$")).then(text.cast(pl.Int64, strict=False)).alias(D17)


def key_number(name: str, d17: str = D17, known: str = "known") -> pl.Expr:
    """`key_expr(name)` as a number, read from the 17-digit value `d17` (`d17_expr`): two
    readings whose keys are equal texts have equal numbers, and only they (the key's digits have
    a fixed count and place), so a join on it is the join on the text — on 8-byte integers.

    >>> f = pl.DataFrame({"digits": ["433127199001011238", "433127201308180000"], "known": [18, 13]})
    >>> f.with_columns(d17_expr()).select(key_number("k2").alias("n"), key_expr("k2"), key_number("y").alias("m")).rows()
    [(1990123, '1990123', 1990), (None, None, 2013)]
    """
    number = None
    for start, length in _ALL_KEYS[name]:
        part = (pl.col(d17) // 10 ** (17 - start - length)) % 10 ** length
        number = part if number is None else number * 10 ** length + part
    return pl.when(pl.col(known) >= key_needs(name)).then(number)


def key_digits(name: str) -> int:
    """How many digits the blocking key `name` has."""
    return sum(length for _, length in _ALL_KEYS[name])


def digit_matrix(digits: pl.Series, known: pl.Series) -> np.ndarray:
    """`(n, 18)` uint8 matrix of the readings; unknown positions hold `~`."""
    n = digits.len()
    if n == 0:
        return np.zeros((0, ID_LEN), dtype=np.uint8)
    text = digits.fill_null("").str.slice(0, ID_LEN).str.pad_end(ID_LEN, "~")
    joined = text.str.join("").item()
    mat = np.frombuffer(joined.encode("ascii", errors="replace"), dtype=np.uint8).reshape(n, ID_LEN).copy()
    k = known.fill_null(0).to_numpy().astype(np.int64)
    mat[np.arange(ID_LEN)[None, :] >= k[:, None]] = UNKNOWN
    return mat


@dataclass
class PairDigits:
    """Digit comparison of pairs: `k` positions compared, `ham` differences among them,
    `ham_body` differences among the first 17, `q1`/`q2` first two differing positions (-1
    if none), `swapped` when the first two differences are adjacent digits swapped (a
    transposition when they are the only ones)."""

    k: np.ndarray
    ham: np.ndarray
    ham_body: np.ndarray
    q1: np.ndarray
    q2: np.ndarray
    swapped: np.ndarray

    def take(self, keep: np.ndarray) -> PairDigits:
        """The comparisons of the pairs `keep` (a boolean mask or positions) selects."""
        return PairDigits(self.k[keep], self.ham[keep], self.ham_body[keep], self.q1[keep], self.q2[keep],
                          self.swapped[keep])

    def columns(self) -> dict[str, np.ndarray]:
        """The arrays as named columns for a polars frame."""
        return {"k": self.k, "ham": self.ham, "ham_body": self.ham_body, "q1": self.q1,
                "q2": self.q2, "swapped": self.swapped}


_POSITIONS = np.arange(ID_LEN, dtype=np.int16)

def near(
    e_mat: np.ndarray, r_mat: np.ndarray, e_known: np.ndarray, r_known: np.ndarray,
    e_idx: np.ndarray, r_idx: np.ndarray, chunk: int = 250_000,
) -> tuple[np.ndarray, np.ndarray]:
    """`k` and `ham` of `compare` alone (positions compared, differences among them), for
    pairs `(e_idx[i], r_idx[i])`: the cheap test that picks the few pairs worth comparing in
    full out of the many a blocking join proposes.

    >>> m = digit_matrix(pl.Series(["433127199001011238", "4331271990010"]), pl.Series([18, 13]))
    >>> k, ham = near(m, m, np.array([18, 13]), np.array([18, 13]), np.array([0, 1, 0]), np.array([0, 0, 1]))
    >>> k.tolist(), ham.tolist()
    ([18, 13, 13], [0, 0, 0])
    """
    n = e_idx.size
    k = np.empty(n, dtype=np.int16)
    ham = np.empty(n, dtype=np.int16)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        k[lo:hi], _, _, diff = _differing(e_mat, r_mat, e_known, r_known, e_idx[lo:hi], r_idx[lo:hi])
        ham[lo:hi] = diff.sum(axis=1)
    return k, ham


def _differing(
    e_mat: np.ndarray, r_mat: np.ndarray, e_known: np.ndarray, r_known: np.ndarray,
    e_idx: np.ndarray, r_idx: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For pairs `(e_idx[i], r_idx[i])`: positions compared (`k`, the shorter known part),
    both sides' digit rows and where they differ among the compared positions."""
    a, b = e_mat[e_idx], r_mat[r_idx]
    k = np.minimum(e_known[e_idx], r_known[r_idx]).astype(np.int16)
    return k, a, b, (a != b) & (_POSITIONS[None, :] < k[:, None])


def compare(
    e_mat: np.ndarray, r_mat: np.ndarray, e_known: np.ndarray, r_known: np.ndarray,
    e_idx: np.ndarray, r_idx: np.ndarray, chunk: int = 1_000_000,
) -> PairDigits:
    """Compare the readings of pairs `(e_idx[i], r_idx[i])` in chunks."""
    n = e_idx.size
    out = {name: np.empty(n, dtype=np.int16) for name in ("k", "ham", "ham_body", "q1", "q2")}
    swapped = np.zeros(n, dtype=bool)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        k, a, b, diff = _differing(e_mat, r_mat, e_known, r_known, e_idx[lo:hi], r_idx[lo:hi])
        ham = diff.sum(axis=1)
        has1 = ham >= 1
        q1 = np.where(has1, diff.argmax(axis=1), -1)
        rest = diff.copy()
        rows = np.flatnonzero(has1)
        rest[rows, q1[rows]] = False
        has2 = ham >= 2
        q2 = np.where(has2, rest.argmax(axis=1), -1)
        adjacent = has2 & (q2 == q1 + 1)
        r_ = np.flatnonzero(adjacent)
        sw = np.zeros(hi - lo, dtype=bool)
        if r_.size:
            i1, i2 = q1[r_], q2[r_]
            sw[r_] = (a[r_, i1] == b[r_, i2]) & (a[r_, i2] == b[r_, i1])
        out["k"][lo:hi] = k
        out["ham"][lo:hi] = ham
        out["ham_body"][lo:hi] = diff[:, :17].sum(axis=1)
        out["q1"][lo:hi] = q1
        out["q2"][lo:hi] = q2
        swapped[lo:hi] = sw
    return PairDigits(out["k"], out["ham"], out["ham_body"], out["q1"], out["q2"], swapped)
