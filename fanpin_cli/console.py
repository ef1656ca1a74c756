"""Rich console output: stage progress and the end-of-run summary tables (no ID ever shown).
rich is imported when something is shown: a `--quiet` run never imports it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fanpin_cli.notes import file_notes
from fanpin_cli.privacy import console_data
from fanpin_cli.tables import C

if TYPE_CHECKING:
    from rich.console import Console

LEVEL_TEXT = {"red": "[red]红[/red]", "yellow": "[yellow]黄[/yellow]", "blue": "[blue]蓝[/blue]"}


@contextmanager
def stage_progress(console: Console | None, stages: tuple[str, ...], *, quiet: bool) -> Iterator[Any]:
    """Yield a callback `say(stage)` that advances a progress bar over `stages`. A message
    `"<stage>：<detail>"` (a file being checked, a check group) only updates the line shown
    under the current stage; it may come from a worker thread. `quiet`: a callback that does
    nothing (`console` may then be None: nothing is shown)."""
    if quiet:
        yield lambda _stage: None
        return
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("准备", total=len(stages))
        seen: list[str] = []

        def say(stage: str) -> None:
            head, _, detail = stage.partition("：")
            if detail and head in stages:
                progress.update(task, description=f"{escape(head)}：{escape(detail)}…")
                return
            if seen:
                progress.advance(task)
            seen.append(stage)
            progress.update(task, description=f"{escape(stage)}…")

        yield say
        progress.update(task, completed=len(stages))


def print_run_summary(console: Console, summary: dict[str, Any], out_dir: str) -> None:
    """Rules × X户Y人, quality by dimension, link results per file."""
    from rich.markup import escape
    from rich.table import Table

    summary = console_data(summary)  # no full ID, no terminal control codes from the data
    out_dir = console_data(out_dir)
    title = escape(
        f"{summary.get('county', '')} {summary.get('period', '')} 比对结果（基准日 {summary.get('reference_date', '')}）"
    )
    rules = Table(title=title, title_justify="left")
    for col in ("规则", "名称", "等级", "户数", "人数", "待核实后确定"):
        rules.add_column(col, justify="left" if col in ("规则", "名称", "等级") else "right")
    for r in summary.get("rules", []):
        waiting = f"{r.get('pending_households', 0)}户{r.get('pending_persons', 0)}人" if r.get("pending_persons") else ""
        shown = [str(r["households"]), str(r["persons"])] if r.get("status", "evaluated") == "evaluated" else ["—", "—"]
        rules.add_row(escape(r[C.rule_id]), escape(r["title"]), LEVEL_TEXT.get(r["level"], r["level"]), *shown, waiting)
    console.print(rules)
    print_not_evaluated(console, summary)
    totals = summary.get("households_flagged", {})
    console.print(
        f"预警户数：红 {totals.get('red', 0)} 户，黄 {totals.get('yellow', 0)} 户，蓝 {totals.get('blue', 0)} 户（每户按最高等级计）；"
        f"另有 {totals.get('pending_review', 0)} 户待核实匹配或更正证件号码后确定"
    )
    print_inputs(console, summary)
    print_quality(console, summary)
    console.print(
        f"结果已写入 [bold]{escape(out_dir)}[/bold]：report.xlsx、links.csv、flags.csv、quality_issues.csv、"
        "review.csv、stocktake.csv、summary.json、fanpin.log"
    )


def print_not_evaluated(console: Console, summary: dict[str, Any]) -> None:
    """Rules and checks that could not be evaluated, each with its reason, and the columns the
    inputs lack (never silent)."""
    from rich.markup import escape

    from fanpin_cli.coverage import not_evaluated
    from fanpin_cli.fields import FIELD_TITLES

    items = not_evaluated(summary)
    if items:
        console.print(f"[bold yellow]未评估（{len(items)} 项，未输出任何预警或问题）：[/bold yellow]")
        for kind, item_id, reason in items:
            console.print(f"  {kind} {escape(item_id)}：{escape(reason)}", highlight=False, soft_wrap=True)
    for e in summary.get("inputs", []):
        if e.get("missing_fields"):
            missing = "、".join(FIELD_TITLES.get(f, f) for f in e["missing_fields"])
            console.print(f"  {escape(e['file'])} 缺少列：{escape(missing)}", highlight=False, soft_wrap=True)


def print_inputs(console: Console, summary: dict[str, Any]) -> None:
    """Per input file: rows read and link results."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="各文件比对情况", title_justify="left")
    for col in ("文件", "类别", "数据行", "自动关联", "待核实", "未关联", "无法比对", "空行", "非数据行"):
        table.add_column(col, justify="left" if col in ("文件", "类别") else "right")
    for e in summary.get("inputs", []):
        def fmt(key: str, entry: dict[str, Any] = e) -> str:
            value = entry.get(key)
            return "—" if value is None else f"{value:,}"

        table.add_row(escape(console_data(e["file"])), e.get("sector_title", e["sector"]), fmt(C.rows_read), fmt(C.rows_linked),
                      fmt(C.rows_review), fmt(C.rows_unlinked), fmt(C.rows_rejected), fmt("rows_blank"),
                      fmt("rows_non_data"))
    console.print(table)
    for note in file_notes(summary.get("inputs", [])):
        console.print(f"[yellow]注意[/yellow]：{escape(console_data(note))}")


def print_quality(console: Console, summary: dict[str, Any]) -> None:
    """Quality issues by dimension and severity."""
    from rich.table import Table

    quality = summary.get("quality") or {}
    dims = quality.get("by_dimension") or {}
    if not dims:
        console.print(f"数据质量问题：{quality.get('issues', 0)} 条")
        return
    console.print("数据质量（GB/T 36344 维度）")
    table = Table()
    table.add_column("维度")
    table.add_column("问题数", justify="right")
    for dim, count in dims.items():
        table.add_row(dim, f"{count:,}" if isinstance(count, int) else str(count))
    console.print(table)
