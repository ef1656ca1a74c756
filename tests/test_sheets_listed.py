"""One workbook listed once per sheet (各乡镇分表, 每月一个工作表): `config.distinct_labels`
and a whole run on the sample county whose education workbook is split over two sheets."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.config import InputSpec, distinct_labels, load_config
from fanpin_cli.errors import ConfigError
from fanpin_cli.resources import resource_dir

runner = CliRunner()
ROSTER = InputSpec("roster", Path("/c/监测对象信息.xlsx"), "监测对象信息.xlsx")


def _spec(sheet: str | int | None, sector: str = "education", path: str = "教育.xlsx", written: str = "教育.xlsx") -> InputSpec:
    return InputSpec(sector, Path("/c") / path, written, sheet=sheet)


@pytest.mark.parametrize(("extracts", "labels"), [
    ([_spec("城关镇"), _spec("石堤镇")], ["教育.xlsx「城关镇」", "教育.xlsx「石堤镇」"]),
    ([_spec(1), _spec(2)], ["教育.xlsx「1」", "教育.xlsx「2」"]),
    ([_spec(None), _spec("石堤镇")], ["教育.xlsx", "教育.xlsx「石堤镇」"]),
    ([_spec(None), _spec(None, "police")], ["教育.xlsx（教育学籍资助）", "教育.xlsx（公安户籍注销）"]),
    ([_spec("A"), _spec("A", "police"), _spec("B")], ["教育.xlsx「A」（教育学籍资助）", "教育.xlsx「A」（公安户籍注销）", "教育.xlsx「B」"]),
    # two folders' files of one name are named by their paths as written: already apart
    ([_spec(None, path="甲/教育.xlsx", written="甲/教育.xlsx"), _spec(None, path="乙/教育.xlsx", written="乙/教育.xlsx")],
     ["甲/教育.xlsx", "乙/教育.xlsx"]),
])
def test_labels_written_twice_get_what_tells_them_apart(extracts: list[InputSpec], labels: list[str]) -> None:
    got = distinct_labels([ROSTER, *extracts], "fanpin.toml")
    assert [s.source_file for s in got] == ["监测对象信息.xlsx", *labels]
    assert [(s.path, s.sheet, s.sector) for s in got[1:]] == [(s.path, s.sheet, s.sector) for s in extracts]


@pytest.mark.parametrize("second", [_spec("城关镇"), _spec("城关镇", written="./教育.xlsx")])
def test_the_same_sheet_listed_twice_for_one_sector_is_refused(second: InputSpec) -> None:
    """Its persons would be counted twice (written the same or another way: the resolved path decides)."""
    with pytest.raises(ConfigError) as err:
        distinct_labels([ROSTER, _spec(None, "police"), _spec("城关镇"), second], "fanpin.toml")
    assert "第2个 [[extracts]] 和第3个 [[extracts]]" in str(err.value) and "算两次" in str(err.value)


def _flag_rows(out: Path) -> list[tuple[str, ...]]:
    with open(out / "flags.csv", encoding="utf-8-sig") as fh:
        return sorted((r["rule_id"], r["household_id"], r["person_name"], r["level"]) for r in csv.DictReader(fh))


def _issue_count(out: Path) -> int:
    with open(out / "quality_issues.csv", encoding="utf-8-sig") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def test_a_workbook_split_over_two_sheets_and_listed_twice_flags_as_one_sheet(tmp_path: Path) -> None:
    """The sample county's 教育 workbook split into 城关镇 and 石堤镇 sheets, each listed with its
    `sheet =`: the same flags and issues as the one-sheet county. Both sheets' rows are numbered
    from the same sheet row, so (file, row) named two rows: each flag of the file's rows was joined
    to both sheets' rows — listed twice or four times."""
    county = tmp_path / "county"
    shutil.copytree(resource_dir("sample_data"), county)
    name = "教育_学籍资助.xlsx"
    book = openpyxl.load_workbook(county / name)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if any(isinstance(c, str) and "姓名" in c for c in r))
    data = rows[header + 1:]
    half = len(data) // 2
    split = openpyxl.Workbook()
    for k, (title, part) in enumerate((("城关镇", data[:half]), ("石堤镇", data[half:]))):
        sheet = split.active if k == 0 else split.create_sheet()
        sheet.title = title
        for row in rows[:header + 1] + part:
            sheet.append(row)
    split.save(county / name)
    config = (county / "fanpin.toml").read_text(encoding="utf-8")
    written = f'path = "{name}"\n'
    assert written in config
    config = config.replace(written, f'{written}sheet = "城关镇"\n\n[[extracts]]\nsector = "education"\n'
                                     f'{written}sheet = "石堤镇"\n')
    (county / "fanpin.toml").write_text(config, encoding="utf-8")
    assert [s.source_file for s in load_config(county / "fanpin.toml").extracts if s.sector == "education"] == [
        f"{name}「城关镇」", f"{name}「石堤镇」"]

    outs = {}
    for side, path in (("one", resource_dir("sample_data") / "fanpin.toml"), ("two", county / "fanpin.toml")):
        out = tmp_path / side
        result = runner.invoke(app, ["run", str(path), "--out", str(out), "--no-history"])
        assert result.exit_code == 0, result.output
        outs[side] = out
    assert _flag_rows(outs["two"]) == _flag_rows(outs["one"])
    assert _issue_count(outs["two"]) == _issue_count(outs["one"])
    summary = json.loads((outs["two"] / "summary.json").read_text(encoding="utf-8"))
    sheets = [(i["sheet"], i["rows_read"]) for i in summary["inputs"] if i["sector"] == "education"]
    assert [s for s, _ in sheets] == ["城关镇", "石堤镇"] and sum(n for _, n in sheets) == len(data)
    with open(outs["two"] / "flags.csv", encoding="utf-8-sig") as fh:
        named = {r["source_file"] for r in csv.DictReader(fh) if r["sector"] == "education"}
    assert named - {""} == {f"{name}「城关镇」", f"{name}「石堤镇」"}
