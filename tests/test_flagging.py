"""Table-driven edge tests of every flag rule (rules/*.yaml through the engine).

Frames are built from raw strings through `prepare.prepare`, as the pipeline does; each
extract row names the roster row it links to and its match status.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from fanpin_cli.errors import ConfigError
from fanpin_cli.fields import AUXILIARY, aliases
from fanpin_cli.flagging import (
    FLAG_COLUMNS,
    area_summary,
    evaluate,
    household_levels,
    household_summary,
    load_rules,
    rule_summary,
)
from fanpin_cli.idnum import CHECK_CHARS, WEIGHTS
from fanpin_cli.prepare import prepare

R = date(2026, 11, 30)
RULES = {r.id: r for r in load_rules()}


def pid(birth: str, seq: int = 123) -> str:
    """A valid 18-digit ID born on `birth` (YYYYMMDD)."""
    first17 = f"433127{birth}{seq:03d}"
    return first17 + CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


ROSTER_FIELDS = (
    "township", "village", "household_id", "name", "id_number", "relation", "labor_skill",
    "object_type", "risk_eliminated", "income_per_capita",
)


def roster(*people: dict) -> pl.DataFrame:
    """Prepared roster; person i (0-based) is on roster_row i + 2 (header on line 1)."""
    rows = []
    for i, p in enumerate(people):
        row = {
            "township": "城关镇", "village": "东村", "relation": "户主", "labor_skill": "普通劳动力",
            "object_type": "脱贫户", "risk_eliminated": "否", "income_per_capita": "12000",
            "name": f"人{i}", "id_number": pid(p.get("birth", "19800101"), 100 + i),
        }
        row.update({k: v for k, v in p.items() if k != "birth"})
        row.setdefault("household_id", f"H{i}")
        rows.append(row)
    raw = pl.DataFrame(
        {f: [r.get(f) for r in rows] for f in ROSTER_FIELDS}, schema={f: pl.String for f in ROSTER_FIELDS}
    ).with_columns(
        pl.lit("监测对象.xlsx").alias("source_file"),
        (pl.int_range(pl.len()) + 2).cast(pl.Int64).alias("source_row"),
    )
    return prepare(raw, R)


def extract(sector: str, roster_frame: pl.DataFrame, *rows: dict, file: str | None = None) -> pl.DataFrame:
    """Prepared extract rows joined with link columns. Each row dict holds field values and
    `to` (index of the roster person, or None) and `status` (default linked).

    The file has every heading of its sector (empty where a row gives no value). Without rows
    it holds one stranger's row (linked to nobody): a file with data, none of it about the
    roster; a file with no data rows at all leaves its rules not evaluated."""
    rows = rows or ({"to": None, "name": "外县人", "id_number": pid("19750505", 999)},)
    fields = sorted(
        {k for r in rows for k in r if k not in ("to", "status")} | {"name", "id_number"}
        | {f for f in aliases(sector) if f not in AUXILIARY}
    )
    people = roster_frame.select("source_row", "household_id", "name", "id_number").rows()
    data = []
    for r in rows:
        to = r.get("to")
        status = r.get("status", "linked" if to is not None else "unlinked")
        d = {f: r.get(f) for f in fields}
        if to is not None:
            d.setdefault("name", people[to][2])
            d["name"] = d["name"] or people[to][2]
            d["id_number"] = d["id_number"] or people[to][3]
        d["roster_row"] = people[to][0] if to is not None else None
        d["household_id"] = people[to][1] if to is not None and status == "linked" else None
        d["match_status"] = status
        data.append(d)
    schema = {f: pl.String for f in fields} | {"roster_row": pl.Int64, "household_id": pl.String, "match_status": pl.String}
    raw = pl.DataFrame(data, schema=schema).with_columns(
        pl.lit(file or f"{sector}.csv").alias("source_file"),
        (pl.int_range(pl.len()) + 2).cast(pl.Int64).alias("source_row"),
        pl.lit("id_exact").alias("match_method"),
    )
    return prepare(raw, R)


def run(rule_id: str, ros: pl.DataFrame, evidence: dict | None = None, **kw) -> pl.DataFrame:
    flags = evaluate([RULES[rule_id]], ros, evidence or {}, reference_date=R, **kw)
    assert tuple(flags.columns) == FLAG_COLUMNS
    return flags


def flagged_rows(flags: pl.DataFrame) -> list[int]:
    return sorted(flags["roster_row"].to_list())


def confirmed(flags: pl.DataFrame) -> pl.DataFrame:
    """The flags in the red/yellow/blue lists (not those that wait for a review)."""
    return flags.filter(pl.col("evidence_status") == "confirmed")


def pending(flags: pl.DataFrame) -> pl.DataFrame:
    return flags.filter(pl.col("evidence_status") == "pending_review")


# -- MED_UNINSURED ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("enrollment", "police", "flagged"),
    [
        ([{"enroll_status": "参保缴费"}], [], False),
        ([{"enroll_status": "正常参保"}], [], False),
        ([{"enroll_status": " 正常 "}], [], False),  # stripped
        ([{"enroll_status": "已参保"}], [], False),
        ([{"enroll_status": "暂停参保"}], [], True),
        ([{"enroll_status": "终止参保"}], [], True),
        ([], [], True),
        ([], [{"dereg_reason": "死亡"}], False),  # police exemption
        ([], [{"dereg_reason": "服刑", "status": "review"}], True),  # review never exempts
        ([{"enroll_status": "参保缴费", "status": "review"}], [], True),  # review never counts
    ],
)
def test_med_uninsured(enrollment, police, flagged):
    ros = roster({})
    ev = {
        "medical_enrollment": extract("medical_enrollment", ros, *[{"to": 0, **e} for e in enrollment]),
        "police": extract("police", ros, *[{"to": 0, **p} for p in police]),
    }
    flags = run("MED_UNINSURED", ros, ev)
    assert flags.height == int(flagged)
    # A flag that accepting a pending review would clear is listed apart, not confirmed.
    review = any(x.get("status") == "review" for x in enrollment + police)
    assert pending(flags).height == int(flagged and review)
    if flagged:
        row = flags.row(0, named=True)
        assert row["roster_row"] == 2 and row["level"] == "red" and row["household_id"] == "H0"
        assert row["detail"].startswith("医保参保登记无有效参保记录")


def test_med_uninsured_detail_names_evidence():
    ros = roster({}, {})
    enr = extract(
        "medical_enrollment", ros,
        {"to": 0, "enroll_status": "暂停参保"},
        {"to": 1, "enroll_status": "参保缴费", "status": "review"},
        file="医保_参保登记.csv",
    )
    flags = run("MED_UNINSURED", ros, {"medical_enrollment": enr})
    a, b = flags.rows(named=True)
    assert a["source_file"] == "医保_参保登记.csv" and a["source_row"] == 2
    assert "医保_参保登记.csv 第2行，参保状态：暂停参保" in a["detail"]
    assert b["source_row"] is None and "待核实匹配：医保_参保登记.csv 第3行" in b["detail"]


def test_rule_skipped_without_its_sector():
    ros = roster({})
    assert run("MED_UNINSURED", ros, {}).height == 0
    assert run("MED_UNINSURED", ros, {"medical_enrollment": extract("medical_enrollment", ros)}).height == 1


# -- MED_HIGH_OOP -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("claims", "flagged"),
    [
        ([("2026-06-01", "9342")], True),  # exactly at the line
        ([("2026-06-01", "9341.99")], False),
        ([("2026-06-01", "9,342.00元")], True),
        ([("2025-11-30", "5000"), ("2026-01-01", "5000")], False),  # R−365 excluded
        ([("2025-12-01", "5000"), ("2026-01-01", "5000")], True),  # R−364 included
        ([("2026-11-30", "5000"), ("2026-01-01", "5000")], True),  # R included
        ([("2026-12-01", "5000"), ("2026-01-01", "5000")], False),  # after R excluded
        ([("2026/6/1", "4671"), ("20260701", "4671")], True),  # date formats, sum
        ([("2026-06-01", "无"), ("2026-06-01", "9000")], False),
    ],
)
def test_med_high_oop_edges(claims, flagged):
    ros = roster({})
    ev = {"medical_claims": extract("medical_claims", ros, *[{"to": 0, "settle_date": d, "out_of_pocket": a} for d, a in claims])}
    assert run("MED_HIGH_OOP", ros, ev).height == int(flagged)


def test_med_high_oop_review_rows_and_detail():
    ros = roster({}, {})
    ev = {
        "medical_claims": extract(
            "medical_claims", ros,
            {"to": 0, "settle_date": "2026-03-01", "out_of_pocket": "12,480.50"},
            {"to": 1, "settle_date": "2026-03-01", "out_of_pocket": "20000", "status": "review"},
            file="医保_结算.csv",
        )
    }
    both = run("MED_HIGH_OOP", ros, ev)
    flags = both.filter(pl.col("evidence_status") == "confirmed")
    assert flagged_rows(flags) == [2]
    # The review row is never evidence, but accepting it would create a flag: listed apart.
    pending = both.filter(pl.col("evidence_status") == "pending_review")
    assert flagged_rows(pending) == [3] and pending["detail"][0].startswith("【待核实匹配确认后成立】")
    detail = flags["detail"][0]
    assert "累计个人自付 12,480.50 元 ≥ 9,342 元" in detail
    assert "2025-12-01至2026-11-30" in detail and "医保_结算.csv 第2行" in detail
    assert flags["source_file"][0] == "医保_结算.csv" and flags["source_row"][0] == 2


@pytest.mark.parametrize(
    ("overrides", "flagged"),
    [
        (None, True),
        ({"oop_line": 20000}, False),
        ({"MED_HIGH_OOP": {"oop_line": 20000}}, False),
        ({"oop_line": 20000, "MED_HIGH_OOP": {"oop_line": 12480.5}}, True),  # per-rule wins
        ({"MED_HIGH_OOP": {"enabled": False}}, False),
    ],
)
def test_overrides(overrides, flagged):
    ros = roster({})
    ev = {"medical_claims": extract("medical_claims", ros, {"to": 0, "settle_date": "2026-03-01", "out_of_pocket": "12480.50"})}
    assert run("MED_HIGH_OOP", ros, ev, overrides=overrides).height == int(flagged)


@pytest.mark.parametrize("overrides", [{"no_such_line": 1}, {"MED_HIGH_OOP": {"income_line": 1}}, {"NO_RULE": {"x": 1}}, {"oop_line": "高"}])
def test_bad_overrides(overrides):
    with pytest.raises(ConfigError) as err:
        run("MED_HIGH_OOP", roster({}), {}, overrides=overrides)
    name = next(iter(overrides))
    inner = overrides[name]
    assert (name if not isinstance(inner, dict) else next(iter(inner))) in str(err.value) or name in str(err.value)


# -- EDU_DROPOUT --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("birth", "age", "flagged"),
    [
        ("20210601", 5, False),
        ("20201201", 5, False),  # 6th birthday is tomorrow
        ("20201130", 6, True),  # 6th birthday on R
        ("20150101", 11, True),
        ("20101130", 16, True),
        ("20091201", 16, True),  # 17th birthday tomorrow
        ("20091130", 17, False),  # 17 on R
        ("20080101", 18, False),
    ],
)
def test_edu_dropout_ages(birth, age, flagged):
    ros = roster({"birth": birth})
    flags = run("EDU_DROPOUT", ros, {"education": extract("education", ros)})
    assert flags.height == int(flagged)
    if flagged:
        assert flags["detail"][0].startswith(f"{age}周岁（义务教育年龄 6–16 周岁）")


@pytest.mark.parametrize(
    ("rows", "police", "flagged"),
    [
        ([{"roll_status": "在读"}], [], False),
        ([{"roll_status": "休学"}], [], True),
        ([{"roll_status": "辍学"}], [], True),
        ([{"roll_status": "在读", "status": "review"}], [], True),
        ([], [{"dereg_reason": "迁出"}], False),
    ],
)
def test_edu_dropout_evidence(rows, police, flagged):
    ros = roster({"birth": "20150101"})
    ev = {
        "education": extract("education", ros, *[{"to": 0, **r} for r in rows]),
        "police": extract("police", ros, *[{"to": 0, **p} for p in police]),
    }
    assert run("EDU_DROPOUT", ros, ev).height == int(flagged)


def test_edu_dropout_age_from_birth_column_when_id_unusable():
    ros = roster({"id_number": "4.33127E+17"})
    ros = ros.with_columns(pl.lit(date(2015, 1, 1)).alias("birth_any"))
    assert run("EDU_DROPOUT", ros, {"education": extract("education", ros)}).height == 1


def test_edu_school_ages_are_parameters():
    ros = roster({"birth": "20091130"})  # 17
    ev = {"education": extract("education", ros)}
    assert run("EDU_DROPOUT", ros, ev, overrides={"school_age_max": 17}).height == 1


# -- EDU_AID_MISSING ----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("roll", "aid", "status", "flagged"),
    [
        ("在读", None, "linked", True),
        ("在读", "无", "linked", True),
        ("在读", "否", "linked", True),
        ("在读", "营养改善计划", "linked", False),
        ("辍学", None, "linked", False),
        ("在读", None, "review", False),
    ],
)
def test_edu_aid_missing(roll, aid, status, flagged):
    ros = roster({"birth": "20150101"})
    ev = {"education": extract("education", ros, {"to": 0, "roll_status": roll, "aid_program": aid, "status": status})}
    flags = run("EDU_AID_MISSING", ros, ev)
    assert confirmed(flags).height == int(flagged)
    # A review row is never evidence; accepting it would create the flag: pending.
    assert pending(flags).height == int(status == "review" and roll == "在读" and aid is None)
    flags = confirmed(flags)
    if flagged:
        assert flags["level"][0] == "yellow" and "education.csv 第2行" in flags["detail"][0]


# -- HOUSE_UNSAFE -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("grade", "renovation", "flagged"),
    [
        ("C级", "未改造", True),
        ("D级", "改造中", True),
        ("D级", None, True),
        ("ｃ级", "未改造", True),  # full-width, lower case
        ("C级", "已改造", False),
        ("B级", "未改造", False),
        ("A级", None, False),
    ],
)
def test_house_unsafe(grade, renovation, flagged):
    ros = roster({"household_id": "H1"}, {"household_id": "H1", "relation": "之子"})
    ev = {"housing": extract("housing", ros, {"to": 0, "safety_grade": grade, "renovation": renovation})}
    flags = run("HOUSE_UNSAFE", ros, ev)
    assert flags.height == int(flagged)
    if flagged:
        row = flags.row(0, named=True)
        assert row["roster_row"] is None and row["household_id"] == "H1" and row["person_name"] == "人0"


def test_household_rule_one_row_per_household():
    ros = roster({"household_id": "H1"}, {"household_id": "H1", "relation": "之子"})
    ev = {"housing": extract("housing", ros, {"to": 1, "safety_grade": "D级"}, {"to": 0, "safety_grade": "C级"})}
    flags = run("HOUSE_UNSAFE", ros, ev)
    assert flags.height == 1
    assert flags["source_row"][0] == 3  # the 户主's row comes first
    assert "人0：housing.csv 第3行" in flags["detail"][0] and "人1：housing.csv 第2行" in flags["detail"][0]


# -- CIV_NO_SAFETY_NET --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("skills", "aid", "flagged"),
    [
        (("无劳动力", "丧失劳动力"), [], True),
        (("无劳动力", "普通劳动力"), [], False),
        (("无劳动力", "丧失劳动力"), [{"aid_type": "农村低保", "aid_status": "在保"}], False),
        (("无劳动力", "丧失劳动力"), [{"aid_type": "特困供养", "aid_status": "在保"}], False),
        (("无劳动力", "丧失劳动力"), [{"aid_type": "农村低保", "aid_status": "停保"}], True),
        (("无劳动力", "丧失劳动力"), [{"aid_type": "临时救助", "aid_status": "在保"}], True),
        (("无劳动力", "丧失劳动力"), [{"aid_type": "农村低保", "aid_status": "在保", "status": "review"}], True),
    ],
)
def test_civ_no_safety_net(skills, aid, flagged):
    ros = roster(*[{"household_id": "H1", "labor_skill": s, "relation": "户主" if i == 0 else "之妻"} for i, s in enumerate(skills)])
    ev = {"civil_affairs": extract("civil_affairs", ros, *[{"to": 1, **a} for a in aid])}
    flags = run("CIV_NO_SAFETY_NET", ros, ev)
    assert flags.height == int(flagged)
    assert pending(flags).height == int(bool(aid) and aid[0].get("status") == "review")
    if flagged:
        assert flags["roster_row"][0] is None and flags["detail"][0].startswith("全户2人均无劳动能力")
        if aid and aid[0].get("status") == "review":
            assert "另有待核实匹配：人1：civil_affairs.csv 第2行" in flags["detail"][0]


# -- CIV_TEMP_AID -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("when", "flagged"),
    [
        ("2026-05-31", False),  # R−183: outside
        ("2026-06-01", True),  # R−182: first day inside
        ("2026-11-30", True),  # R
        ("2026-12-01", False),
        (None, False),
    ],
)
def test_civ_temp_aid_window(when, flagged):
    ros = roster({})
    ev = {"civil_affairs": extract("civil_affairs", ros, {"to": 0, "aid_type": "临时救助", "aid_status": "已发放", "aid_date": when})}
    assert run("CIV_TEMP_AID", ros, ev).height == int(flagged)


def test_civ_temp_aid_other_types_and_review():
    ros = roster({}, {})
    ev = {
        "civil_affairs": extract(
            "civil_affairs", ros,
            {"to": 0, "aid_type": "农村低保", "aid_status": "在保", "aid_date": "2026-10-01"},
            {"to": 1, "aid_type": "临时救助", "aid_status": "已发放", "aid_date": "2026-10-01", "status": "review"},
        )
    }
    flags = run("CIV_TEMP_AID", ros, ev)
    assert confirmed(flags).height == 0
    assert pending(flags).height == 1 and pending(flags)["detail"][0].startswith("【待核实匹配确认后成立】")


# -- CIV_CANDIDATE ------------------------------------------------------------------------

def test_civ_candidate():
    ros = roster({})
    ev = {
        "civil_affairs": extract(
            "civil_affairs", ros,
            {"name": "王五", "id_number": pid("19600101", 901), "aid_type": "农村低保", "aid_status": "在保", "township": "河西乡", "village": "北村"},
            {"name": "赵六", "id_number": pid("19600101", 902), "aid_type": "农村低保", "aid_status": "停保"},
            {"name": "钱七", "id_number": pid("19600101", 903), "aid_type": "临时救助", "aid_status": "在保"},
            {"to": 0, "aid_type": "特困供养", "aid_status": "在保", "status": "review"},
            {"to": 0, "aid_type": "特困供养", "aid_status": "在保"},
            {"name": "孙八", "id_number": pid("19600101", 904), "aid_type": "特困供养", "aid_status": "在保"},
            file="民政.xlsx",
        )
    }
    flags = run("CIV_CANDIDATE", ros, ev)
    # the review row (5) may be a roster person: listed apart until a person decides
    assert pending(flags)["source_row"].to_list() == [5]
    flags = confirmed(flags)
    assert flags["source_row"].to_list() == [2, 7]
    assert flags["household_id"].to_list() == [None, None]
    assert flags["level"].to_list() == ["blue", "blue"]
    row = flags.row(0, named=True)
    assert row["township"] == "河西乡" and row["person_name"] == "王五"
    assert row["detail"].startswith("民政.xlsx 第2行，姓名：王五，救助类型：农村低保，保障状态：在保")


# -- POL_DEREGISTERED ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("reason", "status", "flagged"),
    [("死亡", "linked", True), ("服刑", "linked", True), ("迁出", "linked", True), ("服役", "linked", True),
     ("死亡", "review", False), ("其他", "linked", False)],
)
def test_pol_deregistered(reason, status, flagged):
    ros = roster({"household_id": "H1"}, {"household_id": "H1", "relation": "之父"})
    ev = {"police": extract("police", ros, {"to": 1, "dereg_reason": reason, "dereg_date": "2026-05-02", "status": status})}
    flags = run("POL_DEREGISTERED", ros, ev)
    assert pending(flags).height == int(status == "review")
    flags = confirmed(flags)
    assert flags.height == int(flagged)
    if flagged:
        assert flags["person_name"][0] == "人1" and f"注销原因：{reason}" in flags["detail"][0]


# -- DIS_MULTI / DIS_SEVERE ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("links", "flagged"),
    [
        ([(0, "linked"), (1, "linked")], True),
        ([(0, "linked")], False),
        ([(0, "linked"), (0, "linked")], False),  # same person twice
        ([(0, "linked"), (1, "review")], False),
        ([(0, "linked"), (2, "linked")], False),  # other household
    ],
)
def test_dis_multi(links, flagged):
    ros = roster({"household_id": "H1"}, {"household_id": "H1", "relation": "之子"}, {"household_id": "H2"})
    ev = {"disability": extract("disability", ros, *[{"to": t, "status": s, "disability_grade": "三级"} for t, s in links])}
    flags = run("DIS_MULTI", ros, ev)
    assert pending(flags).height == int(links == [(0, "linked"), (1, "review")])
    flags = confirmed(flags)
    assert flags.height == int(flagged)
    if flagged:
        assert flags["detail"][0].startswith("2名家庭成员持残疾人证")


@pytest.mark.parametrize(
    ("grade", "status", "flagged"),
    [("一级", "linked", True), ("二级", "linked", True), ("三级", "linked", False), ("四级", "linked", False),
     (None, "linked", False), ("一级", "review", False)],
)
def test_dis_severe(grade, status, flagged):
    ros = roster({})
    ev = {"disability": extract("disability", ros, {"to": 0, "disability_grade": grade, "status": status})}
    flags = run("DIS_SEVERE", ros, ev)
    assert pending(flags).height == int(status == "review")
    flags = confirmed(flags)
    assert flags.height == int(flagged)
    if flagged:
        assert flags["roster_row"][0] == 2 and flags["level"][0] == "blue"


@pytest.mark.parametrize(("grade_digit", "flagged"), [("1", True), ("2", True), ("3", False), ("4", False)])
def test_dis_severe_grade_from_certificate_number(grade_digit, flagged):
    """A 残联 file without a 残疾等级 column: the grade is the last digit of the 20-character
    残疾人证号 (18-digit ID + category 1–7 + grade 1–4)."""
    ros = roster({})
    cert = ros["id_number"][0] + "4" + grade_digit
    ev = {"disability": extract("disability", ros, {"to": 0, "id_number": cert})}
    assert "disability_grade" in ev["disability"].columns
    assert run("DIS_SEVERE", ros, ev).height == int(flagged)


# -- INC_BELOW_LINE -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("income", "object_type", "risk", "flagged"),
    [
        ("5999.99", "脱贫户", "否", True),
        ("6000", "脱贫户", "否", False),  # exactly at the line: not below
        ("6,000.00", "脱贫户", "否", False),
        ("4000", None, None, True),
        ("4000", "边缘易致贫户", "否", False),  # active monitored object
        ("4000", "边缘易致贫户", "是", True),  # risk eliminated
        ("4000", "突发严重困难户", "是", True),
        (None, "脱贫户", "否", False),
    ],
)
def test_inc_below_line(income, object_type, risk, flagged):
    ros = roster(
        {"household_id": "H1", "income_per_capita": income, "object_type": object_type, "risk_eliminated": risk},
        {"household_id": "H1", "relation": "之妻", "income_per_capita": income, "object_type": object_type, "risk_eliminated": risk},
    )
    flags = run("INC_BELOW_LINE", ros)
    assert flags.height == int(flagged)
    if flagged:
        assert flags["roster_row"][0] is None
        assert "< 监测范围 6,000 元" in flags["detail"][0] and "监测对象.xlsx 第2行" in flags["detail"][0]


def test_inc_below_line_override():
    ros = roster({"income_per_capita": "6000"})
    assert run("INC_BELOW_LINE", ros, overrides={"income_line": 6900}).height == 1


# -- households ---------------------------------------------------------------------------

def test_household_aggregation():
    ros = roster(
        {"household_id": "H1", "village": "东村"},
        {"household_id": "H1", "relation": "之子", "village": "东村"},
        {"household_id": "H2", "village": "西村"},
        {"household_id": "H3", "village": "西村"},
    )
    ev = {
        "housing": extract("housing", ros, {"to": 0, "safety_grade": "D级"}),  # red, household H1
        "disability": extract(
            "disability", ros,
            {"to": 1, "disability_grade": "一级"},  # blue person in H1
            {"to": 2, "disability_grade": "二级"},  # blue person in H2
            {"name": "外人", "aid": None, "disability_grade": "一级"},
        ),
        "police": extract("police", ros, {"to": 3, "dereg_reason": "迁出"}),  # yellow H3
    }
    rules = [RULES[i] for i in ("HOUSE_UNSAFE", "DIS_SEVERE", "POL_DEREGISTERED")]
    flags = evaluate(rules, ros, ev, reference_date=R)
    assert flags["rule_id"].to_list() == ["DIS_SEVERE", "HOUSE_UNSAFE", "DIS_SEVERE", "POL_DEREGISTERED"]
    rule_counts, area = household_summary(flags, ros)
    summary = {r["rule_id"]: r["count_text"] for r in rule_counts.iter_rows(named=True)}
    assert summary == {"HOUSE_UNSAFE": "1户2人", "DIS_SEVERE": "2户2人", "POL_DEREGISTERED": "1户1人"}
    levels = dict(household_levels(flags).select("household_id", "level").iter_rows())
    assert levels == {"H1": "red", "H2": "blue", "H3": "yellow"}
    assert area.equals(area_summary(flags, ros))
    west = area.filter(pl.col("village") == "西村").row(0, named=True)
    assert (west["households_red"], west["households_yellow"], west["households_blue"], west["count_text"]) == (0, 1, 1, "2户2人")
    east = area.filter(pl.col("village") == "东村").row(0, named=True)
    assert (east["households_red"], east["households_blue"], east["roster_households"], east["roster_persons"]) == (1, 0, 1, 2)


def test_all_rules_run_together_and_sort():
    ros = roster({"household_id": "H1", "labor_skill": "无劳动力", "income_per_capita": "3000"})
    ev = {s: extract(s, ros) for s in ("civil_affairs", "medical_enrollment", "medical_claims", "education", "housing", "police", "disability")}
    flags = evaluate(list(RULES.values()), ros, ev, reference_date=R)
    assert flags["rule_id"].to_list() == ["CIV_NO_SAFETY_NET", "INC_BELOW_LINE", "MED_UNINSURED"]
    assert flags.schema["roster_row"] == pl.Int64 and flags.schema["source_row"] == pl.Int64


def test_edu_dropout_skips_ids_shared_by_two_names():
    """An adult carrying a child's ID (ID_DUPLICATE) is not aged from it; the same person
    listed twice under one name still is."""
    child = pid("20150101", 7)
    ros = roster({"id_number": child, "name": "张大山"}, {"id_number": child, "name": "张小山", "household_id": "H0"})
    assert run("EDU_DROPOUT", ros, {"education": extract("education", ros)}).height == 0
    ros = roster({"id_number": child, "name": "张小山"}, {"id_number": child, "name": "张小山"})
    assert run("EDU_DROPOUT", ros, {"education": extract("education", ros)}).height == 2


def test_shared_id_owner_confirmed_by_linked_evidence():
    child = pid("20150101", 7)
    ros = roster({"id_number": child, "name": "张大山"}, {"id_number": child, "name": "张小山", "household_id": "H0"})
    enr = extract("medical_enrollment", ros, {"to": 1, "enroll_status": "参保缴费"})
    flags = run("EDU_DROPOUT", ros, {"education": extract("education", ros), "medical_enrollment": enr})
    assert flagged_rows(flags) == [3]


def test_the_roster_made_once_serves_both_views():
    """`People.of` once for both views of the evidence: each view's context is what it would be
    made alone — the ID shared by two persons is its owner's only in the view whose linked rows
    carry it (the owner's `_id_shared` 否, the other's 是)."""
    from fanpin_cli.flagging.engine import People, build_context

    child = pid("20150101", 7)
    ros = roster({"id_number": child, "name": "张大山"}, {"id_number": child, "name": "张小山", "household_id": "H0"})
    linked = {"medical_enrollment": extract("medical_enrollment", ros, {"to": 1, "enroll_status": "参保缴费"})}
    people = People.of(ros, R)
    shared = []
    for ev in (linked, {}):
        alone, shared_ctx = build_context(ros, ev, R), build_context(ros, ev, R, people=people)
        assert alone.persons.equals(shared_ctx.persons) and alone.households.equals(shared_ctx.households)
        shared.append(shared_ctx.persons.sort("_roster_row")["_id_shared"].to_list())
    assert shared == [["是", "否"], ["是", "是"]]


def test_exemption_review_is_named_not_used():
    ros = roster({})
    ev = {
        "medical_enrollment": extract("medical_enrollment", ros),
        "police": extract("police", ros, {"to": 0, "dereg_reason": "死亡", "status": "review"}, file="公安.csv"),
    }
    flags = run("MED_UNINSURED", ros, ev)
    assert flags.height == 1 and "另有待核实匹配：公安.csv 第2行" in flags["detail"][0]
    assert flags["evidence_status"][0] == "pending_review"


# -- evidence_status ----------------------------------------------------------------------

def test_absence_of_a_person_whose_id_cannot_be_searched_is_pending():
    # 人0 has no ID in the roster, 人1 and 人2 share one (a copied number): no sector row can be
    # found for them by ID, so "no enrollment found" proves nothing yet. 人3 is searchable.
    shared = pid("19800101", 555)
    ros = roster({"id_number": None}, {"id_number": shared}, {"id_number": shared, "birth": "19900101"}, {})
    flags = run("MED_UNINSURED", ros, {"medical_enrollment": extract("medical_enrollment", ros)})
    assert flagged_rows(confirmed(flags)) == [5]
    assert flagged_rows(pending(flags)) == [2, 3, 4]
    assert all("无法按证件号码比对" in d for d in pending(flags)["detail"])


def test_evidence_status_only_where_a_review_changes_the_outcome():
    # 人0 has an active enrollment linked and a pending one: accepting changes nothing.
    ros = roster({}, {})
    ev = {"medical_enrollment": extract(
        "medical_enrollment", ros,
        {"to": 0, "enroll_status": "参保缴费"},
        {"to": 0, "enroll_status": "参保缴费", "status": "review"},
        {"to": 1, "enroll_status": "终止参保", "status": "review"},
    )}
    flags = run("MED_UNINSURED", ros, ev)
    assert flagged_rows(flags) == [3] and flags["evidence_status"].to_list() == ["confirmed"]


# -- the accepted view, evaluated only where the pending rows reach ------------------------

class _Everywhere:
    """A `PendingReach` that reaches everything: the accepted view on the whole evidence."""

    def __init__(self, evidence):
        self.evidence = evidence

    @classmethod
    def of(cls, roster, evidence):
        return cls(evidence)

    def people(self, people):
        return people

    def touches(self):
        return pl.lit(True)


def _pending_households_roster_and_evidence():
    """Five households; pending rows of several sectors land in four of them, beside linked rows
    and beside members another rule flags; one pending 民政 row is a CIV_CANDIDATE row (a row
    flag that accepting clears), another 民政 row no one's (a row flag it cannot change)."""
    ros = roster({}, {"household_id": "H0", "relation": "配偶"}, {}, {"household_id": "H2", "relation": "之子", "birth": "20150301"},
                 {}, {"labor_skill": "无劳动力"})
    ev = {
        "medical_enrollment": extract(
            "medical_enrollment", ros,
            {"to": 0, "enroll_status": "参保缴费"},
            {"to": 1, "enroll_status": "参保缴费", "status": "review"},   # would clear 人1's MED_UNINSURED
            {"to": 2, "enroll_status": "暂停参保"},
            {"to": 4, "enroll_status": "参保缴费"},
            {"to": 5, "enroll_status": "终止参保", "status": "review"},   # changes nothing
        ),
        "police": extract("police", ros, {"to": 3, "dereg_reason": "死亡", "status": "review"}),  # would exempt
        "civil_affairs": extract(
            "civil_affairs", ros,
            {"to": 4, "aid_type": "临时救助", "aid_status": "已发放", "aid_date": "2026-10-01",
             "status": "review"},   # would create
            {"to": 2, "aid_type": "特困供养", "aid_status": "在保", "status": "review"},  # CIV_CANDIDATE row
            {"to": None, "name": "外人", "aid_type": "低保", "aid_status": "在保"},
        ),
    }
    return ros, ev


def test_accepted_view_only_where_pending_rows_reach_gives_the_same_flags(monkeypatch):
    """The accepted view is evaluated on the households the pending rows point into (and the
    pending rows themselves): every flag and evidence status is what the accepted view over
    the whole evidence gives — on hand-made households and on the sample county."""
    import fanpin_cli
    from fanpin_cli.config import load_config
    from fanpin_cli.flagging import engine
    from fanpin_cli.resources import resource_dir

    def sample_flags() -> pl.DataFrame:
        return fanpin_cli.compute(load_config(resource_dir("sample_data") / "fanpin.toml"), key=b"k" * 32).flags

    ros, ev = _pending_households_roster_and_evidence()
    rules = load_rules()
    reached = evaluate(rules, ros, ev, reference_date=R)
    sample = sample_flags()
    monkeypatch.setattr(engine, "PendingReach", _Everywhere)
    assert reached.equals(evaluate(rules, ros, ev, reference_date=R))
    assert sample.equals(sample_flags())
    # not vacuous: flags that accepting would clear (both), and flags it would create (hand-made)
    created = [pending(f)["detail"].str.starts_with(engine.CREATED_NOTE) for f in (reached, sample)]
    assert created[0].any() and all((~c).any() for c in created)
    assert confirmed(reached).height and confirmed(sample).height


def test_rules_run_together_or_one_at_a_time_give_the_same_flags(monkeypatch):
    """The rules' queries collected together (a small county) or one after the other (above
    `engine.TOGETHER_ROWS`): the same flags, row for row, on the sample county with every rule
    and on hand-made pending households (both views of the evidence)."""
    import fanpin_cli
    from fanpin_cli.config import load_config
    from fanpin_cli.flagging import engine
    from fanpin_cli.resources import resource_dir

    def both() -> tuple[pl.DataFrame, pl.DataFrame]:
        ros, ev = _pending_households_roster_and_evidence()
        sample = fanpin_cli.compute(load_config(resource_dir("sample_data") / "fanpin.toml"), key=b"k" * 32).flags
        return evaluate(load_rules(), ros, ev, reference_date=R), sample

    together = both()
    monkeypatch.setattr(engine, "TOGETHER_ROWS", -1)
    apart = both()
    assert all(t.height for t in together)  # not vacuous: flags on both
    assert together[0].equals(apart[0]) and together[1].equals(apart[1])


def test_the_summaries_of_queries_are_the_summaries_of_frames():
    """`rule_summary`/`area_summary` given LazyFrames give the query of what they give for
    DataFrames; `household_summary` (both run together) the same tables."""
    ros, ev = _pending_households_roster_and_evidence()
    flags = evaluate(load_rules(), ros, ev, reference_date=R)
    rule_counts, area = household_summary(flags, ros)
    assert rule_counts.height and area.height
    assert rule_counts.equals(rule_summary(flags, ros)) and area.equals(area_summary(flags, ros))
    assert rule_summary(flags.lazy(), ros.lazy()).collect().equals(rule_counts)
    assert area_summary(flags.lazy(), ros.lazy()).collect().equals(area)
    assert household_levels(flags.lazy()).collect().equals(household_levels(flags))
