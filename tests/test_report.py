"""report.xlsx: written with xlsxwriter, re-read with openpyxl as Excel/WPS would see it."""

from __future__ import annotations

import re
import time
from datetime import date

import openpyxl
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from fanpin_cli.errors import FanpinError
from fanpin_cli.report import ReportData, RuleInfo, write_report
from fanpin_cli.report.formats import SheetNames, display_width
from fanpin_cli.tables import SCORECARD, STOCKTAKE_COUNTS, heading

RULES = [
    RuleInfo("MED_UNINSURED", "未参加基本医疗保险", "red"),
    RuleInfo("EDU_AID_MISSING", "在读学生未享受教育资助", "yellow"),
    RuleInfo("DIS_SEVERE", "重度残疾人（一级、二级）", "blue"),
    RuleInfo("HOUSE_UNSAFE", "住房安全鉴定为C级或D级且未改造", "red"),  # no flags this month
    RuleInfo("CIV_CANDIDATE", "民政低保特困在保但不在监测系统", "blue"),
]

FLAG_SCHEMA = {
    "household_id": pl.String, "township": pl.String, "village": pl.String, "rule_id": pl.String,
    "level": pl.String, "roster_row": pl.Int64, "person_name": pl.String, "sector": pl.String,
    "source_file": pl.String, "source_row": pl.Int64, "detail": pl.String, "title": pl.String,
    "id_number": pl.String, "group": pl.String, "relation": pl.String, "evidence_status": pl.String,
    "record_key": pl.String,
}


def _flags() -> pl.DataFrame:
    rows = [
        # deliberately unsorted: the writer sorts by 乡镇/村/户编号
        ("4331270102000045", "石堤镇", "洞坎村", "MED_UNINSURED", "red", 57, "彭秀英", "roster",
         None, None, "未查到有效医保参保记录", "未参加基本医疗保险", "433127********2026",
         "03", "之女", "confirmed", "F-med-57"),
        ("4331270101000123", "灵溪镇", "司城村", "MED_UNINSURED", "red", 12, "向国华", "roster",
         None, None, "未查到有效医保参保记录", "未参加基本医疗保险", "433127********1234",
         "1", "户主", "confirmed", "F-med-12"),
        ("4331270101000123", "灵溪镇", "司城村", "EDU_AID_MISSING", "yellow", 14, "向小红",
         "education", "教育_学籍资助.xlsx", 88, "在读（永顺县第一中学），资助项目为空",
         "在读学生未享受教育资助", "433127********5678", "1", "之女", "confirmed", "F-edu-14"),
        ("4331270101000007", "灵溪镇", "司城村", "DIS_SEVERE", "blue", 3, "田土生", "disability",
         "残联_持证.csv", 5, "残疾等级 一级（肢体）", "重度残疾人（一级、二级）",
         "433127********0011", None, None, "confirmed", "F-dis-3"),
        (None, "灵溪镇", "老司城村", "CIV_CANDIDATE", "blue", None, "张三妹", "civil_affairs",
         "民政_低保特困.xlsx", 9, "农村低保 在保，未在监测系统中找到",
         "民政低保特困在保但不在监测系统", "433127********9999", None, None, "confirmed", "F-civ-9"),
        # waits for a review item: listed on 待核实后确定, not on the rule sheet nor in the counts
        ("4331270102000046", "石堤镇", "洞坎村", "MED_UNINSURED", "red", 61, "彭大勇", "roster",
         None, None, "医保参保登记无有效参保记录（另有待核实匹配：医保_参保登记.csv 第42行，参保状态：参保缴费，"
         "人工确认后本条可能不成立）", "未参加基本医疗保险", "433127********3030", "2", "户主",
         "pending_review", "F-med-61"),
    ]
    return pl.DataFrame(rows, schema=FLAG_SCHEMA, orient="row")


def _data(flags: pl.DataFrame | None = None, rules: list[RuleInfo] | None = None) -> ReportData:
    flags = _flags() if flags is None else flags
    if "evidence_status" not in flags.columns:
        flags = flags.with_columns(pl.lit("confirmed").alias("evidence_status"))
    rule_counts = flags.filter(pl.col("evidence_status") == "confirmed").group_by("rule_id").agg(
        pl.col("household_id").drop_nulls().n_unique().alias("households"),
        pl.len().alias("persons"),
    )
    area_counts = pl.DataFrame(
        {
            "township": ["灵溪镇", "灵溪镇", "石堤镇"],
            "village": ["司城村", "老司城村", "洞坎村"],
            "households_red": [1, 0, 1],
            "households_yellow": [0, 0, 0],
            "households_blue": [1, 0, 0],
            "households": [2, 0, 1],
            "persons": [3, 0, 1],
        }
    )
    quality = pl.DataFrame(
        {
            "source_file": ["医保_参保登记.csv", "医保_参保登记.csv", "监测对象信息.xlsx"],
            "source_row": [15, 7, 30],
            "column": ["公民身份号码", "公民身份号码", "与户主关系"],
            "field": ["id_number", "id_number", "relation"],
            "check_id": ["ID_EXCEL_MANGLED", "ID_INVALID_CHECKSUM", "REL_SEX_CONFLICT"],
            "dimension": ["规范性", "准确性", "一致性"],
            "severity": ["error", "warning", "info"],
            "message": ["身份证号被 Excel 转成科学计数法", "校验位错误", "之子但身份证为女性"],
            "name": ["向国华", "彭秀英", "向小红"],
            "record_key": ["Q-1", "Q-2", "Q-3"],
            "household_id": [None, None, "4331270101000123"],
            "township": [None, None, "灵溪镇"],
            "village": [None, None, "司城村"],
        }
    )
    review = pl.DataFrame(
        {
            "sector": ["medical_enrollment"],
            "source_file": ["医保_参保登记.csv"],
            "source_row": [42],
            "extract_name": ["向晓红"],
            "extract_id": ["433127********567X"],
            "extract_birth": ["2010-05-03 00:00:00"],  # an Excel date cell read as text
            "extract_township": ["灵溪镇"],
            "extract_village": ["司城村"],
            "roster_row": [14],
            "household_id": ["4331270101000123"],
            "roster_name": ["向小红"],
            "roster_id": ["433127********5678"],
            "roster_birth": [date(2010, 5, 3)],
            "roster_township": ["灵溪镇"],
            "roster_village": ["司城村"],
            "match_score": [86.5],
            "reason": ["姓名同音（晓/小），出生日期一致，身份证号第18位不同"],
            "record_key": ["R-42"],
        }
    )
    scorecard = SCORECARD.conform(pl.DataFrame(
        {  # the columns quality.scorecard produces
            "level": ["村", "乡镇", "村", "乡镇", "全县"],
            "township": ["灵溪镇", "灵溪镇", "石堤镇", "石堤镇", "全县"],
            "village": ["司城村", "（合计）", "洞坎村", "（合计）", "（合计）"],
            "rows": [120, 120, 80, 80, 200],
            "error_rows": [3, 3, 0, 0, 3],
            "clean_rate": [0.975, 0.975, 1.0, 1.0, 0.985],
            "grade": ["优", "优", "优", "优", "优"],
            "issues": [4, 4, 0, 0, 4],
            "issues_完整性": [1, 1, 0, 0, 1],
            "rate_完整性": [1 / 120, 1 / 120, 0.0, 0.0, 1 / 200],
        }
    )).with_columns(pl.col("^issues.*$", "errors", "warnings", "infos").fill_null(0))
    stocktake = STOCKTAKE_COUNTS.conform(pl.DataFrame(
        {
            "sector": ["medical_enrollment", "education"],
            "extract_rows": [190, 40],
            "roster_only_persons": [2, 1],
            "sector_only_rows": [15, 300],
            "mismatch_rows": [1, 0],
        }
    ))
    links = pl.DataFrame(
        {
            "file": ["医保_参保登记.csv", "教育_学籍资助.xlsx"],
            "sector": ["medical_enrollment", "education"],
            "rows_read": [208, 341],
            "rows_linked": [190, 40],
            "rows_review": [1, 0],
            "rows_unlinked": [15, 300],
            "rows_rejected": [2, 1],
        }
    )
    return ReportData(
        county="永顺县",
        period="2026-11",
        reference_date=date(2026, 11, 30),
        version="0.1.0",
        rules=RULES if rules is None else rules,
        flags=flags,
        rule_counts=rule_counts,
        area_counts=area_counts,
        quality=quality,
        scorecard=scorecard,
        review=review,
        stocktake=stocktake,
        links_by_sector=links,
    )


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> openpyxl.Workbook:
    path = tmp_path_factory.mktemp("report") / "report.xlsx"
    write_report(path, _data())
    return openpyxl.load_workbook(path)


def _header(ws) -> list[str]:
    return [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]


def _records(ws) -> list[dict]:
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


RULE_HEADER = ["乡镇", "村", "组", "户编号", "姓名", "证件号码", "与户主关系", "预警等级",
               "疑点说明", "数据来源", "核实结果", "整改情况", "记录编号"]


def test_sheet_names_and_order(book):
    assert book.sheetnames == [
        "汇总",
        "未参加基本医疗保险",
        "在读学生未享受教育资助",
        "重度残疾人（一级、二级）",
        "住房安全鉴定为C级或D级且未改造",
        "待核实后确定",
        "应纳未纳",
        "待核实匹配",
        "数据质量",
        "质量评分",
        "账账相符",
    ]


def test_summary(book):
    ws = book["汇总"]
    assert ws["A1"].value == "永顺县 2026-11 防返贫监测比对结果"
    assert ws["B2"].value == "2026-11-30"
    assert "0.1.0" in ws["B3"].value
    cells = {c.value: c for row in ws.iter_rows() for c in row if c.value is not None}
    # rules table
    head = cells["规则编号"]
    r = head.row
    assert [ws.cell(r, c).value for c in range(1, 7)] == [
        "规则编号", "规则名称", "预警等级", "户数", "人数", "户人数"]
    body = {ws.cell(i, 1).value: [ws.cell(i, c) for c in range(1, 7)]
            for i in range(r + 1, r + 1 + len(RULES))}
    assert list(body) == [rule.rule_id for rule in RULES]
    med = body["MED_UNINSURED"]
    assert med[2].value == "红" and med[2].fill.fgColor.rgb.endswith("FFC7CE")
    assert (med[3].value, med[4].value, med[5].value) == (2, 2, "2户2人")
    assert med[3].data_type == "n"
    assert med[1].hyperlink is not None and "未参加基本医疗保险" in med[1].hyperlink.location
    house = body["HOUSE_UNSAFE"]
    assert (house[3].value, house[4].value, house[5].value) == (0, 0, "0户0人")
    assert body["CIV_CANDIDATE"][5].value == "1人"  # no 户编号 for 应纳未纳 candidates
    assert body["EDU_AID_MISSING"][2].fill.fgColor.rgb.endswith("FFEB9C")
    assert body["DIS_SEVERE"][2].fill.fgColor.rgb.endswith("BDD7EE")
    # per township / village tables with coloured count headings
    assert cells["红色户数"].fill.fgColor.rgb.endswith("FFC7CE")
    village_heads = [c for c in ws[cells["三、按村"].row + 1]]
    assert [c.value for c in village_heads[:7]] == [
        "乡镇", "村", "红色户数", "黄色户数", "蓝色户数", "合计户数", "人数"]
    first = ws[cells["三、按村"].row + 2]
    assert first[0].value == "灵溪镇" and first[1].value == "司城村" and first[5].value == 2
    assert "合计" in [ws.cell(i, 1).value for i in range(1, ws.max_row + 1)]
    assert "四、各行业数据比对情况" in cells and "医保参保登记" in cells
    assert "医保_参保登记.csv" in cells  # links_by_sector may name the file column "file"


def test_rule_sheet_layout_and_types(book):
    ws = book["未参加基本医疗保险"]
    assert _header(ws) == RULE_HEADER
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:M3"
    assert ws.sheet_properties.tabColor.rgb.endswith("C00000")
    recs = _records(ws)
    # sorted by 乡镇/村/户编号
    assert [r["乡镇"] for r in recs] == ["灵溪镇", "石堤镇"]
    assert recs[0]["户编号"] == "4331270101000123"
    assert recs[0]["组"] == "1" and recs[1]["组"] == "03"
    assert recs[0]["数据来源"].startswith("监测对象信息") and "第12行" in recs[0]["数据来源"]
    assert recs[0]["核实结果"] is None and recs[0]["整改情况"] is None
    row2 = ws[2]
    hh, id_cell, level = row2[3], row2[5], row2[7]
    assert hh.data_type == "s" and isinstance(hh.value, str)
    assert id_cell.data_type == "s" and id_cell.value == "433127********1234"
    assert level.value == "红" and level.fill.fgColor.rgb.endswith("FFC7CE")
    # the whole 户编号 column is formatted as text for later typing
    assert ws.column_dimensions["D"].width > 16


def test_rule_sheet_source_and_yellow(book):
    ws = book["在读学生未享受教育资助"]
    recs = _records(ws)
    assert recs[0]["数据来源"] == "教育_学籍资助.xlsx 第88行"
    assert ws["H2"].fill.fgColor.rgb.endswith("FFEB9C")
    assert ws.sheet_properties.tabColor.rgb.endswith("FFC000")


def test_rule_with_no_flags_has_header_only(book):
    ws = book["住房安全鉴定为C级或D级且未改造"]
    assert _header(ws) == RULE_HEADER
    assert ws.max_row == 1
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref is not None


def test_candidates(book):
    ws = book["应纳未纳"]
    assert _header(ws) == ["来源文件", "行号", "姓名", "证件号码", "乡镇", "村", "说明",
                           "核实结果", "整改情况", "记录编号"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:J2"
    assert ws["B2"].value == 9 and ws["B2"].data_type == "n"
    assert ws["C2"].value == "张三妹"
    assert ws["D2"].value == "433127********9999" and ws["D2"].data_type == "s"


def test_review_side_by_side(book):
    ws = book["待核实匹配"]
    head = _header(ws)
    assert head[:3] == ["行业", "来源文件", "行号"]
    assert head.index("行业姓名") < head.index("系统姓名")
    assert head[-5:] == ["匹配分", "原因", "核实结果", "备注", "记录编号"]
    rec = _records(ws)[0]
    assert rec["行业"] == "医保参保登记"
    assert rec["行业姓名"] == "向晓红" and rec["系统姓名"] == "向小红"
    assert rec["户编号"] == "4331270101000123"
    assert rec["行业出生日期"] == "2010-05-03"
    assert rec["匹配分"] == 86.5
    # differing values are highlighted, equal ones not
    name_cell = ws.cell(2, head.index("行业姓名") + 1)
    birth_cell = ws.cell(2, head.index("行业出生日期") + 1)
    assert name_cell.font.b and not birth_cell.font.b
    # 核实结果 is a dropdown
    dv = ws.data_validations.dataValidation
    assert dv and "是同一人" in dv[0].formula1
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref


def test_quality(book):
    ws = book["数据质量"]
    assert _header(ws) == ["文件", "行号", "姓名", "户编号", "列", "检查项", "检查编号", "维度", "严重程度",
                           "说明", "乡镇", "村", "核实结果", "整改情况", "记录编号"]
    recs = _records(ws)
    # check names beside the codes; who the row is about; the key to read the answer back
    assert recs[0]["检查项"] == "18位证件号码校验位错误" and recs[0]["检查编号"] == "ID_INVALID_CHECKSUM"
    assert recs[0]["姓名"] == "彭秀英" and recs[0]["记录编号"] == "Q-2"
    # sorted by file, then row
    assert [(r["文件"], r["行号"]) for r in recs] == [
        ("医保_参保登记.csv", 7), ("医保_参保登记.csv", 15), ("监测对象信息.xlsx", 30)]
    assert [r["严重程度"] for r in recs] == ["警告", "错误", "提示"]
    assert ws["I3"].fill.fgColor.rgb.endswith("FFC7CE")
    assert ws["B2"].data_type == "n"


def test_scorecard_and_stocktake(book):
    """质量评分 and 账账相符 show the headings declared in tables.py, every one Chinese."""
    ws = book["质量评分"]
    assert _header(ws) == [heading("scorecard", c) for c in SCORECARD.names]
    assert all(re.search(r"[\u4e00-\u9fff]", h) and not re.search(r"[a-z_]", h) for h in _header(ws))
    clean = _header(ws).index(heading("scorecard", "clean_rate")) + 1
    cell = ws.cell(row=2, column=clean)
    assert cell.value == 0.975 and cell.number_format == "0.0%"
    rate = _header(ws).index(heading("scorecard", "rate_完整性")) + 1
    assert ws.cell(row=2, column=rate).number_format == "0.0%"
    ws = book["账账相符"]
    assert _header(ws) == [heading("stocktake_counts", c) for c in STOCKTAKE_COUNTS.names]
    assert ws["A2"].value == "医保参保登记" and ws["B2"].value == 190


def test_optional_sheets_absent(tmp_path):
    data = _data()
    data.scorecard = None
    data.stocktake = None
    data.links_by_sector = None
    path = tmp_path / "report.xlsx"
    write_report(path, data)
    wb = openpyxl.load_workbook(path)
    assert "质量评分" not in wb.sheetnames and "账账相符" not in wb.sheetnames
    assert wb.sheetnames[-1] == "数据质量"


def test_empty_month(tmp_path):
    """No flags, no issues, no review rows: every sheet is still there with its header."""
    data = _data(flags=pl.DataFrame(schema=FLAG_SCHEMA))
    data.quality = pl.DataFrame()
    data.review = pl.DataFrame()
    data.area_counts = pl.DataFrame()
    data.rule_counts = pl.DataFrame()
    path = tmp_path / "report.xlsx"
    write_report(path, data)
    wb = openpyxl.load_workbook(path)
    assert len(wb.sheetnames) == 11
    assert _header(wb["待核实匹配"])[0] == "行业"
    assert wb["数据质量"].max_row == 1


def test_sheet_name_sanitising(tmp_path):
    rules = [
        RuleInfo("R1", "因病[大额]医疗费用：个人自付*超过?一年/半年\\标准线且未纳入防返贫动态监测的户", "red"),
        RuleInfo("R2", "因病[大额]医疗费用：个人自付*超过?一年/半年\\标准线且未纳入防返贫动态监测的人", "red"),
        RuleInfo("R3", "汇总", "yellow"),
        RuleInfo("R4", "''", "blue"),
    ]
    flags = _flags().with_columns(pl.lit("R1").alias("rule_id"))
    path = tmp_path / "report.xlsx"
    write_report(path, _data(flags=flags, rules=rules))
    names = openpyxl.load_workbook(path).sheetnames
    rule_sheets = names[1:5]
    assert all(len(n) <= 31 for n in rule_sheets)
    assert not any(ch in n for n in rule_sheets for ch in "[]:*?/\\")
    assert len(set(rule_sheets)) == 4
    assert rule_sheets[0].startswith("因病大额医疗费用：个人自付超过一年半年")  # full-width ： is allowed
    assert rule_sheets[1].endswith("(2)")
    assert rule_sheets[2] == "汇总(2)"
    assert rule_sheets[3] == "R4"


def test_sheet_names_unit():
    names = SheetNames(reserved=["汇总"])
    assert names.make("a" * 40) == "a" * 31
    assert names.make("A" * 40) == "A" * 28 + "(2)"
    assert names.make("History") == "History(2)"
    assert display_width("户编号ab") == 8


def test_text_that_looks_like_formula_or_number_stays_text(tmp_path):
    flags = _flags().with_columns(
        pl.lit("=HYPERLINK(\"http://x\")").alias("detail"),
        pl.lit("0012").alias("group"),
    )
    path = tmp_path / "report.xlsx"
    write_report(path, _data(flags=flags))
    ws = openpyxl.load_workbook(path)["未参加基本医疗保险"]
    assert ws["I2"].data_type == "s" and ws["I2"].value.startswith("=HYPERLINK")
    assert ws["C2"].value == "0012" and ws["C2"].data_type == "s"


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"old")
    write_report(path, _data())
    assert path.read_bytes()[:2] == b"PK"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"old")
    data = _data()
    data.flags = data.flags.with_columns(pl.lit(1).alias("rule_id"))  # wrong type → fails
    data.rules = None  # type: ignore[assignment]
    with pytest.raises(Exception):  # noqa: B017
        write_report(path, data)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.xlsx"]


def test_unwritable_path_is_a_fanpin_error(tmp_path):
    with pytest.raises(FanpinError, match="无法写入报表"):
        write_report(tmp_path / "没有这个目录" / "report.xlsx", _data())
    assert list(tmp_path.iterdir()) == []


def _big_flags(n: int) -> pl.DataFrame:
    i = pl.int_range(n, eager=True)
    rules = [r for r in RULES if r.rule_id != "CIV_CANDIDATE"]
    return pl.DataFrame(
        {
            "household_id": "43312701" + (i // 4).cast(pl.String).str.zfill(8),
            "township": pl.Series(["灵溪镇", "石堤镇", "首车镇", "泽家镇"]).gather(i % 4),
            "village": pl.Series([f"第{k}村" for k in range(30)]).gather(i % 30),
            "rule_id": pl.Series([r.rule_id for r in rules]).gather(i % len(rules)),
            "level": pl.Series([r.level for r in rules]).gather(i % len(rules)),
            "roster_row": i + 3,
            "person_name": pl.Series(["向国华", "彭秀英", "田土生", "张三妹"]).gather(i % 4),
            "sector": "education",
            "source_file": "教育_学籍资助.xlsx",
            "source_row": i + 2,
            "detail": "在读（永顺县第一中学），资助项目为空",
            "title": "x",
            "id_number": "433127********" + (i % 10_000).cast(pl.String).str.zfill(4),
            "group": (i % 9 + 1).cast(pl.String),
            "relation": "之子",
        }
    )


def test_large_report_timing(tmp_path):
    """50,000 flag rows: a sanity print, no timed assertion."""
    flags = _big_flags(50_000)
    data = _data(flags=flags)
    path = tmp_path / "report.xlsx"
    start = time.perf_counter()
    write_report(path, data)
    elapsed = time.perf_counter() - start
    print(f"report.xlsx with 50,000 flag rows: {elapsed:.2f}s, {path.stat().st_size:,} bytes")
    wb = openpyxl.load_workbook(path, read_only=True)
    ws = wb["未参加基本医疗保险"]
    assert ws.max_row == 1 + 50_000 // 4


def test_tables_longer_than_excel_allows_are_cut_with_a_note(tmp_path, monkeypatch):
    """Excel/WPS open at most 1,048,576 rows a sheet; a longer table is cut, with a note."""
    from fanpin_cli.report import table

    monkeypatch.setattr(table, "EXCEL_MAX_ROWS", 4)  # header + 2 rows + note
    path = tmp_path / "report.xlsx"
    write_report(path, _data())
    ws = openpyxl.load_workbook(path)["数据质量"]
    values = [row[0] for row in ws.iter_rows(values_only=True)]
    assert values[0] == "文件" and len(values) == 4
    assert "超出 Excel 行数上限" in values[3]


def test_prepared_exprs_built_once_compute_as_built_anew() -> None:
    """The cached column expressions (found again by structure, `Expr.meta`) give exactly the
    values of expressions built anew; columns that differ in kind or expression are not mixed up."""
    from fanpin_cli.report import table as tbl

    frame = pl.DataFrame({"a": ["x", "2006-04-14 00:00:00", None], "n": ["1", "b", "3"],
                          "lv": ["red", "blue", None], "d": ["2010-05-03 00:00:00", "x", None]})
    cases = [
        [tbl.Col("A", pl.col("a")), tbl.Col("N", pl.col("n"), tbl.INT)],
        [tbl.Col("A", pl.col("n")), tbl.Col("N", pl.col("a"), tbl.INT)],  # other columns
        [tbl.Col("A", pl.col("a"), tbl.DATE), tbl.Col("N", pl.col("n"))],  # other kinds
        [tbl.Col("L", pl.col("lv"), tbl.LEVEL), tbl.Col("I", None, tbl.INPUT), tbl.Col("D", pl.col("d"), tbl.DATE)],
        [tbl.Col("A", pl.col("a").str.slice(0, 1)), tbl.Col("B", pl.lit("k"))],
        [tbl.Col("A", pl.col("a").str.slice(0, 2)), tbl.Col("B", pl.lit("j"))],
    ]
    for _ in range(2):  # the second round from the cache
        for cols in cases:
            assert_frame_equal(frame.select(tbl._prepared_exprs(cols)), frame.select(tbl._build_exprs(cols)))
    assert tbl._prepared_exprs(cases[0]) is tbl._prepared_exprs([tbl.Col("x", pl.col("a")),
                                                                  tbl.Col("y", pl.col("n"), tbl.INT)])


def test_a_table_without_rows_is_prepared_by_a_query_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The values of a table without rows (a 乡镇 with no flags of a rule, no review items, …)
    are the same in every workbook: made by a query the first time, then taken as made, for
    the same columns of a frame of the same schema only."""
    from fanpin_cli.report import table as tbl

    cols = [tbl.Col("L", pl.col("lv"), tbl.LEVEL), tbl.Col("N", pl.col("n"), tbl.INT), tbl.Col("I", None, tbl.INPUT)]
    empty = pl.DataFrame(schema={"lv": pl.String, "n": pl.String, "extra": pl.Int64})
    first = tbl._prepared(empty, cols)
    queried = []
    select = pl.DataFrame.select
    monkeypatch.setattr(pl.DataFrame, "select", lambda self, *a, **k: queried.append(1) or select(self, *a, **k))
    again = tbl._prepared(empty.clear(), cols)
    assert not queried
    assert_frame_equal(again, first)
    assert again.schema == {"c0": pl.String, "c1": pl.Int64, "c2": pl.String}
    other = tbl._prepared(pl.DataFrame(schema={"lv": pl.String, "n": pl.Float64}), cols)  # another schema
    assert queried
    assert_frame_equal(other, first)
    rows = tbl._prepared(pl.DataFrame({"lv": ["red"], "n": ["7"], "extra": [1]}), cols)
    assert rows.rows() == [("红", 7, None)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=12)), min_size=1, max_size=20),
       st.lists(st.one_of(st.none(), st.integers(-10**18, 10**18)), min_size=1, max_size=20))
def test_few_rows_widths_found_in_python_are_polars_widths(texts: list, numbers: list) -> None:
    """A small table's column widths, found in Python, are those the polars query finds: texts
    of any script (CJK counts 2, emoji and rarer characters as polars measures them), nulls,
    empty texts, whole numbers of any sign and size."""
    from fanpin_cli.report import table as tbl

    n = min(len(texts), len(numbers))
    values = pl.DataFrame({"c0": texts[:n], "c1": numbers[:n], "c2": [None] * n},
                          schema={"c0": pl.String, "c1": pl.Int64, "c2": pl.String})
    assert tbl._few_widths(values) == values.select(tbl._width_exprs(3)).row(0, named=True)



@pytest.mark.parametrize("texts", [
    ["2006-04-14 00:00:00", "x", None],                    # a date read as text: searched
    ["a 2006-04-14T00:00:00.000 b 2007-01-02 00:00:00", None, ""],
    ["00:00:00", "12:00:00 2006-04-14 00:00:01", "甲"],     # "00:00:00" but no date before it
    ["x", "2006-04-14", None],                             # no "00:00:00": not searched
    [None, None, None],
])
def test_text_columns_searched_only_where_a_midnight_can_be_equal_the_plain_replacement(texts) -> None:
    from fanpin_cli.report import table as tbl

    frame = pl.DataFrame({"a": texts, "n": [1, None, 20060414]}, schema={"a": pl.String, "n": pl.Int64})
    cols = [tbl.Col("A", pl.col("a")), tbl.Col("N", pl.col("n")), tbl.Col("B", pl.col("a").str.slice(0, 19))]
    plain = frame.select(c.expr.cast(pl.String).str.replace_all(tbl._MIDNIGHT, "$1").alias(f"c{i}")
                         for i, c in enumerate(cols))
    assert_frame_equal(frame.select(tbl._build_exprs(cols)), plain)


def test_rule_counts_computed_together_equal_each_rules_own():
    # rule_counts_table counts the rules without given counts in one query: the same numbers
    # as filtering the flags rule by rule.
    from fanpin_cli.report.sheets import rule_counts_table
    from fanpin_cli.tables import C

    statuses = [None, "confirmed", "pending_review", "pending_id"]
    flags = pl.DataFrame({
        C.rule_id: [f"R{i % 5}" for i in range(60)],
        C.household_id: [None if i % 11 == 0 else f"h{i % 7}" for i in range(60)],
        C.evidence_status: [statuses[(i // 3) % 4] for i in range(60)],
        "title": "t", "level": "red",
    })
    rules = [RuleInfo(f"R{i}", f"规则{i}", "red") for i in range(7)]  # R5, R6: no flags
    data = _data(flags, rules)
    data.rule_counts = pl.DataFrame({C.rule_id: ["R0"], "households": [9], "persons": [8],
                                     "pending_households": [7], "pending_persons": [6]})
    got = {r[0]: r[3:7] for r in rule_counts_table(data, flags).iter_rows()}
    status = pl.col(C.evidence_status).fill_null("confirmed")
    for rule in rules[1:]:
        sub = flags.filter(pl.col(C.rule_id) == rule.rule_id)
        done, wait = sub.filter(status == "confirmed"), sub.filter(status != "confirmed")
        assert got[rule.rule_id] == (done[C.household_id].drop_nulls().n_unique(), done.height,
                                     wait[C.household_id].drop_nulls().n_unique(), wait.height)
    assert got["R0"] == (9, 8, 7, 6) and got["R6"] == (0, 0, 0, 0) and got["R1"] != (0, 0, 0, 0)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.text(alphabet="a甲 ", max_size=40)),
                          st.one_of(st.none(), st.text(alphabet="b乙", max_size=12))), min_size=1, max_size=8),
       st.floats(min_value=0, max_value=60), st.floats(min_value=0, max_value=60))
def test_row_lines_leaving_out_columns_that_fit_equal_every_columns_count(rows, w0, w1):
    # _row_lines_expr leaves out a wrapped column whose widest text fits on one line: each
    # row's line count is the same as with every wrapped column counted.
    from fanpin_cli.report import table as tbl

    values = pl.DataFrame(rows, schema={"c0": pl.String, "c1": pl.String}, orient="row")
    cols = [tbl.Col("说明", pl.col("x"), wrap=True), tbl.Col("备注", pl.col("y"), wrap=True)]
    maxima = values.select(tbl._width_exprs(2)).row(0)
    every = values.select(tbl._row_lines_expr(values, cols, [w0, w1])).to_series().to_list()
    fitted = tbl._row_lines_expr(values, cols, [w0, w1], maxima)
    assert (values.select(fitted).to_series().to_list() if fitted is not None else [1] * len(rows)) == every
