"""report.xlsx's data rows built by polars (`report.rowxml`) are the cells xlsxwriter writes one
by one: same XML in a constant_memory workbook, same cells as the classic (shared strings)
workbook, on text that needs xlsxwriter's rarer handling."""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xlsxwriter.workbook import Workbook

from fanpin_cli.report import rowxml, table
from fanpin_cli.report.formats import Formats
from fanpin_cli.report.memrows import memory_workbook
from fanpin_cli.report.table import FLOAT, INT, LEVEL, PERCENT, Col, finish_table, write_table
from fanpin_cli.report.writer import WORKBOOK_OPTIONS

_ROOT = Path(__file__).resolve().parents[1]


def _compare_workbooks():
    spec = importlib.util.spec_from_file_location("compare_outputs", _ROOT / "benchmarks" / "compare_outputs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["compare_outputs"] = module
    spec.loader.exec_module(module)
    return module.compare_workbooks


def _frame(n: int = 60, *, rich_looking: bool = True, escape_looking: bool = True) -> pl.DataFrame:
    """Real-looking rows plus every kind of text xlsxwriter treats specially."""
    odd = [
        "张三 & 李四 <户主>",          # XML escapes
        " 前导空格", "尾随空格 ",        # xml:space="preserve"
        "王五\u3000",                   # ideographic space at the end (Python's \s)
        "控制\x01字符\x1f",             # control characters → _x0001_
        "字面 _x0041_ 不是转义" if escape_looking else "字面 x0041",  # escaped as _x005F_x0041_
        "非字符\ufffe",
        "长" * 20_000,                  # > 16,383 characters, still within Excel's limit
        "超" * 40_000,                  # cut at 32,767 UTF-16 units
        "😀" * 17_000,                  # 34,000 UTF-16 units: cut without splitting a pair
        "",
        "<r>像富文本</r>" if rich_looking else "<r>",
        "第一行\n第二行",
    ]
    names = [odd[i % len(odd)] if i % 3 == 0 else f"姓名{i}" for i in range(n)]
    return pl.DataFrame({
        "name": names,
        "id": [None if i % 7 == 0 else f"43312720{i:02d}0101{i % 10}23X" for i in range(n)],
        "row": [None if i % 5 == 0 else i * 1_000 + 3 for i in range(n)],
        "score": [None if i % 4 == 0 else (i / 3 if i % 2 else -0.1 * i) for i in range(n)],
        "share": [i / n for i in range(n)],
        "level": [["red", "yellow", "blue", "green", None, ""][i % 6] for i in range(n)],
        "detail": ["说明" * (i % 40) for i in range(n)],
        "other": [names[i] if i % 2 else "不同" for i in range(n)],
    })


def _cols() -> list[Col]:
    return [
        Col("姓名", pl.col("name")),
        Col("证件号码", pl.col("id")),
        Col("行号", pl.col("row"), INT),
        Col("匹配分", pl.col("score"), FLOAT),
        Col("占比", pl.col("share"), PERCENT),
        Col("预警等级", pl.col("level"), LEVEL),
        Col("说明", pl.col("detail"), max_width=20, wrap=True),
        Col("比对", pl.col("other")),
        Col("核实结果", kind="input"),
    ]


def _write(path: Path, frame: pl.DataFrame, *, constant: bool) -> None:
    options = dict(WORKBOOK_OPTIONS, constant_memory=constant)
    wb = Workbook(str(path), options)
    fm = Formats(wb)
    for fmt in wb.formats:  # fixed format numbers in both files, whichever cell uses them first
        fmt._get_xf_index()
    ws = wb.add_worksheet("表")
    ws.write_string(0, 0, "标题", fm.title)
    cols = _cols()
    differs = {0: ((pl.col("c0") != pl.col("c7")) & pl.col("c0").is_not_null(), fm.diff)}
    t = write_table(ws, fm, 2, cols, frame, columns=True, highlight=differs)
    ws.write_string(t.last_row + 1, 0, "合计", fm.total)
    finish_table(ws, fm, t, cols)
    wb.close()


def _sheet_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml")


def test_polars_rows_are_the_xml_xlsxwriter_writes_cell_by_cell(tmp_path, monkeypatch):
    # Not "<r>…</r>": xlsxwriter's constant_memory mode writes such a text as raw rich-text XML;
    # the polars rows escape it, as the classic workbook does (next test).
    frame = _frame(rich_looking=False)
    monkeypatch.setattr(rowxml, "MIN_ROWS", 0)
    _write(tmp_path / "fast.xlsx", frame, constant=True)
    monkeypatch.setattr(rowxml, "MIN_ROWS", 10**9)
    _write(tmp_path / "cells.xlsx", frame, constant=True)
    fast, cells = _sheet_xml(tmp_path / "fast.xlsx"), _sheet_xml(tmp_path / "cells.xlsx")
    assert b"_x0001_" in fast and b'xml:space="preserve"' in fast and b"&amp;" in fast
    assert fast == cells


def test_same_cells_as_the_classic_workbook(tmp_path, monkeypatch):
    # openpyxl reads "_x005F_" back in shared strings but not in inline ones, and reads the
    # classic file's "<r>…</r>" (written raw by xlsxwriter) as "": both are checked apart below.
    frame = _frame(rich_looking=False, escape_looking=False)
    monkeypatch.setattr(rowxml, "MIN_ROWS", 0)
    _write(tmp_path / "fast.xlsx", frame, constant=True)
    _write(tmp_path / "classic.xlsx", frame, constant=False)
    assert _compare_workbooks()(tmp_path / "classic.xlsx", tmp_path / "fast.xlsx") == []
    ws = openpyxl.load_workbook(tmp_path / "fast.xlsx")["表"]
    texts = [ws.cell(r, 1).value for r in range(4, 4 + frame.height)]
    assert "王五\u3000" in texts and any((t or "").startswith("控制") for t in texts)
    assert max(len(t or "") for t in texts) == 32_767
    assert ws.cell(4, 6).fill.fgColor.rgb.endswith("FFC7CE")  # 红 cell filled red
    assert ws.row_dimensions[4 + 39].height > 15  # the long 说明 wraps onto several lines


def test_escape_looking_and_rich_looking_text(tmp_path, monkeypatch):
    frame = _frame()
    monkeypatch.setattr(rowxml, "MIN_ROWS", 0)
    _write(tmp_path / "fast.xlsx", frame, constant=True)
    _write(tmp_path / "classic.xlsx", frame, constant=False)
    with zipfile.ZipFile(tmp_path / "classic.xlsx") as z:
        shared = z.read("xl/sharedStrings.xml").decode()
    fast = _sheet_xml(tmp_path / "fast.xlsx").decode()
    assert "字面 _x005F_x0041_ 不是转义" in shared and "字面 _x005F_x0041_ 不是转义" in fast
    ws = openpyxl.load_workbook(tmp_path / "fast.xlsx")["表"]
    assert "<r>像富文本</r>" in [ws.cell(r, 1).value for r in range(4, 4 + frame.height)]


def test_cut_at_excel_rows_with_polars_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(rowxml, "MIN_ROWS", 0)
    monkeypatch.setattr(table, "EXCEL_MAX_ROWS", 40)
    frame = _frame(60)
    wb = Workbook(str(tmp_path / "cut.xlsx"), WORKBOOK_OPTIONS)
    fm = Formats(wb)
    ws = wb.add_worksheet("表")
    t = write_table(ws, fm, 0, _cols(), frame, columns=True)
    wb.close()
    assert t.n_rows == 38 and t.last_row == 38
    ws = openpyxl.load_workbook(tmp_path / "cut.xlsx")["表"]
    assert ws.cell(39, 3).value == 38 * 1_000 + 3 - 1_000  # last data row: frame row 37
    assert "另有 22 行未列出" in ws.cell(40, 1).value


@pytest.mark.parametrize("value", [float("inf"), 10**17])
def test_numbers_polars_cannot_print_like_xlsxwriter_go_cell_by_cell(tmp_path, monkeypatch, value):
    monkeypatch.setattr(rowxml, "MIN_ROWS", 0)
    frame = pl.DataFrame({"v": [type(value)(1), type(value)(2), value] * 10})
    kind = FLOAT if isinstance(value, float) else INT
    wb = Workbook(str(tmp_path / "n.xlsx"), WORKBOOK_OPTIONS)
    fm = Formats(wb)
    ws = wb.add_worksheet("表")
    write_table(ws, fm, 0, [Col("数", pl.col("v"), kind)], frame)
    wb.close()
    cell = openpyxl.load_workbook(tmp_path / "n.xlsx")["表"].cell(4, 1).value
    assert cell == ("=1/0" if kind == FLOAT else value)  # inf: the error cell nan_inf_to_errors writes


def test_space_class_is_pythons_whitespace():
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    listed = {chr(int(h, 16)) for h in rowxml._SPACE_CLASS.strip("[]").replace("\\x{", " ").replace("}", "").split()}
    assert listed == spaces


# Pieces of texts the checks look for, alone and across the separator of the one scan.
_PIECES = ["甲", "a", "|", " ", "\u3000", "\x01", "_x", "0041", "_", "&", "<", ">", "x", "\n", "\ufffe", ""]


def _exact(values: pl.DataFrame, names: tuple[str, ...]) -> dict[str, object]:
    return values.select(rowxml._text_exprs(names, True, True)).row(0, named=True)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.lists(st.sampled_from(_PIECES), max_size=4).map("".join)),
                         min_size=3, max_size=3), min_size=1, max_size=6))
def test_one_scan_of_all_texts_settles_to_each_columns_own_checks(rows):
    values = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.String, "n": pl.String}, orient="row")
    values = values.with_columns(pl.col("n").str.len_chars().cast(pl.Int64))
    cells = [rowxml.Cells("a"), rowxml.Cells("b"), rowxml.Cells("n", number=True)]
    found = values.select(rowxml.check_exprs(values.schema, cells)).row(0, named=True)
    settled = rowxml.settle(values, cells, found)
    exact = _exact(values, ("a", "b"))
    assert {k: v for k, v in settled.items() if k[:5] in ("_odd:", "_esc:", "_pre:")} == exact
    assert set(rowxml._TEXTS).isdisjoint(settled) and "_big:n" in settled


def test_a_long_text_is_found_by_the_one_scan():
    values = pl.DataFrame({"a": ["长" * 20_000, "b"], "b": [None, "c"]})
    cells = [rowxml.Cells("a"), rowxml.Cells("b")]
    settled = rowxml.settle(values, cells, values.select(rowxml.check_exprs(values.schema, cells)).row(0, named=True))
    assert settled["_odd:a"] is True and settled["_odd:b"] is False


def test_header_rows_as_xml_are_the_header_cells_written_one_by_one(tmp_path, monkeypatch):
    # The table's header row written as one XML row (`rowxml.write_text_row`) or as cells: the
    # same sheet and the same format numbers (styles.xml).
    frame = _frame(rich_looking=False)
    monkeypatch.setattr(rowxml, "MIN_ROWS", 0)
    _write(tmp_path / "xml.xlsx", frame, constant=True)
    monkeypatch.setattr(rowxml, "write_text_row", lambda *a, **k: False)
    _write(tmp_path / "cells.xlsx", frame, constant=True)
    for part in ("xl/worksheets/sheet1.xml", "xl/styles.xml"):
        with zipfile.ZipFile(tmp_path / "xml.xlsx") as a, zipfile.ZipFile(tmp_path / "cells.xlsx") as b:
            assert a.read(part) == b.read(part)


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.lists(st.sampled_from(["户", "a", " ", "&", "<", ">", "\x01", "\u3000", "_x0041_", "\n"]),
                               max_size=6).map("".join), min_size=1, max_size=4),
       row=st.integers(0, 3), col0=st.integers(0, 2))
def test_a_text_row_is_the_cells_xlsxwriter_writes(texts, row, col0):
    def sheet(as_row: bool) -> bytes:
        import io

        buffer = io.BytesIO()
        wb = memory_workbook(buffer, {"constant_memory": True})
        fmt = wb.add_format({"bold": True})
        ws = wb.add_worksheet()
        if row:
            ws.write_string(row - 1, 0, "上一行")
        formats = [fmt if j % 2 else None for j in range(len(texts))]
        if as_row:
            assert rowxml.write_text_row(ws, row, col0, texts, formats)
        else:
            for j, (text, f) in enumerate(zip(texts, formats, strict=True)):
                ws.write_string(row, col0 + j, text, f)
        ws.write_string(row + 1, 0, "下一行")
        wb.close()
        with zipfile.ZipFile(buffer) as z:
            return z.read("xl/worksheets/sheet1.xml")

    assert sheet(True) == sheet(False)


def test_a_text_row_is_refused_where_its_row_has_cells_or_rows_below_are_written():
    import io

    wb = memory_workbook(io.BytesIO(), {"constant_memory": True})
    ws = wb.add_worksheet()
    ws.write_string(2, 0, "已写")
    assert not rowxml.write_text_row(ws, 2, 1, ["同一行"], [None])  # its row holds a cell
    assert not rowxml.write_text_row(ws, 1, 0, ["上面"], [None])    # rows below written already
    assert not rowxml.write_text_row(ws, 3, 0, ["<r>富文本</r>"], [None])
    assert rowxml.write_text_row(ws, 3, 0, ["下面"], [None])
    wb.close()


def _block_sheet(path: Path, values: pl.DataFrame, most_lines: int | None, *, own_row: bool = False) -> bytes:
    wb = Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("表")
    ws.write_string(0, 0, "标题")
    if own_row:  # a row of the block with a height of its own, set before its cells
        ws.set_row(3, 40)
    lines = pl.col("n").cast(pl.Int64)
    cells = [rowxml.Cells("a"), rowxml.Cells("b", number=True)]
    rowxml.write_rows(ws, 1, 0, values, cells, lines, 15.0, most_lines=most_lines)
    ws.write_string(1 + values.height, 0, "合计")
    wb.close()
    return _sheet_xml(path)


def test_rows_heights_and_cells_found_in_one_query_are_those_found_step_by_step(tmp_path, monkeypatch):
    # Rows of 1 to 4 lines, the first of each height not first in the block, some without any
    # cell (one of 3 lines: still written, with its height; one of 1 line: not written).
    values = pl.DataFrame({"a": ["x", None, "y & z", "", None, "w", "v"], "b": [1, 2, None, None, None, 5, 6],
                           "n": [1, 2, 2, 3, 1, 4, 1]})
    blocks = []
    monkeypatch.setattr(rowxml, "_block", lambda *a, _real=rowxml._block: blocks.append(1) or _real(*a))
    one_query = _block_sheet(tmp_path / "one.xlsx", values, 4)
    assert blocks  # written by the one query
    step_by_step = _block_sheet(tmp_path / "steps.xlsx", values, None)
    assert one_query == step_by_step
    assert b'<row r="5" ht="45" customHeight="1"/>' in one_query and b'<row r="6"' not in one_query
    assert b'ht="60"' in one_query and one_query.count(b'ht="30"') == 2


def test_a_block_with_a_row_of_its_own_or_a_count_out_of_range_is_written_step_by_step(tmp_path, monkeypatch):
    # The row with a height of its own (sheet row 4) is the block's first row of one line: written
    # with the one-line opening made ahead, it would lose its height (step by step it keeps it).
    values = pl.DataFrame({"a": ["x", "y", "z"], "b": [1, 2, 3], "n": [2, 3, 1]})
    blocks: list[object] = []
    monkeypatch.setattr(rowxml, "_block", lambda *a, _real=rowxml._block: blocks.append(_real(*a)) or blocks[-1])
    own = _block_sheet(tmp_path / "a.xlsx", values, 8, own_row=True)
    assert blocks == [None]  # not written by the one query
    assert own == _block_sheet(tmp_path / "b.xlsx", values, None, own_row=True)
    assert b'<row r="4" ht="39.75" customHeight="1"' in own  # its own height (40 pt, as Excel rounds it)
    assert _block_sheet(tmp_path / "c.xlsx", values, 2) == _block_sheet(tmp_path / "d.xlsx", values, None)
