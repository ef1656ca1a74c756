"""The history around one run (the driver's side): read the view before `compute`, record the
run after `write_outputs`. Nothing here runs inside `compute`.

    hist = open_for_run(config)                        # None with --no-history
    artifacts = compute(config, history=hist.view)
    write_outputs(artifacts, out_dir)                  # meanwhile: pending = hist.stage(config, artifacts, out_dir)
    hist.record(config, artifacts, out_dir, pending=pending)  # makes the staged run count
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl

from fanpin_cli.privacy import mask_text
from fanpin_cli.tables import C

from .reduce import history_tables
from .settings import HistorySettings, history_settings
from .store import HistoryError, PendingRun, RunRecord, record_run
from .view import HistoryView, load_view

STATUS_COUNTS = {"新增": "new", "持续": "ongoing", "复发": "recurring"}


@dataclass
class HistoryRun:
    """The history of one run: its settings and the view `compute` gets."""

    settings: HistorySettings
    view: HistoryView

    def record(self, config: Any, artifacts: Any, out_dir: Path, *, pending: PendingRun | None = None) -> int:
        """Write the run into the history (nothing changes for readers on failure); returns its
        run_id. `pending` is `self.stage(...)` of the same run (written while the outputs were,
        committed now)."""
        if pending is not None:
            return pending.commit()
        return record_run(self.settings.path, self.prepare(config, artifacts, out_dir))

    def prepare(self, config: Any, artifacts: Any, out_dir: Path, *, links_staged: bool = False) -> RunRecord:
        """What `record` writes (the run's tables reduced: keys, masked IDs, names); reads
        nothing from the history file and writes nothing, so it can run beside the outputs.
        `links_staged`: without the links table (`stage_links` wrote it)."""
        return run_record(config, artifacts, out_dir, self.settings, links_staged=links_staged)

    def stage(self, config: Any, artifacts: Any, out_dir: Path, *, links: PendingRun | None = None) -> PendingRun:
        """`prepare`, then write its rows into the history, not counted yet: run beside
        the outputs, it is committed by `record(..., pending=...)` once they are in place, or
        rolled back (`PendingRun.rollback`). The history file is locked meanwhile. `links`: the
        run's links staged already (`stage_links`, the same run): the rest is added to it."""
        if links is None:
            return PendingRun(self.settings.path, self.prepare(config, artifacts, out_dir))
        links.add(self.prepare(config, artifacts, out_dir, links_staged=True))
        return links

    def stage_links(self, config: Any, links: pl.DataFrame, persons: pl.DataFrame) -> PendingRun:
        """Stage the run's links table alone, as soon as the links are final (`compute`'s
        `on_links`: they are `artifacts.links` and `artifacts.persons`), while the rules are
        evaluated: its reduction, its rows and their compressed checkpoint — most of the
        history's month — are then not written beside the outputs, where both cores are busy.
        `stage(..., links=)` adds the rest of the run; a run that fails drops it (`rollback`)."""
        record = RunRecord(county=config.county, period=config.period, reference_date=config.reference_date,
                           version="", tables=history_tables(roster=persons, links=links))
        return PendingRun(self.settings.path, record)  # (its `runs` row is the one `add` is given last)


@dataclass
class Placing:
    """What the block of `swapped_in` puts in place: the folder it writes the outputs into, the
    month's history rows it staged beside them (None: no history, or staging failed) and the
    run's artifacts (what `HistoryRun.record` writes when nothing was staged)."""

    stage: Path
    pending: PendingRun | None = None
    artifacts: Any = None


@contextmanager
def swapped_in(out_dir: Path, past: HistoryRun | None, config: Any) -> Iterator[Placing]:
    """A staging folder for a run's outputs, swapped in as `out_dir` when the block ends, and the
    month's history record around the swap (`fanpin run` and the province's county jobs): the
    rows the block staged are marked ready just before the swap (`PendingRun.ready`: killed after
    it, the month still counts), committed after it, rolled back if anything fails before it.
    Rows the block could not stage (`write_beside_history`: e.g. the history was busy) are
    staged here, before the swap; if that fails too, or the run cannot be marked ready, the run
    stops with the output folder and the history as they were — never a month in place that the
    history does not count. Call while holding `out_dir`'s lock."""
    from fanpin_cli.outdir import staged_folder

    placing = None
    try:
        with staged_folder(out_dir) as stage:
            placing = Placing(stage)
            yield placing
            if past is not None:
                if placing.pending is None:
                    placing.pending = past.stage(config, placing.artifacts, out_dir)  # raises: no swap
                if not placing.pending.ready(stage / "summary.json", out_dir):
                    raise HistoryError("无法在历史记录中登记本次运行，输出文件夹保持原样；请检查历史记录文件所在磁盘的"
                                       "空间和写入权限后重新运行", file=str(past.settings.path))
        if past is not None:
            committing, placing.pending = placing.pending, None
            past.record(config, placing.artifacts, out_dir, pending=committing)
    finally:
        if placing is not None and placing.pending is not None:
            placing.pending.rollback()


def open_for_run(config: Any, *, path: Path | None = None, out_dir: Path | None = None) -> HistoryRun:
    """Settings from the config (`path` overrides where the file is) and the view of the past.
    The bundled sample county keeps its history in the output folder (`out_dir`), never beside
    its config inside the package."""
    from fanpin_cli.resources import resource_dir

    settings = history_settings(config)
    sample = config.config_path.parent.resolve() == resource_dir("sample_data").resolve()
    if path is None and sample and out_dir is not None and "path" not in (getattr(config, "history", {}) or {}):
        path = out_dir.resolve() / settings.path.name
    if path is not None:
        settings = replace(settings, path=path)
    return HistoryRun(settings, load_view(settings.path, config.county, config.period))


def history_counts(artifacts: Any) -> dict[str, int]:
    """The monthly loop's numbers for summary.json and the run's record.

    >>> class A: flags = pl.DataFrame({"status": ["新增", "持续"], "overdue": [False, True]}); \
resolved = exempted = pl.DataFrame()
    >>> history_counts(A())["overdue"]
    1
    """
    flags = artifacts.flags
    counts = {name: 0 for name in STATUS_COUNTS.values()}
    if "status" in flags.columns:
        for status, n in flags.group_by("status").len().iter_rows():
            if status in STATUS_COUNTS:
                counts[STATUS_COUNTS[status]] = int(n)
    counts["resolved"] = artifacts.resolved.height
    counts["exempted"] = artifacts.exempted.height
    counts["overdue"] = int(flags["overdue"].sum()) if "overdue" in flags.columns else 0
    links = getattr(artifacts, "links", None)
    if links is not None and "match_method" in links.columns:
        counts["confirmed_links"] = int((links["match_method"] == "confirmed").sum())
    return counts


def run_record(config: Any, artifacts: Any, out_dir: Path, settings: HistorySettings, *,
               links_staged: bool = False) -> RunRecord:
    """What the history keeps of a run (keys, masked IDs and names; never a full ID).
    `links_staged`: without the links table (`HistoryRun.stage_links` wrote it)."""
    summary = artifacts.summary
    inputs = pl.DataFrame(
        [{"file": mask_text(i.file), "sector": i.sector, "sha256": i.sha256, C.rows_read: i.rows_read} for i in summary.inputs],
        schema={"file": pl.String, "sector": pl.String, "sha256": pl.String, C.rows_read: pl.Int64},
    )
    persons = getattr(artifacts, "persons", None)
    tables = history_tables(
        roster=persons,
        links=artifacts.links,
        flags=artifacts.flags.with_columns(pl.lit(True).alias("shown")),
        issues=artifacts.issues,
        review=artifacts.review,
        resolved=artifacts.resolved,
        links_table=not links_staged,
    )
    exempted = artifacts.exempted
    if exempted.height:
        tables["exempted"] = history_tables(roster=persons, flags=exempted)["flags"].with_columns(
            pl.col(c).cast(pl.String).str.slice(0, 10).str.to_date(strict=False) for c in ("verdict_date", "exempt_until")
        )
    params = {"rules": dict(config.rules), "history": settings.params()}
    for rule in getattr(artifacts, "rules", []) or []:
        values = getattr(rule, "params", None)
        if values:
            params.setdefault("rule_params", {})[rule.rule_id] = values
    counts = {"flags": artifacts.flags.height, "review": artifacts.review.height, **history_counts(artifacts)}
    return RunRecord(
        county=config.county,
        period=config.period,
        reference_date=config.reference_date,
        version=summary.version,
        config_file=mask_text(str(config.config_path.name)),
        out_dir=mask_text(str(out_dir)),
        params=params,
        counts=counts,
        inputs=inputs,
        tables=tables,
    )
