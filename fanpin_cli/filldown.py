"""A roster whose 户编号 stands on the household head's row only (merged cells a clerk unmerged
keep their value in the top cell; hand-laid rosters write it once): each member row below its
head is given the household's 户编号 (and 乡镇, 村 where blank), so that the household is one.

Left blank, each member became a household of its own with no 户编号: a household's 一户多残 was
lost, and a member 普通劳动力 split off left the rest "全户均无劳动能力" (a false red flag).

Only rows that 与户主关系 names as a member (not 户主) are filled, and only from a block that
starts with a row holding a 户编号: a 户主 row without one starts a block that stays blank (its
REQUIRED_MISSING stands). Without a 与户主关系 column nothing is filled — where a household starts
cannot be told. What was filled is reported per column (`FILLED_DOWN`, summary.json
`inputs[].filled_down`, a note: `notes.filled_down_text`).

>>> import polars as pl
>>> f = pl.DataFrame({"source_row": [2, 3, 4, 5, 6], "household_id": ["H1", None, None, None, None],
...                   "relation": ["户主", "配偶", "之子", "户主", "之女"], "village": ["司城村", None, None, None, None]})
>>> filled, report = fill_down(f)
>>> filled["household_id"].to_list(), filled["village"].to_list()
(['H1', 'H1', 'H1', None, None], ['司城村', '司城村', '司城村', None, None])
>>> [(r.field, r.cells, r.first_row, r.last_row) for r in report]
[('household_id', 2, 3, 4), ('village', 2, 3, 4)]
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

from fanpin_cli.tables import C
from fanpin_cli.values import normalize_codes

# The columns a household's members share with its head's row, filled where blank.
FILLED = (C.household_id, C.township, C.village)


class FilledColumn(NamedTuple):
    """One column's cells filled from the head's row: how many, the first and last sheet rows."""

    field: str
    cells: int
    first_row: int
    last_row: int


def fill_down(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[FilledColumn]]:
    """`frame` (a loaded roster: canonical columns, `source_row`, file order) with each member
    row's blank 户编号, 乡镇 and 村 taken from its household's first row (see module doc)."""
    if C.household_id not in frame.columns or C.relation not in frame.columns or frame.height == 0:
        return frame, []
    if frame.get_column(C.household_id).null_count() == 0:
        return frame, []
    relation = normalize_codes(frame.select(C.relation)).get_column(C.relation)
    head = (relation == "户主").fill_null(False)
    marked = frame.with_columns(
        head.alias("_head"), relation.is_not_null().alias("_named"),
        (pl.col(C.household_id).is_not_null() | head).cum_sum().alias("_block"),
    )
    member = pl.col("_named") & ~pl.col("_head") & pl.col(C.household_id).first().over("_block").is_not_null()
    fields = [f for f in FILLED if f in frame.columns]
    wanted = marked.select(
        C.source_row, *[(member & pl.col(f).is_null()).alias(f"_fill_{f}") for f in fields],
        *[pl.col(f).first().over("_block").alias(f"_from_{f}") for f in fields],
    )
    report = []
    for f in fields:
        rows = wanted.filter(pl.col(f"_fill_{f}") & pl.col(f"_from_{f}").is_not_null()).get_column(C.source_row)
        if rows.len():
            report.append(FilledColumn(f, rows.len(), int(rows.min()), int(rows.max())))
    if not report:
        return frame, []
    filled = frame.with_columns(
        pl.when(wanted.get_column(f"_fill_{f}")).then(wanted.get_column(f"_from_{f}")).otherwise(pl.col(f)).alias(f)
        for f in fields
    )
    return filled, report

