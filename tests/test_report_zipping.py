"""report/zipping.py: workbooks' parts deflated by ISA-L at level 1, read back as they were."""

from __future__ import annotations

import io
import zipfile
import zlib

import openpyxl
from isal import isal_zlib

from fanpin_cli.report.zipping import ZIP_LEVEL, LevelZipFile, Workbook

_XML = ("<row r=\"1\"><c t=\"inlineStr\"><is><t>张三 433127***********8</t></is></c></row>" * 3000).encode()


def _raw(member: str, buffer: io.BytesIO) -> bytes:
    """The stored (deflated) bytes of `member`."""
    with zipfile.ZipFile(buffer) as z:
        info = z.getinfo(member)
    buffer.seek(info.header_offset + 26)
    name_len, extra_len = int.from_bytes(buffer.read(2), "little"), int.from_bytes(buffer.read(2), "little")
    buffer.seek(info.header_offset + 30 + name_len + extra_len)
    return buffer.read(info.compress_size)


def _deflated(module, level: int, data: bytes) -> bytes:
    c = module.compressobj(level, module.DEFLATED, -15)
    return c.compress(data) + c.flush()


def test_members_are_deflated_by_isal_and_read_back_the_same(tmp_path) -> None:
    part = tmp_path / "sheet1.xml"
    part.write_bytes(_XML)
    buffer = io.BytesIO()
    with LevelZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("a.xml", (1980, 1, 1, 0, 0, 0))  # as xlsxwriter writes a workbook held in memory
        info.compress_type = z.compression
        z.writestr(info, _XML)
        z.write(part, "b.xml")  # as it writes parts streamed to temp files (8 KB at a time)
        z.writestr("c.xml", _XML, compresslevel=9)  # a level ISA-L does not have: zlib's
    with zipfile.ZipFile(buffer) as z:
        assert z.testzip() is None
        assert [z.read(n) for n in ("a.xml", "b.xml", "c.xml")] == [_XML] * 3
    assert _raw("a.xml", buffer) == _deflated(isal_zlib, ZIP_LEVEL, _XML)
    assert _raw("c.xml", buffer) == _deflated(zlib, 9, _XML)
    assert zlib.decompress(_raw("b.xml", buffer), -15) == _XML


def test_a_workbook_zipped_so_opens_with_its_cells(tmp_path) -> None:
    path = tmp_path / "a.xlsx"
    wb = Workbook(str(path), {"constant_memory": True, "tmpdir": str(tmp_path)})
    ws = wb.add_worksheet("汇总")
    for r in range(2000):
        ws.write_row(r, 0, [f"村{r}", r, "=1+1"])
    wb.close()
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
    sheet = openpyxl.load_workbook(path, read_only=True)["汇总"]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2000 and rows[1999][:2] == ("村1999", 1999)


def test_a_workbook_held_in_memory_is_zipped_in_memory_and_written_at_once(tmp_path, monkeypatch) -> None:
    # The same file as zipped into the file member by member; the file opened once, written once.
    import builtins

    def make(path, in_memory: bool) -> None:  # noqa: ANN001
        wb = Workbook(str(path), {"in_memory": in_memory, "tmpdir": str(tmp_path)})
        ws = wb.add_worksheet("汇总")
        for r in range(200):
            ws.write_row(r, 0, [f"村{r}", r])
        wb.set_properties({"created": __import__("datetime").datetime(2026, 1, 1)})
        wb.close()
        assert wb.filename == str(path)

    make(tmp_path / "file.xlsx", False)
    opened: list[str] = []
    real_open = builtins.open

    def counting_open(file, mode="r", *args, **kwargs):  # noqa: ANN001, ANN202
        if str(file).endswith("memory.xlsx"):
            opened.append(mode)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    make(tmp_path / "memory.xlsx", True)
    monkeypatch.setattr(builtins, "open", real_open)
    assert opened == ["wb"]
    with zipfile.ZipFile(tmp_path / "file.xlsx") as a, zipfile.ZipFile(tmp_path / "memory.xlsx") as b:
        assert a.namelist() == b.namelist()
        assert all(a.read(n) == b.read(n) for n in a.namelist())
