"""Every quality check: a row that must fail and a near-miss that must pass (table-driven).

Frames are built from raw strings as clerks write them and go through `prepare.prepare`, so
the checks see full-width digits, Excel damage and traditional characters as in real files.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from make_ids import make_id

from fanpin_cli.prepare import prepare
from fanpin_cli.quality import CHECKS, NATIONAL_CHECKS, check_cross, check_file

REF = date(2026, 11, 30)



HEAD = make_id("19700101", "011")      # male
SPOUSE = make_id("19720202", "022")    # female
SON = make_id("20000303", "033")       # male, 26
DAUGHTER = make_id("20120404", "044")  # female, 14

ROSTER = {
    "township": ["灵溪镇"] * 4, "village": ["司城村"] * 4, "household_id": ["4331270100100001"] * 4,
    "name": ["张大山", "李秀英", "張小明", "张小红"], "id_number": [HEAD, SPOUSE, SON, DAUGHTER],
    "sex": ["男", "女", "男", "女"], "relation": ["户主", "配偶", "之子", "之女"],
    "household_size": ["4", "4", "4", "4"], "object_type": ["脱贫户"] * 4,
    "risk_eliminated": [None] * 4, "labor_skill": ["普通劳动力", "普通劳动力", "技能劳动力", "无劳动力"],
    "health": ["健康", "长期慢性病", "健康", "健康"], "school_status": ["非在校生", "非在校生", "非在校生", "七年级"],
    "insured": ["是"] * 4, "income_per_capita": ["13500.5"] * 4,
}


def roster(**changes) -> pl.DataFrame:
    """The clean 4-person household with `field=[values]` or `field={row_index: value}` changes."""
    data = {k: list(v) for k, v in ROSTER.items()}
    for field, value in changes.items():
        if isinstance(value, dict):
            for i, v in value.items():
                data[field][i] = v
        else:
            data[field] = value
    n = len(data["name"])
    frame = pl.DataFrame({"source_file": ["roster.xlsx"] * n, "source_row": list(range(3, 3 + n)), **data},
                         schema_overrides={k: pl.String for k in data})
    return prepare(frame, REF)


def rows_with(issues: pl.DataFrame, check_id: str) -> list[int]:
    return sorted(issues.filter(pl.col("check_id") == check_id)["source_row"].to_list())


def run_roster(frame: pl.DataFrame) -> pl.DataFrame:
    return check_file(frame, "roster", headings={"id_number": "证件号码"}, reference_date=REF)


def test_clean_household_has_no_issue():
    issues = run_roster(roster())
    assert issues.is_empty(), issues.select("check_id", "message").rows()


# (check_id, failing change, row that must be reported, near-miss change)
ROSTER_CASES = [
    ("ID_MISSING", {"id_number": {1: "  "}}, 4, {"id_number": {1: "'" + SPOUSE}}),
    ("ID_BAD_FORMAT", {"id_number": {1: SPOUSE[:17]}}, 4, {"id_number": {1: SPOUSE[:6] + " " + SPOUSE[6:]}}),
    ("ID_INVALID_CHECKSUM", {"id_number": {1: SPOUSE[:12] + str((int(SPOUSE[12]) + 1) % 10) + SPOUSE[13:]}}, 4,
     {"id_number": {1: " " + SPOUSE[:10] + SPOUSE[10:].translate(str.maketrans("0123456789", "０１２３４５６７８９"))}}),
    ("ID_BAD_BIRTHDATE", {"id_number": {1: make_id("19721302", "022")}}, 4, {"id_number": {1: make_id("19721202", "022")}}),
    ("ID_UNKNOWN_REGION", {"id_number": {1: make_id("19720202", "022", "439999")}}, 4,
     {"id_number": {1: make_id("19720202", "022", "430321")}}),
    ("ID_EXCEL_MANGLED", {"id_number": {1: "4.33127E+17"}}, 4, {"id_number": {1: SPOUSE.lower()}}),
    ("ID_LEGACY_15", {"id_number": {0: HEAD[:6] + HEAD[8:17]}}, 3, {"id_number": {0: HEAD}}),
    ("ID_PLACEHOLDER", {"id_number": {1: "9" * 18}}, 4, {"id_number": {1: SPOUSE}}),
    ("NAME_MISSING", {"name": {2: "\u3000"}}, 5, {"name": {2: "張 小明"}}),
    ("NAME_BAD_FORMAT", {"name": {2: "张小明2"}}, 5, {"name": {2: "阿依古丽•买买提"}}),
    ("SEX_ID_CONFLICT", {"sex": {1: "男"}}, 4, {"sex": {1: "女"}}),
    ("REL_SEX_CONFLICT", {"relation": {2: "之女"}}, 5, {"relation": {2: "之子"}}),
    ("AGE_LABOR_CONFLICT", {"labor_skill": {3: "弱劳动力或半劳动力"}}, 6, {"labor_skill": {2: "弱劳动力或半劳动力"}}),
    ("HH_MULTI_HEAD", {"relation": {1: "户主"}}, 3, {"relation": {1: "配偶"}}),
    ("HH_SIZE_MISMATCH", {"household_size": ["5"] * 4}, 3, {"household_size": ["4人"] * 4}),
    ("HH_SIZE_INVALID", {"household_size": {0: "四"}}, 3, {"household_size": {0: "４"}}),
    ("REQUIRED_MISSING", {"village": {1: None}}, 4, {"object_type": {1: None}}),
    ("VALUE_NOT_ALLOWED", {"labor_skill": {0: "劳动力"}}, 3, {"labor_skill": {0: "技能劳动力"}}),
    ("AMOUNT_INVALID", {"income_per_capita": ["-100"] * 4}, 3, {"income_per_capita": ["13,500.50元"] * 4}),
    ("HH_HEAD_SPOUSE_SAME_SEX", {"id_number": {1: make_id("19720202", "021")}, "sex": {1: "男"}}, 4,
     {"id_number": {1: make_id("19720202", "020")}}),
    ("SPOUSE_UNDERAGE", {"id_number": {1: make_id("20070202", "022")}}, 4, {"id_number": {1: make_id("20060202", "022")}}),
    ("HEAD_UNDERAGE", {"id_number": {0: make_id("20110101", "011")}}, 3, {"id_number": {0: make_id("20100101", "011")}}),
    ("REL_AGE_CONFLICT", {"id_number": {2: make_id("19690303", "033")}}, 5, {"id_number": {2: make_id("19710303", "033")}}),
    ("SCHOOL_AGE_NOT_IN_SCHOOL", {"school_status": {3: None}}, 6, {"school_status": {2: None}}),
    ("INCOME_OUTLIER", {"income_per_capita": ["0"] * 4}, 3, {"income_per_capita": ["3200"] * 4}),
    ("HH_PLACE_MIXED", {"village": {3: "新建村"}}, 6, {"township": ["灵溪镇"] * 4}),
    ("HH_ATTR_MIXED", {"object_type": {3: "边缘易致贫户"}}, 6, {"object_type": ["边缘易致贫户"] * 4}),
    ("HH_ID_FORMAT", {"household_id": ["4.33127E+15"] * 4}, 3, {"household_id": ["4331270100100001"] * 4}),
    ("RISK_ELIM_NO_LABOR", {"labor_skill": ["无劳动力", "丧失劳动力", "丧失劳动力", "无劳动力"],
                            "risk_eliminated": ["是"] * 4, "object_type": ["边缘易致贫户"] * 4}, 3,
     {"labor_skill": ["无劳动力", "丧失劳动力", "弱劳动力或半劳动力", "无劳动力"],
      "risk_eliminated": ["是"] * 4, "object_type": ["边缘易致贫户"] * 4}),
]


@pytest.mark.parametrize("check_id,fail,row,near", ROSTER_CASES, ids=[c[0] for c in ROSTER_CASES])
def test_roster_check(check_id, fail, row, near):
    bad = run_roster(roster(**fail))
    assert row in rows_with(bad, check_id), bad.select("source_row", "check_id", "message").rows()
    good = run_roster(roster(**near))
    assert rows_with(good, check_id) == [], good.filter(pl.col("check_id") == check_id)["message"].to_list()


def test_all_fullwidth_id_is_valid():
    fw = SPOUSE.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert run_roster(roster(id_number={1: fw})).is_empty()


def test_household_checks_cover_every_member():
    no_head = run_roster(roster(relation={0: "其他"}))
    assert rows_with(no_head, "HH_NO_HEAD") == [3, 4, 5, 6]
    ok = run_roster(roster())
    assert rows_with(ok, "HH_NO_HEAD") == []
    dup = run_roster(roster(id_number={3: SON}, sex={3: "男"}, relation={3: "之子"}))
    assert rows_with(dup, "ID_DUPLICATE") == [5, 6]
    msg = dup.filter(pl.col("check_id") == "ID_DUPLICATE")["message"][0]
    assert "第5、6行" in msg


def test_checksum_message_names_the_right_character_and_no_full_id():
    wrong = SPOUSE[:17] + ("0" if SPOUSE[17] != "0" else "1")
    issues = run_roster(roster(id_number={1: wrong}))
    msg = issues.filter(pl.col("check_id") == "ID_INVALID_CHECKSUM")["message"][0]
    assert f"应为{SPOUSE[17]}" in msg
    for text in issues["message"].to_list():
        assert SPOUSE[:17] not in text and wrong not in text


def extract(sector: str, **cols) -> pl.DataFrame:
    n = len(next(iter(cols.values())))
    frame = pl.DataFrame({"source_file": [f"{sector}.csv"] * n, "source_row": list(range(2, 2 + n)), **cols},
                         schema_overrides={k: pl.String for k in cols})
    return prepare(frame, REF)


def run(frame: pl.DataFrame, sector: str) -> pl.DataFrame:
    return check_file(frame, sector, headings={}, reference_date=REF)


# (sector, check_id, failing columns, near-miss columns); the first row is the one checked.
EXTRACT_CASES = [
    ("medical_claims", "DATE_INVALID",
     {"settle_date": ["2026-02-30"], "out_of_pocket": ["10"]}, {"settle_date": ["2026年2月3日"], "out_of_pocket": ["10"]}),
    ("medical_claims", "DATE_IN_FUTURE",
     {"settle_date": ["2026-12-01"], "out_of_pocket": ["10"]}, {"settle_date": ["2026-11-30"], "out_of_pocket": ["10"]}),
    ("medical_claims", "PAYMENT_EXCEEDS_TOTAL",
     {"settle_date": ["2026-05-01"], "total_cost": ["1000"], "fund_paid": ["600"], "out_of_pocket": ["400.5"]},
     {"settle_date": ["2026-05-01"], "total_cost": ["1000"], "fund_paid": ["600"], "out_of_pocket": ["400"]}),
    ("medical_claims", "REQUIRED_MISSING",
     {"settle_date": ["2026-05-01"], "out_of_pocket": [None]}, {"settle_date": ["2026-05-01"], "out_of_pocket": ["0"]}),
    ("medical_claims", "AMOUNT_INVALID",
     {"settle_date": ["2026-05-01"], "out_of_pocket": ["约300"]}, {"settle_date": ["2026-05-01"], "out_of_pocket": ["¥300"]}),
    ("medical_enrollment", "YEAR_INVALID", {"enroll_status": ["参保缴费"], "enroll_year": ["26"]},
     {"enroll_status": ["参保缴费"], "enroll_year": ["2026年度"]}),
    ("medical_enrollment", "ENROLL_YEAR_STALE", {"enroll_status": ["参保缴费"], "enroll_year": ["2025"]},
     {"enroll_status": ["参保缴费"], "enroll_year": ["2026"]}),
    ("medical_enrollment", "VALUE_NOT_ALLOWED", {"enroll_status": ["在保"]}, {"enroll_status": ["正常参保"]}),
    ("housing", "VALUE_NOT_ALLOWED", {"safety_grade": ["E级"]}, {"safety_grade": ["D级"]}),
    ("housing", "DATE_IN_FUTURE", {"safety_grade": ["C级"], "assess_date": ["2027-01-01"]},
     {"safety_grade": ["C级"], "assess_date": ["2026/1/1"]}),
    ("police", "DATE_INVALID", {"dereg_reason": ["死亡"], "dereg_date": ["去年"]},
     {"dereg_reason": ["死亡"], "dereg_date": ["46000"]}),
    ("police", "REQUIRED_MISSING", {"dereg_reason": [None]}, {"dereg_reason": ["迁出"]}),
    ("civil_affairs", "AMOUNT_INVALID", {"aid_type": ["农村低保"], "monthly_amount": ["-5"]},
     {"aid_type": ["农村低保"], "monthly_amount": ["455.00"]}),
    ("education", "BIRTH_ID_CONFLICT", {"roll_status": ["在读"], "birth_date": ["2012-04-05"]},
     {"roll_status": ["在读"], "birth_date": ["2012/4/4"]}),
    ("education", "VALUE_NOT_ALLOWED", {"roll_status": ["在校"]}, {"roll_status": ["休学"]}),
    ("disability", "DISABILITY_CERT_MISMATCH", {"disability_type": ["肢体残疾"], "disability_grade": ["二级"]},
     {"disability_type": ["肢体残疾"], "disability_grade": ["一级"]}),
]


@pytest.mark.parametrize("sector,check_id,fail,near", EXTRACT_CASES, ids=[f"{c[0]}-{c[1]}" for c in EXTRACT_CASES])
def test_extract_check(sector, check_id, fail, near):
    ident = DAUGHTER + ("41" if sector == "disability" else "")
    base = {"name": ["張小红"], "id_number": [ident]}
    bad = run(extract(sector, **base, **fail), sector)
    assert 2 in rows_with(bad, check_id), bad.select("check_id", "message").rows()
    good = run(extract(sector, **base, **near), sector)
    assert rows_with(good, check_id) == [], good.select("check_id", "message").rows()


def test_enroll_year_stale_only_without_a_row_of_this_year():
    # 张小红 has a 2025 row and a 2026 row (not stale); 张小明 only 2025; the row without an ID is
    # nobody's "this year" and stays stale.
    frame = extract("medical_enrollment", name=["张小红", "张小红", "张小明", "王五"],
                    id_number=[DAUGHTER, DAUGHTER, SON, None], enroll_status=["参保缴费"] * 4,
                    enroll_year=["2025", "2026", "2025年度", "2025"])
    assert rows_with(run(frame, "medical_enrollment"), "ENROLL_YEAR_STALE") == [4, 5]


def test_extract_duplicates_report_the_repeat_only():
    frame = extract("disability", name=["张小红", "張小红", "张小明"], id_number=[DAUGHTER, f" {DAUGHTER}", SON])
    assert rows_with(run(frame, "disability"), "EXTRACT_DUPLICATE") == [3]
    # the roster's ID_DUPLICATE does not apply to extracts
    assert rows_with(run(frame, "disability"), "ID_DUPLICATE") == []


def evidence(sector: str, roster_rows: list[int | None], status: list[str], **cols) -> pl.DataFrame:
    frame = extract(sector, **cols)
    return frame.with_columns(
        pl.Series("roster_row", roster_rows, dtype=pl.Int64),
        pl.Series("match_status", status),
        pl.lit("id_exact").alias("match_method"),
        pl.Series("name_id_conflict", [c == "x" for c in cols.pop("_conflict", [""] * frame.height)])
        if "_conflict" in cols else pl.lit(False).alias("name_id_conflict"),
    )


def cross(ev: dict[str, pl.DataFrame], **changes) -> pl.DataFrame:
    return check_cross(roster(**changes), ev, reference_date=REF)


def test_insured_conflict():
    enrolled = {"name": ["张大山", "李秀英", "张小明", "张小红"], "id_number": [HEAD, SPOUSE, SON, DAUGHTER]}
    ev = evidence("medical_enrollment", [3, 4, 5, None], ["linked", "linked", "linked", "unlinked"],
                  enroll_status=["参保缴费", "正常参保", "暂停参保", "参保缴费"], **enrolled)
    assert rows_with(cross({"medical_enrollment": ev}), "INSURED_CONFLICT") == [5, 6]
    police = evidence("police", [5], ["linked"], name=["张小明"], id_number=[SON], dereg_reason=["服役"])
    assert rows_with(cross({"medical_enrollment": ev, "police": police}), "INSURED_CONFLICT") == [6]
    # near miss: 否 in the roster is not a conflict (ROSTER_UNINSURED reports it instead)
    assert rows_with(cross({"medical_enrollment": ev}, insured={2: "否", 3: "否"}), "INSURED_CONFLICT") == []


def test_insured_conflict_with_a_pending_review_is_a_warning():
    """Row 6's only active enrollment row is in the review queue: still reported, as a warning
    naming the pending match; row 5 (suspended, linked) stays an error."""
    enrolled = {"name": ["张大山", "李秀英", "张小明", "张小红"], "id_number": [HEAD, SPOUSE, SON, None]}
    ev = evidence("medical_enrollment", [3, 4, 5, 6], ["linked", "linked", "linked", "review"],
                  enroll_status=["参保缴费", "正常参保", "暂停参保", "参保缴费"], **enrolled)
    found = cross({"medical_enrollment": ev}).filter(pl.col("check_id") == "INSURED_CONFLICT").sort("source_row")
    assert found["source_row"].to_list() == [5, 6]
    assert found["severity"].to_list() == ["error", "warning"]
    assert "待核实" in found["message"][1] and "待核实" not in found["message"][0]


def test_insured_conflict_reuses_the_runs_own_med_uninsured_flags():
    """The run's flags of MED_UNINSURED (evaluated as bundled, beside the other rules) give
    the same INSURED_CONFLICT issues as the check's own evaluation, and are what it reads;
    a run that changed the rule (disabled it, or a county rule file of the same id) has no
    flags to lend (None) and the check evaluates the bundled rule itself."""
    from dataclasses import replace

    from fanpin_cli.coverage import Status
    from fanpin_cli.flagging import bundled_flags, bundled_rule, evaluate, load_rules

    enrolled = {"name": ["张大山", "李秀英", "张小明", "张小红"], "id_number": [HEAD, SPOUSE, SON, None]}
    ev = {"medical_enrollment": evidence("medical_enrollment", [3, 4, 5, 6], ["linked", "linked", "linked", "review"],
                                         enroll_status=["参保缴费", "正常参保", "暂停参保", "参保缴费"], **enrolled),
          "police": evidence("police", [3], ["linked"], name=["张大山"], id_number=[HEAD], dereg_reason=["服役"])}
    rules = load_rules()
    flags = evaluate(rules, roster(), ev, reference_date=REF)
    statuses = {r.id: Status() for r in rules}
    lent = bundled_flags(flags, rules, "MED_UNINSURED", overrides={}, statuses=statuses)
    assert lent is not None and set(lent["rule_id"]) == {"MED_UNINSURED"} and lent.height
    own = check_cross(roster(), ev, reference_date=REF)
    reused = check_cross(roster(), ev, reference_date=REF, insurance_flags=lent)
    assert reused.equals(own) and rows_with(own, "INSURED_CONFLICT") == [5, 6]
    # what is lent is what counts: no flags, no conflict
    nothing = check_cross(roster(), ev, reference_date=REF, insurance_flags=lent.clear())
    assert rows_with(nothing, "INSURED_CONFLICT") == []
    # near misses: a run that did not evaluate the bundled rule as it is lends nothing
    off = {"MED_UNINSURED": {"enabled": False}}
    assert bundled_flags(flags, rules, "MED_UNINSURED", overrides=off, statuses=statuses) is None
    county = [replace(bundled_rule("MED_UNINSURED"), where=()) if r.id == "MED_UNINSURED" else r for r in rules]
    assert bundled_flags(flags, county, "MED_UNINSURED", overrides={}, statuses=statuses) is None
    unread = statuses | {"MED_UNINSURED": Status("not_evaluated", "缺少医保参保登记")}
    assert bundled_flags(flags, rules, "MED_UNINSURED", overrides={}, statuses=unread) is None


def test_deceased_and_deregistered_listed():
    police = evidence("police", [3, 4, None], ["linked", "linked", "unlinked"], name=["张大山", "李秀英", "张小红"],
                      id_number=[HEAD, SPOUSE, DAUGHTER], dereg_reason=["死亡", "迁出", "死亡"],
                      dereg_date=["2026-10-01", None, "2026-10-01"])
    issues = cross({"police": police})
    assert rows_with(issues, "DECEASED_LISTED") == [3]
    assert rows_with(issues, "DEREG_LISTED") == [4]
    assert "2026-10-01" in issues.filter(pl.col("check_id") == "DECEASED_LISTED")["message"][0]
    review = police.with_columns(pl.lit("review").alias("match_status"))
    assert rows_with(cross({"police": review}), "DECEASED_LISTED") == []


def test_name_id_conflict_on_extract_row_with_roster_place():
    ev = evidence("civil_affairs", [5, 6], ["linked", "linked"], name=["王五", "張小红"], id_number=[SON, DAUGHTER],
                  aid_type=["农村低保", "农村低保"]).with_columns(pl.Series("name_id_conflict", [True, False]))
    issues = cross({"civil_affairs": ev})
    hit = issues.filter(pl.col("check_id") == "NAME_ID_CONFLICT")
    assert hit["source_row"].to_list() == [2] and hit["source_file"][0] == "civil_affairs.csv"
    assert hit["village"][0] == "司城村" and "張小明" in hit["message"][0]


def test_health_and_school_cross_checks():
    dis = evidence("disability", [4, 3], ["linked", "linked"], name=["李秀英", "张大山"], id_number=[SPOUSE, HEAD])
    issues = cross({"disability": dis}, health={0: "残疾,长期慢性病"})
    assert rows_with(issues, "HEALTH_DISABILITY_CONFLICT") == [4]
    edu = evidence("education", [5, 6], ["linked", "linked"], name=["张小明", "张小红"], id_number=[SON, DAUGHTER],
                   roll_status=["在读", "在读"])
    assert rows_with(cross({"education": edu}), "SCHOOL_STATUS_CONFLICT") == [5]


def test_every_catalogued_check_is_exercised():
    tested = {c[0] for c in ROSTER_CASES} | {c[1] for c in EXTRACT_CASES} | {
        "HH_NO_HEAD", "ID_DUPLICATE", "EXTRACT_DUPLICATE", "INSURED_CONFLICT", "DECEASED_LISTED", "DEREG_LISTED",
        "NAME_ID_CONFLICT", "HEALTH_DISABILITY_CONFLICT", "SCHOOL_STATUS_CONFLICT",
    } | {c.check_id for c in NATIONAL_CHECKS}  # tests/test_quality_national.py, one case each at least
    tested |= {"HEADING_DUPLICATE", "ROW_RAGGED"}  # found while reading: tests/faults/test_readers.py
    tested |= {"CELL_MERGED"}  # found while reading: tests/test_merged.py
    tested |= {"FILLED_DOWN"}  # found while reading: tests/test_filldown.py
    assert {c.check_id for c in CHECKS} - tested == set()


def test_bad_birthdate_beside_a_failed_check_character():
    # The check character is wrong AND the date (13th month) impossible: both are reported; a
    # wrong check character on a possible date is only ID_INVALID_CHECKSUM; a clean ID neither.
    bad_date = make_id("19721302", "022")
    wrong_check = bad_date[:17] + ("0" if bad_date[17] != "0" else "1")
    good_date = make_id("19720202", "022")
    wrong_check_good_date = good_date[:17] + ("0" if good_date[17] != "0" else "1")
    issues = run_roster(roster(id_number={1: wrong_check, 2: wrong_check_good_date}))
    assert rows_with(issues, "ID_INVALID_CHECKSUM") == [4, 5]
    assert rows_with(issues, "ID_BAD_BIRTHDATE") == [4]


def test_extract_duplicates_need_every_key_equal():
    # medical_claims: the same person on the same day with the same amounts is a repeat; a
    # second settlement of the same person with other amounts is not; another person's rows
    # are compared among themselves only.
    frame = extract("medical_claims", name=["张小红", "张小红", "张小红", "张小明", "张小明"],
                    id_number=[DAUGHTER, DAUGHTER, DAUGHTER, SON, SON],
                    settle_date=["2026-05-01", "2026-05-01", "2026-05-01", "2026-05-01", "2026-06-01"],
                    total_cost=["100", "100", "250", "100", "100"], fund_paid=["60", "60", "150", "60", "60"],
                    out_of_pocket=["40", "40", "100", "40", "40"])
    assert rows_with(run(frame, "medical_claims"), "EXTRACT_DUPLICATE") == [3]


def messages_of(issues: pl.DataFrame, check_id: str) -> list[str]:
    return issues.filter(pl.col("check_id") == check_id).sort("source_row")["message"].to_list()


def test_messages_count_the_whole_household_and_file_not_only_the_issue_rows():
    # One member of four writes 家庭人数 5: the message counts the household's 4 records.
    issues = run_roster(roster(household_size={2: "5"}))
    assert messages_of(issues, "HH_SIZE_MISMATCH") == [
        "家庭人数填5人，但本户（户编号4331270100100001）实有4条成员记录，请核对家庭人数或补录/删除成员"]
    # A son born before the head: the message names the head's year (the head is no issue row).
    older_son = make_id("19650303", "033")
    issues = run_roster(roster(id_number={2: older_son}))
    assert messages_of(issues, "REL_AGE_CONFLICT") == [
        "与户主关系为「之子」，但本人1965年出生、户主1970年出生，长幼关系不符，请核对"]
    # Two heads among four: the count is of the household's heads.
    issues = run_roster(roster(relation={1: "户主"}))
    assert messages_of(issues, "HH_MULTI_HEAD") == ["户编号4331270100100001有2名户主，一户只能有一名户主，请核实与户主关系"] * 2


def test_rows_without_an_id_are_no_repeats_of_each_other():
    # Three rows without a usable ID (empty, blank, not an ID) and one person listed twice
    # among others listed once: only that person's second row is a repeat, named by its first.
    others = [make_id("19800101", f"{i:03d}") for i in range(20)]
    ids = [None, "  ", "不详", DAUGHTER, *others, DAUGHTER]
    frame = extract("disability", name=["某某"] * len(ids), id_number=ids)
    issues = run(frame, "disability")
    assert rows_with(issues, "EXTRACT_DUPLICATE") == [len(ids) + 1]
    assert messages_of(issues, "EXTRACT_DUPLICATE") == ["与本表第5行是同一人的重复记录，请删除重复行或核实"]


def test_a_repeat_names_the_first_row_of_its_person():
    frame = extract("disability", name=["张小明", "张小红", "张小红", "张小红"], id_number=[SON, DAUGHTER, DAUGHTER, DAUGHTER])
    issues = run(frame, "disability")
    assert rows_with(issues, "EXTRACT_DUPLICATE") == [4, 5]
    assert messages_of(issues, "EXTRACT_DUPLICATE") == ["与本表第3行是同一人的重复记录，请删除重复行或核实"] * 2


def test_repeats_are_the_same_when_every_id_shares_a_hash(monkeypatch):
    # EXTRACT_DUPLICATE narrows the rows by the IDs' 64-bit hashes before its window: with every
    # ID forced onto one hash (all rows kept), the repeats and the rows they name stay the same.
    from fanpin_cli.quality import extra

    others = [make_id("19800101", f"{i:03d}") for i in range(20)]
    ids = [SON, None, DAUGHTER, *others, DAUGHTER, SON, "不详", DAUGHTER]
    frame = extract("disability", name=["某某"] * len(ids), id_number=ids)
    plain = run(frame, "disability")
    monkeypatch.setattr(extra, "_met_twice", lambda ids: ids.hash().mul(0).is_duplicated())
    collided = run(frame, "disability")
    assert rows_with(collided, "EXTRACT_DUPLICATE") == rows_with(plain, "EXTRACT_DUPLICATE") == [25, 26, 28]
    assert messages_of(collided, "EXTRACT_DUPLICATE") == messages_of(plain, "EXTRACT_DUPLICATE")
