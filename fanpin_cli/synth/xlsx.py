"""A small, fast xlsx writer for large generated sheets (inline strings, numbers, dates).

xlsxwriter spends several microseconds per cell; a 180,000-row roster has three million cells,
so sheets are assembled here as XML text and zipped. The output opens in Excel/WPS, openpyxl and
calamine (fastexcel).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

# cell kinds
EMPTY, TEXT, NUMBER, DATE, TITLE, HEADER = 0, 1, 2, 3, 4, 5
_STAMP = (2026, 1, 1, 0, 0, 0)
_STYLE = {TEXT: "", NUMBER: "", DATE: ' s="3"', TITLE: ' s="1"', HEADER: ' s="2"'}


@dataclass
class Sheet:
    """Rows of one worksheet: (row number, [(kind, value), ...]) in ascending row order."""

    name: str
    rows: list[tuple[int, list[tuple[int, object]]]] = field(default_factory=list)
    width: int = 1
    last_row: int = 1
    body: list[str] = field(default_factory=list)   # pre-rendered <row> elements (data rows)
    shared: list[str] = field(default_factory=list)  # the shared strings `body` indexes (one sheet only)


def col_letter(j: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def esc(s: str) -> str:
    """XML text escaping."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell(kind: int, ref: str, value: object) -> str:
    """One <c> element."""
    if kind == EMPTY or value is None or value == "":
        return ""
    if kind in (NUMBER, DATE):
        return f'<c r="{ref}"{_STYLE[kind]}><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"{_STYLE.get(kind, "")}><is><t xml:space="preserve">{esc(str(value))}</t></is></c>'


def render_row(r: int, cells: list[tuple[int, object]]) -> str:
    """A <row> element from (kind, value) pairs in column order."""
    inner = "".join(cell(k, f"{col_letter(j)}{r}", v) for j, (k, v) in enumerate(cells))
    return f'<row r="{r}">{inner}</row>'


_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>
<fonts count="3"><font><sz val="11"/><name val="宋体"/><family val="2"/><charset val="134"/></font>
<font><b/><sz val="14"/><name val="宋体"/><family val="2"/><charset val="134"/></font>
<font><b/><sz val="11"/><name val="宋体"/><family val="2"/><charset val="134"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/>
<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""


def _sheet_xml(sh: Sheet) -> str:
    head = [render_row(r, cells) for r, cells in sh.rows]
    dim = f"A1:{col_letter(max(0, sh.width - 1))}{max(1, sh.last_row)}"
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<dimension ref="{dim}"/><sheetViews><sheetView workbookViewId="0"/></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>'
            f'<cols><col min="1" max="{max(1, sh.width)}" width="16" customWidth="1"/></cols>'
            f'<sheetData>{"".join(head)}{"".join(sh.body)}</sheetData>'
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '</worksheet>')


def _shared_xml(texts: list[str]) -> str:
    items = "".join(f'<si><t xml:space="preserve">{esc(t)}</t></si>' for t in texts)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{len(texts)}" uniqueCount="{len(texts)}">{items}</sst>')


def save(path: Path, sheets: list[Sheet]) -> None:
    """Write the workbook."""
    ns = "http://schemas.openxmlformats.org"
    ct = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          f'<Types xmlns="{ns}/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/styles.xml" '
          'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>']
    for i in range(len(sheets)):
        ct.append(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
    ct.append('<Override PartName="/xl/sharedStrings.xml" '
              'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
    ct.append("</Types>")
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{ns}/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{ns}/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>')
    wb = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
          f'<workbook xmlns="{ns}/spreadsheetml/2006/main" xmlns:r="{ns}/officeDocument/2006/relationships">'
          '<sheets>']
    wrels = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             f'<Relationships xmlns="{ns}/package/2006/relationships">']
    for i, sh in enumerate(sheets):
        wb.append(f'<sheet name="{esc(sh.name)}" sheetId="{i + 1}" r:id="rId{i + 1}"/>')
        wrels.append(f'<Relationship Id="rId{i + 1}" Type="{ns}/officeDocument/2006/relationships/worksheet" '
                     f'Target="worksheets/sheet{i + 1}.xml"/>')
    wb.append("</sheets></workbook>")
    k = len(sheets) + 1
    wrels.append(f'<Relationship Id="rId{k}" Type="{ns}/officeDocument/2006/relationships/styles" '
                 'Target="styles.xml"/>')
    wrels.append(f'<Relationship Id="rId{k + 1}" Type="{ns}/officeDocument/2006/relationships/sharedStrings" '
                 'Target="sharedStrings.xml"/></Relationships>')
    # Text cells of the data sheets point into one shared-string table, as Excel writes it.
    users = [sh for sh in sheets if sh.shared]
    assert len(users) <= 1, "shared-string indices are per workbook: only one data sheet may use them"
    shared = users[0].shared if users else []
    parts = [("[Content_Types].xml", "".join(ct)), ("_rels/.rels", rels), ("xl/workbook.xml", "".join(wb)),
             ("xl/_rels/workbook.xml.rels", "".join(wrels)), ("xl/styles.xml", _STYLES),
             ("xl/sharedStrings.xml", _shared_xml(shared))]
    parts += [(f"xl/worksheets/sheet{i + 1}.xml", _sheet_xml(sh)) for i, sh in enumerate(sheets)]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=3) as z:
        for name, text in parts:
            info = zipfile.ZipInfo(name, date_time=_STAMP)   # fixed time: same seed, same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"), compresslevel=3)
