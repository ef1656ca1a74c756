"""Roster checks of the contract: households (HH_NO_HEAD, HH_MULTI_HEAD, HH_SIZE_MISMATCH)
and members (REL_SEX_CONFLICT, AGE_LABOR_CONFLICT).

Households are the rows sharing a non-empty 户编号 (`household_id`).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from fanpin_cli.domain import head_of, person_sex
from fanpin_cli.values import count_value

from ._base import issues, person_age

# 与户主关系 values that imply the member's sex.
MALE_RELATIONS: tuple[str, ...] = (
    "之子", "之女婿", "之孙子", "之外孙子", "之曾孙子", "之父", "之岳父", "之公公", "之祖父", "之外祖父",
    "之兄", "之弟", "子", "儿子", "女婿", "孙子", "父亲", "丈夫",
)
FEMALE_RELATIONS: tuple[str, ...] = (
    "之女", "之儿媳", "之孙女", "之外孙女", "之曾孙女", "之母", "之岳母", "之婆婆", "之祖母", "之外祖母",
    "之姐", "之妹", "女", "女儿", "儿媳", "孙女", "母亲", "妻子",
)
NO_LABOR: tuple[str, ...] = ("无劳动力",)


def household_size_value() -> pl.Expr:
    """家庭人数 as an integer (`5`, `5人`, `５`); null if it is not a number."""
    return count_value(pl.col("household_size"))


def relation_sex() -> pl.Expr:
    """The sex a 与户主关系 value implies, or null."""
    rel = pl.col("relation")
    return pl.when(rel.is_in(MALE_RELATIONS)).then(pl.lit("男")).when(rel.is_in(FEMALE_RELATIONS)).then(pl.lit("女"))


def roster_issues(frame: pl.DataFrame, headings: dict[str, str], reference_date: date) -> list[pl.LazyFrame]:
    """The contract's household and member checks (only those whose columns are present)."""
    h = headings
    parts: list[pl.LazyFrame] = []
    cols = set(frame.columns)
    hid = pl.col("household_id")
    in_hh = hid.is_not_null()
    if {"household_id", "relation"} <= cols:
        head = head_of(frame)
        heads = head.cast(pl.Int32).sum().over("household_id")
        # the household's counts from every member (`whole`), not only from its issue rows
        parts.append(
            issues(frame, in_hh & (heads == 0), "HH_NO_HEAD", "relation",
                   pl.format("户编号{}的{}名成员中没有户主，请核实并指定一名户主", hid, pl.col("__members")), h,
                   whole={"__members": pl.len().over("household_id")})
        )
        parts.append(
            issues(frame, in_hh & (heads > 1) & head, "HH_MULTI_HEAD", "relation",
                   pl.format("户编号{}有{}名户主，一户只能有一名户主，请核实与户主关系", hid, pl.col("__heads")), h,
                   whole={"__heads": heads})
        )
    if {"household_id", "household_size"} <= cols:
        size = household_size_value()
        members = pl.len().over("household_id")
        parts.append(
            issues(frame, in_hh & size.is_not_null() & (size != members), "HH_SIZE_MISMATCH", "household_size",
                   pl.format("家庭人数填{}人，但本户（户编号{}）实有{}条成员记录，请核对家庭人数或补录/删除成员",
                             size, hid, pl.col("__members")), h,
                   whole={"__members": members})
        )
    if "relation" in cols:
        implied = relation_sex()
        actual = person_sex(frame)
        parts.append(
            issues(frame, implied.is_not_null() & actual.is_not_null() & (implied != actual),
                   "REL_SEX_CONFLICT", "relation",
                   pl.format("与户主关系为「{}」（应为{}性），但证件号码显示为{}性，请核对与户主关系或证件号码",
                             pl.col("relation"), implied, actual), h)
        )
    if "labor_skill" in cols:
        age = person_age(frame, reference_date)
        skill = pl.col("labor_skill")
        parts.append(
            issues(frame, (age < 16) & skill.is_not_null() & ~skill.is_in(NO_LABOR), "AGE_LABOR_CONFLICT",
                   "labor_skill",
                   pl.format("未满16周岁（{}岁），劳动技能却填「{}」，应为「无劳动力」", age, skill), h)
        )
    return parts
