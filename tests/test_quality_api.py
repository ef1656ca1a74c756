"""Issue frame layout, stock-take, scorecards and the summary."""

from __future__ import annotations

import polars as pl
from test_quality_checks import DAUGHTER, HEAD, REF, SON, SPOUSE, evidence, roster

from fanpin_cli.quality import (
    CHECK_INDEX,
    CHECKS,
    DIMENSIONS,
    ISSUE_COLUMNS,
    SEVERITIES,
    check_file,
    quality_summary,
    scorecard,
    stocktake,
)
from fanpin_cli.quality.scorecard import attach_places, row_places, village_rows


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
    # only the lists asked for are made; the counts stay the same
    fewer, some = stocktake(ros, {"medical_enrollment": enr}, lists=("roster_only", "mismatch"))
    assert fewer.equals(counts) and some["sector_only"].is_empty() and some["matched"].is_empty()
    assert some["mismatch"].equals(lists["mismatch"]) and some["roster_only"].equals(lists["roster_only"])


def test_stocktake_of_a_file_without_link_states_counts_every_row_as_sector_only():
    """A frame that has roster rows but no match_status (never linked): every row is 实有账无 and
    unlinked, each counted once (the state is a constant there, spread over every row)."""
    ros = roster()
    enr = evidence("medical_enrollment", [3, 4, None], ["linked", "linked", "unlinked"], name=["甲", "乙", "丙"],
                   id_number=[HEAD, SPOUSE, "433127199001011234"]).drop("match_status")
    row = stocktake(ros, {"medical_enrollment": enr})[0].row(0, named=True)
    assert (row["extract_rows"], row["unlinked_rows"], row["sector_only_rows"], row["review_rows"]) == (3, 3, 3, 0)
    assert row["linked_rows"] == 0 and row["matched_persons"] == 0


def test_scorecard_grades_and_extract_attribution():
    ros = roster(id_number={1: "  "})  # one error row out of four roster rows
    issues = check_file(ros, "roster", headings={}, reference_date=REF)
    card = scorecard(issues, row_places(ros))
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
    places = row_places(ros, {"police": ev})
    placed = attach_places(ev_issue, places)
    assert placed["village"].to_list() == ["司城村"]
    card = scorecard(pl.concat([issues.select(ev_issue.columns), placed]), places)
    village = card.filter(pl.col("level") == "村").row(0, named=True)
    assert (village["rows"], village["error_rows"]) == (6, 2)


def test_scorecard_counts_every_row_once_per_village():
    """The per-village counts (grouped on codes, issues placed by their rows only) against a
    plain count of every row: rows without a place, rows with several issues, issues on rows
    that no frame holds and file-level issues (no row) are all where they belong."""
    import random

    rng = random.Random(7)
    towns = {"灵溪镇": ["司城村", "新村"], "石堤镇": ["石堤村"], None: [None]}
    place_rows = []
    for file in ("roster.xlsx", "police.csv"):
        for row in range(2, 60):
            town = rng.choice(list(towns))
            place_rows.append((file, row, town, rng.choice(towns[town]) if town else None))
    places = pl.DataFrame(place_rows, schema=["source_file", "source_row", "township", "village"], orient="row")
    dims = ["规范性", "完整性", "准确性", "一致性", "时效性"]
    issue_rows = [(rng.choice(["roster.xlsx", "police.csv"]), rng.randrange(2, 70), rng.choice(SEVERITIES),
                   rng.choice(dims)) for _ in range(150)] + [("police.csv", None, "error", "规范性")]
    issues = pl.DataFrame(issue_rows, schema=["source_file", "source_row", "severity", "dimension"], orient="row")
    card = scorecard(issues, places)

    def expected(town: str | None, village: str | None) -> tuple[int, int, int, float]:
        def here(r: tuple) -> bool:
            t, v = r[2] or "（未关联）", r[3] or "（未关联）"
            return (town is None or t == town) and (village is None or v == village)

        rows = {(r[0], r[1]) for r in place_rows if here(r)}
        mine = [i for i in issue_rows if (i[0], i[1]) in rows]
        errors = {(i[0], i[1]) for i in mine if i[2] == "error"}
        timely = {(i[0], i[1]) for i in mine if i[3] == "时效性"}
        return len(rows), len(errors), len(mine), len(timely) / len(rows)

    got = {(r["level"], r["township"], r["village"]): (r["rows"], r["error_rows"], r["issues"], r["rate_时效性"])
           for r in card.iter_rows(named=True)}
    want = {("全县", "全县", "（合计）"): expected(None, None)}
    for town, villages in towns.items():
        t = town or "（未关联）"
        want[("乡镇", t, "（合计）")] = expected(t, None)
        for village in villages:
            want[("村", t, village or "（未关联）")] = expected(t, village or "（未关联）")
    assert got == want
    assert sum(v[0] for k, v in got.items() if k[0] == "村") == places.height


def test_rows_per_village_without_every_rows_place():
    """`village_rows` counts frame by frame what grouping every row's place (`row_places`)
    counts, and the scorecard from it and the places of the issue rows only is the same:
    linked rows under their roster person's village (a roster row missing from the roster
    under none), review and unlinked rows under their own 乡镇/村 or none, a sector without
    place columns, null places."""
    import random

    rng = random.Random(11)
    towns = [("灵溪镇", "司城村"), ("灵溪镇", "新村"), ("石堤镇", "石堤村"), ("石堤镇", None), (None, None)]
    n = 80
    places = [rng.choice(towns) for _ in range(n)]
    ros = pl.DataFrame({"source_file": ["roster.xlsx"] * n, "source_row": list(range(3, 3 + n)),
                        "household_id": [f"H{i // 3}" for i in range(n)],
                        "township": [p[0] for p in places], "village": [p[1] for p in places]})

    def sector(file: str, rows: int, own_places: bool) -> pl.DataFrame:
        status = [rng.choice(["linked", "linked", "review", "unlinked", None]) for _ in range(rows)]
        frame = pl.DataFrame({
            "source_file": [file] * rows, "source_row": list(range(2, 2 + rows)),
            "roster_row": [rng.choice([None, 1000, *range(3, 3 + n)]) for _ in range(rows)],
            "match_status": status,
        }, schema_overrides={"roster_row": pl.Int64, "match_status": pl.String})
        if own_places:
            own = [rng.choice(towns) for _ in range(rows)]
            frame = frame.with_columns(pl.Series("township", [p[0] for p in own]),
                                       pl.Series("village", [p[1] for p in own]))
        return frame

    evidence_ = {"civil_affairs": sector("民政.csv", 150, True), "police": sector("公安.csv", 90, False)}
    every = row_places(ros, evidence_)
    filled = [pl.col(c).fill_null("（未关联）") for c in ("township", "village")]
    want = every.select(filled).group_by("township", "village").len("rows")
    got = village_rows(ros, evidence_)
    assert got.sort("township", "village").equals(want.sort("township", "village"))
    assert got["rows"].sum() == ros.height + 150 + 90
    dims = ["规范性", "完整性", "准确性", "一致性", "时效性"]
    issues = pl.DataFrame([(rng.choice(["roster.xlsx", "民政.csv", "公安.csv"]), rng.randrange(2, 160),
                            rng.choice(SEVERITIES), rng.choice(dims)) for _ in range(120)],
                          schema=["source_file", "source_row", "severity", "dimension"], orient="row")
    some = row_places(ros, evidence_, rows=issues)
    assert some.height < every.height
    assert some.equals(every.join(issues.select("source_file", "source_row"), on=["source_file", "source_row"],
                                  how="semi", maintain_order="left"))
    assert scorecard(issues, some, got).equals(scorecard(issues, every))


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

