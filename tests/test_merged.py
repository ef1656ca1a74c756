"""Merged cells: a household's cells merged over its members' rows are read as the office
programs show them (every row gets the value), and said (CELL_MERGED, summary.json, console).

The workbooks under tests/fixtures/merged/ were written by LibreOffice Calc (see
`make_merged_fixtures.py` there); the HTML one is the shape of web-page "Excel" exports.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.loaders import load_file
from fanpin_cli.markup import read_spreadsheetml
from fanpin_cli.merged import Span, fill_merged, merged_columns

HERE = Path(__file__).parent / "fixtures" / "merged"
FLAT = "监测对象_平铺.csv"
MERGED = ("监测对象_合并.xlsx", "监测对象_合并.xls", "监测对象_合并.ods", "监测对象_网页.xls")
HOUSEHOLD = ["township", "village", "household_id", "household_size", "object_type", "income_per_capita"]
FIELDS = [*HOUSEHOLD, "name", "id_number", "sex", "relation"]
runner = CliRunner()


def _frame(**columns: list[str | None]) -> pl.DataFrame:
    height = len(next(iter(columns.values())))
    return pl.DataFrame({**columns, "source_row": list(range(3, 3 + height))},
                        schema={**{c: pl.String for c in columns}, "source_row": pl.Int64})


HOUSE = ["A", None, None, "B"]  # a merged range's value is in its first cell only


@pytest.mark.parametrize(("c0", "spans", "after_c0", "after_c1", "filled"), [
    pytest.param(HOUSE, [Span(3, 5, 0, 0)], ["A", "A", "A", "B"], ["x", "y", "z", "w"], {0: 2}, id="down"),
    pytest.param(HOUSE, [Span(3, 3, 0, 1)], HOUSE, ["x", "y", "z", "w"], {}, id="across-names-its-first-field-only"),
    pytest.param(HOUSE, [Span(3, 4, 0, 1)], ["A", "A", None, "B"], ["x", "y", "z", "w"], {0: 1},
                 id="down-and-across-fills-its-first-column"),
    pytest.param(HOUSE, [Span(6, 9, 0, 0)], HOUSE, ["x", "y", "z", "w"], {}, id="a-range-on-the-last-row-only"),
    pytest.param(["A", None, None, None], [Span(5, 9, 0, 0)], ["A", None, None, None], ["x", "y", "z", "w"], {0: 1},
                 id="cut-at-the-last-row"),
    pytest.param(HOUSE, [Span(1, 1, 0, 1), Span(2, 4, 0, 0)], HOUSE, ["x", "y", "z", "w"], {},
                 id="title-and-header-ranges-left"),
    pytest.param([None, "stale", None, "B"], [Span(3, 4, 0, 0)], [None, None, None, "B"], ["x", "y", "z", "w"], {0: 1},
                 id="a-value-hidden-under-the-merge-is-not-shown"),
    pytest.param(HOUSE, [Span(3, 4, 7, 8)], HOUSE, ["x", "y", "z", "w"], {}, id="beyond-the-columns"),
])
def test_fill_merged_gives_each_cell_of_a_data_range_its_shown_value(c0, spans, after_c0, after_c1, filled):
    frame = _frame(c0=c0, c1=["x", "y", "z", "w"])
    out = fill_merged(frame, [s for s in spans if s.first_row >= 3], first_row=3)
    assert out["c0"].to_list() == after_c0
    assert out["c1"].to_list() == after_c1
    assert out["source_row"].to_list() == frame["source_row"].to_list()
    assert {m.column: m.cells for m in merged_columns(spans, header_line=2, last_row=6, width=2)} == filled


@pytest.mark.parametrize("name", MERGED)
def test_a_merged_roster_reads_as_its_flat_twin(name):
    flat = load_file(HERE / FLAT, "roster")
    merged = load_file(HERE / name, "roster")
    assert merged.frame.select(FIELDS).rows() == flat.frame.select(FIELDS).rows()
    assert merged.header_row == 2  # the title merged across the table is left above the header
    # every household column said, with its ranges (households of 3 and 4 persons) and cells
    assert [(m["column"], m["ranges"], m["cells"], m["first_row"]) for m in merged.merged_cells] == [
        (h, 2, 5, 3) for h in ("乡(镇)", "行政村", "户编号", "家庭人数", "监测对象类别", "人均纯收入（元）")]
    issues = merged.issues.filter(pl.col("check_id") == "CELL_MERGED")
    assert issues.height == len(HOUSEHOLD)
    assert issues["source_row"].to_list() == [3] * len(HOUSEHOLD)
    assert all("合并单元格" in m and "5 个单元格" in m for m in issues["message"])


@pytest.mark.parametrize("name", ["监测对象_双行表头.xlsx", "监测对象_双行表头.xls", "监测对象_双行表头.ods",
                                  "监测对象_双行表头_网页.xls"])
def test_a_two_row_header_with_headings_merged_down_is_read(name):
    """Government forms draw two header rows: 户编号, 行政村 … merged down over both, 成员信息
    merged across 姓名, 证件号码 … below it. The lower row then names every column."""
    flat = load_file(HERE / FLAT, "roster")
    merged = load_file(HERE / name, "roster")
    assert merged.header_row == 3
    assert merged.frame.select(FIELDS).rows() == flat.frame.select(FIELDS).rows()
    assert merged.headings["household_id"] == "户编号" and merged.headings["name"] == "姓名"
    # the headings' merges are not reported as filled data; the households' are
    assert [(m["column"], m["first_row"]) for m in merged.merged_cells][:1] == [("乡(镇)", 4)]


@pytest.mark.parametrize("suffix", ["xlsx", "xls", "ods"])
def test_row_numbers_are_the_sheets_when_it_starts_below_row_1(suffix):
    """花名册_B3起: rows 1–2 and column A empty; the reader starts at B3. Row numbers stay the
    sheet's (an .ods was read as if its header were on row 1)."""
    loaded = load_file(HERE / f"花名册_B3起.{suffix}", "roster")
    assert loaded.header_row == 3
    assert loaded.frame["source_row"].to_list() == [4, 5]
    assert loaded.frame["name"].to_list() == ["张伟", "李秀英"]


def test_a_flat_file_reports_no_merged_cells():
    assert load_file(HERE / FLAT, "roster").merged_cells == []


def test_spreadsheetml_merge_down_is_a_span():
    xml = ('<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="花名册"><Table>'
           '<Row><Cell><Data ss:Type="String">户编号</Data></Cell><Cell><Data ss:Type="String">姓名</Data></Cell>'
           '<Cell><Data ss:Type="String">证件号码</Data></Cell></Row>'
           '<Row><Cell ss:MergeDown="1"><Data ss:Type="String">4331270100100001</Data></Cell>'
           '<Cell><Data ss:Type="String">张伟</Data></Cell><Cell><Data ss:Type="String">433127197303159810</Data></Cell></Row>'
           '<Row><Cell ss:Index="2"><Data ss:Type="String">李秀英</Data></Cell>'
           '<Cell><Data ss:Type="String">433127197508222625</Data></Cell></Row>'
           '</Table></Worksheet></Workbook>').encode()
    spans: dict[int, list[Span]] = {}
    read_spreadsheetml(xml, spans=spans)
    assert spans == {0: [Span(2, 3, 0, 0)]}


def _county(tmp_path: Path, roster: str) -> Path:
    county = tmp_path / "county"
    county.mkdir(parents=True)
    shutil.copy(HERE / roster, county / roster)
    shutil.copy(HERE / "公安_户籍注销.csv", county / "公安_户籍注销.csv")
    (county / "fanpin.toml").write_text(
        f'[run]\ncounty = "永顺县"\nperiod = "2026-11"\nreference_date = "2026-11-30"\n\n'
        f'[roster]\npath = "{roster}"\n\n[[extracts]]\nsector = "police"\npath = "公安_户籍注销.csv"\n',
        encoding="utf-8")
    return county / "fanpin.toml"


def _flags(out: Path) -> list[tuple[str, ...]]:
    with open(out / "flags.csv", encoding="utf-8-sig") as fh:
        return sorted((r["rule_id"], r["household_id"], r["village"], r["person_name"]) for r in csv.DictReader(fh))


def test_a_run_on_a_merged_roster_flags_what_the_flat_one_does_and_says_so(tmp_path):
    """李秀英 (died) and 周强 (服役) are the 2nd and 4th members of their households: read
    without their merged 户编号 and 村, their households' flags would go missing."""
    outs = {}
    for roster in (FLAT, "监测对象_合并.xlsx"):
        out = tmp_path / "out" / roster.replace(".", "_")
        result = runner.invoke(app, ["run", str(_county(tmp_path / out.name, roster)), "--out", str(out), "--no-history"])
        assert result.exit_code == 0, result.output
        outs[roster] = (out, result.output)
    flat, merged = _flags(outs[FLAT][0]), _flags(outs["监测对象_合并.xlsx"][0])
    assert merged == flat
    assert ("POL_DEREGISTERED", "4331270100100001", "龙山村", "李秀英") in merged
    assert ("POL_DEREGISTERED", "4331270200100003", "新河村", "周强") in merged
    out, console = outs["监测对象_合并.xlsx"]
    assert "有合并单元格" in console and "「户编号」" in console
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"][0]["merged_cells"][2]["column"] == "户编号"
    assert summary["quality"]["by_check"]["CELL_MERGED"]["issues"] == len(HOUSEHOLD)
    assert "有合并单元格" not in outs[FLAT][1]
