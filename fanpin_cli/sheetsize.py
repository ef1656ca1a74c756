"""A worksheet's real size, checked before the sheet is read.

The .xlsx reader (calamine, under fastexcel) builds a dense grid from the first to the last
cell holding a value: one value typed at `XFD1048576` makes it allocate 17 billion cells and
the process dies. So the sheet XML is streamed first (no grid built) and the cells that hold a
value beyond the sheet's declared `<dimension>` are found with a pattern made from that
dimension; cells with no value (formatting only) are ignored, as the reader ignores them.

>>> bool(beyond_pattern(100, 4).search(b'<c r="E1" t="s"><v>0</v></c>'))
True
>>> column_number("XFD"), column_name(16384)
(16384, 'XFD')
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import polars as pl

MAX_CELLS = 64_000_000  # rows × columns the reader may build (about 2 GB); Excel's limit is 17 billion
_CHUNK = 8 << 20
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\sref="([A-Z]{1,3})?([0-9]{1,7})?(?::([A-Z]{1,3})([0-9]{1,7}))?"')
_REF = re.compile(rb'([A-Z]{1,3})([0-9]{1,7})"')


def column_number(letters: str) -> int:
    """1-based column number of `A`, `AD`, `XFD`."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_name(number: int) -> str:
    """Spreadsheet column letters of a 1-based column number.

    >>> column_name(1), column_name(27), column_name(500)
    ('A', 'AA', 'SF')
    """
    out = ""
    while number > 0:
        number, rem = divmod(number - 1, 26)
        out = chr(65 + rem) + out
    return out


def _greater_than(digits: str, alphabet: str) -> list[str]:
    """Regex alternatives matching strings of `alphabet` greater than `digits` (same length or
    longer), with the alphabet's natural order (0–9 or A–Z) and no leading zero/blank."""
    first, last = alphabet[0], alphabet[-1]
    cls = f"[{first}-{last}]"
    length = len(digits)
    alts = [f"{cls}{{{length + 1},}}"] if alphabet.isdigit() else [f"{cls}{{{length + 1},3}}"]
    if alphabet.isdigit():
        alts[0] = f"[1-9]{cls}{{{length},}}"
    for i, ch in enumerate(digits):
        if ch == last:
            continue
        nxt = chr(ord(ch) + 1)
        rest = length - i - 1
        alts.append(f"{re.escape(digits[:i])}[{nxt}-{last}]{cls}{{{rest}}}" if rest else f"{re.escape(digits[:i])}[{nxt}-{last}]")
    return alts


def beyond_pattern(max_row: int, max_col: int) -> re.Pattern[bytes]:
    """Cells whose reference lies beyond row `max_row` or column `max_col` (groups c, r / c2, r2)."""
    cols = "|".join(_greater_than(column_name(max_col), "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    rows = "|".join(_greater_than(str(max_row), "0123456789"))
    ref = f'(?:(?P<c>{cols})(?P<r>[0-9]{{1,7}})|(?P<c2>[A-Z]{{1,3}})(?P<r2>{rows}))"'
    return re.compile(rf' r="{ref}[^>]*>'.encode())  # a literal start: scanned at C speed


@dataclass(frozen=True)
class SheetSize:
    """Rows and columns from A1 to the last cell holding a value."""

    rows: int
    columns: int

    @property
    def cells(self) -> int:
        return self.rows * self.columns

    @property
    def corner(self) -> str:
        """The bottom-right cell of the used range, e.g. `XFD1048576`."""
        return f"{column_name(self.columns)}{self.rows}"


_VALUE = re.compile(rb"\s*<(?:\w+:)?(?:v|is|f)\b")


def utf8_text(data: bytes) -> pl.Series | None:
    """A chunk of sheet XML as one polars text (for its regex engine, which scans a chunk ten
    times faster than `re`), cut to whole characters at both ends (a chunk may start or end
    inside one; the patterns scanned for are ASCII, so no match is lost); None when the chunk is
    not UTF-8.

    >>> utf8_text("表<v>1</v>".encode()[1:]).item()
    '<v>1</v>'
    """
    start = 0
    while start < min(3, len(data)) and 0x80 <= data[start] < 0xC0:
        start += 1
    end = len(data)
    lead = end - 1
    while lead > max(start, end - 4) and 0x80 <= data[lead] < 0xC0:
        lead -= 1
    if lead >= start and data[lead] >= 0xC0 and end - lead < (2 if data[lead] < 0xE0 else 3 if data[lead] < 0xF0 else 4):
        end = lead
    try:
        return pl.Series([data[start:end]], dtype=pl.Binary).cast(pl.String)
    except pl.exceptions.PolarsError:
        return None


def may_match(text: pl.Series | None, *patterns: re.Pattern[bytes]) -> list[bool]:
    """For each pattern, False only when `text` (`utf8_text` of a chunk) surely holds no match
    of it: then the chunk need not be scanned by `re` (whose matches, with their bytes, stay
    the answer). One polars call for all the patterns (each call copies the chunk).

    >>> may_match(utf8_text(b'<v>1</v>'), re.compile(rb"<v>"), re.compile(rb"<f>"))
    [True, False]
    """
    if text is None:
        return [True] * len(patterns)
    try:
        found = text.to_frame("t").select(
            pl.col("t").str.contains(p.pattern.decode("ascii")).alias(f"p{i}") for i, p in enumerate(patterns)
        ).row(0)
    except (pl.exceptions.PolarsError, UnicodeDecodeError):
        return [True] * len(patterns)
    return [bool(f) for f in found]


class ChunkScan(Protocol):
    """Another scan of the sheet XML done in the same pass (e.g. `loaders.LongNumbers`)."""

    pattern: re.Pattern[bytes]  # what it looks for: a chunk without a match is not given to `re`

    def feed(self, data: bytes, may: bool = True) -> None:
        """One chunk; `may` False when the chunk surely holds no match of `pattern`."""


def xlsx_sheet_size(
    path: Path | zipfile.ZipFile, part: str, limit: int = MAX_CELLS, also: ChunkScan | None = None
) -> SheetSize:
    """The used size of worksheet `part` (e.g. `xl/worksheets/sheet1.xml`) of an .xlsx file.

    Cheap when the sheet's `<dimension>` is honest and within `limit` (the usual case: only
    cells beyond it are matched); otherwise the bound grows chunk by chunk from A1. `also` is fed
    every chunk read (consecutive chunks overlap by 512 bytes), for another scan of the XML in
    the same pass. A chunk is scanned by `re` only where polars finds a match in it (`may_match`,
    for both scans at once).
    """
    zf = path if isinstance(path, zipfile.ZipFile) else zipfile.ZipFile(path)
    with zf.open(part) as fh:
        head = fh.read(64 << 10)
    dim = _DIMENSION.search(head)
    rows = cols = 1
    if dim:
        c1, r1, c2, r2 = dim.groups()
        last_col, last_row = (c2, r2) if c2 else (c1, r1)
        if last_col and last_row:
            cols, rows = column_number(last_col.decode()), int(last_row)
    if rows * cols > limit:  # too large to trust as a bound: find the cells holding values
        rows = cols = 1
    with zf.open(part) as fh:
        tail = b""
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            beyond = beyond_pattern(rows, cols)
            hits = may_match(utf8_text(data), beyond, *([also.pattern] if also is not None else []))
            if also is not None:
                also.feed(data, hits[1])
            for match in (beyond.finditer(data) if hits[0] else ()):
                if match.group(0).endswith(b"/>") or not _VALUE.match(data, match.end()):
                    continue  # a cell with formatting only: the reader skips it
                letters, row = (match.group("c"), match.group("r")) if match.group("c") else (match.group("c2"), match.group("r2"))
                cols, rows = max(cols, column_number(letters.decode())), max(rows, int(row))
            tail = data[-512:]
    return SheetSize(rows, cols)
