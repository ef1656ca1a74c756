"""The library side of `fanpin feedback` and `fanpin history`: load the config, do the work,
print a short Chinese account (never a full ID).

    run_feedback(Path("fanpin.toml"), [Path("返回/大坝乡.xlsx")], console=Console())
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fanpin_cli.outputs import write_csv
from fanpin_cli.privacy import mask_text

from .feedback import import_feedback
from .settings import history_settings
from .store import HistoryBusyError, HistoryError, connect, settle
from .timeline import EVENT_TITLES, RUN_TITLES, list_runs, timeline, write_timeline_workbook

PROBLEM_TITLES = {"file": "文件", "sheet": "工作表", "row_number": "行号", "record_key": "记录编号",
                  "verdict": "核实结果", "remark": "整改情况", "problem": "问题"}


def run_feedback(
    config_path: Path,
    files: list[Path],
    *,
    verdict_date: date | None = None,
    report: Path | None = None,
    console: Console,
) -> Path:
    """Import `files` into the config's history; print counts and problems; write the problem CSV."""
    from fanpin_cli.config import load_config

    config = load_config(config_path)
    settings = history_settings(config)
    result = import_feedback(settings.path, config.county, files, verdict_date=verdict_date)
    console.print(
        f"读取反馈 {len(files)} 个文件、{len(set(result.sheets))} 个工作表、已填写 {result.rows_read} 行："
        f"新保存核实结果 {result.stored} 条，已导入过（未变化） {result.unchanged} 条，问题 {result.problems.height} 行",
        markup=False, highlight=False,
    )
    target = report or settings.path.parent / "feedback-report.csv"
    write_csv(result.problems.rename(PROBLEM_TITLES), target)
    if result.problems.height:
        table = Table(title="未导入或需确认的行（未作任何猜测）", title_justify="left")
        for title in PROBLEM_TITLES.values():
            table.add_column(title)
        for row in result.problems.head(30).iter_rows():
            table.add_row(*[escape("" if v is None else str(v)) for v in row])
        console.print(table)
        more = f"（共 {result.problems.height} 行）" if result.problems.height > 30 else ""
        console.print(f"问题清单{more}已写入 {target}", markup=False, highlight=False)
    return target


def _person_key(id_number: str, config_dir: Path) -> str:
    """The history's key for an ID typed by the user, hashed as runs hash it (with the county's
    key in fanpin.key); the ID itself is neither kept nor shown."""
    from fanpin_cli.idnum import with_id_columns
    from fanpin_cli.keys import person_key, read_key

    id18 = with_id_columns(pl.DataFrame({"id_number": [id_number]}), reference_date=date.today())["id18"]
    if id18.null_count():
        raise HistoryError("证件号码不正确（应为有效的18位号码，或15位旧号码）")
    key = read_key(config_dir)  # (no county key: nothing in a history could match)
    return person_key(id18, key).item()


def _settle_if_staged(path: Path) -> None:
    """Before showing the history: a run that died once its outputs were in place is shown as
    counted (`store.settle`). Opened for writing only when a read-only look finds a staged run
    (two viewers never wait on each other); a file this user may only read, or that cannot be
    written now, is shown as it is.

    >>> _settle_if_staged(Path("/nonexistent/h.duckdb"))
    """
    try:
        with connect(path, read_only=True) as con:
            staged = con.execute("SELECT count(*) FROM staged_runs").fetchall()[0][0]
        if staged:
            settle(path)
    except HistoryBusyError:
        raise
    except (HistoryError, duckdb.Error):
        pass


def run_history(
    config_path: Path,
    *,
    household: str | None,
    id_number: str | None,
    name: str | None,
    out: Path | None,
    console: Console,
) -> pl.DataFrame:
    """Print the runs, or one timeline; optionally write it as a workbook."""
    from fanpin_cli.config import load_config
    from fanpin_cli.idnum import mask_id

    config = load_config(config_path)
    settings = history_settings(config)
    _settle_if_staged(settings.path)
    county = config.county  # (masked where the config is read: config.shown_name)
    runs = list_runs(settings.path, county)
    if household is None and id_number is None and name is None:
        frame, titles, title = runs, RUN_TITLES, f"{county} 运行记录（{mask_text(settings.path.name)}）"
    else:
        key = _person_key(id_number, config.config_path.parent) if id_number is not None else None
        frame = timeline(settings.path, county, household=household, person_key=key, name=name)
        shown = mask_text(household or name or "") or pl.select(mask_id(pl.lit(id_number))).item()
        frame, titles, title = frame, EVENT_TITLES, f"{county} 时间线：{shown}"
    table = Table(title=title, title_justify="left")
    columns = [c for c in titles if c in frame.columns]
    for c in columns:
        table.add_column(titles[c])
    for row in frame.select(columns).iter_rows():
        table.add_row(*[escape("" if v is None else str(v)) for v in row])
    console.print(table)
    if frame.height == 0:
        console.print("（没有记录）", markup=False)
    if out is not None:
        events = frame if titles is EVENT_TITLES else pl.DataFrame(schema={c: pl.String for c in EVENT_TITLES})
        write_timeline_workbook(out, runs, events, title)
        console.print(f"已写入 {out}", markup=False, highlight=False)
    return frame
