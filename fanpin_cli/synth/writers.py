"""Write extracts the way departments deliver them: GBK/UTF-8/BOM CSV, xlsx with title rows,
IDs as text, blank rows; return the row number a person sees for every data row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from . import xlsx
from .extracts import Extract


def _layout(n: int, blank_before: np.ndarray, first_row: int) -> tuple[np.ndarray, int]:
    """Row number (1-based) of each data row, and the total number of body rows."""
    shift = np.searchsorted(blank_before, np.arange(n), side="right") if blank_before.size else 0
    rows = first_row + np.arange(n) + shift
    return rows.astype(np.int64), n + int(blank_before.size)


def _text(v: np.ndarray) -> np.ndarray:
    if v.dtype == object:
        return v
    return v.astype(str).astype(object)


def write_csv(ex: Extract, path: Path) -> None:
    """CSV with header on line 1 (blank lines included as empty rows)."""
    rows, body = _layout(ex.n, ex.blank_before, 2)
    data_pos = rows - 2
    frame: dict[str, pl.Series] = {}
    for h in ex.headings:
        col = np.full(body + ex.trailing_blank, None, dtype=object)
        vals = _text(ex.columns[h])
        col[data_pos] = np.where(vals == "", None, vals)
        frame[h] = pl.Series(h, col.tolist(), dtype=pl.String)
    df = pl.DataFrame(frame)
    text = df.write_csv()
    if ex.encoding == "utf-8-sig":
        path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    else:
        path.write_bytes(text.encode(ex.encoding))
    ex.source_row = rows


def _esc(s: pl.Expr) -> pl.Expr:
    return (s.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True)
            .str.replace_all(">", "&gt;", literal=True))


def _text_cell(letter: str, index: pl.Expr) -> pl.Expr:
    """A shared-string cell (`t="s"`), as Excel and WPS write text: `index` into sharedStrings."""
    return pl.concat_str([pl.lit(f'<c r="{letter}'), pl.col("_r"), pl.lit('" t="s"><v>'), index, pl.lit("</v></c>")])


def _shared_index(col: pl.Expr, table: pl.Series) -> pl.Expr:
    """Position of each text in the shared-string `table` (as text, for the XML)."""
    return col.replace_strict(table, pl.int_range(table.len(), eager=True), default=None).cast(pl.String)


def _num_cell(letter: str, s: pl.Expr, style: str = "") -> pl.Expr:
    return pl.concat_str([pl.lit(f'<c r="{letter}'), pl.col("_r"), pl.lit(f'"{style}><v>'), s, pl.lit("</v></c>")])


def _as_strings(v: np.ndarray) -> list[str | None]:
    return [None if x is None or x == "" else str(x) for x in v.tolist()]


def write_xlsx(ex: Extract, path: Path, *, numeric: tuple[str, ...] = (), id_numeric: np.ndarray | None = None) -> None:
    """xlsx with title rows above the header; IDs as text cells except Excel-mangled ones, which
    are numbers with 15 significant digits as Excel stores them."""
    sheet = xlsx.Sheet(ex.sheet, width=len(ex.headings))
    r = 1
    for t in ex.title_rows:
        sheet.rows.append((r, [(xlsx.TITLE, t)]))
        r += 1
    sheet.rows.append((r, [(xlsx.HEADER, h) for h in ex.headings]))
    rows, _ = _layout(ex.n, ex.blank_before, r + 1)
    id_num = id_numeric if id_numeric is not None else np.zeros(ex.n, dtype=bool)
    data: dict[str, object] = {"_r": rows.astype(str).tolist()}
    cells: list[pl.Expr] = []
    for j, h in enumerate(ex.headings):
        letter = xlsx.col_letter(j)
        key = f"c{j}"
        data[key] = _as_strings(ex.columns[h])
        col = pl.col(key)
        if h in numeric:
            cell = _num_cell(letter, col)
        elif h == ex.id_heading and id_num.any():
            sci = np.full(ex.n, None, dtype=object)
            sci[id_num] = [f"{int(x):.14E}" for x in ex.columns[h][id_num].tolist()]
            data[key + "n"] = sci.tolist()
            data[key + "m"] = id_num.tolist()
            cell = pl.when(pl.col(key + "m")).then(_num_cell(letter, pl.col(key + "n"))).otherwise(
                _text_cell(letter, pl.col(key + "s")))
        elif h in ex.date_cells:
            m = ex.date_cells[h]
            vals = np.where(m, ex.columns[h], "1899-12-30").astype("datetime64[D]")
            data[key + "n"] = (vals - np.datetime64("1899-12-30")).astype(np.int64).astype(str).tolist()
            data[key + "m"] = m.tolist()
            cell = pl.when(pl.col(key + "m")).then(_num_cell(letter, pl.col(key + "n"), ' s="3"')).otherwise(
                _text_cell(letter, pl.col(key + "s")))
        else:
            cell = _text_cell(letter, pl.col(key + "s"))
        cells.append(pl.when(col.is_null()).then(pl.lit("")).otherwise(cell))
    frame = pl.DataFrame(data, strict=False)
    text_keys = [f"c{j}" for j in range(len(ex.headings))]
    shared = (
        pl.concat([frame[k].cast(pl.String) for k in text_keys]).drop_nulls().unique(maintain_order=True)
        if ex.n else pl.Series([], dtype=pl.String)
    )
    frame = frame.with_columns([_shared_index(pl.col(k), shared).alias(f"{k}s") for k in text_keys])
    sheet.shared = shared.to_list()
    row_xml = frame.select(pl.concat_str([pl.lit('<row r="'), pl.col("_r"), pl.lit('">'), *cells, pl.lit("</row>")])
                           .str.join("")).item() if ex.n else ""
    sheet.body = [row_xml]
    sheet.last_row = int(rows[-1]) if ex.n else r
    sheets = [sheet]
    for name, lines in ex.extra_sheets.items():
        extra = xlsx.Sheet(name, width=1, last_row=len(lines))
        extra.rows = [(k + 1, [(xlsx.TEXT, x) for x in line]) for k, line in enumerate(lines)]
        sheets.append(extra)
    xlsx.save(path, sheets)
    ex.source_row = rows


def write_extract(ex: Extract, out_dir: Path, *, numeric: tuple[str, ...] = ()) -> Path:
    """Write one extract in its format; fills `ex.source_row`."""
    path = out_dir / ex.file_name
    if ex.fmt == "csv":
        write_csv(ex, path)
    else:
        id_num = np.array(["id_excel_000" in f for f in ex.faults], dtype=bool) if ex.faults.size else None
        write_xlsx(ex, path, numeric=numeric, id_numeric=id_num)
    return path
