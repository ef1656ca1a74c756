"""The `fanpin` command line (Typer). Each command parses options, calls one library function
and maps FanpinError to exit code 1 with a one-line Chinese reason; usage errors exit 2.
Whatever else escapes a command (`_Commands`, `main`) ends it with one line too: an error that
is no FanpinError becomes an `InternalError` (exit 3) whose details go to a crash report
(`crash.py`, in the folder the command names with `_crash_reports_into`); Ctrl-C prints 已中断
(exit 130).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    # `python -m fanpin_cli.cli …`: as the `fanpin` command (`launch.console`), its first steps
    # (OpenBLAS sized, report.xlsx's process started) before the imports below
    from fanpin_cli.launch import begin

    begin(sys.argv[1:])

from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from fanpin_cli import __version__
from fanpin_cli.errors import INTERRUPTIONS, FanpinError, InternalError
from fanpin_cli.process import INTERRUPTED
from fanpin_cli.tables import C

EXIT_INTERRUPTED = INTERRUPTED  # Ctrl-C: 128 + SIGINT, as shells report it (one value with process.leave's)
# What click itself turns into an exit code or a usage message (typer.BadParameter's module is
# click's, or typer's copy of it, whichever this typer uses).
CLICK_OWN: tuple[type[BaseException], ...] = (
    typer.Exit, typer.Abort, sys.modules[typer.BadParameter.__module__].ClickException)


class _Commands(TyperGroup):
    """fanpin's commands: an error that escapes a command's own mapping (no FanpinError: a
    library's error, a bug) or Ctrl-C ends the command with one line, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CLICK_OWN as own:  # exit codes, usage errors
            # a usage error quotes what was typed: an ID typed by mistake (`history x.toml 4331…`
            # without --id) is masked
            if isinstance(own, CLICK_OWN[2]):
                from fanpin_cli.privacy import console_text

                own.message = console_text(own.message)
            raise
        except FanpinError as error:
            _fail(error)
        except KeyboardInterrupt as interrupted:
            raise typer.Exit(code=_say_interrupted(interrupted)) from None
        except INTERRUPTIONS:
            raise
        except BaseException as error:  # a library's error, a panic in Rust code, a bug: one line + crash report
            _fail(InternalError.of(error))


app = typer.Typer(
    name="fanpin",
    help="防贫：行业部门数据比对、防返贫监测预警与数据质量检查。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_Commands,
)
SEVERITY_TEXT = {"error": "错误", "warning": "警告", "info": "提示"}


class _Console:
    """rich's Console for stdout or stderr, made when first used: a command that shows nothing
    (`fanpin run -q` from cron) never imports rich (~20 ms of every start). `real()`: the
    Console itself, for code that takes one."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Any = None

    def real(self) -> Any:
        """The Console, made now if it was not yet. Rich assumes 80 columns when the output is
        not a terminal (cron, pipes): tables are given 140 there.

        >>> _Console(stderr=True).real().stderr
        True
        """
        if self._console is None:
            from rich.console import Console

            stream = sys.stderr if self._stderr else sys.stdout
            self._console = Console(stderr=self._stderr, width=None if stream.isatty() else 140)
        return self._console

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # (an object made without __init__, e.g. by copy: no recursion)
            raise AttributeError(name)
        return getattr(self.real(), name)


out_console = _Console(stderr=False)
err_console = _Console(stderr=True)


def escape(text: str) -> str:
    """rich's `escape` (markup in `text` shown as written), rich imported on first use.

    >>> print(escape("[red]户主[/red]"))
    \\[red]户主\\[/red]
    """
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _table(**options: Any) -> Any:
    """A rich Table (rich imported on first use).

    >>> _table(title="问题分布").title
    '问题分布'
    """
    from rich.table import Table

    return Table(**options)


def _fail(error: FanpinError) -> NoReturn:
    raise typer.Exit(code=_say_failure(error))


def _say_failure(error: FanpinError) -> int:
    """Print `error` as one masked line (an InternalError: with where its crash report went);
    its exit code."""
    # escape: messages name config tables such as [run] and [[extracts]], which rich would eat
    from fanpin_cli.privacy import console_text

    text = str(error)
    if isinstance(error, InternalError):
        text += _crash_report(error)
    err_console.print(f"[bold red]错误：[/bold red]{escape(console_text(text))}", highlight=False, soft_wrap=True)
    return error.exit_code


def _crash_report(error: InternalError) -> str:
    """Write `error`'s crash report where the command said (`_crash_reports_into`); what the
    console line adds about it."""
    from fanpin_cli.crash import report_note, write_report

    try:
        path = write_report(error, _CRASH_REPORTS["folders"])
    except Exception:  # noqa: BLE001 - the one line is said all the same
        path = None
    return report_note(path)


def _crash_reports_into(*folders: Path | None) -> None:
    """Where this command's crash report goes (the first of `folders` that takes it; then the
    current folder; masked always, also under --full-ids)."""
    _CRASH_REPORTS["folders"] = [f.absolute() for f in folders if f is not None]


# The running command's `_crash_reports_into` (set anew by each invocation, `_main`).
_CRASH_REPORTS: dict[str, Any] = {"folders": []}


def _say_interrupted(interrupted: BaseException | None = None) -> int:
    """Ctrl-C: one short line, exit code 130; SIGTERM (`process.Terminated`): the same line
    naming it, exit code 143."""
    from fanpin_cli.process import Terminated, interrupted_status

    if isinstance(interrupted, Terminated):
        err_console.print("已中断（收到终止信号 SIGTERM，输出和历史记录保持运行前的状态）", highlight=False)
        return interrupted_status(interrupted)
    err_console.print("已中断", highlight=False)
    return EXIT_INTERRUPTED


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"日期应为 YYYY-MM-DD：{text}") from exc


SPLIT_HELP = "另按乡镇（township，默认）或村（village）各出一个工作簿，none 不拆分"


def _split_option(value: str) -> str:
    from fanpin_cli.report.split import SPLITS

    if value not in SPLITS:
        raise typer.BadParameter(f"应为 {' | '.join(SPLITS)}：{value}")
    return value


def _run(config_path: Path, out: Path, full_ids: bool, quiet: bool, split: str = "township", *,
         history: bool = True, history_path: Path | None = None, ahead: Any = None,
         reports_beside_config: bool = True) -> None:
    """`ahead`: report.xlsx's process, started by the command (`_report_process`, which ends it too)."""
    # a crash report beside the output folder, else beside the config (not the demo's, inside fanpin)
    beside_config = [config_path.absolute().parent] if reports_beside_config else []
    _crash_reports_into(out.absolute().parent, *beside_config)
    from fanpin_cli.config import check_outputs_apart, load_config
    from fanpin_cli.console import print_run_summary, stage_progress
    from fanpin_cli.pipeline import STAGES, run_job

    try:
        config = load_config(config_path)
        from fanpin_cli.outdir import check_output_target

        check_output_target(out)
        check_outputs_apart(config, out)
        with stage_progress(None if quiet else err_console.real(), STAGES, quiet=quiet) as say:
            result = run_job(config, out, full_ids=full_ids, progress=say, split=split, history=history,
                             history_path=history_path, workbook_process=ahead)
    except FanpinError as error:
        _fail(error)
        return
    if not quiet:
        print_run_summary(out_console.real(), result.summary.to_dict(), str(out))
        past = result.summary.history
        if past is not None:
            since = f"与上次运行（{past['previous_period']}）比较" if past["previous_period"] else "历史中没有更早的月份"
            out_console.print(
                f"{since}：新增 {past['new']}，持续 {past['ongoing']}，复发 {past['recurring']}，已解除 {past['resolved']}，"
                f"核实不属实暂不预警 {past['exempted']}，超期未核实 {past['overdue']}", markup=False, highlight=False)
        out_console.print(f"用时 {result.summary.elapsed_seconds or 0:.1f} 秒")


@app.command()
def run(
    ctx: typer.Context,
    config: Annotated[Path, typer.Argument(help="运行配置文件 fanpin.toml")],
    out: Annotated[Path, typer.Option("--out", help="输出文件夹")] = Path("fanpin-output"),
    full_ids: Annotated[bool, typer.Option("--full-ids", help="输出完整证件号码（默认打码）")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="只输出错误（适合定时任务）")] = False,
    split: Annotated[str, typer.Option("--split", help=SPLIT_HELP, callback=_split_option)] = "township",
    no_history: Annotated[bool, typer.Option("--no-history", help="不读取、不写入历史记录（fanpin-history.duckdb）")] = False,
) -> None:
    """运行月度比对：读取 → 校验 → 关联 → 预警 → 质量 → 报告。"""
    _run(config, out, full_ids, quiet, split, history=not no_history, ahead=_report_process(ctx))


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="输出文件夹")] = Path("fanpin-demo-output"),
    full_ids: Annotated[bool, typer.Option("--full-ids", help="输出完整证件号码（默认打码）")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="只输出错误")] = False,
    split: Annotated[str, typer.Option("--split", help=SPLIT_HELP, callback=_split_option)] = "township",
) -> None:
    """用自带的示例县数据（sample_data/）运行完整的月度比对。"""
    ahead = _report_process(ctx)
    from fanpin_cli.resources import resource_dir

    # The demo keeps its own history inside its output folder (the sample data stay untouched).
    _run(resource_dir("sample_data") / "fanpin.toml", out, full_ids, quiet, split, ahead=ahead,
         reports_beside_config=False)


@app.command()
def province(
    config: Annotated[Path, typer.Argument(help="省级配置文件 PROVINCE.toml（列出各县的 fanpin.toml）")],
    out: Annotated[Path, typer.Option("--out", help="输出文件夹（每县一个子文件夹）")] = Path("fanpin-province-output"),
    engine: Annotated[str, typer.Option("--engine", help="运行方式：local（本机逐县）或 spark")] = "local",
    master: Annotated[str | None, typer.Option("--master", help="Spark master，如 local[2]、yarn、spark://主机:7077")] = None,
    full_ids: Annotated[bool, typer.Option("--full-ids", help="输出完整证件号码（默认打码）")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="只输出错误")] = False,
    split: Annotated[str, typer.Option("--split", help=SPLIT_HELP, callback=_split_option)] = "township",
    no_history: Annotated[bool, typer.Option("--no-history", help="不读取、不写入各县的历史记录")] = False,
) -> None:
    """全省（州/市）各县一次运行：每县输出与 fanpin run 相同，另有全省汇总与跨县比对。"""
    from fanpin_cli.province import ENGINES, run_province

    if engine not in ENGINES:
        raise typer.BadParameter(f"未知的运行方式 {engine}（可选：{'、'.join(ENGINES)}）", param_hint="--engine")
    _crash_reports_into(out.absolute().parent, config.absolute().parent)
    try:
        with err_console.status("全省运行…") as status:
            say = (lambda _m: None) if quiet else (lambda m: status.update(f"全省运行：{m}"))
            result = run_province(config, out, engine=engine, master=master, full_ids=full_ids, split=split,
                                  history=not no_history, progress=say)
    except FanpinError as error:
        _fail(error)
        return
    summary = result.summary
    table = _table(title=f"{summary['province']}：{summary['totals']['counties_ok']} 个县完成，"
                        f"{summary['totals']['counties_failed']} 个县失败", title_justify="left")
    for name in ("县", "红", "黄", "蓝", "质量问题", "关联率", "结果"):
        table.add_column(name)
    for e in summary["counties"]:
        if e["status"] == "ok":
            h = e["households_flagged"]
            rate = f"{e['link_rate']:.1%}" if e["link_rate"] is not None else ""
            table.add_row(escape(e["county"]), str(h.get("red", 0)), str(h.get("yellow", 0)), str(h.get("blue", 0)),
                          str(e["quality"]["issues"]), rate, "完成")
        else:
            table.add_row(escape(e["county"]), "", "", "", "", "", escape(f"失败：{e['error']}"))
    if not quiet:
        out_console.print(table)
        cross = summary["cross_county"]["matches"]
        out_console.print(f"跨县匹配 {cross} 条；写入 {out}（province.xlsx、province_summary.json）", markup=False)
        out_console.print(f"用时 {summary['elapsed_seconds']:.1f} 秒", markup=False)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="要检查的数据文件（CSV/xlsx/xls）")],
    sector: Annotated[str, typer.Option("--sector", help="数据类别：roster（花名册）、civil_affairs（民政）、medical_enrollment（医保参保）、medical_claims（医保结算）、education（教育）、housing（住建）、police（公安）、disability（残联），英文或中文名均可")],
    out: Annotated[Path | None, typer.Option("--out", help="输出文件夹（写 quality_issues.csv 和 summary.json）")] = None,
    reference_date: Annotated[str | None, typer.Option("--reference-date", help="基准日 YYYY-MM-DD（默认今天）")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="工作表名称")] = None,
    header_row: Annotated[int | None, typer.Option("--header-row", help="表头所在行号（默认自动识别）")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="CSV 编码（默认自动识别）")] = None,
    columns: Annotated[bool, typer.Option("--columns", help="列出每个表头对应的字段（及缺少的列）")] = False,
) -> None:
    """读取并检查单个文件，列出数据质量问题。"""
    from fanpin_cli.config import check_reference_date
    from fanpin_cli.fields import sector_choices, sector_key
    from fanpin_cli.pipeline import validate_file

    _crash_reports_into(out.absolute().parent if out is not None else None)
    key = sector_key(sector)
    if key is None:
        _usage(f"--sector「{sector}」不是已知的数据类别（可选：{sector_choices()}）")
    if header_row is not None and header_row < 1:
        _usage(f"--header-row 应为从 1 开始的行号（表头所在行），实际为 {header_row}")
    try:
        ref = _parse_date(reference_date)
        if ref is not None:
            check_reference_date(ref, "--reference-date")
        summary, _issues = validate_file(
            file, key, out, reference_date=ref, sheet=sheet,
            header_row=header_row, encoding=encoding,
        )
    except FanpinError as error:
        _fail(error)
        return
    from fanpin_cli.privacy import console_data

    summary = console_data(summary)
    entry = summary["inputs"][0]
    out_console.print(
        f"{entry['file']}：数据 {entry[C.rows_read]:,} 行（表头在第 {entry['header_row']} 行，空行 {entry['rows_blank']}，"
        f"非数据行 {entry.get('rows_non_data', 0)}），"
        f"发现问题 {summary['quality']['issues']:,} 条",
        markup=False,
    )
    from fanpin_cli.notes import file_notes

    for note in file_notes(summary["inputs"]):
        out_console.print(f"注意：{note}", markup=False)
    if columns:
        _print_columns(summary["inputs"][0])
    counts = {k: v for k, v in (summary["quality"].get("by_check") or {}).items() if v.get("issues")}
    if counts:
        from fanpin_cli.quality.catalogue import CHECK_INDEX

        table = _table(title="问题分布", title_justify="left")
        for name in ("检查项", "说明", "严重程度"):
            table.add_column(name)
        table.add_column("条数", justify="right")
        for check_id, info in counts.items():
            n = info.get("issues", info) if isinstance(info, dict) else info
            check = CHECK_INDEX.get(check_id)
            title, severity = (check.title, SEVERITY_TEXT.get(check.severity, check.severity)) if check else ("", "")
            table.add_row(check_id, title, severity, f"{n:,}" if isinstance(n, int) else str(n))
        out_console.print(table)
    skipped = [(k, v.get("reason", "")) for k, v in (summary["quality"].get("by_check") or {}).items()
               if v.get("status") == "not_evaluated"]
    for check_id, reason in skipped:
        out_console.print(f"未评估 {check_id}：{reason}", markup=False)
    if out is not None:
        out_console.print(f"已写入 {out / 'quality_issues.csv'} 和 {out / 'summary.json'}", markup=False)


def _print_columns(entry: dict) -> None:
    """`validate --columns`: each heading of the file → its field (or 未识别), then missing fields."""
    from fanpin_cli.fields import FIELD_DESCRIPTIONS, FIELD_TITLES

    table = _table(title="表头对应关系", title_justify="left")
    for name in ("表头", "字段", "说明"):
        table.add_column(name)
    for heading, field in (entry.get("columns") or {}).items():
        shown = heading.replace("\n", "⏎")
        if field is None:
            table.add_row(escape(shown), "（未识别）", "可在配置的 columns 中指定")
        else:
            table.add_row(escape(shown), field, escape(FIELD_DESCRIPTIONS.get(field, FIELD_TITLES.get(field, ""))))
    out_console.print(table)
    missing = entry.get("missing_fields") or []
    if missing:
        text = "、".join(f"{f}（{FIELD_TITLES.get(f, f)}）" for f in missing)
        out_console.print(f"缺少的列（相关检查和规则不会评估）：{text}", markup=False)


def _usage(message: str) -> None:
    """A usage error: one Chinese line, exit code 2."""
    from fanpin_cli.privacy import console_text

    err_console.print(f"[bold red]错误：[/bold red]{escape(console_text(message))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


@app.command()
def synth(
    households: Annotated[int, typer.Option("--households", min=1, help="户数")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="随机种子")] = 1,
    out: Annotated[Path, typer.Option("--out", help="输出文件夹")] = Path("fanpin-synth"),
    county: Annotated[str, typer.Option("--county", help="县名（地址码取自行政区划代码表；表中没有的名称用 433127）")] = "永顺县",
    months: Annotated[int | None, typer.Option("--months", min=1, help="连续生成多个月（每月一个子文件夹；上级文件夹的 fanpin-YYYY-MM.toml 共用历史记录）")] = None,
) -> None:
    """生成一个模拟县（监测对象 + 各行业数据 + 标准答案），用于测试和演示。"""
    from fanpin_cli.synth import generate_county

    _crash_reports_into(out.absolute().parent)
    if months is not None:
        from fanpin_cli.synth.months import generate_months

        with err_console.status("生成模拟县（多月）…") as status:
            results = generate_months(households, seed, out, months, county=county, progress=lambda step: status.update(f"生成模拟县：{step}"))
        names = "、".join(r.out_dir.name for r in results)
        out_console.print(f"已生成模拟县 {households} 户、{months} 个月：{names}，写入 {out}", markup=False)
        return
    try:
        with err_console.status("生成模拟县…") as status:
            result = generate_county(households, seed, out, county=county, progress=lambda step: status.update(f"生成模拟县：{step}"))
    except FanpinError as error:
        _fail(error)
        return
    out_console.print(f"已生成模拟县：{households} 户，写入 {out}（配置文件 {result.config_path.name}）", markup=False)


@app.command()
def ids(
    values: Annotated[list[str], typer.Argument(help="证件号码，或含证件号码的文件（CSV/Excel/每行一个号码的文本）")],
    reference_date: Annotated[str | None, typer.Option("--reference-date", help="计算年龄的基准日（默认今天）")] = None,
    full_ids: Annotated[bool, typer.Option("--full-ids", help="显示完整号码（默认打码）")] = False,
) -> None:
    """检查证件号码：是否有效、错在哪里、出生日期、性别、地区、15位升18位。"""
    from fanpin_cli.idcheck import explain_ids, read_id_values

    _crash_reports_into()
    try:
        items = [v for arg in values for v in read_id_values(arg)]
        from fanpin_cli.privacy import console_text

        rows = explain_ids(items, _parse_date(reference_date) or date.today(), full_ids=full_ids)
    except FanpinError as error:
        _fail(error)
        return
    out_console.print(f"证件号码检查（{len(items)} 个，基准日 {_shown_date(reference_date)}）")
    for row in rows:
        facts = "，".join(
            f"{k}{row[k]}" if k in ("年龄",) else str(row[k])
            for k in ("出生日期", "性别", "年龄", "地区")
            if row[k] not in (None, "")
        )
        note = f"：{row['说明']}" if row["说明"] else ""
        upgraded = f"；18位：{row['18位号码']}" if row["18位号码"] and row["18位号码"] != row["证件号码"] else ""
        line = f"{row['证件号码'] or '（空）'}  {row['结论']}{note}" + (f"（{facts}）" if facts else "") + upgraded
        out_console.print(escape(line if full_ids else console_text(line)), highlight=False)


@app.command()
def feedback(
    config: Annotated[Path, typer.Argument(help="运行配置文件 fanpin.toml")],
    files: Annotated[list[Path], typer.Argument(help="村（社区）填好返回的工作簿（县级或乡镇工作簿：.xlsx，或另存的 .xls、.ods）")],
    verdict_date: Annotated[str | None, typer.Option("--date", help="核实日期 YYYY-MM-DD（默认取工作簿的保存日期）")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="问题清单 CSV（默认写在历史记录文件旁）")] = None,
) -> None:
    """导入村（社区）返回的核实结果（按“记录编号”匹配），供下月比对使用。"""
    from fanpin_cli.history.commands import run_feedback

    _crash_reports_into(config.absolute().parent)
    try:
        run_feedback(config, files, verdict_date=_parse_date(verdict_date), report=report, console=out_console.real())
    except FanpinError as error:
        _fail(error)


@app.command()
def history(
    config: Annotated[Path, typer.Argument(help="运行配置文件 fanpin.toml")],
    household: Annotated[str | None, typer.Option("--household", help="户编号：显示该户的时间线")] = None,
    id_number: Annotated[str | None, typer.Option("--id", help="证件号码：显示该人员的时间线（不保存、不显示完整号码）")] = None,
    name: Annotated[str | None, typer.Option("--name", help="姓名：显示同名人员的时间线")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="另存为工作簿（.xlsx）")] = None,
) -> None:
    """查看历史：各月运行记录，或某户、某人的时间线（预警、核实结果、关联、数据质量）。"""
    from fanpin_cli.history.commands import run_history

    _crash_reports_into(out.absolute().parent if out is not None else None, config.absolute().parent)
    try:
        run_history(config, household=household, id_number=id_number, name=name, out=out, console=out_console.real())
    except FanpinError as error:
        _fail(error)


def _shown_date(text: str | None) -> str:
    """The reference date as shown to the user."""
    return (_parse_date(text) or date.today()).isoformat()


def version_callback(value: bool) -> None:
    if value:
        out_console.print(f"fanpin {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="显示版本")] = False,
) -> None:
    """防贫：行业部门数据比对、防返贫监测预警与数据质量检查。"""
    _crash_reports_into()  # until the command says where (a CliRunner runs many in one process)


REPORT_PROCESS = "fanpin.report_process"  # where `run`/`demo` keep report.xlsx's process (ctx.meta)


def _report_process(ctx: typer.Context) -> Any:
    """report.xlsx's process, started as soon as the command's options are read (a `--help` or
    a usage error never gets here): its start (a new interpreter's imports, ~0.4 s CPU) runs on
    the other core beside this process's own imports and config instead of beside the reading.
    Whatever happens, it is ended when the command ends (a no-op for a run that finished it)."""
    from fanpin_cli.launch import take_ahead

    ahead = take_ahead()  # started by the command's first step (`launch.start_ahead`)
    if ahead is None:
        from fanpin_cli.outputs import prestart_workbook

        ahead = prestart_workbook()
    if ahead is not None:
        ctx.meta[REPORT_PROCESS] = ahead
        ctx.call_on_close(ahead.abort)
    return ahead


def main() -> None:
    """Console-script entry point. Whatever escaped the commands' own mapping (`_Commands`):
    one line, never a traceback."""
    _crash_reports_into()
    try:
        app()
    except FanpinError as error:  # a library error that escaped a command
        sys.exit(_say_failure(error))
    except KeyboardInterrupt as interrupted:
        sys.exit(_say_interrupted(interrupted))
    except INTERRUPTIONS:
        raise
    except BaseException as error:  # a library's error, a panic in Rust code, a bug: one line + crash report
        sys.exit(_say_failure(InternalError.of(error)))


def console() -> NoReturn:
    """The `fanpin` command after its first steps (`launch.begin`: the cyclic collector run
    rarely among them): `main`, then the process ends without the interpreter's object-by-object
    teardown (`process.leave`: threads joined and exit handlers run first, as at any exit). `main`
    itself ends with SystemExit, for callers that run it in their process."""
    from fanpin_cli.process import leave

    try:
        main()
    except SystemExit as done:
        leave(done.code)
    leave(0)


if __name__ == "__main__":
    console()
