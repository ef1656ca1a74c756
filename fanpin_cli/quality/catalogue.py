"""The catalogue of every quality check: id, GB/T 36344 dimension, severity, title, source.

One place for the report, the README and `summary.json` to list the checks from.

>>> CHECK_INDEX["ID_INVALID_CHECKSUM"].dimension
'准确性'
>>> len([c for c in CHECKS if not c.contract]) >= 15
True
"""

from __future__ import annotations

from dataclasses import dataclass

from fanpin_cli.domain import DIMENSIONS, SEVERITIES

from .national import NATIONAL_CHECKS, fuping_source

__all__ = ["CHECKS", "CHECK_INDEX", "DIMENSIONS", "ISSUE_COLUMNS", "SEVERITIES", "Check"]

ISSUE_COLUMNS: tuple[str, ...] = (
    "source_file", "source_row", "column", "field", "check_id", "dimension", "severity",
    "message", "household_id", "township", "village",
)

_GB11643 = "GB 11643-1999 公民身份号码"
_NATSYS = "全国防返贫监测信息系统指标字典；DOMAIN.md 行业数据表"


@dataclass(frozen=True)
class Check:
    """One quality check. `scope` is "roster", "extracts", "all" or "cross" (needs links)."""

    check_id: str
    dimension: str
    severity: str
    title: str
    scope: str
    source: str
    contract: bool = False


CHECKS: tuple[Check, ...] = (
    # ---- the contract's table -------------------------------------------------------------
    Check("ID_MISSING", "完整性", "error", "证件号码为空", "all", "CONTRACT.md", True),
    Check("ID_BAD_FORMAT", "规范性", "error", "证件号码不是15位或18位", "all", f"CONTRACT.md；{_GB11643}", True),
    Check("ID_INVALID_CHECKSUM", "准确性", "error", "18位证件号码校验位错误", "all",
          f"CONTRACT.md；{_GB11643} 校验码；{fuping_source('1_01_003', '1_12_002')}", True),
    Check("ID_BAD_BIRTHDATE", "准确性", "error", "证件号码中的出生日期不存在或晚于基准日", "all", f"CONTRACT.md；{_GB11643}", True),
    Check("ID_UNKNOWN_REGION", "准确性", "warning", "证件号码地址码不在行政区划代码表中", "all", "CONTRACT.md；GB/T 2260 行政区划代码", True),
    Check("ID_EXCEL_MANGLED", "规范性", "error", "证件号码被表格软件存为数字，后几位丢失（科学计数法、末3位000或浮点数）", "all", "CONTRACT.md；DOMAIN.md Excel 15位有效数字", True),
    Check("ID_LEGACY_15", "规范性", "info", "15位旧证件号码（已升级为18位）", "all", f"CONTRACT.md；{_GB11643}", True),
    Check("ID_DUPLICATE", "准确性", "error", "花名册中证件号码重复", "roster",
          f"CONTRACT.md；{fuping_source('1_01_001', '1_12_001')}", True),
    Check("NAME_MISSING", "完整性", "error", "姓名为空", "all", "CONTRACT.md", True),
    Check("NAME_ID_CONFLICT", "一致性", "error", "证件号码对应的系统人员姓名不同", "cross", "CONTRACT.md；000-篇五 账账相符", True),
    Check("SEX_ID_CONFLICT", "一致性", "error", "性别与证件号码第17位不符", "all", f"CONTRACT.md；{_GB11643}", True),
    Check("BIRTH_ID_CONFLICT", "一致性", "error", "出生日期与证件号码不符", "all", f"CONTRACT.md；{_GB11643}", True),
    Check("REL_SEX_CONFLICT", "一致性", "error", "与户主关系所含性别与证件号码不符", "roster",
          f"CONTRACT.md；{fuping_source('2_01_004', '2_12_008')}", True),
    Check("AGE_LABOR_CONFLICT", "一致性", "error", "未满16周岁但劳动技能不是无劳动力", "roster",
          f"CONTRACT.md；{fuping_source('2_01_011', '2_12_014')}", True),
    Check("HH_NO_HEAD", "准确性", "error", "户内没有户主", "roster",
          f"CONTRACT.md；{fuping_source('3_11_001', '3_02_012')}", True),
    Check("HH_MULTI_HEAD", "准确性", "error", "户内有多名户主", "roster", "CONTRACT.md", True),
    Check("HH_SIZE_MISMATCH", "一致性", "error", "家庭人数与成员记录数不符", "roster", "CONTRACT.md", True),
    Check("INSURED_CONFLICT", "一致性", "error", "系统填已参保但医保无有效参保记录", "cross", "CONTRACT.md；001 参保全覆盖", True),
    Check("DECEASED_LISTED", "时效性", "error", "公安已注销（死亡）仍在花名册", "cross", "CONTRACT.md；001 自然减少", True),
    Check("REQUIRED_MISSING", "完整性", "error", "必填项为空", "all", "CONTRACT.md；schemas/", True),
    # ---- additional checks ------------------------------------------------------------------
    Check("ID_PLACEHOLDER", "规范性", "error", "证件号码为占位号码（999999…/同一数字重复）", "all",
          "DOMAIN.md（占位号码以999999开头）；001 无有效身份信息须单列"),
    Check("VALUE_NOT_ALLOWED", "规范性", "error", "取值不在规定的代码表内", "all", _NATSYS),
    Check("AMOUNT_INVALID", "规范性", "error", "金额不是数字或为负数", "all", "GB/T 36344-2018 规范性；schemas/"),
    Check("DATE_INVALID", "规范性", "error", "日期无法识别", "all", "GB/T 36344-2018 规范性；schemas/"),
    Check("YEAR_INVALID", "规范性", "error", "参保年度不是年份", "extracts", "GB/T 36344-2018 规范性"),
    Check("HH_SIZE_INVALID", "规范性", "error", "家庭人数不是1–99的整数", "roster", "GB/T 36344-2018 规范性"),
    Check("HH_ID_FORMAT", "规范性", "warning", "户编号格式异常（科学计数法、空格或符号）", "roster", "DOMAIN.md Excel 数字损坏；GB/T 36344-2018 规范性"),
    Check("NAME_BAD_FORMAT", "规范性", "warning", "姓名含数字、字母或符号，或只有一个字", "all", "DOMAIN.md 姓名；民委发〔2016〕33号（少数民族姓名间隔号）"),
    Check("DATE_IN_FUTURE", "时效性", "error", "日期晚于基准日", "all", "GB/T 36344-2018 时效性"),
    Check("ENROLL_YEAR_STALE", "时效性", "warning", "参保年度不是本年度", "extracts", "001 参保全覆盖（按年度核对）"),
    Check("PAYMENT_EXCEEDS_TOTAL", "准确性", "error", "统筹支付与个人自付之和超过医疗总费用", "extracts", "医保结算口径：总费用=统筹支付+个人自付（含其他）；000-篇十五"),
    Check("HH_HEAD_SPOUSE_SAME_SEX", "一致性", "error", "户主与配偶性别相同", "roster",
          fuping_source("2_02_001", "2_11_003")),
    Check("SPOUSE_UNDERAGE", "准确性", "warning", "配偶未达法定婚龄", "roster", "《民法典》第1047条（男22、女20周岁）"),
    Check("HEAD_UNDERAGE", "准确性", "warning", "户主未满16周岁", "roster", "GB/T 36344-2018 准确性"),
    Check("REL_AGE_CONFLICT", "一致性", "warning", "与户主关系与年龄不符（子女比户主年长等）", "roster", "GB/T 36344-2018 一致性"),
    Check("INCOME_OUTLIER", "准确性", "warning", "人均纯收入为0或异常偏高（≥10万元）", "roster", "003、004 收入核算"),
    Check("HH_PLACE_MIXED", "一致性", "error", "同一户编号的成员乡镇或村不同", "roster", "004 网格化管理（户为单位）；GB/T 36344-2018 一致性"),
    Check("HH_ATTR_MIXED", "一致性", "error", "同一户成员的户级信息（监测对象类别、风险消除、人均纯收入）不同", "roster",
          "全国防返贫监测信息系统（户级指标）；GB/T 36344-2018 一致性"),
    Check("RISK_ELIM_NO_LABOR", "一致性", "error", "全户无劳动能力却标记风险已消除", "roster", "003、004（无劳动能力户不得标注风险消除）"),
    Check("EXTRACT_DUPLICATE", "准确性", "warning", "同一人在本表重复出现", "extracts", "GB/T 36344-2018 准确性（唯一性）"),
    Check("DISABILITY_CERT_MISMATCH", "一致性", "error", "残疾人证号末2位与残疾类别/等级不符", "extracts",
          "第二代残疾人证编号规则（18位身份号+类别1–7+等级1–4）；GB/T 26341-2010"),
    Check("DEREG_LISTED", "时效性", "warning", "公安已注销（服刑/迁出/服役）仍在花名册", "cross", "001 动态调整"),
    Check("HEALTH_DISABILITY_CONFLICT", "一致性", "warning", "残联持证残疾人但系统健康状况未填残疾", "cross",
          "DOMAIN.md 残联持证数据；GB/T 36344-2018 一致性"),
    Check("HEADING_DUPLICATE", "规范性", "warning", "同一表头出现多次（使用填写最多的一列）", "all",
          "GB/T 36344-2018 规范性"),
    Check("CELL_MERGED", "规范性", "warning", "合并单元格（已按显示的值填入合并区域的每一格）", "all",
          "Microsoft Excel 文档 Range.Merge（合并区域的值存于左上角单元格）；GB/T 36344-2018 规范性"),
    Check("FILLED_DOWN", "完整性", "warning", "成员行的户编号（乡镇、村）为空（已按本户第一行补齐）", "roster",
          "GB/T 36344-2018 完整性"),
    Check("ROW_RAGGED", "规范性", "error", "本行内容超出表头（CSV字段比表头多，可能错位）", "all",
          "RFC 4180（每行字段数相同）；GB/T 36344-2018 规范性"),
    Check("SCHOOL_STATUS_CONFLICT", "一致性", "warning", "教育学籍在读但系统在校生状况为空或非在校生", "cross", "001 学籍比对"),
)

# The national system's roster rules (national.py): declared there with condition and message.
CHECKS += tuple(
    Check(c.check_id, c.dimension, c.severity, c.title, "roster", c.source) for c in NATIONAL_CHECKS
)

CHECK_INDEX: dict[str, Check] = {c.check_id: c for c in CHECKS}


def catalogue_frame():
    """The catalogue as a polars DataFrame (check_id, dimension, severity, title, scope, source, contract)."""
    import polars as pl

    return pl.DataFrame([c.__dict__ for c in CHECKS])
