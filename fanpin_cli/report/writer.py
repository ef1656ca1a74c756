"""`write_report`: ReportData → report.xlsx, written atomically (temp file + os.replace)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.worksheet import Worksheet

from fanpin_cli.errors import FanpinError
from fanpin_cli.report import sheets
from fanpin_cli.report.formats import Formats, SheetNames
from fanpin_cli.report.memrows import file_workbook, memory_workbook, small_workbook
from fanpin_cli.report.model import CANDIDATE_RULES, ReportData, RuleInfo
from fanpin_cli.report.zipping import Workbook
from fanpin_cli.tables import C

WORKBOOK_OPTIONS = {
    # Cell text is data, never a formula or a link (a name like "=SUM(...)" stays text).
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "nan_inf_to_errors": True,
    # Rows are streamed to a temp file as they are finished (sheets are written top to bottom,
    # column formats and row heights before their cells), never held as cell objects; strings
    # are stored inline. `report.rowxml` writes the big tables' rows this way at polars speed.
    "constant_memory": True,
}


def data_rows(data: ReportData) -> int:
    """The data rows a workbook of `data` holds at least (its big tables), known when it starts:
    the flags (rule sheets, 应纳未纳, 待核实 lists), the review queue and, once known, the quality
    detail."""
    detail = data.quality if data.quality_detail is None else data.quality_detail
    return sum(f.height for f in (data.flags, data.review, detail) if f is not None)


def write_report(path: Path, data: ReportData) -> None:
    """Write the clerk's report.xlsx to `path` (replaced atomically; no partial file on error)."""
    ReportWriter(path, data).finish(data)


class ReportWriter:
    """report.xlsx in two phases, so that the big sheets can be written while quality checks
    still run: the constructor writes the rule sheets, 应纳未纳 and 待核实匹配 (they need only
    `flags`, `rules` and `review`); `finish(data)` adds 数据质量, 质量评分, 账账相符, fills 汇总
    and moves the file into place. Any error removes the temp file and raises FanpinError.
    """

    def __init__(self, path: Path, data: ReportData) -> None:
        self.path = Path(path)
        self.tmp = temp_path(self.path)
        self.workbook: Workbook | None = None
        with self._errors():
            self._open(data)

    def _open(self, data: ReportData) -> None:
        self.in_memory = small_workbook(data_rows(data))
        if self.in_memory:  # no temp files (memrows.py)
            self.workbook = memory_workbook(str(self.tmp), WORKBOOK_OPTIONS)
        else:
            # Streamed rows wait in temp files beside the workbook (the run's staging folder,
            # removed with it), not in the system's temp folder.
            self.workbook = file_workbook(str(self.tmp), WORKBOOK_OPTIONS | {"tmpdir": str(self.path.parent)})
        self._start(data)

    def finish(self, data: ReportData) -> None:
        """Write the remaining sheets from the complete `data`, close and replace `path`.

        A workbook started in memory from data that lacked the 数据质量 list (`data_rows`),
        whose complete `data` are too many rows for memory, is started again with temp files
        (the same sheets: nothing of the first start is kept)."""
        with self._errors():
            if self.in_memory and not small_workbook(data_rows(data)):
                self._drop()
                self._open(data)
            self._complete(data)
            workbook, self.workbook = self.workbook, None
            close_workbook(workbook)
            os.replace(self.tmp, self.path)
            if data.html:
                from fanpin_cli.report.html import write_html

                write_html(self.path.with_name("summary.html"), data)
            if data.split != "none":
                from fanpin_cli.report.split import write_split

                write_split(self.path.parent, data, data.split)

    def abort(self) -> None:
        """Drop the unfinished workbook (nothing is left on disk)."""
        self._drop()

    def _drop(self) -> None:
        """The workbook closed and its temp files removed."""
        workbook, self.workbook = self.workbook, None
        drop_workbook(workbook, self.tmp)

    def _errors(self) -> AbstractContextManager[None]:
        return writing_errors(self.path, self.abort)

    def _start(self, data: ReportData) -> None:
        wb = self.workbook
        opening = self.opening = open_sheets(wb, data)
        fm = self.fm = opening.fm
        self.rules_of = data.rules  # the rules `opening.rules` were found from (`_complete`)
        rule_sheets = [(wb.add_worksheet(opening.sheet_of_rule[rule.rule_id]), rule)
                       for rule in opening.rules if rule.rule_id not in CANDIDATE_RULES]
        sheets.write_rule_sheets(fm, rule_sheets, opening.confirmed, data)
        sheets.write_pending(wb.add_worksheet(sheets.PENDING), fm, opening.pending, data)
        sheets.write_candidates(wb.add_worksheet(sheets.CANDIDATES), fm, opening.candidates, data)
        sheets.write_review(wb.add_worksheet(sheets.REVIEW), fm, data.review, data)

    def _complete(self, data: ReportData) -> None:
        wb, fm = self.workbook, self.fm
        detail = data.quality if data.quality_detail is None else data.quality_detail
        sheets.write_quality(wb.add_worksheet(sheets.QUALITY), fm, detail, data)
        rules = self.opening.rules if data.rules is self.rules_of else None  # else found again from `data`
        complete_sheets(wb, self.opening, data, rules)


@contextmanager
def writing_errors(path: Path, abort: Callable[[], None]) -> Iterator[None]:
    """Within the block, any error first drops what is being written (`abort`); the disk's or
    the workbook library's are raised as a FanpinError naming `path` (a file open in Excel or
    WPS: said so)."""
    try:
        yield
    except PermissionError as exc:
        abort()
        raise FanpinError(
            f"无法写入报表（文件可能正在 Excel 或 WPS 中打开，请关闭后重试）：{exc.strerror or exc}",
            file=str(path),
        ) from exc
    except (OSError, XlsxWriterException) as exc:
        abort()
        raise FanpinError(f"无法写入报表：{exc}", file=str(path)) from exc
    except BaseException:
        abort()
        raise


def temp_path(path: Path) -> Path:
    """Where the workbook for `path` is written before it is moved into place."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@dataclass
class Opening:
    """What a workbook of some `ReportData` starts with (`open_sheets`): its formats, the flags
    in the sheets' order, the rules listed and each one's sheet name, 汇总 (made first, filled
    last) and the flags split as the sheets show them."""

    fm: Formats
    flags: pl.DataFrame
    rules: list[RuleInfo]
    sheet_of_rule: dict[str, str]
    summary_sheet: Worksheet
    confirmed: pl.DataFrame
    pending: pl.DataFrame
    candidates: pl.DataFrame


def open_sheets(wb: Workbook, data: ReportData) -> Opening:
    """Start workbook `wb` of `data`: formats, document properties, 汇总 (the first sheet)."""
    fm = Formats(wb)
    wb.set_properties({
        "title": data.title,
        "subject": "防止返贫动态监测 行业数据比对结果",
        "author": f"fanpin {data.version}",
        "comments": f"基准日期 {data.reference_date.isoformat()}",
    })
    flags = sheets.sort_flags(sheets.flag_frame(data.flags))
    rules = sheets.all_rules(data, flags)
    names = SheetNames(reserved=sheets.FIXED_SHEETS)
    sheet_of_rule = {r.rule_id: sheets.CANDIDATES if r.rule_id in CANDIDATE_RULES
                     else names.make(r.title, fallback=r.rule_id) for r in rules}
    summary_sheet = wb.add_worksheet(sheets.SUMMARY)  # sheets are made in workbook order: 汇总 first
    waiting = pl.col(C.evidence_status).fill_null("confirmed") == "pending_review"
    confirmed, pending = (flags.filter(~waiting), flags.filter(waiting)) if flags.height else (flags, flags)
    candidates = confirmed.filter(pl.col(C.rule_id).is_in(list(CANDIDATE_RULES))) if confirmed.height else confirmed
    return Opening(fm, flags, rules, sheet_of_rule, summary_sheet, confirmed, pending, candidates)


def complete_sheets(wb: Workbook, opening: Opening, data: ReportData, rules: list[RuleInfo] | None) -> None:
    """质量评分 and 账账相符 (where `data` has them) after the sheets made so far, then 汇总
    (`rules`: the opening's, when found from these very `data.rules`)."""
    fm = opening.fm
    if data.scorecard is not None:
        sheets.write_generic(
            wb.add_worksheet(sheets.SCORECARD), fm, data.scorecard,
            f"{data.county} {data.period} 数据质量评分", "scorecard", data.check_titles,
        )
    if data.stocktake is not None:
        sheets.write_generic(
            wb.add_worksheet(sheets.STOCKTAKE), fm, data.stocktake,
            f"{data.county} {data.period} 账账相符（监测系统与行业数据）", "stocktake_counts",
            data.check_titles,
        )
    sheets.write_summary(opening.summary_sheet, fm, data, opening.flags, opening.sheet_of_rule, wb, rules)


def close_workbook(workbook: Workbook) -> None:
    """Close `workbook`: its file (at its temp path) complete, its row files removed."""
    workbook.close()
    _remove_row_files(workbook)


def drop_workbook(workbook: Workbook | None, tmp: Path) -> None:
    """Close `workbook` (if open) and remove it and its temp files: nothing left on disk."""
    if workbook is not None:
        try:
            workbook.close()
        except Exception:  # noqa: BLE001 - the file is deleted anyway
            pass
        _remove_row_files(workbook)
    tmp.unlink(missing_ok=True)


def _remove_row_files(workbook: Workbook) -> None:
    """Remove the temp files constant_memory streamed rows into: xlsxwriter removes each when it
    copies it into the workbook, but not a sheet's that got no rows (closing an aborted
    workbook, whose summary sheet is still empty)."""
    for sheet in workbook.worksheets():
        name = getattr(sheet, "row_data_filename", None)
        if name:
            handle = getattr(sheet, "row_data_fh", None)
            if handle is not None and not handle.closed:
                handle.close()
            Path(name).unlink(missing_ok=True)

