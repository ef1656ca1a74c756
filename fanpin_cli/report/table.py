"""One rectangular table on a worksheet: header row + data rows.

Columns are described by `Col`; values are prepared in polars (casts, labels). In report.xlsx
(a `constant_memory` workbook) the data rows are built as XML by polars (`rowxml`), elsewhere
written row by row from `iter_rows()`; the cells are the same. Text columns (IDs, 户编号, 组)
are cast to String before writing and therefore land as text cells, never as numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import polars as pl
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from fanpin_cli.report import rowxml
from fanpin_cli.report.formats import Formats, column_width, display_width
from fanpin_cli.report.model import LEVEL_LABELS, SEVERITY_LABELS

# Column kinds: how values are cast and formatted.
TEXT = "text"          # String cell (IDs, 户编号, names, messages)
INT = "int"            # integer number
FLOAT = "float"        # number shown with one decimal
PERCENT = "percent"    # fraction shown as 0.0%
LEVEL = "level"        # red/yellow/blue → 红/黄/蓝, coloured cell
SEVERITY = "severity"  # error/warning/info → 错误/警告/提示, coloured cell
INPUT = "input"        # empty column for the village to fill in (核实结果, 整改情况)
DATE = "date"          # a date shown as YYYY-MM-DD text (never a time of day)

# `2006-04-14 00:00:00` (an Excel date cell read as text) → `2006-04-14`, inside any text.
_MIDNIGHT = r"(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?"
_MIDNIGHT_AT = "00:00:00"  # in every text `_MIDNIGHT` matches
LINE_HEIGHT = 15.0     # points per line of wrapped text
MAX_LINES = 8          # a row taller than this is cut (the text stays in the cell)


EXCEL_MAX_ROWS = 1_048_576


@dataclass(frozen=True)
class Col:
    header: str
    expr: pl.Expr | None = None
    kind: str = TEXT
    max_width: float = 60.0
    min_width: float = 0.0
    header_format: str | None = None  # "sector" | "roster" | "red" | "yellow" | "blue"
    wrap: bool = False  # long text: wrapped in its column, rows made tall enough
    narrow: bool = False  # kept for machines (记录编号): narrow, small grey text


@dataclass
class Table:
    first_row: int      # the header row
    last_row: int       # the last data row (= first_row when there is no data)
    n_rows: int
    widths: list[float] = field(default_factory=list)  # display columns per table column
    frame: pl.DataFrame | None = None  # the values written (columns c0, c1, …)
    columns_set: bool = False  # widths and text formats already set (`write_table(columns=True)`)


def ensure_columns(frame: pl.DataFrame | None, names: list[str]) -> pl.DataFrame:
    """`frame` with every column in `names` present (missing ones added as null strings)."""
    if frame is None:
        frame = pl.DataFrame()
    missing = [pl.lit(None, dtype=pl.String).alias(n) for n in names if n not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def _prepared(frame: pl.DataFrame, cols: list[Col]) -> pl.DataFrame:
    exprs = _prepared_exprs(cols)
    if frame.height == 0:  # no rows: the values of the same columns of the same frame before
        key = (_key(cols), tuple(frame.schema.items()))
        values = _EMPTY.get(key)
        if values is None:
            if len(_EMPTY) >= 256:
                _EMPTY.clear()
            values = _EMPTY[key] = _prepared_rows(frame, exprs)
        return values
    return _prepared_rows(frame, exprs)


def _prepared_rows(frame: pl.DataFrame, exprs: list[pl.Expr]) -> pl.DataFrame:
    values = frame.select(exprs)  # one query: literals broadcast to the columns' height
    if values.height == frame.height:
        return values
    # Only literals (one row): with_columns broadcasts them to the frame's height.
    return frame.with_columns(exprs).select([f"c{i}" for i in range(len(exprs))])


def _key(cols: list[Col]) -> tuple[tuple[str, object], ...]:
    """`cols` as `_prepared_exprs` finds them: each column's kind and expression's structure.

    >>> _key([Col("编号", pl.col("a"))]) == _key([Col("序号", pl.col("a"))]) != _key([Col("编号", pl.col("b"))])
    True
    """
    return tuple((col.kind, None if col.expr is None else col.expr.meta) for col in cols)


def _prepared_exprs(cols: list[Col]) -> list[pl.Expr]:
    """The values written, `c0, c1, …`, one expression per column: built once for columns of
    the same kinds and expressions (every 乡镇 workbook writes the same tables), found again by
    the expressions' structure (`Expr.meta`: equal and hashed by what they compute).

    >>> cols = [Col("编号", pl.col("a")), Col("人数", pl.col("n"), INT)]
    >>> _prepared_exprs(cols) is _prepared_exprs([Col("x", pl.col("a")), Col("y", pl.col("n"), INT)])
    True
    >>> _prepared_exprs(cols) is _prepared_exprs([Col("编号", pl.col("b")), Col("人数", pl.col("n"), INT)])
    False
    """
    key = _key(cols)
    exprs = _BUILT.get(key)
    if exprs is None:
        if len(_BUILT) >= 256:  # a bound: a run writes a few dozen tables' kinds
            _BUILT.clear()
        exprs = _BUILT[key] = _build_exprs(cols)
    return exprs


# `_prepared_exprs` built before: (kind, expression's meta) per column → the expressions.
_BUILT: dict[tuple[tuple[str, object], ...], list[pl.Expr]] = {}
# `_prepared` of a frame without rows: (`_key`, the frame's schema) → the (empty) values.
_EMPTY: dict[tuple, pl.DataFrame] = {}


def _build_exprs(cols: list[Col]) -> list[pl.Expr]:
    exprs: list[pl.Expr] = []
    for i, col in enumerate(cols):
        if col.expr is None or col.kind == INPUT:
            expr = pl.lit(None, dtype=pl.String)
        elif col.kind == TEXT:
            # Only a column holding some "00:00:00" is searched (a scalar condition: the
            # search is skipped, not run and thrown away); elsewhere it would change nothing.
            text = col.expr.cast(pl.String)
            midnight = text.str.contains(_MIDNIGHT_AT, literal=True).any()
            expr = pl.when(midnight).then(text.str.replace_all(_MIDNIGHT, "$1")).otherwise(text)
        elif col.kind == DATE:
            text = col.expr.cast(pl.String)
            expr = pl.coalesce(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False).dt.strftime("%Y-%m-%d"), text)
        elif col.kind == LEVEL:
            expr = col.expr.cast(pl.String).replace(LEVEL_LABELS)
        elif col.kind == SEVERITY:
            expr = col.expr.cast(pl.String).replace(SEVERITY_LABELS)
        elif col.kind == INT:
            expr = col.expr.cast(pl.Int64, strict=False)
        else:
            expr = col.expr.cast(pl.Float64, strict=False).fill_nan(None)
        exprs.append(expr.alias(f"c{i}"))
    return exprs


def shown_width(text: pl.Expr) -> pl.Expr:
    """A text's width in display columns: a CJK character (3 UTF-8 bytes) counts 2, ASCII 1."""
    return (text.str.len_bytes() + text.str.len_chars()) / 2


def line_count(text: pl.Expr, per_line: pl.Expr | float) -> pl.Expr:
    """Lines a wrapped text takes at `per_line` display columns a line (1 to MAX_LINES)."""
    return (shown_width(text.cast(pl.String).fill_null("")) / per_line).ceil().clip(1, MAX_LINES)


FEW_ROWS = 50  # tables up to this many rows, written cell by cell, have their widths found in Python


def _few_widths(values: pl.DataFrame) -> dict[str, object]:
    """`_width_exprs` of a few rows, found in Python (a polars query costs more): each column's
    widest text as `shown_width` measures it, None where it has none. Columns of text and of
    whole numbers (their text is Python's `str`, as polars casts them); a column of fractions
    (whose text polars writes its own way) only where its width is not taken (`PERCENT`).

    >>> _few_widths(pl.DataFrame({"c0": ["乡镇", None, "ab"], "c1": [12, -3, None], "c2": [None, None, None]}))
    {'c0': 4.0, 'c1': 2.0, 'c2': None}
    """
    out: dict[str, object] = {}
    for column in values.get_columns():
        texts = [v if v.__class__ is str else str(v) for v in column.to_list() if v is not None]
        out[column.name] = max(((len(t.encode("utf-8")) + len(t)) / 2 for t in texts), default=None)
    return out


@functools.lru_cache(maxsize=64)
def _width_exprs(n: int) -> list[pl.Expr]:
    """The widest text of each of `n` columns `c0, c1, …` (expressions built once per n)."""
    return [shown_width(pl.col(f"c{i}").cast(pl.String)).max().alias(f"c{i}") for i in range(n)]


def _widths(values: pl.DataFrame, cols: list[Col], maxima: Sequence[object] | None = None) -> list[float]:
    """Each column's width: its widest text (`maxima`, when already computed) within its bounds."""
    if maxima is None:
        maxima = values.select(_width_exprs(len(cols))).row(0) if values.height else [None] * len(cols)
    out = []
    for col, data_width in zip(cols, maxima, strict=True):
        data = float(data_width or 0)  # type: ignore[arg-type]
        if col.kind == PERCENT:
            data = 7.0
        elif col.kind == INPUT:
            data = 14.0
        elif col.kind == DATE:
            data = 10.0
        # +2 leaves room for the autofilter button next to the heading.
        wanted = max(display_width(col.header) + 2, data)
        out.append(max(col.min_width, min(col.max_width, wanted)))
    return out


_BY_VALUE = (LEVEL, SEVERITY)  # kinds whose cells take their format from their value (`Formats.for_level`)


def _every_format(col: Col, fm: Formats) -> Format | None:
    """The format of every cell of a column of a kind not `_BY_VALUE` (None: unformatted)."""
    return fm.percent if col.kind == PERCENT else fm.decimal if col.kind == FLOAT else None


def _cell_formatter(col: Col, fm: Formats) -> Callable[[object], Format | None] | None:
    """A cell's format from its value, for the cell-by-cell writer (None: unformatted column)."""
    if col.kind in _BY_VALUE:
        return fm.for_level  # type: ignore[return-value]
    every = _every_format(col, fm)
    return None if every is None else lambda value: every


def _cells(values: pl.DataFrame, cols: list[Col], fm: Formats,
           highlight: dict[int, tuple[pl.Expr, Format]], found: dict[str, object] | None = None) -> list[rowxml.Cells]:
    """How each column's cells land, for `rowxml.write_rows` (the formats `_cell_formatter`
    gives, as `rowxml` takes them: per distinct value, or one for the column). `found`: the
    results of `_distinct_exprs`, when the caller has them."""
    out = []
    for j, col in enumerate(cols):
        name, number = f"c{j}", col.kind in (INT, FLOAT, PERCENT)
        mark, mark_format = highlight.get(j, (None, None))
        if col.kind in _BY_VALUE:
            key = f"_u:{name}"
            shown = found[key] if found is not None and key in found else values[name].drop_nulls().unique().to_list()
            out.append(rowxml.Cells(name, formats={v: fm.for_level(v) for v in shown},
                                    highlight=mark, highlight_format=mark_format))
        else:
            out.append(rowxml.Cells(name, number=number, every=_every_format(col, fm), highlight=mark,
                                    highlight_format=mark_format))
    return out


@functools.lru_cache(maxsize=256)
def _kind_cells(kinds: tuple[str, ...]) -> list[rowxml.Cells]:
    """Columns `c0, c1, …` of `kinds` as `rowxml.check_exprs` takes them (names, numbers)."""
    return [rowxml.Cells(f"c{j}", number=kind in (INT, FLOAT, PERCENT)) for j, kind in enumerate(kinds)]


@functools.lru_cache(maxsize=256)
def _distinct_exprs(kinds: tuple[str, ...]) -> list[pl.Expr]:
    """The distinct values of the columns whose cells take their format from their value."""
    return [pl.col(f"c{j}").drop_nulls().unique().implode().alias(f"_u:c{j}")
            for j, kind in enumerate(kinds) if kind in _BY_VALUE]


def _row_writer(ws: Worksheet) -> Callable[[int, int, tuple], None]:
    """`ws.write_row` without its per-cell type dispatch for the common cells: text goes to
    `write_string`, numbers to `write_number`, None and "" are skipped (an unformatted blank
    writes nothing), anything else to `write`. Same cells, a third less Python per cell."""
    write_string, write_number, write = ws.write_string, ws.write_number, ws.write

    def write_row(row: int, col: int, record: tuple) -> None:
        for j, value in enumerate(record, start=col):
            kind = value.__class__
            if kind is str:
                if value:
                    write_string(row, j, value)
            elif kind is int or kind is float:
                write_number(row, j, value)
            elif value is not None:
                write(row, j, value)

    return write_row


def _runs(indexes: list[int]) -> list[list[int]]:
    """Consecutive runs of sorted `indexes`.

    >>> _runs([0, 1, 2, 5, 6, 9])
    [[0, 1, 2], [5, 6], [9]]
    """
    out: list[list[int]] = []
    for i in indexes:
        if out and out[-1][-1] == i - 1:
            out[-1].append(i)
        else:
            out.append([i])
    return out


def write_table(
    ws: Worksheet,
    fm: Formats,
    row0: int,
    cols: list[Col],
    frame: pl.DataFrame,
    *,
    col0: int = 0,
    columns: bool = False,
    highlight: dict[int, tuple[pl.Expr, Format]] | None = None,
    after_row: Callable[[int, int], None] | None = None,
) -> Table:
    """Write header at `row0` and the rows of `frame` below it; returns where it ended.

    `columns`: set the columns' widths and text formats first (as `finish_table` does; in a
    `constant_memory` workbook they must precede the cells to reach them). `highlight`: column
    index → (boolean expression over the written values `c0, c1, …`, format) for the cells to
    mark. `after_row(sheet_row, i)` runs after each data row (e.g. to put a link in it).

    In a `constant_memory` workbook the data rows are built by polars (`rowxml`); elsewhere,
    or with `after_row`, cell by cell. Excel and WPS open at most 1,048,576 rows a sheet:
    longer tables are cut there, with a note under the table (the CSV outputs always hold
    every row).
    """
    highlight = highlight or {}
    values = _prepared(frame, cols)
    room = EXCEL_MAX_ROWS - (row0 + 1) - 1  # header row, and one row for the note
    cut = values.height - room if values.height > room else 0
    if cut:
        values = values.head(room)
    fast = values.height >= rowxml.MIN_ROWS and after_row is None and rowxml.available(ws)
    # The widths and what rowxml must know of the values, in one query.
    found: dict[str, object] = {}
    if values.height and not fast and values.height <= FEW_ROWS and all(col.kind != FLOAT for col in cols):
        found = _few_widths(values)
    elif values.height:
        exprs = _width_exprs(len(cols))
        if fast:
            kinds = tuple(col.kind for col in cols)
            exprs = exprs + rowxml.check_exprs(values.schema, _kind_cells(kinds)) + _distinct_exprs(kinds)
        found = values.select(exprs).row(0, named=True)
    cells = _cells(values, cols, fm, highlight, found) if fast else []
    maxima = [found.get(f"c{i}") for i in range(len(cols))]
    widths = _widths(values, cols, maxima)
    if columns:
        set_columns(ws, fm, cols, widths, col0=col0)
    if fast and rowxml.supported(values, cells, found):
        write_headers(ws, fm, row0, cols, col0=col0, as_xml=True)
        rowxml.write_rows(ws, row0 + 1, col0, values, cells, _row_lines_expr(values, cols, widths, maxima),
                          LINE_HEIGHT, found=found, most_lines=MAX_LINES)
    else:
        write_headers(ws, fm, row0, cols, col0=col0)
        lines = _row_lines(values, cols, widths, maxima)
        if lines is not None:
            for i, n in enumerate(lines.to_list()):
                if n > 1:
                    ws.set_row(row0 + 1 + i, LINE_HEIGHT * n)
        _write_cells(ws, fm, row0 + 1, col0, cols, values, highlight, after_row)
    row = row0 + 1 + values.height
    if cut:
        ws.write_string(row, col0, f"（超出 Excel 行数上限，另有 {cut:,} 行未列出，请查看对应的 CSV 文件）", fm.note)
    return Table(row0, row - 1, values.height, widths, values, columns_set=columns)


def write_headers(ws: Worksheet, fm: Formats, row0: int, cols: list[Col], *, col0: int = 0,
                  as_xml: bool = False) -> None:
    """The table's header row at `row0`. `as_xml`: data rows follow at once, written by `rowxml`
    (which flushes the header row first): the row is written as XML now (`rowxml.write_text_row`,
    the same cells; its formats are numbered at the same point), where the sheet allows."""
    header_formats = {
        "sector": fm.header_sector,
        "roster": fm.header_roster,
        **fm.header_level,
    }
    formats = [header_formats.get(col.header_format or "", fm.header) for col in cols]
    if as_xml and rowxml.write_text_row(ws, row0, col0, [col.header for col in cols], formats):
        return
    for j, (col, fmt) in enumerate(zip(cols, formats, strict=True)):
        ws.write_string(row0, col0 + j, col.header, fmt)


def _write_cells(ws: Worksheet, fm: Formats, row: int, col0: int, cols: list[Col], values: pl.DataFrame,
                 highlight: dict[int, tuple[pl.Expr, Format]],
                 after_row: Callable[[int, int], None] | None) -> None:
    """The data rows cell by cell: plain columns in runs through `write_row`, the formatted
    ones once with their format (not written plain first and then again)."""
    formatted = [
        (j, fn) for j, col in enumerate(cols) if (fn := _cell_formatter(col, fm)) is not None
    ]
    marks = {}
    if highlight:
        masks = values.select(expr.fill_null(False).alias(f"m{j}") for j, (expr, _) in highlight.items())
        marks = {j: (masks[f"m{j}"].to_list(), fmt) for j, (_, fmt) in highlight.items()}
    write_row = _row_writer(ws)
    write, write_string = ws.write, ws.write_string
    formats = dict(formatted)
    marked_plain = [(j, mask, fmt) for j, (mask, fmt) in marks.items() if j not in formats]
    special = formats | dict.fromkeys(marks)
    plain = [j for j in range(len(cols)) if j not in special]
    runs = [(r[0], r[-1] + 1) for r in _runs(plain)]
    for i, record in enumerate(values.iter_rows()):
        if not special:
            write_row(row, col0, record)
        else:
            for a, b in runs:
                write_row(row, col0 + a, record[a:b])
            for j, fn in formatted:
                value = record[j]
                if j in marks and marks[j][0][i]:
                    write_string(row, col0 + j, value, marks[j][1])
                elif value is not None:
                    write(row, col0 + j, value, fn(value))
            for j, mask, fmt in marked_plain:
                value = record[j]
                if mask[i]:
                    write_string(row, col0 + j, value, fmt)
                elif value.__class__ is str:
                    if value:
                        write_string(row, col0 + j, value)
                elif value is not None:
                    write(row, col0 + j, value)
        if after_row is not None:
            after_row(row, i)
        row += 1


def _row_lines(values: pl.DataFrame, cols: list[Col], widths: list[float],
               maxima: Sequence[object] | None = None) -> pl.Series | None:
    """Lines of wrapped text per row (None: no wrapped column, or every row one line). Rows that
    need more than one get the height for them (Excel does not grow rows of a file it opens;
    LibreOffice and WPS neither do for every row); at most MAX_LINES. `maxima`: as for
    `_row_lines_expr`."""
    expr = _row_lines_expr(values, cols, widths, maxima)
    return None if expr is None else values.select(expr).to_series()


def _row_lines_expr(values: pl.DataFrame, cols: list[Col], widths: list[float],
                    maxima: Sequence[object] | None = None) -> pl.Expr | None:
    """`_row_lines` as an expression over the values (None: no wrapped column or no rows).
    `maxima`: each column's widest text (`_width_exprs`), when known: a wrapped column whose
    widest text fits on one line makes every row one line (a row's count is its columns'
    greatest, at least 1), and is left out; when none is left, None.

    >>> values = pl.DataFrame({"c0": ["短", "很长很长很长很长很长很长的说明"], "c1": ["a", None]})
    >>> cols = [Col("说明", pl.col("x"), wrap=True), Col("备注", pl.col("y"), wrap=True)]
    >>> values.select(_row_lines_expr(values, cols, [6.0, 6.0], [30.0, 1.0])).to_series().to_list()
    [1, 4]
    >>> _row_lines_expr(values, cols, [40.0, 6.0], [30.0, 1.0]) is None
    True
    """
    wrapped = [i for i, c in enumerate(cols) if c.wrap]
    if not wrapped or values.height == 0:
        return None
    per_line = [(i, max(column_width(widths[i]) - 1.0, 4.0)) for i in wrapped]
    if maxima is not None:
        per_line = [(i, p) for i, p in per_line if more_than_a_line(maxima[i], p)]
        if not per_line:
            return None
    return _lines_expr(tuple(per_line))


def more_than_a_line(widest: object, per_line: float) -> bool:
    """Whether a wrapped column whose widest text is `widest` (its display width; None: no
    text) takes more than one line of `per_line` characters in some row: else every row of it
    is one line, and its line counts need not be made.

    >>> more_than_a_line(30.0, 6.0), more_than_a_line(5.0, 6.0), more_than_a_line(None, 6.0)
    (True, False, False)
    """
    return widest is not None and float(widest) > per_line  # type: ignore[arg-type]


@functools.lru_cache(maxsize=256)
def _lines_expr(per_line: tuple[tuple[int, float], ...]) -> pl.Expr:
    """Lines per row of the wrapped columns `c{i}` at `per_line` display columns a line."""
    lines = [line_count(pl.col(f"c{i}"), width) for i, width in per_line]
    return pl.max_horizontal(lines).cast(pl.Int64).alias("n")


def set_columns(ws: Worksheet, fm: Formats, cols: list[Col], widths: list[float], *, col0: int = 0) -> None:
    """Widths, and the text format on text columns (narrow ones: small grey text)."""
    for j, (col, width) in enumerate(zip(cols, widths, strict=True)):
        fmt = (fm.wrap if col.wrap else fm.text) if col.kind in (TEXT, INPUT, DATE) else None
        if col.narrow:
            ws.set_column(col0 + j, col0 + j, 12, fm.small)
            continue
        ws.set_column(col0 + j, col0 + j, column_width(width), fmt)


def finish_table(
    ws: Worksheet, fm: Formats, table: Table, cols: list[Col], *, col0: int = 0
) -> None:
    """Widths and text format on text columns (unless `write_table` set them), frozen header
    and an autofilter over the data."""
    if not table.columns_set:
        set_columns(ws, fm, cols, table.widths, col0=col0)
    ws.freeze_panes(table.first_row + 1, 0)
    ws.autofilter(table.first_row, col0, table.last_row, col0 + len(cols) - 1)
    ws.repeat_rows(table.first_row)
