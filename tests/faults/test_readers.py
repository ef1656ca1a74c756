"""Hostile and odd inputs to the readers (issue 9 parts 4 and 6, issue 10 reader items).

Each case is a small file built here the way it reaches a county office: line endings that
change part-way, duplicate headings, rows longer than the header, a sheet with one value far
away, CSV/HTML/XML-2003 saved under an `.xls` name, 合计/填表人/说明 rows and repeated headers
inside a table, paths that are loops, folders or pipes. Each asserts the exit code or the
error message, that every row is accounted for (records + blank + non-data = rows after the
header, with the row numbers a person sees), and that the input's sha256 is unchanged.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest
import xlsxwriter
import xlwt
from stdnum.cn import ric
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.errors import InputFileError
from fanpin_cli.filekind import NOT_EXCEL
from fanpin_cli.loaders import load_file
from fanpin_cli.resources import resource_dir

runner = CliRunner()
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "秀英", "建国"]
HEADER = ["乡镇", "村", "姓名", "身份证号码", "救助类型", "保障状态"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_id(i: int) -> str:
    body = f"433127{1940 + i % 70}{1 + i % 12:02d}{1 + i % 28:02d}{i % 1000:03d}"
    return body + ric.calc_check_digit(body)


def person(i: int) -> list[str]:
    name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
    return ["灵溪镇" if i % 2 else "首车镇", "司城村", name, make_id(i), "农村低保", "在保"]


def csv_line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(cells)  # quotes a cell holding a line break
    return buf.getvalue()[:-2]


def records(text: str) -> list[tuple[int, list[str]]]:
    """(first line a person sees the record on, cells) by Python's csv module, which ends a
    line at CR, LF or CRLF: an independent reading to compare the loader with."""
    reader = csv.reader(io.StringIO(text, newline=""))
    out, start = [], 1
    for cells in reader:
        out.append((start, cells))
        start = reader.line_num + 1
    return out


def validate(path: Path, sector: str, out: Path, *extra: str) -> tuple[int, str, dict | None]:
    result = runner.invoke(app, ["validate", str(path), "--sector", sector, "--out", str(out),
                                 "--reference-date", "2026-11-30", *extra])
    summary = json.loads((out / "summary.json").read_text("utf-8")) if (out / "summary.json").is_file() else None
    return result.exit_code, result.output, summary


def accounted(loaded, text_records: list[tuple[int, list[str]]], header_row: int) -> None:
    """Every row after the header is a record, a blank row or a non-data row — exactly once."""
    after = [n for n, _ in text_records if n > header_row]
    got = loaded.frame["source_row"].to_list() + loaded.blank_rows + [r["row"] for r in loaded.non_data_rows]
    assert sorted(got) == after


# ---------------------------------------------------------------------------------------
# Line endings (issue 10: mixed endings read 175 of 275 rows; CR-only gave a traceback)
# ---------------------------------------------------------------------------------------

def _ending(kind: str, i: int) -> str:
    if kind == "mixed":  # CRLF, then CR-only, then LF, as files pasted together end up
        return "\r\n" if i < 100 else "\r" if i < 200 else "\n"
    return {"lf": "\n", "crlf": "\r\n", "cr": "\r"}[kind]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
@pytest.mark.parametrize("kind", ["lf", "crlf", "cr", "mixed"])
def test_every_line_ending_keeps_every_row(kind: str, encoding: str, tmp_path: Path) -> None:
    lines = ["永顺县农村低保名单", csv_line(HEADER + ["备注"])]
    for i in range(275):
        note = "因病致贫\n长期服药" if i == 150 else ""  # a quoted cell spanning two lines
        lines.append(csv_line(person(i) + [note]))
    text = "".join(line + _ending(kind, i) for i, line in enumerate(lines))
    path = tmp_path / f"民政_{kind}.csv"
    path.write_bytes(text.encode(encoding))
    before = sha256(path)

    loaded = load_file(path, "civil_affairs")
    expected = [(n, cells) for n, cells in records(text) if n > 2]
    assert loaded.rows_read == 275
    assert loaded.frame["source_row"].to_list() == [n for n, _ in expected]
    assert loaded.frame["name"].to_list() == [cells[2] for _, cells in expected]
    assert loaded.frame["id_number"].to_list() == [make_id(i) for i in range(275)]
    assert loaded.blank_rows == [] and loaded.non_data_rows == []
    if kind == "cr":  # a person sees line 3 + 150 + 1 for the record after the two-line cell
        assert loaded.frame.filter(pl.col("id_number") == make_id(151))["source_row"].item() == 3 + 151 + 1

    code, output, summary = validate(path, "civil_affairs", tmp_path / "out")
    assert code == 0, output
    assert summary["inputs"][0]["rows_read"] == 275
    assert "Traceback" not in output
    assert sha256(path) == before


# ---------------------------------------------------------------------------------------
# Duplicate headings (issue 10: the first, empty 身份证号 column won: linked 79 → 0)
# ---------------------------------------------------------------------------------------

def _dup_rows(n: int) -> list[list[str]]:
    return [["灵溪镇", p[2], "", "农村低保", "在保", p[3]] for p in (person(i) for i in range(n))]


DUP_HEADER = ["乡镇", "姓名", "身份证号", "救助类型", "保障状态", "身份证号"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_duplicate_heading_uses_the_filled_column_and_says_so(suffix: str, tmp_path: Path) -> None:
    path = tmp_path / f"民政{suffix}"
    rows = _dup_rows(12)
    if suffix == ".csv":
        path.write_bytes("\n".join(csv_line(r) for r in [DUP_HEADER, *rows]).encode("gbk") + b"\n")
    else:
        wb = xlsxwriter.Workbook(path)
        ws = wb.add_worksheet("低保")
        for r, row in enumerate([DUP_HEADER, *rows]):
            for c, v in enumerate(row):
                if v:
                    ws.write_string(r, c, v)
        wb.close()
    before = sha256(path)
    loaded = load_file(path, "civil_affairs")
    assert loaded.frame["id_number"].to_list() == [make_id(i) for i in range(12)]
    assert loaded.headings["id_number"] == "身份证号"
    issues = loaded.issues.filter(pl.col("check_id") == "HEADING_DUPLICATE")
    assert issues["source_row"].to_list() == [1]
    message = issues["message"].item()
    assert "「身份证号」出现2次" in message and "第C列" in message and "第F列" in message
    assert "使用填写最多的第F列（第C列为空）" in message

    code, output, summary = validate(path, "civil_affairs", tmp_path / "out")
    assert code == 0, output
    found = pl.read_csv(tmp_path / "out" / "quality_issues.csv", infer_schema=False)
    assert "HEADING_DUPLICATE" in found["check_id"].to_list()
    assert "ID_MISSING" not in found["check_id"].to_list()  # the empty column was not used
    assert summary["inputs"][0]["rows_read"] == 12
    assert sha256(path) == before


def test_duplicate_heading_both_filled_uses_the_fuller_one(tmp_path: Path) -> None:
    path = tmp_path / "公安.csv"
    lines = ["姓名,身份证号,注销原因,身份证号"]
    for i in range(6):
        p = person(i)
        first = p[3] if i == 0 else ""
        lines.append(f"{p[2]},{first},死亡,{p[3]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_file(path, "police")
    assert loaded.frame["id_number"].to_list() == [make_id(i) for i in range(6)]
    assert loaded.frame["身份证号_2"].to_list() == [make_id(0)] + [None] * 5
    assert "使用填写最多的第D列，" in loaded.issues["message"].item()


def test_duplicate_unused_heading_is_not_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "公安.csv"
    path.write_text("姓名,身份证号,注销原因,备注,备注\n张伟,433127199001011238,死亡,a,b\n", encoding="utf-8")
    loaded = load_file(path, "police")
    assert loaded.issues.height == 0
    assert loaded.frame.select("备注", "备注_2").row(0) == ("a", "b")


# ---------------------------------------------------------------------------------------
# Ragged rows (issue 10: extra fields were dropped with no issue)
# ---------------------------------------------------------------------------------------

def test_csv_row_longer_than_header_is_kept_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "民政.csv"
    header = ["姓名", "身份证号码", "救助类型", "保障状态", "住址"]
    lines = [csv_line(header)]
    for i in range(5):
        p = person(i)
        address = "灵溪镇,司城村3组" if i == 2 else "灵溪镇司城村"  # an unquoted comma: 6 fields
        lines.append(",".join([p[2], p[3], "农村低保", "在保", address]))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    before = sha256(path)
    loaded = load_file(path, "civil_affairs")
    assert loaded.rows_read == 5
    assert loaded.frame["source_row"].to_list() == [2, 3, 4, 5, 6]
    assert loaded.frame["未命名列6"].to_list() == [None, None, "司城村3组", None, None]
    ragged = loaded.issues.filter(pl.col("check_id") == "ROW_RAGGED")
    assert ragged["source_row"].to_list() == [4]
    assert "本行有6个字段，表头只有5个" in ragged["message"].item()
    assert ragged["severity"].item() == "error"

    code, output, summary = validate(path, "civil_affairs", tmp_path / "out")
    assert code == 0, output
    found = pl.read_csv(tmp_path / "out" / "quality_issues.csv", infer_schema=False)
    assert found.filter(pl.col("check_id") == "ROW_RAGGED")["source_row"].to_list() == ["4"]
    assert summary["inputs"][0]["rows_read"] == 5
    assert sha256(path) == before


def test_trailing_empty_fields_are_not_ragged(tmp_path: Path) -> None:
    path = tmp_path / "民政.csv"
    lines = ["姓名,身份证号码,救助类型"] + [f"{p[2]},{p[3]},农村低保,,," for p in map(person, range(4))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_file(path, "civil_affairs")
    assert loaded.rows_read == 4
    assert loaded.issues.height == 0


def test_values_under_an_empty_heading_at_the_header_lines_end_are_not_said_as_a_field_too_many(tmp_path: Path) -> None:
    """`姓名,身份证号码,救助类型,` (the last heading empty, its title in a merged cell above it):
    every row has the header line's four fields. Its values are reported as having no heading
    — not as a row longer than the header (a false "各列可能错位" on every row)."""
    path = tmp_path / "民政.csv"
    lines = ["姓名,身份证号码,救助类型,"] + [f"{p[2]},{p[3]},农村低保,{i}" for i, p in enumerate(map(person, range(3)))]
    lines.append(f"{person(3)[2]},{person(3)[3]},农村低保,3,多")  # one field more than the header line
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_file(path, "civil_affairs")
    ragged = loaded.issues.filter(pl.col("check_id") == "ROW_RAGGED").sort("source_row")
    assert ragged["source_row"].to_list() == [2, 3, 4, 5]
    assert all("没有列名的位置" in m for m in ragged["message"][:3])
    assert "本行有5个字段，表头只有4个" in ragged["message"][3]


def test_text_formula_cells_are_read_as_excel_shows_them(tmp_path: Path) -> None:
    """Web systems export IDs as `="433127…"` so that Excel keeps all 18 digits; Excel shows the
    ID. Read as the ID (it was a 19-character bad ID on every row: nothing linked by ID)."""
    path = tmp_path / "医保.csv"
    people = [person(i) for i in range(3)]
    lines = ["姓名,公民身份号码,参保状态"] + [f'{p[2]},="{p[3]}",正常参保' for p in people[:2]]
    lines.append(f'{people[2][2]},"=""{people[2][3]}""",正常参保')  # the same, quoted by a CSV writer
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_file(path, "medical_enrollment")
    assert loaded.frame["id_number"].to_list() == [p[3] for p in people]
    assert loaded.frame["name"].to_list() == [p[2] for p in people]


def test_xlsx_value_beyond_the_header_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "民政.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("低保")
    ws.write_row(0, 0, ["姓名", "身份证号码", "救助类型"])
    for r in range(1, 5):
        p = person(r)
        ws.write_row(r, 0, [p[2], p[3], "农村低保"])
    ws.write_string(3, 4, "已核实")
    wb.close()
    loaded = load_file(path, "civil_affairs")
    ragged = loaded.issues.filter(pl.col("check_id") == "ROW_RAGGED")
    assert ragged["source_row"].to_list() == [4]
    assert "第D列起" in ragged["message"].item()
    assert loaded.rows_read == 4


# ---------------------------------------------------------------------------------------
# Sheet size checked before reading (issue 10: one cell at XFD1048576 → 549 GB, exit 134)
# ---------------------------------------------------------------------------------------

def _xlsx_with_sheet_xml(path: Path, change) -> None:
    base = path.with_suffix(".base.xlsx")
    wb = xlsxwriter.Workbook(base)
    ws = wb.add_worksheet("低保")
    ws.write_row(0, 0, ["姓名", "身份证号码", "救助类型"])
    for r in range(1, 6):
        p = person(r)
        ws.write_row(r, 0, [p[2], p[3], "农村低保"])
    wb.close()
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data.decode()).encode()
            zout.writestr(item, data)
    base.unlink()


def _far_cell(ref: str, value: bool = True, dimension: str | None = None):
    row = re.sub(r"[A-Z]", "", ref)

    def change(xml: str) -> str:
        cell = f'<c r="{ref}" t="inlineStr"><is><t>x</t></is></c>' if value else f'<c r="{ref}" s="0"/>'
        xml = xml.replace("</sheetData>", f'<row r="{row}">{cell}</row></sheetData>')
        if dimension:
            xml = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>', xml)
        return xml
    return change


def _run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    """`fanpin …` in a child limited to 4 GB of address space, so a reader that tried to
    allocate the grid fails fast here instead of exhausting the machine."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    return subprocess.run([sys.executable, "-m", "fanpin_cli.cli", *args], capture_output=True, text=True,
                          timeout=120, preexec_fn=limit, env={**os.environ, "COLUMNS": "200"})


@pytest.mark.parametrize(
    ("ref", "dimension"),
    [("XFD1048576", None), ("XFD30000", None), ("XFD1048576", "A1:C6"), ("ZZ999999", "A1:C6")],
    ids=["far-corner", "far-column", "lying-dimension", "far-row"],
)
def test_far_value_is_refused_before_reading(ref: str, dimension: str | None, tmp_path: Path) -> None:
    path = tmp_path / "民政.xlsx"
    _xlsx_with_sheet_xml(path, _far_cell(ref, dimension=dimension))
    assert path.stat().st_size < 64 << 10
    before = sha256(path)
    with pytest.raises(InputFileError) as err:
        load_file(path, "civil_affairs")
    text = str(err.value)
    assert text.startswith("民政.xlsx 工作表「低保」：数据区域从A1到")
    assert ref in text and "超出可读取的范围" in text and "\n" not in text
    done = _run_cli(["validate", str(path), "--sector", "civil_affairs"])
    assert done.returncode == 1, done.stderr
    assert ref in done.stderr + done.stdout
    assert "Traceback" not in done.stderr and "panicked" not in done.stderr
    assert sha256(path) == before


@pytest.mark.parametrize(
    "change",
    [_far_cell("XFD1048576", value=False), _far_cell("XFD1048576", value=False, dimension="A1:XFD1048576"),
     lambda xml: re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', xml)],
    ids=["far-empty-cell", "far-empty-cell-and-dimension", "huge-dimension-only"],
)
def test_far_formatting_without_a_value_reads_normally(change, tmp_path: Path) -> None:
    path = tmp_path / "民政.xlsx"
    _xlsx_with_sheet_xml(path, change)
    loaded = load_file(path, "civil_affairs")
    assert loaded.rows_read == 5
    assert loaded.frame["source_row"].to_list() == [2, 3, 4, 5, 6]


def test_a_far_value_within_the_limit_is_read_with_its_row(tmp_path: Path) -> None:
    path = tmp_path / "民政.xlsx"
    _xlsx_with_sheet_xml(path, _far_cell("Z40"))
    loaded = load_file(path, "civil_affairs")
    assert loaded.rows_read == 5
    assert [r["row"] for r in loaded.non_data_rows] == [40]  # only one cell, no name, no ID
    assert loaded.blank_rows == list(range(7, 40))


# ---------------------------------------------------------------------------------------
# Paths that are not files (issue 10: a symlink loop gave a traceback)
# ---------------------------------------------------------------------------------------

def _fifo(tmp: Path) -> Path:
    path = tmp / "民政.csv"
    os.mkfifo(path)
    return path


def _loop(tmp: Path) -> Path:
    (tmp / "b.csv").symlink_to(tmp / "a.csv")
    (tmp / "a.csv").symlink_to(tmp / "b.csv")
    return tmp / "a.csv"


def _folder(tmp: Path) -> Path:
    (tmp / "民政.xlsx").mkdir()
    return tmp / "民政.xlsx"


def _under_a_file(tmp: Path) -> Path:
    (tmp / "民政.csv").write_text("姓名\n", encoding="utf-8")
    return tmp / "民政.csv" / "x.csv"


@pytest.mark.parametrize(
    ("make", "words"),
    [(_loop, "符号链接循环"), (_folder, "文件夹"), (_fifo, "不是普通文件"), (_under_a_file, "不是文件夹"),
     (lambda tmp: tmp / "没有.csv", "找不到文件")],
    ids=["symlink-loop", "folder", "fifo", "under-a-file", "missing"],
)
def test_unreadable_paths_are_one_chinese_line(make, words: str, tmp_path: Path) -> None:
    path = make(tmp_path)
    with pytest.raises(InputFileError) as err:
        load_file(path, "civil_affairs")
    assert words in str(err.value) and path.name in str(err.value) and "\n" not in str(err.value)
    done = _run_cli(["validate", str(path), "--sector", "civil_affairs"])
    assert done.returncode == 1
    assert words in done.stderr + done.stdout and "Traceback" not in done.stderr

    config = tmp_path / "fanpin.toml"
    roster = resource_dir("sample_data") / "监测对象信息.xlsx"
    config.write_text(
        f'[run]\ncounty = "永顺县"\nperiod = "2026-11"\nreference_date = "2026-11-30"\n'
        f'[roster]\npath = "{roster.as_posix()}"\n'
        f'[[extracts]]\nsector = "civil_affairs"\npath = "{path.as_posix()}"\n',
        encoding="utf-8",
    )
    done = _run_cli(["run", str(config), "--out", str(tmp_path / "out")])
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert path.name in done.stderr + done.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: permissions cannot be tested as root")
def test_file_without_read_permission(tmp_path: Path) -> None:
    path = tmp_path / "民政.csv"
    path.write_text("姓名,身份证号码,救助类型\n", encoding="utf-8")
    path.chmod(0)
    with pytest.raises(InputFileError) as err:
        load_file(path, "civil_affairs")
    assert "没有读取这个文件的权限" in str(err.value)


# ---------------------------------------------------------------------------------------
# Files by content, not by name (issue 9 part 6)
# ---------------------------------------------------------------------------------------

def test_gbk_csv_named_xls(tmp_path: Path) -> None:
    path = tmp_path / "民政_导出.xls"
    text = "\r\n".join(["永顺县低保名单", csv_line(HEADER), *(csv_line(person(i)) for i in range(4))]) + "\r\n"
    path.write_bytes(text.encode("gbk"))
    before = sha256(path)
    loaded = load_file(path, "civil_affairs")
    assert loaded.kind == "text" and loaded.encoding == "gb18030"
    assert loaded.frame.select("source_row", "name").rows() == [(3 + i, person(i)[2]) for i in range(4)]
    assert sha256(path) == before


HTML = """<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>
<h1>永顺县农村低保名单</h1>
<table border="1">
<tr><th>乡镇</th><th>村</th><th>姓名</th><th>身份证号码</th><th>救助类型</th><th>保障状态</th></tr>
<tr><td rowspan="2">灵溪镇</td><td>司城村</td><td>{n0}</td><td style="mso-number-format:'\\@'">{i0}</td><td>农村低保</td><td>在保</td></tr>
<tr><td>司城村</td><td>{n1}</td><td>{i1}</td><td colspan="2">特困供养</td></tr>
<tr><td>首车镇</td><td>龙珠村</td><td>{n2}<br></td><td>{i2}</td><td>农村低保</td><td>在保&nbsp;</td></tr>
<tr><td>合计</td><td></td><td></td><td>3</td><td></td><td></td></tr>
</table>
<p>填表人：张三 审核人：李四</p>
</body></html>"""


def _html_file(tmp: Path) -> Path:
    path = tmp / "民政_网页导出.xls"
    people = [person(i) for i in range(3)]
    text = HTML.format(**{f"n{i}": p[2] for i, p in enumerate(people)}, **{f"i{i}": p[3] for i, p in enumerate(people)})
    path.write_bytes(text.encode("gbk"))
    return path


def test_html_table_named_xls(tmp_path: Path) -> None:
    path = _html_file(tmp_path)
    before = sha256(path)
    loaded = load_file(path, "civil_affairs")
    assert loaded.kind == "html"
    assert loaded.header_row == 3  # the <h1> title on row 1, an empty row 2, as Calc shows it
    assert loaded.frame.select("source_row", "township", "name", "id_number", "aid_type").rows() == [
        (4, "灵溪镇", person(0)[2], make_id(0), "农村低保"),
        (5, "灵溪镇", person(1)[2], make_id(1), "特困供养"),  # under a rowspan: the value shown (tests/test_merged.py)
        (6, "首车镇", person(2)[2], make_id(2), "农村低保"),
    ]
    assert loaded.frame["aid_status"].to_list() == ["在保", None, "在保"]  # colspan: the value names its first field
    assert [m["column"] for m in loaded.merged_cells] == ["乡镇"]
    assert loaded.non_data_rows == [
        {"row": 7, "reason": "合计行"},
        {"row": 9, "reason": "表尾（填表人、审核人、日期等）"},
    ]
    assert loaded.blank_rows == [8]
    assert sha256(path) == before


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed")
def test_html_rows_match_what_libreoffice_shows(tmp_path: Path) -> None:
    path = _html_file(tmp_path)
    out = tmp_path / "lo"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76", "--outdir", str(out), str(path)],
                   check=True, capture_output=True, timeout=180)
    shown = list(csv.reader(io.StringIO((out / (path.stem + ".csv")).read_text("utf-8"))))
    loaded = load_file(path, "civil_affairs")
    assert shown[loaded.header_row - 1][:3] == ["乡镇", "村", "姓名"]
    for row in loaded.frame.iter_rows(named=True):
        assert shown[row["source_row"] - 1][2] == row["name"]
    for item in loaded.non_data_rows:
        assert shown[item["row"] - 1][0] in ("合计", "填表人：张三 审核人：李四")


SPREADSHEETML = """<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="说明"><Table><Row><Cell><Data ss:Type="String">请勿修改表头</Data></Cell></Row></Table></Worksheet>
 <Worksheet ss:Name="名单"><Table>
  <Row><Cell ss:MergeAcross="3"><Data ss:Type="String">永顺县医保参保登记</Data></Cell></Row>
  <Row ss:Index="3"><Cell><Data ss:Type="String">姓名</Data></Cell><Cell><Data ss:Type="String">公民身份号码</Data></Cell>
   <Cell><Data ss:Type="String">参保状态</Data></Cell><Cell><Data ss:Type="String">参保年度</Data></Cell></Row>
  {rows}
 </Table></Worksheet>
</Workbook>"""


def test_xml_spreadsheet_2003_named_xls(tmp_path: Path) -> None:
    rows = []
    for i in range(4):
        p = person(i)
        index = ' ss:Index="7"' if i == 2 else ""  # rows 4, 5, then 7 (row 6 left empty), 8
        rows.append(f'<Row{index}><Cell><Data ss:Type="String">{p[2]}</Data></Cell>'
                    f'<Cell><Data ss:Type="String">{p[3]}</Data></Cell><Cell><Data ss:Type="String">参保缴费</Data></Cell>'
                    f'<Cell><Data ss:Type="Number">2026</Data></Cell></Row>')
    path = tmp_path / "医保_参保.xls"
    path.write_text(SPREADSHEETML.format(rows="\n".join(rows)), encoding="utf-8")
    before = sha256(path)
    loaded = load_file(path, "medical_enrollment")
    assert loaded.kind == "spreadsheetml" and loaded.sheet == "名单" and loaded.header_row == 3
    assert loaded.frame.select("source_row", "name", "id_number", "enroll_year").rows() == [
        (4, person(0)[2], make_id(0), "2026"), (5, person(1)[2], make_id(1), "2026"),
        (7, person(2)[2], make_id(2), "2026"), (8, person(3)[2], make_id(3), "2026"),
    ]
    assert loaded.blank_rows == [6]
    assert load_file(path, "medical_enrollment", sheet="名单").rows_read == 4
    with pytest.raises(InputFileError) as err:
        load_file(path, "medical_enrollment", sheet="缺")
    assert "说明、名单" in str(err.value)
    assert sha256(path) == before


def test_xml_spreadsheet_with_an_entity_bomb_is_refused(tmp_path: Path) -> None:
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
            '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet><Table>'
            '<Row><Cell><Data>&c;</Data></Cell></Row></Table></Worksheet></Workbook>')
    path = tmp_path / "x.xls"
    path.write_text(bomb, encoding="utf-8")
    with pytest.raises(InputFileError) as err:  # entities are not expanded: no header, one line
        load_file(path, "medical_enrollment")
    assert "x.xls" in str(err.value) and "\n" not in str(err.value)


def test_xlsx_named_xls_and_xls_named_xlsx(tmp_path: Path) -> None:
    real_xlsx = tmp_path / "民政.xls"
    wb = xlsxwriter.Workbook(real_xlsx)
    ws = wb.add_worksheet("低保")
    ws.write_row(0, 0, HEADER)
    for r in range(1, 4):
        ws.write_row(r, 0, person(r))
    wb.close()
    real_xls = tmp_path / "残联.xlsx"
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("持证")
    for c, h in enumerate(["姓名", "残疾人证号", "残疾类别", "残疾等级"]):
        sheet.write(1, c, h)
    for r in range(3):
        for c, v in enumerate([person(r)[2], make_id(r) + "11", "肢体", "一级"]):
            sheet.write(r + 2, c, v)
    book.save(str(real_xls))
    a = load_file(real_xlsx, "civil_affairs")
    assert a.kind == "xlsx" and a.frame["source_row"].to_list() == [2, 3, 4]
    assert a.frame["name"].to_list() == [person(r)[2] for r in range(1, 4)]
    b = load_file(real_xls, "disability")
    assert b.kind == "xls" and b.header_row == 2 and b.frame["source_row"].to_list() == [3, 4, 5]


@pytest.mark.parametrize(
    ("name", "content"),
    [("民政.xls", bytes(range(256)) * 16), ("民政.xlsx", b"\x00\x01GIF89a" + bytes(2000)),
     ("民政.xls", b"\x7fELF" + bytes(range(256)) * 4)],
    ids=["binary-xls", "binary-xlsx", "elf-xls"],
)
def test_file_that_is_no_table_gets_the_chinese_one_liner(name: str, content: bytes, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFileError) as err:
        load_file(path, "civil_affairs")
    assert str(err.value) == f"{name}：{NOT_EXCEL}"
    code, output, _ = validate(path, "civil_affairs", tmp_path / "out")
    assert code == 1 and NOT_EXCEL in output


# ---------------------------------------------------------------------------------------
# Rows that are not records (issue 9 part 4)
# ---------------------------------------------------------------------------------------

def _civil_with_non_data(tmp: Path) -> tuple[Path, str]:
    people = [person(i) for i in range(8)]
    lines = [
        "永顺县2026年11月农村低保名单",                      # 1 title
        csv_line(["序号", *HEADER]),                       # 2 header
        csv_line(["1", *people[0]]),                       # 3
        csv_line(["2", *people[1]]),                       # 4
        csv_line(["小计", "", "", "", "2", "", ""]),       # 5 subtotal
        "",                                                # 6 blank
        "永顺县2026年11月农村低保名单（续）,,,,,,",          # 7 title of the next page
        csv_line(["序号", *HEADER]),                       # 8 header again
        csv_line(["3", "首车镇", "龙珠村", "王合计", make_id(50), "农村低保", "在保"]),  # 9 a real 王合计
        csv_line(["4", "首车镇", "龙珠村", "合计", make_id(51), "农村低保", "在保"]),    # 10 named 合计, with ID
        csv_line(["5", "首车镇", "龙珠村", "合计明", "", "农村低保", "在保"]),          # 11 no ID, still a person
        csv_line(["", "", "", "合 计", "385", "", ""]),    # 12 total in the name column, a count as "ID"
        csv_line(["填表人：张三", "", "审核人：李四", "", "", "", ""]),  # 13 footer
        csv_line(["制表日期：2026年11月30日", "", "", "", "", "", ""]),  # 14 footer
        csv_line(["联系电话", "0743-5221234", "", "", "", "", ""]),      # 15 footer, label and value
        csv_line(["说明：1.本表由乡镇填报；2.保障状态以民政系统为准", "", "", "", "", "", ""]),  # 16 note
        csv_line(["注", "", "", "", "", "", ""]),         # 17 note
    ]
    path = tmp / "民政_低保.csv"
    text = "\r\n".join(lines) + "\r\n"
    path.write_bytes(text.encode("gbk"))
    return path, text


NON_DATA = [
    {"row": 5, "reason": "合计行"},
    {"row": 7, "reason": "标题或页码行（只有一个单元格有内容，没有姓名和证件号码）"},
    {"row": 8, "reason": "重复的表头行"},
    {"row": 12, "reason": "合计行"},
    {"row": 13, "reason": "表尾（填表人、审核人、日期等）"},
    {"row": 14, "reason": "表尾（填表人、审核人、日期等）"},
    {"row": 15, "reason": "表尾（填表人、审核人、日期等）"},
    {"row": 16, "reason": "说明或备注行"},
    {"row": 17, "reason": "说明或备注行"},
]


def test_non_data_rows_are_listed_with_a_reason(tmp_path: Path) -> None:
    path, text = _civil_with_non_data(tmp_path)
    before = sha256(path)
    loaded = load_file(path, "civil_affairs")
    assert loaded.non_data_rows == NON_DATA
    assert loaded.frame.select("source_row", "name").rows() == [
        (3, person(0)[2]), (4, person(1)[2]), (9, "王合计"), (10, "合计"), (11, "合计明"),
    ]
    assert loaded.rows_read == 5 and loaded.blank_rows == [6]
    accounted(loaded, records(text), 2)

    code, output, summary = validate(path, "civil_affairs", tmp_path / "out")
    assert code == 0, output
    entry = summary["inputs"][0]
    assert entry["non_data_rows"] == NON_DATA and entry["rows_non_data"] == 9
    assert entry["rows_read"] == 5
    issues = pl.read_csv(tmp_path / "out" / "quality_issues.csv", infer_schema=False)
    assert not set(issues["source_row"].to_list()) & {str(r["row"]) for r in NON_DATA}
    assert sha256(path) == before


def test_a_places_subtotal_row_is_a_total(tmp_path: Path) -> None:
    """`两岔乡小计` after each 乡镇's block: a total, not a record with no name and no ID (it
    was counted as a row and reported as ID_MISSING, NAME_MISSING and REQUIRED_MISSING)."""
    path = tmp_path / "民政.csv"
    lines = ["乡镇,姓名,身份证号码,救助类型,月保障金额"]
    lines += [f"两岔乡,{p[2]},{p[3]},农村低保,300" for p in map(person, range(2))] + ["两岔乡小计,,,,600"]
    lines += [f"灵溪镇,{p[2]},{p[3]},农村低保,300" for p in map(person, range(2, 3))] + ["灵溪镇 合计：,,,,300"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_file(path, "civil_affairs")
    assert loaded.non_data_rows == [{"row": 4, "reason": "合计行"}, {"row": 6, "reason": "合计行"}]
    assert loaded.rows_read == 3


def test_xlsx_total_and_footer_rows(tmp_path: Path) -> None:
    path = tmp_path / "住建.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("鉴定")
    ws.write_row(0, 0, ["乡镇", "户主姓名", "户主身份证号", "鉴定等级", "改造情况"])
    for r in range(1, 4):
        p = person(r)
        ws.write_row(r, 0, [p[0], p[2], p[3], "C级", "未改造"])
    ws.write_row(4, 0, ["合计：3户", "", "", "", ""])
    ws.write_row(6, 0, ["单位负责人：王五", "", "填表人：赵六", "", "日期：2026.11.30"])
    wb.close()
    loaded = load_file(path, "housing")
    assert loaded.rows_read == 3
    assert loaded.non_data_rows == [{"row": 5, "reason": "合计行"}, {"row": 7, "reason": "表尾（填表人、审核人、日期等）"}]
    ws2 = openpyxl.load_workbook(path)["鉴定"]
    assert ws2.cell(row=5, column=1).value == "合计：3户"


def test_non_data_rows_are_not_in_links(tmp_path: Path) -> None:
    sample = resource_dir("sample_data")
    work = tmp_path / "county"
    shutil.copytree(sample, work)
    police = work / "公安_户籍注销.csv"
    raw = police.read_bytes()
    original = load_file(police, "police")
    encoding = "gbk" if original.encoding == "gb18030" else "utf-8"
    ending = b"\r\n" if b"\r\n" in raw else b"\n"
    rows_before = len(raw.rstrip(ending).split(ending))
    extra = ["合计" + "," * 3, "填表人：张三,,审核人：李四,"]
    police.write_bytes(raw.rstrip(ending) + ending + ending.join(s.encode(encoding) for s in extra) + ending)
    before = sha256(police)
    result = runner.invoke(app, ["run", str(work / "fanpin.toml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))
    entry = next(e for e in summary["inputs"] if e["file"] == "公安_户籍注销.csv")
    assert entry["non_data_rows"] == [
        {"row": rows_before + 1, "reason": "合计行"},
        {"row": rows_before + 2, "reason": "表尾（填表人、审核人、日期等）"},
    ]
    links = pl.read_csv(tmp_path / "out" / "links.csv", infer_schema=False).filter(pl.col("source_file") == "公安_户籍注销.csv")
    assert links.height == entry["rows_read"] == original.rows_read
    assert str(rows_before + 1) not in links["source_row"].to_list()
    assert sha256(police) == before
