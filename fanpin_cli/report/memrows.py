"""A `constant_memory` workbook that keeps its streamed rows in memory: no temp file at all.

xlsxwriter's `constant_memory` mode streams each worksheet's finished rows into a temp file and,
when the workbook closes, writes every XML part into another temp file before zipping them:
about 35 files created and deleted for a small workbook. Creating and deleting files costs more
than writing a small workbook's cells (slow disks, virus scanners, a loaded server): the eight
乡镇 workbooks of a 3,000-household county spent a third of their time on it. A small workbook
(`small_workbook`) therefore keeps the rows in memory instead (`MemoryRowsWorksheet`: `rowxml`'s
rows as the UTF-8 bytes polars makes, spliced into their part when it is zipped) and its parts in
memory (xlsxwriter's `in_memory` packaging), zipped into memory and written to the file at once:
the same XML, the same cells. Large workbooks keep the temp files (bounded memory).

It reads a few of xlsxwriter's internals (the row file handle and its close/reopen); where they
are missing (another xlsxwriter), `memory_workbook` says so and the temp files are used.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "m.xlsx"
>>> wb = memory_workbook(str(path), {"constant_memory": True})
>>> ws = wb.add_worksheet("a")
>>> ws.write_string(0, 0, "甲"); ws.write_number(1, 0, 2)
0
0
>>> wb.close()
>>> sorted(p.name for p in path.parent.iterdir())
['m.xlsx']
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from xlsxwriter.workbook import Workbook as _XlsxWorkbook
from xlsxwriter.worksheet import Worksheet

from fanpin_cli.report.model import MEMORY_ROWS
from fanpin_cli.report.zipping import Workbook, later

SMALL_ROWS = MEMORY_ROWS  # data rows at most for a workbook written without temp files (~20 MB of XML)

_NEEDED = ("_initialize", "_opt_close", "_opt_reopen", "_write_optimized_sheet_data", "_write_single_row")


class _Worksheet(Worksheet):
    """A worksheet whose XML attributes that are not text (row and column numbers, format
    numbers, widths) are written without trying to escape them: xlsxwriter's
    `_escape_attributes` searches every value for characters to escape and returns a number
    unchanged only after the search raises a TypeError (three per `<col>`, one per formatted
    cell); the same XML."""

    def _escape_attributes(self, attribute: Any) -> Any:
        """`attribute` escaped as xlsxwriter does (anything but text: unchanged, as there).

        >>> from xlsxwriter.worksheet import Worksheet
        >>> [(_Worksheet._escape_attributes(None, v), Worksheet._escape_attributes(None, v)) for v in (3, 2.5, 'a"<')]
        [(3, 3), (2.5, 2.5), ('a&quot;&lt;', 'a&quot;&lt;')]
        """
        if not isinstance(attribute, str):
            return attribute
        return Worksheet._escape_attributes(self, attribute)


class Rows:
    """A memory worksheet's streamed rows, in order: xlsxwriter's as text (`write`), `rowxml`'s
    as the UTF-8 bytes polars holds them in (`write_bytes`), never decoded into text.

    >>> rows = Rows()
    >>> rows.write("<row>"); rows.write_bytes("甲".encode()); rows.write("</row>")
    >>> rows.getvalue().decode()
    '<row>甲</row>'
    """

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.text: list[str] = []

    def write(self, text: str) -> None:
        self.text.append(text)

    def write_bytes(self, data: bytes) -> None:
        self._settle()
        self.parts.append(data)

    def getvalue(self) -> bytes:
        self._settle()
        return b"".join(self.parts)

    def _settle(self) -> None:
        if self.text:
            self.parts.append("".join(self.text).encode("utf-8"))
            self.text = []


class MemoryRowsWorksheet(_Worksheet):
    """A constant_memory worksheet whose streamed rows are kept in memory (`Rows`), not in a temp
    file; its part gets them as bytes when it is zipped (`zipping.later`)."""

    def _initialize(self, init_data: dict[str, Any]) -> None:
        super()._initialize(dict(init_data, constant_memory=False))  # no temp file is made
        self.constant_memory = True
        self.row_data_filename = None
        self.row_data_fh = Rows()
        self.row_data_fh_closed = False
        self.fh = self.row_data_fh

    def _opt_close(self) -> None:
        """The workbook closes: the buffer stays (xlsxwriter would close its temp file)."""

    def _opt_reopen(self) -> None:
        self.fh = self.row_data_fh

    def _write_optimized_sheet_data(self) -> None:
        if self.dim_rowmin is None:
            self._xml_empty_tag("sheetData")
            return
        self._xml_start_tag("sheetData")
        self.fh.write(later(self.row_data_fh.getvalue()))
        self.row_data_fh = Rows()
        self._xml_end_tag("sheetData")


class FileRowsWorksheet(_Worksheet):
    """A constant_memory worksheet (rows in a temp file) whose rows are copied into its part as
    bytes: xlsxwriter reads them back as text and writes them again (decoding and encoding every
    row of a large workbook once more for nothing)."""

    def _write_optimized_sheet_data(self) -> None:
        source = getattr(getattr(self, "row_data_fh", None), "buffer", None)
        target = getattr(self.fh, "buffer", None)
        if self.dim_rowmin is None or source is None or target is None or not getattr(self, "row_data_filename", None):
            super()._write_optimized_sheet_data()
            return
        self._xml_start_tag("sheetData")
        self.fh.flush()
        self.row_data_fh.flush()
        source.seek(0)
        shutil.copyfileobj(source, target, 1 << 20)
        self.row_data_fh.close()
        os.unlink(self.row_data_filename)
        self._xml_end_tag("sheetData")


def file_workbook(path: str, options: dict[str, Any]) -> Workbook:
    """A Workbook with `options` whose constant_memory rows wait in temp files
    (`FileRowsWorksheet`)."""
    workbook = Workbook(path, options)
    if supported():
        workbook.worksheet_class = FileRowsWorksheet
    return workbook


def supported() -> bool:
    """Whether this xlsxwriter has the internals `MemoryRowsWorksheet` replaces."""
    return all(hasattr(Worksheet, name) for name in _NEEDED) and hasattr(_XlsxWorkbook, "worksheet_class")


def small_workbook(rows: int) -> bool:
    """Whether a workbook of `rows` data rows (all its tables together) is written in memory."""
    return rows <= SMALL_ROWS and supported()


def memory_workbook(path: str, options: dict[str, Any]) -> Workbook:
    """A Workbook with `options` whose row streams and parts stay in memory until it is
    written to `path` (constant_memory's row-by-row writing kept)."""
    workbook = Workbook(path, dict(options, in_memory=True))  # parts packaged from memory
    workbook.constant_memory = bool(options.get("constant_memory"))  # in_memory turned it off
    workbook.worksheet_class = MemoryRowsWorksheet
    return workbook
