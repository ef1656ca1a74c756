"""Workbooks zipped at deflate level 1 instead of zlib's default 6.

An .xlsx is a zip of XML parts. xlsxwriter deflates them at zlib's default level (6): at 50,000
households the parts of report.xlsx and the 乡镇 workbooks hold ~140 MB of XML, and deflating it
was about a second of CPU, the largest single cost of writing them after the cells. Level 1 takes
about 40% of that time; the files are about 30% larger (report.xlsx 6.6 → 8.5 MB, a 乡镇 workbook
0.37 → 0.46 MB on average at 50,000 households) and hold the same parts byte for byte (a reader
inflates every level alike: Excel, WPS and LibreOffice open them as before).

The deflating itself is done by ISA-L (`isal`, Intel's deflate for x86 and Arm) where it is
installed: at level 1 it makes streams of the same size as zlib's level 1 in about a third of the
CPU time (at 50,000 households 0.19 s instead of 0.68 s for the ~135 MB of XML of report.xlsx and
the 乡镇 workbooks). Its streams are ordinary deflate: any reader inflates them to the same
bytes. Without it, zlib deflates as before.

xlsxwriter has no setting for it: `Workbook` zips through the `ZipFile` its module imported, so
`Workbook._store_workbook` swaps in `LevelZipFile` (under a lock, put back after) for the
duration of its own packaging.

>>> import io, zipfile
>>> buffer = io.BytesIO()
>>> with LevelZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
...     z.writestr(zipfile.ZipInfo("a.xml"), "<a/>" * 1000)
>>> zipfile.ZipFile(buffer).read("a.xml") == b"<a/>" * 1000
True
"""

from __future__ import annotations

import io
import itertools
import threading
import zipfile
from typing import Any

import xlsxwriter.workbook as _xlsxwriter_workbook
from xlsxwriter.workbook import Workbook as _Workbook

ZIP_LEVEL = 1
_SWAP = threading.Lock()
# Parts' bytes spliced in where their markers are when the parts are zipped (`later`): filled and
# emptied by the thread that holds `_SWAP` (`Workbook._store_workbook`).
_LATER: dict[bytes, bytes] = {}
_MARKS = itertools.count()
_SPLICING = threading.local()  # .on: this thread stores a workbook held in memory through LevelZipFile

try:  # ISA-L's deflate (see module docstring); zlib's where it is not installed
    from isal import isal_zlib as _isal
except ImportError:  # pragma: no cover - isal is a dependency; a platform without its wheel
    _isal = None


class LevelZipFile(zipfile.ZipFile):
    """A ZipFile that deflates every member at `ZIP_LEVEL`, also members written from a
    `ZipInfo` (which `ZipFile.writestr` otherwise deflates at zlib's default)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compresslevel", ZIP_LEVEL)
        super().__init__(*args, **kwargs)

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: int | None = None,
                 compresslevel: int | None = None) -> None:
        level = self.compresslevel if compresslevel is None else compresslevel
        if _LATER and isinstance(data, bytes) and b"\x00" in data:
            for mark in [m for m in _LATER if m in data]:
                data = data.replace(mark, _LATER.pop(mark))
        super().writestr(zinfo_or_arcname, data, compress_type, level)

    def _open_to_write(self, zinfo: zipfile.ZipInfo, force_zip64: bool = False) -> Any:
        """The member's writer, deflating with ISA-L at the member's level (the levels it has,
        0-3; zlib's deflate for another level, or where ISA-L is not installed)."""
        handle = super()._open_to_write(zinfo, force_zip64)
        level = getattr(zinfo, "_compresslevel", None)
        level = self.compresslevel if level is None else level
        if (_isal is not None and zinfo.compress_type == zipfile.ZIP_DEFLATED and hasattr(handle, "_compressor")
                and level is not None and 0 <= level <= _isal.ISAL_BEST_COMPRESSION):
            handle._compressor = _isal.compressobj(level, _isal.DEFLATED, -15)  # raw deflate, as zipfile's
        return handle


class Workbook(_Workbook):
    """xlsxwriter's Workbook, its parts deflated at `ZIP_LEVEL` (see module docstring)."""

    def _store_workbook(self) -> None:
        with _SWAP:
            if getattr(_xlsxwriter_workbook, "ZipFile", None) is not zipfile.ZipFile:
                super()._store_workbook()  # another xlsxwriter: its own zipping
                return
            _xlsxwriter_workbook.ZipFile = LevelZipFile  # type: ignore[misc]
            _SPLICING.on = bool(self.in_memory)  # parts zipped by `writestr` (else from files)
            path = self.filename
            # A workbook packaged in memory is zipped in memory too and written with one call:
            # zipfile seeks back to each member's header in the file, each seek a write.
            buffered = self.in_memory and isinstance(path, str)
            try:
                if buffered:
                    self.filename = io.BytesIO()
                super()._store_workbook()
                if buffered:
                    with open(path, "wb") as out:
                        out.write(self.filename.getbuffer())
            finally:
                if buffered:
                    self.filename = path
                _xlsxwriter_workbook.ZipFile = zipfile.ZipFile  # type: ignore[misc]
                _SPLICING.on = False
                _LATER.clear()


def later(data: bytes) -> str:
    """A marker to write into a part of the workbook being stored (`Workbook._store_workbook`,
    in its thread) where `data`, UTF-8 bytes, go: they are spliced in when the part is zipped,
    not decoded into its text and encoded again with it. The marker holds a NUL character,
    which no XML part holds.

    >>> import io
    >>> buffer = io.BytesIO()
    >>> _SPLICING.on = True
    >>> with LevelZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
    ...     z.writestr(zipfile.ZipInfo("a.xml"), f"<a>{later('甲'.encode())}</a>".encode())
    >>> _SPLICING.on = False
    >>> zipfile.ZipFile(buffer).read("a.xml").decode(), _LATER
    ('<a>甲</a>', {})
    >>> later("乙".encode())  # no workbook being stored through LevelZipFile (another xlsxwriter)
    '乙'
    """
    if not getattr(_SPLICING, "on", False):
        return data.decode("utf-8")
    mark = f"\x00fanpin-part-{next(_MARKS)}\x00"
    _LATER[mark.encode()] = data
    return mark
