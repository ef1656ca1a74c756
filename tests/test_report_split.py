"""The per-area workbooks' data cut once for every area (`split.AreaCuts`) are what cutting
each area alone gives: the same rows in the same order, the same per-rule counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from fanpin_cli.flagging.households import rule_summary
from fanpin_cli.report import ReportData, RuleInfo
from fanpin_cli.report.split import UNKNOWN_TOWNSHIP, UNKNOWN_VILLAGE, AreaCuts, _areas, _placed

# Household H2's members live in two 乡镇 (a roster that moved one member): each 乡镇's
# workbook counts only its own members of a household-level flag.
MEMBERS = pl.DataFrame({
    "household_id": ["H1", "H1", "H2", "H2", "H2", "H3", "H4"],
    "source_row": [2, 3, 4, 5, 6, 7, 8],
    "township": ["灵溪镇", "灵溪镇", "灵溪镇", "首车镇", "首车镇", "首车镇", None],
    "village": ["司城村", "司城村", "司城村", "龙珠村", "龙珠村", "首车村", None],
})
FLAGS = pl.DataFrame({
    "household_id": ["H1", "H2", "H2", "H3", None, "H4", "H1", "H3"],
    "township": ["灵溪镇", "灵溪镇", "首车镇", "首车镇", "首车镇", None, "灵溪镇", "首车镇"],
    "village": ["司城村", "司城村", "龙珠村", "首车村", None, None, "司城村", "首车村"],
    "rule_id": ["MED_UNINSURED", "HOUSE_UNSAFE", "HOUSE_UNSAFE", "MED_UNINSURED", "CIV_CANDIDATE",
                "HOUSE_UNSAFE", "HOUSE_UNSAFE", "MED_UNINSURED"],
    "level": ["red", "yellow", "yellow", "red", "blue", "yellow", "yellow", "red"],
    "roster_row": [2, None, None, 7, None, None, None, 7],
    "title": ["未参保", "危房", "危房", "未参保", "应纳未纳", "危房", "危房", "未参保"],
    "evidence_status": ["confirmed", "confirmed", "confirmed", "pending_review", "confirmed", "confirmed",
                        "confirmed", "confirmed"],
    "person_name": ["张三", None, None, "李四", "王五", None, None, "李四"],
}, schema_overrides={"roster_row": pl.Int64})


def _data() -> ReportData:
    return ReportData(
        county="永顺县", period="2026-11", reference_date=date(2026, 11, 30), version="t",
        rules=[RuleInfo("MED_UNINSURED", "未参保", "red"), RuleInfo("HOUSE_UNSAFE", "危房", "yellow")],
        flags=FLAGS, rule_counts=pl.DataFrame(), area_counts=pl.DataFrame(),
        quality=pl.DataFrame({"source_file": ["a.csv"] * 3, "source_row": [1, 2, 3],
                              "township": ["首车镇", None, "灵溪镇"], "village": ["龙珠村", None, "司城村"]}),
        review=pl.DataFrame({"sector": ["medical"] * 3, "roster_township": [None, "灵溪镇", None],
                             "extract_township": ["首车镇", "首车镇", None],
                             "roster_village": [None, "司城村", None], "extract_village": ["龙珠村", None, None]}),
        scorecard=pl.DataFrame({"level": ["乡镇", "村", "乡镇"], "township": ["灵溪镇", "灵溪镇", "首车镇"],
                                "village": [None, "司城村", None], "rows": [3, 2, 4]}),
        members=MEMBERS,
    )


def _alone(data: ReportData, by: str, area: tuple[str, ...]) -> dict[str, pl.DataFrame | None]:
    """One area cut by itself: every placed frame filtered, its counts summarised alone."""
    keep = pl.col("_t") == area[0]
    if by == "village":
        keep = keep & (pl.col("_v") == area[1])
    placed = _placed(data)
    out = {n: None if f is None else f.filter(keep).drop("_t", "_v") for n, f in placed.items()}
    out["rule_counts"] = rule_summary(out["flags"], out["members"])
    score = data.scorecard.filter(pl.col("township") == area[0])
    if by == "village":
        score = score.filter(pl.col("village") == area[1])
    out["scorecard"] = score
    return out


@pytest.mark.parametrize("by", ["township", "village"])
def test_areas_cut_once_are_each_area_cut_alone(by: str) -> None:
    data = _data()
    areas = _areas(data, by)
    assert (UNKNOWN_TOWNSHIP,) * (by == "township") + (UNKNOWN_TOWNSHIP, UNKNOWN_VILLAGE) * (by == "village") in areas
    cuts = AreaCuts(data, by)
    for area in areas:
        got, want = cuts.subset(area), _alone(data, by, area)
        for name in ("flags", "quality", "review", "members", "scorecard"):
            assert_frame_equal(getattr(got, name), want[name])
        assert_frame_equal(got.rule_counts, want["rule_counts"])  # the order the 汇总 sheet shows too
        assert got.split == "none" and got.stocktake is None


def test_household_flag_counts_only_the_areas_own_members() -> None:
    counts = {a: AreaCuts(_data(), "township").subset(a).rule_counts for a in _areas(_data(), "township")}
    house = {a[0]: c.filter(pl.col("rule_id") == "HOUSE_UNSAFE").select("households", "persons").row(0)
             for a, c in counts.items() if "HOUSE_UNSAFE" in c["rule_id"].to_list()}
    # 灵溪镇: H1 (2 members) and H2's one member there; 首车镇: H2's two members there;
    # 乡镇不详: H4, whose one member names no 乡镇 either
    assert house == {"灵溪镇": (2, 3), "首车镇": (1, 2), UNKNOWN_TOWNSHIP: (1, 1)}
    # the pending MED_UNINSURED flag of H3 is counted apart
    med = counts[("首车镇",)].filter(pl.col("rule_id") == "MED_UNINSURED").row(0, named=True)
    assert (med["households"], med["persons"], med["pending_households"], med["pending_persons"]) == (1, 1, 1, 1)


def test_area_without_members_or_scorecard() -> None:
    data = replace(_data(), members=None, scorecard=None)
    got = AreaCuts(data, "township").subset(("灵溪镇",))
    assert got.rule_counts.is_empty() and got.scorecard is None
    assert got.flags["household_id"].to_list() == ["H1", "H2", "H1"]
