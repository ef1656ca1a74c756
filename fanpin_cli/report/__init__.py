"""report.xlsx, the clerk's deliverable: 汇总, one sheet per rule, 应纳未纳, 待核实匹配, 数据质量,
质量评分, 账账相符 — frozen headers, filters, IDs as text, 红/黄/蓝 level colours.

The public names are imported from their modules on first use (PEP 562): a module that needs
only the data model or the split names (the run's option check, its rule list) does not import
the workbook writer, and with it xlsxwriter, before the run has started reading.

>>> import fanpin_cli.report as report
>>> report.RuleInfo.__module__, report.write_report.__module__
('fanpin_cli.report.model', 'fanpin_cli.report.writer')
"""

from __future__ import annotations

from fanpin_cli.lazy import lazy_names

_SOURCES: dict[str, str] = {
    "CANDIDATE_RULES": "model",
    "LEVEL_LABELS": "model",
    "ReportData": "model",
    "RuleInfo": "model",
    "write_report": "writer",
}

__all__ = ["CANDIDATE_RULES", "LEVEL_LABELS", "ReportData", "RuleInfo", "write_report"]


__getattr__, __dir__ = lazy_names(__name__, _SOURCES, globals())
