"""`write_report`: ReportData → report.xlsx, written atomically (temp file + os.replace)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import polars as pl
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.workbook import Workbook

from fanpin_cli.errors import FanpinError
from fanpin_cli.report import sheets
from fanpin_cli.report.formats import Formats, SheetNames
from fanpin_cli.report.model import CANDIDATE_RULES, ReportData

WORKBOOK_OPTIONS = {
    # Cell text is data, never a formula or a link (a name like "=SUM(...)" stays text).
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
}


def write_report(path: Path, data: ReportData) -> None:
    """Write the clerk's report.xlsx to `path` (replaced atomically; no partial file on error)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        workbook = Workbook(str(tmp), WORKBOOK_OPTIONS)
        try:
            _build(workbook, data)
        finally:
            workbook.close()
        os.replace(tmp, path)
    except PermissionError as exc:
        tmp.unlink(missing_ok=True)
        raise FanpinError(
            f"无法写入报表（文件可能正在 Excel 或 WPS 中打开，请关闭后重试）：{exc.strerror or exc}",
            file=str(path),
        ) from exc
    except (OSError, XlsxWriterException) as exc:
        tmp.unlink(missing_ok=True)
        raise FanpinError(f"无法写入报表：{exc}", file=str(path)) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _build(wb: Workbook, data: ReportData) -> None:
    fm = Formats(wb)
    wb.set_properties(
        {
            "title": data.title,
            "subject": "防止返贫动态监测 行业数据比对结果",
            "author": f"fanpin {data.version}",
            "comments": f"基准日期 {data.reference_date.isoformat()}",
        }
    )
    flags = sheets.sort_flags(sheets.flag_frame(data.flags))
    rules = sheets.all_rules(data, flags)

    names = SheetNames(reserved=sheets.FIXED_SHEETS)
    sheet_of_rule: dict[str, str] = {}
    for rule in rules:
        if rule.rule_id in CANDIDATE_RULES:
            sheet_of_rule[rule.rule_id] = sheets.CANDIDATES
        else:
            sheet_of_rule[rule.rule_id] = names.make(rule.title, fallback=rule.rule_id)

    # Sheets are created in workbook order; each is filled right away.
    sheets.write_summary(wb.add_worksheet(sheets.SUMMARY), fm, data, flags, sheet_of_rule)

    by_rule = {
        key[0]: part
        for key, part in flags.partition_by("rule_id", as_dict=True, maintain_order=True).items()
    }
    empty = flags.clear()
    for rule in rules:
        if rule.rule_id in CANDIDATE_RULES:
            continue
        ws = wb.add_worksheet(sheet_of_rule[rule.rule_id])
        sheets.write_rule_sheet(ws, fm, rule, by_rule.get(rule.rule_id, empty), data)

    candidates = flags.filter(pl.col("rule_id").is_in(list(CANDIDATE_RULES)))
    sheets.write_candidates(wb.add_worksheet(sheets.CANDIDATES), fm, candidates, data)
    sheets.write_review(wb.add_worksheet(sheets.REVIEW), fm, data.review, data)
    sheets.write_quality(
        wb.add_worksheet(sheets.QUALITY), fm, data.quality if data.quality_detail is None else data.quality_detail, data
    )
    if data.scorecard is not None:
        sheets.write_generic(
            wb.add_worksheet(sheets.SCORECARD), fm, data.scorecard,
            f"{data.county} {data.period} 数据质量评分",
        )
    if data.stocktake is not None:
        sheets.write_generic(
            wb.add_worksheet(sheets.STOCKTAKE), fm, data.stocktake,
            f"{data.county} {data.period} 账账相符（监测系统与行业数据）",
        )
