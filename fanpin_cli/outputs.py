"""Write outputs atomically (temp name in the same folder, then rename) and mask IDs.

CSV files are UTF-8 with a BOM so that Excel and WPS open the Chinese text correctly.

>>> import polars as pl
>>> mask_columns(pl.DataFrame({"id_number": ["433127199001011238"]}), ["id_number"]).item()
'433127***********8'
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import polars as pl

from fanpin_cli.notes import file_notes
from fanpin_cli.privacy import KEY_COLUMNS, mask_data, mask_frame, mask_text
from fanpin_cli.tables import C

if TYPE_CHECKING:
    from concurrent.futures import Future


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file in the same folder and os.replace."""
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write(fh)` on a temp file in the same folder, then fsync and os.replace onto
    `path` (no partial file is ever left under `path`).

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.bin"
    >>> atomic_write(target, lambda fh: fh.write("乙".encode()))
    >>> target.read_text(encoding="utf-8")
    '乙'
    """
    def by_name(name: str) -> None:
        with open(name, "wb") as fh:
            write(fh)

    _replace_atomically(path, by_name)


def atomic_write_named(path: Path, write: Callable[[str], object]) -> None:
    """`atomic_write` for a writer that opens the file itself: `write(name)` writes the temp
    file `name` (in the same folder), which is then fsynced and moved onto `path`.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write_named(target, lambda name: Path(name).write_text("甲"))
    >>> target.read_text()
    '甲'
    """
    _replace_atomically(path, write)


def _replace_atomically(path: Path, write: Callable[[str], object]) -> None:
    """What both `atomic_write`s do: a temp file made beside `path` (the user's umask, as a
    plain open would give), `write(name)` fills it, then it is fsynced and moved onto `path`;
    on any error it is removed. (The public two are separate names: tests/faults hook each.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        write(tmp)
        fd = os.open(tmp, os.O_RDWR)  # writable: Windows flushes only a handle open for writing
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Cells a spreadsheet would read as a formula (OWASP "CSV injection"): = + - @ TAB CR first,
# also after leading spaces. They are written with an apostrophe in front, which Excel, WPS and
# LibreOffice show as text; a script gets the raw value back by removing that one apostrophe
# (summary.json `csv_formula_guard` says so).
FORMULA_START = r"^(?:[=+\-@\t\r]|[ \u3000]+[=+\-@])"
FORMULA_GUARD = {
    "prefix": "'",
    "applies_to": "text cells starting with = + - @ TAB or CR (also after spaces)",
    "raw_value": "remove the one leading apostrophe from such a cell",
}


def guard_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    r"""Text cells that a spreadsheet would evaluate, prefixed with an apostrophe.

    >>> guard_formulas(pl.DataFrame({"a": ["=1+1", "-5", "张三", "\t@x"]}))["a"].to_list()
    ["'=1+1", "'-5", '张三', "'\t@x"]
    """
    cols = [c for c, t in frame.schema.items() if t == pl.String]
    if not cols:
        return frame
    return frame.with_columns([
        pl.when(pl.col(c).str.contains(FORMULA_START)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in cols
    ])


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """CSV (UTF-8 with BOM), formula-like cells guarded (`guard_formulas`), written atomically."""
    guarded = guard_formulas(frame)
    # polars writes to the temp file's name itself: given a Python file object it would call
    # back into the interpreter for every chunk (the 318 MB links.csv at 50,000 households:
    # ~0.2 s more CPU, and the interpreter lock taken from the workbooks written beside it)
    atomic_write_named(path, lambda name: guarded.write_csv(name, include_bom=True))


def write_json(data: Any, path: Path) -> None:
    """Pretty JSON (UTF-8, Chinese kept readable), written atomically."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


def mask_columns(frame: pl.DataFrame, columns: Iterable[str], *, full_ids: bool = False) -> pl.DataFrame:
    """Mask the ID columns present in `frame` (unless `full_ids`), each as `idnum.mask_id`
    masks it (`masked_ids`)."""
    if full_ids:
        return frame
    present = [c for c in columns if c in frame.columns]
    return frame.with_columns([masked_ids(frame[c]) for c in present]) if present else frame


# An ID of 17 digits and a check character: `mask_id` keeps its first 6 characters and its last.
_PLAIN_ID = r"^[0-9]{17}[0-9Xx]$"
_PLAIN_STARS = "*" * 11


def masked_ids(ids: pl.Series) -> pl.Series:
    """`idnum.mask_id` of every value of `ids`, cheaper: most values of an ID column are
    plain 18-character IDs, whose masked form is their first 6 characters, 11 stars and the
    last (three cheap string steps); only the other values (damaged, short, scientific
    notation, null) go through `mask_id`'s every branch. The column keeps the chunks of the
    frame it is put back into (a column cut otherwise would have every other column of the
    frame copied into one chunk by the next query on it): masked as one column (a few queries,
    not a few per chunk: links.csv's column has a chunk per file and more), then cut where the
    chunks were (slices of it, nothing copied).

    >>> masked_ids(pl.Series("id", ["433127199001011238", "4.33127199001011E+17", None, "12345"])).to_list()
    ['433127***********8', '4.33127…E+17', None, '12345']
    >>> two = pl.concat([pl.Series("id", ["433127199001011238"]), pl.Series("id", ["12", None])], rechunk=False)
    >>> masked_ids(two).to_list(), [len(c) for c in masked_ids(two).get_chunks()]
    (['433127***********8', '12', None], [1, 2])
    """
    text = ids.cast(pl.String)
    if text.n_chunks() == 1:
        return _masked_ids(text).alias(ids.name)
    lengths = [len(chunk) for chunk in text.get_chunks()]
    masked = _masked_ids(text.rechunk())
    starts = itertools.accumulate(lengths[:-1], initial=0)
    return pl.concat([masked.slice(start, n) for start, n in zip(starts, lengths, strict=True)],
                     rechunk=False).alias(ids.name)


def _masked_ids(text: pl.Series) -> pl.Series:
    # imported here: the report process imports this module (atomic_write) but never needs idnum
    from fanpin_cli.idnum import mask_id

    other = (~text.str.contains(_PLAIN_ID)).fill_null(True).arg_true()
    if other.len() == text.len():
        return text.to_frame("v").select(mask_id(pl.col("v"))).to_series()
    masked = pl.DataFrame({"h": text.str.slice(0, 6), "t": text.str.slice(17, 1)}).select(
        pl.concat_str(pl.col("h"), pl.lit(_PLAIN_STARS), pl.col("t"))
    ).to_series()
    if other.len():
        masked = masked.scatter(other, text.gather(other).to_frame("v").select(mask_id(pl.col("v"))).to_series())
    return masked


# ---------------------------------------------------------------------------------------------
# The run's output folder: the one place where IDs are masked and files are written.

# Per declared table: the columns that hold ID numbers.
ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "links": (C.id_number,),
    "flags": (C.id_number,),
    "review": (C.extract_id, C.roster_id),
    "resolved": (C.id_number,),
    "exempted": (C.id_number,),
}


def mask_table(name: str, frame: pl.DataFrame, *, full_ids: bool = False) -> pl.DataFrame:
    """`frame` (declared table `name`) as it may leave the program: its ID columns masked and
    any ID-like number in any other text column too (`privacy.mask_frame`), unless `full_ids`."""
    if full_ids:
        return frame
    ids = ID_COLUMNS.get(name, ())
    # An ID column masked by `mask_id` shows at most 7 of its characters (6 + 1, or a
    # mantissa's 6 digits and its exponent): no run of MIN_DIGITS digits is left in it for
    # `mask_frame` to find, so it is not searched again.
    frame = mask_frame(mask_columns(frame, ids), skip=(*KEY_COLUMNS, *ids))
    if name == "stocktake" and "field" in frame.columns:
        from fanpin_cli.idnum import mask_id

        ids = pl.col("field") == C.id_number
        frame = frame.with_columns(
            [pl.when(ids).then(mask_id(pl.col(c))).otherwise(pl.col(c)).alias(c)
             for c in (C.extract_value, C.roster_value) if c in frame.columns]
        )
    return frame


def _report_first(config: Any, flags: pl.DataFrame, review: pl.DataFrame, rule_counts: pl.DataFrame,
                  area_counts: pl.DataFrame, rules: list[Any], full_ids: bool, members: pl.DataFrame | None,
                  split: str, quality_detail: pl.DataFrame | None) -> Any:
    """What the workbook can start with: the flags, the review queue and the 数据质量 list (its
    rows count when the workbook decides whether it is small enough to stay in memory)."""
    from fanpin_cli import __version__
    from fanpin_cli.report import ReportData
    from fanpin_cli.report.model import check_titles

    return ReportData(
        county=config.county if full_ids else mask_text(config.county),
        period=config.period,
        reference_date=config.reference_date,
        version=__version__,
        rules=rules,
        flags=mask_table("flags", flags, full_ids=full_ids),
        rule_counts=rule_counts,
        # (乡镇/村 names: a workbook's name, 汇总 and summary.html; an ID typed there masked as in the flags)
        area_counts=area_counts if full_ids else mask_frame(area_counts),
        quality=pl.DataFrame(),
        review=mask_table("review", review, full_ids=full_ids),
        quality_detail=quality_detail if full_ids or quality_detail is None else mask_frame(quality_detail),
        members=members if full_ids or members is None else mask_frame(members),
        split=split,
        html=True,
        check_titles=check_titles(),  # the report process then never imports the quality checks
    )


def start_workbook(config: Any, flagged: Any, out_dir: Path, *, full_ids: bool = False,
                   split: str = C.township, started: Any = None) -> Any:
    """Start report.xlsx (+ summary.html, per-area workbooks) in a child process from the flags
    (pipeline.FlagResult); `started`: the process `prestart_workbook` started for it."""
    from fanpin_cli.report.background import start_report

    first = _report_first(config, flagged.flags, flagged.review, flagged.rule_counts, flagged.area_counts,
                          flagged.rules, full_ids, flagged.members, split, flagged.quality_detail)
    report = start_report(out_dir / "report.xlsx", first, started)
    report.masked = _masked_first(flagged.flags, flagged.review, flagged.quality_detail, first)
    return report


def early_workbook(flagged: Any) -> bool:
    """Whether the workbook may start as soon as the rules are evaluated (`compute`'s
    `on_rules`; pipeline.FlagResult without its `quality_detail` yet), beside the last quality
    checks: where its first sheets are few enough rows to be written in memory
    (`model.MEMORY_ROWS`, as `memrows.small_workbook` counts them: a small county, whose
    process then holds little while the checks end). Decided without importing the writer,
    which this process needs only later; whether this xlsxwriter lets the workbook be kept in
    memory (`memrows.supported`) is the writer's own choice then, and changes no cell. A larger
    county's workbook starts once the checks are done (`on_flags`), past their memory peak. The
    数据质量 list is then sent with the rest (`write_outputs`).

    >>> from types import SimpleNamespace
    >>> early_workbook(SimpleNamespace(flags=pl.DataFrame({"a": [1, 2]}), review=pl.DataFrame()))
    True
    """
    from fanpin_cli.report.model import MEMORY_ROWS

    return flagged.flags.height + flagged.review.height <= MEMORY_ROWS


def _masked_first(flags: pl.DataFrame, review: pl.DataFrame, quality_detail: pl.DataFrame | None,
                  first: Any) -> dict[str, tuple[Any, Any]]:
    """The tables `_report_first` masked for the workbook, kept for the CSV files (`_shown`)
    and `write_outputs`: table name → (the frame given, its masked form)."""
    masked = {"flags": (flags, first.flags), "review": (review, first.review)}
    if quality_detail is not None:
        masked["quality_detail"] = (quality_detail, first.quality_detail)
    return masked


def _shown(name: str, frame: pl.DataFrame, known: dict[str, tuple[pl.DataFrame, pl.DataFrame]], *,
           full_ids: bool = False) -> pl.DataFrame:
    """`mask_table(name, frame)`, or the masked form of this very frame made before (`known`:
    table name → (frame, masked frame), e.g. for the workbook): each table is masked once.

    >>> frame = pl.DataFrame({"id_number": ["433127199001011238"]})
    >>> masked = mask_table("flags", frame)
    >>> _shown("flags", frame, {"flags": (frame, masked)}) is masked
    True
    >>> _shown("flags", frame.clone(), {"flags": (frame, masked)}).item()  # another frame: masked here
    '433127***********8'
    """
    given, masked = known.get(name, (None, None))
    if given is frame and masked is not None:
        return masked
    return mask_table(name, frame, full_ids=full_ids)


def prestart_workbook(out_dir: Path | None = None) -> Any:
    """The report.xlsx process started before the run reads anything (None where processes
    cannot be started): `start_workbook(..., started=)` gives it its data (and the folder,
    when `out_dir` is None: the process may start before the run's folder exists)."""
    from fanpin_cli.report.background import prestart_report

    return prestart_report(None if out_dir is None else out_dir / "report.xlsx")


def _workbook_rest(artifacts: Any, full_ids: bool) -> dict[str, Any]:
    def shown(frame: pl.DataFrame) -> pl.DataFrame:
        return frame if full_ids else mask_frame(frame)

    notes = file_notes([i.to_dict() for i in artifacts.summary.inputs])
    return {
        "quality": shown(artifacts.issues),
        "scorecard": shown(artifacts.scorecard),
        "stocktake": shown(artifacts.stocktake_counts),
        "links_by_sector": shown(artifacts.link_counts) if artifacts.link_counts.height else None,
        "file_notes": notes if full_ids else [mask_text(n) for n in notes],
        "resolved": shown(artifacts.resolved) if artifacts.summary.history is not None else None,
    }


def write_table_csv(name: str, frame: pl.DataFrame, out_dir: Path, *, full_ids: bool = False,
                    known: dict[str, tuple[pl.DataFrame, pl.DataFrame]] | None = None) -> Path:
    """Declared table `name`'s CSV file in `out_dir`, `frame` masked as it may leave the program
    (`mask_table`, or its masked form made before: `known`, as `_shown` takes it): each CSV file
    `write_outputs` writes.

    >>> import tempfile
    >>> from fanpin_cli.tables import TABLES
    >>> path = write_table_csv("links", TABLES["links"].empty(), Path(tempfile.mkdtemp()))
    >>> path.name, path.read_text(encoding="utf-8-sig").startswith("sector,")
    ('links.csv', True)
    """
    from fanpin_cli.tables import TABLES

    table = TABLES[name]
    path = out_dir / table.file
    write_csv(table.for_csv(_shown(name, frame, known or {}, full_ids=full_ids)), path)
    return path


def write_outputs(
    artifacts: Any,
    out_dir: Path,
    *,
    full_ids: bool = False,
    report: Any = None,
    started: float | None = None,
    split: str = C.township,
    written: Mapping[str, Future] | None = None,
) -> list[Path]:
    """Write a run's `RunArtifacts` into `out_dir`: the CSVs (tables.CSV_TABLES), report.xlsx,
    summary.json and fanpin.log. IDs are masked here unless `full_ids`. `report` is a workbook
    already started by `start_workbook` (else it is written here, in this process). `written`:
    tables whose CSV file is being written already (`write_table_csv` of these very artifacts'
    frames, into `out_dir`), each by the future given: waited for, its error raised here."""
    import time
    from concurrent.futures import ThreadPoolExecutor

    from fanpin_cli.report.background import InlineReport
    from fanpin_cli.tables import CSV_TABLES, TABLES

    clock = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = artifacts.summary
    if report is None:
        config = _ConfigView(summary)
        first = _report_first(config, artifacts.flags, artifacts.review, artifacts.rule_counts,
                              artifacts.area_counts, artifacts.rules, full_ids, artifacts.members, split,
                              artifacts.quality_detail)
        report = InlineReport(out_dir / "report.xlsx", first)
        report.masked = _masked_first(artifacts.flags, artifacts.review, artifacts.quality_detail, first)
    names = CSV_TABLES + (("resolved", "exempted") if summary.history is not None else ())
    given = getattr(report, "masked", {})
    try:
        rest = _workbook_rest(artifacts, full_ids)
        if artifacts.quality_detail is not None and "quality_detail" not in given:  # started early (`early_workbook`)
            rest["quality_detail"] = artifacts.quality_detail if full_ids else mask_frame(artifacts.quality_detail)
    except BaseException:
        report.abort()
        raise
    # Tables masked for the workbook already (flags, review; the issues for 数据质量, masked as
    # their CSV masks them): not masked again for their CSV files.
    known = {} if full_ids else {**given, "issues": (artifacts.issues, rest["quality"])}
    with ThreadPoolExecutor(max_workers=1) as pool:
        workbook = pool.submit(report.finish, **rest)
        try:
            # One table at a time: masked, written, dropped (never every masked copy at once).
            for name in names:
                if written and name in written:
                    written[name].result()
                else:
                    write_table_csv(name, getattr(artifacts, name), out_dir, full_ids=full_ids, known=known)
        except BaseException:  # (Ctrl-C too) the workbook's end waited for, its own error not said over this one
            with contextlib.suppress(BaseException):
                workbook.result()
            raise
        summary.report_process_peak_mb = workbook.result()
    from fanpin_cli.artifacts import Stage

    summary.stages = [s for s in summary.stages if s.name != "写出结果"] + [Stage("写出结果", time.perf_counter() - clock)]
    summary.full_ids = full_ids
    if started is not None:
        summary.elapsed_seconds = round(time.perf_counter() - started, 3)
    data = summary.to_dict() | {"csv_formula_guard": FORMULA_GUARD}
    write_json(data if full_ids else mask_data(data), out_dir / "summary.json")
    write_log(out_dir / "fanpin.log", data)
    return [out_dir / TABLES[name].file for name in names] + [
        out_dir / n for n in ("report.xlsx", "summary.html", "summary.json", "fanpin.log")
    ]


class _ConfigView:
    """What the workbook needs of the config, taken from the summary."""

    def __init__(self, summary: Any) -> None:
        from datetime import date

        self.county = summary.county
        self.period = summary.period
        self.reference_date = date.fromisoformat(summary.reference_date)


def write_log(path: Path, summary: dict[str, Any]) -> None:
    """A short plain-text run log: inputs, stage timings, results. Never an ID number."""
    from datetime import datetime

    lines = [
        f"{datetime.now().isoformat(timespec='seconds')} fanpin {summary['version']} "
        f"{summary['county']} {summary['period']} 基准日 {summary['reference_date']}",
    ]
    for e in summary["inputs"]:
        linked = (
            f"，关联 {e[C.rows_linked]}，待核实 {e[C.rows_review]}，未关联 {e[C.rows_unlinked]}"
            if e[C.rows_linked] is not None
            else ""
        )
        part = e.get("province_extract")
        rows = (
            f"全省数据 {part['rows_in_file']} 行中本县 {e[C.rows_read]} 行（第 {part['first_row']}–{part['last_row']} 行之间）"
            if part else f"{e[C.rows_read]} 行"
        )
        digest = f"sha256 {e['sha256'][:16]}…" if e["sha256"] else "sha256 未计算（由 Spark 从远程路径读取）"
        lines.append(
            f"读取 {e['file']}（{e['sector']}）：{rows}，空行 {e['rows_blank']}，"
            f"非数据行 {e.get('rows_non_data', 0)}{linked}，{digest}"
        )
    lines += file_notes(summary["inputs"])
    for stage, seconds in summary.get("stages", {}).items():
        beside = "（与数据质量检查同时进行）" if stage == "预警规则" else ""
        lines.append(f"阶段 {stage}：{seconds:.2f} 秒{beside}")
    for r in summary.get("rules", []):
        lines.append(f"规则 {r[C.rule_id]} {r['title']}：{r['text']}")
    for cid, c in (summary.get("quality", {}).get("by_check") or {}).items():
        if c.get("status") == "not_evaluated":
            lines.append(f"检查 {cid} 未评估：{c.get('reason', '')}")
    lines.append(f"数据质量问题 {summary.get('quality', {}).get('issues', 0)} 条；用时 {summary.get('elapsed_seconds')} 秒")
    atomic_write_bytes(path, ("\n".join(mask_text(line) for line in lines) + "\n").encode("utf-8"))
