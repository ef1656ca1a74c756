"""Amounts whose heading names another unit than 元 (人均纯收入（万元）) or whose cell does (1.2万)
are compared in 元 with the rules' lines, and the conversion is said."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from typer.testing import CliRunner

from fanpin_cli.cli import app
from fanpin_cli.resources import resource_dir
from fanpin_cli.values import parse_amount

runner = CliRunner()


@pytest.mark.parametrize(("text", "yuan"), [
    ("6200", 6200.0), ("6,200.50元", 6200.5), ("0.62万", 6200.0), ("0.62万元", 6200.0), ("１．２万", 12000.0),
    ("￥1.5万", 15000.0), ("万", None), ("无", None),
])
def test_parse_amount_reads_wan(text, yuan):
    assert pl.select(parse_amount(pl.lit(text))).item() == yuan


def _flags(out: Path) -> list[tuple[str, ...]]:
    with open(out / "flags.csv", encoding="utf-8-sig") as fh:
        return sorted((r["rule_id"], r["household_id"], r["person_name"], r["level"]) for r in csv.DictReader(fh))


def test_a_roster_income_in_wan_yuan_flags_as_in_yuan(tmp_path):
    """The sample county's roster with 人均纯收入 written in 万元 (heading and values): the
    income line (6000 元) must not flag every household."""
    county = tmp_path / "county"
    shutil.copytree(resource_dir("sample_data"), county)
    book = openpyxl.load_workbook(county / "监测对象信息.xlsx")
    sheet = book.active
    header_row, col = next((c.row, c.column) for row in sheet.iter_rows(max_row=5) for c in row
                           if c.value == "人均纯收入（元）")
    sheet.cell(header_row, col).value = "人均纯收入（万元）"
    changed = 0
    for r in range(header_row + 1, sheet.max_row + 1):
        cell = sheet.cell(r, col)
        if cell.value not in (None, ""):
            cell.value = f"{float(cell.value) / 10_000:g}"
            changed += 1
    book.save(county / "监测对象信息.xlsx")
    assert changed > 100
    outs = {}
    for name, config in (("yuan", resource_dir("sample_data") / "fanpin.toml"), ("wan", county / "fanpin.toml")):
        out = tmp_path / "out" / name
        result = runner.invoke(app, ["run", str(config), "--out", str(out), "--no-history"])
        assert result.exit_code == 0, result.output
        outs[name] = (out, result.output)
    assert _flags(outs["wan"][0]) == _flags(outs["yuan"][0])
    out, console = outs["wan"]
    assert "「人均纯收入（万元）」列按表头以万元为单位，已换算为元" in console.replace("\n", "")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"][0]["amount_units"] == [
        {"column": "人均纯收入（万元）", "field": "income_per_capita", "unit": "万元", "factor": 10000}]
