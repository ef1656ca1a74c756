"""Read the history back: the list of runs, and one household's or person's timeline (flags,
answers, links, quality issues, month by month) for an inspection.

    runs = list_runs(path, "永顺县")
    events = timeline(path, "永顺县", household="4331270001")
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from .reduce import KEPT_LINK_STATUSES
from .store import HistoryError, connect, query

EVENT_COLUMNS = ["period", "event", "item", "status", "detail", "person_name", "masked_id", "household_id",
                 "verdict", "verdict_date", "file"]
EVENT_TITLES = {"period": "月份", "event": "事项", "item": "规则/检查/部门", "status": "状态", "detail": "说明",
                "person_name": "姓名", "masked_id": "证件号码", "household_id": "户编号", "verdict": "核实结果",
                "verdict_date": "核实日期", "file": "反馈文件"}
RUN_TITLES = {"period": "月份", "reference_date": "基准日", "recorded_at": "记录时间", "version": "版本",
              "flags": "预警", "new": "新增", "ongoing": "持续", "recurring": "复发", "resolved": "已解除",
              "exempted": "免核", "overdue": "超期未核实", "review": "待核实匹配", "verdicts": "已反馈"}


def list_runs(path: Path, county: str) -> pl.DataFrame:
    """One row per recorded run of `county`, newest first, with its counts."""
    with connect(path, read_only=True) as con:
        return query(con, """
            SELECT r.period, r.reference_date, r.recorded_at, r.version,
                (SELECT count(*) FROM flags f WHERE f.run_id = r.run_id AND f.shown) AS flags,
                (SELECT count(*) FROM flags f WHERE f.run_id = r.run_id AND f.status = '新增') AS new,
                (SELECT count(*) FROM flags f WHERE f.run_id = r.run_id AND f.status = '持续') AS ongoing,
                (SELECT count(*) FROM flags f WHERE f.run_id = r.run_id AND f.status = '复发') AS recurring,
                (SELECT count(*) FROM resolved x WHERE x.run_id = r.run_id) AS resolved,
                (SELECT count(*) FROM exempted x WHERE x.run_id = r.run_id) AS exempted,
                (SELECT count(*) FROM flags f WHERE f.run_id = r.run_id AND f.overdue) AS overdue,
                (SELECT count(*) FROM review v WHERE v.run_id = r.run_id) AS review,
                (SELECT count(*) FROM verdicts v WHERE v.sent_run_id = r.run_id AND v.verdict IS NOT NULL) AS verdicts
            FROM runs r WHERE r.county = ? ORDER BY r.period DESC
        """, [county])


def timeline(
    path: Path,
    county: str,
    *,
    household: str | None = None,
    person_key: str | None = None,
    name: str | None = None,
) -> pl.DataFrame:
    """Every event of one household (户编号), person (keyed hash of the ID) or name, by month."""
    if sum(x is not None for x in (household, person_key, name)) != 1:
        raise HistoryError("请只指定 --household、--id、--name 中的一个")
    column, value = (("household_id", household) if household is not None
                     else ("person_key", person_key) if person_key is not None else ("person_name", name))
    name_col = {"person_name": "extract_name"}
    with connect(path, read_only=True) as con:
        params = [county, value]
        flags = query(con, f"""
            SELECT r.period, '预警' AS event, coalesce(f.title, f.rule_id) AS item, f.status, f.detail,
                   f.person_name, f.masked_id, f.household_id, f.last_verdict AS verdict, f.record_key
            FROM flags f JOIN runs r USING (run_id) WHERE r.county = ? AND f.{column} = ? AND f.shown
        """, params)
        exempted = query(con, f"""
            SELECT r.period, '免于重复核实' AS event, x.rule_id AS item, '免核' AS status,
                   '核实不属实且证据未变，至 ' || CAST(x.exempt_until AS VARCHAR) AS detail,
                   x.person_name, NULL AS masked_id, x.household_id, x.verdict, x.verdict_date, x.verdict_file AS file,
                   x.record_key
            FROM exempted x JOIN runs r USING (run_id) WHERE r.county = ? AND x.{column} = ?
        """, params)
        resolved = query(con, f"""
            SELECT r.period, '已解除' AS event, x.rule_id AS item, '已解除' AS status, x.resolved_reason AS detail,
                   x.person_name, x.household_id, x.record_key
            FROM resolved x JOIN runs r USING (run_id) WHERE r.county = ? AND x.{column} = ?
        """, params)
        issues = query(con, f"""
            SELECT r.period, '数据质量' AS event, i.check_id AS item, i.message AS detail, i.person_name,
                   i.household_id, i.record_key
            FROM issues i JOIN runs r USING (run_id) WHERE r.county = ? AND i.{column} = ?
        """, params)
        kept = ", ".join(f"'{status}'" for status in KEPT_LINK_STATUSES)  # the links the history keeps
        links = query(con, f"""
            SELECT r.period, '部门数据关联' AS event, l.sector AS item, l.match_status AS status,
                   l.source_file || ' 第' || CAST(l.source_row AS VARCHAR) || '行：' || coalesce(l.reason, '') AS detail,
                   l.person_name, l.masked_id, l.household_id
            FROM links l JOIN runs r USING (run_id)
            WHERE r.county = ? AND l.{column} = ? AND l.match_status IN ({kept})
        """, params)
        review = query(con, f"""
            SELECT r.period, '待核实匹配' AS event, v.sector AS item, v.reason AS detail,
                   v.{name_col.get(column, column)} AS person_name, v.household_id, v.record_key
            FROM review v JOIN runs r USING (run_id) WHERE r.county = ? AND v.{name_col.get(column, column)} = ?
        """, params)
        keys = pl.concat([f.select("record_key") for f in (flags, exempted, resolved, issues, review)]).unique()
        answered = query(con, """
            SELECT r.period, '村（社区）反馈' AS event, v.kind AS item, v.remark AS detail, v.verdict,
                   v.verdict_date, v.file || '／' || v.sheet AS file, v.record_key
            FROM verdicts v LEFT JOIN runs r ON r.run_id = v.sent_run_id
            WHERE v.county = ? AND list_contains(?, v.record_key)
        """, [county, keys["record_key"].to_list()])
    kinds = {"flag": "预警", "issue": "数据质量", "review": "待核实匹配"}
    answered = answered.with_columns(pl.col("item").replace_strict(kinds, default=pl.col("item")))
    frames = [flags, exempted, resolved, issues, links, review, answered]
    out = pl.concat([f.select([c for c in f.columns if c in EVENT_COLUMNS]) for f in frames], how="diagonal_relaxed")
    out = out.select([(pl.col(c) if c in out.columns else pl.lit(None)).cast(pl.String).alias(c) for c in EVENT_COLUMNS])
    order = {e: i for i, e in enumerate(["待核实匹配", "部门数据关联", "预警", "免于重复核实", "已解除", "数据质量", "村（社区）反馈"])}
    return out.with_columns(pl.col("event").replace_strict(order, default=99).alias("_o")).sort("period", "_o").drop("_o")


def write_timeline_workbook(path: Path, runs: pl.DataFrame, events: pl.DataFrame, title: str) -> None:
    """The timeline (and the runs) as an .xlsx with Chinese headings, for an inspection."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    bold = wb.add_format({"bold": True, "font_size": 14})
    for sheet_name, frame, titles in (("时间线", events, EVENT_TITLES), ("运行记录", runs, RUN_TITLES)):
        ws = wb.add_worksheet(sheet_name)
        ws.write(0, 0, title if sheet_name == "时间线" else "运行记录", bold)
        columns = [c for c in titles if c in frame.columns]
        for j, c in enumerate(columns):
            ws.write(1, j, titles[c], head)
            ws.set_column(j, j, 40 if c == "detail" else 14)
        for i, row in enumerate(frame.select(columns).iter_rows(), start=2):
            for j, v in enumerate(row):
                ws.write_string(i, j, "" if v is None else str(v), wrap)
        ws.freeze_panes(2, 0)
        ws.autofilter(1, 0, max(1, frame.height + 1), max(0, len(columns) - 1))
    wb.close()
