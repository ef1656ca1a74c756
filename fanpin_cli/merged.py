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
columns 0-based in the grid it read. `fill_merged` fills them in the grid before its header is
looked for (a heading merged down over two header rows names its column in the lower one);
`merged_columns` says, per column, how many ranges and cells were filled in the data rows
(`MergedColumn`): a `CELL_MERGED` quality issue, summary.json's `merged_cells`, a note on the
console and in 汇总.

>>> import polars as pl
>>> frame = pl.DataFrame({"c0": ["户编号", "H1", None, None, "H2"], "c1": ["姓名", "张三", "李四", "王五", "赵六"]})
>>> fill_merged(frame, [Span(3, 5, 0, 0), Span(1, 1, 0, 1)], first_row=2)["c0"].to_list()
['户编号', 'H1', 'H1', 'H1', 'H2']
>>> [(m.column, m.ranges, m.cells, m.first_row) for m in merged_columns([Span(3, 5, 0, 0), Span(1, 1, 0, 1)], 2, 6, 2)]
[(0, 1, 2, 3)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from fanpin_cli.tables import C


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


def fill_merged(frame: pl.DataFrame, spans: list[Span], first_row: int) -> pl.DataFrame:
    """`frame` (a sheet's cells as read: positional text columns, its row k the sheet's row
    `first_row` + k; a `source_row` column is left alone) with each merged range's first
    column given the range's top-left value in every row. Ranges reaching past the frame are
    cut to it.

    Done before the header is looked for, so that a heading merged down over two header rows
    (姓名 over 姓名 and the row of 证件类型, 证件号码 under a merged 证件信息) names its column in
    the lower row too.

    >>> import polars as pl
    >>> frame = pl.DataFrame({"a": ["姓名", None, "张伟"], "b": ["证件信息", "证件号码", "4331…"]})
    >>> fill_merged(frame, [Span(1, 2, 0, 0), Span(1, 1, 1, 2)], first_row=1).rows()
    [('姓名', '证件信息'), ('姓名', '证件号码'), ('张伟', '4331…')]
    """
    columns = [c for c in frame.columns if c != C.source_row]
    last = first_row + frame.height - 1
    targets: dict[int, tuple[list[int], list[str | None]]] = {}
    for span in sorted(set(spans)):
        if not first_row <= span.first_row <= last or not 0 <= span.first_col < len(columns):
            continue
        col = columns[span.first_col]
        rows = list(range(span.first_row + 1 - first_row, min(span.last_row, last) + 1 - first_row))
        if not rows:
            continue
        indexes, values = targets.setdefault(span.first_col, ([], []))
        indexes.extend(rows)
        values.extend([frame[col][span.first_row - first_row]] * len(rows))
    if not targets:
        return frame
    return frame.with_columns(
        frame[columns[k]].cast(pl.String).clone().scatter(indexes, pl.Series(values, dtype=pl.String))
        for k, (indexes, values) in targets.items()
    )


def merged_columns(spans: list[Span], header_line: int, last_row: int, width: int) -> list[MergedColumn]:
    """What `fill_merged` filled in the data rows — the ranges starting below `header_line`,
    cut at `last_row` and to `width` columns — per column: the CELL_MERGED report.

    >>> [(m.column, m.ranges, m.cells) for m in merged_columns([Span(3, 5, 0, 0), Span(1, 2, 1, 1), Span(6, 6, 0, 3)], 2, 9, 4)]
    [(0, 1, 2)]
    """
    counts: dict[int, list[int]] = {}
    for span in sorted(set(spans)):
        end = min(span.last_row, last_row)
        if span.first_row <= header_line or end <= span.first_row or not 0 <= span.first_col < width:
            continue
        seen = counts.setdefault(span.first_col, [0, 0, span.first_row, end])
        seen[0] += 1
        seen[1] += end - span.first_row
    return [MergedColumn(col, n, cells, r1, r2) for col, (n, cells, r1, r2) in sorted(counts.items())]


def merged_message(found: MergedColumn, heading: str) -> str:
    """The CELL_MERGED message of one column (Chinese).

    >>> merged_message(MergedColumn(0, 3, 7, 5, 8), "户编号")
    '「户编号」列有 3 处合并单元格（如第5–8行），已按表格显示的值（合并区域第一格的值）填入其余 7 个单元格；请核对'
    """
    rows = f"第{found.first_row}行" if found.first_row == found.last_row else f"第{found.first_row}–{found.last_row}行"
    return (f"「{heading}」列有 {found.ranges:,} 处合并单元格（如{rows}），已按表格显示的值（合并区域第一格的值）"
            f"填入其余 {found.cells:,} 个单元格；请核对")
