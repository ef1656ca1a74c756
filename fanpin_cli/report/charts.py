"""Native Excel charts on 汇总 (xlsxwriter): households per 乡镇 by level (stacked bars) and
the share of error-free records per 乡镇. The charts read the 汇总 tables' own cells, so they
show exactly the numbers printed beside them and follow any edit the clerk makes.
"""

from __future__ import annotations

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from fanpin_cli.report.formats import LEVEL_FONTS, TAB_COLOURS
from fanpin_cli.report.table import Table

LEVEL_SERIES = (("red", "红色"), ("yellow", "黄色"), ("blue", "蓝色"))
ROW_PX = 20  # default row height in pixels


def _height(n: int) -> int:
    return max(260, 28 * n + 110)


def add_summary_charts(
    wb: Workbook, ws: Worksheet, towns: Table | None, scores: Table | None, *, row: int = 5, col: int = 9
) -> None:
    """Insert the charts at (`row`, `col`) of 汇总, one under the other. `towns` is the 按乡镇
    table (乡镇, 红色户数, 黄色户数, 蓝色户数, …); `scores` the 各乡镇数据质量 table (乡镇, 记录数,
    含错误记录数, 无错误记录占比, …)."""
    name = ws.get_name()
    if towns is not None and towns.n_rows:
        first, last = towns.first_row + 1, towns.last_row
        chart = wb.add_chart({"type": "bar", "subtype": "stacked"})
        for j, (level, label) in enumerate(LEVEL_SERIES):
            chart.add_series({
                "name": f"{label}预警",
                "categories": [name, first, 0, last, 0],
                "values": [name, first, 1 + j, last, 1 + j],
                "fill": {"color": TAB_COLOURS[level]},
                "border": {"color": LEVEL_FONTS[level]},
                "gap": 60,
            })
        chart.set_title({"name": "各乡镇预警户数（每户按最高等级计）", "name_font": {"size": 12}})
        chart.set_x_axis({"name": "户数", "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"position": "bottom"})
        height = _height(towns.n_rows)
        chart.set_size({"width": 620, "height": height})
        ws.insert_chart(row, col, chart)
        row += height // ROW_PX + 2
    if scores is not None and scores.n_rows:
        first, last = scores.first_row + 1, scores.last_row
        chart = wb.add_chart({"type": "bar"})
        chart.add_series({
            "name": "无错误记录占比",
            "categories": [name, first, 0, last, 0],
            "values": [name, first, 3, last, 3],
            "fill": {"color": "#5B9BD5"},
            "data_labels": {"value": True, "num_format": "0.0%"},
            "gap": 60,
        })
        chart.set_title({"name": "各乡镇数据质量（无错误记录占比）", "name_font": {"size": 12}})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%",
                          "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}}})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"none": True})
        chart.set_size({"width": 620, "height": _height(scores.n_rows)})
        ws.insert_chart(row, col, chart)
