"""`fanpin ids`: explain ID numbers one by one (valid or why not, birth date, sex, region).

>>> from datetime import date
>>> row = describe_ids(["43312719900101123X"], date(2026, 11, 30)).row(0, named=True)
>>> row["结论"], row["说明"]
('校验位错误', '第18位校验位应为 8')
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from fanpin_cli.idnum import mask_id, with_id_columns
from fanpin_cli.regions import region_names

STATUS_TEXT: dict[str, str] = {
    "valid": "有效",
    "legacy_15": "15位旧号码（已升位）",
    "bad_checksum": "校验位错误",
    "bad_birthdate": "出生日期不存在或晚于基准日",
    "excel_000": "被表格软件存为数字（只剩15位有效数字）",
    "excel_sci": "被表格软件改成科学计数法",
    "excel_float": "被表格软件存为数字（末几位失真）",
    "placeholder": "占位号码（非真实证件号）",
    "bad_format": "格式错误（应为15位或18位）",
    "missing": "为空",
}


def _explain() -> pl.Expr:
    status = pl.col("id_status")
    return (
        pl.when(status == "bad_checksum")
        .then(pl.format("第18位校验位应为 {}", pl.col("id_expected_check")))
        .when(status == "legacy_15")
        .then(pl.lit("已按 GB 11643 升为18位"))
        .when(status.is_in(["excel_000", "excel_sci", "excel_float"]))
        .then(pl.format("仅前{}位可信，需向原始材料核对", pl.col("id_known")))
        .when((status == "valid") & ~pl.col("id_region_known").fill_null(True))
        .then(pl.lit("地址码不在 GB/T 2260 代码表中（可能为已撤销的旧代码）"))
        .otherwise(pl.lit(""))
    )


def describe_ids(values: list[str], reference_date: date, *, full_ids: bool = False) -> pl.DataFrame:
    """One row per value with Chinese columns 证件号码, 结论, 说明, 出生日期, 性别, 年龄, 地区, 18位号码."""
    frame = with_id_columns(pl.DataFrame({"id_number": values}, schema={"id_number": pl.String}), reference_date=reference_date)
    names = region_names()
    shown = (lambda c: pl.col(c)) if full_ids else (lambda c: mask_id(pl.col(c)))
    return frame.select(
        shown("id_number").alias("证件号码"),
        pl.col("id_status").replace_strict(STATUS_TEXT, return_dtype=pl.String).alias("结论"),
        _explain().alias("说明"),
        pl.col("id_birth").cast(pl.String).alias("出生日期"),
        pl.col("id_sex").alias("性别"),
        pl.col("id_age").alias("年龄"),
        pl.col("id_region").replace_strict(names, default=None, return_dtype=pl.String).alias("地区"),
        shown("id18").alias("18位号码"),
    )


def explain_ids(values: list[str], reference_date: date, *, full_ids: bool = False) -> list[dict[str, object]]:
    """`describe_ids` as plain rows (what the CLI prints)."""
    return describe_ids(values, reference_date, full_ids=full_ids).to_dicts()


def read_id_values(arg: str) -> list[str]:
    """The ID values an argument stands for: a file (CSV/Excel with an ID column, or text with
    one ID per line) or the argument itself."""
    path = Path(arg)
    if not path.is_file():
        return [arg]
    from fanpin_cli.loaders import EXCEL_SUFFIXES, load_file

    if path.suffix.lower() in (*EXCEL_SUFFIXES, ".csv"):
        loaded = load_file(path, "roster", required=("id_number",))
        return loaded.frame["id_number"].fill_null("").to_list()
    data = path.read_bytes()
    from fanpin_cli.loaders import decode_text

    text = decode_text(data, path.name)[1]
    return [line.strip() for line in text.splitlines() if line.strip()]
