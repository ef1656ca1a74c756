"""Once-per-file notes for the console, the log and 汇总 (no polars: the CLI imports this).

>>> file_notes([{"file": "医保.xlsx", "id_column_numeric": {"rows": 3, "column": "身份证号",
...             "message": "该列被存为数字"}}])
['医保.xlsx「身份证号」列：该列被存为数字（3 行受影响）']
"""

from __future__ import annotations

from typing import Any


def file_notes(inputs: list[dict[str, Any]]) -> list[str]:
    """One line per input whose ID column was held as spreadsheet numbers (summary.json
    `inputs[].id_column_numeric`), one per amount column converted from another unit to 元
    (`inputs[].amount_units`), and one per input with merged cells in its data rows
    (`inputs[].merged_cells`), one per roster column whose members' blank cells were filled from
    their head's row (`inputs[].filled_down`).

    >>> file_notes([{"file": "花名册.xlsx", "filled_down": [{"column": "户编号", "cells": 3, "first_row": 5, "last_row": 9}]}])
    ['花名册.xlsx「户编号」列有 3 个成员行为空（第5–9行）：已按本户第一行（户主行）的值补齐，请核对']

    >>> file_notes([{"file": "花名册.xlsx", "amount_units": [{"column": "人均纯收入（万元）", "unit": "万元", "factor": 10000}]}])
    ['花名册.xlsx「人均纯收入（万元）」列按表头以万元为单位，已换算为元（×10,000）']
    >>> file_notes([{"file": "花名册.xlsx", "merged_cells": [{"column": "户编号", "ranges": 2, "cells": 5},
    ...             {"column": "村", "ranges": 2, "cells": 5}]}])
    ['花名册.xlsx 有合并单元格（「户编号」「村」列共 4 处）：已按表格显示的值填入合并区域的每一行（10 个单元格），请核对']
    """
    notes = []
    for e in inputs:
        numeric = e.get("id_column_numeric")
        if numeric:
            notes.append(f"{e['file']}「{numeric['column']}」列：{numeric['message']}（{numeric['rows']:,} 行受影响）")
        for unit in e.get("amount_units") or []:
            notes.append(f"{e['file']}「{unit['column']}」列按表头以{unit['unit']}为单位，已换算为元（×{unit['factor']:,}）")
        merged = e.get("merged_cells") or []
        if merged:
            columns = "".join(f"「{m['column']}」" for m in merged[:6]) + ("等" if len(merged) > 6 else "")
            ranges, cells = sum(m["ranges"] for m in merged), sum(m["cells"] for m in merged)
            notes.append(f"{e['file']} 有合并单元格（{columns}列共 {ranges:,} 处）：已按表格显示的值填入合并区域的每一行"
                         f"（{cells:,} 个单元格），请核对")
        notes += [f"{e['file']}{filled_down_text(f)}" for f in e.get("filled_down") or []]
    return notes


def filled_down_text(entry: dict[str, Any]) -> str:
    """One roster column's FILLED_DOWN sentence (summary.json `inputs[].filled_down` entry): the
    quality issue's message, and the file's note after its name.

    >>> filled_down_text({"column": "户编号", "cells": 1, "first_row": 5, "last_row": 5})
    '「户编号」列有 1 个成员行为空（第5行）：已按本户第一行（户主行）的值补齐，请核对'
    """
    first, last = entry["first_row"], entry["last_row"]
    where = f"第{first}行" if first == last else f"第{first}–{last}行"
    return f"「{entry['column']}」列有 {entry['cells']:,} 个成员行为空（{where}）：已按本户第一行（户主行）的值补齐，请核对"
