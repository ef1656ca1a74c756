"""What the report writer is given: the run's identity, the rules and the result frames.

The pipeline builds one `ReportData` per run; `write_report` turns it into `report.xlsx`.
ID columns arrive already masked (or full with `--full-ids`): the writer never re-masks.

>>> RuleInfo("MED_UNINSURED", "未参加基本医疗保险", "red").level_label
'红'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

# Warning levels (flags.level) in display order, with the labels clerks use.
LEVELS: tuple[str, ...] = ("red", "yellow", "blue")
LEVEL_LABELS: dict[str, str] = {"red": "红", "yellow": "黄", "blue": "蓝"}

# Quality-issue severities with their Chinese labels.
SEVERITY_LABELS: dict[str, str] = {"error": "错误", "warning": "警告", "info": "提示"}

# Data rows at most for a workbook written without temp files (~20 MB of XML): `memrows`;
# here, for what decides it without importing the writer (`outputs.early_workbook`).
MEMORY_ROWS = 20_000

# Rules whose rows are people *not* on the roster (应纳未纳 candidates): they are listed on the
# 应纳未纳 sheet instead of a per-rule sheet (they have no 户编号 to sort by).
CANDIDATE_RULES: tuple[str, ...] = ("CIV_CANDIDATE",)


@dataclass(frozen=True)
class RuleInfo:
    """One flag rule as shown in the report (display order = order of `ReportData.rules`)."""

    rule_id: str
    title: str
    level: str  # red | yellow | blue
    not_evaluated: str | None = None  # why the rule could not be evaluated (None: it was)

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS.get(self.level, self.level)


@dataclass(kw_only=True)
class ReportData:
    """Everything `report.xlsx` shows. Frames may lack optional columns (treated as empty).

    - `flags`: household_id, township, village, rule_id, level, roster_row, person_name, sector,
      source_file, source_row, detail, title, id_number (as it should appear), group, relation.
    - `rule_counts`: rule_id, households, persons.
    - `area_counts`: township, village, households_red, households_yellow, households_blue,
      households, persons (a household counts once, at its highest level).
    - `quality`: source_file, source_row, column, field, check_id, dimension, severity, message,
      household_id, township, village. `quality_detail`: the subset listed on the 数据质量 sheet
      (default: all of `quality`).
    - `review`: sector, source_file, source_row, extract_name, extract_id, extract_birth,
      extract_township, extract_village, roster_row, household_id, roster_name, roster_id,
      roster_birth, roster_township, roster_village, match_score, reason.
    - `scorecard`: any columns (known names get Chinese headings); `stocktake`: sector, matched,
      roster_only, sector_only, mismatched; `links_by_sector`: source_file, sector, rows_read,
      rows_linked, rows_review, rows_unlinked, rows_rejected.
    """

    county: str
    period: str
    reference_date: date
    version: str
    rules: list[RuleInfo]
    flags: pl.DataFrame
    rule_counts: pl.DataFrame
    area_counts: pl.DataFrame
    quality: pl.DataFrame
    review: pl.DataFrame
    scorecard: pl.DataFrame | None = None
    stocktake: pl.DataFrame | None = None
    links_by_sector: pl.DataFrame | None = None
    # The rows listed on the 数据质量 sheet when not all of `quality` (the summary still counts
    # every issue); the pipeline lists issues of roster persons there, the rest stay in the CSV.
    quality_detail: pl.DataFrame | None = None
    # Roster persons (household_id, source_row, township, village): lets a per-area workbook
    # count "X户Y人" for its own rows (household rules count every member).
    members: pl.DataFrame | None = None
    # "township" | "village" | "none": also write one workbook per area (report.split).
    split: str = "none"
    # check_id → its Chinese name (None: read from the quality catalogue). Given by the run, so
    # that the report process need not import the quality checks to name them.
    check_titles: dict[str, str] | None = None
    # Also write summary.html beside the workbook (report.html).
    html: bool = False
    # The 乡镇 (or 乡镇村) a per-area workbook is for; "" for the county.
    area: str = ""
    # Once-per-file notes shown in 汇总 (e.g. an ID column held as spreadsheet numbers).
    file_notes: list[str] | None = None
    # With a history (issue 13): the previous run's flags that no longer fire (tables.RESOLVED);
    # flags then carry status / first_flagged / last_verdict / overdue.
    resolved: pl.DataFrame | None = None

    @property
    def title(self) -> str:
        """The report's title line: `永顺县 2026-11 防返贫监测比对结果` (`永顺县灵溪镇 …` for a
        乡镇 workbook)."""
        return f"{self.county}{self.area} {self.period} 防返贫监测比对结果"


def check_titles() -> dict[str, str]:
    """check_id → Chinese name, from the quality catalogue (imports the quality checks; the
    run hands them to the workbook: `ReportData.check_titles`)."""
    from fanpin_cli.quality.catalogue import CHECK_INDEX

    return {c: spec.title for c, spec in CHECK_INDEX.items()}
