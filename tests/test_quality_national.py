"""The national system's roster rules (quality/national.py): for each check a row that must
be reported and a near miss that must not, on one realistic household as the national
system exports it (empty 在校生状况 for non-students, both medical-insurance columns, codes
as clerks write them), prepared like every roster; plus the thresholds from the config and
the citations of the public rule set.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from make_ids import make_id

from fanpin_cli.errors import ConfigError
from fanpin_cli.flagging import effective_parameters, load_rules
from fanpin_cli.prepare import prepare
from fanpin_cli.quality import CHECKS, NATIONAL_CHECKS, check_file, national_parameters

REF = date(2026, 11, 30)
RULE_LIST = Path(__file__).parent / "fixtures" / "fuping_rules.txt"



HEAD = make_id("19700101", "011")      # male, 56
SPOUSE = make_id("19720202", "022")    # female, 54
SON = make_id("20000303", "033")       # male, 26
DAUGHTER = make_id("20120404", "044")  # female, 14

HOUSEHOLD = {
    "township": ["灵溪镇"] * 4, "village": ["司城村"] * 4, "household_id": ["4331270100100001"] * 4,
    "name": ["张大山", "李秀英", "张小明", "张小红"], "id_number": [HEAD, SPOUSE, SON, DAUGHTER],
    "sex": ["男", "女", "男", "女"], "relation": ["户主", "配偶", "之子", "之女"],
    "household_size": ["4"] * 4, "object_type": ["脱贫户"] * 4, "risk_eliminated": [None] * 4,
    "labor_skill": ["普通劳动力", "弱劳动力或半劳动力", "技能劳动力", "无劳动力"],
    "health": ["健康", "长期慢性病", "健康", "健康"],
    "school_status": [None, None, None, "八年级"],
    "school_absence_reason": [None] * 4,
    # the son works in town and is in the employees' scheme
    "insured": ["是", "是", "否", "是"], "employee_insured": ["否", "否", "是", None],
    "income_per_capita": ["13500.5"] * 4,
}


def household(**changes) -> pl.DataFrame:
    """The household with `field={row_index: value}` changes, prepared as the pipeline does."""
    data = {k: list(v) for k, v in HOUSEHOLD.items()}
    for name, edits in changes.items():
        for i, v in edits.items():
            data[name][i] = v
    frame = pl.DataFrame({"source_file": ["监测对象信息.xlsx"] * 4, "source_row": [3, 4, 5, 6], **data},
                         schema_overrides={k: pl.String for k in data})
    return prepare(frame, REF)


def run(frame: pl.DataFrame, overrides: dict | None = None) -> pl.DataFrame:
    return check_file(frame, "roster", headings={"labor_skill": "劳动技能"}, reference_date=REF, overrides=overrides)


def rows(issues: pl.DataFrame, check_id: str) -> list[int]:
    return sorted(issues.filter(pl.col("check_id") == check_id)["source_row"].to_list())


def test_the_household_breaks_no_national_rule():
    ids = {c.check_id for c in NATIONAL_CHECKS}
    issues = run(household()).filter(pl.col("check_id").is_in(ids))
    assert issues.is_empty(), issues.select("source_row", "check_id", "message").rows()


# (check_id, change that breaks the rule, the row reported, near miss that keeps it)
CASES = [
    ("HEALTH_MISSING", {"health": {1: None}}, 4, {"health": {1: "长期慢性病，残疾"}}),
    ("LABOR_MISSING", {"labor_skill": {2: None}}, 5, {"labor_skill": {2: "技能劳动力"}}),
    ("INSURANCE_BOTH_EMPTY", {"insured": {3: None}}, 6, {"insured": {3: "1"}}),
    ("ROSTER_UNINSURED", {"insured": {0: "否"}}, 3, {"insured": {0: "否"}, "employee_insured": {0: "是"}}),
    ("ROSTER_UNINSURED", {"insured": {0: "0"}, "employee_insured": {0: "0"}}, 3, {"insured": {0: "1"}}),
    ("INSURANCE_BOTH_YES", {"insured": {2: "是"}}, 5, {"insured": {2: "否"}}),
    ("INSURANCE_BOTH_YES", {"insured": {2: "√"}, "employee_insured": {2: "1"}}, 5, {"insured": {2: "×"}}),
    # 60 on the reference date is "60周岁及以上"; the day after a 59-year-old's birthday is not
    ("ELDERLY_LABOR", {"id_number": {0: make_id("19661130", "011")}}, 3,
     {"id_number": {0: make_id("19661201", "011")}}),
    ("ELDERLY_LOST_LABOR", {"id_number": {0: make_id("19580607", "011")}, "labor_skill": {0: "丧失劳动力"},
                            "health": {0: "患有大病"}}, 3,
     {"id_number": {0: make_id("19670607", "011")}, "labor_skill": {0: "丧失劳动力"}, "health": {0: "患有大病"}}),
    ("ADULT_NO_LABOR", {"labor_skill": {2: "无劳动能力"}}, 5, {"labor_skill": {2: "无劳动力"}, "health": {2: "残疾"}}),
    ("ADULT_LOST_LABOR", {"labor_skill": {2: "丧失劳动力"}}, 5, {"labor_skill": {2: "丧失劳动力"}, "health": {2: "患有大病"}}),
    ("ADULT_WEAK_LABOR", {"labor_skill": {2: "弱劳动力"}}, 5,
     {"labor_skill": {0: "弱劳动力或半劳动力"}, "id_number": {0: make_id("19661130", "011")}}),
    ("ADULT_WEAK_LABOR", {"labor_skill": {0: "弱劳动力或半劳动力"}, "school_status": {0: "非在校生"}}, 3,
     {"labor_skill": {2: "弱劳动力或半劳动力"}, "school_status": {2: "高职高专三年级"}}),
    ("STUDENT_LABOR", {"id_number": {2: make_id("20080505", "033")}, "school_status": {2: "普通高中三年级"}}, 5,
     {"id_number": {2: make_id("20080505", "033")}, "school_status": {2: "非在校生"}}),
    ("SEVERE_DISABILITY_LABOR", {"id_number": {1: SPOUSE + "42"}, "labor_skill": {1: "普通劳动力"}, "health": {1: "残疾"}}, 4,
     {"id_number": {1: SPOUSE + "43"}, "labor_skill": {1: "普通劳动力"}, "health": {1: "残疾"}}),
    ("SCHOOL_AGE_NOT_IN_SCHOOL", {"school_status": {3: None}}, 6, {"school_status": {3: None}, "school_absence_reason": {3: "因残"},
                                                                    "health": {3: "残疾"}}),
    ("ABSENCE_REASON_HEALTHY", {"school_status": {3: None}, "school_absence_reason": {3: "因病"}}, 6,
     {"school_status": {3: None}, "school_absence_reason": {3: "因病"}, "health": {3: "患有大病"}}),
    ("SCHOOL_PRESCHOOL_AGE", {"id_number": {3: make_id("20190601", "044")}, "school_status": {3: "学前教育"}}, 6,
     {"id_number": {3: make_id("20201201", "044")}, "school_status": {3: "学前教育"}}),
    ("SCHOOL_PRIMARY_AGE", {"id_number": {3: make_id("20110404", "044")}, "school_status": {3: "小学六年级"}}, 6,
     {"school_status": {3: "小学六年级"}}),
    ("SCHOOL_JUNIOR_AGE", {"id_number": {3: make_id("20150101", "044")}, "school_status": {3: "七年级"}}, 6,
     {"id_number": {3: make_id("20141130", "044")}, "school_status": {3: "七年级"}}),
    ("SCHOOL_SENIOR_AGE", {"id_number": {2: make_id("20050101", "033")}, "school_status": {2: "中职三年级"},
                           "labor_skill": {2: "无劳动力"}}, 5,
     {"id_number": {2: make_id("20060101", "033")}, "school_status": {2: "中职三年级"}, "labor_skill": {2: "无劳动力"}}),
    ("SCHOOL_POSTGRAD_AGE", {"id_number": {2: make_id("20070101", "033")}, "school_status": {2: "硕士生及以上"},
                             "labor_skill": {2: "无劳动力"}}, 5,
     {"id_number": {2: make_id("20061130", "033")}, "school_status": {2: "硕士生及以上"}, "labor_skill": {2: "无劳动力"}}),
]


@pytest.mark.parametrize("check_id,fail,row,near", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_national_check(check_id, fail, row, near):
    bad = run(household(**fail))
    assert rows(bad, check_id) == [row], bad.select("source_row", "check_id", "message").rows()
    message = bad.filter(pl.col("check_id") == check_id)["message"][0]
    assert "请" in message and not re.search(r"\d{15,}", message)
    good = run(household(**near))
    assert rows(good, check_id) == [], good.filter(pl.col("check_id") == check_id)["message"].to_list()


def test_every_national_check_has_a_case():
    assert {c.check_id for c in NATIONAL_CHECKS} == {c[0] for c in CASES}


def test_message_names_the_age_and_the_value():
    issues = run(household(labor_skill={2: "无劳动能力"}))
    msg = issues.filter(pl.col("check_id") == "ADULT_NO_LABOR")["message"][0]
    assert msg.startswith("26周岁") and "「无劳动力」" in msg  # read through the vocabulary
    row = issues.filter(pl.col("check_id") == "ADULT_NO_LABOR").row(0, named=True)
    assert (row["column"], row["field"], row["severity"], row["dimension"]) == ("劳动技能", "labor_skill", "warning", "一致性")


def test_a_pupil_under_16_with_labour_is_reported_once():
    issues = run(household(labor_skill={3: "弱劳动力或半劳动力"}))
    assert rows(issues, "AGE_LABOR_CONFLICT") == [6] and rows(issues, "STUDENT_LABOR") == []


def test_a_check_whose_columns_are_missing_is_not_run():
    frame = household(insured={3: None}).drop("employee_insured")
    issues = run(frame)
    assert rows(issues, "INSURANCE_BOTH_EMPTY") == [] and rows(issues, "INSURANCE_BOTH_YES") == []
    # without the employees' column a resident 否 is uninsured as far as the roster says
    assert rows(issues, "ROSTER_UNINSURED") == [5]


def test_thresholds_come_from_the_config():
    frame = household(id_number={0: make_id("19620101", "011")})  # 64
    assert rows(run(frame), "ELDERLY_LABOR") == [3]
    assert rows(run(frame, {"ELDERLY_LABOR": {"min_age": 65}}), "ELDERLY_LABOR") == []
    assert rows(run(frame, {"ELDERLY_LABOR": {"enabled": False}}), "ELDERLY_LABOR") == []
    msg = run(frame, {"ELDERLY_LABOR": {"min_age": 62}}).filter(pl.col("check_id") == "ELDERLY_LABOR")["message"][0]
    assert "62周岁及以上" in msg


@pytest.mark.parametrize("table,fragment", [
    ({"ELDERLY_LABOR": {"max_age": 80}}, "max_age"),
    ({"ELDERLY_LABOR": {"min_age": "六十"}}, "应为整数"),
    ({"SCHOOL_PRIMARY_AGE": {"enabled": "否"}}, "enabled"),
    ({"ELDERLY_LABOR": {"min_age": -1}}, "0–120"),
    ({"SCHOOL_JUNIOR_AGE": {"min_age": 18}}, "大于 max_age"),
])
def test_bad_thresholds_are_config_errors(table, fragment):
    with pytest.raises(ConfigError, match=fragment):
        national_parameters(table)
    with pytest.raises(ConfigError, match=fragment):  # the rules' own validation agrees
        effective_parameters(load_rules(), table)


def test_a_config_file_with_a_bad_threshold_is_refused_before_reading_inputs(tmp_path):
    from fanpin_cli.config import load_config

    (tmp_path / "r.xlsx").write_bytes(b"")  # never opened: the config is refused first
    path = tmp_path / "fanpin.toml"
    path.write_text('[run]\ncounty="永顺县"\nreference_date="2026-11-30"\n[roster]\npath="r.xlsx"\n'
                    '[rules.ELDERLY_LABOR]\nmin_age = 65\n', encoding="utf-8")
    assert load_config(path).rules["ELDERLY_LABOR"] == {"min_age": 65}
    path.write_text(path.read_text(encoding="utf-8").replace("min_age = 65", "min_age = 650"), encoding="utf-8")
    with pytest.raises(ConfigError, match="ELDERLY_LABOR"):
        load_config(path)


def test_rule_parameters_and_check_thresholds_share_the_rules_table():
    overrides = {"income_line": 6500, "ELDERLY_LABOR": {"min_age": 65}, "MED_HIGH_OOP": {"oop_line": 20000}}
    assert effective_parameters(load_rules(), overrides)["MED_HIGH_OOP"]["oop_line"] == 20000
    assert national_parameters(overrides)["ELDERLY_LABOR"]["min_age"] == 65
    with pytest.raises(ConfigError, match="ELDERLY_LABOR"):  # an unknown table lists the checks too
        effective_parameters(load_rules(), {"NO_SUCH_ID": {"x": 1}})


def _cited_rules(source: str) -> list[str]:
    return re.findall(r"rules/([0-9_\-]+)\.py", source)


def test_every_check_citing_the_rule_set_names_rules_it_has():
    """A check cites Gzuwkj/fuping only with rule files that exist there (ids in the committed
    list, made by reading the repository), and every national check cites at least one."""
    known = {line.split()[0] for line in RULE_LIST.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")}
    citing = [c for c in CHECKS if "fuping" in c.source]
    assert citing
    for check in citing:
        cited = _cited_rules(check.source)
        assert cited, f"{check.check_id} cites the rule set without naming a rule"
        assert set(cited) <= known, (check.check_id, set(cited) - known)
    for check in NATIONAL_CHECKS:
        assert _cited_rules(check.source)


def test_a_national_export_read_from_a_gbk_csv(tmp_path):
    """Headings and codes as the national system's export writes them, through the loader."""
    from fanpin_cli.pipeline import validate_file

    head = ("乡(镇),行政村,户编号,姓名,证件号码,性别,与户主关系,家庭人数,劳动技能,健康状况,在校生状况,"
            "是否参加城乡居民基本医疗保险,是否参加城镇职工基本医疗保险")
    lines = [
        "（自定义）监测对象信息", head,
        f"灵溪镇,司城村,4331270100100001,张大山,{make_id('19580607', '011')},1,户主,3,普通劳动力,健康,,1,0",
        f"灵溪镇,司城村,4331270100100001,李秀英,{SPOUSE},2,配偶,3,无劳动力,健康,,是,是",
        f"灵溪镇,司城村,4331270100100001,张小红,{make_id('20110404', '044')},2,之女,3,无劳动力,,小学六年级,,",
    ]
    path = tmp_path / "监测对象信息.csv"
    path.write_bytes("\r\n".join(lines).encode("gbk"))
    _, issues = validate_file(path, "roster", None, reference_date=REF)
    found = {(r, c) for r, c in issues.select("source_row", "check_id").iter_rows()}
    assert {(3, "ELDERLY_LABOR"), (4, "ADULT_NO_LABOR"), (4, "INSURANCE_BOTH_YES"), (5, "HEALTH_MISSING"),
            (5, "INSURANCE_BOTH_EMPTY"), (5, "SCHOOL_PRIMARY_AGE")} <= found, sorted(found)
    assert not {c for r, c in found if r == 3} & {"ROSTER_UNINSURED", "INSURANCE_BOTH_EMPTY", "INSURANCE_BOTH_YES"}


def test_readme_cites_what_the_catalogue_cites():
    """The README's quality table gives each check the catalogue's severity and source, so a
    citation corrected in the code cannot stay wrong in the documentation."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    lines = {line.split("`")[1]: line for line in readme.splitlines() if line.startswith("| `")}
    for check in CHECKS:
        cells = [c.strip() for c in lines[check.check_id].split("|")]
        assert cells[3] == check.severity and cells[5] == check.source, check.check_id


def test_status_names_the_column_a_national_check_lacks():
    from fanpin_cli.coverage import Available
    from fanpin_cli.quality.status import check_statuses

    columns = frozenset({"household_id", "name", "id_number", "relation", "labor_skill", "insured"})
    statuses = check_statuses([Available("roster", "监测对象信息.xlsx", 4, columns)])
    assert statuses["LABOR_MISSING"].evaluated and statuses["ELDERLY_LABOR"].evaluated
    assert not statuses["HEALTH_MISSING"].evaluated and "健康状况" in statuses["HEALTH_MISSING"].reason
    assert not statuses["INSURANCE_BOTH_YES"].evaluated
    assert "是否参加城镇职工基本医疗保险" in statuses["INSURANCE_BOTH_YES"].reason
    assert "在校生状况" in statuses["ADULT_NO_LABOR"].reason


def test_a_check_switched_off_in_the_config_is_reported_not_evaluated():
    """`[rules.<id>] enabled = false` on a national check: no issues, and summary.json says
    why it was not evaluated instead of showing it as evaluated with 0 found."""
    import dataclasses

    import fanpin_cli
    from fanpin_cli.config import load_config
    from fanpin_cli.resources import resource_dir

    config = load_config(resource_dir("sample_data") / "fanpin.toml")
    on = fanpin_cli.compute(config, key=b"k" * 32).summary.to_dict()["quality"]["by_check"]
    config = dataclasses.replace(config, rules={**config.rules, "ELDERLY_LABOR": {"enabled": False}})
    off = fanpin_cli.compute(config, key=b"k" * 32).summary.to_dict()["quality"]["by_check"]
    assert on["ELDERLY_LABOR"]["status"] == "evaluated"
    assert off["ELDERLY_LABOR"]["status"] == "not_evaluated"
    assert "enabled = false" in off["ELDERLY_LABOR"]["reason"] and off["ELDERLY_LABOR"]["issues"] == 0
    assert off["LABOR_MISSING"]["status"] == on["LABOR_MISSING"]["status"]
