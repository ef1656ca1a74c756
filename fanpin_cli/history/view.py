"""What the compute path may know of the past: `HistoryView`, a bundle of polars frames read
from the history file once per run (linking and flagging never open the database).

>>> v = HistoryView.empty("永顺县", "2026-11")
>>> v.previous_period is None, v.confirmed_pairs.columns
(True, ['record_key', 'person_key', 'verdict_date', 'file'])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from .store import connect, query, settle_open

MATCH_YES, MATCH_NO = "是同一人", "不是同一人"
FLAG_TRUE, FLAG_FALSE, FLAG_FIXED = "属实", "不属实", "已整改"
VOCABULARY = {"review": (MATCH_YES, MATCH_NO), "flag": (FLAG_TRUE, FLAG_FALSE, FLAG_FIXED),
              "issue": (FLAG_TRUE, FLAG_FALSE, FLAG_FIXED)}

PAIR_SCHEMA = {"record_key": pl.String, "person_key": pl.String, "verdict_date": pl.Date, "file": pl.String}
VERDICT_SCHEMA = {"record_key": pl.String, "kind": pl.String, "verdict": pl.String, "verdict_date": pl.Date,
                  "file": pl.String, "sheet": pl.String, "remark": pl.String, "evidence_key": pl.String}
FLAG_SCHEMA = {"record_key": pl.String, "rule_id": pl.String, "level": pl.String, "household_id": pl.String,
               "township": pl.String, "village": pl.String, "person_key": pl.String, "person_name": pl.String,
               "masked_id": pl.String, "sector": pl.String, "detail": pl.String, "evidence_key": pl.String,
               "roster_row": pl.Int64, "source_file": pl.String, "source_row": pl.Int64, "title": pl.String}
FIRST_SCHEMA = {"record_key": pl.String, "first_flagged": pl.String, "first_sent": pl.Date}


@dataclass(frozen=True)
class HistoryView:
    """The past of one county as seen from `period` (all frames keep their columns when empty).

    - confirmed_pairs / rejected_pairs: extract row `record_key` + roster `person_key` that a
      village said are / are not the same person (latest verdict per pair).
    - verdicts: the latest verdict per record key (flags, issues, review items).
    - previous_flags: the flags shown by the latest earlier run (`previous_period`).
    - first_flagged: per flag key, the first period it was shown and that run's reference date.
    """

    county: str
    period: str
    previous_period: str | None
    confirmed_pairs: pl.DataFrame
    rejected_pairs: pl.DataFrame
    verdicts: pl.DataFrame
    previous_flags: pl.DataFrame
    first_flagged: pl.DataFrame

    @classmethod
    def empty(cls, county: str, period: str) -> HistoryView:
        """The view of a county with no history."""
        return cls(county, period, None, pl.DataFrame(schema=PAIR_SCHEMA), pl.DataFrame(schema=PAIR_SCHEMA),
                   pl.DataFrame(schema=VERDICT_SCHEMA), pl.DataFrame(schema=FLAG_SCHEMA),
                   pl.DataFrame(schema=FIRST_SCHEMA))

    @property
    def exemptions(self) -> pl.DataFrame:
        """Flags whose latest verdict is 不属实 (whether still exempt is decided per run)."""
        return self.verdicts.filter((pl.col("kind") == "flag") & (pl.col("verdict") == FLAG_FALSE))


def _typed(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return frame.select([
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in schema.items()
    ])


def load_view(path: Path, county: str, period: str, *, wait_seconds: float = 20.0) -> HistoryView:
    """Read the view of `county` before `period` from the history file (empty if none), once
    the runs that died before their commit are settled (`store.settle_open`)."""
    if not path.exists():
        return HistoryView.empty(county, period)
    with connect(path, wait_seconds=wait_seconds) as con:
        settle_open(con, path)
        found = con.execute(
            "SELECT run_id, period FROM runs WHERE county = ? AND period < ? ORDER BY period DESC LIMIT 1",
            [county, period],
        ).fetchall()
        prev = found[0] if found else None
        latest = query(con, """
            SELECT record_key, kind, verdict, verdict_date, file, sheet, remark, evidence_key, person_key, row_key
            FROM verdicts WHERE county = ? AND verdict IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY record_key, kind ORDER BY verdict_date DESC, imported_at DESC) = 1
        """, [county])
        previous = query(con, "SELECT * FROM flags WHERE run_id = ? AND shown", [prev[0]]) if prev else None
        first = query(con, """
            SELECT f.record_key, min(r.period) AS first_flagged, min(r.reference_date) AS first_sent
            FROM flags f JOIN runs r USING (run_id)
            WHERE r.county = ? AND r.period < ? AND f.shown GROUP BY f.record_key
        """, [county, period])
    # A review item's key is the pair; its verdict applies to the extract row (row_key) and the
    # candidate person (person_key).
    pairs = latest.filter((pl.col("kind") == "review") & pl.col("row_key").is_not_null()).with_columns(
        pl.col("row_key").alias("record_key"))
    flag_like = latest.filter(pl.col("kind") != "review").sort("verdict_date", descending=True).unique(
        "record_key", keep="first", maintain_order=True
    )
    review_latest = latest.filter(pl.col("kind") == "review")
    return HistoryView(
        county=county,
        period=period,
        previous_period=prev[1] if prev else None,
        confirmed_pairs=_typed(pairs.filter(pl.col("verdict") == MATCH_YES), PAIR_SCHEMA),
        rejected_pairs=_typed(pairs.filter(pl.col("verdict") == MATCH_NO), PAIR_SCHEMA),
        verdicts=_typed(pl.concat([flag_like, review_latest], how="diagonal_relaxed"), VERDICT_SCHEMA),
        previous_flags=_typed(previous, FLAG_SCHEMA) if previous is not None else pl.DataFrame(schema=FLAG_SCHEMA),
        first_flagged=_typed(first, FIRST_SCHEMA),
    )
