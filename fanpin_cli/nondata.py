"""Rows inside a table that are not records: totals, footers, notes, repeated headers, titles.

A row is a record when it identifies someone: an ID-like value in the ID column, or a name in
the name column. A row that identifies nobody is not a record when it also reads as one:

- a **repeated header** (pages pasted together): at least two cells equal their own column's
  heading, and they are at least half of the row's filled cells (checked first: a repeated
  header carries no ID either);
- a **total** (合计/小计/总计/共计/累计, also 本页合计, 全村合计, a place's 两岔乡小计 …): its first
  filled cell, or its name cell, *is* that word (alone or followed by punctuation, a number or a
  space — never a longer name: 王合计 and 合计明 are names);
- a **footer** (填表人：…, 审核人, 制表日期, 联系电话, 单位负责人 …) or a **note** (说明：, 注：,
  备注：): its first filled cell starts with such a label word followed by a colon, a space, a
  digit or the end of the cell;
- a **title or page line**: only one filled cell, no name and no ID (续表 titles, 第2页 lines).

A row whose name cell holds a summary word is a total even without other text; a row with an
ID-like value (15+ digits, or a long number in E-notation) is always a record (a person really
named 合计 keeps their row), and a row whose only filled cell is its ID cell is not a title.

>>> import polars as pl
>>> frame = pl.DataFrame({"source_row": [3, 4, 5, 6, 7], "序号": ["1", "合计", None, "2", "两岔乡小计"],
...     "name": ["张伟", None, None, "王合计", None], "id_number": ["433127199001011238", "385", None, None, None],
...     "备注": [None, None, "填表人：李娜", None, "12"]})
>>> find_non_data(frame, {"序号": "序号", "name": "姓名", "id_number": "身份证号", "备注": "备注"}).rows()
[(4, '合计行'), (5, '表尾（填表人、审核人、日期等）'), (7, '合计行')]
"""

from __future__ import annotations

import re

import polars as pl

# a total's label: 合计 …, 本页合计, 全村合计, or a place's (两岔乡小计, 第一组合计, 灵溪镇社区合计)
_PLACE = r"[\u4e00-\u9fff0-9]{1,12}?(?:乡|镇|村|组|街道|社区|居委会|村委会|县|区|市|片区|办事处|学校)"
SUMMARY = rf"(?:本页|本表|本月|本村|本组|本乡|本镇|全县|全乡|全镇|全村|全组|总|{_PLACE})?[合小总共累]计"
FOOTER = (
    r"(?:填表|填报|制表|编制|审核|审批|复核|核对|统计|经办|联系|分管|单位|负责|主管|报送|打印|导出)"
    r"(?:人|单位|日期|时间|电话|领导|负责人|签字|签名|盖章)?|联系电话|电话|签字|签名|盖章|日期"
)
NOTE = r"说明|注|备注|附注|注意|注意事项|填表说明|数据来源|备考"
# a word ends where the cell ends, or at punctuation, a digit or a space — not at another Han
_END = r"(?:$|[\s:：,，.。;；、()（）\[\]【】0-9])"
_SUMMARY_CELL = re.compile(rf"^{SUMMARY}{_END}")
_FOOTER_CELL = re.compile(rf"^(?:{FOOTER}){_END}")
_NOTE_CELL = re.compile(rf"^(?:{NOTE})(?:\s*[:：]|\s*[0-9一二三四五六七八九十]+[、.．:：]|$)")
# an ID-like value: 15+ digits (maybe spaced, maybe ending in X), or a long number in E-notation
ID_LIKE = r"^(?:[0-9][0-9\s]{13,}[0-9Xx]|[0-9](?:\.[0-9]+)?[Ee]\+?0?1[4-9])"

REASONS = {
    "header": "重复的表头行",
    "summary": "合计行",
    "footer": "表尾（填表人、审核人、日期等）",
    "note": "说明或备注行",
    "title": "标题或页码行（只有一个单元格有内容，没有姓名和证件号码）",
}


def _squeeze(expr: pl.Expr) -> pl.Expr:
    return expr.str.replace_all(r"\s+", "")


def find_non_data(frame: pl.DataFrame, headings: dict[str, str]) -> pl.DataFrame:
    """`source_row` and Chinese `reason` of every non-record row of a loaded frame.

    `frame` has text cells (stripped, empty cells null), blank rows already removed, and its
    columns in the file's order; `headings` maps each column to the file's own heading text.
    Only the first filled cell and the name and ID cells are looked into, once per row.
    """
    cols = [c for c in frame.columns if c in headings]
    empty = pl.DataFrame(schema={"source_row": pl.Int64, "reason": pl.String})
    if not cols or frame.height == 0:
        return empty
    if "id_number" in frame.columns:  # a row with an ID-like value is a record: look no further
        id_like = pl.col("id_number").str.contains(ID_LIKE).fill_null(False)
        header_like = pl.any_horizontal([(pl.col(c) == headings[c].strip()).fill_null(False)
                                         for c in cols if headings[c].strip()] or [pl.lit(False)])
        frame = frame.filter(~id_like | header_like)
        if frame.height == 0:
            return empty
    filled = pl.sum_horizontal([pl.col(c).is_not_null() for c in cols])
    first = _squeeze(pl.coalesce(cols))
    same_as_heading = pl.sum_horizontal(
        [(pl.col(c) == headings[c].strip()).fill_null(False) for c in cols if headings[c].strip()] or [pl.lit(0)]
    )
    id_like = (
        _squeeze(pl.col("id_number")).str.contains(ID_LIKE).fill_null(False)
        if "id_number" in frame.columns else pl.lit(False)
    )
    id_filled = pl.col("id_number").is_not_null() if "id_number" in frame.columns else pl.lit(False)
    name = _squeeze(pl.col("name")) if "name" in frame.columns else pl.lit(None, dtype=pl.String)
    name_is_summary = name.str.contains(_SUMMARY_CELL.pattern).fill_null(False)
    has_name = name.is_not_null() & ~name_is_summary
    header = (same_as_heading >= 2) & (same_as_heading * 2 >= filled)
    summary = first.str.contains(_SUMMARY_CELL.pattern).fill_null(False) | name_is_summary
    footer = first.str.contains(_FOOTER_CELL.pattern).fill_null(False)
    note = first.str.contains(_NOTE_CELL.pattern).fill_null(False)
    title = (filled == 1) & ~has_name & ~id_filled
    reason = (
        pl.when(header).then(pl.lit(REASONS["header"]))
        .when(id_like).then(None)
        .when(summary).then(pl.lit(REASONS["summary"]))
        .when(footer).then(pl.lit(REASONS["footer"]))
        .when(note).then(pl.lit(REASONS["note"]))
        .when(title).then(pl.lit(REASONS["title"]))
        .otherwise(None)
    )
    return (
        frame.select(pl.col("source_row").cast(pl.Int64), reason.alias("reason"))
        .filter(pl.col("reason").is_not_null())
    )
