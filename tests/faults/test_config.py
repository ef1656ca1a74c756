"""Broken configs and rule files are refused before any input is read (issue 10), each with one
Chinese line naming the key; the help a clerk needs to fix `columns` and `sector` (issue 9).

Table-driven: each case is a `fanpin.toml` as a clerk might type it. The roster file is not a
valid spreadsheet, so an error about it would mean files were read before the config was checked.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.config import load_config
from fanpin_cli.errors import ConfigError, RuleFileError
from fanpin_cli.flagging import load_rules

runner = CliRunner()

BASE = """
[run]
county = "永顺县"
reference_date = "{ref}"
{run_extra}

[roster]
path = "监测对象信息.xlsx"

[[extracts]]
sector = "{sector}"
path = "医保_参保登记.csv"
{extract_extra}

[rules]
{rules}
"""


def write_county(folder: Path, *, ref: str = "2026-11-30", run_extra: str = "", sector: str = "medical_enrollment",
                 extract_extra: str = "", rules: str = "income_line = 6900") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "监测对象信息.xlsx").write_bytes(b"not a workbook")  # reading it would fail loudly
    (folder / "医保_参保登记.csv").write_bytes("姓名,公民身份号码,参保状态\n张伟,433127199001011238,参保缴费\n".encode("gbk"))
    config = folder / "fanpin.toml"
    config.write_text(
        BASE.format(ref=ref, run_extra=run_extra, sector=sector, extract_extra=extract_extra, rules=rules),
        encoding="utf-8",
    )
    return config


BAD_CONFIGS = [
    # (id, keyword arguments of write_county, words the one-line message must hold)
    ("income_line_nan", {"rules": "income_line = nan"}, ["income_line", "有限的数字"]),
    ("income_line_inf", {"rules": "income_line = inf"}, ["income_line", "有限的数字"]),
    ("income_line_minus_inf", {"rules": "income_line = -inf"}, ["income_line", "有限的数字"]),
    ("income_line_negative", {"rules": "income_line = -6000"}, ["income_line", "不小于 0"]),
    ("income_line_text", {"rules": 'income_line = "6000元"'}, ["income_line", "数字"]),
    ("oop_line_per_rule_nan", {"rules": "[rules.MED_HIGH_OOP]\noop_line = nan"}, ["oop_line", "有限的数字"]),
    ("oop_window_zero", {"rules": "oop_window_days = 0"}, ["oop_window_days", "不小于 1"]),
    ("oop_window_negative", {"rules": "oop_window_days = -30"}, ["oop_window_days", "不小于 1"]),
    ("oop_window_fraction", {"rules": "oop_window_days = 36.5"}, ["oop_window_days", "整数"]),
    ("temp_aid_window_zero", {"rules": "temp_aid_window_days = 0"}, ["temp_aid_window_days", "不小于 1"]),
    ("min_members_zero", {"rules": "min_members = 0"}, ["min_members", "不小于 2"]),
    ("min_members_one", {"rules": "min_members = 1"}, ["min_members", "不小于 2"]),
    ("school_age_absurd", {"rules": "school_age_max = 200"}, ["school_age_max", "不大于 30"]),
    ("unknown_parameter", {"rules": "income_lne = 6900"}, ["income_lne", "不属于任何规则"]),
    ("unknown_rule_table", {"rules": "[rules.MED_UNINSURD]\nenabled = false"}, ["MED_UNINSURD"]),
    ("enabled_not_bool", {"rules": '[rules.MED_UNINSURED]\nenabled = "否"'}, ["enabled", "true 或 false"]),
    ("reference_1900", {"ref": "1900-01-01"}, ["reference_date", "1900-01-01", "合理范围"]),
    ("reference_9999", {"ref": "9999-12-31"}, ["reference_date", "9999-12-31", "合理范围"]),
    ("reference_not_a_date", {"ref": "2026-02-30"}, ["reference_date", "YYYY-MM-DD"]),
    ("period_month_13", {"run_extra": 'period = "2026-13"'}, ["period", "YYYY-MM"]),
    ("period_words", {"run_extra": 'period = "十一月"'}, ["period", "YYYY-MM"]),
    ("sector_unknown", {"sector": "税务"}, ["sector", "税务", "civil_affairs（民政）"]),
    ("sector_ambiguous", {"sector": "医保"}, ["sector", "医保", "medical_enrollment（医保参保）"]),
    ("columns_unknown_field", {"extract_extra": 'columns = { "公民身份号码" = "idnumber" }'},
     ["idnumber", "医保参保登记", "id_number 证件号码", "enroll_status 参保状态"]),
    ("columns_roster_field_in_extract", {"extract_extra": 'columns = { "家庭人数" = "household_size" }'},
     ["household_size", "不是医保参保登记的字段名"]),
    ("header_row_zero", {"extract_extra": "header_row = 0"}, ["header_row", "从 1 开始"]),
]


@pytest.mark.parametrize(("kwargs", "words"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_refused_before_any_file_is_read(kwargs: dict, words: list[str], tmp_path: Path) -> None:
    config = write_county(tmp_path / "county", **kwargs)
    with pytest.raises(ConfigError) as err:
        load_config(config)
    message = str(err.value)
    assert "\n" not in message and "fanpin.toml" in message
    for word in words:
        assert word in message, (word, message)
    out = tmp_path / "out"
    result = runner.invoke(app, ["run", str(config), "--out", str(out)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "监测对象信息.xlsx：" not in result.output  # no file was read
    assert not out.exists()


@pytest.mark.parametrize(
    ("written", "sector"),
    [("医保参保", "medical_enrollment"), ("医保参保登记", "medical_enrollment"), ("medical_enrollment", "medical_enrollment"),
     ("医保结算", "medical_claims"), ("民政", "civil_affairs"), ("教育", "education"), ("住建", "housing"),
     ("公安", "police"), ("残联", "disability"), (" 民 政 ", "civil_affairs")],
)
def test_sector_by_chinese_name(written: str, sector: str, tmp_path: Path) -> None:
    config = load_config(write_county(tmp_path, sector=written))
    assert config.extracts[0].sector == sector


def test_a_good_config_still_loads(tmp_path: Path) -> None:
    config = load_config(write_county(tmp_path, rules="income_line = 7300\n[rules.MED_HIGH_OOP]\noop_line = 20000",
                                      extract_extra='columns = { "公民身份号码" = "id_number" }'))
    assert config.rules["income_line"] == 7300 and config.extracts[0].columns == {"公民身份号码": "id_number"}


@pytest.mark.parametrize(
    ("content", "words"),
    [("", "空"), ("\n# 只有注释\n", "空"), ("---\n---\n", "空")],
    ids=["empty", "comments_only", "empty_documents"],
)
def test_empty_rule_file_is_rejected_not_dropped(content: str, words: str, tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "EMPTY.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(RuleFileError) as err:
        load_rules(folder)
    assert "EMPTY.yaml" in str(err.value) and words in str(err.value)


@pytest.mark.parametrize(
    ("param", "default", "words"),
    [("income_line", ".nan", "有限的数字"), ("income_line", ".inf", "有限的数字"), ("income_line", "-1", "不小于 0"),
     ("days", "0", "不小于 1")],
)
def test_rule_file_defaults_are_checked_too(param: str, default: str, words: str, tmp_path: Path) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "X.yaml").write_text(
        f"""id: X_RULE
title: 测试
level: red
scope: person
kind: linked_match
sector: civil_affairs
parameters:
  {param}: {{default: {default}, type: {"integer" if param == "days" else "number"}}}
{"window: {date: aid_date, days: $days}" if param == "days" else ""}
detail: "x"
""",
        encoding="utf-8",
    )
    with pytest.raises(RuleFileError) as err:
        load_rules(folder)
    assert "X_RULE" in str(err.value) and words in str(err.value)


@pytest.mark.parametrize("row", ["-5", "0"])
def test_validate_header_row_must_be_positive(row: str, tmp_path: Path) -> None:
    path = tmp_path / "公安.csv"
    path.write_text("姓名,身份证号,注销原因\n张伟,433127199001011238,死亡\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path), "--sector", "公安", "--header-row", row])
    assert result.exit_code == 2
    assert "--header-row" in result.output and "从 1 开始" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("when", ["1900-01-01", "9999-12-31"])
def test_validate_reference_date_in_range(when: str, tmp_path: Path) -> None:
    path = tmp_path / "公安.csv"
    path.write_text("姓名,身份证号,注销原因\n张伟,433127199001011238,死亡\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(path), "--sector", "police", "--reference-date", when])
    assert result.exit_code == 1 and "--reference-date" in result.output and "合理范围" in result.output


@pytest.mark.parametrize("name", ["links.csv", "report.xlsx", "summary.json", "医保_参保登记.csv"])
def test_input_inside_the_output_folder_is_refused(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "county"
    config = write_county(folder)
    out = folder / "结果"  # last month's output folder, where a clerk saved this month's extract
    out.mkdir()
    data = out / name
    data.write_bytes((folder / "医保_参保登记.csv").read_bytes())
    text = config.read_text(encoding="utf-8").replace('path = "医保_参保登记.csv"', f'path = "结果/{name}"')
    config.write_text(text, encoding="utf-8")
    before = hashlib.sha256(data.read_bytes()).hexdigest()
    result = runner.invoke(app, ["run", str(config), "--out", str(out)])
    assert result.exit_code == 1
    assert name in result.output and "输出文件夹" in result.output and "--out" in result.output
    assert hashlib.sha256(data.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in out.iterdir()) == [name]  # nothing written beside it


def test_output_folder_holding_the_data_folder_is_refused(tmp_path: Path) -> None:
    config = write_county(tmp_path / "county")
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path)])
    assert result.exit_code == 1 and "输出文件夹" in result.output


def test_validate_columns_lists_each_heading(tmp_path: Path) -> None:
    path = tmp_path / "监测对象.csv"
    headings = ["序号", "乡", "行政村", "户编号", "姓名", "证件号码（必填）", "户类型", "监测对象类别", "人数"]
    row = ["1", "灵溪镇", "司城村", "4331270101001", "张伟", "433127199001011238", "一般农户", "", "1"]
    path.write_bytes(("永顺县监测对象信息\n" + ",".join(headings) + "\n" + ",".join(row) + "\n").encode("gbk"))
    result = runner.invoke(app, ["validate", str(path), "--sector", "花名册", "--columns"])
    assert result.exit_code == 0, result.output
    out = result.output
    for heading, field in [("乡", "township"), ("证件号码（必填）", "id_number"), ("户类型", "household_type"),
                           ("监测对象类别", "object_type"), ("人数", "household_size")]:
        line = next(line for line in out.splitlines() if f" {heading} " in line)
        assert field in line, line
    assert "（未识别）" in next(line for line in out.splitlines() if " 序号 " in line)
    assert "缺少的列" in out and "relation（与户主关系）" in out
