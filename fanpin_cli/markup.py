"""Tables saved as markup under an Excel name: HTML tables and XML Spreadsheet 2003.

Both are parsed with lxml (no network, no external entities, no DTD loading) into a grid of
text cells, one list per row as a person sees it when the file is opened in a spreadsheet
program: row 1 is the first row shown. Merged cells hold their value in the top-left cell;
the merged ranges are given to the caller (`spans`: `merged.Span`s, rows 1-based as shown,
columns 0-based), which fills them (`merged.fill_merged`).

HTML: every `<tr>` is a row and an empty row follows each table; text outside tables (a title
in `<h1>`, `<p>`, `<div>`) is a row of its own followed by an empty row, and a `<br>` inside a cell starts a new line there that
takes a row of its own — as LibreOffice Calc shows such a file.

>>> grid = read_html("<table><tr><th>姓名</th></tr><tr><td> 张伟 </td></tr></table>".encode())
>>> grid
[['姓名'], ['张伟']]
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree

from fanpin_cli.errors import InputFileError
from fanpin_cli.merged import Span

SS = "urn:schemas-microsoft-com:office:spreadsheet"
_BLOCKS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "caption", "pre", "center", "span", "font", "b", "strong"}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)

Grid = list[list[str | None]]


def _html_text(data: bytes, decode: Callable[[bytes], str]) -> str:
    """The HTML as text: its declared charset (GBK family read as GB18030), else `decode`."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    declared = _CHARSET.search(data[:4096])
    if declared:
        charset = declared.group(1).decode("ascii").lower()
        if charset in ("gb2312", "gbk", "gb18030", "x-gbk", "cp936"):
            charset = "gb18030"
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode(data)


def _cell_lines(cell: etree._Element) -> list[str]:
    """The lines of a cell's text: a `<br>` starts a new line; other whitespace (line breaks
    in the HTML source included) collapses to one space, as a browser shows it."""
    if len(cell) == 0:  # plain text, the usual cell
        return [" ".join((cell.text or "").replace("\xa0", " ").split())]
    for br in cell.iter("br"):
        br.tail = "\ue000" + (br.tail or "")
    lines = [" ".join(part.replace("\xa0", " ").split()) for part in "".join(cell.itertext()).split("\ue000")]
    while len(lines) > 1 and not lines[-1]:
        lines.pop()
    return lines


def _place(grid: dict[int, dict[int, str]], taken: set[tuple[int, int]], row: int, col: int,
           value: str | None, rowspan: int, colspan: int, spans: list[Span] | None = None) -> None:
    if value:
        grid.setdefault(row, {})[col] = value
    if spans is not None and (rowspan > 1 or colspan > 1):
        spans.append(Span(row + 1, row + rowspan, col, col + colspan - 1))
    for r in range(row + 1, row + rowspan):  # only cells below are reserved: this row moves on by colspan
        for c in range(col, col + colspan):
            taken.add((r, c))


def _span(value: str | None) -> int:
    if value is None:
        return 1
    try:
        return max(1, min(int(value), 1000))
    except ValueError:
        return 1


def read_html(data: bytes, decode: Callable[[bytes], str] | None = None, *, max_cells: int = 0,
              spans: list[Span] | None = None) -> Grid:
    """Rows of an HTML file's tables (and the text lines around them), as text cells.

    `decode` turns the bytes into text when the file declares no charset (default UTF-8);
    `spans`, when given, receives the merged ranges (`rowspan`, `colspan`).

    >>> found = []
    >>> read_html(b'<table><tr><td rowspan="2">H1</td><td>a</td></tr><tr><td>b</td></tr></table>', spans=found)
    [['H1', 'a'], [None, 'b']]
    >>> found
    [Span(first_row=1, last_row=2, first_col=0, last_col=0)]
    """
    text = _html_text(data, decode or (lambda b: b.decode("utf-8", errors="replace")))
    try:
        doc = etree.fromstring(text, parser=etree.HTMLParser(no_network=True, remove_comments=True))
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise InputFileError(f"网页表格无法解析：{exc}") from exc
    if doc is None:
        return []
    for bad in doc.xpath("//script|//style|//head"):
        bad.getparent().remove(bad)
    grid: dict[int, dict[int, str]] = {}
    taken: set[tuple[int, int]] = set()
    row = 0  # 0-based next free row

    def walk(el: etree._Element) -> None:
        nonlocal row
        for child in el:
            if not isinstance(child.tag, str):
                continue
            tag = child.tag.lower()
            if tag == "table":
                row = _table(child, row, grid, taken, spans) + 1  # an empty row after a table
            elif tag in _BLOCKS and not child.xpath(".//table"):
                line = " ".join(" ".join(_cell_lines(child)).split())
                if line:
                    grid.setdefault(row, {})[0] = line
                    row += 2
            else:
                walk(child)

    body = doc.find("body")
    walk(body if body is not None else doc)
    if not grid:
        return []
    width = max(max(cols) for cols in grid.values()) + 1
    height = max(grid) + 1
    if max_cells and width * height > max_cells:
        raise InputFileError(f"网页表格有 {height} 行 × {width} 列，超出可读取的范围")
    return [[grid.get(r, {}).get(c) for c in range(width)] for r in range(height)]


def _table(table: etree._Element, start: int, grid: dict[int, dict[int, str]], taken: set[tuple[int, int]],
           spans: list[Span] | None = None) -> int:
    """Place one table's rows from row `start`; return the next free row."""
    row = start
    nested = bool(table.xpath(".//table"))
    for tr in table.iter("tr"):
        if nested and next(tr.iterancestors("table"), None) is not table:
            continue  # a row of a table inside a cell
        col, extra = 0, 0
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            while (row, col) in taken:
                col += 1
            lines = _cell_lines(cell)
            rowspan, colspan = _span(cell.get("rowspan")), _span(cell.get("colspan"))
            _place(grid, taken, row, col, lines[0] if lines else None, rowspan, colspan, spans)
            for k, line in enumerate(lines[1:], start=1):
                if line:
                    grid.setdefault(row + k, {})[col] = line
            extra = max(extra, len(lines) - 1)
            col += colspan
        row += 1 + extra
    return row


def read_spreadsheetml(data: bytes, *, max_cells: int = 0,
                       spans: dict[int, list[Span]] | None = None) -> list[tuple[str, Grid]]:
    """Each worksheet of an XML Spreadsheet 2003 file: (name, rows of text cells).

    `ss:Index` on a row or cell skips to that row or column, as Excel does. `spans`, when
    given, receives each worksheet's merged ranges (`ss:MergeDown`, `ss:MergeAcross`) under
    its index.

    >>> xml = (b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
    ...        b'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S1"><Table>'
    ...        b'<Row><Cell><Data ss:Type="String">X</Data></Cell></Row>'
    ...        b'<Row ss:Index="3"><Cell ss:Index="2"><Data ss:Type="Number">1</Data></Cell></Row>'
    ...        b'</Table></Worksheet></Workbook>')
    >>> read_spreadsheetml(xml)
    [('S1', [['X', None], [None, None], [None, '1']])]
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise InputFileError(f"XML 表格文件无法解析（{exc.msg}，第{exc.lineno}行）") from exc
    q = f"{{{SS}}}"
    sheets: list[tuple[str, Grid]] = []
    for ws in root.iter(f"{q}Worksheet"):
        name = ws.get(f"{q}Name") or f"Sheet{len(sheets) + 1}"
        cells: dict[int, dict[int, str]] = {}
        merged = spans.setdefault(len(sheets), []) if spans is not None else None
        r = 0
        for row in ws.iter(f"{q}Row"):
            r = _index(row, q, r + 1)
            c = 0
            for cell in row.iter(f"{q}Cell"):
                c = _index(cell, q, c + 1)
                data_el = cell.find(f"{q}Data")
                if data_el is None:
                    data_el = cell.find("{urn:schemas-microsoft-com:office:spreadsheet}Data")
                value = "".join(data_el.itertext()).strip() if data_el is not None else ""
                if value:
                    cells.setdefault(r, {})[c] = value
                across, down = _int(cell.get(f"{q}MergeAcross"), 0), _int(cell.get(f"{q}MergeDown"), 0)
                if merged is not None and (across > 0 or down > 0):
                    merged.append(Span(r, r + max(down, 0), c - 1, c - 1 + max(across, 0)))
                c += across
            r += _int(row.get(f"{q}Span"), 0)
        if not cells:
            sheets.append((name, []))
            continue
        width = max(max(cols) for cols in cells.values())
        height = max(cells)
        if max_cells and width * height > max_cells:
            raise InputFileError(f"工作表「{name}」有 {height} 行 × {width} 列，超出可读取的范围")
        sheets.append((name, [[cells.get(i, {}).get(j) for j in range(1, width + 1)] for i in range(1, height + 1)]))
    if not sheets:
        raise InputFileError("XML 表格文件中没有工作表")
    return sheets


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _index(el: etree._Element, q: str, default: int) -> int:
    """`ss:Index` (1-based) when present and not going backwards, else `default`."""
    idx = _int(el.get(f"{q}Index"), default)
    return idx if idx >= default else default
