"""Run a sector's pandera schema and turn its failure cases into quality-issue rows.

Check names map to check ids: `not_nullable` → REQUIRED_MISSING, built-in `isin(...)` →
VALUE_NOT_ALLOWED, the custom checks are already named after their ids (AMOUNT_INVALID,
DATE_INVALID, YEAR_INVALID, HH_SIZE_INVALID, VALUE_NOT_ALLOWED for 健康状况).
"""

from __future__ import annotations

import polars as pl

from fanpin_cli.values import DATE_FIELDS, DOMAINS, parsed_date_name

from ._base import CONTEXT, col_or_null, heading, issues

_MESSAGES: dict[str, str] = {
    "REQUIRED_MISSING": "{h}为必填项，不能为空，请补录",
    "VALUE_NOT_ALLOWED": "{h}「{v}」不在规定取值内（{d}），请按规范填写",
    "AMOUNT_INVALID": "{h}「{v}」不是有效金额（应为不小于0的数字），请更正",
    "DATE_INVALID": "{h}「{v}」无法识别为日期（应如2026-11-30），请更正",
    "YEAR_INVALID": "{h}「{v}」不是有效年份（应如2026），请更正",
    "HH_SIZE_INVALID": "{h}「{v}」不是1–99的整数，请填写本户实际人数",
}


# A check the base model declares (出生日期's DATE_INVALID, inherited by every sector's model)
# loses its `name` once pandera has built one model from it: the others then report it by its
# function's name. Known by that too, so that no case is dropped for its name.
_BY_FUNCTION = {"date_check": "DATE_INVALID", "amount_check": "AMOUNT_INVALID", "count_check": "HH_SIZE_INVALID",
                "year_check": "YEAR_INVALID"}


def _check_id(check: pl.Expr) -> pl.Expr:
    """The quality check id of a pandera check name (null: not one of ours).

    >>> pl.DataFrame({"c": ["not_nullable", "isin(['男', '女'])", "DATE_INVALID", "date_check", "x"]}).select(
    ...     _check_id(pl.col("c"))).to_series().to_list()
    ['REQUIRED_MISSING', 'VALUE_NOT_ALLOWED', 'DATE_INVALID', 'DATE_INVALID', None]
    """
    return (
        pl.when(check == "not_nullable").then(pl.lit("REQUIRED_MISSING"))
        .when(check.str.starts_with("isin")).then(pl.lit("VALUE_NOT_ALLOWED"))
        .when(check.is_in(list(_MESSAGES))).then(check)
        .when(check.is_in(list(_BY_FUNCTION))).then(check.replace_strict(_BY_FUNCTION, default=None))
    )


def failure_cases(frame: pl.DataFrame, sector: str) -> pl.DataFrame:
    """pandera's failure cases (`index` = row position in `frame`), or an empty frame."""
    # pandera is imported on first use (without its pandas layer, see schemas/_pandera.py):
    # the report process and `fanpin --help` never need it.
    from fanpin_cli.schemas import SCHEMAS, SchemaErrors

    model = SCHEMAS[sector]
    known = [c for c in model.to_schema().columns if c in frame.columns]
    # beside the texts, the dates `prepare` parsed (DATE_INVALID reads them: `date_check`)
    parsed = [parsed_date_name(c) for c in known if c in DATE_FIELDS and parsed_date_name(c) in frame.columns]
    data = frame.select([pl.col(c).cast(pl.String) for c in known] + parsed)
    try:
        model.validate(data, lazy=True)
    except SchemaErrors as exc:
        return exc.failure_cases.select(
            pl.col("failure_case").cast(pl.String), pl.col("column").cast(pl.String),
            pl.col("check").cast(pl.String), pl.col("index").cast(pl.Int64),
        )
    return pl.DataFrame(schema={"failure_case": pl.String, "column": pl.String, "check": pl.String, "index": pl.Int64})


def schema_issues(frame: pl.DataFrame, sector: str, headings: dict[str, str]) -> list[pl.LazyFrame]:
    """Quality issues from the sector schema, one per failing cell."""
    cases = failure_cases(frame, sector)
    cases = cases.with_columns(_check_id(pl.col("check")).alias("check_id")).filter(
        pl.col("check_id").is_not_null() & pl.col("index").is_not_null()
    )
    if cases.is_empty():
        return []
    rows = frame.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("index"),
        col_or_null(frame, "source_file").alias("source_file"),
        col_or_null(frame, "source_row", pl.Int64).alias("source_row"),
        *[col_or_null(frame, c).cast(pl.String).alias(c) for c in CONTEXT],
    )
    joined = cases.join(rows, on="index", how="left")
    parts = []
    for (check_id, field), group in joined.group_by(["check_id", "column"], maintain_order=True):
        template = _MESSAGES[check_id]
        text = template.replace("{h}", heading(headings, field)).replace(
            "{d}", "、".join(DOMAINS.get(field, ()))
        )
        before, marker, after = text.partition("{v}")
        message = (
            pl.concat_str([pl.lit(before), pl.col("failure_case").fill_null(""), pl.lit(after)])
            if marker else pl.lit(text)
        )
        parts.append(issues(group, pl.lit(True), check_id, field, message, headings))
    return parts
