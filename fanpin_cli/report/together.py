"""Several small workbooks (a run's 乡镇 or 村 workbooks) written side by side, each kind of table
once for all of them.

A 乡镇 workbook's tables are a few hundred rows: each polars query that prepares a table's cells,
widths, row heights and row XML costs more in its steps than in its rows (38 ms of CPU a
workbook, more than half of it in ~45 such queries). `write_together` opens the workbooks at
once and writes the rule sheets of all of them with one `batch.write_tables` (the rows of every
workbook's rule, a key naming the workbook and the rule), then 待核实后确定, 应纳未纳, 待核实匹配 and
数据质量 the same way; 汇总 and 质量评分 are written workbook by workbook (`sheets`). Each
workbook's cells are those `writer.write_report` writes: the cell XML made with the first
workbook's formats holds their numbers, which every workbook gives its formats alike
(`formats.Formats`). Workbooks too big for memory (`memrows.small_workbook`) are written one by one.

>>> import tempfile, pathlib
>>> from datetime import date
>>> from fanpin_cli.report.model import RuleInfo
>>> d, empty = pathlib.Path(tempfile.mkdtemp()), pl.DataFrame()
>>> data = ReportData(county="永顺县", period="2026-11", reference_date=date(2026, 11, 30), version="t",
...                   rules=[RuleInfo("MED_UNINSURED", "未参保", "red")], flags=empty, rule_counts=empty,
...                   area_counts=empty, quality=empty, review=empty)
>>> write_together([d / "a.xlsx", d / "b.xlsx"], [data, data])
>>> sorted(p.name for p in d.iterdir())
['a.xlsx', 'b.xlsx']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any

import polars as pl
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from fanpin_cli.report import sheets
from fanpin_cli.report.batch import write_tables
from fanpin_cli.report.formats import Formats
from fanpin_cli.report.memrows import memory_workbook, small_workbook
from fanpin_cli.report.model import CANDIDATE_RULES, ReportData
from fanpin_cli.report.table import Col, Table
from fanpin_cli.report.writer import (
    WORKBOOK_OPTIONS,
    close_workbook,
    complete_sheets,
    data_rows,
    drop_workbook,
    open_sheets,
    temp_path,
    write_report,
    writing_errors,
)
from fanpin_cli.tables import C

MOST_BOOKS = 16  # workbooks open at once


def write_together(paths: list[Path], datas: Iterable[ReportData]) -> None:
    """Write the workbook of each of `datas` (split "none", no summary.html) to its path of
    `paths`, as `write_report` would, side by side (see module docstring); each replaced
    atomically. `datas` is taken one at a time (give a generator: an area's rows are then made
    when its turn comes). Held at once: at most MOST_BOOKS workbooks and `memrows.SMALL_ROWS`
    data rows (what one workbook written in memory may hold); beyond, the next ones are written
    together after them; one alone (or too big for memory) by `write_report`."""
    batch: list[tuple[Path, ReportData]] = []
    held = 0  # the batch's data rows
    for path, data in zip(paths, datas, strict=True):
        rows = data_rows(data)
        if not (small_workbook(rows) and data.split == "none" and not data.html):
            write_report(path, data)
            continue
        if len(batch) == MOST_BOOKS or not small_workbook(held + rows):
            _write_batch(batch)
            batch, held = [], 0
        batch.append((Path(path), data))
        held += rows
    _write_batch(batch)


def _write_batch(batch: list[tuple[Path, ReportData]]) -> None:
    """`write_together` of workbooks that fit in memory together; none left behind when one fails."""
    if len(batch) < 2:
        for path, data in batch:
            write_report(path, data)
        return
    books: list[_Book] = []

    def abort() -> None:
        for b in books:
            b.abort()

    # errors said as `write_report` says them, naming the folder the workbooks go to; every
    # workbook closed (complete at its temp path) before any is moved into place
    with writing_errors(batch[0][0].parent, abort):
        for path, data in batch:
            books.append(_Book(path, data))
        _rule_sheets(books)
        _one_table(books, _pending_table, _finish_pending)
        _one_table(books, _candidates_table, _finish_candidates)
        _one_table(books, _review_table, _finish_review, sheets.review_highlight)
        _one_table(books, _quality_table, _finish_quality)
        for b in books:
            b.complete()
        for b in books:
            b.close()
    for b in books:
        os.replace(b.tmp, b.path)


class _Book:
    """One workbook being written: its sheets made in `ReportWriter`'s order, their data."""

    def __init__(self, path: Path, data: ReportData) -> None:
        self.path, self.data, self.tmp = path, data, temp_path(path)
        self.wb: Any = memory_workbook(str(self.tmp), WORKBOOK_OPTIONS)
        self.opening = opening = open_sheets(self.wb, data)
        self.fm = opening.fm
        add = self.wb.add_worksheet
        self.rule_sheets = [(add(opening.sheet_of_rule[r.rule_id]), r)
                            for r in opening.rules if r.rule_id not in CANDIDATE_RULES]
        self.pending_sheet = add(sheets.PENDING)
        self.candidates_sheet = add(sheets.CANDIDATES)
        self.review = add(sheets.REVIEW)
        self.quality_sheet = add(sheets.QUALITY)

    def complete(self) -> None:
        """质量评分, 账账相符 and 汇总, as `ReportWriter._complete` writes them."""
        complete_sheets(self.wb, self.opening, self.data, self.opening.rules)

    def close(self) -> None:
        """The workbook complete at its temp path (moved into place by the caller)."""
        workbook, self.wb = self.wb, None
        close_workbook(workbook)

    def abort(self) -> None:
        """The workbook dropped: closed, nothing of it left on disk (its temp file removed,
        closed or not)."""
        workbook, self.wb = self.wb, None
        drop_workbook(workbook, self.tmp)


# One workbook's rows for some of its sheets: the columns, the rows (a `_key` column naming the
# sheet of each), the sheets with their keys.
_Part = tuple[list[Col], pl.DataFrame, list[tuple[Worksheet, str]]]
Highlight = Callable[[list[Col], Formats], dict[int, tuple[pl.Expr, Format]]]


def _together(books: list[_Book], parts: list[_Part], highlight: Highlight | None = None) -> dict[int, Table]:
    """`batch.write_tables` of the parts whose columns are the same, at once (with the first
    book's formats; `highlight(columns, formats)`: as `write_table` takes it): each sheet's
    Table, by `id` of the sheet."""
    groups: dict[tuple, list[_Part]] = {}
    for cols, frame, sheets_ in parts:
        # the columns the table reads (and each sheet's key), of the same types in every part
        # written together: the concatenation changes no value
        read = {n for c in cols if c.expr is not None for n in c.expr.meta.root_names()} | {"_key"}
        frame = frame.select(n for n in frame.columns if n in read)
        groups.setdefault((_same(cols), tuple(frame.schema.items())), []).append((cols, frame, sheets_))
    tables: dict[int, Table] = {}
    for members in groups.values():
        rows = pl.concat([frame for _, frame, _ in members], how="vertical")
        written = [s for _, _, sheets_ in members for s in sheets_]
        cols, fm = members[0][0], books[0].fm
        done = write_tables(fm, cols, rows, "_key", written, columns=True,
                            highlight=highlight(cols, fm) if highlight is not None else None)
        tables.update((id(ws), table) for (ws, _), table in zip(written, done, strict=True))
    return tables


def _same(cols: list[Col]) -> tuple:
    """What makes two tables' columns the same: every field of every column, the expressions
    by what they compute (`Expr.meta`).

    >>> _same([Col("甲", pl.col("a"))]) == _same([Col("甲", pl.col("a"))]) != _same([Col("甲", pl.col("b"))])
    True
    """
    def value(v: object) -> object:
        return v.meta if isinstance(v, pl.Expr) else v

    return tuple(tuple(value(getattr(c, f.name)) for f in fields(Col)) for c in cols)


def _rule_sheets(books: list[_Book]) -> None:
    """Every book's rule sheets, as `sheets.write_rule_sheets` writes them: a book's rules with
    and without a history status (their columns differ) as two parts."""
    parts: list[_Part] = []
    for b, book in enumerate(books):
        flags = book.opening.confirmed
        with_history: set[str] = set()
        if "status" in flags.columns and flags.height:
            counted = flags.group_by(C.rule_id).agg(pl.col("status").is_not_null().any())
            with_history = {r for r, any_status in counted.iter_rows() if any_status}
        keyed = flags.with_columns(pl.concat_str([pl.lit(f"{b}\x1f"), pl.col(C.rule_id)]).alias("_key"))
        for history in (True, False):
            sheets_ = [(ws, f"{b}\x1f{r.rule_id}") for ws, r in book.rule_sheets if (r.rule_id in with_history) == history]
            if sheets_:
                parts.append((sheets.rule_columns(flags if history else flags.clear()), keyed, sheets_))
    tables = _together(books, parts)
    for part in parts:
        cols = part[0]
        for ws, key in part[2]:
            book = books[int(key.split("\x1f", 1)[0])]
            rule = next(r for w, r in book.rule_sheets if w is ws)
            sheets._finish_rule_sheet(ws, book.fm, rule, tables[id(ws)], cols, book.data)


def _one_table(books: list[_Book], table_of: Callable[[_Book], tuple[Worksheet, list[Col], pl.DataFrame]],
               finish: Callable[[_Book, Worksheet, Table, list[Col]], None], highlight: Highlight | None = None) -> None:
    """One sheet of every book (`table_of`: its sheet, columns and rows) written together, each
    then finished (`finish`)."""
    made = [(book, *table_of(book)) for book in books]
    parts: list[_Part] = [(cols, rows.with_columns(pl.lit(str(b)).alias("_key")), [(ws, str(b))])
                          for b, (_, ws, cols, rows) in enumerate(made)]
    tables = _together(books, parts, highlight)
    for book, ws, cols, _ in made:
        finish(book, ws, tables[id(ws)], cols)


def _pending_table(book: _Book) -> tuple[Worksheet, list[Col], pl.DataFrame]:
    rows = sheets.pending_rows(book.opening.pending)
    return book.pending_sheet, sheets.pending_columns(rows), rows


def _finish_pending(book: _Book, ws: Worksheet, table: Table, cols: list[Col]) -> None:
    sheets.finish_pending(ws, book.fm, table, cols, book.data)


def _candidates_table(book: _Book) -> tuple[Worksheet, list[Col], pl.DataFrame]:
    rows = sheets.candidate_rows(book.opening.candidates)
    return book.candidates_sheet, sheets.candidate_columns(rows), rows


def _finish_candidates(book: _Book, ws: Worksheet, table: Table, cols: list[Col]) -> None:
    sheets.finish_candidates(ws, book.fm, table, cols, book.data)


def _review_table(book: _Book) -> tuple[Worksheet, list[Col], pl.DataFrame]:
    rows, cols = sheets.review_table(book.data.review)
    return book.review, cols, rows


def _finish_review(book: _Book, ws: Worksheet, table: Table, cols: list[Col]) -> None:
    sheets.finish_review(ws, book.fm, table, cols, book.data)


def _quality_table(book: _Book) -> tuple[Worksheet, list[Col], pl.DataFrame]:
    data = book.data
    quality = data.quality if data.quality_detail is None else data.quality_detail
    rows, cols = sheets.quality_table(quality, data)
    return book.quality_sheet, cols, rows


def _finish_quality(book: _Book, ws: Worksheet, table: Table, cols: list[Col]) -> None:
    sheets.finish_quality(ws, book.fm, table, cols, book.data)

