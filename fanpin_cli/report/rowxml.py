r"""A table's data rows as worksheet XML built by polars, for xlsxwriter's `constant_memory` mode.

xlsxwriter stores each cell as a Python object and later writes its XML cell by cell: two thirds
of a big report's writing time. In `constant_memory` mode a worksheet streams finished rows into
a temp file (`ws.fh`); `write_rows` writes a whole block of rows there at once, the cells built
as polars string expressions: the same XML xlsxwriter writes for each cell (inline string or
number, the cell's format index, else its column's; row height attributes), so the workbook is
cell for cell what the per-cell path writes. Strings that need xlsxwriter's rarer treatment
(control characters, `_xHHHH_` runs, texts near Excel's 32,767-character limit) are escaped by
xlsxwriter's own functions, one value at a time.

It reads a few of xlsxwriter's internals (the row temp file, `previous_row`, `_write_row`);
`available(ws)` says whether this worksheet has them, and `table.write_table` falls back to
writing cell by cell where not (a workbook without `constant_memory`, another xlsxwriter).

>>> _odd_text(" a<b\x01")
'<is><t xml:space="preserve"> a&lt;b_x0001_</t></is>'
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass

import polars as pl
from xlsxwriter.format import Format
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from fanpin_cli.report.plain_query import collect as _collect

MIN_ROWS = 20        # smaller tables are written cell by cell (building the expressions costs more)
CHUNK_ROWS = 10_000  # rows turned into one XML string at a time (bounds the memory it takes)
_STRMAX = 32_767     # Excel's longest cell text, in UTF-16 units
# Python's `\s` (xlsxwriter decides xml:space="preserve" with it): the characters for which
# str.isspace() is true, as an explicit class (tests/test_report_rowxml.py checks the list).
_SPACE_CLASS = (r"[\x{9}\x{A}\x{B}\x{C}\x{D}\x{1C}\x{1D}\x{1E}\x{1F}\x{20}\x{85}\x{A0}\x{1680}\x{2000}"
                r"\x{2001}\x{2002}\x{2003}\x{2004}\x{2005}\x{2006}\x{2007}\x{2008}\x{2009}\x{200A}\x{2028}"
                r"\x{2029}\x{202F}\x{205F}\x{3000}]")
_PRESERVE = f"^{_SPACE_CLASS}|{_SPACE_CLASS}$"
# What xlsxwriter's `_escape_control_characters` changes: left to it, value by value.
_ODD = r"[\x00-\x08\x0B-\x1F\x{FFFE}\x{FFFF}]|_x[0-9a-fA-F]{4}_"
_ESCAPED = "[&<>]"   # what XML text escapes
_SEP = "|"           # between a row's texts in `_check_exprs`' scans
_ANY_RARE = f"{_ODD}|(?:^|\\{_SEP}){_SPACE_CLASS}|{_SPACE_CLASS}(?:\\{_SEP}|$)"
_TEXTS = ("_texts:rare", "_texts:esc")  # found: whether those scans found anything
_MAX_INT = 10**15    # integers below print the same with str() and xlsxwriter's "%.16G"


@dataclass(frozen=True)
class Cells:
    """One column of a block: its values (a column of the prepared frame) and how they land.

    `number`: the values are numbers (Int64/Float64), else strings. `formats`: value → Format
    (None: the column's own), or `every` for every non-null cell. `highlight`: where this
    boolean expression is true, `highlight_format` replaces the cell's format."""

    name: str
    number: bool = False
    every: Format | None = None
    formats: dict[str, Format | None] | None = None
    highlight: pl.Expr | None = None
    highlight_format: Format | None = None


def available(ws: Worksheet) -> bool:
    """Whether rows can be streamed into this worksheet's row file (constant_memory mode)."""
    return bool(getattr(ws, "constant_memory", False)) and all(
        hasattr(ws, a) for a in ("fh", "previous_row", "table", "row_info", "col_info", "_write_single_row",
                                  "_write_row", "_check_dimensions", "dim_colmin",
                                  "row_sizes", "outline_row_level")
    )


def check_exprs(schema: pl.Schema, cells: list[Cells]) -> list[pl.Expr]:
    """What `supported` and `write_rows` must know of the values, as aggregations a caller can
    run in its own query (`found`: their results by name, `row(0, named=True)`; `settle` then
    completes them)."""
    return _check_exprs(tuple((c.name, c.number, c.number and schema[c.name].is_float()) for c in cells))


@functools.lru_cache(maxsize=256)
def _check_exprs(columns: tuple[tuple[str, bool, bool], ...]) -> list[pl.Expr]:
    """The numbers' checks, and two scans of every text column at once for what `_text_exprs`
    looks for in each (`_TEXTS`: a rare text or one whose spaces are kept; one to escape, which
    a rule's 疑点说明 often is): a row's texts joined by `_SEP` hold any text's match (a text
    that starts or ends with a space is next to `_SEP` or an end), and may hold more (a match
    across two texts): `settle` then checks each column apart."""
    exprs = []
    texts = [name for name, number, _ in columns if not number]
    if texts:
        joined = pl.concat_str([pl.col(n) for n in texts], separator=_SEP, ignore_nulls=True)
        rare = joined.str.contains(_ANY_RARE) | (joined.str.len_chars() > _STRMAX // 2)
        exprs += [rare.any().alias(_TEXTS[0]), joined.str.contains(_ESCAPED).any().alias(_TEXTS[1])]
    for name, number, is_float in columns:
        col = pl.col(name)
        if not number:
            continue
        if is_float:
            exprs.append(col.is_infinite().any().alias(f"_big:{name}"))
        else:
            exprs.append((col.abs() >= _MAX_INT).any().alias(f"_big:{name}"))
    return exprs


@functools.lru_cache(maxsize=256)
def _text_exprs(names: tuple[str, ...], rare: bool, escape: bool) -> list[pl.Expr]:
    """Per text column: (`rare`) a text xlsxwriter treats specially (`_rare`) and one whose
    spaces it keeps; (`escape`) one to escape."""
    exprs = []
    for name in names:
        col = pl.col(name)
        if rare:
            exprs.append((col.str.contains(_ODD) | (col.str.len_chars() > _STRMAX // 2)).any().alias(f"_odd:{name}"))
            exprs.append(col.str.contains(_PRESERVE).any().alias(f"_pre:{name}"))
        if escape:
            exprs.append(col.str.contains(_ESCAPED).any().alias(f"_esc:{name}"))
    return exprs


def settle(values: pl.DataFrame, cells: list[Cells], found: dict[str, object]) -> dict[str, object]:
    """`found` (the results of `check_exprs`) with each text column's own answers: none needs
    anything where the scans of all texts found nothing, else each column is checked apart
    (one query).

    >>> cells = [Cells("a"), Cells("b")]
    >>> values = pl.DataFrame({"a": ["x ", "y"], "b": ["|", "<"]})
    >>> found = values.select(check_exprs(values.schema, cells)).row(0, named=True)
    >>> settled = settle(values, cells, found)
    >>> settled["_pre:a"], settled["_pre:b"], settled["_esc:a"], settled["_esc:b"], settled["_odd:a"]
    (True, False, False, True, False)
    """
    if _TEXTS[0] not in found:
        return found
    settled = {k: v for k, v in found.items() if k not in _TEXTS}
    names = tuple(c.name for c in cells if not c.number)
    rare, escape = (bool(found[k]) and values.height > 0 for k in _TEXTS)
    if not names:
        return settled
    if rare or escape:
        settled.update(values.select(_text_exprs(names, rare, escape)).row(0, named=True))
    kinds = ((("_odd:", "_pre:") if not rare else ()) + (("_esc:",) if not escape else ()))
    settled.update({f"{kind}{name}": False for name in names for kind in kinds})
    return settled


def _found(values: pl.DataFrame, cells: list[Cells], found: dict[str, object] | None) -> dict[str, object]:
    if found is not None:
        return settle(values, cells, found)
    if values.height == 0:
        return {}
    exprs = check_exprs(values.schema, cells)
    return settle(values, cells, values.select(exprs).row(0, named=True)) if exprs else {}


def supported(values: pl.DataFrame, cells: list[Cells], found: dict[str, object] | None = None) -> bool:
    """False when a numeric column holds what only xlsxwriter writes right (inf, huge ints).
    `found`: the results of `check_exprs` when the caller has them."""
    if values.height == 0:
        return True
    found = _found(values, [c for c in cells if c.number], found)
    return not any(found.get(f"_big:{c.name}") for c in cells if c.number)


def _style(fmt: Format | None) -> str:
    return f' s="{fmt._get_xf_index()}"' if fmt is not None else ""


def _escaped_text(name: str, rare: tuple[tuple[str, str], ...], escape: bool = True, spaced: bool = True) -> pl.Expr:
    """`<is><t>…</t></is>` content exactly as xlsxwriter writes an inline string; `rare`: the
    column's values that need `_odd_text`, with their XML. `escape`/`spaced` False: no value
    holds & < > / needs its spaces kept (the steps that would change nothing are left out)."""
    common = _joined(_text_parts(name, escape, spaced))
    if not rare:
        return common
    text = pl.col(name)
    odd = text.is_in([v for v, _ in rare])
    return pl.when(odd).then(text.replace_strict(dict(rare), default=None, return_dtype=pl.String)).otherwise(common)


def _text_parts(name: str, escape: bool, spaced: bool) -> list[str | pl.Expr]:
    """`_escaped_text` without rare values, as the parts `_joined` joins."""
    text = pl.col(name)
    plain = text
    if escape:
        plain = text.str.replace_all("&", "&amp;", literal=True).str.replace_all("<", "&lt;", literal=True) \
            .str.replace_all(">", "&gt;", literal=True)
    if spaced:
        keep = pl.when(text.str.contains(_PRESERVE)).then(pl.lit(' xml:space="preserve"')).otherwise(pl.lit(""))
        return ["<is><t", keep, ">", plain, "</t></is>"]
    return ["<is><t>", plain, "</t></is>"]


def _joined(parts: list[str | pl.Expr]) -> pl.Expr:
    """One `concat_str` of `parts` (texts and expressions), neighbouring texts made one literal:
    a text built by one concatenation, not by concatenations nested in each other (each makes
    its own column of strings).

    >>> pl.select(_joined(["<a", pl.lit("b"), ">", "</a>"])).item()
    '<ab></a>'
    """
    merged: list[str | pl.Expr] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif not (isinstance(part, str) and not part):
            merged.append(part)
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in merged])


def _rare(values: pl.DataFrame, cells: list[Cells], found: dict[str, object] | None = None) -> dict[str, list[str]]:
    """Per text column, its distinct values that xlsxwriter treats specially (`_ODD`, long);
    `found`: as for `supported`."""
    texts = [c for c in cells if not c.number]
    if not texts or values.height == 0:
        return {}
    found = _found(values, texts, found)
    flagged = [c.name for c in texts if found.get(f"_odd:{c.name}")]
    out = {}
    for n in flagged:
        text = pl.col(n)
        out[n] = values.filter(text.str.contains(_ODD) | (text.str.len_chars() > _STRMAX // 2))[n].unique().to_list()
    return out


_ESCAPER = XMLwriter()


def _odd_text(value: str) -> str:
    """xlsxwriter's own treatment of one string (truncation, control characters, escapes)."""
    if len(value) > _STRMAX // 2 and _utf16_len(value) > _STRMAX:
        value = _utf16_truncate(value, _STRMAX)
    value = _ESCAPER._escape_control_characters(value)
    keep = ' xml:space="preserve"' if _preserve_whitespace(value) else ""
    return f"<is><t{keep}>{_ESCAPER._escape_data(value)}</t></is>"


@functools.lru_cache(maxsize=1024)
def _heading_text(value: str) -> str:
    """`_odd_text` of a heading (the same few dozen in every workbook)."""
    return _odd_text(value)


def _cell(values: pl.DataFrame, ws: Worksheet, col: int, c: Cells, rare: list[str],
          found: dict[str, object] | None = None) -> pl.Expr:
    """The `<c>` element of every row of column `c` ("" where xlsxwriter writes no cell);
    `found`: as for `supported` (None: every text escaped and checked for spaces)."""
    escape = spaced = True
    if found is not None and not c.number:
        escape, spaced = bool(found.get(f"_esc:{c.name}", True)), bool(found.get(f"_pre:{c.name}", True))
    own = ws.col_info.get(col)
    default = _style(own.column_format if own is not None else None)
    if c.every is not None:
        styles: tuple[tuple[str, str], ...] | str = _style(c.every)
    elif c.formats:
        styles = tuple(sorted((k, _style(f) if f is not None else default) for k, f in c.formats.items()))
    else:
        styles = default
    shown: tuple[tuple[float, str], ...] | None = None
    if c.number and values.schema[c.name].is_float():
        shown = tuple((v, f"{v:.16G}") for v in values[c.name].drop_nulls().unique().to_list() if not math.isnan(v))
    odd = tuple((v, _odd_text(v)) for v in rare)
    if c.highlight is None and shown is None:  # a float column's own values: not worth keeping
        return _cell_expr(xl_col_to_name(col), c.name, c.number, styles, default, shown, odd, escape, spaced)
    return _cell_expr.__wrapped__(xl_col_to_name(col), c.name, c.number, styles, default, shown, odd, escape,
                                  spaced, c.highlight, _style(c.highlight_format))


@functools.lru_cache(maxsize=1024)
def _cell_expr(letter: str, name: str, number: bool, styles: tuple[tuple[str, str], ...] | str, default: str,
               shown: tuple[tuple[float, str], ...] | None, odd: tuple[tuple[str, str], ...],
               escape: bool = True, spaced: bool = True,
               highlight: pl.Expr | None = None, highlight_style: str = "") -> pl.Expr:
    """`_cell`'s expression, built once per distinct column (building costs more than running
    it on a township's few hundred rows): `styles` one ` s="…"` for every cell, or value →
    ` s="…"` (`default` for others); `shown`: float → text; `odd`: text → XML (`_odd_text`);
    `escape`, `spaced`: as for `_escaped_text`."""
    value = pl.col(name)
    style: str | pl.Expr
    if isinstance(styles, str):
        style = styles
    else:
        style = value.cast(pl.String).replace_strict(dict(styles), default=default, return_dtype=pl.String)
    if highlight is not None:
        style = pl.when(highlight).then(pl.lit(highlight_style)).otherwise(pl.lit(style) if isinstance(style, str) else style)
    ref: list[str | pl.Expr] = [f'<c r="{letter}', pl.col("_r"), '"', style]
    if number:
        text = value.cast(pl.String) if shown is None else \
            value.replace_strict(dict(shown), default=None, return_dtype=pl.String)
        return pl.when(value.is_not_null()).then(_joined([*ref, "><v>", text, "</v></c>"])).otherwise(pl.lit(""))
    inner: list[str | pl.Expr] = [_escaped_text(name, odd, escape, spaced)] if odd else _text_parts(name, escape, spaced)
    body = _joined([*ref, ' t="inlineStr">', *inner, "</c>"])
    written = value != ""  # null: not written either (a null condition takes `otherwise`)
    if highlight is not None:  # a highlighted "" is written (as the per-cell path does)
        written = value.is_not_null() & ((value != "") | highlight)
    return pl.when(written).then(body).otherwise(pl.lit(""))


def _row_tag(ws: Worksheet, row: int, *, empty: bool) -> tuple[str, str]:
    """xlsxwriter's `<row …>` opening for `row` (with its height, if set), split around the
    row number: (before, after)."""
    saved, buffer = ws.fh, io.StringIO()
    ws.fh = buffer
    try:
        ws._write_row(row, None, ws.row_info.get(row), empty_row=empty)
    finally:
        ws.fh = saved
    text = buffer.getvalue()
    marker = f' r="{row + 1}"'
    head, tail = text.split(marker, 1)
    return head + ' r="', '"' + tail


@functools.lru_cache(maxsize=256)
def _rows_expr(tags: tuple[tuple[int, tuple[str, str], tuple[str, str] | None], ...]) -> pl.Expr:
    """Each row's XML from its cells `_x`, number `_r` and line count `_lines`: `tags` holds per
    line count the `<row>` opening (before, after the number) and the empty-row form (None: a
    row without cells is not written)."""
    branches = []
    for n, (head, tail), empty in tags:
        full = pl.concat_str([pl.lit(head), pl.col("_r"), pl.lit(tail), pl.col("_x"), pl.lit("</row>")])
        bare = pl.lit("") if empty is None else pl.concat_str([pl.lit(empty[0]), pl.col("_r"), pl.lit(empty[1])])
        branches.append((pl.col("_lines") == n, pl.when(pl.col("_x") != "").then(full).otherwise(bare)))
    expr = pl.when(branches[0][0]).then(branches[0][1])
    for cond, value in branches[1:]:
        expr = expr.when(cond).then(value)
    return expr.otherwise(pl.lit(""))


def write_rows(ws: Worksheet, first_row: int, col0: int, values: pl.DataFrame, cells: list[Cells],
               lines: pl.Series | pl.Expr | None = None, line_height: float = 15.0, *,
               found: dict[str, object] | None = None, most_lines: int | None = None) -> None:
    """Write `values` as the rows from `first_row` (0-based) into `ws` (see module docstring).
    `lines`: text lines per row (or an expression over `values` giving them); a row of n > 1
    lines is `line_height * n` points high (as `ws.set_row` would make it). Rows above
    `first_row` must be complete: they are flushed. `found`: as for `supported`. `most_lines`:
    `lines` (an expression) is known to give 1 to `most_lines`: the rows' XML, their heights
    and the cells used are then found in one query (`_block`), not the heights first."""
    if values.height == 0:
        return
    if ws.previous_row < first_row:
        ws._write_single_row(first_row)  # flush the header row; nothing of it stays pending
    index = pl.int_range(pl.len(), dtype=pl.Int64)
    line_counts = (lines.cast(pl.Int64) if lines is not None else pl.lit(1, dtype=pl.Int64)).alias("_lines")
    frame = values.lazy().with_columns((index + (first_row + 1)).cast(pl.String).alias("_r"), line_counts)
    found = _found(values, cells, found)
    rare = _rare(values, cells, found)
    cells_xml = _cells_xml(values, [_cell(values, ws, col0 + j, c, rare.get(c.name, []), found)
                                    for j, c in enumerate(cells)], cells)
    if most_lines is not None and isinstance(lines, pl.Expr) and values.height <= CHUNK_ROWS:
        used = _block(ws, first_row, values.height, frame.with_columns(cells_xml.alias("_x")), most_lines, line_height)
        if used is not None:
            close_rows(ws, first_row, values.height, used or None, _nonempty(values, cells, col0))
            return
    # One <row> opening per distinct height (taken from xlsxwriter, with its attributes).
    tags = []
    if lines is None:  # every row one line
        heights = [(1, 0)]
    else:
        counts = values.select(line_counts) if isinstance(lines, pl.Expr) else lines.cast(pl.Int64).to_frame("_lines")
        heights = sorted(counts.select(pl.col("_lines").unique(maintain_order=True).alias("n"),
                                       pl.col("_lines").arg_unique().alias("i")).iter_rows())  # count → first row
    for n, i in heights:
        row = first_row + i
        if n != 1:  # one row of each height gets it from xlsxwriter, the tag is copied for the rest
            ws.set_row(row, line_height * n)
        empty = _row_tag(ws, row, empty=True) if n != 1 else None
        tags.append((n, _row_tag(ws, row, empty=False), empty))
    row_xml = _rows_expr(tuple(tags))
    used_rows: list[int] = []
    for start in range(0, values.height, CHUNK_ROWS):
        part = frame.slice(start, CHUNK_ROWS).with_columns(cells_xml.alias("_x"))
        xml = _collect(part.select(row_xml.str.join("").alias("x"), pl.col("_x").ne("").arg_true().alias("u").implode()))
        emit(ws, xml["x"])
        found = xml["u"].item()
        if len(found):
            used_rows += [start + int(found[0]), start + int(found[-1])]
    close_rows(ws, first_row, values.height, (min(used_rows), max(used_rows)) if used_rows else None,
               _nonempty(values, cells, col0))


def _block(ws: Worksheet, first_row: int, height: int, rows: pl.LazyFrame, most_lines: int,
           line_height: float) -> tuple[int, int] | tuple[()] | None:
    """`write_rows`' rows (`rows`: `_r`, `_lines` from 1 to `most_lines`, `_x`) in one query:
    their XML (a `<row>` opening for every possible height, made by `_height_tags`), the rows
    with a cell, and the first row of each height, which is given its height by `ws.set_row`
    as `write_rows` does. Returns the first and last row (from 0) with a cell (`()`: none), or
    None with nothing written: rows in the block have attributes of their own, or a count is
    out of range (`write_rows` then writes them its own way)."""
    if any(first_row <= r < first_row + height for r in ws.row_info):
        return None
    tags = _height_tags(ws, first_row, most_lines, line_height)
    if tags is None:
        return None
    lines = pl.col("_lines")
    out = _collect(rows.select(
        _lines_rows_expr(tags).str.join("").alias("x"), pl.col("_x").ne("").arg_true().alias("u").implode(),
        lines.unique(maintain_order=True).alias("n").implode(), lines.arg_unique().alias("i").implode(),
    ))
    heights = sorted(zip(out["n"].item().to_list(), out["i"].item().to_list(), strict=True))
    if not all(1 <= n <= most_lines for n, _ in heights):
        return None
    for n, i in heights:
        if n != 1:
            ws.set_row(first_row + i, line_height * n)
    emit(ws, out["x"])
    u = out["u"].item()
    return (int(u[0]), int(u[-1])) if len(u) else ()


_HEIGHT_TAGS: dict[tuple, tuple | None] = {}


def _height_tags(ws: Worksheet, row: int, most_lines: int, line_height: float) -> tuple | None:
    """For 1 to `most_lines` lines, the `<row>` opening of a row of that height and its empty
    form (None for one line: such a row without cells is not written), as `_rows_expr` takes
    them: what xlsxwriter writes for `row` after `ws.set_row(row, line_height * n)`, found by
    setting it and putting the row back as it was (None: the row could not be set). They
    depend on the sheet's default heights and Excel version only: kept per those.

    >>> import tempfile
    >>> from xlsxwriter.workbook import Workbook
    >>> ws = Workbook(tempfile.mkdtemp() + "/t.xlsx", {"constant_memory": True}).add_worksheet()
    >>> one, two = _height_tags(ws, 3, 2, 15.0)
    >>> one, two[1]
    ((1, ('<row r="', '">'), None), ('<row r="', '" ht="30" customHeight="1">'))
    >>> 3 in ws.row_info, ws.dim_rowmax
    (False, None)
    """
    key = (type(ws), ws.default_row_height, ws.original_row_height, ws.excel_version, most_lines, line_height)
    if key in _HEIGHT_TAGS:
        return _HEIGHT_TAGS[key]
    tags: list[tuple] = [(1, _row_tag(ws, row, empty=False), None)]
    missing = object()
    saved = (ws.row_info.get(row, missing), ws.row_sizes.get(row, missing), ws.dim_rowmin, ws.dim_rowmax,
             ws.dim_colmin, ws.dim_colmax, ws.outline_row_level)
    try:
        for n in range(2, most_lines + 1):
            if ws.set_row(row, line_height * n) != 0:
                return None
            tags.append((n, _row_tag(ws, row, empty=False), _row_tag(ws, row, empty=True)))
    finally:
        info, size, ws.dim_rowmin, ws.dim_rowmax, ws.dim_colmin, ws.dim_colmax, ws.outline_row_level = saved
        for table, value in ((ws.row_info, info), (ws.row_sizes, size)):
            if value is missing:
                table.pop(row, None)
            else:
                table[row] = value
    _HEIGHT_TAGS[key] = result = tuple(tags)
    return result


@functools.lru_cache(maxsize=64)
def _lines_rows_expr(tags: tuple) -> pl.Expr:
    """`_rows_expr(tags)` for tags of every line count (`_height_tags`), as one concatenation
    whose `<row>` attributes are picked by the row's count (not one whole row per count, of
    which all but one are thrown away). The openings must differ only after the row number
    (else `_rows_expr` itself)."""
    if len({full[0] for _, full, _ in tags} | {empty[0] for _, _, empty in tags if empty is not None}) != 1:
        return _rows_expr(tags)
    lines = pl.col("_lines")
    head = tags[0][1][0]
    tail: pl.Expr = pl.lit(tags[0][1][1])
    bare: pl.Expr = pl.lit(None, dtype=pl.String)
    for n, full, empty in reversed(tags[1:]):
        tail = pl.when(lines == n).then(pl.lit(full[1])).otherwise(tail)
        bare = pl.when(lines == n).then(pl.lit(empty[1])).otherwise(bare) if empty is not None else bare
    whole = pl.concat_str([pl.lit(head), pl.col("_r"), tail, pl.col("_x"), pl.lit("</row>")])
    bare = pl.concat_str([pl.lit(head), pl.col("_r"), bare]).fill_null("")
    return pl.when(pl.col("_x") != "").then(whole).otherwise(bare)


def _nonempty(values: pl.DataFrame, cells: list[Cells], col0: int) -> list[int]:
    """The sheet columns of `cells` that hold a value (`col0` when none does)."""
    return [col0 + j for j, c in enumerate(cells) if values[c.name].null_count() < values.height] or [col0]


def _cells_xml(values: pl.DataFrame, exprs: list[pl.Expr], cells: list[Cells]) -> pl.Expr:
    """A row's cells: the `_cell` expressions of `cells` joined, leaving out the columns whose
    values are all null (no cell of theirs is written: their expressions would make only "").
    Every column's `_cell` is still made by the caller, in order: it numbers the formats."""
    kept = [e for e, c in zip(exprs, cells, strict=True) if values[c.name].null_count() < values.height]
    return pl.concat_str(kept) if kept else pl.lit("", dtype=pl.String)


def emit(ws: Worksheet, xml: str | pl.Series) -> None:
    """Rows' XML (a text, or a one-text Series) into the sheet's row file: a file's UTF-8 bytes
    as polars holds them (no Python text decoded and encoded again), or text to a StringIO."""
    write_bytes = getattr(ws.fh, "write_bytes", None)  # a memory worksheet's rows (`memrows.Rows`)
    if write_bytes is not None:
        write_bytes(xml.encode("utf-8") if isinstance(xml, str) else xml.cast(pl.Binary).item())
        return
    raw = getattr(ws.fh, "buffer", None)
    if raw is None:
        ws.fh.write(xml if isinstance(xml, str) else xml.item())
    else:
        ws.fh.flush()
        raw.write(xml.encode("utf-8") if isinstance(xml, str) else xml.cast(pl.Binary).item())


def close_rows(ws: Worksheet, first_row: int, height: int, used: tuple[int, int] | None, nonempty: list[int]) -> None:
    """After `height` rows from `first_row`: the sheet's dimensions (the first and last rows
    with a cell, `used`, and the columns with one, `nonempty`) and its last row, as writing the
    cells one by one would have set them."""
    if used is not None:
        ws._check_dimensions(first_row + used[0], min(nonempty))
        ws._check_dimensions(first_row + used[1], max(nonempty))
    ws.previous_row = first_row + height


def write_text_row(ws: Worksheet, row: int, col0: int, texts: list[str], formats: list[Format | None]) -> bool:
    """Write `texts` (a table's headings) as the cells of `row` from column `col0`, each with
    its format, as one XML row into the row file: what `ws.write_string` of each cell and the
    row's flush write, without a cell object per heading. False (nothing written): the row is
    not one this can write alone (rows after it written already, cells or attributes of its own
    pending, a rich-string-like text); the caller writes the cells one by one.

    >>> import tempfile
    >>> from xlsxwriter.workbook import Workbook
    >>> wb = Workbook(tempfile.mkdtemp() + "/t.xlsx", {"constant_memory": True})
    >>> ws = wb.add_worksheet()
    >>> write_text_row(ws, 0, 0, ["乡镇", "a&b"], [None, None]), ws.dim_colmax
    (True, 1)
    >>> ws.fh.seek(0); ws.fh.read()
    0
    '<row r="1"><c r="A1" t="inlineStr"><is><t>乡镇</t></is></c><c r="B1" t="inlineStr"><is><t>a&amp;b</t></is></c></row>'
    >>> wb.close()
    """
    if not texts or not available(ws) or row < ws.previous_row or row in ws.row_info \
            or row in getattr(ws, "comments", {}) or (row == ws.previous_row and ws.table.get(row)) \
            or any(t.startswith("<r>") and t.endswith("</r>") for t in texts):
        return False
    last = col0 + len(texts) - 1
    if ws._check_dimensions(row, col0) or ws._check_dimensions(row, last):
        return False
    if row > ws.previous_row:
        ws._write_single_row(row)  # the rows above, as the row's first cell would flush them
    number = row + 1
    head, tail = _row_tag(ws, row, empty=False)
    cells = "".join(f'<c r="{xl_col_to_name(col0 + j)}{number}"{_style(fmt)} t="inlineStr">{_heading_text(text)}</c>'
                    for j, (text, fmt) in enumerate(zip(texts, formats, strict=True)))
    emit(ws, f"{head}{number}{tail}{cells}</row>")
    return True
