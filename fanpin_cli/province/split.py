"""Split the province-wide extracts among the counties (engine-independent parts).

`SplitStats` is what province_summary.json says of each extract: rows read, rows sent to a
county by how they were placed, rows left unassigned (listed in `unassigned.csv`), or why the
file could not be read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from fanpin_cli.province.config import ProvinceExtract

UNASSIGNED_COLUMNS = ("source_file", "source_row", "sector", "name", "id_number", "township", "village")


@dataclass
class SplitStats:
    """One province-wide extract after the split."""

    file: str
    sector: str
    rows_read: int = 0
    rows_assigned: dict[str, int] = field(default_factory=dict)  # by "id" | "region" | "township"
    rows_in_two_counties: int = 0  # rows sent to more than one county (person on two rosters)
    rows_unassigned: int = 0
    by_county: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_stats(extract: ProvinceExtract, rows_read: int, assign: pl.DataFrame) -> SplitStats:
    """Counts of an assignment (`source_row`, `county`, `assigned_by`)."""
    placed = assign.filter(pl.col("county").is_not_null())
    by = {r["assigned_by"]: r["len"] for r in placed.group_by("assigned_by").len().sort("assigned_by").to_dicts()}
    counties = {r["county"]: r["len"] for r in placed.group_by("county").len().sort("county").to_dicts()}
    repeated = placed.group_by("source_row").len().filter(pl.col("len") > 1).height
    return SplitStats(extract.source_file, extract.sector, rows_read, by, repeated,
                      assign.filter(pl.col("county").is_null()).height, counties)


def unassigned_rows(frame: pl.DataFrame, sector: str, source_file: str) -> pl.DataFrame:
    """The columns of unassigned rows worth showing (IDs full here; masked when written)."""
    frame = frame.with_columns(pl.lit(source_file).alias("source_file"))
    cols = [pl.col(c).cast(pl.String) if c in frame.columns else pl.lit(None, dtype=pl.String).alias(c)
            for c in UNASSIGNED_COLUMNS if c not in ("source_row", "sector")]
    return frame.select(
        cols[0], pl.col("source_row").cast(pl.Int64), pl.lit(sector).alias("sector"), *cols[1:]
    ).select(list(UNASSIGNED_COLUMNS))
