"""A roster whose 户编号 stands on the household head's row only (`fanpin_cli.filldown`): the
members' blank cells filled from it, said per column; the sample county's flags as with every
row filled."""

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
from fanpin_cli.filldown import fill_down
from fanpin_cli.resources import resource_dir

runner = CliRunner()


def roster(ids: list[str | None], relations: list[str | None] | None) -> pl.DataFrame:
    data = {"source_row": list(range(2, 2 + len(ids))), "household_id": ids}
    if relations is not None:
        data["relation"] = relations
    return pl.DataFrame(data, schema_overrides={"household_id": pl.String, "relation": pl.String})


@pytest.mark.parametrize(("ids", "relations", "expected"), [
    pytest.param(["H1", None, None, "H2", None], ["户主", "配偶", "之子", "户主", "之女"],
                 ["H1", "H1", "H1", "H2", "H2"], id="two-households"),
    pytest.param(["H1", None], ["02", "10"], ["H1", "H1"], id="relation-codes"),
    pytest.param(["H1", None, None], ["户主", "户主", "之女"], ["H1", None, None], id="head-without-id-starts-a-blank-household"),
    pytest.param([None, None], ["之子", "之女"], [None, None], id="nothing-above"),
    pytest.param(["H1", None], ["户主", None], ["H1", None], id="relation-unknown-not-filled"),
    pytest.param(["H1", None], None, ["H1", None], id="no-relation-column"),
    pytest.param(["H1", "H2"], ["户主", "之子"], ["H1", "H2"], id="written-ids-kept"),
])
def test_member_rows_take_their_households_id(ids, relations, expected) -> None:
    filled, report = fill_down(roster(ids, relations))
    assert filled["household_id"].to_list() == expected
    changed = sum(a is None and b is not None for a, b in zip(ids, expected, strict=True))
    assert sum(r.cells for r in report) == changed


def _flags(out: Path) -> list[tuple[str, ...]]:
    with open(out / "flags.csv", encoding="utf-8-sig") as fh:
        return sorted((r["rule_id"], r["household_id"], r["person_name"], r["level"]) for r in csv.DictReader(fh))


def test_a_roster_with_ids_on_head_rows_only_flags_as_the_full_roster(tmp_path: Path) -> None:
    """Every household's 户编号 (and 家庭人数, 人均纯收入) left on its 户主's row only: each member
    was a household of its own — 一户多残 lost, false 全户无劳动能力 red flags. Filled, the flags
    are those of the full roster, and what was filled is said."""
    county = tmp_path / "county"
    shutil.copytree(resource_dir("sample_data"), county)
    book = openpyxl.load_workbook(county / "监测对象信息.xlsx")
    sheet = book.active
    header_row, columns = next((c.row, {str(x.value): x.column for x in row if x.value})
                               for row in sheet.iter_rows(max_row=6) for c in row if c.value == "户编号")
    hid, size, income = columns["户编号"], columns["家庭人数"], columns["人均纯收入（元）"]
    relation = columns["与户主关系"]
    blanked, previous = 0, None
    for r in range(header_row + 1, sheet.max_row + 1):
        value = sheet.cell(r, hid).value
        if value is not None and value == previous and sheet.cell(r, relation).value != "户主":
            for c in (hid, size, income):
                sheet.cell(r, c).value = None
            blanked += 1
        previous = value if value is not None else previous
    book.save(county / "监测对象信息.xlsx")
    assert blanked > 100
    outs = {}
    for side, config in (("full", resource_dir("sample_data") / "fanpin.toml"), ("heads", county / "fanpin.toml")):
        out = tmp_path / side
        result = runner.invoke(app, ["run", str(config), "--out", str(out), "--no-history"])
        assert result.exit_code == 0, result.output
        outs[side] = (out, result.output)
    assert _flags(outs["heads"][0]) == _flags(outs["full"][0])
    out, console = outs["heads"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    filled = summary["inputs"][0]["filled_down"]
    assert [(f["column"], f["cells"]) for f in filled] == [("户编号", blanked)]
    assert "「户编号」列有" in console and "已按本户第一行（户主行）的值补齐" in console.replace("\n", "")
    issues = pl.read_csv(out / "quality_issues.csv", infer_schema=False)
    assert issues.filter(pl.col("check_id") == "FILLED_DOWN")["column"].to_list() == ["户编号"]
