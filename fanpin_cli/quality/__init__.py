"""Data-quality checks (GB/T 36344 dimensions), the 账账相符 stock-take and scorecards.

API used by the pipeline and `fanpin validate`:

- `check_file(frame, sector, headings=..., reference_date=..., overrides=...)` — every
  single-file check (pandera schema + ID, name, person, household, extra and the national
  system's roster rules, thresholds from the config's `[rules]`) on a prepared frame;
- `check_cross(roster, evidence, reference_date=...)` — roster vs linked extracts;
- `stocktake(roster, evidence)` — counts and lists per sector;
- `scorecard(issues, places)` — per 乡镇/村 grades (`places`: `scorecard.row_places(roster,
  evidence)`, every row's household and place); `attach_places(issues, places)` fills the
  township/village of extract issues through the links;
- `quality_summary(issues)` — the quality part of summary.json;
- `CHECKS` / `CHECK_INDEX` — the catalogue.

Issue frames have the columns `ISSUE_COLUMNS`: source_file, source_row, column, field,
check_id, dimension, severity, message, household_id, township, village.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from fanpin_cli.prepare import prepare

from ._base import collect, empty_issues
from .catalogue import (
    CHECK_INDEX,
    CHECKS,
    DIMENSIONS,
    ISSUE_COLUMNS,
    SEVERITIES,
    Check,
    catalogue_frame,
)
from .cross import check_cross
from .extra import file_extra, roster_extra
from .ids import id_issues, name_issues, person_issues
from .national import NATIONAL_CHECKS, national_parameters
from .national_run import national_issues
from .roster import roster_issues
from .schema import schema_issues
from .scorecard import attach_places, grade, scorecard
from .stocktake import stocktake


def check_file(
    frame: pl.DataFrame,
    sector: str,
    *,
    headings: dict[str, str] | None = None,
    reference_date: date,
    overrides: dict[str, Any] | None = None,
) -> pl.DataFrame:
    """All single-file checks of `sector` on a prepared frame (a loaded frame is prepared first).

    `overrides` is the config's `[rules]` table: `[rules.<check_id>]` sets a national check's
    thresholds (`national.national_parameters`)."""
    headings = headings or {}
    if "id_status" not in frame.columns:
        frame = prepare(frame, reference_date)
    parts = schema_issues(frame, sector, headings)
    parts += id_issues(frame, sector, headings, reference_date)
    parts += name_issues(frame, headings)
    parts += person_issues(frame, headings)
    if sector == "roster":
        parts += roster_issues(frame, headings, reference_date)
        parts += roster_extra(frame, headings, reference_date)
        parts += national_issues(frame, headings, reference_date, overrides)
    parts += file_extra(frame, sector, headings, reference_date)
    return collect(parts)


def quality_summary(issues: pl.DataFrame) -> dict:
    """The quality part of summary.json: totals, per severity and dimension, and per check
    its issues, households (distinct 户编号) and persons (distinct file rows) under `by_check`."""
    per_check = (
        issues.group_by("check_id")
        .agg(
            pl.len().alias("issues"),
            pl.col("household_id").drop_nulls().n_unique().alias("households"),
            pl.struct("source_file", "source_row").n_unique().alias("persons"),
        )
        .sort("check_id")
    )
    checks = {}
    for row in per_check.iter_rows(named=True):
        spec = CHECK_INDEX.get(row["check_id"])
        checks[row["check_id"]] = {
            "title": spec.title if spec else "",
            "dimension": spec.dimension if spec else "",
            "severity": spec.severity if spec else "",
            "issues": row["issues"],
            "households": row["households"],
            "persons": row["persons"],
        }
    def counts(col: str, keys: tuple[str, ...]) -> dict[str, int]:
        got = dict(issues.group_by(col).len().iter_rows()) if issues.height else {}
        return {k: int(got.get(k, 0)) for k in keys}

    return {
        "issues": issues.height,
        "rows_with_issues": issues.select("source_file", "source_row").unique().height,
        "rows_with_errors": issues.filter(pl.col("severity") == "error").select("source_file", "source_row").unique().height,
        "by_severity": counts("severity", SEVERITIES),
        "by_dimension": counts("dimension", DIMENSIONS),
        "by_check": checks,
    }


__all__ = [
    "CHECKS", "CHECK_INDEX", "DIMENSIONS", "ISSUE_COLUMNS", "SEVERITIES", "Check", "attach_places",
    "NATIONAL_CHECKS", "catalogue_frame", "check_cross", "check_file", "empty_issues", "grade",
    "national_parameters", "quality_summary", "scorecard", "stocktake",
]
