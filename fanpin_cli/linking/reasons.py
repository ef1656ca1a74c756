"""Chinese wording of the evidence behind each decision (built as polars expressions)."""

from __future__ import annotations

import polars as pl

# Read after "证件号码": "证件号码为科学计数法（被表格软件存为数字）".
STATUS_ZH: dict[str, str] = {
    "valid": "有效",
    "legacy_15": "为15位旧号码",
    "bad_checksum": "校验位不符",
    "bad_birthdate": "出生日期无效",
    "excel_000": "被表格软件存为数字，只剩15位有效数字",
    "excel_sci": "为科学计数法（被表格软件存为数字）",
    "excel_float": "被表格软件存为数字，末几位失真",
    "placeholder": "为占位号码",
    "bad_format": "格式错误",
    "missing": "缺失",
}

REJECTED = "缺少证件号码和姓名，无法比对"


def status_zh(expr: pl.Expr) -> pl.Expr:
    """The Chinese description of an `id_status`, to follow "证件号码"."""
    return expr.replace_strict(STATUS_ZH, default="无法识别", return_dtype=pl.String)


def position(expr: pl.Expr) -> pl.Expr:
    """A 0-based ID position as the 1-based number a clerk counts ("12")."""
    return (expr.cast(pl.Int64) + 1).cast(pl.String)


def id_part(expr: pl.Expr) -> pl.Expr:
    """Which part of the ID a 0-based position falls in (地址码/出生日期/顺序码/校验位)."""
    return (
        pl.when(expr < 6)
        .then(pl.lit("地址码"))
        .when(expr < 14)
        .then(pl.lit("出生日期"))
        .when(expr < 17)
        .then(pl.lit("顺序码"))
        .otherwise(pl.lit("校验位"))
    )
