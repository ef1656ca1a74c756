"""What a data file really is, from its bytes, whatever its name says.

Government web systems often save a CSV, an HTML table or an XML Spreadsheet 2003 file under
an `.xls` name, and clerks rename files freely. The loader reads a file as what it is:

- `xlsx`: a zip container (`PK\\x03\\x04`), Office Open XML (.xlsx/.xlsm);
- `xls`: an OLE2 compound file (`D0 CF 11 E0 A1 B1 1A E1`), BIFF .xls;
- `spreadsheetml`: XML with the `urn:schemas-microsoft-com:office:spreadsheet` namespace;
- `html`: a document holding a `<table>`;
- `text`: delimited text (CSV/TSV), decodable as UTF-8 or GBK/GB18030;
- `unknown`: none of these.

>>> sniff(b"PK\\x03\\x04" + bytes(30))
'xlsx'
>>> sniff("<html><body><table><tr><td>姓名</td></tr></table></body></html>".encode())
'html'
>>> sniff("姓名,身份证号码\\n张伟,433127199001011238\\n".encode("gbk"))
'text'
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["xlsx", "xls", "spreadsheetml", "html", "text", "unknown"]

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
SNIFF_BYTES = 64 << 10

NOT_EXCEL = "文件不是有效的Excel文件，请用Excel/WPS另存为.xlsx后重试"

_SPREADSHEETML = re.compile(rb"urn:schemas-microsoft-com:office:spreadsheet")
_XML_START = re.compile(rb"^\s*(<\?xml\b|<Workbook\b|<ss:Workbook\b|<!--)", re.I)
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html\b|<head\b|<body\b|<meta\b|<table\b|<!--|<\?xml\b)", re.I)
_HAS_TABLE = re.compile(rb"<table\b", re.I)
# bytes that never occur in a text file (C0 controls other than TAB, LF, FF, CR, and SUB)
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f]")


def _head_as_bytes(data: bytes) -> bytes:
    """The first bytes with a UTF-8 BOM removed (UTF-16 text is not handled here)."""
    head = data[:SNIFF_BYTES]
    return head[3:] if head.startswith(b"\xef\xbb\xbf") else head


def sniff(data: bytes) -> Kind:
    """The kind of file `data` is, from magic bytes first, then from its text.

    >>> sniff(b"\\xd0\\xcf\\x11\\xe0\\xa1\\xb1\\x1a\\xe1" + bytes(500))
    'xls'
    >>> sniff(b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"/>')
    'spreadsheetml'
    >>> sniff(bytes(range(256)))
    'unknown'
    """
    if data.startswith(ZIP_MAGIC):
        return "xlsx"
    if data.startswith(OLE2_MAGIC):
        return "xls"
    head = _head_as_bytes(data)
    if _XML_START.match(head) and _SPREADSHEETML.search(head):
        return "spreadsheetml"
    if _HTML_START.match(head) and _HAS_TABLE.search(data):
        return "html"
    if _BINARY.search(head):
        return "unknown"
    return "text"
