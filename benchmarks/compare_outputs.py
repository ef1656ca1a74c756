"""Compare two `fanpin run` output folders: are the outputs unchanged?

Every CSV byte for byte; summary.json with its timings left out (`elapsed_seconds`, `stages`,
`report_process_peak_mb`); summary.html byte for byte once its timings line is equal; every
workbook (report.xlsx and the 乡镇/村 workbooks) cell by cell: value, number format, fill colour,
font bold/colour, merged ranges, data validations, column widths, row heights, frozen panes and
autofilter. Speed work must leave all of these as they were.

    python benchmarks/compare_outputs.py BEFORE_DIR AFTER_DIR

Prints one line per file ("same" or what differs) and exits 1 if anything differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

_TIMINGS = ("elapsed_seconds", "stages", "report_process_peak_mb")


def _summary(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    for key in _TIMINGS:
        data.pop(key, None)
    return data


def _sheet_facts(ws) -> dict:  # noqa: ANN001 - openpyxl worksheet
    cells = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is None and not c.has_style:
                continue
            fill = c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type else None
            color = c.font.color
            colour = (color.rgb if isinstance(color.rgb, str) else f"theme {color.theme}") if color else None
            cells[c.coordinate] = (c.value, c.number_format, fill, bool(c.font.b), colour, bool(c.alignment.wrap_text))
    return {
        "cells": cells,
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "validations": sorted((str(v.sqref), v.formula1 or "") for v in ws.data_validations.dataValidation),
        "widths": {k: round(d.width or 0, 2) for k, d in ws.column_dimensions.items()},
        "heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height},
        "freeze": ws.freeze_panes,
        "filter": ws.auto_filter.ref,
        "charts": len(getattr(ws, "_charts", [])),
    }


def compare_workbooks(a: Path, b: Path) -> list[str]:
    """What differs between two workbooks (empty when every sheet is the same)."""
    from openpyxl import load_workbook

    wa, wb = load_workbook(a), load_workbook(b)
    if wa.sheetnames != wb.sheetnames:
        return [f"sheets {wa.sheetnames} ≠ {wb.sheetnames}"]
    out = []
    for name in wa.sheetnames:
        fa, fb = _sheet_facts(wa[name]), _sheet_facts(wb[name])
        for key in fa:
            if fa[key] == fb[key]:
                continue
            if key == "cells":
                keys = sorted(set(fa[key]) | set(fb[key]))
                bad = [k for k in keys if fa[key].get(k) != fb[key].get(k)]
                out.append(f"{name}: {len(bad)} cells differ, first {bad[0]}: "
                           f"{fa[key].get(bad[0])} ≠ {fb[key].get(bad[0])}")
            else:
                out.append(f"{name}: {key} differ")
    return out


def compare(before: Path, after: Path) -> list[str]:
    """One line per output file of either folder: "same" or what differs."""
    names = sorted({p.relative_to(before).as_posix() for p in before.rglob("*") if p.is_file()}
                   | {p.relative_to(after).as_posix() for p in after.rglob("*") if p.is_file()})
    lines = []
    for name in names:
        a, b = before / name, after / name
        if name.endswith(".log"):
            continue
        if not a.exists() or not b.exists():
            lines.append(f"{name}: only in {'after' if b.exists() else 'before'}")
            continue
        if name.endswith(".xlsx"):
            diffs = compare_workbooks(a, b)
        elif name == "summary.json":
            diffs = [] if _summary(a) == _summary(b) else ["differs (timings left out)"]
        elif name == "summary.html":
            ta, tb = a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")
            keep = [(x, y) for x, y in zip(ta.splitlines(), tb.splitlines(), strict=False)
                    if x != y and "秒" not in x]
            diffs = ["differs"] if keep or len(ta.splitlines()) != len(tb.splitlines()) else []
        else:
            diffs = [] if a.read_bytes() == b.read_bytes() else ["differs"]
        lines.append(f"{name}: " + ("same" if not diffs else "; ".join(diffs)))
    return lines


def main() -> int:
    before, after = Path(sys.argv[1]), Path(sys.argv[2])
    lines = compare(before, after)
    print("\n".join(lines))
    return 0 if all(line.endswith(": same") for line in lines) else 1


if __name__ == "__main__":
    raise SystemExit(main())
