"""The national system's own roster rules, as a table: one `NationalCheck` per quality check.

The public rule set over 全国防返贫监测信息系统 exports (GitHub Gzuwkj/fuping, `rules/*.py`)
checks 劳动技能 against age, health and schooling, 在校生状况 against age, 残疾人证 against
劳动技能, and the 健康状况/劳动技能/医保 fields. Each row below restates one such rule (or the
pair the rule set keeps for 脱贫人口 and 监测对象) as a polars condition over a `Person` view,
with its message, GB/T 36344 dimension, severity, thresholds and the rule ids it comes from.
Thresholds are the system's and can be changed per check in the config:
`[rules.ELDERLY_LABOR] min_age = 65` (or `enabled = false`).

This module only declares; `national_run.national_issues` evaluates the table.

>>> NATIONAL_INDEX["ELDERLY_LABOR"].params["min_age"]
60
>>> NATIONAL_INDEX["ELDERLY_LABOR"].source
'Gzuwkj/fuping rules/2_12_005.py、rules/2_12_017.py（全国防返贫监测信息系统导出数据校验规则）'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from fanpin_cli.errors import ConfigError
from fanpin_cli.idnum import age_at
from fanpin_cli.values import (
    HEALTHY,
    NO,
    NOT_IN_SCHOOL,
    YES,
    health_states,
    per_value,
    school_stage,
)

FUPING = "Gzuwkj/fuping"
STUDENT_STAGES: tuple[str, ...] = ("学前", "小学", "初中", "高中", "高等", "研究生")
SEVERE_GRADES: tuple[str, ...] = ("一级", "二级")
MAX_AGE = 120  # thresholds are ages in 周岁


def fuping_source(*rule_ids: str) -> str:
    """How a check cites rules of the national rule set: the repository and each rule file.

    >>> fuping_source("2_01_002", "2_12_003")
    'Gzuwkj/fuping rules/2_01_002.py、rules/2_12_003.py（全国防返贫监测信息系统导出数据校验规则）'
    """
    files = "、".join(f"rules/{r}.py" for r in rule_ids)
    return f"{FUPING} {files}（全国防返贫监测信息系统导出数据校验规则）"


def _col(frame_columns: set[str], name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
    return pl.col(name) if name in frame_columns else pl.lit(None, dtype=dtype)


class Person:
    """The roster columns the national rules read, as comparable polars expressions.

    `Person.columns(frame, reference_date)` derives them once per roster (`__nat_*` columns);
    the attributes here name those columns, so that every check compares plain columns.
    `age` is in 周岁 at the reference date (from the ID, else 出生日期); code fields are read
    after `values.normalize_codes` (done by `prepare`: `弱劳动力` → 弱劳动力或半劳动力, `1`/`0` →
    是/否); 健康状况 is a list of states (`healthy`: exactly 健康; `health_empty`); 在校生状况 a
    stage (`values.school_stage`); `written(f)` is the cell for messages.

    >>> from datetime import date
    >>> f = pl.DataFrame({"id_birth": [date(1966, 11, 30)], "health": ["健康"], "school_status": ["七年级"]})
    >>> Person.columns(f, date(2026, 11, 30)).select(Person.age, Person.healthy, Person.stage).row(0)
    (60, True, '初中')
    """

    age = pl.col("__nat_age")
    labor = pl.col("__nat_labor")
    healthy = pl.col("__nat_healthy")
    health_empty = pl.col("__nat_health_empty")
    stage = pl.col("__nat_stage")
    resident_insured = pl.col("__nat_resident")
    employee_insured = pl.col("__nat_employee")
    disability_type = pl.col("__nat_disability_type")
    disability_grade = pl.col("__nat_disability_grade")
    absence_reason = pl.col("__nat_absence_reason")

    @staticmethod
    def columns(frame: pl.DataFrame, reference_date: date) -> pl.DataFrame:
        """`frame` with the derived `__nat_*` columns the checks read."""
        cols = set(frame.columns)
        born = pl.coalesce(_col(cols, "id_birth", pl.Date), _col(cols, "birth", pl.Date))
        states = health_states(pl.col("health"))
        return frame.with_columns(
            age_at(born, reference_date).alias("__nat_age"),
            _col(cols, "labor_skill").alias("__nat_labor"),
            per_value(frame, "health", states.list.len().eq(1) & states.list.first().eq(HEALTHY), pl.Boolean)
            .fill_null(False).alias("__nat_healthy"),
            per_value(frame, "health", states.list.len().eq(0), pl.Boolean)
            .fill_null(True).alias("__nat_health_empty"),
            per_value(frame, "school_status", school_stage(pl.col("school_status")), pl.String).alias("__nat_stage"),
            _col(cols, "school_status").is_null().alias("__nat_school_empty"),
            _col(cols, "insured").alias("__nat_resident"),
            _col(cols, "employee_insured").alias("__nat_employee"),
            _col(cols, "disability_type").alias("__nat_disability_type"),
            _col(cols, "disability_grade").alias("__nat_disability_grade"),
            _col(cols, "school_absence_reason").alias("__nat_absence_reason"),
        )

    @staticmethod
    def written(name: str) -> pl.Expr:
        return pl.col(name).fill_null("空")

    @property
    def student(self) -> pl.Expr:
        return self.stage.is_in(STUDENT_STAGES)

    @property
    def not_student(self) -> pl.Expr:
        """在校生状况 empty or 非在校生 (the national system leaves it empty for non-students)."""
        return pl.col("__nat_school_empty") | self.stage.eq(NOT_IN_SCHOOL)

    def aged(self, k: dict[str, int]) -> pl.Expr:
        """min_age ≤ age < max_age (the rule set's "16（含）-60周岁（不含）")."""
        return (self.age >= k["min_age"]) & (self.age < k["max_age"])

    def outside(self, k: dict[str, int]) -> pl.Expr:
        """age < min_age or age > max_age (both ends allowed)."""
        return (self.age < k["min_age"]) | (self.age > k["max_age"])


Rule = Callable[[Person, dict[str, int]], pl.Expr]


@dataclass(frozen=True)
class NationalCheck:
    """One quality check restating rules of the national rule set (ids in `rules`)."""

    check_id: str
    dimension: str
    severity: str
    title: str
    rules: tuple[str, ...]
    field: str
    needs: tuple[str, ...]
    when: Rule
    message: Rule
    params: dict[str, int] = field(default_factory=dict)
    also: str = ""

    @property
    def source(self) -> str:
        return fuping_source(*self.rules) + (f"；{self.also}" if self.also else "")


def _school_age(name: str) -> Rule:
    return lambda p, k: pl.format(
        "{}周岁，在校生状况为「{}」，与{}就读年龄（{}–{}周岁）不符：请核实在校生状况或出生日期",
        p.age, p.written("school_status"), pl.lit(name), pl.lit(k["min_age"]), pl.lit(k["max_age"]),
    )


_ADULT = "{}周岁、健康状况为健康且不在校，劳动技能却填「{}」："


def _adult_labor(check_id: str, skill: str, rules: tuple[str, ...], advice: str) -> NationalCheck:
    """16–60周岁, 健康 and not in school, yet 劳动技能 is `skill` (the national rules' three cases)."""
    return NationalCheck(
        check_id, "一致性", "warning", f"16–60周岁健康非在校生劳动技能为{skill}", rules, "labor_skill",
        ("labor_skill", "health", "school_status"), params={"min_age": 16, "max_age": 60},
        when=lambda p, k: p.aged(k) & p.healthy & p.not_student & p.labor.eq(skill),
        message=lambda p, k: pl.format(_ADULT + advice, p.age, p.written("labor_skill")),
    )


NATIONAL_CHECKS: tuple[NationalCheck, ...] = (
    # ---- empty fields -----------------------------------------------------------------------
    NationalCheck(
        "HEALTH_MISSING", "完整性", "error", "健康状况为空", ("2_01_002", "2_12_003"),
        "health", ("health",),
        when=lambda p, k: p.health_empty,
        message=lambda p, k: pl.lit("健康状况为空：请按实际填写健康、长期慢性病、患有大病或残疾"),
    ),
    NationalCheck(
        "LABOR_MISSING", "完整性", "error", "劳动技能为空", ("2_01_003", "2_12_001"),
        "labor_skill", ("labor_skill",),
        when=lambda p, k: p.labor.is_null(),
        message=lambda p, k: pl.lit("劳动技能为空：请按实际填写普通劳动力、技能劳动力、弱劳动力或半劳动力、丧失劳动力或无劳动力"),
    ),
    # ---- medical insurance ------------------------------------------------------------------
    NationalCheck(
        "INSURANCE_BOTH_EMPTY", "完整性", "error", "城乡居民医保与城镇职工医保两项均为空",
        ("2_01_008", "2_12_012"), "insured", ("insured", "employee_insured"),
        when=lambda p, k: p.resident_insured.is_null() & p.employee_insured.is_null(),
        message=lambda p, k: pl.lit(
            "是否参加城乡居民基本医疗保险、是否参加城镇职工基本医疗保险均为空：请核实参保情况并填写"),
    ),
    NationalCheck(
        "ROSTER_UNINSURED", "完整性", "warning", "系统填未参加城乡居民医保（且未填参加职工医保）",
        ("2_01_016", "2_12_016", "2_01_008"), "insured", ("insured",),
        when=lambda p, k: p.resident_insured.eq(NO) & p.employee_insured.ne(YES).fill_null(True),
        message=lambda p, k: pl.lit(
            "系统填未参加城乡居民基本医疗保险，也未填参加城镇职工基本医疗保险：请核实参保情况，"
            "动员参保或注明不参保原因（死亡、服刑、服役等）"),
        also="001 参保全覆盖",
    ),
    NationalCheck(
        "INSURANCE_BOTH_YES", "一致性", "error", "同时填参加城乡居民医保和城镇职工医保",
        ("2_01_009", "2_12_015", "1_11_008"), "employee_insured", ("insured", "employee_insured"),
        when=lambda p, k: p.resident_insured.eq(YES) & p.employee_insured.eq(YES),
        message=lambda p, k: pl.lit(
            "同时填参加城乡居民基本医疗保险和城镇职工基本医疗保险：不应重复参保，请核实实际参保险种并只保留一项"),
    ),
    # ---- 劳动技能 against age --------------------------------------------------------------
    NationalCheck(
        "ELDERLY_LABOR", "准确性", "warning", "60周岁及以上但劳动技能为普通/技能劳动力",
        ("2_12_005", "2_12_017"), "labor_skill", ("labor_skill",), params={"min_age": 60},
        when=lambda p, k: (p.age >= k["min_age"]) & p.labor.is_in(("普通劳动力", "技能劳动力")),
        message=lambda p, k: pl.format(
            "已{}周岁（{}周岁及以上），劳动技能仍为「{}」：请核实，仍能劳动的应为弱劳动力或半劳动力，否则为无劳动力",
            p.age, pl.lit(k["min_age"]), p.written("labor_skill")),
    ),
    NationalCheck(
        "ELDERLY_LOST_LABOR", "一致性", "info", "60周岁及以上但劳动技能为丧失劳动力",
        ("2_12_005",), "labor_skill", ("labor_skill",), params={"min_age": 60},
        when=lambda p, k: (p.age >= k["min_age"]) & p.labor.eq("丧失劳动力"),
        message=lambda p, k: pl.format(
            "已{}周岁（{}周岁及以上），劳动技能填「{}」：请核实并按老年人口填写（弱劳动力或半劳动力、无劳动力）",
            p.age, pl.lit(k["min_age"]), p.written("labor_skill")),
    ),
    # ---- 劳动技能 against health and schooling (16–60, 健康, 非在校) ---------------------------
    _adult_labor("ADULT_NO_LABOR", "无劳动力", ("2_01_010-16", "2_12_013-16", "5_12_008", "1111_14", "1111_15"),
                 "请核实劳动能力；确因病残不能劳动的，请同时如实填写健康状况"),
    _adult_labor("ADULT_LOST_LABOR", "丧失劳动力", ("2_01_005-16", "2_12_009-16"),
                 "健康的人不会丧失劳动力，请核实劳动技能或健康状况"),
    _adult_labor("ADULT_WEAK_LABOR", "弱劳动力或半劳动力", ("5_12_008", "1111_14", "1111_15"),
                 "请核实，健康的劳动年龄人口一般为普通劳动力或技能劳动力"),
    NationalCheck(
        "STUDENT_LABOR", "一致性", "warning", "在校生劳动技能不是无劳动力",
        ("1111_07",), "labor_skill", ("labor_skill", "school_status"),
        # under 16 AGE_LABOR_CONFLICT already says the same of the row
        when=lambda p, k: p.student & p.labor.is_not_null() & p.labor.ne("无劳动力") & ~(p.age < 16).fill_null(False),
        message=lambda p, k: pl.format(
            "在校生状况为「{}」，劳动技能却填「{}」：在校生的劳动技能应为无劳动力，请核实",
            p.written("school_status"), p.written("labor_skill")),
    ),
    NationalCheck(
        "SEVERE_DISABILITY_LABOR", "一致性", "warning", "残疾人证为一、二级肢体残疾但劳动技能为普通劳动力",
        ("4_01_007", "4_01_008"), "labor_skill", ("labor_skill",),
        when=lambda p, k: p.disability_type.eq("肢体残疾") & p.disability_grade.is_in(SEVERE_GRADES)
        & p.labor.eq("普通劳动力"),
        message=lambda p, k: pl.format(
            "残疾人证为肢体残疾{}（重度），劳动技能却填「{}」：请核实劳动能力（弱劳动力或半劳动力、丧失劳动力）",
            p.disability_grade, p.written("labor_skill")),
        also="第二代残疾人证编号规则（末2位为残疾类别、等级）",
    ),
    # ---- 在校生状况 against age -----------------------------------------------------------
    NationalCheck(
        "SCHOOL_AGE_NOT_IN_SCHOOL", "完整性", "warning", "6–16周岁但在校生状况和义务教育阶段未上学原因均为空",
        ("1_02_005", "5_15_016", "5_15_017"), "school_status", ("school_status",), params={"min_age": 6, "max_age": 16},
        when=lambda p, k: ~p.outside(k) & pl.col("__nat_school_empty") & p.absence_reason.is_null(),
        message=lambda p, k: pl.format(
            "{}周岁（义务教育年龄{}–{}周岁），在校生状况为空：请核实就学情况并填写（不在校的填写义务教育阶段未上学原因）",
            p.age, pl.lit(k["min_age"]), pl.lit(k["max_age"])),
        also="000-篇一 义务教育阶段",
    ),
    NationalCheck(
        "ABSENCE_REASON_HEALTHY", "一致性", "warning", "未上学原因为因病或因残但健康状况为健康",
        ("2_01_012",), "school_absence_reason", ("school_absence_reason", "health"),
        when=lambda p, k: p.absence_reason.is_in(("因病", "因残")) & p.healthy,
        message=lambda p, k: pl.format(
            "义务教育阶段未上学原因为「{}」，健康状况却为健康：请核实健康状况或未上学原因",
            p.absence_reason),
    ),
    NationalCheck(
        "SCHOOL_PRESCHOOL_AGE", "准确性", "warning", "7周岁及以上健康人口在校生状况为学龄前儿童或学前教育",
        ("5_12_013", "5_17_001"), "school_status", ("school_status", "health"), params={"min_age": 7},
        when=lambda p, k: (p.age >= k["min_age"]) & p.healthy & p.stage.eq("学前"),
        message=lambda p, k: pl.format(
            "{}周岁且健康，在校生状况仍为「{}」：{}周岁及以上应已入学，请核实在校生状况",
            p.age, p.written("school_status"), pl.lit(k["min_age"])),
    ),
    NationalCheck(
        "SCHOOL_PRIMARY_AGE", "准确性", "warning", "在校生状况为小学但年龄不在6–14周岁",
        ("5_12_014", "5_17_002"), "school_status", ("school_status",), params={"min_age": 6, "max_age": 14},
        when=lambda p, k: p.stage.eq("小学") & p.outside(k),
        message=_school_age("小学"),
    ),
    NationalCheck(
        "SCHOOL_JUNIOR_AGE", "准确性", "warning", "在校生状况为初中（七至九年级）但年龄不在12–17周岁",
        ("5_12_015", "5_17_003"), "school_status", ("school_status",), params={"min_age": 12, "max_age": 17},
        when=lambda p, k: p.stage.eq("初中") & p.outside(k),
        message=_school_age("初中"),
    ),
    NationalCheck(
        "SCHOOL_SENIOR_AGE", "准确性", "warning", "在校生状况为高中或中职但年龄不在15–20周岁",
        ("5_12_016", "5_17_004"), "school_status", ("school_status",), params={"min_age": 15, "max_age": 20},
        when=lambda p, k: p.stage.eq("高中") & p.outside(k),
        message=_school_age("高中、中职"),
    ),
    NationalCheck(
        "SCHOOL_POSTGRAD_AGE", "准确性", "warning", "在校生状况为硕士生及以上但不满20周岁",
        ("5_12_018", "5_17_006"), "school_status", ("school_status",), params={"min_age": 20},
        when=lambda p, k: p.stage.eq("研究生") & (p.age < k["min_age"]),
        message=lambda p, k: pl.format(
            "{}周岁，在校生状况为「{}」：硕士研究生一般不小于{}周岁，请核实在校生状况或出生日期",
            p.age, p.written("school_status"), pl.lit(k["min_age"])),
    ),
)

NATIONAL_INDEX: dict[str, NationalCheck] = {c.check_id: c for c in NATIONAL_CHECKS}


def national_parameters(overrides: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Check id → thresholds (and `enabled`) after the config's `[rules.<check_id>]` tables.

    Only tables named after a check of this module are read; a key a check does not have, or
    a value that is not a whole number, is a ConfigError.

    >>> national_parameters({"ELDERLY_LABOR": {"min_age": 65}})["ELDERLY_LABOR"]
    {'min_age': 65, 'enabled': True}
    """
    out: dict[str, dict[str, Any]] = {c.check_id: {**c.params, "enabled": True} for c in NATIONAL_CHECKS}
    for key, table in (overrides or {}).items():
        if key not in NATIONAL_INDEX or not isinstance(table, dict):
            continue
        check = NATIONAL_INDEX[key]
        for name, value in table.items():
            if name == "enabled":
                if not isinstance(value, bool):
                    raise ConfigError(f"[rules.{key}] enabled 应为 true 或 false", column="enabled")
                out[key]["enabled"] = value
                continue
            if name not in check.params:
                known = "、".join(check.params) or "无（只可设 enabled）"
                raise ConfigError(f"[rules.{key}] 中的参数 {name} 不属于质量检查 {key}（可用：{known}）", column=name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
                raise ConfigError(f"[rules.{key}] 参数 {name} 应为整数（周岁），实际为 {value!r}", column=name)
            if not 0 <= value <= MAX_AGE:
                raise ConfigError(f"[rules.{key}] 参数 {name} 应在0–{MAX_AGE}周岁之间，实际为 {value!r}", column=name)
            out[key][name] = int(value)
        k = out[key]
        if "min_age" in k and "max_age" in k and k["min_age"] > k["max_age"]:
            raise ConfigError(f"[rules.{key}] min_age（{k['min_age']}）大于 max_age（{k['max_age']}）", column="min_age")
    return out
