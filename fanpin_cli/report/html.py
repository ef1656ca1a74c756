"""summary.html: the run's summary on one self-contained page for leaders and the county's
intranet — no script, no network, no external file; charts are inline SVG.

The numbers are those of the 汇总 sheet (the same ReportData): each rule's "X户Y人" and what
waits for review, households per 乡镇 by level, and the share of error-free records per 乡镇.

>>> svg = stacked_bars([("灵溪镇", [2, 1, 0])], ["红色", "黄色", "蓝色"], ["#C00000", "#FFC000", "#5B9BD5"])
>>> svg.startswith("<svg") and "灵溪镇" in svg
True
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import polars as pl

from fanpin_cli.outputs import atomic_write_bytes
from fanpin_cli.report.formats import TAB_COLOURS
from fanpin_cli.report.model import LEVEL_LABELS, ReportData
from fanpin_cli.report.table import ensure_columns
from fanpin_cli.tables import C

LEVEL_ORDER = ("red", "yellow", "blue")
BAR_H = 22
LABEL_W = 120
PLOT_W = 460

CSS = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       margin: 24px auto; max-width: 1000px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 2px solid #D9E1F2; padding-bottom: 4px; }
p.meta, p.note { color: #595959; font-size: 13px; }
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
th, td { border: 1px solid #BFBFBF; padding: 4px 10px; }
th { background: #D9E1F2; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.red { background: #FFC7CE; color: #9C0006; text-align: center; }
td.yellow { background: #FFEB9C; color: #9C5700; text-align: center; }
td.blue { background: #BDD7EE; color: #1F4E78; text-align: center; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border-radius: 6px; padding: 10px 18px; min-width: 120px; }
.card b { display: block; font-size: 26px; }
svg text { font-size: 12px; }
@media print { body { margin: 0; } h2 { break-after: avoid; } }
"""


def _svg_text(x: float, y: float, text: str, anchor: str = "start", fill: str = "#222") -> str:
    return f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="{anchor}" fill="{fill}">{escape(text)}</text>'


def stacked_bars(rows: list[tuple[str, list[float]]], names: list[str], colours: list[str], *,
                 percent: bool = False) -> str:
    """A horizontal (stacked) bar chart as an inline SVG element: one bar per row label."""
    top, legend_h = 8, 26 if len(names) > 1 else 0
    height = top + legend_h + BAR_H * len(rows) + 24
    width = LABEL_W + PLOT_W + 70
    biggest = 1.0 if percent else max([sum(v) for _, v in rows] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img">']
    x = LABEL_W
    for name, colour in zip(names, colours, strict=True):
        if len(names) > 1:
            parts.append(f'<rect x="{x}" y="{top}" width="12" height="12" fill="{colour}"/>')
            parts.append(_svg_text(x + 16, top + 11, name))
            x += 30 + 14 * len(name)
    y = top + legend_h
    for label, values in rows:
        parts.append(_svg_text(LABEL_W - 6, y + BAR_H * 0.7, label, "end"))
        x = float(LABEL_W)
        for value, colour, name in zip(values, colours, names, strict=True):
            w = PLOT_W * (value / biggest) if biggest else 0
            if w > 0:
                shown = f"{value:.1%}" if percent else f"{value:g}"
                parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{BAR_H - 6}" '
                             f'fill="{colour}"><title>{escape(label)} {escape(name)}：{shown}</title></rect>')
                x += w
        total = sum(values)
        parts.append(_svg_text(x + 4, y + BAR_H * 0.7, f"{total:.1%}" if percent else f"{total:g}"))
        y += BAR_H
    parts.append("</svg>")
    return "".join(parts)


def _table(head: list[str], rows: list[list[tuple[str, str]]]) -> str:
    """An HTML table; each cell is (text, css class)."""
    out = ["<table><tr>", *[f"<th>{escape(h)}</th>" for h in head], "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f'<td class="{c}">{escape(t)}</td>' for t, c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def render_html(data: ReportData) -> str:
    """The page as text."""
    from fanpin_cli.report.sheets import CANDIDATE_RULES, rule_counts_table, township_scores

    flags = ensure_columns(data.flags, [C.rule_id, "title", "level", C.household_id, C.evidence_status])
    counts = rule_counts_table(data, flags)
    areas = ensure_columns(data.area_counts, [C.township, *[f"households_{lv}" for lv in LEVEL_ORDER],
                                              "households", "persons", "pending_households"])
    count_cols = [*[f"households_{lv}" for lv in LEVEL_ORDER], "households", "persons", "pending_households"]
    towns = (
        areas.with_columns(pl.col(c).cast(pl.Int64, strict=False).fill_null(0) for c in count_cols)
        .group_by(C.township).agg(pl.col(c).sum() for c in count_cols)
        .sort(C.township, nulls_last=True)
    )
    totals = {lv: int(towns[f"households_{lv}"].sum()) for lv in LEVEL_ORDER}
    waiting = int(towns["pending_households"].sum())
    body = [
        f"<h1>{escape(data.title)}</h1>",
        f'<p class="meta">基准日期 {data.reference_date.isoformat()} · fanpin {escape(data.version)} · '
        "预警名单是入户核实的线索，不是认定结论</p>",
        '<div class="cards">',
        *[f'<div class="card" style="background:{bg}"><b>{totals[lv]:,}</b>{LEVEL_LABELS[lv]}色预警户</div>'
          for lv, bg in zip(LEVEL_ORDER, ("#FFC7CE", "#FFEB9C", "#BDD7EE"), strict=True)],
        f'<div class="card" style="background:#EDEDED"><b>{waiting:,}</b>户待核实后确定</div>',
        "</div>",
        "<h2>一、各预警规则</h2>",
    ]
    rule_rows = []
    for r in counts.iter_rows(named=True):
        candidate = r[C.rule_id] in CANDIDATE_RULES
        text = f"{r['persons']}人" if candidate else f"{r['households']}户{r['persons']}人"
        if r.get("not_evaluated"):  # never "0户0人" for a rule that could not run
            text = r["not_evaluated"]
        wait = "" if not r["pending_persons"] else (
            f"{r['pending_persons']}人" if candidate else f"{r['pending_households']}户{r['pending_persons']}人")
        rule_rows.append([(r["title"], ""), (LEVEL_LABELS.get(r["level"], r["level"]), r["level"]),
                          (text, "n"), (wait, "n"), (r[C.rule_id], "")])
    body.append(_table(["规则", "等级", "户数人数", "待核实后确定", "规则编号"], rule_rows))
    body.append('<p class="note">“待核实后确定”取决于一条待人工确认的匹配或一个需更正的证件号码，不计入预警户数。</p>')
    if towns.height:
        body.append("<h2>二、各乡镇预警户数（每户按最高等级计）</h2>")
        bars = [(str(t or "乡镇不详"), [float(r) for r in rest])
                for t, *rest in towns.select(C.township, *[f"households_{lv}" for lv in LEVEL_ORDER]).iter_rows()]
        body.append(stacked_bars(bars, [f"{LEVEL_LABELS[lv]}色" for lv in LEVEL_ORDER],
                                 [TAB_COLOURS[lv] for lv in LEVEL_ORDER]))
        body.append(_table(
            ["乡镇", "红色户数", "黄色户数", "蓝色户数", "合计户数", "人数", "待核实后确定户数"],
            [[(str(r[0] or "乡镇不详"), ""), *[(f"{v:,}", "n") for v in r[1:]]]
             for r in towns.select(C.township, *count_cols).iter_rows()],
        ))
    scores = township_scores(data.scorecard)
    if scores is not None and scores.height:
        body.append("<h2>三、各乡镇数据质量（无错误记录占比）</h2>")
        body.append(stacked_bars([(str(t), [float(v or 0)]) for t, v in scores.select(C.township, C.clean_rate).iter_rows()],
                                 ["无错误记录占比"], ["#5B9BD5"], percent=True))
        body.append(_table(["乡镇", "记录数", "含错误记录数", "无错误记录占比", "等级"], [
            [(str(t), ""), (f"{n or 0:,}", "n"), (f"{e or 0:,}", "n"), (f"{(c or 0):.1%}", "n"), (str(g or ""), "")]
            for t, n, e, c, g in scores.select(C.township, "rows", C.error_rows, C.clean_rate, "grade").iter_rows()
        ]))
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(data.title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>\n"
    )


def write_html(path: Path, data: ReportData) -> None:
    """Write summary.html atomically."""
    atomic_write_bytes(Path(path), render_html(data).encode("utf-8"))
