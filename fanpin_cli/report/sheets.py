"""The sheets of report.xlsx, one function each, in workbook order.

汇总 · one sheet per rule · 待核实后确定 · 应纳未纳 · 待核实匹配 · 数据质量 · 质量评分 · 账账相符

Every sheet a village fills has 核实结果 (a dropdown), 整改情况 (free text) and 记录编号 (the
row's stable `record_key`, when the frames carry it) so that returned workbooks can be read back.
"""

from __future__ import annotations

import polars as pl
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from fanpin_cli.evidence import EVIDENCE_STATUS_TITLES
from fanpin_cli.fields import SECTOR_TITLES
from fanpin_cli.report import charts
from fanpin_cli.report.formats import TAB_COLOURS, Formats, column_width, display_width, sheet_ref
from fanpin_cli.report.model import (
    CANDIDATE_RULES,
    LEVEL_LABELS,
    ReportData,
    RuleInfo,
    check_titles,
)
from fanpin_cli.report.table import (
    DATE,
    FLOAT,
    INPUT,
    INT,
    LEVEL,
    PERCENT,
    SEVERITY,
    Col,
    Table,
    ensure_columns,
    finish_table,
    write_table,
)
from fanpin_cli.tables import C, heading

SUMMARY = "汇总"
PENDING = "待核实后确定"
CANDIDATES = "应纳未纳"
REVIEW = "待核实匹配"
QUALITY = "数据质量"
SCORECARD = "质量评分"
STOCKTAKE = "账账相符"
FIXED_SHEETS = (SUMMARY, PENDING, CANDIDATES, REVIEW, QUALITY, SCORECARD, STOCKTAKE)

VERIFY = "核实结果"
RECTIFY = "整改情况"
RECORD = "记录编号"
REVIEW_CHOICES = ["是同一人", "不是同一人"]
VERDICT_CHOICES = ["属实", "不属实", "已整改"]

FLAG_COLUMNS = [
    C.household_id, C.township, C.village, C.rule_id, "level", C.roster_row, C.person_name,
    "sector", C.source_file, C.source_row, "detail", "title", C.id_number, "group", C.relation,
    C.evidence_status,
]
REVIEW_COLUMNS = [
    "sector", C.source_file, C.source_row, C.extract_name, C.extract_id, C.extract_birth,
    C.extract_township, C.extract_village, C.roster_row, C.household_id, C.roster_name,
    C.roster_id, C.roster_birth, C.roster_township, C.roster_village, C.match_score, "reason",
]
QUALITY_COLUMNS = [
    C.source_file, C.source_row, "column", "field", C.check_id, C.dimension, C.severity, "message",
    C.household_id, C.township, C.village,
]

NOTE = (
    "预警名单是入户核实的线索，不是认定结论。核实后请在各规则工作表的“核实结果”下拉选择"
    "（属实/不属实/已整改）并填写“整改情况”；“记录编号”请勿修改，回收后按编号读回。"
)
PENDING_NOTE = (
    "“待核实后确定”的线索取决于一条待人工确认的匹配（见“待核实匹配”）或一个需更正的证件号码，"
    "不计入红/黄/蓝户数；确认匹配或更正号码后下月自动归类。"
)


def dropdown(ws: Worksheet, table: Table, col: int, choices: list[str], prompt: str) -> None:
    """`核实结果` as a list to pick from, on every data row of `table` (free text is refused
    with a message naming the choices)."""
    if table.n_rows == 0:
        return
    shown = "、".join(choices)
    ws.data_validation(
        table.first_row + 1, col, table.last_row, col,
        {
            "validate": "list",
            "source": choices,
            "input_title": VERIFY,
            "input_message": prompt,
            "error_title": VERIFY,
            "error_message": f"请从下拉列表中选择：{shown}",
        },
    )


def feedback_columns(frame: pl.DataFrame) -> list[Col]:
    """核实结果, 整改情况, and 记录编号 when the rows carry their `record_key`."""
    cols = [Col(VERIFY, kind=INPUT), Col(RECTIFY, kind=INPUT, max_width=30)]
    if C.record_key in frame.columns:
        cols.append(Col(RECORD, pl.col(C.record_key), narrow=True))
    return cols


def finish_feedback(ws: Worksheet, table: Table, cols: list[Col], choices: list[str], prompt: str) -> None:
    """The dropdown on the 核实结果 column of a table written with `feedback_columns`."""
    dropdown(ws, table, [c.header for c in cols].index(VERIFY), choices, prompt)


def _text(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.String)


def _sector_label(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).replace(SECTOR_TITLES)


def _source(file: str, row: str) -> pl.Expr:
    """`医保_参保登记.csv 第12行` (the file alone when the row is unknown)."""
    f, r = _text(file), _text(row)
    return pl.when(f.is_not_null() & r.is_not_null()).then(
        pl.concat_str([f, pl.lit(" 第"), r, pl.lit("行")])
    ).otherwise(f)


def _sorted(frame: pl.DataFrame, by: list[str], **options: bool) -> pl.DataFrame:
    """`frame.sort(by, **options)`; a frame of fewer than two rows is its own order (no query).

    >>> _sorted(pl.DataFrame({"a": [2, 1]}), ["a"])["a"].to_list(), _sorted(pl.DataFrame({"a": [2]}), ["a"]).height
    ([1, 2], 1)
    """
    return frame if frame.height < 2 else frame.sort(by, **options)


def _print_setup(ws: Worksheet, title: str, *, landscape: bool = True) -> None:
    if landscape:
        ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.set_header("&C&\"-,Bold\"" + title.replace("&", "&&"))
    ws.set_footer("&C第 &P 页，共 &N 页")


# ---------------------------------------------------------------------------------------------
# 汇总


def rule_counts_table(data: ReportData, flags: pl.DataFrame, rules: list[RuleInfo] | None = None) -> pl.DataFrame:
    """rule_id, title, level, households, persons, pending_households, pending_persons for
    every rule (given counts, else computed from `flags`: all such rules in one query).
    `rules`: `all_rules(data, flags)`, when the caller has it."""
    names = [C.rule_id, "households", "persons", "pending_households", "pending_persons"]
    given = ensure_columns(data.rule_counts, names)
    counts = {
        str(row[0]): row[1:]
        for row in given.select(names).iter_rows()
        if row[0] is not None
    }
    rules = all_rules(data, flags) if rules is None else rules
    missing = [rule.rule_id for rule in rules if rule.rule_id not in counts]
    if missing:
        counts.update(_flag_counts(flags, missing))
    rows = []
    for rule in rules:
        h, p, ph, pp = counts.get(rule.rule_id, (0, 0, 0, 0))
        if rule.not_evaluated is not None:  # never "0户0人" for a rule that could not run
            rows.append((rule.rule_id, rule.title, rule.level, None, None, None, None, f"未评估（{rule.not_evaluated}）"))
            continue
        rows.append((rule.rule_id, rule.title, rule.level, *(int(v or 0) for v in (h, p, ph, pp)), None))
    return pl.DataFrame(
        rows,
        schema={C.rule_id: pl.String, "title": pl.String, "level": pl.String,
                "households": pl.Int64, "persons": pl.Int64,
                "pending_households": pl.Int64, "pending_persons": pl.Int64, "not_evaluated": pl.String},
        orient="row",
    )


def _flag_counts(flags: pl.DataFrame, rule_ids: list[str]) -> dict[str, tuple[int, int, int, int]]:
    """Per rule of `rule_ids` that has flags: households and persons confirmed, households and
    persons pending (a rule without flags is absent: 0 of each).

    >>> flags = pl.DataFrame({C.rule_id: ["A", "A", "A", "B"], C.household_id: ["h1", "h1", None, "h2"],
    ...                       C.evidence_status: [None, "confirmed", "pending_review", "pending_review"]})
    >>> sorted(_flag_counts(flags, ["A", "B", "C"]).items())
    [('A', (1, 2, 0, 1)), ('B', (0, 0, 1, 1))]
    """
    if flags.height == 0:
        return {}
    done = pl.col(C.evidence_status).fill_null("confirmed") == "confirmed"
    household = pl.col(C.household_id)
    counted = flags.filter(pl.col(C.rule_id).is_in(rule_ids)).group_by(C.rule_id).agg(
        household.filter(done).drop_nulls().n_unique().alias("h"), done.sum().alias("p"),
        household.filter(~done).drop_nulls().n_unique().alias("ph"), (~done).sum().alias("pp"),
    )
    return {str(r[0]): (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in counted.iter_rows()}


def all_rules(data: ReportData, flags: pl.DataFrame) -> list[RuleInfo]:
    """The configured rules, then any rule that has flags but was not configured."""
    rules = list(data.rules)
    if flags.height == 0:
        return rules
    known = {r.rule_id for r in rules}
    extra = (
        flags.filter(pl.col(C.rule_id).is_not_null() & ~pl.col(C.rule_id).is_in(list(known)))
        .group_by(C.rule_id, maintain_order=True)
        .agg(pl.col("title").drop_nulls().first(), pl.col("level").drop_nulls().first())
    )
    for rule_id, title, level in extra.iter_rows():
        rules.append(RuleInfo(str(rule_id), str(title or rule_id), str(level or "")))
    return rules


def _households_persons(households: str = "households", persons: str = "persons", *, status: bool = True) -> pl.Expr:
    """"X户Y人"; 应纳未纳 candidates have no 户编号 yet, so only "Y人"; a rule that could not be
    evaluated shows "未评估（原因）" (`status`), never "0户0人"."""
    only_persons = pl.format("{}人", pl.col(persons))
    not_run = pl.col("not_evaluated").is_not_null()
    return (
        pl.when(not_run).then(pl.col("not_evaluated") if status else pl.lit(None, dtype=pl.String))
        .when(pl.col(C.rule_id).is_in(list(CANDIDATE_RULES)))
        .then(only_persons)
        .otherwise(pl.format("{}户{}人", pl.col(households), pl.col(persons)))
    )


class _Widths:
    """Column widths on a sheet holding several tables: the widest entry per column."""

    def __init__(self) -> None:
        self.by_col: dict[int, float] = {}

    def add(self, table: Table, col0: int = 0) -> None:
        for j, w in enumerate(table.widths):
            self.by_col[col0 + j] = max(self.by_col.get(col0 + j, 0.0), w)


def check_title(check_id: pl.Expr, titles: dict[str, str] | None = None) -> pl.Expr:
    """A check's Chinese name from `titles` (default: the catalogue; the id itself when
    unknown)."""
    return check_id.cast(pl.String).replace(check_titles() if titles is None else titles)


def township_scores(scorecard: pl.DataFrame | None) -> pl.DataFrame | None:
    """The 乡镇 rows of the scorecard (township, rows, error_rows, clean_rate, grade)."""
    if scorecard is None or not {"level", C.township, C.clean_rate} <= set(scorecard.columns):
        return None
    towns = scorecard.filter(pl.col("level") == "乡镇")
    return ensure_columns(towns, ["rows", C.error_rows, "grade"]).sort(C.township, nulls_last=True)


def write_summary(
    ws: Worksheet, fm: Formats, data: ReportData, flags: pl.DataFrame, sheet_of_rule: dict[str, str],
    wb: Workbook | None = None, rules: list[RuleInfo] | None = None,
) -> None:
    """汇总 (`rules`: `all_rules(data, flags)`, when the caller has it)."""
    widths = _Widths()
    ws.write_string(0, 0, data.title, fm.title)
    ws.write_string(1, 0, "基准日期", fm.label)
    ws.write_string(1, 1, data.reference_date.isoformat())
    ws.write_string(2, 0, "程序版本", fm.label)
    ws.write_string(2, 1, f"fanpin {data.version}")
    ws.write_string(3, 0, "说明", fm.label)
    ws.write_string(3, 1, NOTE, fm.note)
    row = 5

    # 一、per rule
    ws.write_string(row, 0, "一、各预警规则（户数、人数）", fm.section)
    counts = rule_counts_table(data, flags, rules)
    cols = [
        Col("规则编号", pl.col(C.rule_id)),
        Col("规则名称", pl.col("title"), max_width=40),
        Col("预警等级", pl.col("level"), LEVEL),
        Col("户数", pl.col("households"), INT),
        Col("人数", pl.col("persons"), INT),
        Col("户人数", _households_persons(), min_width=12),
        Col(PENDING, _households_persons("pending_households", "pending_persons", status=False), min_width=14),
    ]
    named = counts.select(C.rule_id, "title").rows()

    def link(sheet_row: int, i: int) -> None:  # the rule's name opens its sheet
        rule_id, title = named[i]
        target = sheet_of_rule.get(rule_id)
        if target:
            ws.write_url(sheet_row, 1, sheet_ref(target), fm.link, string=title, tip=f"打开工作表「{target}」")

    table = write_table(ws, fm, row + 1, cols, counts, after_row=link)
    widths.add(table)
    ws.write_string(table.last_row + 1, 0, PENDING_NOTE, fm.note)
    row = table.last_row + 3

    # 二、三、per township and per village
    areas = ensure_columns(
        data.area_counts,
        [C.township, C.village, "households_red", "households_yellow", "households_blue",
         "households", "persons"],
    )
    count_cols = ["households_red", "households_yellow", "households_blue", "households", "persons"]
    areas = areas.with_columns(pl.col(c).cast(pl.Int64, strict=False).fill_null(0) for c in count_cols)

    def count_columns() -> list[Col]:
        return [
            Col("红色户数", pl.col("households_red"), INT, header_format="red"),
            Col("黄色户数", pl.col("households_yellow"), INT, header_format="yellow"),
            Col("蓝色户数", pl.col("households_blue"), INT, header_format="blue"),
            Col("合计户数", pl.col("households"), INT),
            Col("人数", pl.col("persons"), INT),
        ]

    def total_row(table: Table, first_count_col: int) -> int:
        r = table.last_row + 1
        ws.write_string(r, 0, "合计", fm.total)
        for j in range(1, first_count_col):
            ws.write_blank(r, j, None, fm.total)
        for j, c in enumerate(count_cols):
            ws.write_number(r, first_count_col + j, int(areas[c].sum()), fm.total)
        return r

    ws.write_string(row, 0, "二、按乡镇（每户按其最高预警等级计一次）", fm.section)
    by_town = (
        areas.group_by(C.township)
        .agg(pl.col(c).sum() for c in count_cols)
        .sort(C.township, nulls_last=True)
    )
    cols = [Col("乡镇", pl.col(C.township)), *count_columns()]
    table = write_table(ws, fm, row + 1, cols, by_town)
    widths.add(table)
    town_table = table
    row = total_row(table, 1) + 2

    ws.write_string(row, 0, "三、按村", fm.section)
    by_village = areas.sort(C.township, C.village, nulls_last=True)
    cols = [Col("乡镇", pl.col(C.township)), Col("村", pl.col(C.village)), *count_columns()]
    table = write_table(ws, fm, row + 1, cols, by_village)
    widths.add(table)
    row = total_row(table, 2) + 2

    # 四、per input file
    if data.links_by_sector is not None:
        ws.write_string(row, 0, "四、各行业数据比对情况", fm.section)
        links = data.links_by_sector
        if C.source_file not in links.columns and "file" in links.columns:
            links = links.rename({"file": C.source_file})
        links = ensure_columns(
            links,
            ["sector", C.source_file, C.rows_read, C.rows_linked, C.rows_review, C.rows_unlinked,
             C.rows_rejected],
        )
        read = pl.col(C.rows_read).cast(pl.Float64, strict=False)
        cols = [
            Col("行业", _sector_label(pl.col("sector"))),
            Col("文件", pl.col(C.source_file), max_width=40),
            Col("读取行数", pl.col(C.rows_read), INT),
            Col("自动匹配", pl.col(C.rows_linked), INT),
            Col("待核实", pl.col(C.rows_review), INT),
            Col("未匹配", pl.col(C.rows_unlinked), INT),
            Col("无效行", pl.col(C.rows_rejected), INT),
            Col("匹配率", pl.when(read > 0).then(pl.col(C.rows_linked) / read), PERCENT),
        ]
        table = write_table(ws, fm, row + 1, cols, links)
        widths.add(table)
        row = table.last_row + 2

    for note in data.file_notes or []:
        ws.write_string(row, 0, f"注意：{note}", fm.note)
        row += 1
    if data.file_notes:
        row += 1

    # 五、quality issues by check
    quality = ensure_columns(data.quality, QUALITY_COLUMNS)
    if quality.height:
        ws.write_string(row, 0, "五、数据质量问题（按检查项）", fm.section)
        order = pl.col(C.severity).replace_strict(
            {"error": 0, "warning": 1, "info": 2}, default=3, return_dtype=pl.Int64
        )
        by_check = (
            quality.group_by(C.check_id, C.dimension, C.severity)
            .agg(pl.len().alias("issues"), pl.col(C.source_file).n_unique().alias("files"))
            .sort([order, pl.col("issues"), pl.col(C.check_id)], descending=[False, True, False])
        )
        cols = [
            Col("检查项", check_title(pl.col(C.check_id), data.check_titles), max_width=40),
            Col("检查编号", pl.col(C.check_id)),
            Col("维度", pl.col(C.dimension)),
            Col("严重程度", pl.col(C.severity), SEVERITY),
            Col("问题数", pl.col("issues"), INT),
            Col("涉及文件数", pl.col("files"), INT),
        ]
        table = write_table(ws, fm, row + 1, cols, by_check)
        widths.add(table)
        listed = quality.height if data.quality_detail is None else data.quality_detail.height
        note = "明细见“数据质量”工作表。"
        if listed < quality.height:
            note = (
                f"“数据质量”工作表列出与监测对象相关的 {listed:,} 条；"
                f"全部 {quality.height:,} 条（含行业数据中非监测对象的问题）见 quality_issues.csv。"
            )
        ws.write_string(table.last_row + 1, 0, note, fm.note)
        row = table.last_row + 3

    # 六、quality per 乡镇 (from the scorecard)
    towns = township_scores(data.scorecard)
    score_table = None
    if towns is not None and towns.height:
        ws.write_string(row, 0, "六、各乡镇数据质量（无错误记录占比）", fm.section)
        cols = [
            Col("乡镇", pl.col(C.township)),
            Col("记录数", pl.col("rows"), INT),
            Col("含错误记录数", pl.col(C.error_rows), INT),
            Col("无错误记录占比", pl.col(C.clean_rate), PERCENT),
            Col("等级", pl.col("grade")),
        ]
        score_table = write_table(ws, fm, row + 1, cols, towns)
        widths.add(score_table)
        row = score_table.last_row + 2

    row = write_history_section(ws, fm, data, data.flags, row, widths)

    if wb is not None:
        charts.add_summary_charts(wb, ws, town_table, score_table, row=5, col=10)

    # Column A also holds the title and labels, which overflow to the right: not counted.
    for col, width in sorted(widths.by_col.items()):
        ws.set_column(col, col, column_width(max(width, 10 if col == 0 else 0)))
    ws.set_column(1, 1, column_width(max(widths.by_col.get(1, 0), display_width("基准日期") + 4)))
    _print_setup(ws, data.title, landscape=False)
    ws.activate()


def write_history_section(ws: Worksheet, fm: Formats, data: ReportData, flags: pl.DataFrame, row: int,
                          widths: _Widths) -> int:
    """七、与上次运行比较 (with a history): per 乡镇/村 the flags 新增/持续/复发, 已解除 (resolved
    since the previous run) and 超期未核实 (no answer `verify_days` after first sent)."""
    if "status" not in flags.columns or flags["status"].null_count() == flags.height:
        return row
    place = [pl.col(c).cast(pl.String).fill_null("（不详）").alias(c) for c in (C.township, C.village)]
    counts = flags.with_columns(place).group_by(C.township, C.village).agg(
        *[(pl.col("status") == s).sum().alias(s) for s in ("新增", "持续", "复发")],
        pl.col(C.overdue).fill_null(False).sum().alias("超期未核实"),
    )
    resolved = data.resolved
    if resolved is not None and resolved.height:
        gone = ensure_columns(resolved, [C.township, C.village]).with_columns(place).group_by(
            C.township, C.village).len("已解除")
        counts = counts.join(gone, on=[C.township, C.village], how="full", coalesce=True)
    counts = ensure_columns(counts, ["已解除"]).with_columns(
        pl.col(c).cast(pl.Int64).fill_null(0) for c in ("新增", "持续", "复发", "已解除", "超期未核实")
    ).sort(C.township, C.village)
    ws.write_string(row, 0, "七、与上次运行比较（预警条数；超期未核实：下发超过核实时限仍无核实结果）", fm.section)
    cols = [Col("乡镇", pl.col(C.township)), Col("村", pl.col(C.village)),
            *[Col(c, pl.col(c), INT) for c in ("新增", "持续", "复发", "已解除", "超期未核实")]]
    table = write_table(ws, fm, row + 1, cols, counts)
    widths.add(table)
    r = table.last_row + 1
    ws.write_string(r, 0, "合计", fm.total)
    ws.write_blank(r, 1, None, fm.total)
    for j, c in enumerate(("新增", "持续", "复发", "已解除", "超期未核实"), start=2):
        ws.write_number(r, j, int(counts[c].sum()), fm.total)
    return r + 2


# ---------------------------------------------------------------------------------------------
# One sheet per rule


def rule_columns(frame: pl.DataFrame | None = None) -> list[Col]:
    return [
        Col("乡镇", pl.col(C.township)),
        Col("村", pl.col(C.village)),
        Col("组", pl.col("group")),
        Col("户编号", pl.col(C.household_id)),
        Col("姓名", pl.col(C.person_name)),
        Col("证件号码", pl.col(C.id_number)),
        Col("与户主关系", pl.col(C.relation)),
        Col("预警等级", pl.col("level"), LEVEL),
        *history_columns(frame),
        Col("疑点说明", pl.col("detail"), max_width=50, wrap=True),
        Col("数据来源", _roster_or_source(), max_width=30, wrap=True),
        *feedback_columns(frame if frame is not None else pl.DataFrame()),
    ]


def history_columns(frame: pl.DataFrame | None) -> list[Col]:
    """With a history: 预警状态 (新增/持续/复发), 首次预警 (period), 上次核实结果, 超期未核实."""
    if frame is None or "status" not in frame.columns or frame["status"].null_count() == frame.height:
        return []
    overdue = pl.when(pl.col(C.overdue).fill_null(False)).then(pl.lit("超期未核实")).otherwise(pl.lit(""))
    return [
        Col("预警状态", pl.col("status")),
        Col("首次预警", pl.col(C.first_flagged)),
        Col("上次核实结果", pl.col(C.last_verdict)),
        Col("超期未核实", overdue),
    ]


FLAG_PROMPT = "入户核实后选择：属实、不属实或已整改"


def _roster_or_source() -> pl.Expr:
    roster = pl.concat_str(
        [pl.lit(SECTOR_TITLES["roster"] + " 第"), _text(C.roster_row), pl.lit("行")]
    )
    return pl.coalesce(_source(C.source_file, C.source_row), roster)


def sort_flags(flags: pl.DataFrame) -> pl.DataFrame:
    return _sorted(
        flags, [C.township, C.village, C.household_id, C.roster_row, C.source_file, C.source_row],
        nulls_last=True,
        maintain_order=True,
    )


def write_rule_sheets(fm: Formats, rule_sheets: list[tuple[Worksheet, RuleInfo]], flags: pl.DataFrame,
                      data: ReportData) -> None:
    """Every rule's sheet (`write_rule_sheet`) from `flags` (every rule's rows, in order): the
    tables written together (`batch.write_tables`), each with the columns its own rows call for."""
    from fanpin_cli.report.batch import write_tables

    with_history: set[str] = set()
    if "status" in flags.columns and flags.height:
        counted = flags.group_by(C.rule_id).agg(pl.col("status").is_not_null().any())
        with_history = {r for r, any_status in counted.iter_rows() if any_status}
    by_columns: dict[bool, list[tuple[Worksheet, RuleInfo]]] = {}
    for ws, rule in rule_sheets:
        by_columns.setdefault(rule.rule_id in with_history, []).append((ws, rule))
    for history, group in by_columns.items():
        cols = rule_columns(flags if history else flags.clear())
        tables = write_tables(fm, cols, flags, C.rule_id, [(ws, rule.rule_id) for ws, rule in group], columns=True)
        for (ws, rule), table in zip(group, tables, strict=True):
            _finish_rule_sheet(ws, fm, rule, table, cols, data)


def write_rule_sheet(
    ws: Worksheet, fm: Formats, rule: RuleInfo, rows: pl.DataFrame, data: ReportData
) -> None:
    cols = rule_columns(rows)
    table = write_table(ws, fm, 0, cols, rows, columns=True)
    _finish_rule_sheet(ws, fm, rule, table, cols, data)


def _finish_rule_sheet(ws: Worksheet, fm: Formats, rule: RuleInfo, table: Table, cols: list[Col],
                       data: ReportData) -> None:
    finish_table(ws, fm, table, cols)
    finish_feedback(ws, table, cols, VERDICT_CHOICES, FLAG_PROMPT)
    if rule.level in TAB_COLOURS:
        ws.set_tab_color(TAB_COLOURS[rule.level])
    level = LEVEL_LABELS.get(rule.level, rule.level)
    _print_setup(ws, f"{data.county}{data.area} {data.period} {level}色预警：{rule.title}（{rule.rule_id}）")


# ---------------------------------------------------------------------------------------------
# 待核实后确定


def write_pending(ws: Worksheet, fm: Formats, rows: pl.DataFrame, data: ReportData) -> None:
    """Flags that wait for a review item or an ID correction (evidence_status pending_review),
    all rules on one sheet, not counted in the red/yellow/blue totals."""
    rows = pending_rows(rows)
    cols = pending_columns(rows)
    finish_pending(ws, fm, write_table(ws, fm, 0, cols, rows, columns=True), cols, data)


def pending_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """待核实后确定's rows, in the sheet's order."""
    return _sorted(rows, [C.township, C.village, C.household_id, C.rule_id, C.roster_row], nulls_last=True,
                   maintain_order=True)


def pending_columns(rows: pl.DataFrame) -> list[Col]:
    """待核实后确定's columns for its (ordered) `rows`."""
    return [Col("规则", pl.col("title"), max_width=24, wrap=True), *rule_columns(rows)]


def finish_pending(ws: Worksheet, fm: Formats, table: Table, cols: list[Col], data: ReportData) -> None:
    """待核实后确定 after its table: filter, dropdown, tab colour, print title."""
    finish_table(ws, fm, table, cols)
    finish_feedback(ws, table, cols, VERDICT_CHOICES, FLAG_PROMPT)
    ws.set_tab_color("#A6A6A6")
    _print_setup(ws, f"{data.county}{data.area} {data.period} {PENDING}（确认匹配或更正证件号码后归类，不计入预警户数）")


# ---------------------------------------------------------------------------------------------
# 应纳未纳


def write_candidates(ws: Worksheet, fm: Formats, rows: pl.DataFrame, data: ReportData) -> None:
    rows = candidate_rows(rows)
    cols = candidate_columns(rows)
    finish_candidates(ws, fm, write_table(ws, fm, 0, cols, rows, columns=True), cols, data)


def candidate_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """应纳未纳's rows, in the sheet's order."""
    return _sorted(rows, [C.township, C.village, C.source_file, C.source_row], nulls_last=True)


def candidate_columns(rows: pl.DataFrame) -> list[Col]:
    """应纳未纳's columns for its (ordered) `rows`."""
    return [
        Col("来源文件", pl.col(C.source_file), max_width=30, wrap=True),
        Col("行号", pl.col(C.source_row), INT),
        Col("姓名", pl.col(C.person_name)),
        Col("证件号码", pl.col(C.id_number)),
        Col("乡镇", pl.col(C.township)),
        Col("村", pl.col(C.village)),
        Col("说明", pl.col("detail"), max_width=50, wrap=True),
        *feedback_columns(rows),
    ]


def finish_candidates(ws: Worksheet, fm: Formats, table: Table, cols: list[Col], data: ReportData) -> None:
    """应纳未纳 after its table: filter, dropdown, tab colour, print title."""
    finish_table(ws, fm, table, cols)
    finish_feedback(ws, table, cols, VERDICT_CHOICES, "核实是否应纳入监测：属实、不属实或已整改（已纳入）")
    ws.set_tab_color(TAB_COLOURS["blue"])
    _print_setup(ws, f"{data.county}{data.area} {data.period} 应纳未纳疑点（民政在保、不在监测系统）")


# ---------------------------------------------------------------------------------------------
# 待核实匹配

def write_review(ws: Worksheet, fm: Formats, review: pl.DataFrame, data: ReportData) -> None:
    rows, cols = review_table(review)
    table = write_table(ws, fm, 0, cols, rows, columns=True, highlight=review_highlight(cols, fm))
    finish_review(ws, fm, table, cols, data)


def review_table(review: pl.DataFrame | None) -> tuple[pl.DataFrame, list[Col]]:
    """待核实匹配's rows, in the sheet's order, and its columns."""
    has_key = C.record_key in (review.columns if review is not None else [])
    review = _sorted(ensure_columns(review, REVIEW_COLUMNS), ["sector", C.source_file, C.source_row],
                     nulls_last=True, maintain_order=True)
    s, r = "sector", "roster"
    # Narrow columns with wrapped text: the sheet prints landscape on A4, one page wide.
    cols = [
        Col("行业", _sector_label(pl.col("sector")), max_width=8, wrap=True, header_format=s),
        Col("来源文件", pl.col(C.source_file), max_width=14, wrap=True, header_format=s),
        Col("行号", pl.col(C.source_row), INT, header_format=s),
        Col("行业姓名", pl.col(C.extract_name), max_width=8, header_format=s),
        Col("行业证件号码", pl.col(C.extract_id), header_format=s),
        Col("行业出生日期", pl.col(C.extract_birth), DATE, header_format=s),
        Col("行业乡镇", pl.col(C.extract_township), max_width=8, wrap=True, header_format=s),
        Col("行业村", pl.col(C.extract_village), max_width=8, wrap=True, header_format=s),
        Col("名单行号", pl.col(C.roster_row), INT, header_format=r),
        Col("户编号", pl.col(C.household_id), header_format=r),
        Col("系统姓名", pl.col(C.roster_name), max_width=8, header_format=r),
        Col("系统证件号码", pl.col(C.roster_id), header_format=r),
        Col("系统出生日期", pl.col(C.roster_birth), DATE, header_format=r),
        Col("系统乡镇", pl.col(C.roster_township), max_width=8, wrap=True, header_format=r),
        Col("系统村", pl.col(C.roster_village), max_width=8, wrap=True, header_format=r),
        Col("匹配分", pl.col(C.match_score), FLOAT),
        Col("原因", pl.col("reason"), max_width=24, wrap=True),
        Col(VERIFY, kind=INPUT, max_width=10),
        Col("备注", kind=INPUT, max_width=12),
        *([Col(RECORD, pl.col(C.record_key), narrow=True)] if has_key else []),
    ]
    return review, cols


def review_highlight(cols: list[Col], fm: Formats) -> dict[int, tuple[pl.Expr, Format]]:
    """The sector-side value highlighted wherever the two records disagree."""
    index = {c.header: j for j, c in enumerate(cols)}
    pairs = [
        (index["行业姓名"], index["系统姓名"]),
        (index["行业证件号码"], index["系统证件号码"]),
        (index["行业出生日期"], index["系统出生日期"]),
        (index["行业乡镇"], index["系统乡镇"]),
        (index["行业村"], index["系统村"]),
    ]
    differs = {}
    for j, k in pairs:
        a, b = pl.col(f"c{j}"), pl.col(f"c{k}")
        differs[j] = (a.is_not_null() & b.is_not_null() & (a != b), fm.diff)
    return differs


def finish_review(ws: Worksheet, fm: Formats, table: Table, cols: list[Col], data: ReportData) -> None:
    """待核实匹配 after its table: filter, dropdown, print setup."""
    finish_table(ws, fm, table, cols)
    dropdown(ws, table, [c.header for c in cols].index(VERIFY), REVIEW_CHOICES, "两条记录是否为同一人？")
    _print_setup(ws, f"{data.county}{data.area} {data.period} 待核实匹配（请确认是否同一人）")
    ws.set_margins(left=0.3, right=0.3, top=0.6, bottom=0.6)


# ---------------------------------------------------------------------------------------------
# 数据质量


def write_quality(ws: Worksheet, fm: Formats, quality: pl.DataFrame, data: ReportData) -> None:
    rows, cols = quality_table(quality, data)
    finish_quality(ws, fm, write_table(ws, fm, 0, cols, rows, columns=True), cols, data)


def quality_table(quality: pl.DataFrame | None, data: ReportData) -> tuple[pl.DataFrame, list[Col]]:
    """数据质量's rows, in the sheet's order, and its columns."""
    keyed = quality is not None and C.record_key in quality.columns
    quality = _sorted(ensure_columns(quality, [*QUALITY_COLUMNS, "name"]), [C.source_file, C.source_row],
                      nulls_last=True, maintain_order=True)
    cols = [
        Col("文件", pl.col(C.source_file), max_width=24, wrap=True),
        Col("行号", pl.col(C.source_row), INT),
        Col("姓名", pl.col("name")),
        Col("户编号", pl.col(C.household_id)),
        Col("列", pl.col("column"), max_width=16, wrap=True),
        Col("检查项", check_title(pl.col(C.check_id), data.check_titles), max_width=24, wrap=True),
        Col("检查编号", pl.col(C.check_id)),
        Col("维度", pl.col(C.dimension)),
        Col("严重程度", pl.col(C.severity), SEVERITY),
        Col("说明", pl.col("message"), max_width=50, wrap=True),
        Col("乡镇", pl.col(C.township)),
        Col("村", pl.col(C.village)),
        *feedback_columns(quality if keyed else pl.DataFrame()),
    ]
    return quality, cols


def finish_quality(ws: Worksheet, fm: Formats, table: Table, cols: list[Col], data: ReportData) -> None:
    """数据质量 after its table: filter, dropdown, print title."""
    finish_table(ws, fm, table, cols)
    finish_feedback(ws, table, cols, VERDICT_CHOICES, "核实后选择：属实（数据确有问题）、不属实或已整改")
    _print_setup(ws, f"{data.county}{data.area} {data.period} 数据质量问题")


# ---------------------------------------------------------------------------------------------
# Generic frames: 质量评分, 账账相符


def generic_columns(frame: pl.DataFrame, table: str, titles: dict[str, str] | None = None) -> list[Col]:
    """One column per frame column: the heading declared for it in `tables.TABLES[table]`,
    kind from the dtype (`titles`: as for `check_title`)."""
    cols = []
    for name, dtype in frame.schema.items():
        header = heading(table, name)
        expr = pl.col(name)
        if name == "sector":
            cols.append(Col(header, _sector_label(expr)))
        elif name == C.check_id:
            cols.append(Col("检查项", check_title(expr, titles), max_width=30))
        elif name == C.evidence_status:
            cols.append(Col(header, expr.cast(pl.String).replace(EVIDENCE_STATUS_TITLES)))
        elif dtype in (pl.Date, pl.Datetime):
            cols.append(Col(header, expr, DATE))
        elif dtype.is_integer():
            cols.append(Col(header, expr, INT))
        elif dtype.is_float():
            as_fraction = ("rate" in name or name.endswith("_share")) and (frame[name].max() or 0) <= 1  # type: ignore[operator]
            cols.append(Col(header, expr, PERCENT if as_fraction else FLOAT))
        elif dtype == pl.Boolean:
            cols.append(Col(header, pl.when(expr).then(pl.lit("是")).when(~expr).then(pl.lit("否"))))
        else:
            cols.append(Col(header, expr, max_width=40, wrap=True))
    return cols


def write_generic(ws: Worksheet, fm: Formats, frame: pl.DataFrame, title: str, table: str,
                  titles: dict[str, str] | None = None) -> None:
    """A declared table (`tables.TABLES[table]`) as one sheet with its Chinese headings
    (`titles`: check names, as for `check_title`)."""
    cols = generic_columns(frame, table, titles)
    if not cols:
        ws.write_string(0, 0, "（无数据）", fm.note)
        return
    table = write_table(ws, fm, 0, cols, frame, columns=True)
    finish_table(ws, fm, table, cols)
    _print_setup(ws, title)


def flag_frame(flags: pl.DataFrame | None) -> pl.DataFrame:
    return ensure_columns(flags, FLAG_COLUMNS)
