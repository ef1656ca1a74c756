"""report.xlsx, the clerk's deliverable: 汇总, one sheet per rule, 应纳未纳, 待核实匹配, 数据质量,
质量评分, 账账相符 — frozen headers, filters, IDs as text, 红/黄/蓝 level colours."""

from fanpin_cli.report.model import CANDIDATE_RULES, LEVEL_LABELS, ReportData, RuleInfo
from fanpin_cli.report.writer import write_report

__all__ = ["CANDIDATE_RULES", "LEVEL_LABELS", "ReportData", "RuleInfo", "write_report"]
