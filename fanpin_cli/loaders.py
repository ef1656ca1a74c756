"""Read sector extracts as they arrive: CSV (UTF-8, BOM, GBK/GB18030), .xlsx and .xls — and
what government systems save under an Excel name (CSV, HTML tables, XML Spreadsheet 2003):
a file is read as what its bytes say it is (`filekind.sniff`), not as its name says.

Every cell is read as text (no numeric type ever touches an ID), the header row is found
below any title rows, headings are mapped to canonical fields, and each row keeps the row
number a person sees when opening the file (`source_row`, 1-based; title and header rows
count; for CSV the header line is counted like any other line, and CR, LF and CRLF each end a
line, mixed in one file or not). Rows that are not records (totals, footers, notes, repeated
headers: `nondata`) are listed apart with a reason, like blank rows; duplicate headings and
rows longer than the header are reported as quality issues (`LoadedFile.issues`). An .xlsx
sheet's size is checked before it is read (`sheetsize`).

>>> from pathlib import Path
>>> loaded = load_file(Path("sample_data/公安_户籍注销.csv"), "police")  # doctest: +SKIP
>>> loaded.frame.columns[:3]  # doctest: +SKIP
['name', 'id_number', 'dereg_reason']
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import io
import os
import re
import stat
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from fanpin_cli import fields as _fields
from fanpin_cli.errors import InputFileError
from fanpin_cli.fields import FIELD_TITLES, REQUIRED_COLUMNS, SECTORS, alias_lookup, heading_key
from fanpin_cli.filekind import NOT_EXCEL, Kind, sniff
from fanpin_cli.filldown import fill_down
from fanpin_cli.merged import Span, fill_merged, merged_columns, merged_message, span_of_ref
from fanpin_cli.nondata import find_non_data
from fanpin_cli.notes import filled_down_text
from fanpin_cli.sheetsize import MAX_CELLS, ChunkScan, column_name, xlsx_sheet_size
from fanpin_cli.values import AMOUNT_FIELDS, amounts_in_yuan, heading_unit

HEADER_SCAN_ROWS = 30
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
UNNAMED = "未命名列"


@dataclass
class LoadedFile:
    """One input file, read and mapped.

    `frame` holds the canonical fields (and every unmapped column under its own heading), all
    as text, plus `source_file` and `source_row`; fully blank rows are not in it but are
    counted in `blank_rows`, and rows that are not records (合计, 填表人, notes, repeated
    headers) are listed in `non_data_rows` as `{"row": n, "reason": "…"}`. `issues` holds the
    quality issues found while reading (duplicate headings, rows longer than the header), in
    the columns of `quality.ISSUE_COLUMNS`; `kind` is what the file really is.
    """

    path: Path
    source_file: str
    sector: str
    frame: pl.DataFrame
    headings: dict[str, str]
    header_row: int
    sheet: str | None = None
    encoding: str | None = None
    blank_rows: list[int] = field(default_factory=list)
    sha256: str = ""
    non_data_rows: list[dict[str, int | str]] = field(default_factory=list)
    issues: pl.DataFrame | None = None
    kind: str = ""
    # Merged ranges in the data rows, filled with their shown value (`merged`): per column
    # {column, ranges, cells, first_row, last_row}.
    merged_cells: list[dict[str, Any]] = field(default_factory=list)
    # Amount columns whose heading names another unit than 元 (人均纯收入（万元）), converted to 元:
    # {column, field, unit, factor}.
    amount_units: list[dict[str, Any]] = field(default_factory=list)
    # A roster's member rows whose 户编号 (乡镇, 村) was blank under their head's row, filled
    # (`filldown`): per column {column, field, cells, first_row, last_row}.
    filled_down: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows_read(self) -> int:
        """Data rows in the file (blank rows and non-data rows excluded)."""
        return self.frame.height

    def heading(self, canonical: str) -> str:
        """The file's own heading for a canonical field (for messages)."""
        return self.headings.get(canonical, FIELD_TITLES.get(canonical, canonical))


def decode_text(data: bytes, name: str | None = None, *, original: bytes | None = None) -> tuple[str, str]:
    """The encoding — `utf-8-sig`, `utf-8` or `gb18030` (a superset of GBK and GB2312) — and
    the text, decoded once. `original`: the bytes as the file holds them when `data` is them
    with line ends normalised (0x0D is never part of a multi-byte character, so both decode
    alike): an error then names the byte of the file.

    >>> decode_text("姓名".encode("gbk"))
    ('gb18030', '姓名')
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig", _decode(data, "utf-8-sig", name)
    # A file whose first 64 KB are not UTF-8 is not tried as UTF-8 whole: a failed attempt
    # costs as much as a decoding (and its error holds a copy of the file).
    for encoding in ("utf-8", "gb18030") if _may_be_utf8(data[:_SNIFF]) else ("gb18030",):
        try:
            return encoding, data.decode(encoding)
        except UnicodeDecodeError as exc:
            error = exc
    if original is not None:
        try:
            original.decode("gb18030")
        except UnicodeDecodeError as exc:
            error = exc
    raise InputFileError(
        f"无法识别文件编码（不是 UTF-8 或 GBK/GB18030，位置 {error.start} 字节），请另存为 UTF-8 或 GBK 的 CSV",
        file=name,
    ) from error


_SNIFF = 64 << 10


def _may_be_utf8(head: bytes) -> bool:
    """Whether `head`, the start of a file, is UTF-8 (a character cut at its end allowed).

    >>> _may_be_utf8("姓名".encode()[:-1]), _may_be_utf8("姓名".encode("gbk"))
    (True, False)
    """
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decode(data: bytes, encoding: str, name: str | None) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputFileError(f"不能按编码 {encoding} 读取文件", file=name) from exc


def _score_row(cells: list[str | None], lookup: dict[str, str]) -> int:
    hits = {hit[0] for hit in (_fields.match_in(lookup, c) for c in cells if c) if hit}
    return len(hits)


def find_header(rows: list[list[str | None]], lookup: dict[str, str]) -> int | None:
    """Index of the row that looks most like a header (most cells naming known fields).

    >>> find_header([["永顺县低保名单"], ["姓名", "身份证号码", "救助类型"]], alias_lookup("civil_affairs"))
    1
    """
    best, best_score = None, 0
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        score = _score_row(row, lookup)
        if score > best_score:
            best, best_score = i, score
    return best


# Column names a file's own heading cannot take: the loader's (a heading "source_row" gets a suffix).
_RESERVED = ("source_row", "source_file")


def _unique_headings(cells: list[str | None]) -> list[str]:
    """One column name per heading: a repeated heading gets `_2`, `_3`, … — a suffix no other
    heading holds already (`备注, 备注_2, 备注`: the third is 备注_3).

    >>> _unique_headings(["备注", "备注_2", "备注", None, "source_row"])
    ['备注', '备注_2', '备注_3', '未命名列4', 'source_row_2']
    """
    taken = set(_RESERVED)
    names = []
    for i, cell in enumerate(cells):
        name = _free_name((cell or "").strip() or f"{UNNAMED}{i + 1}", taken)
        taken.add(name)
        names.append(name)
    return names


def _free_name(base: str, taken: set[str]) -> str:
    """`base`, else `base_2`, `base_3`, … — the first that `taken` does not hold.

    >>> _free_name("备注", {"备注", "备注_2"})
    '备注_3'
    """
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    return name


def _clear_of(mapping: dict[str, str], columns: list[str]) -> dict[str, str]:
    """New names for the unmapped columns whose heading is the name a mapped column takes (a file
    with 姓名 and an English `name` beside it): `name_2`, …, free of every other name.

    >>> _clear_of({"姓名": "name"}, ["姓名", "name", "name_2"])
    {'name': 'name_3'}
    """
    targets = set(mapping.values())
    taken = set(columns) | targets | set(_RESERVED)
    renamed = {}
    for column in columns:
        if column not in mapping and column in targets:
            renamed[column] = _free_name(column, taken)
            taken.add(renamed[column])
    return renamed


def _sniff_separator(line: str) -> str:
    counts = {sep: line.count(sep) for sep in (",", "\t", ";", "|")}
    sep = max(counts, key=lambda s: counts[s])
    return sep if counts[sep] > 0 else ","


def normalise_line_ends(data: bytes) -> bytes:
    """CR-only and mixed line endings become LF, as every spreadsheet program reads them
    (CRLF alone is left as it is). Safe for UTF-8 and GB18030: 0x0D is never part of a
    multi-byte character there.

    >>> normalise_line_ends(b"a\\r\\nb\\rc\\n")
    b'a\\nb\\nc\\n'
    """
    crs = data.count(b"\r")
    if crs == 0 or crs == data.count(b"\r\n"):
        return data
    return re.sub(rb"\r\n?", b"\n", data)


def _read_csv(
    data: bytes, name: str, lookup: dict[str, str], encoding: str | None, header_row: int | None
) -> tuple[list[str | None], pl.DataFrame, int, str]:
    """Return header cells, data rows (all text, positional columns), header line (1-based)
    and the encoding used."""
    original, data = data, normalise_line_ends(data)
    if encoding:
        text = _decode(data, encoding, name)
    else:
        encoding, text = decode_text(data, name, original=original)
    if text.startswith("\ufeff"):
        text = text[1:]
    # the first lines only: a split of the whole text would copy all of it (~0.1 s per 50 MB)
    head_lines = text[:_line_offset(text, HEADER_SCAN_ROWS + 1)].split("\n")[: HEADER_SCAN_ROWS + 1]
    separator = _sniff_separator(max(head_lines[:HEADER_SCAN_ROWS], key=len) if head_lines else "")
    if header_row is None:
        parsed = list(csv.reader(io.StringIO("\n".join(head_lines[:HEADER_SCAN_ROWS])), delimiter=separator))
        index = find_header(parsed, lookup)
        if index is None:
            raise InputFileError("前 30 行中找不到表头（没有可识别的列名，如“姓名”“身份证号码”），请用 header_row 指定表头所在行", file=name)
        header_line = _physical_line(head_lines[:HEADER_SCAN_ROWS], index, separator)
    else:
        header_line = header_row
    offset = _line_offset(text, header_line - 1)
    # The body as UTF-8 bytes from `start` of `buf`, never copied as text (~0.1 s per 50 MB).
    if encoding in ("utf-8", "utf-8-sig"):  # already UTF-8: hand polars the original bytes
        buf, start = data, len(text[:offset].encode("utf-8")) + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
    else:
        buf, start = text.encode("utf-8"), len(text[:offset].encode("utf-8"))
    raw = memoryview(buf)[start:]

    def read(width: int | None = None) -> pl.DataFrame:
        wide = {"schema": {f"c{i}": pl.String for i in range(width)}, "missing_columns": "insert"} if width else {}
        return pl.read_csv(io.BytesIO(raw), has_header=False, infer_schema=False, separator=separator,
                           raise_if_empty=False, **wide)

    try:
        try:
            frame = read()
        except pl.exceptions.ComputeError as exc:
            if "more fields" not in str(exc):
                raise
            # rows longer than the header: read them whole (reported as ROW_RAGGED, never cut)
            frame = read(max(map(len, csv.reader(io.StringIO(text[offset:]), delimiter=separator))))
    except pl.exceptions.PolarsError as exc:
        # a quote inside a field that is not quoted (`普通居民"`): a spreadsheet reads it as a
        # character, polars as a field's start. Read as Python's csv (and Excel) reads it.
        frame = _csv_as_spreadsheets_read_it(text[offset:], separator)
        if frame is None:
            raise InputFileError(f"CSV 格式无法解析：{str(exc).splitlines()[0]}", file=name) from exc
    if frame.height == 0:
        raise InputFileError(f"第{header_line}行之后没有内容", file=name)
    # the header line's own fields, an empty one as "" (its column untitled), the fields only
    # longer rows have as None
    own = len(next(csv.reader(io.StringIO(text[offset:offset + (1 << 16)]), delimiter=separator), []))
    header = [("" if c is None else c) if i < own else c for i, c in enumerate(frame.row(0))]
    frame = frame.slice(1)
    frame.columns = [f"c{i}" for i in range(frame.width)]
    rows = _csv_row_numbers(buf, start, lambda: text[offset:], frame.height, header_line, separator, name)
    return header, frame.with_columns(pl.Series("source_row", rows, dtype=pl.Int64)), header_line, encoding


def _physical_line(lines: list[str], index: int, separator: str) -> int:
    """1-based physical line on which parsed record `index` starts (a quoted heading can span
    lines: `"证件号码⏎(必填)"`; the body is cut from this line, so the whole header is read)."""
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=separator)
    start = 1
    for i, _ in enumerate(reader):
        if i == index:
            return start
        start = reader.line_num + 1
    return index + 1


def _line_offset(text: str, skip: int) -> int:
    """Character offset of physical line `skip` (0-based)."""
    pos = 0
    for _ in range(skip):
        nxt = text.find("\n", pos)
        if nxt < 0:
            return len(text)
        pos = nxt + 1
    return pos


def _csv_as_spreadsheets_read_it(body: str, separator: str) -> pl.DataFrame | None:
    """`body` (the header line on) read by Python's csv module: every field text (empty: null),
    positional columns as wide as the widest row; None where it cannot be read either.

    >>> _csv_as_spreadsheets_read_it('姓名,类型' + chr(10) + '张三,普通居民"' + chr(10), ",").rows()
    [('姓名', '类型'), ('张三', '普通居民"')]
    """
    try:
        rows = list(csv.reader(io.StringIO(body), delimiter=separator))
    except csv.Error:
        return None
    width = max(map(len, rows), default=0)
    columns = {f"c{i}": [row[i] if i < len(row) and row[i] != "" else None for row in rows] for i in range(width)}
    return pl.DataFrame(columns, schema={c: pl.String for c in columns})


def _csv_row_numbers(buf: bytes, start: int, body: Callable[[], str], n_rows: int, header_line: int, separator: str,
                     name: str) -> range | list[int]:
    """Row numbers of the data rows, the body being `buf[start:]` (UTF-8; `body()` gives it as
    text). Fast path: one line per row (counted in the bytes); otherwise ask `csv`.

    >>> list(_csv_row_numbers(b"title\\nh,n\\n\\xe5\\xbc\\xa0,1\\n", 6, lambda: "h,n\\n\\u5f20,1\\n", 1, 2, ",", "f.csv"))
    [3]
    >>> _csv_row_numbers(b'h,n\\n"a\\nb",1\\nc,2', 0, lambda: 'h,n\\n"a\\nb",1\\nc,2', 2, 1, ",", "f.csv")
    [2, 4]
    """
    lines = buf.count(b"\n", start) + (0 if buf.endswith(b"\n", start) else 1)
    if lines - 1 == n_rows:
        return range(header_line + 1, header_line + 1 + n_rows)
    numbers: list[int] = []
    reader = csv.reader(io.StringIO(body()), delimiter=separator)
    next_start = 1
    for i, _ in enumerate(reader):
        if i > 0:
            numbers.append(header_line - 1 + next_start)
        next_start = reader.line_num + 1
    if len(numbers) != n_rows:
        raise InputFileError("CSV 的行数与解析结果不一致（可能有未闭合的引号），请检查文件", file=name)
    return numbers


def _xlsx_first_row(path: Path, sheet_index: int) -> int:
    """1-based number of the first row holding a value (calamine starts its range there)."""
    try:
        with zipfile.ZipFile(path) as zf:
            sheets = sorted(
                (n for n in zf.namelist() if re.match(r"xl/worksheets/sheet\d+\.xml$", n)),
                key=lambda n: int(re.findall(r"\d+", n)[-1]),
            )
            target = _xlsx_sheet_part(zf, sheet_index) or (sheets[sheet_index] if sheet_index < len(sheets) else None)
            if target is None:
                return 1
            with zf.open(target) as fh:
                # the first 64 KB hold the first rows with a value (a title, the header) in
                # all but odd sheets; the rest of the 4 MB read only when they do not
                head = fh.read(64 << 10)
                first = _first_filled_row(head.decode("utf-8", errors="ignore"))
                if first is not None or len(head) < 64 << 10:
                    return first or 1
                chunk = (head + fh.read((4 << 20) - len(head))).decode("utf-8", errors="ignore")
    except (zipfile.BadZipFile, OSError, KeyError):
        return 1
    return _first_filled_row(chunk) or 1


def first_filled_rows(path: Path, kind: Kind, count: int) -> list[int]:
    """For each of the `count` sheets, the 1-based number of its first row holding a value:
    where fastexcel (calamine) starts the rows it gives, in an .xlsx (`kind` "xlsx"), an .ods (a
    zip too: its content.xml walked once for every sheet, `ods_first_rows`) or an .xls (`kind`
    "xls"); 1 where it cannot tell.

    >>> import tempfile
    >>> first_filled_rows(Path(tempfile.mkdtemp()) / "none.xls", "xls", 2)
    [1, 1]
    """
    if kind == "xls":
        return _xls_first_rows(path, list(range(count)))
    ods = ods_first_rows(path)
    if ods is not None:
        return (ods + [1] * count)[:count]
    return [_xlsx_first_row(path, i) for i in range(count)]


def _first_filled_row(xml: str) -> int | None:
    """The number of the first whole `<row>` of `xml` (the start of a sheet's XML) holding a
    value; None when none does. A row cut at the end of `xml` is not read (so the first rows of
    a longer start give the same answer).

    >>> _first_filled_row('<row r="1"><c r="A1"/></row><row r="2"><c r="A2"><v>3</v></c></row><row r="3"><c')
    2
    >>> _first_filled_row('<row r="1"><c r="A1"/></row><row r="2"><c r="A2"><v>3</v>') is None
    True
    """
    for match in re.finditer(r'<row\b[^>]*?\br="(\d+)"[^>]*?(?:/>|>(.*?)</row>)', xml, re.S):
        body = match.group(2) or ""
        if re.search(r"<v>[^<]|<is>|<t[^>]*>[^<]", body):
            return int(match.group(1))
    return None


# A number cell as large as an ID: 4.33127201309269E+017 (LibreOffice), 4.3312719900101101E+17
# (Excel), 433127199001011234. Shorter numbers (amounts, years, 15-digit IDs) are exact.
_LONG_NUMBER = re.compile(rb"<v>([0-9](?:\.[0-9]+)?[Ee]\+?0?1[5-9]|[0-9]{16,20}(?:\.0+)?)</v>")
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]+)"')
_CHUNK = 16 << 20
_NUMBER_CELLS = {"source_row": pl.Int64, "value": pl.Float64, "written": pl.String}


class LongNumbers:
    """Collects the number cells of 16+ digits from chunks of a sheet's XML (consecutive chunks
    overlapping by 512 bytes), so that one pass over the XML serves the size check as well.

    >>> c = LongNumbers(); c.feed(b'<c r="B7"><v>4.33127201309269E+017</v></c>'); c.frame()["source_row"].to_list()
    [7]
    """

    pattern = _LONG_NUMBER

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.written: list[str] = []

    def feed(self, data: bytes, may: bool = True) -> None:
        """Collect the chunk's long number cells; `may` False: the chunk surely holds none
        (`sheetsize.may_match`; most do not), so it is not scanned."""
        if not may:
            return
        for match in _LONG_NUMBER.finditer(data):
            start = data.rfind(b"<c ", max(0, match.start() - 200), match.start())
            cell = _CELL_ROW.match(data, start) if start >= 0 else None
            if cell:
                self.rows.append(int(cell.group(1)))
                self.written.append(match.group(1).decode("ascii"))

    def frame(self) -> pl.DataFrame:
        frame = pl.DataFrame({"source_row": self.rows, "written": self.written},
                             schema={"source_row": pl.Int64, "written": pl.String})
        frame = frame.with_columns(pl.col("written").cast(pl.Float64, strict=False).alias("value"))
        return frame.select(list(_NUMBER_CELLS)).unique(maintain_order=True)  # the 512-byte overlap


_MERGE_CELL = re.compile(rb'<mergeCell\b[^>]*?\bref="([^"]+)"')


class SheetScan:
    """The scans done in the sheet XML's one pass (`check_xlsx_size`): its long number cells
    (`LongNumbers`) and its merged ranges (`<mergeCell ref="A5:A8"/>`, see `merged`).

    >>> scan = SheetScan(); scan.feed(b'<v>4.33127201309269E+017</v><mergeCells><mergeCell ref="A5:A8"/>')
    >>> scan.merged, scan.numbers.rows
    (['A5:A8'], [])
    """

    pattern = re.compile(_LONG_NUMBER.pattern + rb"|<mergeCell\b")

    def __init__(self) -> None:
        self.numbers = LongNumbers()
        self.merged: list[str] = []

    def feed(self, data: bytes, may: bool = True) -> None:
        if not may:
            return
        self.numbers.feed(data)
        for match in _MERGE_CELL.finditer(data):
            ref = match.group(1).decode("ascii", errors="replace")
            if ref not in self.merged[-64:]:  # (consecutive chunks overlap by 512 bytes)
                self.merged.append(ref)


def xlsx_long_number_cells(path: Path, sheet_index: int) -> pl.DataFrame:
    """Number cells of 16+ digits: row number, value as a double and the number as the file
    writes it (its significant digits tell how much of an ID survived, see `idnum`).

    A spreadsheet keeps 15 significant digits, so such a cell is an ID that was already
    damaged (typed into a General cell, or a CSV opened with default column types). Text
    cells never match. The sheet XML is streamed in chunks.
    """
    collector = LongNumbers()
    try:
        with zipfile.ZipFile(path) as zf:
            part = _xlsx_sheet_part(zf, sheet_index)
            if part is None:
                return collector.frame()
            with zf.open(part) as fh:
                tail = b""
                while chunk := fh.read(_CHUNK):
                    data = tail + chunk
                    collector.feed(data)
                    tail = data[-512:]
    except (zipfile.BadZipFile, OSError, KeyError):
        return LongNumbers().frame()
    return collector.frame()


def xls_long_number_cells(path: Path, sheet_index: int) -> pl.DataFrame:
    """Number cells of an .xls sheet (BIFF) at least 10^15: row number and value. BIFF holds
    the double itself, so `written` is its exact decimal expansion."""
    empty = pl.DataFrame(schema=_NUMBER_CELLS)
    try:
        import xlrd

        book = xlrd.open_workbook(str(path), on_demand=True)
        sheet = book.sheet_by_index(sheet_index)
        rows: list[int] = []
        values: list[float] = []
        for r in range(sheet.nrows):
            for kind, value in zip(sheet.row_types(r), sheet.row_values(r), strict=False):
                if kind == xlrd.XL_CELL_NUMBER and value >= 1e15:
                    rows.append(r + 1)
                    values.append(float(value))
    except Exception:  # noqa: BLE001 - cell types are best effort; fastexcel reports real errors
        return empty
    frame = pl.DataFrame({"source_row": rows, "value": values}, schema={"source_row": pl.Int64, "value": pl.Float64})
    return frame.with_columns(
        pl.col("value").cast(pl.Int64, strict=False).cast(pl.String).alias("written")
    ).select(list(_NUMBER_CELLS)).unique(maintain_order=True)


# A 户编号 written as a number: Excel and LibreOffice keep 15 significant digits, so every
# 16-digit number ends in 0 and the households of a village that differ in the last digit become
# one. Written as text in a CSV file it reads `4.33127E+15`.
_E_NOTATION = r"^[0-9](?:\.[0-9]+)?[eE][+]?[0-9]+$"


def household_numbers_lost(frame: pl.DataFrame, numbers: pl.DataFrame | None) -> tuple[int, int | None, str | None]:
    """How many 户编号 cells of `frame` lost digits by being stored as numbers — 16-digit number
    cells (`numbers`: the sheet's long number cells) that all end in 0, or texts in E-notation —
    and the first one's row and text (0, None, None where none did). Numbers stored whole (one of
    them not ending in 0: written by a program, not by a spreadsheet) lost nothing.

    >>> f = pl.DataFrame({"source_row": [5, 6], "household_id": ["4331270100100000", "4.33127E+15"]})
    >>> household_numbers_lost(f, pl.DataFrame({"source_row": [5], "value": [4331270100100000.0],
    ...                                         "written": ["4.3312701001E+15"]}))
    (2, 5, '4331270100100000')
    """
    if "household_id" not in frame.columns or frame.height == 0:
        return 0, None, None
    text = pl.col("household_id").str.strip_chars()
    lost = text.str.contains(_E_NOTATION).fill_null(False)
    if numbers is not None and numbers.height:
        cells = frame.select("source_row", text.alias("text"), text.cast(pl.Float64, strict=False).alias("value")).join(
            numbers.select("source_row", "value").unique(), on=["source_row", "value"], how="semi")
        cells = cells.filter(pl.col("text").str.contains(r"^[0-9]{16,}$"))
        if cells.height and cells["text"].str.ends_with("0").all():
            lost = lost | pl.col("source_row").is_in(cells["source_row"].implode())
    hits = frame.filter(lost).select("source_row", "household_id")
    if hits.height == 0:
        return 0, None, None
    return hits.height, int(hits["source_row"][0]), str(hits["household_id"][0])


def _mark_number_ids(frame: pl.DataFrame, numbers: pl.DataFrame | None) -> pl.DataFrame:
    """Add `id_number_cell`: "number" where the ID cell was a long number cell (its text then
    becomes the number as the file writes it), "text" for the other cells, "unknown" when the
    cell types could not be read (`numbers` None)."""
    if "id_number" not in frame.columns:
        return frame
    if numbers is None:
        return frame.with_columns(pl.lit("unknown").alias("id_number_cell"))
    if numbers.height == 0:  # (the usual case: no join over every row)
        return frame.with_columns(pl.lit("text").alias("id_number_cell"))
    as_float = pl.col("id_number").str.strip_chars().cast(pl.Float64, strict=False)
    hits = numbers.with_columns(pl.lit("number").alias("id_number_cell"))
    joined = frame.with_columns(as_float.alias("value")).join(
        hits, on=["source_row", "value"], how="left", maintain_order="left")
    if numbers.select("source_row", "value").is_duplicated().any():  # a row met twice: its first kept
        joined = joined.unique(subset=["source_row"], keep="first", maintain_order=True)
    return (
        joined
        .with_columns(
            pl.coalesce("written", "id_number").alias("id_number"),
            pl.col("id_number_cell").fill_null("text"),
        )
        .drop("value", "written")
    )


def _xlsx_sheet_part(zf: zipfile.ZipFile, sheet_index: int) -> str | None:
    """The worksheet part of the sheet at `sheet_index` in workbook order."""
    try:
        workbook = zf.read("xl/workbook.xml").decode("utf-8", errors="ignore")
        rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", errors="ignore")
    except KeyError:
        return None
    ids = re.findall(r'<sheet\b[^>]*?r:id="([^"]+)"', workbook)
    if sheet_index >= len(ids):
        return None
    for rel in re.finditer(r"<Relationship\b[^>]*>", rels):
        tag = rel.group(0)
        if f'Id="{ids[sheet_index]}"' in tag:
            target = re.search(r'Target="([^"]+)"', tag)
            if target:
                path = target.group(1).lstrip("/")
                return path if path.startswith("xl/") else f"xl/{path}"
    return None


_ODS_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_ODS_VALUE_TYPE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}value-type"
_ODS_VALUE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}value"


def ods_layout(path: Path, sheet_index: int) -> tuple[int, list[str], pl.DataFrame] | None:
    """An OpenDocument spreadsheet's (.ods: LibreOffice's own format, also WPS's) sheet at
    `sheet_index`: the number of its first row holding a value (the reader starts there), its
    merged ranges as .xlsx writes them (`A5:A8`) and its long number cells (as
    `xlsx_long_number_cells`: an ID stored as a number, `office:value="4.3312719730316E+017"`);
    None when `path` is no .ods.

    The sheet's rows are walked in content.xml (repeated rows and cells counted, as the
    format writes long runs of empty ones).
    """
    return _ods_content(path, lambda fh: _ods_walk(fh, sheet_index))


def ods_first_rows(path: Path) -> list[int] | None:
    """The number of the first row holding a value of each sheet of an OpenDocument
    spreadsheet, in one walk of its content.xml (`ods_layout` walks it for one sheet, with its
    merged ranges and number cells); None when `path` is no .ods."""
    return _ods_content(path, _ods_first_rows)


def _ods_content(path: Path, walk: Callable[[Any], Any]) -> Any:
    """`walk` of the content.xml of `path`, an .ods (a zip without an .xlsx's workbook part);
    None when it is none, or cannot be read."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "content.xml" not in names or "xl/workbook.xml" in names:
                return None
            with zf.open("content.xml") as fh:
                return walk(fh)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, zlib.error):
        return None


def _ods_first_rows(fh: Any) -> list[int]:
    from lxml import etree

    t = _ODS_TABLE
    tags = (f"{t}table", f"{t}table-row", f"{t}table-cell")
    firsts: list[int | None] = []
    row = 0
    try:
        for event, el in etree.iterparse(fh, events=("start", "end"), tag=tags, resolve_entities=False, no_network=True):
            if el.tag == tags[0]:
                if event == "start":
                    firsts.append(None)
                    row = 0
            elif el.tag == tags[1]:
                if event == "end":
                    row += max(1, int(el.get(f"{t}number-rows-repeated", "1")))
                    el.clear()
            elif event == "end" and firsts and firsts[-1] is None and el.get(_ODS_VALUE_TYPE) is not None:
                firsts[-1] = row + 1
    except etree.XMLSyntaxError:
        pass
    return [first or 1 for first in firsts]


def _ods_walk(fh: Any, sheet_index: int) -> tuple[int, list[str], pl.DataFrame]:
    from lxml import etree

    t = _ODS_TABLE
    tags = (f"{t}table", f"{t}table-row", f"{t}table-cell", f"{t}covered-table-cell")
    table, row, col, first = -1, 0, 0, None
    refs: list[str] = []
    numbers = LongNumbers()
    try:
        for event, el in etree.iterparse(fh, events=("start", "end"), tag=tags, resolve_entities=False, no_network=True):
            if el.tag == tags[0]:
                if event == "start":
                    table += 1
                elif table == sheet_index:
                    break
                continue
            if table != sheet_index:
                if event == "end" and el.tag == tags[1]:
                    el.clear()
                continue
            if el.tag == tags[1]:
                if event == "start":
                    col = 0
                else:
                    row += max(1, int(el.get(f"{t}number-rows-repeated", "1")))
                    el.clear()
            elif event == "end":
                kind = el.get(_ODS_VALUE_TYPE) if el.tag == tags[2] else None
                if kind is not None:
                    first = first or row + 1
                    if kind == "float" and _LONG_NUMBER.fullmatch(b"<v>" + el.get(_ODS_VALUE, "").encode() + b"</v>"):
                        numbers.rows.append(row + 1)
                        numbers.written.append(el.get(_ODS_VALUE, ""))
                    down, across = int(el.get(f"{t}number-rows-spanned", "1")), int(el.get(f"{t}number-columns-spanned", "1"))
                    if down > 1 or across > 1:
                        refs.append(f"{column_name(col + 1)}{row + 1}:{column_name(col + across)}{row + down}")
                col += max(1, int(el.get(f"{t}number-columns-repeated", "1")))
    except etree.XMLSyntaxError:
        pass
    return first or 1, refs, numbers.frame()


def _xls_merged_refs(path: Path, sheet_index: int) -> list[str]:
    """An .xls sheet's merged ranges as .xlsx writes them (`A5:A8`); none when xlrd cannot
    read them (best effort: fastexcel reports a broken file itself)."""
    try:
        import xlrd

        book = xlrd.open_workbook(str(path), on_demand=True, formatting_info=True)
        ranges = book.sheet_by_index(sheet_index).merged_cells  # (row_lo, row_hi, col_lo, col_hi), hi excluded
    except Exception:  # noqa: BLE001
        return []
    return [f"{column_name(c1 + 1)}{r1 + 1}:{column_name(c2)}{r2}" for r1, r2, c1, c2 in ranges if r2 > r1 and c2 > c1]


def _xls_first_row(path: Path, sheet_index: int) -> int:
    return _xls_first_rows(path, [sheet_index])[0]


def _xls_first_rows(path: Path, sheet_indexes: list[int]) -> list[int]:
    """`_xls_first_row` of each of `sheet_indexes`, the workbook opened once."""
    firsts = [1] * len(sheet_indexes)
    try:
        import xlrd

        book = xlrd.open_workbook(str(path), on_demand=True)
        for n, index in enumerate(sheet_indexes):
            sheet = book.sheet_by_index(index)
            firsts[n] = next((r + 1 for r in range(sheet.nrows)
                              if any(str(v).strip() for v in sheet.row_values(r))), 1)
    except Exception:  # noqa: BLE001 - offset is best effort; fastexcel reports real errors
        pass
    return firsts


def _sheet_candidates(names: list[str], sheet: str | int | None, name: str) -> list[int]:
    """Indexes of the sheets to try: all of them, or the one named or numbered (1-based)."""
    if sheet is None:
        return list(range(len(names)))
    if isinstance(sheet, int) or str(sheet).isdigit() and str(sheet) not in names:
        idx = int(sheet) - 1  # sheet numbers are 1-based, from the config and from --sheet
        if not 0 <= idx < len(names):
            raise InputFileError(f"没有第 {sheet} 个工作表（共 {len(names)} 个：{'、'.join(names)}）", file=name)
        return [idx]
    if sheet not in names:
        raise InputFileError(f"找不到工作表「{sheet}」（现有：{'、'.join(names)}）", file=name)
    return [names.index(sheet)]


def _pick_sheet(
    names: list[str],
    candidates: list[int],
    load: Callable[[int], tuple[pl.DataFrame, int] | tuple[pl.DataFrame, int, bool]],
    lookup: dict[str, str],
    header_row: int | None,
    name: str,
    accept: Callable[[list[str | None]], bool] | None = None,
) -> tuple[list[str | None], pl.DataFrame, int, int]:
    """Header cells, data rows (positional columns + source_row), header row and sheet index
    of the sheet read: of several candidates, the first visible one with a header that `accept`s
    it (it maps the sector's required fields: a 汇总 or 填表说明 sheet in front of the data, a
    hidden sheet of last month's or of drop-down lists, are passed over), else the first visible
    sheet with a header, else the first with one. `load(idx)` gives a sheet's cells as text, the
    row number of its first row and (optionally) whether the sheet is visible."""
    fallback: dict[bool, tuple[list[str | None], pl.DataFrame, int, int]] = {}
    chosen: tuple[list[str | None], pl.DataFrame, int, int] | None = None
    for idx in candidates:
        raw, first, *shown = load(idx)
        visible = shown[0] if shown else True
        if raw.height == 0:
            continue
        if chosen is not None and not visible:
            continue
        if header_row is not None:
            hidx = header_row - first
            if not 0 <= hidx < raw.height:
                raise InputFileError(f"指定的表头行 {header_row} 超出范围", file=name, sheet=names[idx] or None)
        else:
            hidx = find_header([list(r) for r in raw.head(HEADER_SCAN_ROWS).iter_rows()], lookup)
            if hidx is None:
                continue
        header = list(raw.row(hidx))
        frame = raw.slice(hidx + 1)
        frame.columns = [f"c{i}" for i in range(frame.width)]
        header_line = first + hidx
        rows = pl.int_range(header_line + 1, header_line + 1 + frame.height, dtype=pl.Int64, eager=True)
        picked = header, frame.with_columns(rows.alias("source_row")), header_line, idx
        if len(candidates) == 1 or (visible and accept is None):
            return picked
        if visible and accept(header):
            if chosen is None:
                chosen = picked
            elif _has_data(frame):  # two visible data sheets: which one is meant is not for fanpin to guess
                _two_data_sheets(names, chosen, picked, name)
            continue
        if chosen is None:
            fallback.setdefault(visible, picked)
    if chosen is not None:
        return chosen
    if fallback:
        return fallback.get(True) or fallback[False]
    where = names[candidates[0]] if len(candidates) == 1 else None
    raise InputFileError(
        "前 30 行中找不到表头（没有可识别的列名，如“姓名”“身份证号码”），请用 sheet / header_row 指定",
        file=name,
        sheet=where or None,
    )


def _has_data(frame: pl.DataFrame) -> bool:
    """Whether a sheet's rows below its header hold a value (source_row aside)."""
    cols = [c for c in frame.columns if c != "source_row"]
    return bool(cols) and frame.select(pl.any_horizontal(pl.col(cols).str.strip_chars().ne("")).any()).item() is True


def _two_data_sheets(names: list[str], first: tuple[Any, pl.DataFrame, int, int], other: tuple[Any, pl.DataFrame, int, int],
                     name: str) -> NoReturn:
    """Refuse a workbook in which two visible sheets hold the sector's data (每月一个工作表, 各乡镇分表):
    reading the first alone would silently leave the other out."""
    said = "和".join(f"「{names[idx]}」（表头在第{line}行，{frame.height:,}行）" for _, frame, line, idx in (first, other))
    raise InputFileError(
        f"至少有两个工作表是这类数据：{said}。只读其中一个会漏掉其余工作表的人员，fanpin 不替您选择："
        f"请在配置文件中为此文件加上 sheet = \"{names[other[3]]}\"（fanpin validate 用 --sheet）指定要读取的工作表；"
        "每月一个工作表时请指定本月的；各乡镇分表时请把此文件在配置中列多次，每个 [[extracts]] 各用一个 sheet",
        file=name,
    )


def check_xlsx_size(
    path: Path, sheet_index: int, name: str, sheet: str, limit: int = MAX_CELLS,
    also: ChunkScan | None = None,
) -> None:
    """Refuse a sheet whose used range (A1 to its last cell holding a value) is too large to
    read, before the reader allocates it: one value typed far away (say at XFD1048576) would
    otherwise make it claim hundreds of GB and kill the process. `also` is fed each chunk
    of the sheet XML read on the way (see `LongNumbers`)."""
    try:
        with zipfile.ZipFile(path) as zf:
            part = _xlsx_sheet_part(zf, sheet_index)
            if part is None or part not in zf.namelist():
                return  # the reader reports a broken workbook itself
            size = xlsx_sheet_size(zf, part, limit, also=also)
    except (zipfile.BadZipFile, OSError, KeyError, EOFError, zlib.error):
        return
    if size.cells > limit:
        raise InputFileError(
            f"数据区域从A1到{size.corner}（{size.rows:,}行×{size.columns:,}列），超出可读取的范围（最多{limit:,}个单元格）；"
            "通常是远处的单元格误填了内容，请删除多余的行和列（或把数据复制到新表）后重试",
            file=name,
            sheet=sheet,
        )


def _read_excel(
    path: Path, data: bytes, kind: Kind, name: str, lookup: dict[str, str], sheet: str | int | None,
    header_row: int | None, accept: Callable[[list[str | None]], bool] | None = None,
) -> tuple[list[str | None], pl.DataFrame, int, str, int, pl.DataFrame | None]:
    """Return header cells, data rows (all text), header row (1-based), sheet name and index,
    and (.xlsx) the long number cells found while checking the sheet's size. Of several sheets,
    the one `_pick_sheet` takes (`accept`: a header that maps the required fields)."""
    import fastexcel

    named_right = path.suffix.lower() in ((".xls",) if kind == "xls" else (".xlsx", ".xlsm"))
    try:  # under a wrong name, the reader is given the bytes and tells the format from them
        reader = fastexcel.read_excel(str(path) if named_right else data)
    except Exception as exc:  # noqa: BLE001 - fastexcel raises several of its own types
        raise InputFileError(f"无法打开 Excel 文件：{str(exc).splitlines()[0][:120]}", file=name) from exc
    names = list(reader.sheet_names)
    numbers: dict[int, pl.DataFrame] = {}
    merged: dict[int, list[str]] = {}
    spans: dict[int, list[Span]] = {}

    def load(idx: int) -> tuple[pl.DataFrame, int, bool]:
        if kind == "xlsx":  # one pass over the sheet XML: its size, long number cells, merged ranges
            collector = SheetScan()
            check_xlsx_size(path, idx, name, names[idx], also=collector)
            numbers[idx], merged[idx] = collector.numbers.frame(), collector.merged
        try:
            loaded = reader.load_sheet(idx, header_row=None, dtypes="string")
            raw = loaded.to_polars()
        except Exception as exc:  # noqa: BLE001
            raise InputFileError(f"无法读取：{str(exc).splitlines()[0][:120]}", file=name, sheet=names[idx]) from exc
        first = _xls_first_row(path, idx) if kind == "xls" else _xlsx_first_row(path, idx)
        refs = merged.get(idx) if kind == "xlsx" else _xls_merged_refs(path, idx)
        ods = ods_layout(path, idx) if kind == "xlsx" and not refs else None
        if ods is not None:  # an .ods (the reader takes those too): its rows, merges, number cells from content.xml
            first, refs, numbers[idx] = ods
        if refs:  # the grid starts at the first column holding a value
            columns = loaded.available_columns()
            first_col = columns[0].absolute_index if columns else 0
            spans[idx] = [s for s in (span_of_ref(ref, first_col) for ref in refs) if s is not None]
            raw = fill_merged(raw, spans[idx], first)
        return raw, first, getattr(loaded, "visible", "visible") == "visible"

    header, frame, header_line, idx = _pick_sheet(
        names, _sheet_candidates(names, sheet, name), load, lookup, header_row, name, accept
    )
    return header, frame, header_line, names[idx], idx, numbers.get(idx), spans.get(idx, [])


def _read_markup(
    data: bytes, kind: Kind, name: str, lookup: dict[str, str], sheet: str | int | None,
    header_row: int | None, encoding: str | None,
) -> tuple[list[str | None], pl.DataFrame, int, str | None, list[Span]]:
    """An HTML table or an XML Spreadsheet 2003 file: header cells, data rows, header row,
    sheet name (None for HTML), merged ranges (rowspan/colspan, ss:MergeDown/MergeAcross)."""
    from fanpin_cli.markup import read_html, read_spreadsheetml

    spans: dict[int, list[Span]] = {}
    try:
        if kind == "html":
            spans[0] = []
            grids: list[tuple[str, list[list[str | None]]]] = [
                ("", read_html(data, lambda b: _decode(b, encoding, name) if encoding else decode_text(b, name)[1],
                               max_cells=MAX_CELLS, spans=spans[0]))
            ]
        else:
            grids = read_spreadsheetml(data, max_cells=MAX_CELLS, spans=spans)
    except InputFileError as exc:
        raise InputFileError(exc.message, file=name) from exc
    names = [g[0] for g in grids]

    def load(idx: int) -> tuple[pl.DataFrame, int]:
        grid = grids[idx][1]
        width = max((len(r) for r in grid), default=0)
        schema = {f"c{i}": pl.String for i in range(width)}
        return fill_merged(pl.DataFrame(grid, schema=schema, orient="row"), spans.get(idx, []), 1), 1

    candidates = [0] if kind == "html" else _sheet_candidates(names, sheet, name)
    header, frame, header_line, idx = _pick_sheet(names, candidates, load, lookup, header_row, name)
    return header, frame, header_line, names[idx] or None, spans.get(idx, [])


def _column_letters(indexes: list[int]) -> str:
    return "、".join(f"第{column_name(i + 1)}列" for i in indexes)


def name_columns(
    header: list[str | None], frame: pl.DataFrame, lookup: dict[str, str]
) -> tuple[list[str], pl.DataFrame, list[tuple[int | None, str, str, str]]]:
    """Give the positional columns their headings; settle duplicate headings.

    A heading of a field written twice or more (after folding spaces and brackets) names the
    column with the most filled cells, the others get `_2`, `_3` suffixes: an empty first 身份证号 column
    never hides a filled second one. Returns the headings in column order, the frame renamed,
    and `(row, check_id, heading, message)` for each duplicate (row None: the header row).
    """
    texts = [(c or "").strip() for c in header]
    groups: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        if text:
            groups.setdefault(heading_key(text), []).append(i)
    order = list(range(len(texts)))
    found: list[tuple[int | None, str, str, str]] = []
    dupes = {k: v for k, v in groups.items() if len(v) > 1 and _fields.match_in(lookup, texts[v[0]])}
    if dupes:
        cols = [f"c{i}" for i in sorted({i for v in dupes.values() for i in v})]
        counts = frame.select(
            [pl.col(c).str.strip_chars().replace("", None).count().alias(c) for c in cols]
        ).row(0, named=True)
        for indexes in dupes.values():
            filled = [counts[f"c{i}"] for i in indexes]
            best = indexes[max(range(len(indexes)), key=lambda k: (filled[k], -k))]
            ranked = [best] + [i for i in indexes if i != best]
            for slot, i in zip(sorted(indexes), ranked, strict=True):
                order[slot] = i
            heading = texts[indexes[0]]
            empty = [i for i, n in zip(indexes, filled, strict=True) if n == 0]
            note = f"（{_column_letters(empty)}为空）" if empty and best not in empty else ""
            use = f"使用填写最多的第{column_name(best + 1)}列{note}，其余列未用于比对"
            found.append((None, "HEADING_DUPLICATE", heading,
                          f"表头「{heading}」出现{len(indexes)}次（{_column_letters(indexes)}）；{use}"))
    headings = _unique_headings([header[i] for i in order])
    if not found:
        return headings, frame.rename({f"c{i}": h for i, h in enumerate(headings)}), found
    # the column that keeps the plain heading moves into the first slot of its group
    renamed = frame.select([pl.col(f"c{i}").alias(h) for i, h in zip(order, headings, strict=True)] + ["source_row"])
    return headings, renamed, found


def _ragged(frame: pl.DataFrame, header: list[str | None], kind: Kind) -> pl.DataFrame:
    """`source_row`, fields in the row and in the header, for rows with content beyond the
    header's last heading."""
    named = [i for i, c in enumerate(header) if (c or "").strip()]
    last = named[-1] if named else -1
    cols = frame.columns[last + 1: len(header)]
    if not cols:
        return pl.DataFrame(schema={"source_row": pl.Int64, "fields": pl.Int64})
    width = pl.max_horizontal([pl.when(pl.col(c).str.strip_chars() != "").then(pl.lit(last + 2 + k)) for k, c in enumerate(cols)])
    return frame.select("source_row", width.alias("fields")).filter(pl.col("fields").is_not_null())


def _reading_issues(
    name: str, header_line: int, found: list[tuple[int | None, str, str, str]], ragged: pl.DataFrame,
    header_width: int, kind: Kind, header_fields: int | None = None,
) -> pl.DataFrame:
    """Quality-issue rows for what reading found (columns of quality.ISSUE_COLUMNS); `header_width`
    the header's fields up to its last heading, `header_fields` a CSV header line's fields."""
    header_fields = header_width if header_fields is None else header_fields
    from fanpin_cli.quality import CHECK_INDEX, ISSUE_COLUMNS, empty_issues

    records = [(row or header_line, check, heading, message) for row, check, heading, message in found]
    if ragged.height:
        untitled = pl.lit(f"本行在表头右侧没有列名的位置（第{column_name(header_width + 1)}列起）有内容，未用于比对；请核对是否错位或补上列名")
        if kind == "text":  # beyond the header line's own fields (a CSV's header may end in empty ones)
            text = pl.when(pl.col("fields") > header_fields).then(
                pl.lit("本行有") + pl.col("fields").cast(pl.String) + pl.lit(f"个字段，表头只有{header_fields}个；多出的内容未用于比对。"
                "常见原因是内容里有未加引号的逗号，本行各列可能错位，请核对")).otherwise(untitled)
        else:
            text = untitled
        records += ragged.select(
            "source_row", pl.lit("ROW_RAGGED").alias("check"), pl.lit("（表头以外）").alias("column"), text.alias("message")
        ).rows()
    if not records:
        return empty_issues()
    frame = pl.DataFrame(records, schema={"source_row": pl.Int64, "check_id": pl.String, "column": pl.String, "message": pl.String}, orient="row")
    return frame.with_columns(
        pl.lit(name).alias("source_file"),
        pl.lit(None, dtype=pl.String).alias("field"),
        pl.col("check_id").replace_strict({k: v.dimension for k, v in CHECK_INDEX.items()}, return_dtype=pl.String).alias("dimension"),
        pl.col("check_id").replace_strict({k: v.severity for k, v in CHECK_INDEX.items()}, return_dtype=pl.String).alias("severity"),
        *[pl.lit(None, dtype=pl.String).alias(c) for c in ("household_id", "township", "village")],
    ).select(ISSUE_COLUMNS).cast(empty_issues().schema)


def path_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a data file (one Chinese phrase), or None when it can:
    missing, a folder, a symlink loop, no permission, a pipe or device.

    >>> path_problem(Path("/"))
    '这是一个文件夹，不是数据文件'
    """
    try:
        info = path.stat()
    except (OSError, RuntimeError) as exc:  # RuntimeError: Path.resolve() on a symlink loop
        code = getattr(exc, "errno", None)
        reasons = {
            errno.ENOENT: f"找不到文件（{path}）",
            errno.ELOOP: "路径中的符号链接循环指向自身，无法打开",
            errno.EACCES: "没有读取这个文件的权限",
            errno.EPERM: "没有读取这个文件的权限",
            errno.ENOTDIR: "路径中的某一级不是文件夹",
            errno.ENAMETOOLONG: "文件路径太长",
        }
        return reasons.get(code or 0, f"无法打开文件（{getattr(exc, 'strerror', None) or exc}）")
    if stat.S_ISDIR(info.st_mode):
        return "这是一个文件夹，不是数据文件"
    if not stat.S_ISREG(info.st_mode):
        return "这不是普通文件（是管道、设备或套接字），请给出数据文件本身"
    if not os.access(path, os.R_OK):
        return "没有读取这个文件的权限"
    return None


def read_input_bytes(path: Path, name: str) -> bytes:
    """The bytes of an input file, or InputFileError with the reason (`path_problem`)."""
    problem = path_problem(path)
    if problem:
        raise InputFileError(problem, file=name)
    try:
        with open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NONBLOCK)) as fh:
            return fh.read()
    except OSError as exc:
        reason = "没有读取这个文件的权限" if exc.errno in (errno.EACCES, errno.EPERM) else f"无法读取文件（{exc.strerror}）"
        raise InputFileError(reason, file=name) from exc


def map_headings(
    headings: list[str], sector: str, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """Heading → canonical field for the headings that map (`fields.map_headings`).

    >>> map_headings(["序号", "姓名", "身份证件号"], "medical_enrollment")
    {'姓名': 'name', '身份证件号': 'id_number'}
    """
    return _fields.map_headings(headings, sector, overrides)


def load_input(spec: Any) -> LoadedFile:
    """Load one configured input file (`config.InputSpec`: path, sector, sheet, header row,
    encoding, columns)."""
    return load_file(
        spec.path,
        spec.sector,
        source_file=spec.source_file,
        sheet=spec.sheet,
        header_row=spec.header_row,
        encoding=spec.encoding,
        columns=spec.columns,
    )


def load_file(
    path: Path,
    sector: str,
    *,
    source_file: str | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    columns: dict[str, str] | None = None,
    required: tuple[str, ...] | None = None,
) -> LoadedFile:
    """Read one file of `sector` into a LoadedFile.

    `required` replaces the sector's required fields (fields.REQUIRED_COLUMNS) when given.

    Raises InputFileError (one Chinese line naming file, sheet and column) when the file
    cannot be read or lacks a required column.
    """
    if sector not in SECTORS:
        raise InputFileError(f"未知的数据类别 {sector}（可选：{'、'.join(SECTORS)}）", file=source_file or path.name)
    name = source_file or path.name
    data = read_input_bytes(path, name)
    if not data or data.isspace():  # (not data.strip(): no copy of a large file)
        raise InputFileError("文件是空的（0 字节或只有空白）", file=name)
    lookup = dict(alias_lookup(sector))
    lookup.update({heading_key(k): v for k, v in (columns or {}).items()})
    digest = hashlib.sha256(data).hexdigest()  # (of the file as it is, before any re-encoding)
    kind = sniff(data)
    utf16 = kind == "unknown" and data[:2] in (b"\xff\xfe", b"\xfe\xff")
    if utf16:  # Excel's "Unicode 文本" (tab-separated): read as the same text in UTF-8
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise InputFileError("文件是 UTF-16（Unicode 文本）编码但内容已损坏，请另存为 .xlsx 或 UTF-8 编码的 CSV",
                                 file=name) from None
        kind, encoding = sniff(data), "utf-8"
    if kind == "unknown":
        raise InputFileError(NOT_EXCEL, file=name)
    if kind == "xls" and "EncryptedPackage".encode("utf-16-le") in data[:1 << 20]:
        raise InputFileError("文件设置了打开密码，无法读取；请在 Excel 或 WPS 中取消密码后另存为 .xlsx", file=name)
    sheet_name: str | None = None
    used_encoding: str | None = None
    numbers: pl.DataFrame | None = None
    spans: list[Span] = []
    if kind in ("xlsx", "xls"):
        def accept(cells: list[str | None]) -> bool:  # a sheet's header that maps every required field
            mapped = set(map_headings(_unique_headings(cells), sector, columns).values())
            return all(f in mapped for f in (required or REQUIRED_COLUMNS[sector]))

        header, raw, header_line, sheet_name, index, scanned, spans = _read_excel(
            path, data, kind, name, lookup, sheet, header_row, accept)
        if kind == "xlsx":
            numbers = scanned if scanned is not None else xlsx_long_number_cells(path, index)
        elif kind == "xls":
            numbers = xls_long_number_cells(path, index)
    elif kind in ("html", "spreadsheetml"):
        header, raw, header_line, sheet_name, spans = _read_markup(data, kind, name, lookup, sheet, header_row, encoding)
    else:
        try:
            header, raw, header_line, used_encoding = _read_csv(data, name, lookup, encoding, header_row)
        except InputFileError as exc:
            if path.suffix.lower() in EXCEL_SUFFIXES and encoding is None and "编码" in exc.message:
                raise InputFileError(NOT_EXCEL, file=name) from exc
            raise
    merged = merged_columns(spans, header_line, header_line + raw.height, raw.width - 1)
    headings, frame, found = name_columns(header, raw, lookup)
    merged_cells = [_merged_entry(m, header, headings) for m in merged]
    found += [(e["first_row"], "CELL_MERGED", e["column"], e.pop("message")) for e in merged_cells]
    mapping = map_headings(headings, sector, columns)
    missing = [f for f in (required or REQUIRED_COLUMNS[sector]) if f not in mapping.values()]
    if missing:
        titles = "、".join(FIELD_TITLES.get(f, f) for f in missing)
        raise InputFileError(
            f"缺少必需的列「{titles}」（表头在第{header_line}行：{'、'.join(h for h in headings if not h.startswith(UNNAMED))[:200]}；"
            "可在配置的 columns 中指定对应关系）",
            file=name,
            sheet=sheet_name,
            column=titles,
        )
    clear = _clear_of(mapping, [c for c in frame.columns if c != "source_row"])
    if clear:
        frame = frame.rename(clear)
    text_cols = [c for c in frame.columns if c != "source_row"]
    formulas = text_formula_columns(frame, text_cols)
    frame = frame.rename(mapping).with_columns(
        [
            unwrap_text_formula(pl.col(mapping.get(c, c)).str.strip_chars()).str.strip_chars().replace("", None)
            if c in formulas else pl.col(mapping.get(c, c)).str.strip_chars().replace("", None)
            for c in text_cols
        ]
    )
    units = [{"column": h, "field": f, "unit": u[0], "factor": u[1]}
             for h, f in mapping.items() if f in AMOUNT_FIELDS and (u := heading_unit(h)) is not None]
    if units:  # amounts in 万元 (the heading says so) compared with lines in 元: converted
        frame = frame.with_columns(amounts_in_yuan(u["field"], u["factor"]) for u in units)
    data_cols = [mapping.get(c, c) for c in text_cols]
    blank = pl.all_horizontal([pl.col(c).is_null() for c in data_cols])
    blank_rows = frame.filter(blank)["source_row"].to_list()
    frame = frame.filter(~blank)
    non_data = find_non_data(frame, {mapping.get(c, c): ("" if c.startswith(UNNAMED) else c) for c in text_cols})
    if non_data.height:
        frame = frame.filter(~pl.col("source_row").is_in(non_data["source_row"].implode()))
    filled_down: list[dict[str, Any]] = []
    if sector == "roster":  # 户编号 on the head's row only: the members' blank cells filled from it
        frame, filled = fill_down(frame)
        for col in filled:
            heading = next((h for h, f in mapping.items() if f == col.field), FIELD_TITLES.get(col.field, col.field))
            filled_down.append({"column": heading, "field": col.field, "cells": col.cells,
                                "first_row": col.first_row, "last_row": col.last_row})
            found.append((col.first_row, "FILLED_DOWN", heading, filled_down_text(filled_down[-1])))
    named_width = max((i + 1 for i, c in enumerate(header) if (c or "").strip()), default=0)
    issues = _reading_issues(name, header_line, found, _ragged(raw, header, kind), named_width, kind,
                             max((i + 1 for i, c in enumerate(header) if c is not None), default=0))
    frame = frame.with_columns(pl.lit(name).alias("source_file"))
    if sector == "roster":  # households are told apart by their 户编号 alone
        lost, row, text = household_numbers_lost(frame, numbers if kind in ("xlsx", "xls") else None)
        if lost:
            heading = next((h for h, f in mapping.items() if f == "household_id"), "户编号")
            raise InputFileError(
                f"「{heading}」列有 {lost} 个单元格被存成了数字（如第{row}行的「{text}」）：超过15位的数字末位已丢失，"
                "不同的户会被当成同一户；请在原系统或 Excel 中把这一列设为文本格式后重新导出",
                file=name, sheet=sheet_name, row=row, column=heading)
    if kind == "xlsx" or kind == "xls":
        frame = _mark_number_ids(frame, numbers)
    ordered = ["source_file", "source_row"] + [c for c in frame.columns if c not in ("source_file", "source_row")]
    return LoadedFile(
        path=path,
        source_file=name,
        sector=sector,
        frame=frame.select(ordered),
        headings={v: k for k, v in mapping.items()},
        header_row=header_line,
        sheet=sheet_name,
        encoding="utf-16" if utf16 else used_encoding,
        blank_rows=blank_rows,
        sha256=digest,
        non_data_rows=[{"row": r, "reason": why} for r, why in non_data.iter_rows()],
        issues=issues,
        kind=kind,
        merged_cells=merged_cells,
        amount_units=units,
        filled_down=filled_down,
    )


def text_formula_columns(frame: pl.DataFrame, columns: list[str]) -> set[str]:
    """The columns of `frame` with a cell that may be Excel's text formula `="433127…"` (web
    systems export IDs and 户编号 so, that Excel keep all their digits): a cell starting with `=`
    (one pass over the first characters; `unwrap_text_formula` then keeps what is no such formula).

    >>> text_formula_columns(pl.DataFrame({"a": ['="433127199001011238"', "x"], "b": ["1", None]}), ["a", "b"])
    {'a'}
    """
    if not columns:
        return set()
    found = frame.select(pl.col(columns).str.starts_with("=").any()).row(0)  # (a prefix test: no copy of the cells)
    return {c for c, yes in zip(columns, found, strict=True) if yes}


def unwrap_text_formula(cell: pl.Expr) -> pl.Expr:
    """`="433127…"` as Excel shows it, `433127…` (the formula's quoted text, `""` in it a quote).

    >>> pl.select(unwrap_text_formula(pl.lit('="43312719900101123X"'))).item()
    '43312719900101123X'
    >>> pl.select(unwrap_text_formula(pl.lit('=A1+1'))).item()
    '=A1+1'
    """
    inner = cell.str.extract(r'^\s*=\s*"(.*)"\s*$', 1)
    return pl.when(inner.is_not_null()).then(inner.str.replace_all('""', '"', literal=True)).otherwise(cell)


def _merged_entry(found: Any, header: list[str | None], headings: list[str]) -> dict[str, Any]:
    """summary.json's `merged_cells` entry of one column (`merged.MergedColumn`), its
    CELL_MERGED message under "message" (taken out by the caller)."""
    text = (header[found.column] or "").strip() if found.column < len(header) else ""
    heading = text or (headings[found.column] if found.column < len(headings) else f"第{found.column + 1}列")
    return {"column": heading, "ranges": found.ranges, "cells": found.cells, "first_row": found.first_row,
            "last_row": found.last_row, "message": merged_message(found, heading)}
