"""Every table that passes between stages or leaves the program, declared once.

A `Table` lists its `Column`s — name, polars dtype, nullability, allowed values and the Chinese
heading the workbook shows. From it derive: the polars schema, an empty frame that keeps every
column, `conform` (the stage's frame in declared order and types), the columns its CSV file
holds, and a pandera (polars backend) schema that tests validate every stage's output with.

>>> TABLES["links"].empty().columns[:4]
['sector', 'source_file', 'source_row', 'roster_row']
>>> heading("flags", "household_id")
'户编号'
>>> heading("scorecard", "rate_规范性")
'规范性问题记录占比'
>>> TABLES["issues"].file
'quality_issues.csv'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import SimpleNamespace
from typing import Any

import polars as pl

from fanpin_cli.domain import DIMENSIONS, SEVERITIES

MATCH_STATUSES = ("linked", "review", "unlinked")
MATCH_METHODS = ("id_exact", "id_normalized", "id_repaired", "name_birth", "confirmed", "none")
LEVELS = ("red", "yellow", "blue")
EVIDENCE_STATUSES = ("confirmed", "pending_review")


@dataclass(frozen=True)
class Column:
    """One column: name, dtype, Chinese heading; `csv=False` keeps it out of the CSV file."""

    name: str
    dtype: Any
    heading: str
    nullable: bool = True
    csv: bool = True
    isin: tuple[str, ...] | None = None
    in_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class Table:
    """A declared table (see module docstring)."""

    name: str
    title: str
    columns: tuple[Column, ...]
    file: str | None = None
    unique: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def csv_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.csv]

    @property
    def schema(self) -> dict[str, Any]:
        return {c.name: c.dtype for c in self.columns}

    @property
    def headings(self) -> dict[str, str]:
        return {c.name: c.heading for c in self.columns}

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name}")

    def empty(self) -> pl.DataFrame:
        """A frame with no rows and every declared column."""
        return pl.DataFrame(schema=self.schema)

    def conform(self, frame: pl.DataFrame | None) -> pl.DataFrame:
        """`frame` with exactly the declared columns, in order and type (missing ones null).

        >>> TABLES["review"].conform(pl.DataFrame({"source_row": ["3"]})).schema["source_row"]
        Int64
        """
        if frame is None or frame.width == 0:
            return self.empty()
        exprs = []
        for c in self.columns:
            if c.name in frame.columns:
                exprs.append(pl.col(c.name).cast(c.dtype))
            else:
                exprs.append(pl.lit(None, dtype=c.dtype).alias(c.name))
        return frame.select(exprs)

    def for_csv(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The conformed frame restricted to the columns its CSV file holds."""
        return self.conform(frame).select(self.csv_columns)

    @cached_property
    def pandera(self) -> Any:
        """The pandera (polars backend) schema of this table: strict, ordered."""
        import pandera.polars as pa

        cols = {}
        for c in self.columns:
            checks = []
            if c.isin is not None:
                checks.append(pa.Check.isin(list(c.isin)))
            if c.in_range is not None:
                checks.append(pa.Check.in_range(*c.in_range))
            cols[c.name] = pa.Column(c.dtype, nullable=c.nullable, checks=checks or None)
        return pa.DataFrameSchema(cols, strict=True, ordered=True, unique=list(self.unique) or None, name=self.name)

    def validate(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Raise pandera's SchemaErrors unless `frame` conforms (used by tests, not the hot path)."""
        return self.pandera.validate(frame, lazy=True)


S, INT, F, B, D = pl.String, pl.Int64, pl.Float64, pl.Boolean, pl.Date

# Columns shared by several tables: one definition each.
_SECTOR = Column("sector", S, "行业")
_FILE = Column("source_file", S, "来源文件")
_ROW = Column("source_row", INT, "行号")
_ROSTER_ROW = Column("roster_row", INT, "名单行号")
_HH = Column("household_id", S, "户编号")
_TOWN = Column("township", S, "乡镇")
_VILLAGE = Column("village", S, "村")
_KEY = Column("record_key", S, "记录编号", nullable=False)
_PERSON_KEY = Column("person_key", S, "人员编号")
_NAME = Column("name", S, "姓名")
_ID = Column("id_number", S, "证件号码")
_SCORE = Column("match_score", F, "匹配分", in_range=(0, 100))
_REASON = Column("reason", S, "原因")

LINKS = Table("links", "比对关联结果", (
    _SECTOR, _FILE, _ROW, _ROSTER_ROW, _HH,
    Column("match_method", S, "匹配方式", nullable=False, isin=MATCH_METHODS),
    _SCORE,
    Column("match_status", S, "匹配状态", nullable=False, isin=MATCH_STATUSES),
    _REASON, _NAME, _ID, _KEY, _PERSON_KEY,
    Column("name_id_conflict", B, "姓名与证件号码不符", csv=False),
    Column("rejected", B, "无效行", csv=False),
), file="links.csv")

FLAGS = Table("flags", "预警名单", (
    _HH, _TOWN, _VILLAGE,
    Column("rule_id", S, "规则编号", nullable=False),
    Column("level", S, "预警等级", nullable=False, isin=LEVELS),
    _ROSTER_ROW,
    Column("person_name", S, "姓名"),
    _SECTOR, _FILE, _ROW,
    Column("detail", S, "疑点说明"),
    Column("evidence_status", S, "证据状态", isin=EVIDENCE_STATUSES),
    Column("title", S, "预警规则"),
    _ID, _KEY, _PERSON_KEY,
    Column("group", S, "组", csv=False),
    Column("relation", S, "与户主关系", csv=False),
    # With a history (issue 13): compared with earlier runs and the villages' answers.
    Column("status", S, "预警状态", isin=("新增", "持续", "复发")),
    Column("first_flagged", S, "首次预警月份"),
    Column("last_verdict", S, "上次核实结果"),
    Column("overdue", B, "超期未核实"),
    Column("evidence_key", S, "证据指纹", csv=False),
), file="flags.csv", unique=("record_key",))

ISSUES = Table("issues", "数据质量问题", (
    _FILE, _ROW,
    Column("column", S, "列"),
    Column("check_id", S, "检查项", nullable=False),
    Column("dimension", S, "维度", isin=DIMENSIONS),
    Column("severity", S, "严重程度", nullable=False, isin=SEVERITIES),
    Column("message", S, "说明"),
    Column("field", S, "字段"),
    _HH, _TOWN, _VILLAGE, _KEY,
), file="quality_issues.csv")

REVIEW = Table("review", "待核实匹配", (
    _SECTOR, _FILE, _ROW,
    Column("extract_name", S, "行业姓名"),
    Column("extract_id", S, "行业证件号码"),
    Column("extract_birth", D, "行业出生日期"),
    Column("extract_township", S, "行业乡镇"),
    Column("extract_village", S, "行业村"),
    _ROSTER_ROW, _HH,
    Column("roster_name", S, "系统姓名"),
    Column("roster_id", S, "系统证件号码"),
    Column("roster_birth", D, "系统出生日期"),
    Column("roster_township", S, "系统乡镇"),
    Column("roster_village", S, "系统村"),
    _SCORE, _REASON, _KEY, _PERSON_KEY,
), file="review.csv", unique=("record_key",))

STOCKTAKE = Table("stocktake", "账账相符名单", (
    Column("kind", S, "类别", nullable=False, isin=("账有实无", "信息不一致")),
    _SECTOR, _ROSTER_ROW, _HH, _TOWN, _VILLAGE, _NAME, _FILE, _ROW,
    Column("field", S, "字段"),
    Column("attribute", S, "项目"),
    Column("extract_value", S, "行业数据值"),
    Column("roster_value", S, "系统值"),
), file="stocktake.csv")

STOCKTAKE_COUNTS = Table("stocktake_counts", "账账相符", (
    _SECTOR,
    Column("extract_rows", INT, "行业数据行数"),
    Column("linked_rows", INT, "自动匹配行数"),
    Column("review_rows", INT, "待核实行数"),
    Column("unlinked_rows", INT, "未匹配行数"),
    Column("matched_persons", INT, "相符人数"),
    Column("matched_households", INT, "相符户数"),
    Column("roster_only_persons", INT, "账有实无人数（仅在监测系统）"),
    Column("roster_only_households", INT, "账有实无户数（仅在监测系统）"),
    Column("sector_only_rows", INT, "实有账无行数（仅在行业数据）"),
    Column("mismatch_rows", INT, "信息不一致行数"),
))

SCORECARD = Table("scorecard", "质量评分", (
    Column("level", S, "层级", nullable=False, isin=("村", "乡镇", "全县")),
    _TOWN, _VILLAGE,
    Column("rows", INT, "记录数"),
    Column("error_rows", INT, "含错误记录数"),
    Column("clean_rate", F, "无错误记录占比"),
    Column("grade", S, "等级", isin=("优", "良", "中", "差")),
    Column("issues", INT, "问题数"),
    Column("errors", INT, "错误数"),
    Column("warnings", INT, "警告数"),
    Column("infos", INT, "提示数"),
    *[Column(f"issues_{d}", INT, f"{d}问题数") for d in DIMENSIONS],
    *[Column(f"rate_{d}", F, f"{d}问题记录占比") for d in DIMENSIONS],
))

LINK_COUNTS = Table("link_counts", "各文件匹配情况", (
    Column("file", S, "文件"),
    _SECTOR,
    Column("rows_read", INT, "读取行数"),
    Column("rows_linked", INT, "自动匹配"),
    Column("rows_review", INT, "待核实"),
    Column("rows_unlinked", INT, "未匹配"),
    Column("rows_rejected", INT, "无效行"),
))

# Room for the monthly loop (issue 13): flags that no longer fire, flags kept away by a verdict.
RESOLVED = Table("resolved", "已解除预警", (
    *FLAGS.columns, Column("resolved_reason", S, "解除原因"),
), file="resolved.csv")
EXEMPTED = Table("exempted", "核实不属实暂不预警", (
    *FLAGS.columns, Column("verdict", S, "核实结果"), Column("verdict_date", S, "核实日期"),
    Column("verdict_file", S, "反馈文件"), Column("exempt_until", S, "免于重复预警至"),
), file="exempted.csv")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (LINKS, FLAGS, ISSUES, REVIEW, STOCKTAKE, STOCKTAKE_COUNTS, SCORECARD, LINK_COUNTS, RESOLVED, EXEMPTED)
}
# Every declared column name as an attribute (`C.household_id == "household_id"`): modules
# that read a table spell its columns through it (tests/test_spelling.py); an undeclared name is
# an AttributeError.
C = SimpleNamespace(**{c.name: c.name for t in TABLES.values() for c in t.columns})
# The CSV files of a run, in the order they are written.
CSV_TABLES: tuple[str, ...] = ("links", "flags", "issues", "review", "stocktake")


def columns_of(frame: pl.DataFrame | pl.LazyFrame) -> list[str]:
    """The columns of a frame, or of a query (its schema resolved, nothing computed).

    >>> columns_of(pl.DataFrame({"a": [1]}).lazy().with_columns(b=pl.col("a")))
    ['a', 'b']
    """
    return frame.collect_schema().names() if isinstance(frame, pl.LazyFrame) else frame.columns


def heading(table: str, column: str) -> str:
    """The Chinese heading of `column` in `table` (the column's own name when undeclared)."""
    try:
        return TABLES[table].column(column).heading
    except KeyError:
        return column


def all_headings() -> dict[str, str]:
    """Every declared column name → heading (first declaration wins): for generic tables."""
    out: dict[str, str] = {}
    for t in TABLES.values():
        for c in t.columns:
            out.setdefault(c.name, c.heading)
    return out
