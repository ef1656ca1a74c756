"""Merged cells: what a spreadsheet shows in every cell of a merged range, put back in each row.

A hand-made roster often merges a household's cells (户编号, 村, 家庭人数, 人均纯收入) over its
members' rows, and an HTML "Excel" export writes them with `rowspan`. The file holds the value
once, in the range's top-left cell; a reader gives the other rows an empty cell, so every member
but the first would lose its household, village and income without a word. Excel, WPS and
LibreOffice show the top-left value over the whole range, so that is what the clerk sees and
what fanpin reads: each range in the data rows (below the header) gets its top-left value in
every row of its first column (a value hidden under a merge is not shown by the office programs,
nor used here). Columns to the right inside a range are left empty: a value written across two
fields (特困供养 over 救助类型 and 保障状态) names the first, not the others. Ranges in or above the
header row (titles, two-row headings) are left to the header search.

Each reader gives its ranges as `Span`s: sheet rows numbered as `source_row` numbers them,
columns 0-based in the grid it read. `fill_merged` fills them and says, per column, how many
ranges and cells it filled (`MergedColumn`): a `CELL_MERGED` quality issue, summary.json's
`merged_cells`, a note on the console and in 汇总.

>>> import polars as pl
>>> frame = pl.DataFrame({"c0": ["H1", None, None, "H2"], "c1": ["张三", "李四", "王五", "赵六"],
...                       "source_row": [3, 4, 5, 6]})
>>> filled, found = fill_merged(frame, [Span(3, 5, 0, 0), Span(1, 1, 0, 1)], header_line=2)
>>> filled["c0"].to_list(), [(m.column, m.ranges, m.cells, m.first_row) for m in found]
(['H1', 'H1', 'H1', 'H2'], [(0, 1, 2, 3)])
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl


class Span(NamedTuple):
    """One merged range: rows `first_row`..`last_row` (as source_row numbers them), columns
    `first_col`..`last_col` (0-based in the grid read), both ends included."""

    first_row: int
    last_row: int
    first_col: int
    last_col: int


@dataclass(frozen=True)
class MergedColumn:
    """What `fill_merged` did in one column (0-based in the grid read): ranges filled, cells
    given their range's value (the top-left cells not counted), the first range's rows."""

    column: int
    ranges: int
    cells: int
    first_row: int
    last_row: int


_REF = re.compile(r"([A-Za-z]{1,3})([0-9]+)(?::([A-Za-z]{1,3})([0-9]+))?")


def column_index(letters: str) -> int:
    """0-based index of a column's letters.

    >>> column_index("A"), column_index("Q"), column_index("AA")
    (0, 16, 26)
    """
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def span_of_ref(ref: str, first_col: int = 0) -> Span | None:
    """The Span of an .xlsx `<mergeCell ref="…">` (`A5:B8`), its columns counted from the grid's
    first column `first_col` (0-based: the reader starts at the first column holding a value).
    None for a ref that is not a range.

    >>> span_of_ref("C4:C7", first_col=1), span_of_ref("bad")
    (Span(first_row=4, last_row=7, first_col=1, last_col=1), None)
    """
    m = _REF.fullmatch(ref.strip())
    if not m or not m.group(3):
        return None
    r1, r2 = int(m.group(2)), int(m.group(4))
    c1, c2 = column_index(m.group(1)), column_index(m.group(3))
    return Span(min(r1, r2), max(r1, r2), min(c1, c2) - first_col, max(c1, c2) - first_col)


def fill_merged(frame: pl.DataFrame, spans: list[Span], header_line: int) -> tuple[pl.DataFrame, list[MergedColumn]]:
    """`frame` (positional columns c0, c1, … and source_row, its rows the sheet's rows after
    `header_line` in order) with each merged range that starts below the header given its
    top-left value in every cell; and what was filled, per column (see module docstring).
    Ranges reaching past the frame's rows or columns are cut to them."""
    base = header_line + 1
    last = base + frame.height - 1
    width = sum(1 for c in frame.columns if c != "source_row")
    if not spans or frame.height == 0 or frame["source_row"].len() == 0:
        return frame, []
    rows_known = frame["source_row"]
    if rows_known[0] != base or rows_known[-1] != last:  # not the sheet's rows in order: leave it
        return frame, []
    targets: dict[int, tuple[list[int], list[str | None]]] = {}
    counts: dict[int, list[int]] = {}
    for span in sorted(set(spans)):
        if span.first_row < base or span.first_row > last or span.first_col < 0 or span.first_col >= width:
            continue
        r2 = min(span.last_row, last)
        col = span.first_col
        value = frame[f"c{col}"][span.first_row - base]
        rows = list(range(span.first_row + 1 - base, r2 + 1 - base))
        if not rows:
            continue
        indexes, values = targets.setdefault(col, ([], []))
        indexes.extend(rows)
        values.extend([value] * len(rows))
        seen = counts.setdefault(col, [0, 0, span.first_row, r2])
        seen[0] += 1
        seen[1] += len(rows)
    if not targets:
        return frame, []
    filled = frame.with_columns(
        frame[f"c{col}"].clone().scatter(indexes, pl.Series(values, dtype=pl.String)) for col, (indexes, values) in targets.items()
    )
    found = [MergedColumn(col, n, cells, r1, r2) for col, (n, cells, r1, r2) in sorted(counts.items())]
    return filled, found


def merged_message(found: MergedColumn, heading: str) -> str:
    """The CELL_MERGED message of one column (Chinese).

    >>> merged_message(MergedColumn(0, 3, 7, 5, 8), "户编号")
    '「户编号」列有 3 处合并单元格（如第5–8行），已按表格显示的值（合并区域第一格的值）填入其余 7 个单元格；请核对'
    """
    rows = f"第{found.first_row}行" if found.first_row == found.last_row else f"第{found.first_row}–{found.last_row}行"
    return (f"「{heading}」列有 {found.ranges:,} 处合并单元格（如{rows}），已按表格显示的值（合并区域第一格的值）"
            f"填入其余 {found.cells:,} 个单元格；请核对")
