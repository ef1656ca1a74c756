"""The township deliverable (issue 12), checked the way a 乡镇 official meets it: the county and
township workbooks of a real run opened with openpyxl, summary.html rendered in headless
Chromium, flags.csv and summary.json read back."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from fanpin_cli.config import load_config
from fanpin_cli.pipeline import run_job
from fanpin_cli.resources import resource_dir

CONFIG = resource_dir("sample_data") / "fanpin.toml"
ARTIFACTS = Path(__file__).parent / "artifacts"
VILLAGE_SHEETS_WITHOUT_RULE = ("待核实后确定", "应纳未纳", "待核实匹配", "数据质量")
MASKED_ID = re.compile(r"^[0-9]{6}\*{11}[0-9X]$")  # region + last character (privacy.py)


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("deliverable") / "out"
    run_job(load_config(CONFIG), out)  # --split township is the default
    return out


def _header(ws) -> list:
    return [c.value for c in next(ws.iter_rows(min_row=1, max_row=1))]


def _column(ws, heading: str) -> list:
    head = _header(ws)
    j = head.index(heading)
    return [row[j] for row in ws.iter_rows(min_row=2, values_only=True)]


def _rule_sheets(wb) -> list:
    return [ws for ws in wb.worksheets if ws.title != "汇总" and "疑点说明" in _header(ws)]


def _townships(county: Path) -> list[Path]:
    return sorted((county / "乡镇").glob("*.xlsx"))


def test_one_workbook_per_township_with_sorting_names(county):
    files = _townships(county)
    flags = pl.read_csv(county / "flags.csv", infer_schema=False)
    towns = sorted(flags["township"].drop_nulls().unique().to_list())
    assert len(files) == len(towns) >= 2
    names = [f.name for f in files]
    assert names == sorted(names)
    for i, (f, town) in enumerate(zip(files, towns, strict=True), start=1):
        assert f.name == f"{i:02d}_{town}_2026-11防返贫监测比对.xlsx"


def test_township_workbooks_hold_only_their_own_rows_and_all_of_them(county):
    county_wb = openpyxl.load_workbook(county / "report.xlsx")
    total = {ws.title: ws.max_row - 1 for ws in _rule_sheets(county_wb)}
    summed = dict.fromkeys(total, 0)
    for f in _townships(county):
        town = f.name.split("_")[1]
        wb = openpyxl.load_workbook(f)
        assert wb["汇总"]["A1"].value.startswith(f"永顺县{town} ")
        for ws in _rule_sheets(wb):
            assert set(_column(ws, "乡镇")) <= {town}, ws.title
            summed[ws.title] += ws.max_row - 1
        issues = wb["数据质量"]
        assert set(_column(issues, "乡镇")) <= {town}
        review = wb["待核实匹配"]
        places = {s or r for s, r in zip(_column(review, "系统乡镇"), _column(review, "行业乡镇"), strict=True)}
        assert places <= {town}
    # every row of the county's lists is in exactly one township workbook
    assert summed == total


def test_pending_flags_are_listed_and_counted_apart(county):
    flags = pl.read_csv(county / "flags.csv", infer_schema=False)
    assert set(flags["evidence_status"].unique()) == {"confirmed", "pending_review"}
    pending = flags.filter(pl.col("evidence_status") == "pending_review")
    wb = openpyxl.load_workbook(county / "report.xlsx")
    assert wb["待核实后确定"].max_row - 1 == pending.height
    med = next(ws for ws in _rule_sheets(wb) if ws.title.startswith("未参加基本医疗保险"))
    confirmed_med = flags.filter((pl.col("rule_id") == "MED_UNINSURED") & (pl.col("evidence_status") == "confirmed"))
    assert med.max_row - 1 == confirmed_med.height
    summary = json.loads((county / "summary.json").read_text(encoding="utf-8"))
    rule = next(r for r in summary["rules"] if r["rule_id"] == "MED_UNINSURED")
    assert rule["persons"] == confirmed_med.height
    assert rule["pending_persons"] == pending.filter(pl.col("rule_id") == "MED_UNINSURED").height > 0
    assert summary["households_flagged"]["pending_review"] > 0


def test_every_heading_is_chinese(county):
    english = re.compile(r"[A-Za-z]")
    snake = re.compile(r"^[a-z]+(_[^\s]+)+$|^[a-z]+$")  # level, clean_rate, issues_规范性, rate_…
    for f in [county / "report.xlsx", *_townships(county)[:2]]:
        wb = openpyxl.load_workbook(f)
        for ws in wb.worksheets:
            if ws.title == "汇总":
                cells = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
                assert not [v for v in cells if snake.match(v)], f.name
                assert "一、各预警规则（X户Y人）" not in cells
            else:
                assert not [h for h in _header(ws) if h and english.search(h)], (f.name, ws.title)


def test_no_time_of_day_in_any_cell(county):
    for f in [county / "report.xlsx", *_townships(county)]:
        wb = openpyxl.load_workbook(f)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                assert not any(isinstance(v, str) and "00:00:00" in v for v in row), (f.name, ws.title)


def test_reasons_wrap_and_rows_are_tall_enough(county):
    wb = openpyxl.load_workbook(county / "report.xlsx")
    for ws in _rule_sheets(wb):
        j = _header(ws).index("疑点说明") + 1
        if ws.max_row > 1:
            assert ws.cell(2, j).alignment.wrap_text, ws.title
    pending = wb["待核实后确定"]
    j = _header(pending).index("疑点说明") + 1
    long_rows = [r for r in range(2, pending.max_row + 1) if len(pending.cell(r, j).value or "") > 60]
    assert long_rows and all((pending.row_dimensions[r].height or 0) >= 30 for r in long_rows)
    review = wb["待核实匹配"]
    assert review.page_setup.orientation == "landscape" and review.sheet_properties.pageSetUpPr.fitToPage
    assert review.page_setup.fitToWidth in (None, 1)  # 1 page wide (1 is the default, not written)
    assert review.page_setup.fitToHeight == 0  # as many pages tall as needed


def test_verdict_dropdowns_beside_rectification(county):
    for f in [county / "report.xlsx", _townships(county)[0]]:
        wb = openpyxl.load_workbook(f)
        for ws in [*_rule_sheets(wb), wb["数据质量"], wb["待核实匹配"]]:
            if ws.max_row < 2:
                continue
            head = _header(ws)
            j = head.index("核实结果")
            assert head[j + 1] in ("整改情况", "备注")
            letter = openpyxl.utils.get_column_letter(j + 1)
            lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
            cells = f"{letter}2" if ws.max_row == 2 else f"{letter}2:{letter}{ws.max_row}"
            covered = [dv for dv in lists if str(dv.sqref) == cells]
            assert covered, (f.name, ws.title)
            want = '"是同一人,不是同一人"' if ws.title == "待核实匹配" else '"属实,不属实,已整改"'
            assert covered[0].formula1 == want


def test_candidates_show_their_own_masked_id(county):
    wb = openpyxl.load_workbook(county / "report.xlsx")
    ids = _column(wb["应纳未纳"], "证件号码")
    assert ids and all(v for v in ids)
    assert sum(bool(MASKED_ID.match(v)) for v in ids) >= len(ids) * 0.8
    flags = pl.read_csv(county / "flags.csv", infer_schema=False).filter(pl.col("rule_id") == "CIV_CANDIDATE")
    assert flags.height == len(ids) and flags["id_number"].null_count() == 0


def test_candidates_with_full_ids(tmp_path):
    out = tmp_path / "out"
    run_job(load_config(CONFIG), out, full_ids=True, split="none")
    assert not (out / "乡镇").exists()
    ids = _column(openpyxl.load_workbook(out / "report.xlsx")["应纳未纳"], "证件号码")
    assert sum(bool(re.match(r"^[0-9]{17}[0-9X]$", v or "")) for v in ids) >= len(ids) * 0.8


def test_quality_sheet_names_the_person(county):
    ws = openpyxl.load_workbook(county / "report.xlsx")["数据质量"]
    head = _header(ws)
    for heading in ("姓名", "户编号", "检查项", "检查编号", "核实结果", "整改情况"):
        assert heading in head
    names = _column(ws, "姓名")
    assert sum(1 for n in names if n) >= len(names) * 0.8
    checks = _column(ws, "检查项")
    assert not [c for c in checks if re.fullmatch(r"[A-Z_0-9]+", c or "")]


def test_scorecard_headings_and_percentages(county):
    ws = openpyxl.load_workbook(county / "report.xlsx")["质量评分"]
    head = _header(ws)
    assert head[:7] == ["层级", "乡镇", "村", "记录数", "含错误记录数", "无错误记录占比", "等级"]
    rate = ws.cell(2, 6)
    assert rate.number_format == "0.0%" and 0 <= rate.value <= 1


def test_native_charts_on_the_summary(county):
    with zipfile.ZipFile(county / "report.xlsx") as z:
        names = z.namelist()
        charts = sorted(n for n in names if n.startswith("xl/charts/chart"))
        assert len(charts) == 2
        first = z.read(charts[0]).decode("utf-8")
        assert "<c:barChart>" in first and '<c:grouping val="stacked"/>' in first
        assert "汇总" in first  # the series read the 汇总 table's cells
        rels = z.read("xl/worksheets/_rels/sheet1.xml.rels").decode("utf-8")
        assert "drawing" in rels


def test_village_split(tmp_path):
    out = tmp_path / "out"
    run_job(load_config(CONFIG), out, split="village")
    files = sorted((out / "村").glob("*.xlsx"))
    assert len(files) > 10 and not (out / "乡镇").exists()
    town, village = files[0].name.split("_")[1:3]
    wb = openpyxl.load_workbook(files[0])
    for ws in _rule_sheets(wb):
        assert set(_column(ws, "村")) <= {village} and set(_column(ws, "乡镇")) <= {town}


def test_summary_html_is_self_contained(county):
    page = (county / "summary.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 2
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)
    assert "<script" not in page
    assert "待核实后确定" in page and "各乡镇预警户数" in page


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian package chromium is not installed")
def test_summary_html_renders_in_headless_chromium_without_console_errors(county, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "summary.png"
    shot.unlink(missing_ok=True)
    # A page console message is logged as `CONSOLE(<line>)` / "Uncaught …" on stderr.
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1100,1600", f"--screenshot={shot}",
         (county / "summary.html").as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000
    page_errors = [line for line in proc.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert page_errors == []


def test_progress_names_each_file_and_check_group_and_rules_time_is_their_own():
    from fanpin_cli.pipeline import compute

    said: list[str] = []
    config = load_config(CONFIG)
    artifacts = compute(config, progress=said.append)
    files = [spec.source_file for spec in config.inputs]
    assert all(f"读取数据：{f}" in said for f in files)
    assert all(f"数据质量检查：{f}" in said for f in files)
    assert "数据质量检查：跨部门比对检查" in said
    stages = {s.name: s.seconds for s in artifacts.summary.stages}
    assert stages["预警规则"] > 0.01  # the rules' own time, not the wait after quality checks


def test_village_sheets_carry_the_record_key_of_flags_csv(county):
    flags = pl.read_csv(county / "flags.csv", infer_schema=False)
    wb = openpyxl.load_workbook(county / "report.xlsx")
    shown = {k for ws in [*_rule_sheets(wb), wb["应纳未纳"]] for k in _column(ws, "记录编号")}
    assert shown == set(flags["record_key"]) and None not in shown
    for name in ("待核实匹配", "数据质量"):
        keys = _column(wb[name], "记录编号")
        assert keys and all(keys) and len(set(keys)) == len(keys)
