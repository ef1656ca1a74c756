"""Reading sector extracts as they arrive (fanpin_cli.loaders).

Every file is built in tmp_path the way county departments send them: GBK CSV with title rows,
UTF-8 with BOM, tab-separated text, Excel with leading empty rows and title rows, IDs stored
as numbers, .xls from old office software. Row counts and row numbers are checked against an
independent reading of the same file (csv / openpyxl / xlrd).
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlrd
import xlsxwriter
import xlwt

from fanpin_cli.errors import InputFileError
from fanpin_cli.loaders import decode_text, load_file, map_headings
from fanpin_cli.prepare import prepare

REF = date(2026, 11, 30)

ENROLL_HEADER = ["姓名", "公民身份号码", "险种类型", "参保状态", "参保年度"]
ENROLL_ROWS = [
    ["张伟", "433127199001011238", "城乡居民基本医疗保险", "参保缴费", "2026"],
    ["李娜", "433101197608123006", "城乡居民基本医疗保险", "正常参保", "2026"],
    ["王芳", "43312719900101123X", "城乡居民基本医疗保险", "暂停参保", "2026"],
    ["张伟", "433127201003120013", "职工基本医疗保险", "参保缴费", "2026"],  # 同名同姓
    ["阿依古丽·买买提", "433127198506152007", "城乡居民基本医疗保险", "终止参保", "2026"],
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def csv_line(cells: list[str], sep: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="").writerow(cells)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------
# Independent readers: (row number as a person sees it, cells) for every record of a file.
# ---------------------------------------------------------------------------------------


def csv_records(path: Path, encoding: str, sep: str = ",") -> list[tuple[int, list[str]]]:
    text = path.read_bytes().decode(encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    records, start = [], 1
    for cells in reader:
        records.append((start, cells))
        start = reader.line_num + 1
    return records


def xlsx_records(path: Path, sheet: str) -> list[tuple[int, list[str]]]:
    wb = openpyxl.load_workbook(path, read_only=False)
    ws = wb[sheet]
    out = []
    for r in range(1, ws.max_row + 1):
        out.append((r, ["" if c.value is None else str(c.value) for c in ws[r]]))
    return out


def xls_records(path: Path, sheet: str) -> list[tuple[int, list[str]]]:
    ws = xlrd.open_workbook(str(path)).sheet_by_name(sheet)
    return [(r + 1, [str(v) for v in ws.row_values(r)]) for r in range(ws.nrows)]


@dataclass
class Case:
    """A file as a department sends it, with what an independent reader sees in it."""

    path: Path
    sector: str
    records: Callable[[], list[tuple[int, list[str]]]]
    header_row: int
    name_col: int  # 0-based column of the name in the records
    kwargs: dict = field(default_factory=dict)
    blank_rows: list[int] = field(default_factory=list)


def gbk_csv_with_title(tmp: Path) -> Case:
    path = tmp / "医保_参保登记.csv"
    lines = ["永顺县2026年11月城乡居民医保参保登记", "制表日期：2026年11月30日,,,,", csv_line(ENROLL_HEADER)]
    lines += [csv_line(r) for r in ENROLL_ROWS]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return Case(path, "medical_enrollment", lambda: csv_records(path, "gbk"), 3, 0)


def utf8_bom_csv(tmp: Path) -> Case:
    path = tmp / "医保_bom.csv"
    lines = [csv_line(ENROLL_HEADER)] + [csv_line(r) for r in ENROLL_ROWS]
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))
    return Case(path, "medical_enrollment", lambda: csv_records(path, "utf-8-sig"), 1, 0)


def utf8_csv_no_trailing_newline(tmp: Path) -> Case:
    path = tmp / "医保_utf8.csv"
    lines = [csv_line(ENROLL_HEADER)] + [csv_line(r) for r in ENROLL_ROWS]
    path.write_text("\n".join(lines), encoding="utf-8")
    return Case(path, "medical_enrollment", lambda: csv_records(path, "utf-8"), 1, 0)


def tab_separated(tmp: Path) -> Case:
    path = tmp / "公安_户籍注销.txt"
    header = ["姓名", "身份证号", "注销原因", "注销日期"]
    rows = [
        ["张伟", "433127199001011238", "死亡", "2026-10-03"],
        ["刘强", "433127197203150031", "服刑", "2026/9/1"],
        ["陈静", "433127200506070022", "迁出", "20261101"],
    ]
    lines = ["永顺县公安局户籍注销人员", csv_line(header, "\t")] + [csv_line(r, "\t") for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Case(path, "police", lambda: csv_records(path, "utf-8", "\t"), 2, 0)


def multiline_and_blank_rows(tmp: Path) -> Case:
    path = tmp / "民政_低保.csv"
    header = ["乡镇", "村", "姓名", "身份证号码", "救助类型", "保障状态", "备注"]
    text = (
        "永顺县农村低保对象名册\n"                                          # 1
        + csv_line(header) + "\n"                                           # 2 header
        + "灵溪镇,司城村,张伟,433127199001011238,农村低保,在保,\n"          # 3
        + "\n"                                                              # 4 blank line
        + ",,,,,,\n"                                                        # 5 empty cells
        + '灵溪镇,司城村,李娜,433101197608123006,特困供养,在保,"因病\n致贫，\n长期服药"\n'  # 6-8
        + "首车镇,龙珠村,王芳,43312719900101123X,临时救助,已发放,\n"        # 9
        + " , ,  ,,,,\n"                                                    # 10 spaces only
        + "首车镇,龙珠村,张伟,433127201003120013,农村低保,停保,\n"          # 11 同名同姓
    )
    path.write_bytes(text.encode("gbk"))
    return Case(path, "civil_affairs", lambda: csv_records(path, "gbk"), 2, 2, blank_rows=[4, 5, 10])


def xlsx_with_leading_empty_and_title_rows(tmp: Path) -> Case:
    path = tmp / "民政_低保名单.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("填表说明").write(0, 0, "请勿修改表头")
    ws = wb.add_worksheet("低保名单")
    # rows 1-2 empty; title on row 3, 制表日期 on row 4, header on row 5
    ws.write_string(2, 0, "永顺县2026年11月农村低保名单")
    ws.write_string(3, 0, "制表单位：永顺县民政局")
    ws.write_string(3, 4, "制表日期：2026-11-30")
    for c, h in enumerate(["乡(镇)", "村(社区)", "姓名", "身份证号码", "救助类型", "保障状态"]):
        ws.write_string(4, c, h)
    rows: list[list] = [
        ["灵溪镇", "司城村", "张伟", "433127199001011238", "农村低保", "在保"],   # row 6
        ["灵溪镇", "司城村", "李娜", 433101197608123000, "特困供养", "在保"],     # row 7, number
        None,                                                                    # row 8 empty
        ["首车镇", "龙珠村", "王芳", 433127199001011000, "临时救助", "已发放"],   # row 9, number
        ["首车镇", "龙珠村", "劉麗華", "43312719900101123X", "农村低保", "在保"],  # row 10
    ]
    for r, row in enumerate(rows, start=5):
        for c, v in enumerate(row or []):
            if isinstance(v, int):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, v)
    wb.close()
    return Case(path, "civil_affairs", lambda: xlsx_records(path, "低保名单"), 5, 2, blank_rows=[8])


def xls_old_format(tmp: Path) -> Case:
    path = tmp / "残联_持证残疾人.xls"
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("持证残疾人")
    ws.write(0, 0, "永顺县持证残疾人名单（2026年11月）")
    for c, h in enumerate(["序号", "姓名", "残疾人证号", "残疾类别", "残疾等级"]):
        ws.write(1, c, h)
    rows = [
        ["1", "张伟", "43312719900101123812", "肢体", "一级"],
        ["2", "李娜", "43310119760812300642", "视力", "二级"],
        ["3", "王芳", "43312719900101123X73", "精神", "三级"],
    ]
    for r, row in enumerate(rows, start=2):
        for c, v in enumerate(row):
            ws.write(r, c, v)
    wb.save(str(path))
    return Case(path, "disability", lambda: xls_records(path, "持证残疾人"), 2, 1)


def many_rows_gbk(tmp: Path) -> Case:
    path = tmp / "医保_全县.csv"
    rng = random.Random(7)
    surnames = "王李张刘陈杨黄赵吴周"
    given = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰"]
    lines = ["永顺县医保参保登记（全县）", csv_line(ENROLL_HEADER)]
    blank = []
    for i in range(3, 2003):
        if rng.random() < 0.01:
            lines.append(",,,," if rng.random() < 0.5 else "")
            blank.append(i)
            continue
        name = rng.choice(surnames) + rng.choice(given)  # many 同名同姓
        idn = f"433127{rng.randint(1940, 2020)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}{rng.randint(0, 9999):04d}"
        lines.append(csv_line([name, idn, "城乡居民基本医疗保险", "参保缴费", "2026"]))
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    return Case(path, "medical_enrollment", lambda: csv_records(path, "gbk"), 2, 0, blank_rows=blank)


BUILDERS = [
    gbk_csv_with_title,
    utf8_bom_csv,
    utf8_csv_no_trailing_newline,
    tab_separated,
    multiline_and_blank_rows,
    xlsx_with_leading_empty_and_title_rows,
    xls_old_format,
    many_rows_gbk,
]


@pytest.mark.parametrize("build", BUILDERS, ids=[b.__name__ for b in BUILDERS])
def test_rows_in_equal_rows_out(build: Callable[[Path], Case], tmp_path: Path) -> None:
    case = build(tmp_path)
    before = sha256(case.path)
    loaded = load_file(case.path, case.sector, **case.kwargs)
    records = case.records()
    after_header = [(n, cells) for n, cells in records if n > case.header_row]
    data = [(n, cells) for n, cells in after_header if any(c.strip() for c in cells)]
    blank = [n for n, cells in after_header if not any(c.strip() for c in cells)]

    assert loaded.header_row == case.header_row
    assert loaded.rows_read == len(data)
    assert loaded.rows_read + len(loaded.blank_rows) == len(after_header)
    assert loaded.blank_rows == blank == case.blank_rows
    # every row keeps the number a person sees, and that row holds that person's name
    assert loaded.frame["source_row"].to_list() == [n for n, _ in data]
    assert loaded.frame["name"].to_list() == [cells[case.name_col].strip() for _, cells in data]
    assert loaded.frame["source_file"].unique().to_list() == [case.path.name]
    # the input is not modified, and its hash is reported
    assert sha256(case.path) == before
    assert loaded.sha256 == before


def test_gbk_csv_with_title_rows(tmp_path: Path) -> None:
    loaded = load_file(gbk_csv_with_title(tmp_path).path, "medical_enrollment")
    assert loaded.encoding == "gb18030"
    assert loaded.header_row == 3
    assert loaded.frame["source_row"].to_list() == [4, 5, 6, 7, 8]
    assert loaded.frame.columns[:2] == ["source_file", "source_row"]
    assert loaded.frame.row(0, named=True) == {
        "source_file": "医保_参保登记.csv", "source_row": 4, "name": "张伟",
        "id_number": "433127199001011238", "insurance_type": "城乡居民基本医疗保险",
        "enroll_status": "参保缴费", "enroll_year": "2026",
    }
    assert loaded.headings["id_number"] == "公民身份号码"
    assert loaded.heading("id_number") == "公民身份号码"
    assert loaded.heading("township") == "乡镇"  # not in the file: the Chinese field title


@pytest.mark.parametrize(
    ("build", "encoding"),
    [
        (gbk_csv_with_title, "gb18030"),
        (utf8_bom_csv, "utf-8-sig"),
        (utf8_csv_no_trailing_newline, "utf-8"),
    ],
)
def test_encoding_detected(build: Callable[[Path], Case], encoding: str, tmp_path: Path) -> None:
    loaded = load_file(build(tmp_path).path, "medical_enrollment")
    assert loaded.encoding == encoding
    assert loaded.frame["name"].to_list() == [r[0] for r in ENROLL_ROWS]
    assert loaded.frame["name"][0] == "张伟"  # no BOM glued to the first heading or cell


def test_explicit_encoding(tmp_path: Path) -> None:
    path = gbk_csv_with_title(tmp_path).path
    assert load_file(path, "medical_enrollment", encoding="gbk").rows_read == len(ENROLL_ROWS)
    with pytest.raises(InputFileError) as err:
        load_file(path, "medical_enrollment", encoding="utf-8")
    assert "医保_参保登记.csv" in str(err.value)
    assert "utf-8" in str(err.value)


def test_tab_separated(tmp_path: Path) -> None:
    loaded = load_file(tab_separated(tmp_path).path, "police")
    assert loaded.frame.select("name", "dereg_reason").rows() == [
        ("张伟", "死亡"), ("刘强", "服刑"), ("陈静", "迁出"),
    ]
    assert loaded.frame["source_row"].to_list() == [3, 4, 5]


def test_quoted_multiline_cell_keeps_row_numbers(tmp_path: Path) -> None:
    loaded = load_file(multiline_and_blank_rows(tmp_path).path, "civil_affairs")
    assert loaded.frame.select("source_row", "name").rows() == [
        (3, "张伟"), (6, "李娜"), (9, "王芳"), (11, "张伟"),
    ]
    assert loaded.frame["备注"][1] == "因病\n致贫，\n长期服药"
    assert loaded.blank_rows == [4, 5, 10]
    # cells are stripped and empty cells are null
    assert loaded.frame["备注"][0] is None


def test_xlsx_source_row_is_the_excel_row(tmp_path: Path) -> None:
    case = xlsx_with_leading_empty_and_title_rows(tmp_path)
    loaded = load_file(case.path, "civil_affairs")
    assert loaded.sheet == "低保名单"  # the first sheet has no header: the loader moves on
    assert loaded.header_row == 5
    assert loaded.frame["source_row"].to_list() == [6, 7, 9, 10]
    ws = openpyxl.load_workbook(case.path)["低保名单"]
    for row in loaded.frame.iter_rows(named=True):
        assert ws.cell(row=row["source_row"], column=3).value == row["name"]
    assert loaded.frame["township"].to_list() == ["灵溪镇", "灵溪镇", "首车镇", "首车镇"]
    assert loaded.headings["township"] == "乡(镇)"


def test_xlsx_id_as_number_is_excel_000_and_as_text_keeps_18_digits(tmp_path: Path) -> None:
    loaded = load_file(xlsx_with_leading_empty_and_title_rows(tmp_path).path, "civil_affairs")
    prepared = prepare(loaded.frame, REF)
    by_name = {r["name"]: r for r in prepared.iter_rows(named=True)}
    assert by_name["张伟"]["id_number"] == "433127199001011238"
    assert by_name["张伟"]["id_status"] == "valid"
    assert by_name["劉麗華"]["id_number"] == "43312719900101123X"  # text: X kept
    assert by_name["劉麗華"]["name_norm"] == "刘丽华"
    # written as numbers, as Excel does with a General cell: last 3 digits unrecoverable
    for name, region in (("李娜", "433101"), ("王芳", "433127")):
        row = by_name[name]
        assert row["id_status"] == "excel_000", row
        assert row["id_digits"].endswith("000")
        assert row["id18"] is None
        assert row["id_known"] == 14  # the 15th digit may have been rounded
        assert row["id_region"] == region
    assert by_name["李娜"]["id_birth"] == date(1976, 8, 12)


def test_xlsx_id_number_cell_with_16_digits_is_a_number_reading(tmp_path: Path) -> None:
    # xlsxwriter stores write_number(433127199001011234) with 16 significant digits
    # (4.331271990010113E+17); its exact double 433127199001011328 fails the check only by
    # chance of its last digits, yet the cell was a number: the tail is not the person's.
    path = tmp_path / "医保.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("参保")
    ws.write_row(0, 0, ["姓名", "公民身份号码", "参保状态"])
    ws.write_string(1, 0, "张伟")
    ws.write_number(1, 1, 433127199001011234)
    ws.write_string(1, 2, "参保缴费")
    ws.write_row(2, 0, ["李娜", "433127199001011238", "参保缴费"])
    wb.close()
    prepared = prepare(load_file(path, "medical_enrollment").frame, REF)
    assert prepared["id_status"].to_list() == ["excel_float", "valid"]
    assert prepared["id_lo"][0] <= 433127199001011234 <= prepared["id_hi"][0]
    assert prepared["id18"].to_list() == [None, "433127199001011238"]
    assert prepared["id_region"].to_list() == ["433127", "433127"]


def test_xls_written_with_xlwt(tmp_path: Path) -> None:
    case = xls_old_format(tmp_path)
    loaded = load_file(case.path, "disability")
    assert loaded.sheet == "持证残疾人"
    assert loaded.header_row == 2
    assert loaded.frame.select("source_row", "name", "disability_grade").rows() == [
        (3, "张伟", "一级"), (4, "李娜", "二级"), (5, "王芳", "三级"),
    ]
    prepared = prepare(loaded.frame, REF)
    # 20-char 残疾人证号 → the 18-digit ID inside
    assert prepared["id18"].to_list() == ["433127199001011238", "433101197608123006", None]
    assert prepared["id_status"].to_list() == ["valid", "valid", "bad_checksum"]


def _two_sheet_workbook(path: Path) -> None:
    wb = xlsxwriter.Workbook(path)
    for sheet, who in (("2026年10月", "张伟"), ("2026年11月", "李娜")):
        ws = wb.add_worksheet(sheet)
        ws.write_row(0, 0, ["姓名", "身份证号码", "救助类型"])
        ws.write_row(1, 0, [who, "433127199001011238", "农村低保"])
    wb.close()


@pytest.mark.parametrize(
    ("sheet", "expected_sheet", "who"),
    [
        ("2026年11月", "2026年11月", "李娜"),
        (2, "2026年11月", "李娜"),
        ("2", "2026年11月", "李娜"),
        (1, "2026年10月", "张伟"),
    ],
)
def test_choose_sheet_by_name_and_1_based_number(
    sheet: str | int | None, expected_sheet: str, who: str, tmp_path: Path
) -> None:
    path = tmp_path / "民政.xlsx"
    _two_sheet_workbook(path)
    loaded = load_file(path, "civil_affairs", sheet=sheet)
    assert loaded.sheet == expected_sheet
    assert loaded.frame["name"].to_list() == [who]


def test_two_data_sheets_and_no_sheet_chosen_is_refused_naming_both(tmp_path: Path) -> None:
    """每月一个工作表 (or 各乡镇分表): reading the first (last month's) alone left the others out
    without a word. Refused with both sheets named and the config line that chooses one."""
    path = tmp_path / "民政.xlsx"
    _two_sheet_workbook(path)
    with pytest.raises(InputFileError) as err:
        load_file(path, "civil_affairs")
    text = str(err.value)
    assert text.startswith("民政.xlsx：") and "「2026年10月」" in text and "「2026年11月」" in text
    assert 'sheet = "2026年11月"' in text and "\n" not in text
    assert "列多次" in text  # a workbook split by 乡镇: each sheet its own [[extracts]] (test_sheets_listed.py)


def test_a_second_data_sheet_without_rows_or_hidden_is_not_a_choice(tmp_path: Path) -> None:
    """A template sheet (header, no rows) or a hidden copy beside the data sheet: the data sheet is read."""
    path = tmp_path / "民政.xlsx"
    wb = xlsxwriter.Workbook(path)
    for sheet, rows, hidden in (("11月", [["张伟", "433127199001011238", "农村低保"]], False), ("模板", [], False),
                                ("10月", [["李娜", "433127199001011238", "农村低保"]], True)):
        ws = wb.add_worksheet(sheet)
        ws.write_row(0, 0, ["姓名", "身份证号码", "救助类型"])
        for k, row in enumerate(rows, start=1):
            ws.write_row(k, 0, row)
        if hidden:
            ws.hide()
    wb.close()
    loaded = load_file(path, "civil_affairs")
    assert loaded.sheet == "11月" and loaded.frame["name"].to_list() == ["张伟"]


@pytest.mark.parametrize("sheet", ["2026年12月", 3, 0])
def test_sheet_not_found_names_the_sheets(sheet: str | int, tmp_path: Path) -> None:
    path = tmp_path / "民政.xlsx"
    _two_sheet_workbook(path)
    with pytest.raises(InputFileError) as err:
        load_file(path, "civil_affairs", sheet=sheet)
    text = str(err.value)
    assert text.startswith("民政.xlsx：")
    assert "2026年10月" in text and "2026年11月" in text
    assert str(sheet) in text
    assert "\n" not in text


def test_header_row_given_csv(tmp_path: Path) -> None:
    path = tmp_path / "医保.csv"
    # row 2 looks like a header too (姓名,身份证号码) but the real one is row 3
    text = "医保参保登记\n姓名,身份证号码,说明\n姓名,公民身份号码,参保状态\n张伟,433127199001011238,参保缴费\n"
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path, "medical_enrollment", header_row=3)
    assert loaded.header_row == 3
    assert loaded.frame.select("source_row", "name", "enroll_status").rows() == [(4, "张伟", "参保缴费")]


def test_header_row_given_xlsx(tmp_path: Path) -> None:
    case = xlsx_with_leading_empty_and_title_rows(tmp_path)
    loaded = load_file(case.path, "civil_affairs", sheet="低保名单", header_row=5)
    assert loaded.header_row == 5
    assert loaded.frame["source_row"].to_list() == [6, 7, 9, 10]
    with pytest.raises(InputFileError) as err:
        load_file(case.path, "civil_affairs", sheet="低保名单", header_row=40)
    assert "40" in str(err.value) and "低保名单" in str(err.value)


def test_columns_override_maps_an_odd_heading(tmp_path: Path) -> None:
    path = tmp_path / "医保_参保.csv"
    text = "姓名,个人识别码,参保状态\n张伟,433127199001011238,参保缴费\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError):
        load_file(path, "medical_enrollment")
    loaded = load_file(path, "medical_enrollment", columns={"个人识别码": "id_number"})
    assert loaded.frame["id_number"].to_list() == ["433127199001011238"]
    assert loaded.headings["id_number"] == "个人识别码"


def test_columns_override_wins_over_an_alias(tmp_path: Path) -> None:
    path = tmp_path / "住建.csv"
    text = "户主姓名,户主身份证号,身份证号,鉴定等级\n张伟,433127199001011238,433127199001011239,C级\n"
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path, "housing", columns={"身份证号": "id_number"})
    assert loaded.frame["id_number"].to_list() == ["433127199001011239"]
    assert loaded.frame["head_id_number"].to_list() == ["433127199001011238"]  # never the member ID


def test_heading_aliases_full_width_brackets_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "监测对象.csv"
    header = ["县（市、区、旗）", " 乡（镇） ", "行政村 ", "户编号", "姓名 ", " 证件号码", "人均纯收入（元）"]
    text = csv_line(header) + "\n" + csv_line(
        ["永顺县", "灵溪镇", "司城村", "4331270101001", "张伟", "433127199001011238", "5800"]
    ) + "\n"
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path, "roster")
    row = loaded.frame.row(0, named=True)
    assert (row["county"], row["township"], row["village"]) == ("永顺县", "灵溪镇", "司城村")
    assert row["household_id"] == "4331270101001"
    assert row["income_per_capita"] == "5800"


def test_map_headings_first_heading_wins() -> None:
    mapping = map_headings(["序号", "姓名", "身份证号", "证件号码"], "police")
    assert mapping == {"姓名": "name", "身份证号": "id_number"}


def test_unmapped_columns_keep_their_headings_and_duplicates_are_renamed(tmp_path: Path) -> None:
    path = tmp_path / "民政.csv"
    text = "序号,姓名,身份证号码,救助类型,备注,备注,\n1,张伟,433127199001011238,农村低保,a,b,c\n"
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path, "civil_affairs")
    assert loaded.frame.columns == [
        "source_file", "source_row", "序号", "name", "id_number", "aid_type", "备注", "备注_2", "未命名列7",
    ]


@pytest.mark.parametrize(
    ("suffix", "sheet"),
    [(".csv", None), (".xlsx", "低保名单"), (".xls", "低保名单")],
)
def test_missing_required_column_names_file_sheet_and_column(
    suffix: str, sheet: str | None, tmp_path: Path
) -> None:
    path = tmp_path / f"民政_低保{suffix}"
    header = ["乡镇", "村", "姓名", "身份证号码", "保障状态"]  # no 救助类型
    row = ["灵溪镇", "司城村", "张伟", "433127199001011238", "在保"]
    if suffix == ".csv":
        path.write_bytes((csv_line(header) + "\n" + csv_line(row) + "\n").encode("gbk"))
    elif suffix == ".xlsx":
        wb = xlsxwriter.Workbook(path)
        ws = wb.add_worksheet("低保名单")
        ws.write_row(0, 0, header)
        ws.write_row(1, 0, row)
        wb.close()
    else:
        wb = xlwt.Workbook(encoding="utf-8")
        ws = wb.add_sheet("低保名单")
        for c, (h, v) in enumerate(zip(header, row, strict=True)):
            ws.write(0, c, h)
            ws.write(1, c, v)
        wb.save(str(path))
    with pytest.raises(InputFileError) as err:
        load_file(path, "civil_affairs")
    text = str(err.value)
    assert path.name in text
    assert "救助类型" in text
    assert err.value.column == "救助类型"
    if sheet:
        assert f"工作表「{sheet}」" in text
    assert "\n" not in text


def test_missing_required_id_column_in_roster(tmp_path: Path) -> None:
    path = tmp_path / "监测对象信息.csv"
    path.write_text("户编号,姓名,性别\n4331270101001,张伟,男\n", encoding="utf-8")
    with pytest.raises(InputFileError) as err:
        load_file(path, "roster")
    assert "证件号码" in str(err.value)
    assert "监测对象信息.csv" in str(err.value)


def test_required_override(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_text("证件号码\n433127199001011238\n\n43312719900101123X\n", encoding="utf-8")
    loaded = load_file(path, "roster", required=("id_number",))
    assert loaded.frame["id_number"].to_list() == ["433127199001011238", "43312719900101123X"]
    assert loaded.blank_rows == [3]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param("民政.xlsx", random.Random(1).randbytes(4096), id="garbage-xlsx"),
        pytest.param("民政.xls", b"\xd0\xcf\x11\xe0" + random.Random(2).randbytes(4096), id="garbage-xls"),
        pytest.param("民政.xlsx", b"PK\x03\x04" + b"\x00" * 200, id="broken-zip"),
        pytest.param("民政.csv", b"\x89PNG\r\n\x1a\n" + random.Random(3).randbytes(4096), id="binary-csv"),
        pytest.param("民政.csv", b"\xff\xfe" + b"\x00\xd8" * 50, id="utf-16-broken"),  # (UTF-16 is read: test_headings)
        pytest.param("民政.csv", b"\xff\xfe\xfd" * 50, id="not-utf8-not-gbk"),
        pytest.param("民政.csv", b"", id="empty-file"),
        pytest.param("民政.csv", "永顺县低保名单\n制表日期,2026-11-30\n".encode("gbk"), id="no-header"),
    ],
)
def test_unreadable_file_is_input_file_error(name: str, content: bytes, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    before = sha256(path)
    with pytest.raises(InputFileError) as err:
        load_file(path, "civil_affairs")
    assert name in str(err.value)
    assert "\n" not in str(err.value)
    assert sha256(path) == before


def test_decode_text_rejects_bytes_that_are_neither_utf8_nor_gbk() -> None:
    with pytest.raises(InputFileError) as err:
        decode_text(b"\xff\xfe\xfd\x80\x80")
    assert "编码" in str(err.value)


def test_decode_text_reads_gbk_found_only_after_a_long_ascii_start() -> None:
    # the first 64 KB decide only whether UTF-8 is tried at all: GBK further on is still found
    data = b"name,id\n" * 10_000 + "张三,433127199001011238\n".encode("gbk")
    assert decode_text(data) == ("gb18030", data.decode("gb18030"))


def test_decode_text_reads_utf8_with_a_character_cut_by_the_first_64_kb() -> None:
    data = b"a" * (64 * 1024 - 1) + "张三\n".encode()
    assert decode_text(data) == ("utf-8", data.decode())


def test_decode_text_names_the_byte_of_the_file_not_of_its_normalised_copy() -> None:
    original = "姓名\r\n张三\r\n".encode("gbk") + b"\xff\xfe"
    with pytest.raises(InputFileError) as err:
        decode_text(original.replace(b"\r\n", b"\n"), "a.csv", original=original)
    assert f"位置 {len(original) - 2} 字节" in str(err.value)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("姓名,身份证号码".encode(), "utf-8"),
        ("姓名,身份证号码".encode("utf-8-sig"), "utf-8-sig"),
        ("姓名,身份证号码".encode("gbk"), "gb18030"),
        ("姓名,身份证号码,䶮".encode("gb18030"), "gb18030"),
        (b"name,id", "utf-8"),
    ],
)
def test_decode_text(data: bytes, encoding: str) -> None:
    assert decode_text(data) == (encoding, data.decode(encoding))


def test_missing_file_and_unknown_sector(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as err:
        load_file(tmp_path / "不存在.csv", "police")
    assert "不存在.csv" in str(err.value)
    path = utf8_bom_csv(tmp_path).path
    with pytest.raises(InputFileError) as err:
        load_file(path, "agriculture")
    assert "agriculture" in str(err.value)


def test_source_file_name_as_given(tmp_path: Path) -> None:
    path = utf8_bom_csv(tmp_path).path
    loaded = load_file(path, "medical_enrollment", source_file="data/医保_bom.csv")
    assert loaded.source_file == "data/医保_bom.csv"
    assert set(loaded.frame["source_file"]) == {"data/医保_bom.csv"}


def test_all_cells_are_text_and_ids_keep_leading_zeros(tmp_path: Path) -> None:
    path = tmp_path / "医保.csv"
    text = "姓名,公民身份号码,参保状态,参保年度\n张伟,013127199001011234,参保缴费,2026\n李娜,00123,参保缴费,02026\n"
    path.write_text(text, encoding="utf-8")
    loaded = load_file(path, "medical_enrollment")
    assert all(dtype == pl.String for name, dtype in loaded.frame.schema.items() if name != "source_row")
    assert loaded.frame["id_number"].to_list() == ["013127199001011234", "00123"]
    assert loaded.frame["enroll_year"].to_list() == ["2026", "02026"]



@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(lambda p: p.write_bytes(b""), "文件是空的", id="empty-file"),
        pytest.param(lambda p: p.write_bytes(b"\r\n  \r\n"), "文件是空的", id="only-blank-lines"),
        pytest.param(lambda p: p.mkdir(), "文件夹", id="a-folder"),
    ],
)
def test_empty_file_or_folder_is_a_clear_error(tmp_path, make, words):
    path = tmp_path / "公安_户籍注销.csv"
    make(path)
    with pytest.raises(InputFileError) as err:
        load_file(path, "police")
    assert words in str(err.value) and "公安_户籍注销.csv" in str(err.value)


@pytest.mark.parametrize("name", ["花名册_B3起.ods", "花名册_B3起.xls"])
def test_first_filled_rows_of_a_sheet_that_starts_at_b3(name: str) -> None:
    """LibreOffice's files (tests/fixtures/merged): the reader's rows start at the sheet's row 3,
    which is what the rows are numbered from (.ods: its content.xml walked once for all sheets)."""
    from fanpin_cli.loaders import first_filled_rows

    path = Path(__file__).parent / "fixtures" / "merged" / name
    assert first_filled_rows(path, "xls" if name.endswith(".xls") else "xlsx", 1) == [3]
