"""Issue frame layout, stock-take, scorecards and the summary."""

from __future__ import annotations

import polars as pl
from test_quality_checks import DAUGHTER, HEAD, REF, SON, SPOUSE, evidence, roster

from fanpin_cli.quality import (
    CHECK_INDEX,
    CHECKS,
    DIMENSIONS,
    ISSUE_COLUMNS,
    check_file,
    quality_summary,
    scorecard,
    stocktake,
)
from fanpin_cli.quality.scorecard import attach_places


def test_issue_frame_columns_and_headings():
    frame = roster(id_number={1: "4.33127E+17"}, village={2: None})
    issues = check_file(frame, "roster", headings={"id_number": "身份证号", "village": "行政村"}, reference_date=REF)
    assert tuple(issues.columns) == ISSUE_COLUMNS
    row = issues.filter(pl.col("check_id") == "ID_EXCEL_MANGLED").row(0, named=True)
    assert row["column"] == "身份证号" and row["field"] == "id_number"
    assert row["dimension"] == "规范性" and row["severity"] == "error"
    assert row["household_id"] == "4331270100100001" and row["township"] == "灵溪镇"
    assert issues.filter(pl.col("check_id") == "REQUIRED_MISSING")["column"].to_list() == ["行政村"]


def test_catalogue_is_complete_and_sourced():
    assert all(c.dimension in DIMENSIONS and c.severity in ("error", "warning", "info") and c.source for c in CHECKS)
    assert len({c.check_id for c in CHECKS}) == len(CHECKS)
    assert sum(not c.contract for c in CHECKS) >= 15
    assert CHECK_INDEX["ID_UNKNOWN_REGION"].severity == "warning"
    assert CHECK_INDEX["ID_LEGACY_15"].severity == "info"


def test_stocktake_counts_and_lists():
    ros = roster()
    enr = evidence("medical_enrollment", [3, 4, None], ["linked", "linked", "unlinked"],
                   name=["张大山", "王秀英", "赵六"], id_number=[HEAD, SPOUSE, "433127199001011234"],
                   enroll_status=["参保缴费"] * 3)
    counts, lists = stocktake(ros, {"medical_enrollment": enr})
    row = counts.row(0, named=True)
    assert row["matched_persons"] == 2 and row["roster_only_persons"] == 2
    assert row["sector_only_rows"] == 1 and row["mismatch_rows"] == 1 and row["roster_only_households"] == 1
    assert sorted(lists["roster_only"]["roster_row"].to_list()) == [5, 6]
    mis = lists["mismatch"].row(0, named=True)
    assert (mis["attribute"], mis["extract_value"], mis["roster_value"]) == ("姓名", "王秀英", "李秀英")
    assert lists["sector_only"]["name"].to_list() == ["赵六"]


def test_scorecard_grades_and_extract_attribution():
    ros = roster(id_number={1: "  "})  # one error row out of four roster rows
    issues = check_file(ros, "roster", headings={}, reference_date=REF)
    card = scorecard(ros, issues)
    village = card.filter(pl.col("level") == "村").row(0, named=True)
    assert (village["rows"], village["error_rows"], village["grade"]) == (4, 1, "中")
    assert village["clean_rate"] == 0.75 and village["issues_完整性"] == 1 and village["rate_完整性"] == 0.25
    assert card["level"].to_list() == ["村", "乡镇", "全县"]
    # extract issues count under the linked person's village
    ev = evidence("police", [5, 6], ["linked", "linked"], name=["张小明", "张小红"], id_number=[SON, DAUGHTER],
                  dereg_reason=["迁出", "死亡"])
    extra = check_file(ev, "police", headings={}, reference_date=REF)
    assert extra.is_empty()
    ev_issue = pl.DataFrame({"source_file": ["police.csv"], "source_row": [2], "severity": ["error"],
                             "dimension": ["规范性"], "household_id": [None], "township": [None], "village": [None]},
                            schema_overrides={"household_id": pl.String, "township": pl.String, "village": pl.String})
    placed = attach_places(ev_issue, ros, {"police": ev})
    assert placed["village"].to_list() == ["司城村"]
    card = scorecard(ros, pl.concat([issues.select(ev_issue.columns), placed]), {"police": ev})
    village = card.filter(pl.col("level") == "村").row(0, named=True)
    assert (village["rows"], village["error_rows"]) == (6, 2)


def test_grade_thresholds():
    from fanpin_cli.quality import grade

    got = pl.select(grade(pl.lit(pl.Series([0.95, 0.949, 0.8, 0.6, 0.59])))).to_series().to_list()
    assert got == ["优", "良", "良", "中", "差"]


def test_quality_summary():
    issues = check_file(roster(id_number={1: "  ", 2: "9" * 18}), "roster", headings={}, reference_date=REF)
    summary = quality_summary(issues)
    assert summary["by_check"]["ID_MISSING"] == {
        "title": "证件号码为空", "dimension": "完整性", "severity": "error", "issues": 1, "households": 1, "persons": 1,
    }
    assert summary["by_dimension"]["完整性"] >= 1 and set(summary["by_dimension"]) == set(DIMENSIONS)
    assert summary["rows_with_errors"] == 2
