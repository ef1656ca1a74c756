"""Checks beyond the contract's table, each with its source in `catalogue.CHECKS`.

Roster: HH_HEAD_SPOUSE_SAME_SEX, SPOUSE_UNDERAGE, HEAD_UNDERAGE, REL_AGE_CONFLICT,
INCOME_OUTLIER, HH_PLACE_MIXED, HH_ATTR_MIXED,
HH_ID_FORMAT, RISK_ELIM_NO_LABOR (the national system's own rules are in national.py).
Every file: DATE_IN_FUTURE. Extracts: ENROLL_YEAR_STALE, PAYMENT_EXCEEDS_TOTAL,
EXTRACT_DUPLICATE, DISABILITY_CERT_MISMATCH.
(ID_PLACEHOLDER, NAME_BAD_FORMAT are in ids.py; VALUE_NOT_ALLOWED, AMOUNT_INVALID,
DATE_INVALID, YEAR_INVALID, HH_SIZE_INVALID come from the pandera schemas.)
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin_cli.domain import head_of, person_sex
from fanpin_cli.values import DATE_FIELDS, date_values, parse_amount, per_value, year_value

from ._base import col_or_null, issues, person_age

SPOUSE = "配偶"
CHILD_RELATIONS = ("之子", "之女", "之孙子", "之孙女", "之外孙子", "之外孙女", "之曾孙子", "之曾孙女", "之孙子女")
ELDER_RELATIONS = ("之父", "之母", "之祖父", "之祖母", "之外祖父", "之外祖母", "之岳父", "之岳母", "之公公", "之婆婆",
                   "之父母", "之祖父母")
NO_CAPACITY = ("无劳动力", "丧失劳动力")
INCOME_CEILING = 100_000
DISABILITY_TYPE_CODES = {
    "视力": "1", "听力": "2", "言语": "3", "肢体": "4", "智力": "5", "精神": "6", "多重": "7",
}
DISABILITY_GRADE_CODES = {"一级": "1", "二级": "2", "三级": "3", "四级": "4"}
# Keys that make a row a repeat of an earlier row of the same extract (one row per person,
# per year, per settlement).
DUPLICATE_KEYS: dict[str, tuple[str, ...]] = {
    "medical_enrollment": ("id18", "enroll_year", "insurance_type"),
    "medical_claims": ("id18", "settle_date", "total_cost", "fund_paid", "out_of_pocket"),
    "education": ("id18", "school", "roll_status"),
    "housing": ("id18",),
    "police": ("id18", "dereg_reason"),
    "disability": ("id18",),
}


def _household_reference(frame: pl.DataFrame, value: pl.Expr, name: str) -> pl.LazyFrame:
    """Per household, the majority value of `value` (ties: the 户主's value), as `name`."""
    work = frame.lazy().select(
        pl.col("household_id"),
        value.alias("__v"),
        head_of(frame).alias("__head"),
    ).filter(pl.col("household_id").is_not_null() & pl.col("__v").is_not_null())
    return (
        work.group_by("household_id", "__v")
        .agg(pl.len().alias("__n"), pl.col("__head").any().alias("__h"))
        .sort(["household_id", "__n", "__h", "__v"], descending=[False, True, True, False])
        .group_by("household_id", maintain_order=True)
        .agg(pl.col("__v").first().alias(name))
    )


def _with_reference(frame: pl.DataFrame, value: pl.Expr, name: str) -> pl.LazyFrame:
    """`frame` with its household's reference value `name` (`_household_reference`): a query,
    collected with the file's other checks."""
    ref = _household_reference(frame, value, name)
    return frame.lazy().join(ref, on="household_id", how="left", maintain_order="left")


def roster_extra(frame: pl.DataFrame, headings: dict[str, str], reference_date: date) -> list[pl.LazyFrame]:
    """The additional roster checks (each only when its columns are present)."""
    h = headings
    cols = set(frame.columns)
    parts: list[pl.LazyFrame] = []
    age = person_age(frame, reference_date)
    sex = person_sex(frame)
    rel = col_or_null(frame, "relation")
    head = head_of(frame)
    hid = col_or_null(frame, "household_id")
    in_hh = hid.is_not_null()

    if "relation" in cols and "household_id" in cols:
        head_sex = pl.when(head).then(sex).drop_nulls().first().over("household_id")
        parts.append(
            issues(frame, in_hh & (rel == SPOUSE) & sex.is_not_null() & (sex == head_sex),
                   "HH_HEAD_SPOUSE_SAME_SEX", "relation",
                   pl.format("配偶与户主性别相同（均为{}性），请核对与户主关系、性别或证件号码", sex), h)
        )
        marriage_age = pl.when(sex == "男").then(22).when(sex == "女").then(20)
        parts.append(
            issues(frame, (rel == SPOUSE) & (age < marriage_age), "SPOUSE_UNDERAGE", "relation",
                   pl.format("与户主关系为配偶，但年龄仅{}周岁，未达法定婚龄（男22、女20周岁），请核对", age), h)
        )
        parts.append(
            issues(frame, head & (age < 16), "HEAD_UNDERAGE", "relation",
                   pl.format("户主年龄仅{}周岁，请核实户主是否登记正确", age), h)
        )
        born = pl.coalesce(col_or_null(frame, "id_birth", pl.Date), col_or_null(frame, "birth", pl.Date))
        head_born = pl.when(head).then(born).drop_nulls().first().over("household_id")
        heads = head.cast(pl.Int32).sum().over("household_id")
        bad = in_hh & (heads == 1) & (
            (rel.is_in(CHILD_RELATIONS) & (born < head_born))
            | (rel.is_in(ELDER_RELATIONS) & (born > head_born))
        )
        parts.append(
            issues(frame, bad, "REL_AGE_CONFLICT", "relation",
                   pl.format("与户主关系为「{}」，但本人{}年出生、户主{}年出生，长幼关系不符，请核对",
                             rel, born.dt.year(), pl.col("__head_born").dt.year()), h,
                   whole={"__head_born": head_born})  # the head is not an issue row
        )
    if "income_per_capita" in cols:
        income = parse_amount(pl.col("income_per_capita"))
        parts.append(
            issues(frame, (income == 0) | (income >= INCOME_CEILING), "INCOME_OUTLIER", "income_per_capita",
                   pl.format("人均纯收入为{}元，明显异常（为0或≥10万元），请核实收入计算", pl.col("income_per_capita")), h)
        )
    if "household_id" in cols:
        parts.append(
            issues(frame, hid.str.contains(r"(?i)^\d(\.\d+)?E\+?\d+$") | hid.str.contains(r"[^0-9A-Za-z\-]"),
                   "HH_ID_FORMAT", "household_id",
                   pl.format("户编号「{}」格式异常（科学计数法、空格或符号），请按系统户编号更正", hid), h)
        )
    if {"household_id", "township", "village"} <= cols:
        place = pl.concat_str([pl.col("township").fill_null(""), pl.col("village").fill_null("")], separator="")
        work = _with_reference(frame, place, "__place")
        parts.append(
            issues(work, in_hh & (place != pl.col("__place")), "HH_PLACE_MIXED", "village",
                   pl.format("同户（户编号{}）其他成员登记在「{}」，本行为「{}」，请核对乡镇、村",
                             hid, pl.col("__place"), place), h)
        )
    for field in ("object_type", "risk_eliminated", "income_per_capita"):
        if field in cols and "household_id" in cols:
            work = _with_reference(frame, pl.col(field), "__ref")
            parts.append(
                issues(work, in_hh & pl.col(field).is_not_null() & (pl.col(field) != pl.col("__ref")),
                       "HH_ATTR_MIXED", field,
                       pl.format("同户（户编号{}）其他成员的{}为「{}」，本行为「{}」，户级信息应一致，请核对",
                                 hid, pl.lit(h.get(field) or field), pl.col("__ref"), pl.col(field)), h)
            )
    if {"household_id", "risk_eliminated", "labor_skill"} <= cols:
        all_none = pl.col("labor_skill").is_in(NO_CAPACITY).fill_null(False).all().over("household_id")
        parts.append(
            issues(frame, in_hh & (pl.col("risk_eliminated") == "是") & all_none, "RISK_ELIM_NO_LABOR",
                   "risk_eliminated",
                   pl.format("户编号{}全户均为无劳动力或丧失劳动力，不得标注风险消除，请核实", hid), h)
        )
    return parts


def _stale_enrollment(frame: pl.DataFrame, this_year: int) -> pl.Series:
    """Per row: an enrollment of another year whose person (ID) has no row of `this_year` in
    the file. Only the persons of other-year rows are looked up among this year's rows (a few
    percent of a 1M-row file: 0.7 → 0.13 s against a set of every current person); the year is
    read once per distinct text.

    >>> f = pl.DataFrame({"enroll_year": ["2025", "2026年", "2025", "2024年度", None],
    ...                   "id18": ["A", "A", "B", None, "C"]})
    >>> _stale_enrollment(f, 2026).to_list()
    [False, False, True, True, False]
    """
    rows = frame.select(
        pl.coalesce(col_or_null(frame, "id18"), col_or_null(frame, "id_clean")).alias("p"),
        per_value(frame, "enroll_year", year_value(pl.col("enroll_year")), pl.Int64).alias("y"),
    )
    other = pl.col("y").is_not_null() & (pl.col("y") != this_year)
    elsewhere = rows.filter(other).select(pl.col("p").drop_nulls().unique())
    current = rows.filter(pl.col("y") == this_year).join(elsewhere, on="p", how="semi")["p"]
    return rows.select(other & (pl.col("p").is_null() | ~pl.col("p").is_in(current.implode()))).to_series()


def _met_twice(ids: pl.Expr) -> pl.Expr:
    """Rows whose ID may be met twice in the file: a repeat shares its ID with an earlier row,
    so only these need EXTRACT_DUPLICATE's window. Told apart by the IDs' 64-bit hashes (half
    the time of the texts': 1M rows, 0.36 → 0.2 s): two IDs that share a hash only keep a few
    more rows, each ID's rows all together (the window itself groups the texts).

    >>> pl.DataFrame({"i": ["a", "b", "a"]}).select(_met_twice(pl.col("i")))["i"].to_list()
    [True, False, True]
    """
    return ids.hash().is_duplicated()


def file_extra(frame: pl.DataFrame, sector: str, headings: dict[str, str], reference_date: date) -> list[pl.LazyFrame]:
    """Extra checks that apply to any file (DATE_IN_FUTURE) or to one extract sector."""
    h = headings
    cols = set(frame.columns)
    parts: list[pl.LazyFrame] = []
    for field in DATE_FIELDS:
        if field in cols:
            later = (date_values(frame, field) > reference_date).fill_null(False)
            parts.append(
                issues(frame, pl.lit(later), "DATE_IN_FUTURE", field,
                       pl.format("{}「{}」晚于基准日{}，请核对日期", pl.lit(h.get(field) or field),
                                 pl.col(field), pl.lit(reference_date.isoformat())), h)
            )
    if sector == "medical_enrollment" and "enroll_year" in cols:
        year = year_value(pl.col("enroll_year"))
        stale = _stale_enrollment(frame, reference_date.year)
        parts.append(
            issues(frame, pl.lit(stale), "ENROLL_YEAR_STALE", "enroll_year",
                   pl.format("参保年度为{}，不是本年度（{}），且本表无此人本年度参保记录，请核实本年度参保情况",
                             year, pl.lit(reference_date.year)), h)
        )
    if sector == "medical_claims" and {"total_cost", "out_of_pocket"} <= cols:
        total = parse_amount(pl.col("total_cost"))
        paid = parse_amount(col_or_null(frame, "fund_paid")).fill_null(0) + parse_amount(pl.col("out_of_pocket")).fill_null(0)
        parts.append(
            issues(frame, total.is_not_null() & (paid > total + 0.01), "PAYMENT_EXCEEDS_TOTAL", "out_of_pocket",
                   pl.format("统筹支付与个人自付合计{}元，超过医疗总费用{}元，请核对金额", paid.round(2), total), h)
        )
    keys = [k for k in DUPLICATE_KEYS.get(sector, ()) if k in cols]
    if keys and "id18" in keys:
        first_row = pl.col("source_row").min().over(keys)
        repeat = pl.col("id18").is_not_null() & (pl.col("source_row") != first_row)
        twice = _met_twice(pl.col("id18"))
        parts.append(
            issues(frame, repeat, "EXTRACT_DUPLICATE", "id_number",
                   pl.format("与本表第{}行是同一人的重复记录，请删除重复行或核实", pl.col("__first")), h,
                   within=pl.col("id18").is_not_null() & twice, whole={"__first": first_row})  # the first row is no issue
        )
    if sector == "disability" and "id_number" in cols:
        raw = pl.col("id_number").str.normalize("NFKC").str.replace_all(r"[\s'\-]", "").str.to_uppercase()
        is_cert = raw.str.contains(r"^\d{17}[\dX][1-7][1-4]$")
        type_code = pl.lit(None, dtype=pl.String)
        if "disability_type" in cols:
            t = pl.col("disability_type")
            for word, code in DISABILITY_TYPE_CODES.items():
                type_code = pl.when(t.str.starts_with(word)).then(pl.lit(code)).otherwise(type_code)
        grade_code = (
            pl.col("disability_grade").replace_strict(DISABILITY_GRADE_CODES, default=None, return_dtype=pl.String)
            if "disability_grade" in cols else pl.lit(None, dtype=pl.String)
        )
        bad = is_cert & (
            (type_code.is_not_null() & (raw.str.slice(18, 1) != type_code))
            | (grade_code.is_not_null() & (raw.str.slice(19, 1) != grade_code))
        )
        parts.append(
            issues(frame, bad, "DISABILITY_CERT_MISMATCH", "id_number",
                   pl.format("残疾人证号末2位为「{}」（类别{}、等级{}），与残疾类别「{}」、残疾等级「{}」不符，请核对",
                             raw.str.slice(18, 2), raw.str.slice(18, 1), raw.str.slice(19, 1),
                             col_or_null(frame, "disability_type").fill_null("空"),
                             col_or_null(frame, "disability_grade").fill_null("空")), h)
        )
    return parts

