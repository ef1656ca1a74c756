"""What a run produces in memory: the declared tables (`tables.py`) and a typed summary.

`compute()` returns `RunArtifacts`; `write_outputs()` writes them. `RunSummary.to_dict()` is
summary.json (plus what only the writer knows: timings, `full_ids`).

>>> InputSummary(file="a.csv", sector="police", sector_title="公安户籍注销", rows_read=3).to_dict()["rows_read"]
3
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl


@dataclass
class InputSummary:
    """One input file: what was read and how its rows were linked (None for the roster)."""

    file: str
    sector: str
    sector_title: str
    rows_read: int
    rows_blank: int = 0
    blank_rows: list[int] = field(default_factory=list)
    # Rows that are not records (合计, 填表人, notes, repeated headers): {"row", "reason"}.
    rows_non_data: int = 0
    non_data_rows: list[dict[str, Any]] = field(default_factory=list)
    # Merged ranges in the data rows, filled with the value shown (`merged`), per column:
    # {column, ranges, cells, first_row, last_row}.
    merged_cells: list[dict[str, Any]] = field(default_factory=list)
    # Amount columns in another unit than 元 by their heading, converted: {column, field, unit, factor}.
    amount_units: list[dict[str, Any]] = field(default_factory=list)
    # A roster's member rows whose blank 户编号 (乡镇, 村) was filled from their head's row
    # (`filldown`), per column: {column, field, cells, first_row, last_row}.
    filled_down: list[dict[str, Any]] = field(default_factory=list)
    header_row: int | None = None
    sheet: str | None = None
    encoding: str | None = None
    sha256: str = ""
    # The ID column held as spreadsheet numbers: {rows, column, message}, said once per file.
    id_column_numeric: dict[str, Any] | None = None
    # Each heading of the file → canonical field (None: unmapped); fields its rules and checks
    # need that it lacks (coverage.input_coverage).
    columns: dict[str, str | None] = field(default_factory=dict)
    missing_fields: list[str] = field(default_factory=list)
    rows_linked: int | None = None
    rows_review: int | None = None
    rows_unlinked: int | None = None
    rows_rejected: int | None = None
    # A county's slice of a province-wide extract (`fanpin province`): the province file as
    # written in PROVINCE.toml, its sha256, its data rows, and this county's rows of it
    # ({path, sha256, rows_in_file, rows, first_row, last_row}); None for the county's own files.
    province_extract: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RuleSummary:
    """One rule's result: X户Y人."""

    rule_id: str
    title: str
    level: str
    households: int
    persons: int
    # Flags that wait for a review item or an ID correction (evidence_status pending_review):
    # listed apart, not in the counts above.
    pending_households: int = 0
    pending_persons: int = 0
    status: Any = None  # coverage.Status (None: evaluated)

    @property
    def evaluated(self) -> bool:
        return self.status is None or self.status.evaluated

    @property
    def text(self) -> str:
        return f"{self.households}户{self.persons}人"

    def to_dict(self) -> dict[str, Any]:
        """summary.json `rules[]`: a rule not evaluated has null counts and `未评估（原因）`."""
        from fanpin_cli.coverage import Status, annotate_rule_entries

        entry = {k: v for k, v in asdict(self).items() if k != "status"} | {"text": self.text}
        return annotate_rule_entries([entry], {self.rule_id: self.status or Status()})[0]


@dataclass
class Stage:
    """Timing of one pipeline stage (for the log)."""

    name: str
    seconds: float


@dataclass
class RunSummary:
    """The run in numbers (summary.json)."""

    version: str
    county: str
    period: str
    reference_date: str
    config: str
    inputs: list[InputSummary]
    links: list[dict[str, Any]]
    rules: list[RuleSummary]
    households_flagged: dict[str, int]
    quality: dict[str, Any]
    stocktake: list[dict[str, Any]]
    scorecard: list[dict[str, Any]]
    full_ids: bool = False
    elapsed_seconds: float | None = None
    stages: list[Stage] = field(default_factory=list)
    report_process_peak_mb: int | None = None
    history: dict[str, Any] | None = None  # the monthly loop's counts (None without a history)

    def to_dict(self) -> dict[str, Any]:
        """summary.json, in its documented shape."""
        out: dict[str, Any] = {
            "version": self.version,
            "county": self.county,
            "period": self.period,
            "reference_date": self.reference_date,
            "config": self.config,
            "full_ids": self.full_ids,
            "inputs": [i.to_dict() for i in self.inputs],
            "links": self.links,
            "rules": [r.to_dict() for r in self.rules],
            "households_flagged": self.households_flagged,
            "quality": self.quality,
            "stocktake": self.stocktake,
            "scorecard": self.scorecard,
        }
        if self.history is not None:
            out["history"] = self.history
        if self.report_process_peak_mb is not None:
            out["report_process_peak_mb"] = self.report_process_peak_mb
        if self.elapsed_seconds is not None:
            out["elapsed_seconds"] = self.elapsed_seconds
        if self.stages:
            out["stages"] = {s.name: round(s.seconds, 3) for s in self.stages}
        return out


@dataclass
class RunArtifacts:
    """Everything a run produced, in memory. Tables follow `tables.TABLES`; IDs are full here
    (masking happens in `write_outputs`)."""

    links: pl.DataFrame
    flags: pl.DataFrame
    issues: pl.DataFrame
    review: pl.DataFrame
    stocktake: pl.DataFrame
    scorecard: pl.DataFrame
    summary: RunSummary
    stocktake_counts: pl.DataFrame
    link_counts: pl.DataFrame
    rule_counts: pl.DataFrame
    area_counts: pl.DataFrame
    quality_detail: pl.DataFrame
    members: pl.DataFrame  # roster persons: household_id, source_row, township, village
    rules: list[Any] = field(default_factory=list)  # report.model.RuleInfo
    # The monthly loop (issue 13): previous flags that no longer fire, flags held back by a
    # verdict, and the roster's persons by row: keys, 户编号, name, ID (for the history's record).
    resolved: pl.DataFrame | None = None
    exempted: pl.DataFrame | None = None
    persons: pl.DataFrame | None = None

    def __post_init__(self) -> None:
        from fanpin_cli.tables import EXEMPTED, RESOLVED

        if self.resolved is None:
            self.resolved = RESOLVED.empty()
        if self.exempted is None:
            self.exempted = EXEMPTED.empty()
