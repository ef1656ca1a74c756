"""What every linking tier shares: the `Tier` interface and the `LinkRun` it reads.

`link()` runs `TIERS` (in `linking/__init__.py`) in order; each tier looks at the extract rows
no earlier tier decided (`LinkRun.open_rows`), scores its candidate pairs with its `cases`
(`linking.cases`), and returns one decision per row it settles (`frames.DECISION_SCHEMA`).

>>> import polars as pl
>>> from fanpin_cli.linking.frames import empty_decisions
>>> e = pl.DataFrame({"idx": [0, 1], "known": [18, 0]})
>>> run = LinkRun(e, e.clear(), Readings.empty(), ("police",))
>>> run.add(Outcome(empty_decisions().vstack(pl.DataFrame(
...     {"eidx": [0], "ridx": [3], "method": ["id_exact"], "score": [100.0], "status": ["linked"],
...      "reason": ["证件号码与花名册一致"], "conflict": [False], "weak": [False]}, schema=empty_decisions().schema))))
>>> run.open_rows("idx")["idx"].to_list(), run.files_in(ONE_ROW_SECTORS), run.files_in(REPEATING_SECTORS)
([1], [0], [])
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import polars as pl

from fanpin_cli.linking.frames import empty_decisions

# Sectors where a person has at most one row (enrollment and school rolls do repeat people).
ONE_ROW_SECTORS: frozenset[str] = frozenset({"disability", "police", "housing"})
# Sectors where one person normally has many rows (settlements, several kinds of aid).
REPEATING_SECTORS: frozenset[str] = frozenset({"medical_claims", "civil_affairs"})

NAMESAKES_SCHEMA: dict[str, pl.DataType] = {"eidx": pl.Int64, "n_diff": pl.UInt32}

# The column of `LinkRun.e` that numbers the file of each row, when several extracts are linked
# together (`linking.link_files`; 0 for one). What a tier counts over rows of a file, it counts
# per file: a file's links are those it gets linked alone.
FILE = "file"


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


class Memo:
    """Frames derived from the roster alone (a tier's side of a join, a blocking key), made
    once and shared by every extract linked against the same roster (`RosterIndex`); safe to
    use from the pipeline's threads.

    >>> m = Memo()
    >>> m.get("x", lambda: [1]) is m.get("x", lambda: [2])
    True
    """

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}
        self._lock = threading.RLock()

    def get(self, name: str, make: Callable[[], Any]) -> Any:
        """The value under `name`, made by `make()` the first time it is asked for."""
        with self._lock:
            if name not in self._values:
                self._values[name] = make()
            return self._values[name]


@dataclass(frozen=True)
class RosterIndex:
    """The roster's side of linking, made once per run (`linking.roster_index`) and passed to
    every `link()` of that roster: its view (`frames.view`), digit readings and a `Memo`."""

    r: pl.DataFrame
    mat: np.ndarray
    known: np.ndarray
    memo: Memo = field(default_factory=Memo)


@dataclass
class LinkRun:
    """Extracts being linked: the linker's views of both sides (`frames.view`), their digit
    readings, each file's sector (`sectors`, by the number in `e`'s `FILE` column, 0 when
    missing: one file), and the decisions and namesake counts the tiers have made so far.
    `e.idx` is the row position (as `frames.view` makes it); `memo` holds frames derived from
    the roster alone, shared with other extracts linked against it."""

    e: pl.DataFrame
    r: pl.DataFrame
    rd: Readings
    sectors: tuple[str, ...]
    decided: pl.DataFrame = field(default_factory=empty_decisions)
    namesakes: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=NAMESAKES_SCHEMA))
    memo: Memo = field(default_factory=Memo)
    _open: np.ndarray | None = None

    def __post_init__(self) -> None:
        if FILE not in self.e.columns:
            self.e = self.e.with_columns(pl.lit(0, dtype=pl.UInt32).alias(FILE))

    def files_in(self, sectors: frozenset[str], *, but: bool = False) -> list[int]:
        """The numbers of the files whose sector is one of `sectors` (`but`: is none of them)."""
        return [i for i, sector in enumerate(self.sectors) if (sector in sectors) != but]

    def file_of(self, eidx: pl.Series) -> pl.Series:
        """The file (`FILE`) of each extract row `eidx` names."""
        return self.e[FILE].gather(eidx)

    def open_rows(self, *columns: str, where: pl.Expr | None = None) -> pl.DataFrame:
        """Extract rows no tier has decided yet (in the extract's order), and where `where`
        holds if given; every column, or only `columns` (only those are copied)."""
        if self._open is None:
            self._open = np.ones(self.e.height, dtype=bool)
            self._open[self.decided["eidx"].to_numpy()] = False
        keep = pl.Series(self._open)
        frame = self.e
        if columns:
            read = where.meta.root_names() if where is not None else []
            frame = frame.select(list(dict.fromkeys([*columns, *read])))
        if where is not None:
            keep = keep & frame.select(where.fill_null(False)).to_series()
        out = frame.filter(keep)
        return out.select(columns) if columns else out

    def add(self, outcome: Outcome) -> None:
        """Record a tier's decisions (and namesake counts)."""
        self.decided = pl.concat([self.decided, outcome.decisions])
        if self._open is not None:
            self._open[outcome.decisions["eidx"].to_numpy()] = False
        if outcome.namesakes is not None:
            self.namesakes = pl.concat([self.namesakes, outcome.namesakes.cast(NAMESAKES_SCHEMA)])


class Tier(Protocol):
    """A linking tier: `name` (the `match_method` it mostly writes) and `decide`."""

    name: str

    def decide(self, run: LinkRun) -> Outcome:
        """Decisions for rows of `run.open_rows()` this tier settles."""
        ...
