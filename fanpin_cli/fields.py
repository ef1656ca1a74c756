"""Sector keys, canonical field names and the heading aliases that map onto them.

Every loaded file is renamed to these canonical (English) field names; the original headings
stay available for messages through `LoadedFile.headings`.

>>> canonical_field("civil_affairs", "身份证号码")
'id_number'
>>> canonical_field("roster", "乡（镇）")
'township'
"""

from __future__ import annotations

import re
import unicodedata

SECTORS: tuple[str, ...] = (
    "roster",
    "civil_affairs",
    "medical_enrollment",
    "medical_claims",
    "education",
    "housing",
    "police",
    "disability",
)

SECTOR_TITLES: dict[str, str] = {
    "roster": "监测对象信息（防返贫系统）",
    "civil_affairs": "民政救助",
    "medical_enrollment": "医保参保登记",
    "medical_claims": "医保结算明细",
    "education": "教育学籍资助",
    "housing": "住房安全鉴定",
    "police": "公安户籍注销",
    "disability": "残联持证残疾人",
}

# Aliases shared by every sector (identity and place).
_COMMON: dict[str, tuple[str, ...]] = {
    "id_number": (
        "证件号码", "身份证号", "身份证号码", "公民身份号码", "身份证件号", "身份证件号码",
        "户主身份证号", "户主身份证号码", "证件号", "身份证", "学生身份证号", "成员身份证号",
        "残疾人证号",
    ),
    "name": ("姓名", "学生姓名", "户主姓名", "成员姓名", "人员姓名", "参保人姓名", "救助对象姓名"),
    "county": ("县", "县(市、区、旗)", "区县", "县(市、区)", "县区", "县（市、区、旗）"),
    "township": ("乡镇", "乡(镇)", "乡镇(街道)", "乡镇街道", "所属乡镇", "乡（镇）"),
    "village": ("村", "行政村", "村(社区)", "村社区", "所属村", "村（社区）"),
    "group": ("组", "村民小组", "组别"),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月", "出生年月日"),
}

_SECTOR_ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "roster": {
        "household_id": ("户编号", "户号", "家庭编号"),
        "relation": ("与户主关系",),
        "household_size": ("家庭人数", "家庭人口数", "家庭人口"),
        "object_type": ("监测对象类别", "户类型", "对象类别"),
        "risk_eliminated": ("风险是否已消除", "是否风险消除", "风险消除"),
        "labor_skill": ("劳动技能",),
        "health": ("健康状况",),
        "school_status": ("在校生状况", "在校生情况"),
        "insured": ("是否参加城乡居民基本医疗保险", "是否参加基本医疗保险", "是否参保"),
        "income_per_capita": ("人均纯收入（元）", "人均纯收入(元)", "人均纯收入", "家庭人均纯收入"),
    },
    "civil_affairs": {
        "aid_type": ("救助类型", "保障类型", "救助类别"),
        "aid_status": ("保障状态", "救助状态", "状态"),
        "aid_date": ("纳入时间", "救助时间", "发放时间", "审批时间"),
        "monthly_amount": ("月保障金额", "保障金额", "救助金额"),
    },
    "medical_enrollment": {
        "insurance_type": ("险种类型", "险种", "参保险种"),
        "enroll_status": ("参保状态", "缴费状态"),
        "enroll_year": ("参保年度", "年度"),
    },
    "medical_claims": {
        "settle_date": ("结算日期", "结算时间", "出院日期"),
        "total_cost": ("医疗总费用", "总费用"),
        "fund_paid": ("统筹支付", "基金支付"),
        "out_of_pocket": ("个人自付", "个人负担", "个人自付金额"),
        "diagnosis": ("疾病诊断", "诊断", "病种"),
    },
    "education": {
        "school": ("学校名称", "就读学校", "学校"),
        "grade": ("年级",),
        "roll_status": ("学籍状态", "在校状态"),
        "aid_program": ("资助项目", "资助类型", "受助项目"),
    },
    "housing": {
        "safety_grade": ("鉴定等级", "危房等级", "房屋等级"),
        "assess_date": ("鉴定时间", "鉴定日期"),
        "renovation": ("改造情况", "改造状态"),
    },
    "police": {
        "dereg_reason": ("注销原因", "注销类别"),
        "dereg_date": ("注销日期", "注销时间"),
    },
    "disability": {
        "disability_type": ("残疾类别", "残疾类型"),
        "disability_grade": ("残疾等级",),
    },
}

# Fields without which a file of that sector cannot be used at all (missing column → exit 1).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "roster": ("household_id", "name", "id_number"),
    "civil_affairs": ("name", "id_number", "aid_type"),
    "medical_enrollment": ("name", "id_number", "enroll_status"),
    "medical_claims": ("name", "id_number", "settle_date", "out_of_pocket"),
    "education": ("name", "id_number", "roll_status"),
    "housing": ("name", "id_number", "safety_grade"),
    "police": ("name", "id_number", "dereg_reason"),
    "disability": ("name", "id_number"),
}

# Chinese display name of each canonical field (for messages and report headings).
FIELD_TITLES: dict[str, str] = {
    "id_number": "证件号码", "name": "姓名", "county": "县", "township": "乡镇",
    "village": "村", "group": "组", "sex": "性别", "birth_date": "出生日期",
    "household_id": "户编号", "relation": "与户主关系", "household_size": "家庭人数",
    "object_type": "监测对象类别", "risk_eliminated": "风险是否已消除", "labor_skill": "劳动技能",
    "health": "健康状况", "school_status": "在校生状况", "insured": "是否参加城乡居民基本医疗保险",
    "income_per_capita": "人均纯收入（元）", "aid_type": "救助类型", "aid_status": "保障状态",
    "aid_date": "纳入时间", "monthly_amount": "月保障金额", "insurance_type": "险种类型",
    "enroll_status": "参保状态", "enroll_year": "参保年度", "settle_date": "结算日期",
    "total_cost": "医疗总费用", "fund_paid": "统筹支付", "out_of_pocket": "个人自付",
    "diagnosis": "疾病诊断", "school": "学校名称", "grade": "年级", "roll_status": "学籍状态",
    "aid_program": "资助项目", "safety_grade": "鉴定等级", "assess_date": "鉴定时间",
    "renovation": "改造情况", "dereg_reason": "注销原因", "dereg_date": "注销日期",
    "disability_type": "残疾类别", "disability_grade": "残疾等级",
}

_PUNCT = str.maketrans({"（": "(", "）": ")", "　": "", " ": "", "\t": "", "\n": "", "\r": ""})


def heading_key(heading: str) -> str:
    """Fold a heading so that spacing, full-width brackets and `*` marks do not matter.

    >>> heading_key(" 乡（镇）* ")
    '乡(镇)'
    """
    text = unicodedata.normalize("NFKC", str(heading)).translate(_PUNCT)
    return re.sub(r"[*＊:：]", "", text).strip()


def aliases(sector: str) -> dict[str, tuple[str, ...]]:
    """All canonical fields of `sector` with their accepted headings."""
    if sector not in SECTORS:
        raise KeyError(sector)
    merged = dict(_COMMON)
    merged.update(_SECTOR_ALIASES[sector])
    return merged


def alias_lookup(sector: str) -> dict[str, str]:
    """Folded heading → canonical field, for one sector."""
    return {heading_key(a): field for field, names in aliases(sector).items() for a in names}


def canonical_field(sector: str, heading: str) -> str | None:
    """The canonical field a heading maps to in `sector`, or None."""
    return alias_lookup(sector).get(heading_key(heading))
