"""The Extract record shared by sector builders, writers and the ground truth, plus date
formatting helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from . import faults


@dataclass
class Extract:
    """One sector file: written columns per data row and the true person behind each row."""

    sector: str
    file_name: str
    fmt: str                      # "csv" or "xlsx"
    encoding: str                 # csv: "gb18030", "utf-8", "utf-8-sig"; xlsx: ""
    headings: list[str]
    columns: dict[str, np.ndarray]
    person: np.ndarray            # true person index per data row (-1 never happens)
    id_heading: str
    name_heading: str
    meta: dict[str, np.ndarray] = field(default_factory=dict)
    title_rows: tuple[str, ...] = ()
    sheet: str = "Sheet1"
    blank_before: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    trailing_blank: int = 0
    faults: np.ndarray = field(default_factory=lambda: np.zeros(0, object))
    source_row: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    extra_sheets: dict[str, list[list[str]]] = field(default_factory=dict)
    date_cells: dict[str, np.ndarray] = field(default_factory=dict)  # heading → mask of real date cells

    @property
    def n(self) -> int:
        return int(self.person.size)

    def reorder(self, order: np.ndarray) -> None:
        """Permute every per-row array."""
        self.person = self.person[order]
        self.columns = {k: (None if v is None else v[order]) for k, v in self.columns.items()}
        self.meta = {k: v[order] for k, v in self.meta.items()}
        self.date_cells = {k: v[order] for k, v in self.date_cells.items()}


def ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day arrays of datetime64[D] values."""
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dd = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, dd


def fmt_dates(d: np.ndarray, style: str | np.ndarray = "iso") -> np.ndarray:
    """Dates as text: iso 2012-03-05, slash 2012/3/5, compact 20120305, cn 2012年3月5日."""
    d = d.astype("datetime64[D]")
    iso = np.datetime_as_string(d, unit="D").astype(object)
    if isinstance(style, str) and style == "iso":
        return iso
    y, m, dd = ymd(d)
    ys, ms, ds = y.astype(str), m.astype(str), dd.astype(str)
    slash = np.char.add(np.char.add(np.char.add(np.char.add(ys, "/"), ms), "/"), ds).astype(object)
    compact = np.char.replace(iso.astype(str), "-", "").astype(object)
    cn = np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(ys, "年"), ms), "月"), ds), "日").astype(object)
    table = {"iso": iso, "slash": slash, "compact": compact, "cn": cn}
    if isinstance(style, str):
        return table[style]
    out = iso.copy()
    for k, v in table.items():
        sel = style == k
        out[sel] = v[sel]
    return out


def money(cents: np.ndarray) -> np.ndarray:
    """Amounts in cents as text with two decimals."""
    cents = cents.astype(np.int64)
    yuan = (cents // 100).astype(str)
    frac = np.char.zfill((cents % 100).astype(str), 2)
    return np.char.add(np.char.add(yuan, "."), frac).astype(object)


def finalize(ex: Extract, people, rng: np.random.Generator, ref: date, *, suffix: np.ndarray | None = None,
             scale: float = 1.0) -> None:
    """Write the (faulty) ID and name cells of an extract and remember the fault kinds."""
    id_true = people.id[ex.person]
    id_w, name_w, kinds = faults.inject(id_true, people.name[ex.person], people.birth[ex.person],
                                        ex.sector, rng, ref, suffix=suffix, scale=scale)
    ex.columns[ex.id_heading] = id_w
    ex.columns[ex.name_heading] = name_w
    ex.faults = kinds


def blanks(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Data-row positions before which a blank row appears (sorted, unique)."""
    if n < 4 or k <= 0:
        return np.zeros(0, np.int64)
    return np.unique(rng.integers(1, n, k))
