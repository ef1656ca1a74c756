"""`linking.typos` computes the two spreadsheet-number facts of a pair exactly as their polars
definitions (`tiers_fuzzy._typo_in_range`, `_tail_typo_possible`) do, on pairs made to hit
their edges: ranges around the roster value, one or two differing digits, swaps, digits that
are missing, not digits (X, ~) or short texts, null texts (the digit counts, differences and
swaps that `compare` makes are never null)."""

from __future__ import annotations

import random

import polars as pl

from fanpin_cli.linking.tiers_fuzzy import _tail_typo_possible, _typo_in_range
from fanpin_cli.linking.typos import tail_typo_possible, typo_in_range


def _reading(rng: random.Random, base: str) -> str | None:
    """A reading near `base`: the same, one digit changed, two adjacent swapped, cut short,
    with a non-digit, or missing."""
    kind = rng.randrange(7)
    d = list(base)
    if kind == 1:
        i = rng.randrange(17)
        d[i] = str((int(d[i]) + rng.randrange(1, 10)) % 10)
    elif kind == 2:
        i = rng.randrange(16)
        d[i], d[i + 1] = d[i + 1], d[i]
    elif kind == 3:
        d = d[: rng.randrange(10, 18)]
    elif kind == 4:
        d[rng.randrange(18)] = rng.choice("X~")
    elif kind == 5:
        return None
    return "".join(d)


def _pairs(n: int, seed: int) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        base = "433127" + f"{rng.randrange(1950, 2020)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}" + f"{rng.randrange(1000):03d}" + rng.choice("0123456789X")
        e, r = _reading(rng, base), _reading(rng, base)
        value = int(r[:17]) if r and len(r) >= 17 and r[:17].isdigit() and rng.random() < 0.9 else None
        centre = int(base[:17])
        width = rng.choice([0, 1, 5, 10, 100, 1000])
        lo = centre - rng.randrange(0, width + 1) + rng.choice([0, 0, 0, 7, -300, 10**5]) if rng.random() < 0.85 else None
        hi = None if lo is None or rng.random() < 0.03 else lo + width
        diffs = [i for i in range(18) if e and r and i < min(len(e), len(r)) and e[i] != r[i]]
        q1 = diffs[0] if diffs else -1
        q2 = diffs[1] if len(diffs) > 1 else -1
        swapped = len(diffs) >= 2 and q2 == q1 + 1 and e[q1] == r[q2] and e[q2] == r[q1]
        rows.append({"e_lo": lo, "e_hi": hi, "r_value": value, "q1": q1, "q2": q2, "ham": min(len(diffs), rng.choice([len(diffs), 1, 2])),
                     "k": rng.choice([13, 14, 15, 16, 17, 18]), "swapped": swapped, "e_digits": e, "r_digits": r})
    schema = {"e_lo": pl.Int64, "e_hi": pl.Int64, "r_value": pl.Int64, "q1": pl.Int16, "q2": pl.Int16, "ham": pl.Int16,
              "k": pl.Int16, "swapped": pl.Boolean, "e_digits": pl.String, "r_digits": pl.String}
    return pl.DataFrame(rows, schema=schema)


def test_typo_in_range_equals_its_expression():
    p = _pairs(4000, 1)
    expected = p.select(_typo_in_range().fill_null(False)).to_series().to_list()
    assert typo_in_range(p).tolist() == expected
    assert 20 < sum(expected) < len(expected)  # the cases hold on some pairs, not all


def test_tail_typo_possible_equals_its_expression_where_there_is_a_range():
    p = _pairs(4000, 2)
    ranged = p["e_lo"].is_not_null()
    expected = p.select(pl.when(ranged).then(_tail_typo_possible()).otherwise(False)).to_series().to_list()
    got = tail_typo_possible(p).tolist()
    assert got == expected
    assert 20 < sum(expected) < ranged.sum()


def test_no_pairs():
    p = _pairs(3, 3).clear()
    assert typo_in_range(p).tolist() == [] and tail_typo_possible(p).tolist() == []
