"""What a village does with a fanpin workbook in the tests: type its answers in.

Shared by the monthly-loop and kill tests (imported as `villages`, like `make_ids`).
"""

from __future__ import annotations

from pathlib import Path

import openpyxl


def answer_workbook(src: Path, dst: Path, answers: dict[str, tuple[str, str | None]]) -> set[str]:
    """Type answers into a fanpin workbook as a village does: find each row by its 记录编号 and
    fill 核实结果 (and 整改情况, else 备注, with the second item when given); save as `dst`.
    Returns the keys it found."""
    wb = openpyxl.load_workbook(src)
    found: set[str] = set()
    for ws in wb.worksheets:
        cols: dict[str, int] = {}
        for row in ws.iter_rows():
            texts = [c.value for c in row]
            if "记录编号" in texts:
                cols = {t: i for i, t in enumerate(texts) if isinstance(t, str)}
                continue
            if not cols:
                continue
            key = texts[cols["记录编号"]] if cols["记录编号"] < len(texts) else None
            if key in answers:
                verdict, remark = answers[key]
                row[cols["核实结果"]].value = verdict
                note = cols.get("整改情况", cols.get("备注"))
                if remark and note is not None:
                    row[note].value = remark
                found.add(key)
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    return found
