"""The sheet-XML pass before an .xlsx is read (`sheetsize.xlsx_sheet_size` with
`loaders.LongNumbers`): chunks are scanned by `re` only where polars' regex finds a match, so
the answer must not depend on where the chunks are cut (inside a Chinese character, inside a
cell) or on whether a chunk is UTF-8 at all."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fanpin_cli import sheetsize
from fanpin_cli.loaders import LongNumbers
from fanpin_cli.sheetsize import utf8_text, xlsx_sheet_size

PART = "xl/worksheets/sheet1.xml"


def _sheet(rows: list[str], dimension: str = "A1:C4") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet><dimension ref="' + dimension + '"/><sheetData>'
        + "".join(rows) + "</sheetData></worksheet>"
    ).encode()


ROWS = [
    '<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c><c r="B1" t="inlineStr"><is><t>身份证号码</t></is></c></row>',
    '<row r="2"><c r="A2" t="inlineStr"><is><t>张晓明</t></is></c><c r="B2"><v>4.33127201309269E+017</v></c></row>',
    '<row r="3"><c r="A3" t="inlineStr"><is><t>阿依古丽·买买提</t></is></c><c r="B3"><v>433127199001011000</v></c></row>',
    '<row r="4"><c r="A4" t="inlineStr"><is><t>王芳</t></is></c><c r="B4" t="inlineStr"><is><t>433127199001011238</t></is></c></row>',
    '<row r="9"><c r="E9" t="inlineStr"><is><t>备注：远处的值</t></is></c></row>',  # beyond the dimension
]


def _scan(path: Path) -> tuple[sheetsize.SheetSize, list[tuple[int, str]]]:
    numbers = LongNumbers()
    with zipfile.ZipFile(path) as zf:
        size = xlsx_sheet_size(zf, PART, also=numbers)
    return size, sorted(numbers.frame().select("source_row", "written").rows())


@pytest.mark.parametrize("xml", [_sheet(ROWS), _sheet(ROWS).replace("备注".encode(), b"\xff\xfe")],
                         ids=["utf8", "not-utf8"])
def test_the_answer_does_not_depend_on_where_chunks_are_cut(xml: bytes, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(PART, xml)
    whole = _scan(path)
    assert whole[0] == sheetsize.SheetSize(rows=9, columns=5)
    assert whole[1] == [(2, "4.33127201309269E+017"), (3, "433127199001011000")]
    for chunk in range(600, 700, 7):  # cuts inside characters, tags and numbers; 512-byte overlap
        monkeypatch.setattr(sheetsize, "_CHUNK", chunk)
        assert _scan(path) == whole, chunk


def test_utf8_text_keeps_whole_characters_wherever_a_chunk_is_cut() -> None:
    data = "<t>阿依古丽·买买提</t><v>1</v>".encode()
    for start in range(len(data)):
        for end in range(start, len(data) + 1):
            text = utf8_text(data[start:end])
            assert text is not None
            assert text.item() in data.decode()  # whole characters only, none made up
    assert utf8_text(b"<v>\xff</v>") is None
