"""ID-number and name checks (every file): ID_MISSING … ID_DUPLICATE, ID_PLACEHOLDER,
NAME_MISSING, NAME_BAD_FORMAT, and the person checks SEX_ID_CONFLICT / BIRTH_ID_CONFLICT.

All work on a prepared frame (`prepare.prepare`): the `id_*` columns decide the status, so the
checks agree with the linker's reading of each ID.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin_cli.domain import written_sex
from fanpin_cli.idnum import birth_from_digits

from ._base import col_or_null, fmt_date, heading, issues

_FIX = "请核对身份证原件后更正"
# An ID column a spreadsheet held as numbers: said once per file (summary, console, 汇总).
NUMERIC_COLUMN_MESSAGE = "该列被存为数字，后几位已丢失，请将证件号码列设为文本后重新导出"
NUMBER_STATUSES: tuple[str, ...] = ("excel_000", "excel_sci", "excel_float")


def numeric_id_column(frame: pl.DataFrame, headings: dict[str, str] | None = None) -> dict[str, object] | None:
    """The once-per-file note on an ID column held as spreadsheet numbers: `{"rows": n,
    "column": heading, "message": NUMERIC_COLUMN_MESSAGE}`, or None when no ID was a number.

    >>> f = pl.DataFrame({"id_status": ["excel_000", "valid", "excel_float"]})
    >>> numeric_id_column(f, {"id_number": "身份证号"})["rows"]
    2
    """
    if "id_status" not in frame.columns:
        return None
    rows = int(frame["id_status"].is_in(NUMBER_STATUSES).sum())
    if rows == 0:
        return None
    return {"rows": rows, "column": heading(headings, "id_number"), "message": NUMERIC_COLUMN_MESSAGE}
# Han characters (incl. extension A and compatibility ideographs) and the middle dot.
_NAME_OK = r"^[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u00b7]{2,}$"


def id_issues(
    frame: pl.DataFrame, sector: str, headings: dict[str, str], reference_date: date
) -> list[pl.LazyFrame]:
    """The ID checks of the contract (ID_DUPLICATE on the roster only) plus ID_PLACEHOLDER.

    ID_BAD_BIRTHDATE is also reported next to a failed check character (ID_INVALID_CHECKSUM,
    ID_EXCEL_MANGLED …000) when the date at positions 7–14 is impossible or in the future.
    """
    st = pl.col("id_status")
    clean = pl.col("id_clean")
    # A failed check leaves the birth digits readable; a number keeps them only when certain.
    readable = (st == "bad_checksum") | (st.is_in(NUMBER_STATUSES) & (pl.col("id_known") >= 14))
    damaged = readable & birth_from_digits(pl.col("id_digits").str.normalize("NFKC"), reference_date).is_null()
    bad_birth = (st == "bad_birthdate") | damaged
    h = headings
    parts = [
        issues(frame, st == "missing", "ID_MISSING", "id_number", "证件号码为空，请补录18位公民身份号码", h),
        issues(frame, st == "placeholder", "ID_PLACEHOLDER", "id_number",
               "证件号码为占位号码（999999开头或同一数字重复），请补录真实证件号码；确无有效身份信息的请备注说明", h),
        issues(frame, st == "bad_format", "ID_BAD_FORMAT", "id_number",
               pl.format("证件号码位数或字符不对（现为{}位，应为18位数字或末位X），" + _FIX,
                         clean.str.len_chars()), h),
        issues(frame, st == "bad_checksum", "ID_INVALID_CHECKSUM", "id_number",
               pl.format("证件号码校验位错误：按前17位计算，第18位应为{}（现为{}），可能某一位数字录错，" + _FIX,
                         pl.col("id_expected_check").fill_null("?"), clean.str.slice(17, 1).fill_null("?")), h),
        issues(frame, bad_birth, "ID_BAD_BIRTHDATE", "id_number",
               pl.format("证件号码中的出生日期「{}」不存在或晚于基准日，" + _FIX,
                         pl.col("id_digits").str.slice(6, 8).fill_null("")), h,
               within=(st == "bad_birthdate") | readable),
        # Not a typing mistake: the spreadsheet kept 15 significant digits or fewer (or a double).
        issues(frame, st.is_in(NUMBER_STATUSES), "ID_EXCEL_MANGLED", "id_number",
               pl.format("证件号码被表格软件存为数字，后几位已丢失（仅前{}位可信），不是录入错误："
                         "请将证件号码列设为文本后重新导出，或按原始资料核对",
                         pl.col("id_known").fill_null(0)), h),
        issues(frame, st == "legacy_15", "ID_LEGACY_15", "id_number",
               "证件号码为15位旧号码（已按规则升级为18位比对），建议更新为18位号码", h),
        issues(frame, pl.col("id_region_known").not_() & ~st.is_in(["placeholder", "missing"]),
               "ID_UNKNOWN_REGION", "id_number",
               pl.format("证件号码前6位地址码{}不在现行行政区划代码表中：如为已撤销的旧代码可保留，否则请核对",
                         pl.col("id_region")), h),
    ]
    if sector == "roster":
        key = pl.col("id18")
        dup = key.is_not_null() & (pl.len().over("id18") > 1)
        rows = pl.col("source_row").cast(pl.String).implode().over("id18").list.join("、")
        parts.append(
            issues(frame, dup, "ID_DUPLICATE", "id_number",
                   pl.format("证件号码在本表出现{}次（第{}行），一人只能登记一次，请核实是否重复录入或号码错误",
                             pl.col("__times"), pl.col("__rows")), h,
                   within=pl.col("id18").is_not_null() & pl.col("id18").is_duplicated(), whole={"__times": pl.len().over("id18"), "__rows": rows})
        )
    return parts


def name_issues(frame: pl.DataFrame, headings: dict[str, str]) -> list[pl.LazyFrame]:
    """NAME_MISSING and NAME_BAD_FORMAT."""
    norm = pl.col("name_norm")
    return [
        issues(frame, norm.is_null(), "NAME_MISSING", "name", "姓名为空，请补录", headings),
        issues(frame, norm.is_not_null() & ~norm.str.contains(_NAME_OK), "NAME_BAD_FORMAT", "name",
               pl.format("姓名「{}」含数字、字母或符号，或只有一个字，请按户口簿核对", pl.col("name")), headings),
    ]


def person_issues(frame: pl.DataFrame, headings: dict[str, str]) -> list[pl.LazyFrame]:
    """SEX_ID_CONFLICT (性别 column vs the ID's 17th digit) and BIRTH_ID_CONFLICT."""
    parts = []
    if "sex" in frame.columns:
        sex = written_sex(pl.col("sex"))
        bad = sex.is_not_null() & pl.col("id_sex").is_not_null() & (sex != pl.col("id_sex"))
        parts.append(
            issues(frame, bad, "SEX_ID_CONFLICT", "sex",
                   pl.format("性别填「{}」，但证件号码第17位表示「{}」，请核对性别或证件号码",
                             pl.col("sex"), pl.col("id_sex")), headings)
        )
    if "birth_date" in frame.columns:
        birth = col_or_null(frame, "birth", pl.Date)
        bad = birth.is_not_null() & pl.col("id_birth").is_not_null() & (birth != pl.col("id_birth"))
        parts.append(
            issues(frame, bad, "BIRTH_ID_CONFLICT", "birth_date",
                   pl.format("出生日期填「{}」，但证件号码中的出生日期为{}，请核对",
                             pl.col("birth_date"), fmt_date(pl.col("id_birth"))), headings)
        )
    return parts
