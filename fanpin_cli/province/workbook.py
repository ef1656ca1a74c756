"""province.xlsx: 全省汇总 (one row per county: status, 红/黄/蓝 households, quality score,
link rate, X户Y人 per rule), 关联率 (per county and file), 跨县匹配, 全省数据分县.

IDs arrive masked (or full with --full-ids); this module never sees anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter

from fanpin_cli.province.cross import KIND_TITLES
from fanpin_cli.report.formats import Formats
from fanpin_cli.report.model import LEVEL_LABELS
from fanpin_cli.report.table import FLOAT, INT, PERCENT, Col, finish_table, write_table
from fanpin_cli.tables import C

STATUS = {"ok": "完成", "failed": "失败"}
ASSIGNED_TITLES = {"id": "按证件号码", "region": "按行政区划代码", C.township: "按乡镇"}


def _overview(summary: dict[str, Any]) -> tuple[list[Col], pl.DataFrame]:
    rules = summary["totals"]["rules"] or [
        r for e in summary["counties"] if e["status"] == "ok" for r in e["rules"]
    ]
    seen: dict[str, dict[str, Any]] = {}
    for r in rules:
        seen.setdefault(r[C.rule_id], r)
    records = []
    for e in summary["counties"]:
        rec: dict[str, Any] = {
            "county": e["county"], "status": STATUS[e["status"]], "error": e.get("error"),
            "seconds": e.get("elapsed_seconds"),
        }
        if e["status"] == "ok":
            rec |= {f"h_{lvl}": e["households_flagged"].get(lvl, 0) for lvl in LEVEL_LABELS}
            rec |= {"issues": e["quality"]["issues"], C.clean_rate: e["quality"][C.clean_rate],
                    "grade": e["quality"]["grade"], "link_rate": e["link_rate"]}
            for r in e["rules"]:
                shown = r["text"] if r.get("status", "evaluated") == "evaluated" else f"未评估（{r.get('reason', '')}）"
                rec[f"r_{r[C.rule_id]}"] = shown
        records.append(rec)
    cols = [
        Col("县", pl.col("county")), Col("状态", pl.col("status")),
        *[Col(f"{label}色预警户数", pl.col(f"h_{lvl}"), INT, header_format=lvl) for lvl, label in LEVEL_LABELS.items()],
        Col("质量问题条数", pl.col("issues"), INT), Col("质量评分（无错误行占比）", pl.col(C.clean_rate), PERCENT),
        Col("质量等级", pl.col("grade")), Col("关联率", pl.col("link_rate"), PERCENT),
        *[Col(f"{r['title']}（{LEVEL_LABELS.get(r['level'], r['level'])}）", pl.col(f"r_{rid}"), header_format=r["level"],
              max_width=24) for rid, r in seen.items()],
        Col("用时（秒）", pl.col("seconds"), FLOAT), Col("错误", pl.col("error"), max_width=80),
    ]
    names = ["county", "status", "error", "seconds", *[f"h_{lvl}" for lvl in LEVEL_LABELS], "issues", C.clean_rate,
             "grade", "link_rate", *[f"r_{rid}" for rid in seen]]
    frame = pl.DataFrame(records, infer_schema_length=None)
    frame = frame.with_columns([pl.lit(None).alias(n) for n in names if n not in frame.columns])
    return cols, frame


def _links(summary: dict[str, Any]) -> tuple[list[Col], pl.DataFrame]:
    rows = [{"county": e["county"], **link} for e in summary["counties"] if e["status"] == "ok" for link in e["links"]]
    frame = pl.DataFrame(rows, schema={
        "county": pl.String, "file": pl.String, "sector_title": pl.String, C.rows_read: pl.Int64,
        C.rows_linked: pl.Int64, C.rows_review: pl.Int64, C.rows_unlinked: pl.Int64, "link_rate": pl.Float64,
    })
    cols = [Col("县", pl.col("county")), Col("文件", pl.col("file")), Col("数据类别", pl.col("sector_title")),
            Col("数据行数", pl.col(C.rows_read), INT), Col("已关联", pl.col(C.rows_linked), INT),
            Col("待核实", pl.col(C.rows_review), INT), Col("未关联", pl.col(C.rows_unlinked), INT),
            Col("关联率", pl.col("link_rate"), PERCENT)]
    return cols, frame


def _cross(cross: pl.DataFrame) -> tuple[list[Col], pl.DataFrame]:
    cols = [Col("类型", pl.col("kind").replace(KIND_TITLES)), Col("所在县", pl.col("county")),
            Col("数据类别", pl.col("sector")), Col("文件", pl.col(C.source_file)), Col("行号", pl.col(C.source_row), INT),
            Col("在本县的比对结果", pl.col(C.match_status)), Col("花名册所在县", pl.col("home_county")),
            Col("户编号", pl.col(C.household_id)), Col("花名册行号", pl.col(C.roster_row), INT),
            Col("证件号码", pl.col(C.id_number))]
    return cols, cross


def _split(summary: dict[str, Any]) -> tuple[list[Col], pl.DataFrame]:
    rows = []
    for s in summary["extracts"]:
        base = {"file": s["file"], "sector": s["sector"], C.rows_read: s[C.rows_read], "error": s.get("error")}
        for county, n in s.get("by_county", {}).items():
            rows.append(base | {"county": county, "rows": n})
        rows.append(base | {"county": "（未分配）", "rows": s.get("rows_unassigned", 0)})
        for how, n in s.get("rows_assigned", {}).items():
            rows.append(base | {"county": f"（{ASSIGNED_TITLES.get(how, how)}）", "rows": n})
    frame = pl.DataFrame(rows, schema={"file": pl.String, "sector": pl.String, C.rows_read: pl.Int64,
                                       "error": pl.String, "county": pl.String, "rows": pl.Int64})
    cols = [Col("文件", pl.col("file")), Col("数据类别", pl.col("sector")), Col("总行数", pl.col(C.rows_read), INT),
            Col("分到", pl.col("county")), Col("行数", pl.col("rows"), INT), Col("错误", pl.col("error"), max_width=80)]
    return cols, frame


def write_province_workbook(path: Path, summary: dict[str, Any], cross: pl.DataFrame) -> None:
    """Write province.xlsx (`cross` already masked: cross.present)."""
    tmp = path.with_name(f".{path.name}.tmp")
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False, "strings_to_formulas": False,
                                        "strings_to_urls": False})
    fm = Formats(wb)
    sheets = [("全省汇总", _overview(summary)), ("关联率", _links(summary)), ("跨县匹配", _cross(cross))]
    if summary["extracts"]:
        sheets.append(("全省数据分县", _split(summary)))
    for title, (cols, frame) in sheets:
        ws = wb.add_worksheet(title)
        heading = f"{summary['province']} {title}" if title != "全省汇总" else (
            f"{summary['province']} 全省汇总：{summary['totals']['counties_ok']} 个县完成，"
            f"{summary['totals']['counties_failed']} 个县失败")
        ws.write_string(0, 0, heading, fm.title)
        table = write_table(ws, fm, 2, cols, frame)
        finish_table(ws, fm, table, cols)
    wb.close()
    tmp.replace(path)
