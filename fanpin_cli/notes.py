"""Once-per-file notes for the console, the log and 汇总 (no polars: the CLI imports this).

>>> file_notes([{"file": "医保.xlsx", "id_column_numeric": {"rows": 3, "column": "身份证号",
...             "message": "该列被存为数字"}}])
['医保.xlsx「身份证号」列：该列被存为数字（3 行受影响）']
"""

from __future__ import annotations

from typing import Any


def file_notes(inputs: list[dict[str, Any]]) -> list[str]:
    """One line per input whose ID column was held as spreadsheet numbers (summary.json
    `inputs[].id_column_numeric`)."""
    notes = []
    for e in inputs:
        numeric = e.get("id_column_numeric")
        if numeric:
            notes.append(f"{e['file']}「{numeric['column']}」列：{numeric['message']}（{numeric['rows']:,} 行受影响）")
    return notes
