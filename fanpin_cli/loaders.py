"""Read sector extracts as they arrive: CSV (UTF-8, BOM, GBK/GB18030), .xlsx and .xls.

Every cell is read as text (no numeric type ever touches an ID), the header row is found
below any title rows, headings are mapped to canonical fields, and each row keeps the row
number a person sees when opening the file (`source_row`, 1-based; title and header rows
count; for CSV the header line is counted like any other line).

>>> from pathlib import Path
>>> loaded = load_file(Path("sample_data/公安_户籍注销.csv"), "police")  # doctest: +SKIP
>>> loaded.frame.columns[:3]  # doctest: +SKIP
['name', 'id_number', 'dereg_reason']
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from fanpin_cli import fields as _fields
from fanpin_cli.errors import InputFileError
from fanpin_cli.fields import FIELD_TITLES, REQUIRED_COLUMNS, SECTORS, alias_lookup, heading_key

HEADER_SCAN_ROWS = 30
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")


@dataclass
class LoadedFile:
    """One input file, read and mapped.

    `frame` holds the canonical fields (and every unmapped column under its own heading), all
    as text, plus `source_file` and `source_row`; fully blank rows are not in it but are
    counted in `blank_rows`.
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

    @property
    def rows_read(self) -> int:
        """Data rows in the file (blank rows excluded)."""
        return self.frame.height

    def heading(self, canonical: str) -> str:
        """The file's own heading for a canonical field (for messages)."""
        return self.headings.get(canonical, FIELD_TITLES.get(canonical, canonical))


def detect_encoding(data: bytes, name: str | None = None) -> str:
    """`utf-8-sig`, `utf-8` or `gb18030` (a superset of GBK and GB2312).

    >>> detect_encoding("姓名".encode("gbk"))
    'gb18030'
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"无法识别文件编码（不是 UTF-8 或 GBK/GB18030，位置 {exc.start} 字节），请另存为 UTF-8 或 GBK 的 CSV",
            file=name,
        ) from exc


def _decode(data: bytes, encoding: str, name: str) -> str:
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


def _unique_headings(cells: list[str | None]) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for i, cell in enumerate(cells):
        name = (cell or "").strip() or f"未命名列{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _sniff_separator(line: str) -> str:
    counts = {sep: line.count(sep) for sep in (",", "\t", ";", "|")}
    sep = max(counts, key=lambda s: counts[s])
    return sep if counts[sep] > 0 else ","


def _read_csv(
    data: bytes, name: str, lookup: dict[str, str], encoding: str | None, header_row: int | None
) -> tuple[list[str], pl.DataFrame, int, str]:
    """Return headings, data rows (all text), header line (1-based) and the encoding used."""
    encoding = encoding or detect_encoding(data, name)
    text = _decode(data, encoding, name)
    if text.startswith("\ufeff"):
        text = text[1:]
    head_lines = text.split("\n", HEADER_SCAN_ROWS + 1)[: HEADER_SCAN_ROWS + 1]
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
    body = text[offset:]
    if encoding in ("utf-8", "utf-8-sig"):  # already UTF-8: hand polars the original bytes
        start = len(text[:offset].encode("utf-8")) + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        raw = memoryview(data)[start:]
    else:
        raw = body.encode("utf-8")
    try:
        frame = pl.read_csv(
            io.BytesIO(raw),
            has_header=False,
            infer_schema=False,
            separator=separator,
            truncate_ragged_lines=True,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise InputFileError(f"CSV 格式无法解析：{str(exc).splitlines()[0]}", file=name) from exc
    if frame.height == 0:
        raise InputFileError(f"第{header_line}行之后没有内容", file=name)
    headings = _unique_headings(frame.row(0))
    frame = frame.slice(1)
    frame.columns = headings[: frame.width]
    rows = _csv_row_numbers(body, frame.height, header_line, separator, name)
    return headings, frame.with_columns(pl.Series("source_row", rows, dtype=pl.Int64)), header_line, encoding


def _physical_line(lines: list[str], index: int, separator: str) -> int:
    """1-based physical line on which parsed record `index` ends (quotes can span lines)."""
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=separator)
    for i, _ in enumerate(reader):
        if i == index:
            return reader.line_num
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


def _csv_row_numbers(body: str, n_rows: int, header_line: int, separator: str, name: str) -> range | list[int]:
    """Row numbers of the data rows. Fast path: one line per row; otherwise ask `csv`."""
    lines = body.count("\n") + (0 if body.endswith("\n") else 1)
    if lines - 1 == n_rows:
        return range(header_line + 1, header_line + 1 + n_rows)
    numbers: list[int] = []
    reader = csv.reader(io.StringIO(body), delimiter=separator)
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
                chunk = fh.read(4 << 20).decode("utf-8", errors="ignore")
    except (zipfile.BadZipFile, OSError, KeyError):
        return 1
    for match in re.finditer(r'<row\b[^>]*?\br="(\d+)"[^>]*?(?:/>|>(.*?)</row>)', chunk, re.S):
        body = match.group(2) or ""
        if re.search(r"<v>[^<]|<is>|<t[^>]*>[^<]", body):
            return int(match.group(1))
    return 1


# A number cell as large as an ID: 4.33127201309269E+017 (LibreOffice), 4.3312719900101101E+17
# (Excel), 433127199001011234. Shorter numbers (amounts, years, 15-digit IDs) are exact.
_LONG_NUMBER = re.compile(rb"<v>([0-9](?:\.[0-9]+)?[Ee]\+?0?1[5-9]|[0-9]{16,20}(?:\.0+)?)</v>")
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]+)"')
_CHUNK = 16 << 20
_NUMBER_CELLS = {"source_row": pl.Int64, "value": pl.Float64, "written": pl.String}


def xlsx_long_number_cells(path: Path, sheet_index: int) -> pl.DataFrame:
    """Number cells of 16+ digits: row number, value as a double and the number as the file
    writes it (its significant digits tell how much of an ID survived, see `idnum`).

    A spreadsheet keeps 15 significant digits, so such a cell is an ID that was already
    damaged (typed into a General cell, or a CSV opened with default column types). Text
    cells never match. The sheet XML is streamed in chunks.
    """
    rows: list[int] = []
    written: list[str] = []
    empty = pl.DataFrame(schema=_NUMBER_CELLS)
    try:
        with zipfile.ZipFile(path) as zf:
            part = _xlsx_sheet_part(zf, sheet_index)
            if part is None:
                return empty
            with zf.open(part) as fh:
                tail = b""
                while chunk := fh.read(_CHUNK):
                    data = tail + chunk
                    for match in _LONG_NUMBER.finditer(data):
                        start = data.rfind(b"<c ", max(0, match.start() - 200), match.start())
                        cell = _CELL_ROW.match(data, start) if start >= 0 else None
                        if cell:
                            rows.append(int(cell.group(1)))
                            written.append(match.group(1).decode("ascii"))
                    tail = data[-512:]
    except (zipfile.BadZipFile, OSError, KeyError):
        return empty
    frame = pl.DataFrame({"source_row": rows, "written": written}, schema={"source_row": pl.Int64, "written": pl.String})
    frame = frame.with_columns(pl.col("written").cast(pl.Float64, strict=False).alias("value"))
    return frame.select(list(_NUMBER_CELLS)).unique(maintain_order=True)  # the 512-byte overlap


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


def _mark_number_ids(frame: pl.DataFrame, numbers: pl.DataFrame | None) -> pl.DataFrame:
    """Add `id_number_cell`: "number" where the ID cell was a long number cell (its text then
    becomes the number as the file writes it), "text" for the other cells, "unknown" when the
    cell types could not be read (`numbers` None)."""
    if "id_number" not in frame.columns:
        return frame
    if numbers is None:
        return frame.with_columns(pl.lit("unknown").alias("id_number_cell"))
    as_float = pl.col("id_number").str.strip_chars().cast(pl.Float64, strict=False)
    hits = numbers.with_columns(pl.lit("number").alias("id_number_cell"))
    return (
        frame.with_columns(as_float.alias("value"))
        .join(hits, on=["source_row", "value"], how="left", maintain_order="left")
        .unique(subset=["source_row"], keep="first", maintain_order=True)
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


def _xls_first_row(path: Path, sheet_index: int) -> int:
    try:
        import xlrd

        book = xlrd.open_workbook(str(path), on_demand=True)
        sheet = book.sheet_by_index(sheet_index)
        for r in range(sheet.nrows):
            if any(str(v).strip() for v in sheet.row_values(r)):
                return r + 1
    except Exception:  # noqa: BLE001 - offset is best effort; fastexcel reports real errors
        return 1
    return 1


def _read_excel(
    path: Path, name: str, lookup: dict[str, str], sheet: str | int | None, header_row: int | None
) -> tuple[list[str], pl.DataFrame, int, str, int]:
    """Return headings, data rows (all text), header row (1-based), sheet name and index."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # noqa: BLE001 - fastexcel raises several of its own types
        raise InputFileError(f"无法打开 Excel 文件：{str(exc).splitlines()[0][:120]}", file=name) from exc
    names = list(reader.sheet_names)
    if sheet is None:
        candidates = list(range(len(names)))
    elif isinstance(sheet, int) or str(sheet).isdigit() and str(sheet) not in names:
        idx = int(sheet) - 1  # sheet numbers are 1-based, from the config and from --sheet
        if not 0 <= idx < len(names):
            raise InputFileError(f"没有第 {sheet} 个工作表（共 {len(names)} 个：{'、'.join(names)}）", file=name)
        candidates = [idx]
    else:
        if sheet not in names:
            raise InputFileError(f"找不到工作表「{sheet}」（现有：{'、'.join(names)}）", file=name)
        candidates = [names.index(sheet)]
    chosen = None
    for idx in candidates:
        try:
            raw = reader.load_sheet(idx, header_row=None, dtypes="string").to_polars()
        except Exception as exc:  # noqa: BLE001
            raise InputFileError(f"无法读取：{str(exc).splitlines()[0][:120]}", file=name, sheet=names[idx]) from exc
        if raw.height == 0:
            continue
        first = _xls_first_row(path, idx) if path.suffix.lower() == ".xls" else _xlsx_first_row(path, idx)
        if header_row is not None:
            hidx = header_row - first
            if not 0 <= hidx < raw.height:
                raise InputFileError(f"指定的表头行 {header_row} 超出范围", file=name, sheet=names[idx])
        else:
            hidx = find_header([list(r) for r in raw.head(HEADER_SCAN_ROWS).iter_rows()], lookup)
            if hidx is None:
                continue
        chosen = (idx, raw, first, hidx)
        break
    if chosen is None:
        where = names[candidates[0]] if len(candidates) == 1 else None
        raise InputFileError(
            "前 30 行中找不到表头（没有可识别的列名，如“姓名”“身份证号码”），请用 sheet / header_row 指定",
            file=name,
            sheet=where,
        )
    idx, raw, first, hidx = chosen
    headings = _unique_headings(list(raw.row(hidx)))
    frame = raw.slice(hidx + 1)
    frame.columns = headings
    header_line = first + hidx
    rows = pl.int_range(header_line + 1, header_line + 1 + frame.height, dtype=pl.Int64, eager=True)
    return headings, frame.with_columns(rows.alias("source_row")), header_line, names[idx], idx


def map_headings(
    headings: list[str], sector: str, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """Heading → canonical field for the headings that map (`fields.map_headings`).

    >>> map_headings(["序号", "姓名", "身份证件号"], "medical_enrollment")
    {'姓名': 'name', '身份证件号': 'id_number'}
    """
    return _fields.map_headings(headings, sector, overrides)


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
    if path.is_dir():
        raise InputFileError("这是一个文件夹，不是数据文件", file=name)
    if not path.is_file():
        raise InputFileError(f"找不到文件（{path}）", file=name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"无法读取文件：{exc.strerror}", file=name) from exc
    if not data.strip():
        raise InputFileError("文件是空的（0 字节或只有空白）", file=name)
    lookup = dict(alias_lookup(sector))
    lookup.update({heading_key(k): v for k, v in (columns or {}).items()})
    sheet_name: str | None = None
    used_encoding: str | None = None
    numbers: pl.DataFrame | None = None
    excel = path.suffix.lower() in EXCEL_SUFFIXES
    if excel:
        headings, frame, header_line, sheet_name, index = _read_excel(path, name, lookup, sheet, header_row)
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            numbers = xlsx_long_number_cells(path, index)
        elif path.suffix.lower() == ".xls":
            numbers = xls_long_number_cells(path, index)
    else:
        headings, frame, header_line, used_encoding = _read_csv(data, name, lookup, encoding, header_row)
    mapping = map_headings(headings, sector, columns)
    missing = [f for f in (required or REQUIRED_COLUMNS[sector]) if f not in mapping.values()]
    if missing:
        titles = "、".join(FIELD_TITLES.get(f, f) for f in missing)
        raise InputFileError(
            f"缺少必需的列「{titles}」（表头在第{header_line}行：{'、'.join(h for h in headings if not h.startswith('未命名列'))[:200]}；"
            "可在配置的 columns 中指定对应关系）",
            file=name,
            sheet=sheet_name,
            column=titles,
        )
    text_cols = [c for c in frame.columns if c != "source_row"]
    frame = frame.rename(mapping).with_columns(
        [
            pl.col(mapping.get(c, c)).str.strip_chars().replace("", None)
            for c in text_cols
        ]
    )
    data_cols = [mapping.get(c, c) for c in text_cols]
    blank = pl.all_horizontal([pl.col(c).is_null() for c in data_cols])
    blank_rows = frame.filter(blank)["source_row"].to_list()
    frame = frame.filter(~blank).with_columns(pl.lit(name).alias("source_file"))
    if excel:
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
        encoding=used_encoding,
        blank_rows=blank_rows,
        sha256=hashlib.sha256(data).hexdigest(),
    )
