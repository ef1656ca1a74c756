"""Headings as national-system exports and sector departments write them (fields.py).

Table-driven: each heading is what a real export carries (full-/half-width brackets, line
breaks, 必填 marks, 页面（…） notes, 户主 columns beside the member's own) and the field it must
map to, or None where mapping it would be wrong.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from make_ids import make_id

from fanpin_cli.fields import canonical_field, map_headings
from fanpin_cli.flagging import evaluate, load_rules
from fanpin_cli.loaders import load_file
from fanpin_cli.prepare import prepare

REF = date(2026, 11, 30)



@pytest.mark.parametrize(
    ("sector", "heading", "field"),
    [
        ("roster", "乡", "township"),
        ("roster", "镇(乡)", "township"),
        ("roster", "镇（乡）", "township"),
        ("roster", "乡（镇）", "township"),
        ("roster", " 乡 镇 ", "township"),
        ("roster", "行政村（社区）", "village"),
        ("roster", "自然村", None),  # a hamlet is not the administrative village
        ("roster", "人数", "household_size"),
        ("roster", "当前家庭人口数", "household_size"),
        ("roster", "家庭人口数（人）", "household_size"),
        ("roster", "风险是否消除", "risk_eliminated"),
        ("roster", "风险是否已消除", "risk_eliminated"),
        ("roster", "证件号码（必填）", "id_number"),
        ("roster", "*证件号码", "id_number"),
        ("roster", "证件号码\n(必填)", "id_number"),
        ("roster", "劳动能力\n页面（劳动技能）", "labor_skill"),
        ("roster", "在校生状况\n页面（在校生情况）", "school_status"),
        ("roster", "人均纯收入（元）", "income_per_capita"),
        ("roster", "人均纯收入\n(元)", "income_per_capita"),
        ("roster", "是否参加城乡居民基本医疗保险（是/否）", "insured"),
        ("roster", "户类型", "household_type"),
        ("roster", "监测对象类别", "object_type"),
        ("roster", "与户主关系（必填）", "relation"),
        ("roster", "联系电话", None),
        ("roster", "序号", None),
        ("roster", "致贫原因", None),
        ("roster", "务工收入", None),
        ("police", "死亡人员姓名", "name"),
        ("civil_affairs", "保障对象身份证号码", "id_number"),
        ("education", "监护人身份证号", None),  # another person's ID never becomes the student's
        ("education", "监护人姓名", None),
        ("medical_enrollment", "公民身份号码", "id_number"),
        ("housing", "户主身份证号", "id_number"),  # alone, the household head's ID is the file's ID
    ],
)
def test_heading_maps_to_field(sector: str, heading: str, field: str | None) -> None:
    assert canonical_field(sector, heading) == field


@pytest.mark.parametrize(
    ("headings", "sector", "expected"),
    [
        # 户主身份证号 left of the member's own ID: never the member's ID
        (["户主身份证号", "姓名", "证件号码"], "roster",
         {"户主身份证号": "head_id_number", "姓名": "name", "证件号码": "id_number"}),
        (["户主姓名", "户主身份证号", "成员姓名", "成员身份证号"], "roster",
         {"户主姓名": "head_name", "户主身份证号": "head_id_number", "成员姓名": "name", "成员身份证号": "id_number"}),
        # alone, they are the file's identity columns (住建 lists households)
        (["户主姓名", "户主身份证号", "鉴定等级"], "housing",
         {"户主姓名": "name", "户主身份证号": "id_number", "鉴定等级": "safety_grade"}),
        # 户类型 and 监测对象类别 are two fields whatever their order
        (["户类型", "监测对象类别"], "roster", {"户类型": "household_type", "监测对象类别": "object_type"}),
        (["监测对象类别", "户类型"], "roster", {"监测对象类别": "object_type", "户类型": "household_type"}),
        # an exact heading beats a variant, wherever it stands
        (["当前家庭人口数", "家庭人数"], "roster", {"家庭人数": "household_size"}),
        (["劳动能力\n页面（劳动技能）", "劳动技能"], "roster", {"劳动技能": "labor_skill"}),
        # a config override beats everything
        (["证件号码", "身份证号"], "police", {"证件号码": "id_number"}),
    ],
)
def test_map_headings_precedence(headings: list[str], sector: str, expected: dict[str, str]) -> None:
    assert map_headings(headings, sector) == expected


def test_config_override_beats_an_exact_alias() -> None:
    assert map_headings(["证件号码", "身份证号"], "police", {"身份证号": "id_number"}) == {"身份证号": "id_number"}


NATIONAL_HEADINGS = [
    "序号", "县（市、区、旗）", "乡", "行政村", "组", "户编号", "户主身份证号", "姓名", "证件号码（必填）", "性别",
    "与户主关系", "人数", "户类型", "监测对象类别", "风险是否消除", "劳动能力\n页面（劳动技能）", "健康状况",
    "在校生状况", "是否参加城乡居民基本医疗保险", "人均纯收入（元）",
]


def write_roster(path: Path, rows: list[list[str]]) -> Path:
    """The roster as the national system exports it: two title rows, then the header. A GBK
    CSV (one-line headings: `劳动能力 页面（劳动技能）`) or an .xlsx (the heading's line break kept)."""
    title = [["永顺县防返贫监测对象信息表"], ["导出时间：2026-11-28"]]
    if path.suffix == ".xlsx":
        import xlsxwriter

        book = xlsxwriter.Workbook(str(path))
        sheet = book.add_worksheet("监测对象")
        for r, cells in enumerate([*title, NATIONAL_HEADINGS, *rows]):
            for c, value in enumerate(cells):
                sheet.write_string(r, c, value)
        book.close()
        return path
    headings = [h.replace("\n", " ") for h in NATIONAL_HEADINGS]
    text = "\n".join(",".join(cells) for cells in [*title, headings, *rows]) + "\n"
    path.write_bytes(text.encode("gbk"))
    return path


HEAD_A, WIFE_A = make_id("19700101", "011"), make_id("19720202", "022")
HEAD_B, HEAD_C, HEAD_D = make_id("19650505", "031"), make_id("19600606", "051"), make_id("19580707", "071")
SON_B = make_id("19900909", "033")


def person(i: int, hh: str, head_id: str, name: str, pid: str, sex: str, rel: str, size: str,
           htype: str, otype: str, risk: str, income: str) -> list[str]:
    return [str(i), "永顺县", "灵溪镇", "司城村", "1", hh, head_id, name, pid, sex, rel, size, htype, otype, risk,
            "普通劳动力", "健康", "非在校生", "是", income]


ROWS = [
    # A: 一般农户, not monitored, below the line → INC_BELOW_LINE
    person(1, "4331270101001", HEAD_A, "张大山", HEAD_A, "1", "户主", "2", "一般农户", "", "", "4800"),
    person(2, "4331270101001", HEAD_A, "李秀英", WIFE_A, "2", "配偶", "2", "一般农户", "", "", "4800"),
    # B: 脱贫户 actively monitored (风险未消除); the category is on the head's row only
    person(3, "4331270101002", HEAD_B, "王建国", HEAD_B, "1", "户主", "2", "脱贫户", "脱贫不稳定户", "否", "4500"),
    person(4, "4331270101002", HEAD_B, "王小军", SON_B, "1", "之子", "2", "脱贫户", "", "", "4500"),
    # C: monitored but risk eliminated → below the line again: flagged
    person(5, "4331270101003", HEAD_C, "刘桂花", HEAD_C, "2", "户主", "1", "脱贫户", "边缘易致贫户", "是", "5000"),
    # D: 脱贫户 not monitored, above the line → not flagged
    person(6, "4331270101004", HEAD_D, "赵德明", HEAD_D, "1", "户主", "1", "脱贫户", "", "", "9000"),
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_national_export_headings_load_and_inc_below_line(suffix: str, tmp_path: Path) -> None:
    loaded = load_file(write_roster(tmp_path / f"监测对象信息{suffix}", ROWS), "roster")
    assert loaded.header_row == 3
    labour = "劳动能力\n页面（劳动技能）" if suffix == ".xlsx" else "劳动能力 页面（劳动技能）"
    expected = {
        "乡": "township", "人数": "household_size", "户类型": "household_type", "监测对象类别": "object_type",
        "风险是否消除": "risk_eliminated", "证件号码（必填）": "id_number", labour: "labor_skill",
        "户主身份证号": "head_id_number",
    }
    assert {h: loaded.headings.get(f) for h, f in expected.items()} == {h: h for h in expected}
    assert loaded.frame["id_number"].to_list()[1] == WIFE_A  # the member's ID, not the head's
    roster = prepare(loaded.frame, REF)
    rule = [r for r in load_rules() if r.id == "INC_BELOW_LINE"]
    flags = evaluate(rule, roster, {}, reference_date=REF)
    assert sorted(flags["household_id"].to_list()) == ["4331270101001", "4331270101003"]
    detail = flags.filter(pl.col("household_id") == "4331270101001")["detail"].item()
    assert "户类型：一般农户" in detail


@pytest.mark.parametrize(
    ("htype", "otype", "risk", "flagged"),
    [
        ("一般农户", "", "", True),
        ("脱贫户", "", "", True),          # a 脱贫户 not monitored, below the line
        ("脱贫户", "脱贫不稳定户", "否", False),
        ("一般农户", "边缘易致贫户", "否", False),
        ("一般农户", "突发严重困难户", "是", True),
        ("监测户", "", "否", False),        # 户类型 itself says monitored
        ("", "脱贫户", "", True),           # old rosters: 脱贫户 in 监测对象类别
    ],
)
def test_inc_below_line_with_household_type(htype: str, otype: str, risk: str, flagged: bool, tmp_path: Path) -> None:
    rows = [person(1, "4331270101009", HEAD_A, "张大山", HEAD_A, "1", "户主", "1", htype, otype, risk, "3000")]
    roster = prepare(load_file(write_roster(tmp_path / "r.csv", rows), "roster").frame, REF)
    rule = [r for r in load_rules() if r.id == "INC_BELOW_LINE"]
    assert evaluate(rule, roster, {}, reference_date=REF).height == int(flagged)


def test_readme_lists_every_field_name() -> None:
    from fanpin_cli.fields import FIELD_DESCRIPTIONS, SECTORS, sector_fields

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for sector in SECTORS:
        for field in sector_fields(sector):
            assert f"| `{field}` | {FIELD_DESCRIPTIONS[field]} |" in readme, field


def test_csv_heading_with_a_quoted_line_break(tmp_path: Path) -> None:
    """A heading typed with Alt+Enter and saved as CSV spans two lines inside quotes."""
    path = tmp_path / "监测对象.csv"
    text = '永顺县监测对象信息\n户编号,姓名,"证件号码\n（必填）","劳动能力\n页面（劳动技能）"\nH1,张伟,433127199001011238,普通劳动力\n'
    path.write_bytes(text.encode("gbk"))
    loaded = load_file(path, "roster")
    assert loaded.headings["id_number"] == "证件号码\n（必填）"
    assert loaded.headings["labor_skill"] == "劳动能力\n页面（劳动技能）"
    assert loaded.frame.select("source_row", "id_number", "labor_skill").rows() == [
        (5, "433127199001011238", "普通劳动力")  # the header takes lines 2–4; the person is on line 5
    ]


@pytest.mark.parametrize(("header", "kept"), [
    ("姓名,name,身份证号码,注销原因,注销日期", ["name_2"]),  # an English heading, the name its neighbour takes
    ("姓名,身份证号码,注销原因,备注,备注_2,备注,source_row", ["备注", "备注_2", "备注_3", "source_row_2"]),
])
def test_headings_that_collide_with_each_other_or_with_fields_are_kept_apart(tmp_path, header, kept):
    # (they crashed the run with polars' DuplicateError: exit 3 instead of reading the file)
    from fanpin_cli.loaders import load_file

    path = tmp_path / "公安_户籍注销.csv"
    cells = header.split(",")
    row = ["张三" if c == "姓名" else "433127199001011238" if c == "身份证号码" else "死亡" if c == "注销原因" else "x"
           for c in cells]
    path.write_text(header + "\n" + ",".join(row) + "\n", encoding="utf-8")
    loaded = load_file(path, "police")
    assert loaded.frame.height == 1 and loaded.frame["name"].to_list() == ["张三"]
    assert all(c in loaded.frame.columns for c in kept)


@pytest.mark.parametrize("before", ["hidden last month", "summary", "instructions"])
def test_the_data_sheet_is_read_past_a_hidden_or_summary_sheet_in_front(tmp_path, before):
    # A workbook's first sheet is often not the data: last month's sheet hidden, a 汇总 of
    # counts, 填表说明. Without `sheet =`, the first visible sheet whose header maps the required
    # fields is read (it used to be the first with any known heading: last month's rows read
    # silently, or 缺少必需的列 for a data sheet right there).
    import openpyxl

    from fanpin_cli.loaders import load_file

    book = openpyxl.Workbook()
    front = book.active
    if before == "hidden last month":
        front.title = "10月"
        front.append(["姓名", "身份证号码", "救助类型"])
        front.append(["王五", "433127199001011238", "农村低保"])
        front.sheet_state = "hidden"
    elif before == "summary":
        front.title = "汇总"
        front.append(["乡镇", "户数", "人数"])
        front.append(["灵溪镇", 3, 9])
    else:
        front.title = "填表说明"
        front.append(["姓名：填写本人姓名"])
        front.append(["身份证号码：18位"])
    data = book.create_sheet("11月")
    data.append(["姓名", "身份证号码", "救助类型", "纳入时间"])
    for name, number in (("张三", "433127199002021233"), ("李四", "433127199003031239"), ("赵六", "433127199004041236")):
        data.append([name, number, "农村低保", "2026-01-05"])
    book.save(tmp_path / "民政_救助名单.xlsx")
    loaded = load_file(tmp_path / "民政_救助名单.xlsx", "civil_affairs")
    assert loaded.sheet == "11月" and loaded.frame["name"].to_list() == ["张三", "李四", "赵六"]


@pytest.mark.parametrize("how", ["spreadsheet numbers", "E-notation text", "numbers stored whole"])
def test_a_roster_whose_household_numbers_lost_their_last_digit_is_refused(tmp_path, how):
    # 户编号 has 16 digits: stored as a number, Excel and LibreOffice keep 15 significant digits —
    # the households of a village that differ in the last digit would silently become one (wrong
    # household flags, 家庭人数 mismatches blamed on the villages). Said, with the row, and refused.
    import openpyxl

    from fanpin_cli.errors import InputFileError
    from fanpin_cli.loaders import load_file

    households = ["4331270100100003", "4331270100100004", "4331270100100011"]
    if how == "E-notation text":
        path = tmp_path / "监测对象信息.csv"
        lines = ["户编号,姓名,证件号码,与户主关系"] + [f"4.33127E+15,张{i},43312719900101{i:03d}8,户主"
                                                  for i, _ in enumerate(households)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    else:
        path = tmp_path / "监测对象信息.xlsx"
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(["户编号", "姓名", "证件号码", "与户主关系"])
        for i, number in enumerate(households):
            value = int(number) if how == "numbers stored whole" else int(number[:15] + "0")
            sheet.append([value, f"张{i}", f"43312719900101{i:03d}8", "户主"])
        book.save(path)
    if how == "numbers stored whole":  # nothing lost (a program wrote them): read as they are
        assert load_file(path, "roster").frame["household_id"].to_list() == households
        return
    with pytest.raises(InputFileError) as refused:
        load_file(path, "roster")
    assert "户编号" in str(refused.value) and "末位已丢失" in str(refused.value) and refused.value.row == 2


def test_excels_unicode_text_is_read_and_an_encrypted_workbook_is_said(tmp_path):
    # Excel's "Unicode 文本" is UTF-16 with tabs: read (it was refused); an .xlsx with an opening
    # password (an OLE2 file holding an EncryptedPackage) is said in Chinese (calamine's English).
    from fanpin_cli.errors import InputFileError
    from fanpin_cli.loaders import load_file

    text = "姓名\t身份证号码\t注销原因\t注销日期\n张三\t433127199001011238\t死亡\t2026-01-05\n"
    path = tmp_path / "公安_户籍注销.txt"
    path.write_bytes(text.encode("utf-16"))  # (with its byte-order mark, as Excel writes it)
    loaded = load_file(path, "police")
    assert loaded.frame["name"].to_list() == ["张三"] and loaded.encoding == "utf-16"
    locked = tmp_path / "公安_加密.xlsx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le") + bytes(512))
    with pytest.raises(InputFileError, match="打开密码"):
        load_file(locked, "police")


def test_a_quote_inside_a_field_that_is_not_quoted_is_read_as_a_character(tmp_path):
    # (`普通居民"` in one row: polars took it for a field's start and the whole file was refused
    # with its English message; Excel and Python's csv read it as the character it is)
    from fanpin_cli.loaders import load_file

    rows = [f"张{i},43312719900101{i % 1000:03d}8,普通居民,2026,正常参保" for i in range(3000)]
    rows[100] = '邵"芳,433127199001011008,普通居民",2026,正常参保"'  # (the last field's end: polars failed)
    path = tmp_path / "医保_参保登记.csv"
    path.write_text("姓名,身份证号码,参保类型,参保年度,参保状态\n" + "\n".join(rows) + "\n", encoding="gbk")
    loaded = load_file(path, "medical_enrollment")
    assert loaded.frame.height == 3000
    row = loaded.frame.filter(pl.col("source_row") == 102).row(0, named=True)
    assert row["name"] == '邵"芳' and row["参保类型"] == '普通居民"' and row["enroll_status"] == '正常参保"'
