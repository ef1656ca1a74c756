"""The monthly job: load → validate → link → flag → quality → report, and `validate` for one file.

The CLI calls `run_job` / `validate_file`; everything here raises `FanpinError` for problems
the user can act on.

    result = run_job(load_config(Path("fanpin.toml")), Path("out"))
    result.summary["inputs"][0]["rows_read"]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from fanpin_cli import __version__
from fanpin_cli.config import InputSpec, RunConfig
from fanpin_cli.coverage import annotate_rule_entries, available, input_coverage, rule_statuses
from fanpin_cli.fields import SECTOR_TITLES
from fanpin_cli.idnum import mask_id
from fanpin_cli.loaders import LoadedFile, load_file
from fanpin_cli.notes import file_notes
from fanpin_cli.outputs import mask_columns, write_csv, write_json
from fanpin_cli.prepare import prepare

Progress = Callable[[str], None]

LINKS_CSV_COLUMNS = [
    "sector", "source_file", "source_row", "roster_row", "household_id", "match_method",
    "match_score", "match_status", "reason",
]
FLAGS_CSV_COLUMNS = [
    "household_id", "township", "village", "rule_id", "level", "roster_row", "person_name",
    "sector", "source_file", "source_row", "detail", "evidence_status",
]
ISSUES_CSV_COLUMNS = [
    "source_file", "source_row", "column", "check_id", "dimension", "severity", "message",
]
WORKERS = 2
STAGES = ("读取数据", "证件与姓名规范化", "比对关联", "数据质量检查", "预警规则", "写出结果")


@dataclass
class Stage:
    """Timing of one pipeline stage (for the log)."""

    name: str
    seconds: float


@dataclass
class RunResult:
    """What a run produced: the output folder, the summary and the frames behind it."""

    out_dir: Path
    summary: dict[str, Any]
    links: pl.DataFrame
    flags: pl.DataFrame
    issues: pl.DataFrame
    stages: list[Stage] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


@dataclass
class FlagStage:
    """What the rules worker produced: the flags and their counts, the outputs that need only
    flags and links, and report.xlsx already being written by a child process."""

    flags: pl.DataFrame
    rule_counts: pl.DataFrame
    area_counts: pl.DataFrame
    flags_out: pl.DataFrame  # flags + roster ID (masked unless --full-ids), 组, 与户主关系
    review: pl.DataFrame
    report: Any  # report.background.BackgroundReport (or InlineReport)


@dataclass
class JobData:
    """Everything the outputs are written from."""

    config: RunConfig
    evidence: dict[str, pl.DataFrame]
    links: pl.DataFrame
    issues: pl.DataFrame
    flagged: FlagStage
    scorecard: pl.DataFrame | None
    stocktake: pl.DataFrame | None
    stocktake_lists: dict[str, pl.DataFrame]
    summary: dict[str, Any]
    roster: pl.DataFrame | None = None


def load_input(spec: InputSpec) -> LoadedFile:
    """Load one configured input file."""
    return load_file(
        spec.path,
        spec.sector,
        source_file=spec.source_file,
        sheet=spec.sheet,
        header_row=spec.header_row,
        encoding=spec.encoding,
        columns=spec.columns,
    )


def _input_entry(loaded: LoadedFile, links: pl.DataFrame | None, frame: pl.DataFrame | None = None) -> dict[str, Any]:
    from fanpin_cli.quality.ids import numeric_id_column

    entry: dict[str, Any] = {
        "file": loaded.source_file,
        "sector": loaded.sector,
        "sector_title": SECTOR_TITLES[loaded.sector],
        "rows_read": loaded.rows_read,
        "rows_blank": len(loaded.blank_rows),
        "blank_rows": loaded.blank_rows[:100],
        "header_row": loaded.header_row,
        "sheet": loaded.sheet,
        "encoding": loaded.encoding,
        "sha256": loaded.sha256,
        # The ID column held as spreadsheet numbers: {rows, column, message}, said once per file.
        "id_column_numeric": numeric_id_column(frame, loaded.headings) if frame is not None else None,
    }
    if links is None:
        entry.update(rows_linked=None, rows_review=None, rows_unlinked=None, rows_rejected=None)
    else:
        status = links["match_status"]
        entry.update(
            rows_linked=int((status == "linked").sum()),
            rows_review=int((status == "review").sum()),
            rows_unlinked=int((status == "unlinked").sum()),
            rows_rejected=int(links["rejected"].sum()),
        )
    return entry


def _evidence(
    prepared: list[tuple[LoadedFile, pl.DataFrame]], links: list[pl.DataFrame]
) -> dict[str, pl.DataFrame]:
    """Per sector: all its extract rows (prepared) with their link columns."""
    by_sector: dict[str, list[pl.DataFrame]] = {}
    for (loaded, frame), link in zip(prepared, links, strict=True):
        # The linked roster person's 户编号 replaces any the extract carries itself.
        joined = frame.drop("household_id", strict=False).with_columns(
            link.select(
                "roster_row", "household_id", "match_status", "match_method", "match_score", "name_id_conflict"
            ).get_columns()
        )
        by_sector.setdefault(loaded.sector, []).append(joined)
    # A sector whose files hold no data rows is no evidence at all (not "nobody is in it"):
    # left out, so no rule, cross check or stock-take reads it (coverage says why).
    merged = {s: pl.concat(frames, how="diagonal_relaxed") for s, frames in by_sector.items()}
    return {s: f for s, f in merged.items() if f.height}


def _review_queue(
    links: pl.DataFrame, extracts: dict[str, pl.DataFrame], roster: pl.DataFrame, full_ids: bool
) -> pl.DataFrame:
    """The review queue: both records side by side."""
    review = links.filter(pl.col("match_status") == "review")
    if review.height == 0:
        return pl.DataFrame(schema={c: pl.String for c in ("sector", "source_file")})
    ext_cols = {"name": "extract_name", "id_number": "extract_id", "birth_any": "extract_birth",
                "township": "extract_township", "village": "extract_village"}
    ext = pl.concat(
        [f.select(["source_file", "source_row", *[c for c in ext_cols if c in f.columns]]) for f in extracts.values()],
        how="diagonal_relaxed",
    ).rename({k: v for k, v in ext_cols.items()}, strict=False)
    ros_cols = {"source_row": "roster_row", "name": "roster_name", "id_number": "roster_id",
                "id_birth": "roster_birth", "township": "roster_township", "village": "roster_village"}
    ros = roster.select([c for c in ros_cols if c in roster.columns]).rename(ros_cols, strict=False)
    out = (
        review.join(ext, on=["source_file", "source_row"], how="left")
        .join(ros, on="roster_row", how="left")
    )
    out = mask_columns(out, ["extract_id", "roster_id"], full_ids=full_ids)
    keep = ["sector", "source_file", "source_row", "extract_name", "extract_id", "extract_birth",
            "extract_township", "extract_village", "roster_row", "household_id", "roster_name",
            "roster_id", "roster_birth", "roster_township", "roster_village", "match_score", "reason"]
    return out.select([c for c in keep if c in out.columns])


def run_job(
    config: RunConfig,
    out_dir: Path,
    *,
    full_ids: bool = False,
    progress: Progress | None = None,
    split: str = "township",
) -> RunResult:
    """Run the whole monthly job and write every output into `out_dir`; `split` also writes
    one workbook per 乡镇 ("township") or 村 ("village") beside report.xlsx ("none": not)."""
    from fanpin_cli.flagging import load_rules
    from fanpin_cli.linking import link
    from fanpin_cli.quality import (
        attach_places,
        check_cross,
        check_file,
        quality_summary,
        scorecard,
        stocktake,
    )
    started = time.perf_counter()
    stages: list[Stage] = []
    say = progress or (lambda _stage: None)
    clock = [time.perf_counter()]

    def done(name: str) -> None:
        now = time.perf_counter()
        stages.append(Stage(name, now - clock[0]))
        clock[0] = now

    rules = load_rules()  # a bad rule file stops the run before any work
    ref = config.reference_date

    # Files are independent until linking is done: two workers overlap polars/fastexcel work
    # (which releases the GIL) across files on the 2-core machines counties run this on.
    # Rules need only the links: a worker evaluates them and starts report.xlsx (in a child
    # process) while the quality checks run.
    with ThreadPoolExecutor(max_workers=1) as rules_pool:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            say(STAGES[0])
            loaded = list(pool.map(load_input, config.inputs))
            roster_loaded, extracts_loaded = loaded[0], loaded[1:]
            statuses = rule_statuses(rules, [available(lf) for lf in loaded], config.rules)
            done(STAGES[0])

            say(STAGES[1])
            frames = list(pool.map(lambda lf: prepare(lf.frame, ref), loaded))
            roster = frames[0]
            prepared = list(zip(extracts_loaded, frames[1:], strict=True))
            done(STAGES[1])

            say(STAGES[2])
            links_each = list(pool.map(lambda item: link(roster, item[1], sector=item[0].sector), prepared))
            evidence = _evidence(prepared, links_each)
            links = pl.concat(links_each, how="diagonal_relaxed") if links_each else pl.DataFrame(
                schema={c: pl.String for c in LINKS_CSV_COLUMNS}
            )
            out_dir.mkdir(parents=True, exist_ok=True)
            flag_future = rules_pool.submit(
                _flag_stage, config, rules, roster, evidence, links, out_dir, full_ids, split, statuses
            )
            done(STAGES[2])

            try:
                say(STAGES[3])
                issue_frames = list(
                    pool.map(
                        lambda item: check_file(item[1], item[0].sector, headings=item[0].headings, reference_date=ref,
                                                overrides=dict(config.rules)),
                        zip(loaded, frames, strict=True),
                    )
                )
            except BaseException:
                _abandon(flag_future)
                raise
        try:
            headings = {"roster": roster_loaded.headings} | {lf.sector: lf.headings for lf in extracts_loaded}
            issue_frames.append(check_cross(roster, evidence, reference_date=ref, headings=headings))
            issues = attach_places(pl.concat(issue_frames, how="diagonal_relaxed"), roster, evidence)
            stock_counts, stock_lists = stocktake(roster, evidence)
            cards = scorecard(roster, issues, evidence)
            done(STAGES[3])
            say(STAGES[4])
            flagged = flag_future.result()
        except BaseException:
            _abandon(flag_future)
            raise
    done(STAGES[4])

    say(STAGES[5])
    try:
        inputs = [_input_entry(roster_loaded, None, roster)] + [
            _input_entry(lf, lk, fr) for (lf, fr), lk in zip(prepared, links_each, strict=True)
        ]
        for entry, lf in zip(inputs, loaded, strict=True):
            entry.update(input_coverage(lf, rules))
        summary: dict[str, Any] = {
            "version": __version__,
            "county": config.county,
            "period": config.period,
            "reference_date": ref.isoformat(),
            "config": str(config.config_path.name),
            "full_ids": full_ids,
            "inputs": inputs,
            "links": _link_totals(links),
            "rules": annotate_rule_entries(_rule_entries(rules, flagged.rule_counts), statuses),
            "households_flagged": _level_totals(flagged.area_counts),
            "quality": _quality_with_statuses(quality_summary(issues), loaded),
            "stocktake": stock_counts.to_dicts(),
            "scorecard": cards.to_dicts() if cards is not None else [],
        }
        job = JobData(config, evidence, links, issues, flagged, cards, stock_counts, stock_lists, summary, roster)
    except BaseException:
        flagged.report.abort()
        raise
    outputs = _write_outputs(out_dir, job, full_ids)
    done(STAGES[5])
    summary["elapsed_seconds"] = round(time.perf_counter() - started, 3)
    summary["stages"] = {s.name: round(s.seconds, 3) for s in stages}
    write_json(summary, out_dir / "summary.json")
    write_log(out_dir / "fanpin.log", summary)
    outputs += [out_dir / "summary.json", out_dir / "fanpin.log"]
    return RunResult(out_dir, summary, links, flagged.flags, issues, stages, outputs)


def _flag_stage(
    config: RunConfig,
    rules: list[Any],
    roster: pl.DataFrame,
    evidence: dict[str, pl.DataFrame],
    links: pl.DataFrame,
    out_dir: Path,
    full_ids: bool,
    split: str = "township",
    statuses: dict[str, Any] | None = None,
) -> FlagStage:
    """Evaluate the rules, build what needs only flags and links, and start report.xlsx."""
    from fanpin_cli.flagging import evaluate, household_summary
    from fanpin_cli.report import ReportData, RuleInfo
    from fanpin_cli.report.background import start_report

    flags = evaluate(rules, roster, evidence, reference_date=config.reference_date, overrides=dict(config.rules),
                     statuses=statuses)
    rule_counts, area_counts = household_summary(flags, roster)
    flags_out = mask_columns(_with_person(flags, roster, evidence), ["id_number"], full_ids=full_ids)
    review = _review_queue(links, evidence, roster, full_ids)
    first = ReportData(
        county=config.county,
        period=config.period,
        reference_date=config.reference_date,
        version=__version__,
        rules=[RuleInfo(r.rule_id, r.title, r.level, _reason(statuses, r.rule_id)) for r in rules],
        flags=flags_out,
        rule_counts=rule_counts,
        area_counts=area_counts,
        quality=pl.DataFrame(),
        review=review,
        members=roster.select(
            [c for c in ("household_id", "source_row", "township", "village") if c in roster.columns]
        ),
        split=split,
        html=True,
    )
    report = start_report(out_dir / "report.xlsx", first)
    return FlagStage(flags, rule_counts, area_counts, flags_out, review, report)


def _reason(statuses: dict[str, Any] | None, rule_id: str) -> str | None:
    """Why a rule was not evaluated (None when it was)."""
    status = (statuses or {}).get(rule_id)
    return None if status is None or status.evaluated else status.reason


def _quality_with_statuses(quality: dict[str, Any], loaded: list[LoadedFile], *, single: bool = False) -> dict[str, Any]:
    """The quality summary with `status`/`reason` on every check of the catalogue."""
    from fanpin_cli.quality.status import check_statuses, with_statuses

    statuses = check_statuses([available(lf) for lf in loaded])
    if single:  # `fanpin validate`: only the checks that apply to this one file
        from fanpin_cli.quality import CHECK_INDEX

        sector = loaded[0].sector
        statuses = {
            cid: s for cid, s in statuses.items()
            if CHECK_INDEX[cid].scope == "all" or CHECK_INDEX[cid].scope == ("roster" if sector == "roster" else "extracts")
        }
    quality["by_check"] = with_statuses(quality.get("by_check") or {}, statuses)
    return quality


def _with_person(
    flags: pl.DataFrame, roster: pl.DataFrame, evidence: dict[str, pl.DataFrame] | None = None
) -> pl.DataFrame:
    """Add the flagged person's 证件号码, 组 and 与户主关系 from the roster; household-level flags
    (no roster_row) show the household's 户主, by whom villages know a household; flags on a
    person not in the roster (应纳未纳) show the ID of their own extract row."""
    extra = [c for c in ("group", "relation") if c in roster.columns]
    person = roster.select(pl.col("source_row").alias("roster_row"), "id_number", *extra)
    out = flags.join(person, on="roster_row", how="left", maintain_order="left")
    rows = [
        f.select("source_file", "source_row", pl.col("id_number").alias("_row_id"))
        for f in (evidence or {}).values()
        if "id_number" in f.columns
    ]
    if rows:
        own = pl.concat(rows, how="vertical_relaxed")
        outside = pl.col("roster_row").is_null() & pl.col("household_id").is_null()
        out = out.join(own, on=["source_file", "source_row"], how="left", maintain_order="left").with_columns(
            pl.when(outside).then(pl.col("_row_id")).otherwise(pl.col("id_number")).alias("id_number")
        ).drop("_row_id")
    if "relation" not in roster.columns or "household_id" not in roster.columns:
        return out
    heads = (
        roster.filter(pl.col("relation").str.contains("户主"))
        .unique("household_id", keep="first", maintain_order=True)
        .select("household_id", *[pl.col(c).alias(f"head_{c}") for c in ("id_number", *extra)])
    )
    household_level = pl.col("roster_row").is_null()
    return out.join(heads, on="household_id", how="left", maintain_order="left").with_columns(
        [pl.when(household_level).then(pl.col(f"head_{c}")).otherwise(pl.col(c)).alias(c) for c in ("id_number", *extra)]
    ).drop([f"head_{c}" for c in ("id_number", *extra)])


def _abandon(future: Any) -> None:
    """After a failure elsewhere: wait for the rules worker and drop its unfinished report."""
    try:
        future.result().report.abort()
    except BaseException:  # noqa: BLE001 - the original error is the one to report
        pass


def write_log(path: Path, summary: dict[str, Any]) -> None:
    """A short plain-text run log: inputs, stage timings, results. Never an ID number."""
    from datetime import datetime

    lines = [
        f"{datetime.now().isoformat(timespec='seconds')} fanpin {summary['version']} "
        f"{summary['county']} {summary['period']} 基准日 {summary['reference_date']}",
    ]
    for e in summary["inputs"]:
        linked = (
            f"，关联 {e['rows_linked']}，待核实 {e['rows_review']}，未关联 {e['rows_unlinked']}"
            if e["rows_linked"] is not None
            else ""
        )
        lines.append(
            f"读取 {e['file']}（{e['sector']}）：{e['rows_read']} 行，空行 {e['rows_blank']}{linked}，"
            f"sha256 {e['sha256'][:16]}…"
        )
    lines += file_notes(summary["inputs"])
    for stage, seconds in summary.get("stages", {}).items():
        lines.append(f"阶段 {stage}：{seconds:.2f} 秒")
    for r in summary.get("rules", []):
        lines.append(f"规则 {r['rule_id']} {r['title']}：{r['text']}")
    for cid, c in (summary.get("quality", {}).get("by_check") or {}).items():
        if c.get("status") == "not_evaluated":
            lines.append(f"检查 {cid} 未评估：{c.get('reason', '')}")
    lines.append(f"数据质量问题 {summary.get('quality', {}).get('issues', 0)} 条；用时 {summary.get('elapsed_seconds')} 秒")
    from fanpin_cli.outputs import atomic_write_bytes

    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode("utf-8"))


def _link_totals(links: pl.DataFrame) -> list[dict[str, Any]]:
    if links.height == 0:
        return []
    return (
        links.group_by("sector", "match_status", "match_method")
        .len("rows")
        .sort("sector", "match_status", "match_method")
        .to_dicts()
    )


def _rule_entries(rules: list[Any], rule_counts: pl.DataFrame) -> list[dict[str, Any]]:
    counts = {r["rule_id"]: r for r in rule_counts.to_dicts()} if rule_counts.height else {}
    out = []
    for rule in rules:
        c = counts.get(rule.rule_id, {})
        households = int(c.get("households", 0) or 0)
        persons = int(c.get("persons", 0) or 0)
        out.append({
            "rule_id": rule.rule_id, "title": rule.title, "level": rule.level,
            "households": households, "persons": persons, "text": f"{households}户{persons}人",
            # Flags that wait for a review item or an ID correction (evidence_status
            # pending_review): listed apart, not in the counts above.
            "pending_households": int(c.get("pending_households", 0) or 0),
            "pending_persons": int(c.get("pending_persons", 0) or 0),
        })
    return out


def _level_totals(area_counts: pl.DataFrame) -> dict[str, int]:
    totals = {}
    for level in ("red", "yellow", "blue"):
        col = f"households_{level}"
        totals[level] = int(area_counts[col].sum()) if col in area_counts.columns else 0
    # Households whose only flags are pending_review (not in the level totals).
    pend = "pending_households"
    totals["pending_review"] = int(area_counts[pend].sum()) if pend in area_counts.columns else 0
    return totals


def _write_outputs(out_dir: Path, job: JobData, full_ids: bool) -> list[Path]:
    """links.csv, flags.csv, quality_issues.csv, review.csv, stocktake.csv, and the rest of
    report.xlsx (summary.json is written last by run_job); the child process finishes the
    workbook while the CSVs are written here."""
    config, links, issues, flagged = job.config, job.links, job.issues, job.flagged
    try:
        # links.csv: contract columns, then the row's name and (masked) ID to help a person.
        links_out = links
        if job.evidence and links.height:
            extract_ids = pl.concat(
                [f.select("source_file", "source_row", "name", "id_number") for f in job.evidence.values()],
                how="diagonal_relaxed",
            )
            links_out = links.join(extract_ids, on=["source_file", "source_row"], how="left", maintain_order="left")
            links_out = mask_columns(links_out, ["id_number"], full_ids=full_ids)
        per_file = pl.DataFrame([
            {k: e[k] for k in ("file", "sector", "rows_read", "rows_linked", "rows_review", "rows_unlinked", "rows_rejected")}
            for e in job.summary["inputs"][1:]
        ]) if len(job.summary["inputs"]) > 1 else None
        csvs = {
            "links.csv": _select(links_out, LINKS_CSV_COLUMNS + ["name", "id_number"]),
            "flags.csv": _select(flagged.flags_out, FLAGS_CSV_COLUMNS + ["title", "id_number"]),
            "quality_issues.csv": _select(issues, ISSUES_CSV_COLUMNS + ["field", "household_id", "township", "village"]),
            "review.csv": flagged.review,
            "stocktake.csv": _stocktake_list(job.stocktake_lists, full_ids),
        }
        rest = {
            "quality": issues,
            "quality_detail": _with_names(_village_issues(issues, config.roster.source_file), job),
            "scorecard": job.scorecard,
            "stocktake": job.stocktake,
            "links_by_sector": per_file,
            "file_notes": file_notes(job.summary["inputs"]),
        }
    except BaseException:
        flagged.report.abort()
        raise
    with ThreadPoolExecutor(max_workers=1) as pool:
        workbook = pool.submit(flagged.report.finish, **rest)
        try:
            for name, frame in csvs.items():
                write_csv(frame, out_dir / name)
        finally:
            job.summary["report_process_peak_mb"] = workbook.result()
    return [out_dir / name for name in csvs] + [out_dir / "report.xlsx", out_dir / "summary.html"]


# Checks comparing the roster with a sector's data: the village acts on these even when the row
# that shows them is in the sector's file.
CROSS_CHECKS = ("NAME_ID_CONFLICT", "INSURED_CONFLICT", "DECEASED_LISTED", "SEX_ID_CONFLICT", "BIRTH_ID_CONFLICT")


def _with_names(issues: pl.DataFrame, job: JobData) -> pl.DataFrame:
    """Each issue with the 姓名 of its row (the roster's or the extract's own), so that the
    village knows whom a 数据质量 line is about."""
    frames = [job.roster, *job.evidence.values()] if job.roster is not None else list(job.evidence.values())
    names = [f.select("source_file", "source_row", pl.col("name").cast(pl.String)) for f in frames if "name" in f.columns]
    if not names or issues.height == 0:
        return issues
    lookup = pl.concat(names, how="vertical_relaxed").unique(["source_file", "source_row"], keep="first")
    return issues.drop("name", strict=False).join(lookup, on=["source_file", "source_row"], how="left", maintain_order="left")


def _village_issues(issues: pl.DataFrame, roster_file: str) -> pl.DataFrame:
    """The issues a village can act on (the workbook's 数据质量 sheet): those in the roster and
    the roster-vs-sector conflicts of roster persons. Format faults inside a sector's own file
    are the department's to fix; every issue stays in quality_issues.csv."""
    if issues.height == 0:
        return issues
    return issues.filter(
        (pl.col("source_file") == roster_file)
        | (pl.col("check_id").is_in(CROSS_CHECKS) & pl.col("household_id").is_not_null())
    )


STOCKTAKE_KINDS = {"roster_only": "账有实无", "mismatch": "信息不一致"}


def _stocktake_list(lists: dict[str, pl.DataFrame], full_ids: bool) -> pl.DataFrame:
    """账账相符 lists: roster persons with no row in a sector (账有实无) and attribute
    mismatches between linked rows (信息不一致). Sector-only rows (实有账无) are the unlinked
    rows of links.csv and matched rows its linked ones, so they are not repeated here."""
    parts = [
        lists[key].with_columns(pl.lit(kind).alias("kind"))
        for key, kind in STOCKTAKE_KINDS.items()
        if key in lists and lists[key].height
    ]
    if not parts:
        return pl.DataFrame(schema={"kind": pl.String, "sector": pl.String})
    frame = pl.concat(parts, how="diagonal_relaxed")
    ids = pl.col("field") == "id_number" if "field" in frame.columns else pl.lit(False)
    if not full_ids:
        frame = frame.with_columns(
            [pl.when(ids).then(mask_id(pl.col(c))).otherwise(pl.col(c)).alias(c)
             for c in ("extract_value", "roster_value") if c in frame.columns]
        )
    return frame.select("kind", *[c for c in frame.columns if c != "kind"])


def _select(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The listed columns that `frame` has, in that order."""
    return frame.select([c for c in columns if c in frame.columns])


def validate_file(
    path: Path,
    sector: str,
    out_dir: Path | None,
    *,
    reference_date: date | None = None,
    sheet: str | int | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Load and check one file; write quality_issues.csv and summary.json when `out_dir` is set."""
    started = time.perf_counter()
    ref = reference_date or date.today()
    loaded = load_file(path, sector, sheet=sheet, header_row=header_row, encoding=encoding)
    from fanpin_cli.flagging import load_rules
    from fanpin_cli.quality import check_file, quality_summary

    frame = prepare(loaded.frame, ref)
    issues = check_file(frame, sector, headings=loaded.headings, reference_date=ref)
    summary = {
        "version": __version__,
        "reference_date": ref.isoformat(),
        "inputs": [_input_entry(loaded, None, frame) | input_coverage(loaded, load_rules())],
        "quality": _quality_with_statuses(quality_summary(issues), [loaded], single=True),
        "elapsed_seconds": round(time.perf_counter() - started, 3),
    }
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_csv(_select(issues, ISSUES_CSV_COLUMNS + ["field"]), out_dir / "quality_issues.csv")
        write_json(summary, out_dir / "summary.json")
    return summary, issues
