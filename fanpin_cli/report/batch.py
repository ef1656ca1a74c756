"""Tables of the same columns on several sheets, written in one pass (the rule sheets).

`table.write_table` costs a handful of polars queries per table whatever its size, and a small
table's rows are written cell by cell: a 乡镇 workbook holds about a dozen rule sheets of a few
dozen rows each. `write_tables` prepares the rows of all of them at once (one frame, a key
column naming each row's sheet), finds every table's widths in one grouped query and builds
every table's row XML (`rowxml`) in one more, then hands each sheet its rows: the same cells,
widths and row heights `write_table` writes one table at a time (`tests/test_report_batch.py`
compares the two). Where `rowxml` cannot write the rows (no `constant_memory`, numbers only
xlsxwriter writes right) or the rows are many (their XML would be held at once), each table is
written by `write_table`.
"""

from __future__ import annotations

from collections.abc import Hashable

import polars as pl
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from fanpin_cli.report import rowxml
from fanpin_cli.report.formats import Formats, column_width
from fanpin_cli.report.plain_query import collect
from fanpin_cli.report.table import (
    _BY_VALUE,
    LINE_HEIGHT,
    MAX_LINES,
    Col,
    Table,
    _cells,
    _kind_cells,
    _prepared_exprs,
    _width_exprs,
    _widths,
    line_count,
    more_than_a_line,
    set_columns,
    write_headers,
    write_table,
)

BATCH_ROWS = 20_000  # rows at most written in one pass (their XML is held at once)


def write_tables(fm: Formats, cols: list[Col], frame: pl.DataFrame, key: str,
                 sheets: list[tuple[Worksheet, Hashable]], *, row0: int = 0, columns: bool = True,
                 highlight: dict[int, tuple[pl.Expr, Format]] | None = None) -> list[Table]:
    """Write on each sheet of `sheets` (worksheet, key value) the table of `cols` over the rows
    of `frame` whose column `key` holds that value (in `frame`'s order), as
    `write_table(ws, fm, row0, cols, rows, columns=columns, highlight=highlight)` would; returns
    their Tables."""
    highlight = highlight or {}
    keys = [k for _, k in sheets]
    rows = frame.filter(pl.col(key).is_in(keys)) if frame.height else frame
    if not rows.height or rows.height > BATCH_ROWS or not all(rowxml.available(ws) for ws, _ in sheets):
        return _one_by_one(fm, cols, rows, key, sheets, row0, columns, highlight)
    kinds = tuple(col.kind for col in cols)
    n = len(cols)
    values = rows.select(
        *_prepared_exprs(cols), pl.col(key).alias("_k"), pl.int_range(pl.len(), dtype=pl.Int64).over(key).alias("_n")
    )
    checks = rowxml.check_exprs(values.schema, _kind_cells(kinds))
    stats = values.group_by("_k").agg(
        *_width_exprs(n), *checks,
        *[pl.col(f"c{j}").drop_nulls().unique().alias(f"_u:c{j}") for j, kind in enumerate(kinds) if kind in _BY_VALUE],
        *[pl.col(f"c{j}").is_not_null().any().alias(f"_nn:c{j}") for j in range(n)],
        pl.len().alias("_len"),
    )
    per_key = {row["_k"]: row for row in stats.iter_rows(named=True)}
    found: dict[str, object] = {}  # over every table: what any of them needs (escaping, odd texts)
    for row in per_key.values():
        for name, value in row.items():
            if name.startswith("_u:"):
                found[name] = sorted(set(found.get(name, [])) | {v for v in value if v is not None})  # type: ignore[call-overload]
            elif name.startswith(("_odd:", "_esc:", "_pre:", "_big:")) or name in rowxml._TEXTS:
                found[name] = bool(found.get(name)) or bool(value)
    cells = _cells(values, cols, fm, highlight, found)
    found = rowxml.settle(values, cells, found)
    if not rowxml.supported(values, cells, found):
        return _one_by_one(fm, cols, rows, key, sheets, row0, columns, highlight)

    wrapped = [i for i, c in enumerate(cols) if c.wrap]
    tables, per_line = [], {}
    for ws, k in sheets:
        st = per_key.get(k)
        widths = _widths(values, cols, [st[f"c{i}"] for i in range(n)] if st else [None] * n)
        if st is None:  # a sheet with rows gets its header row where they start (below)
            write_headers(ws, fm, row0, cols)
        if columns:
            set_columns(ws, fm, cols, widths)
        height = st["_len"] if st else 0
        per_line[k] = [max(column_width(widths[i]) - 1.0, 4.0) for i in wrapped]
        tables.append(Table(row0, row0 + height, height, widths, None, columns_set=columns))
    # A wrapped column whose widest text fits on one line in every table makes each row one
    # line (as `table._row_lines_expr`): left out.
    counted = [(m, i) for m, i in enumerate(wrapped)
               if any(more_than_a_line(st[f"c{i}"], per_line[k][m]) for k, st in per_key.items())]
    if counted:
        lines = []
        for m, i in counted:
            width = pl.col("_k").replace_strict({k: p[m] for k, p in per_line.items()}, default=4.0,
                                                return_dtype=pl.Float64)
            lines.append(line_count(pl.col(f"c{i}"), width))
        line_expr = pl.max_horizontal(lines).cast(pl.Int64)
    else:
        line_expr = pl.lit(1, dtype=pl.Int64)
    values_rows = values.lazy().with_columns(line_expr.alias("_lines"),
                                             (pl.col("_n") + (row0 + 2)).cast(pl.String).alias("_r"))
    # Every height's <row> opening made beforehand (`rowxml._height_tags`), where no row of a
    # table has attributes of its own: the rows' heights are then found with their XML (one
    # query), not first.
    written = [(ws, k) for ws, k in sheets if k in per_key]
    ahead = {k: rowxml._height_tags(ws, row0 + 1, MAX_LINES, LINE_HEIGHT) for ws, k in written} if counted and all(
        not any(row0 + 1 <= r <= row0 + per_key[k]["_len"] for r in ws.row_info) for ws, k in written) else None
    if ahead is not None and any(tags is None for tags in ahead.values()):
        ahead = None
    if not counted:  # every row one line: each table's first row is its first of one line
        first = {(k, 1): 0 for k in per_key}
    elif ahead is None:
        first = {(k, h): i for k, h, i in collect(values_rows.group_by("_k", "_lines").agg(pl.col("_n").min())).iter_rows()}

    # Per sheet, in order, as write_rows does: the header row flushed, the formats its cells use
    # given their numbers in the order a table written alone would (formats are numbered as first
    # used), one row of each height set (after the query where the openings are made ahead);
    # then how its rows are written (<row> openings, the columns' own formats): sheets that
    # agree share one expression.
    groups: list[tuple[tuple, dict[int, tuple], list[Hashable], Worksheet]] = []
    for ws, k in written:
        write_headers(ws, fm, row0, cols, as_xml=True)
        if ws.previous_row < row0 + 1:
            ws._write_single_row(row0 + 1)
        for j, kind in enumerate(kinds):
            info = ws.col_info.get(j)
            rowxml._style(info.column_format if info is not None else None)
            if kind in _BY_VALUE:
                for v in sorted(x for x in per_key[k][f"_u:c{j}"] if x is not None):
                    rowxml._style(fm.for_level(v))
        tags = {}
        if ahead is not None:
            tags = {t[0]: t for t in ahead[k]}
        else:
            for h in sorted(hh for kk, hh in first if kk == k):
                row = row0 + 1 + first[(k, h)]
                if h != 1:
                    ws.set_row(row, LINE_HEIGHT * h)
                tags[h] = (h, rowxml._row_tag(ws, row, empty=False),
                           rowxml._row_tag(ws, row, empty=True) if h != 1 else None)
        own = tuple(rowxml._style(ws.col_info[j].column_format) if j in ws.col_info else "" for j in range(n))
        for g_own, g_tags, members, _ in groups:
            if g_own == own and all(g_tags.get(h, t) == t for h, t in tags.items()):
                g_tags.update(tags)
                members.append(k)
                break
        else:
            groups.append((own, tags, [k], ws))
    rare = rowxml._rare(values, cells, found)
    branches = []
    for _, tags, members, ws in groups:
        cells_xml = rowxml._cells_xml(values, [rowxml._cell(values, ws, j, c, rare.get(c.name, []), found)
                                               for j, c in enumerate(cells)], cells)
        ordered = tuple(tags[h] for h in sorted(tags))
        branches.append((members, cells_xml, rowxml._lines_rows_expr(ordered) if ahead is not None
                         else rowxml._rows_expr(ordered)))
    if len(branches) == 1:
        cells_xml, row_xml = branches[0][1], branches[0][2]
    else:
        cells_xml = pl.when(pl.col("_k").is_in(branches[0][0])).then(branches[0][1])
        row_xml = pl.when(pl.col("_k").is_in(branches[0][0])).then(branches[0][2])
        for members, c_xml, r_xml in branches[1:]:
            cells_xml = cells_xml.when(pl.col("_k").is_in(members)).then(c_xml)
            row_xml = row_xml.when(pl.col("_k").is_in(members)).then(r_xml)
        cells_xml, row_xml = cells_xml.otherwise(pl.lit("")), row_xml.otherwise(pl.lit(""))
    used = pl.col("_n").filter(pl.col("_x") != "")
    heights = [pl.col("_lines").unique(maintain_order=True).alias("h"), pl.col("_lines").arg_unique().alias("i")] \
        if ahead is not None else []
    out = collect(values_rows.with_columns(cells_xml.alias("_x")).group_by("_k").agg(
        row_xml.str.join("").alias("x"), used.min().alias("u0"), used.max().alias("u1"), *heights,
    ))
    xml = {row[0]: row[1:] for row in out.iter_rows()}
    for ws, k in written:
        text, u0, u1, *found_heights = xml[k]
        if found_heights:  # the first row of each height gets it from xlsxwriter
            for h, i in sorted(zip(*found_heights, strict=True)):
                if h != 1:
                    ws.set_row(row0 + 1 + i, LINE_HEIGHT * h)
        rowxml.emit(ws, text)
        st = per_key[k]
        nonempty = [j for j in range(n) if st[f"_nn:c{j}"]] or [0]
        rowxml.close_rows(ws, row0 + 1, st["_len"], None if u0 is None else (u0, u1), nonempty)
    return tables


def _one_by_one(fm: Formats, cols: list[Col], rows: pl.DataFrame, key: str, sheets: list[tuple[Worksheet, Hashable]],
                row0: int, columns: bool, highlight: dict[int, tuple[pl.Expr, Format]]) -> list[Table]:
    parts = rows.partition_by(key, as_dict=True, maintain_order=True) if rows.height else {}
    empty = rows.clear()
    return [write_table(ws, fm, row0, cols, parts.get((k,), empty), columns=columns, highlight=highlight)
            for ws, k in sheets]
