"""Never silent: per input `columns`/`missing_fields`; rules and checks that cannot be evaluated
say so (summary.json `status`/`reason`, console, 汇总 "未评估（原因）") and write nothing.

Runs the bundled sample county with one thing taken away each time, as happens in real months:
an enrollment file exported with its header and no rows, a roster without 乡镇/村 columns, no
公安 file at all.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.resources import resource_dir

SAMPLE = resource_dir("sample_data")
runner = CliRunner()


def county(tmp_path: Path) -> Path:
    folder = tmp_path / "county"
    shutil.copytree(SAMPLE, folder, ignore=shutil.ignore_patterns("ground_truth"))
    return folder


def run(folder: Path) -> tuple[object, dict, Path]:
    out = folder / "out"
    result = runner.invoke(app, ["run", str(folder / "fanpin.toml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return result, json.loads((out / "summary.json").read_text(encoding="utf-8")), out


def rule(summary: dict, rule_id: str) -> dict:
    return next(r for r in summary["rules"] if r["rule_id"] == rule_id)


def summary_sheet_text(out: Path) -> str:
    ws = openpyxl.load_workbook(out / "report.xlsx", read_only=True)["汇总"]
    return "\n".join(" ".join(str(c) for c in row if c is not None) for row in ws.iter_rows(values_only=True))


@pytest.fixture(scope="module")
def header_only_enrollment(tmp_path_factory: pytest.TempPathFactory):
    folder = county(tmp_path_factory.mktemp("enrol"))
    path = folder / "医保_参保登记.csv"
    header = path.read_bytes().split(b"\n", 1)[0] + b"\n"  # GBK header line, no data rows
    path.write_bytes(header)
    return run(folder)


def test_header_only_enrollment_is_not_evaluated_not_all_red(header_only_enrollment) -> None:
    result, summary, out = header_only_enrollment
    med = rule(summary, "MED_UNINSURED")
    assert med["status"] == "not_evaluated"
    assert med["reason"] == "医保参保登记文件（医保_参保登记.csv）没有数据行"
    assert med["households"] is None and med["text"].startswith("未评估（")
    flags = pl.read_csv(out / "flags.csv", infer_schema=False)
    assert flags.filter(pl.col("rule_id") == "MED_UNINSURED").height == 0
    assert rule(summary, "MED_HIGH_OOP")["status"] == "evaluated"  # other sectors still run
    check = summary["quality"]["by_check"]["INSURED_CONFLICT"]
    assert check["status"] == "not_evaluated" and "没有数据行" in check["reason"]
    issues = pl.read_csv(out / "quality_issues.csv", infer_schema=False)
    assert issues.filter(pl.col("check_id") == "INSURED_CONFLICT").height == 0
    assert "未评估" in result.output and "MED_UNINSURED" in result.output and "没有数据行" in result.output
    sheet = summary_sheet_text(out)
    assert "未评估（医保参保登记文件（医保_参保登记.csv）没有数据行）" in sheet


def test_every_heading_is_listed_with_its_field(header_only_enrollment) -> None:
    _, summary, _ = header_only_enrollment
    roster = summary["inputs"][0]
    assert roster["columns"]["乡(镇)"] == "township"
    assert roster["columns"]["证件号码"] == "id_number"
    assert all(v is None or isinstance(v, str) for v in roster["columns"].values())
    enrol = next(e for e in summary["inputs"] if e["sector"] == "medical_enrollment")
    assert enrol["rows_read"] == 0 and set(enrol["columns"].values()) >= {"name", "id_number", "enroll_status"}
    assert all(r["status"] in ("evaluated", "not_evaluated") for r in summary["rules"])
    assert all(c["status"] in ("evaluated", "not_evaluated") for c in summary["quality"]["by_check"].values())


def test_roster_without_township_or_village_runs_and_says_so(tmp_path: Path) -> None:
    folder = county(tmp_path)
    frame = pl.read_excel(folder / "监测对象信息.xlsx", read_options={"header_row": 2}, infer_schema_length=0)
    frame.drop("乡(镇)", "行政村").write_csv(folder / "roster.csv")
    config = folder / "fanpin.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("监测对象信息.xlsx", "roster.csv"), encoding="utf-8")
    result, summary, out = run(folder)
    roster = summary["inputs"][0]
    assert {"township", "village"} <= set(roster["missing_fields"])
    place = summary["quality"]["by_check"]["HH_PLACE_MIXED"]
    assert place["status"] == "not_evaluated" and "「乡镇」" in place["reason"]
    assert "缺少列" in result.output and "乡镇" in result.output
    assert pl.read_csv(out / "flags.csv", infer_schema=False).height > 0  # the rules still ran


def test_sector_not_supplied_is_not_evaluated_and_exemption_noted(tmp_path: Path) -> None:
    folder = county(tmp_path)
    config = folder / "fanpin.toml"
    text = config.read_text(encoding="utf-8")
    block = '[[extracts]]\nsector = "police"\npath = "公安_户籍注销.csv"\n'
    assert block in text
    config.write_text(text.replace(block, ""), encoding="utf-8")
    _, summary, out = run(folder)
    pol = rule(summary, "POL_DEREGISTERED")
    assert (pol["status"], pol["reason"]) == ("not_evaluated", "未提供公安户籍注销文件")
    med = rule(summary, "MED_UNINSURED")
    assert med["status"] == "evaluated" and "未提供公安户籍注销文件" in med["note"]
    assert summary["quality"]["by_check"]["DECEASED_LISTED"]["status"] == "not_evaluated"
    assert "未评估（未提供公安户籍注销文件）" in summary_sheet_text(out)


def test_a_date_column_with_no_readable_date_leaves_its_rule_not_evaluated(tmp_path: Path) -> None:
    """结算日期 written 01/12/2024 15:59:07 on every row (a form no parser may guess: day or month
    first?): MED_HIGH_OOP's window found no claim and said "0户0人" as if it had looked. Now
    not evaluated, the column named; each cell is still a DATE_INVALID issue."""
    import re

    folder = county(tmp_path)
    path = folder / "医保_结算明细.csv"
    raw = path.read_bytes()
    encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "gbk"
    text = raw.decode(encoding)
    changed, n = re.subn(r",(\d{4})-(\d{2})-(\d{2})( \d{2}:\d{2}:\d{2})?,", r",\3/\2/\1\4,", text)
    assert n > 100
    path.write_bytes(changed.encode(encoding))
    result, summary, out = run(folder)
    oop = rule(summary, "MED_HIGH_OOP")
    assert oop["status"] == "not_evaluated" and oop["households"] is None
    assert oop["reason"] == "医保结算明细文件（医保_结算明细.csv）的「结算日期」列没有一个能识别的日期（见数据质量 DATE_INVALID）"
    assert "MED_HIGH_OOP" in result.output and "没有一个能识别的日期" in result.output
    issues = pl.read_csv(out / "quality_issues.csv", infer_schema=False)
    assert issues.filter(pl.col("check_id") == "DATE_INVALID", pl.col("source_file") == "医保_结算明细.csv").height == n
    assert rule(summary, "MED_UNINSURED")["status"] == "evaluated"
