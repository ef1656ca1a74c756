"""What every linking tier shares: the `Tier` interface and the `LinkRun` it reads.

`link()` runs `TIERS` (in `linking/__init__.py`) in order; each tier looks at the extract rows
no earlier tier decided (`LinkRun.open_rows`), scores its candidate pairs with its `cases`
(`linking.cases`), and returns one decision per row it settles (`frames.DECISION_SCHEMA`).

>>> import polars as pl
>>> from fanpin_cli.linking.frames import empty_decisions
>>> e = pl.DataFrame({"idx": [0, 1], "known": [18, 0]})
>>> run = LinkRun(e, e.clear(), Readings.empty(), "police")
>>> run.add(Outcome(empty_decisions().vstack(pl.DataFrame(
...     {"eidx": [0], "ridx": [3], "method": ["id_exact"], "score": [100.0], "status": ["linked"],
...      "reason": ["证件号码与花名册一致"], "conflict": [False], "weak": [False]}, schema=empty_decisions().schema))))
>>> run.open_rows()["idx"].to_list(), run.one_row_per_person, run.repeating
([1], True, False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import polars as pl

from fanpin_cli.linking.frames import empty_decisions

# Sectors where a person has at most one row (enrollment and school rolls do repeat people).
ONE_ROW_SECTORS: frozenset[str] = frozenset({"disability", "police", "housing"})
# Sectors where one person normally has many rows (settlements, several kinds of aid).
REPEATING_SECTORS: frozenset[str] = frozenset({"medical_claims", "civil_affairs"})

NAMESAKES_SCHEMA: dict[str, pl.DataType] = {"eidx": pl.Int64, "n_diff": pl.UInt32}


@dataclass
class Readings:
    """Digit matrices and known-digit counts of both sides (from `digits.digit_matrix`)."""

    e_mat: np.ndarray
    r_mat: np.ndarray
    e_known: np.ndarray
    r_known: np.ndarray

    @classmethod
    def empty(cls) -> Readings:
        """No readings (for tests of tiers that compare no digits)."""
        none = np.zeros((0, 18), dtype=np.uint8)
        return cls(none, none, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class Outcome:
    """A tier's answer: its decisions and, for the `name_birth` tier, the open rows whose
    namesakes born the same day all carry other IDs (`eidx`, `n_diff`: for the unlinked reason)."""

    decisions: pl.DataFrame
    namesakes: pl.DataFrame | None = None


@dataclass
class LinkRun:
    """One extract being linked: the linker's views of both sides (`frames.view`), their digit
    readings, the sector, and the decisions and namesake counts the tiers have made so far."""

    e: pl.DataFrame
    r: pl.DataFrame
    rd: Readings
    sector: str
    decided: pl.DataFrame = field(default_factory=empty_decisions)
    namesakes: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=NAMESAKES_SCHEMA))

    @property
    def one_row_per_person(self) -> bool:
        """A person has at most one row of this sector."""
        return self.sector in ONE_ROW_SECTORS

    @property
    def repeating(self) -> bool:
        """A person normally has many rows of this sector."""
        return self.sector in REPEATING_SECTORS

    def open_rows(self) -> pl.DataFrame:
        """Extract rows no tier has decided yet."""
        return self.e.join(self.decided.select(pl.col("eidx").alias("idx")), on="idx", how="anti")

    def add(self, outcome: Outcome) -> None:
        """Record a tier's decisions (and namesake counts)."""
        self.decided = pl.concat([self.decided, outcome.decisions])
        if outcome.namesakes is not None:
            self.namesakes = pl.concat([self.namesakes, outcome.namesakes.cast(NAMESAKES_SCHEMA)])


class Tier(Protocol):
    """A linking tier: `name` (the `match_method` it mostly writes) and `decide`."""

    name: str

    def decide(self, run: LinkRun) -> Outcome:
        """Decisions for rows of `run.open_rows()` this tier settles."""
        ...
