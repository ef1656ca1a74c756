"""The evidence view shared by the flag rules and the cross-sector quality checks.

An extract row says something about a roster person only through its link. Two states matter:

- **linked** (`match_status == "linked"` with a `roster_row`): evidence, used by rules and checks;
- **pending review** (`match_status == "review"`): a likely candidate a person must confirm. It is
  never evidence, but a finding that would change if it were accepted is not a confirmed lead.

`accepted(evidence)` is the county as it would be if every pending review item were accepted:
the rules are evaluated on both views and a flag that differs is `pending_review`
(`flagging.evaluate`); cross checks use the same split (`quality.cross`).

>>> import polars as pl
>>> f = pl.DataFrame({"roster_row": [3, 4, None], "match_status": ["linked", "review", "unlinked"]})
>>> linked(f)["roster_row"].to_list(), pending(f)["roster_row"].to_list()
([3], [4])
>>> accepted({"x": f})["x"]["match_status"].to_list()
['linked', 'linked', 'unlinked']
"""

from __future__ import annotations

import polars as pl

from fanpin_cli.tables import columns_of

LINKED = "linked"
PENDING = "review"
EVIDENCE_STATUSES: tuple[str, ...] = ("confirmed", "pending_review")
EVIDENCE_STATUS_TITLES: dict[str, str] = {"confirmed": "已确认", "pending_review": "待核实后确定"}


def rows(frame: pl.DataFrame | pl.LazyFrame | None, status: str = LINKED) -> pl.DataFrame | pl.LazyFrame:
    """Rows of `frame` in link state `status` that point at a roster person (empty when the
    frame has no link columns). Of a LazyFrame, that step of its query.

    >>> f = pl.DataFrame({"roster_row": [1, None, 2], "match_status": ["linked", "linked", "review"]})
    >>> rows(f)["roster_row"].to_list(), rows(f.lazy(), PENDING).collect()["roster_row"].to_list()
    ([1], [2])
    """
    if frame is None:
        return pl.DataFrame(schema={"roster_row": pl.Int64, "match_status": pl.String})
    columns = columns_of(frame)
    if "match_status" not in columns or "roster_row" not in columns:
        return frame.head(0)
    return frame.filter((pl.col("match_status") == status) & pl.col("roster_row").is_not_null())


def linked(frame: pl.DataFrame | None) -> pl.DataFrame:
    """The rows that are evidence: linked to a roster person."""
    return rows(frame, LINKED)


def pending(frame: pl.DataFrame | None) -> pl.DataFrame:
    """The rows waiting in the review queue, with their candidate roster person."""
    return rows(frame, PENDING)


def has_pending(evidence: dict[str, pl.DataFrame], sectors: set[str] | None = None) -> bool:
    """Whether any of `sectors` (default: all) holds a pending review row."""
    return any(
        pending(frame).height > 0
        for sector, frame in evidence.items()
        if sectors is None or sector in sectors
    )


def accepted(evidence: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The evidence with every pending review row taken as linked to its candidate."""
    out = {}
    for sector, frame in evidence.items():
        if "match_status" in frame.columns and "roster_row" in frame.columns:
            is_pending = (pl.col("match_status") == PENDING) & pl.col("roster_row").is_not_null()
            frame = frame.with_columns(
                pl.when(is_pending).then(pl.lit(LINKED)).otherwise(pl.col("match_status")).alias("match_status")
            )
        out[sector] = frame
    return out
